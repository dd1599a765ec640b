package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"deadbolt/internal/deadbolt"
)

// maxBody is the largest request body accepted.
const maxBody = 64 << 10

// decodeJSON reads a strict JSON object into dst (a pointer to a struct):
// one object, keys matching the struct's json names exactly (no
// case-folding), no unknown or duplicate keys, values of the right types,
// nothing after it. Bodies over 64 KiB are CodeTooLarge; anything else
// malformed is CodeBadRequest. An empty body decodes as {} when emptyOK.
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
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := checkValue(dec, reflect.TypeOf(dst), "", true); err != nil {
		return deadbolt.Errorf(deadbolt.CodeBadRequest, "%s", err.Error())
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
// duplicate keys and keys that do not match a field name exactly.
func checkValue(dec *json.Decoder, t reflect.Type, path string, top bool) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// A type that decodes itself takes any keys (duplicates still refused).
	if t != nil && reflect.PointerTo(t).Implements(unmarshalerType) {
		t = nil
	}
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("The request body is not valid JSON.")
	}
	d, isDelim := tok.(json.Delim)
	if top && (!isDelim || d != '{') {
		return fmt.Errorf("The request body must be a JSON object.")
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
				return fmt.Errorf("The request body is not valid JSON.")
			}
			key, _ := kt.(string)
			if seen[key] {
				return fmt.Errorf("The field %q appears twice.", path+key)
			}
			seen[key] = true
			next := elem
			if fields != nil {
				ft, ok := fields[key]
				if !ok {
					return fmt.Errorf("Unknown field %q.", path+key)
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
		return fmt.Errorf("The request body is not valid JSON.")
	}
	return nil
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

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
