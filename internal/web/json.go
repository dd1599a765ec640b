package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"deadbolt/internal/deadbolt"
)

// maxBody is the largest request body accepted.
const maxBody = 64 << 10

// decodeJSON reads a strict JSON object into dst (a pointer to a struct):
// one object, keys matching the struct's json names exactly (no
// case-folding), no unknown or duplicate keys, values of the right types,
// null only for a pointer field (where it means the same as leaving the
// field out), text that is valid UTF-8 with no escape decoding to a lone
// UTF-16 surrogate or to U+0000, nothing after it. Bodies over 64 KiB are
// CodeTooLarge; anything else malformed is CodeBadRequest. An empty body
// decodes as {} when emptyOK.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any, emptyOK bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return deadbolt.Errorf(deadbolt.CodeTooLarge, "The request body is larger than %d KiB.", maxBody>>10)
	}
	if err != nil {
		return deadbolt.Errorf(deadbolt.CodeBadRequest, "The request body could not be read.")
	}
	if len(bytes.TrimSpace(body)) == 0 && emptyOK {
		body = []byte("{}")
	}
	return decodeStrict(body, dst)
}

// decodeStrict is decodeJSON's parsing half, separated for testing and
// fuzzing.
func decodeStrict(body []byte, dst any) error {
	if err := checkText(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := checkValue(dec, reflect.TypeOf(dst), "", true); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return deadbolt.Errorf(deadbolt.CodeBadRequest, "The request body must hold a single JSON object.")
	}
	strict := json.NewDecoder(bytes.NewReader(body))
	strict.DisallowUnknownFields()
	if err := strict.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return deadbolt.Errorf(deadbolt.CodeBadRequest, "The field %q has the wrong type.", te.Field)
		}
		return deadbolt.Errorf(deadbolt.CodeBadRequest, "The request body is not valid JSON.")
	}
	return nil
}

// checkValue walks one JSON value against the Go type t, refusing
// duplicate keys, keys that do not match a field name exactly, and null
// where t cannot hold it (anything but a pointer or an interface; a nil t
// is a value nothing is known of, which may be anything). path is the
// value's field name followed by a dot.
func checkValue(dec *json.Decoder, t reflect.Type, path string, top bool) error {
	nullable := t == nil || t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// A type that decodes itself takes any keys (duplicates still refused).
	if t != nil && reflect.PointerTo(t).Implements(unmarshalerType) {
		t = nil
	}
	tok, err := dec.Token()
	if err != nil {
		return deadbolt.Errorf(deadbolt.CodeBadRequest, "The request body is not valid JSON.")
	}
	d, isDelim := tok.(json.Delim)
	if top && (!isDelim || d != '{') {
		return deadbolt.Errorf(deadbolt.CodeBadRequest, "The request body must be a JSON object.")
	}
	if tok == nil && !nullable {
		return deadbolt.Errorf(deadbolt.CodeBadRequest, "The field %q must not be null.", strings.TrimSuffix(path, "."))
	}
	if !isDelim {
		return nil
	}
	switch d {
	case '{':
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil {
			switch t.Kind() {
			case reflect.Struct:
				fields = jsonFields(t)
			case reflect.Map:
				elem = t.Elem()
			}
		}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return deadbolt.Errorf(deadbolt.CodeBadRequest, "The request body is not valid JSON.")
			}
			key, _ := kt.(string)
			if seen[key] {
				return deadbolt.Errorf(deadbolt.CodeBadRequest, "The field %q appears twice.", path+key)
			}
			seen[key] = true
			next := elem
			if fields != nil {
				ft, ok := fields[key]
				if !ok {
					return deadbolt.Errorf(deadbolt.CodeBadRequest, "Unknown field %q.", path+key)
				}
				next = ft
			}
			if err := checkValue(dec, next, path+key+".", false); err != nil {
				return err
			}
		}
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := checkValue(dec, elem, path, false); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // closing delimiter
		return deadbolt.Errorf(deadbolt.CodeBadRequest, "The request body is not valid JSON.")
	}
	return nil
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// checkText refuses a body holding text that is not valid: bytes that are
// not UTF-8 (the decoder would turn them into U+FFFD, so different inputs
// would read the same), and string escapes that decode to no character (a
// UTF-16 surrogate not in a pair) or to U+0000 (which no stored text may
// hold). It leaves malformed JSON to the parser.
func checkText(b []byte) error {
	if !utf8.Valid(b) {
		return deadbolt.Errorf(deadbolt.CodeBadRequest, "The request body is not valid UTF-8.")
	}
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch {
		case c == '"':
			inString = false
		case c == '\\' && i+1 < len(b) && b[i+1] == 'u':
			r, ok := hex4(b[i+2:])
			if !ok {
				return nil // malformed: the parser says so
			}
			i += 5 // the last hex digit
			switch {
			case r == 0:
				return deadbolt.Errorf(deadbolt.CodeBadRequest, "The request body holds the character U+0000.")
			case r >= 0xD800 && r < 0xDC00:
				// A high surrogate must be followed by an escaped low one.
				if i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
					if lo, ok := hex4(b[i+3:]); ok && lo >= 0xDC00 && lo < 0xE000 {
						i += 6
						continue
					}
				}
				return deadbolt.Errorf(deadbolt.CodeBadRequest, "The request body holds an escaped UTF-16 surrogate that is not in a pair.")
			case r >= 0xDC00 && r < 0xE000:
				return deadbolt.Errorf(deadbolt.CodeBadRequest, "The request body holds an escaped UTF-16 surrogate that is not in a pair.")
			}
		case c == '\\':
			i++ // the escaped character
		}
	}
	return nil
}

// hex4 reads four hexadecimal digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// jsonFields maps a struct's exact json names to field types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	return m
}

// writeJSON writes v as the JSON response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}
