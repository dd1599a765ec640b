package web

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"deadbolt/internal/deadbolt"
)

type strictInner struct {
	ID string `json:"id"`
}

type strictReq struct {
	Login   string            `json:"login"`
	Count   int               `json:"count"`
	Flag    bool              `json:"flag"`
	Inner   strictInner       `json:"inner"`
	List    []string          `json:"list"`
	Tags    map[string]string `json:"tags"`
	Any     any               `json:"any"`
	Note    *string           `json:"note"`
	Captcha *captchaJSON      `json:"captcha"`
	Hook    *rawJSONObj       `json:"hook"`
}

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		body string
		ok   bool
	}{
		{`{"login":"a","count":1}`, true},
		{`{"login":"a","captcha":{"id":"x","answer":"1"}}`, true},
		{`{"hook":{"endpoint":"https://x","keys":{"a":"b"}}}`, true},
		{` {"login":"a"} `, true},
		{`{"login":"a","login":"b"}`, false},
		{`{"Login":"a"}`, false},
		{`{"login":"a","extra":1}`, false},
		{`{"captcha":{"id":"x","ID":"y"}}`, false},
		{`{"captcha":{"id":"x","id":"y"}}`, false},
		{`{"hook":{"a":1,"a":2}}`, false},
		{`{"hook":[1]}`, false},
		{`{"login":1}`, false},
		{`{"count":"1"}`, false},
		{`[]`, false},
		{`"x"`, false},
		{`1`, false},
		{`null`, false},
		{``, false},
		{`{"login":"a"} {}`, false},
		{`{"login":"a"}x`, false},
		{`{"login":"a"`, false},

		// null: only where the Go field is a pointer or an interface.
		{`{"login":null}`, false},
		{`{"count":null}`, false},
		{`{"flag":null}`, false},
		{`{"inner":null}`, false},
		{`{"inner":{"id":null}}`, false},
		{`{"list":null}`, false},
		{`{"list":["a",null]}`, false},
		{`{"tags":null}`, false},
		{`{"tags":{"a":null}}`, false},
		{`{"captcha":{"id":null}}`, false},
		{`{"note":null}`, true},
		{`{"captcha":null}`, true},
		{`{"hook":null}`, true},
		{`{"any":null}`, true},
		{`{"hook":{"keys":null}}`, true}, // inside a self-decoding value nothing is known
		{`{"inner":{"id":"x"},"list":["a"],"tags":{"a":"b"},"flag":true}`, true},

		// Text: valid UTF-8, no lone surrogates, no U+0000.
		{"{\"login\":\"\xff\"}", false},
		{"{\"login\":\"a\xc3\"}", false},
		{"{\"login\":\"\xed\xa0\x80\"}", false}, // a surrogate encoded as UTF-8
		{"{\"\xff\":1}", false},
		{"{\"login\":\"a\"}\xff", false},
		{`{"login":"\ud800"}`, false},
		{`{"login":"\uDBFF"}`, false},
		{`{"login":"\udc00"}`, false},
		{`{"login":"a\ud800b"}`, false},
		{`{"login":"\ud800\u0041"}`, false},
		{`{"login":"\ud800\ud800"}`, false},
		{`{"login":"\udc00\ud800"}`, false},
		{`{"login":"\ud800`, false},
		{`{"\ud800":"a"}`, false},
		{`{"hook":{"k":"\udfff"}}`, false},
		{`{"login":"\u0000"}`, false},
		{`{"login":"a\u0000"}`, false},
		{`{"login":"\ud83d\ude00"}`, true}, // a pair: U+1F600
		{`{"login":"\uD83D\uDE00"}`, true},
		{`{"login":"😀é"}`, true},
		{`{"login":"\ufffd"}`, true}, // U+FFFD itself is a character
		{"{\"login\":\"\xef\xbf\xbd\"}", true},
		{`{"login":"\\ud800"}`, true}, // an escaped backslash, then text
		{`{"login":"\\\ud83d\ude00"}`, true},
		{`{"login":"\\\ud800"}`, false},
		{`{"login":"\"\ud800"}`, false},
		{`{"login":"\u0041\u00e9"}`, true},
	}
	for _, tc := range tests {
		var r strictReq
		err := decodeStrict([]byte(tc.body), &r)
		if (err == nil) != tc.ok {
			t.Errorf("decodeStrict(%q) = %v, want ok=%v", tc.body, err, tc.ok)
		}
		if err != nil && deadbolt.ErrorCode(err) != deadbolt.CodeBadRequest {
			t.Errorf("decodeStrict(%q) code = %q, want bad_request", tc.body, deadbolt.ErrorCode(err))
		}
	}
}

// TestDecodeStrictNoCollisions: two bodies that differ only in text the
// decoder would replace by U+FFFD are both refused, so they cannot read
// as the same password.
func TestDecodeStrictNoCollisions(t *testing.T) {
	for _, body := range []string{"{\"login\":\"pw\xff\"}", "{\"login\":\"pw\xfe\"}", `{"login":"pw\ud800"}`, `{"login":"pw\udbff"}`} {
		var r strictReq
		if err := decodeStrict([]byte(body), &r); err == nil {
			t.Errorf("decodeStrict(%q) read login %q, want an error", body, r.Login)
		}
	}
}

func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"login":"a"}`, `{"login":"a","login":"b"}`, `{"captcha":{"id":"x"}}`, `[]`, `{"hook":{}}`,
		`{"login":null}`, `{"note":null,"list":["a"]}`, `{"login":"\ud83d\ude00"}`, `{"login":"\ud800"}`, "{\"login\":\"\xff\"}",
		`{"login":"\\ud800"}`, `{"tags":{"a":"\u0000"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r strictReq
		err := decodeStrict(b, &r)
		if err != nil {
			if deadbolt.ErrorCode(err) != deadbolt.CodeBadRequest {
				t.Fatalf("decodeStrict(%q) = %v: not a bad_request", b, err)
			}
			return
		}
		if !utf8.Valid(b) {
			t.Fatalf("decodeStrict accepted %q, which is not UTF-8", b)
		}
		// A U+FFFD read must have been in the body: nothing was replaced.
		if strings.ContainsRune(r.Login, utf8.RuneError) && !bytes.Contains(b, []byte("\uFFFD")) &&
			!bytes.Contains(bytes.ToLower(b), []byte(`\ufffd`)) {
			t.Fatalf("decodeStrict(%q) read login %q: text was replaced", b, r.Login)
		}
		if strings.ContainsRune(r.Login, 0) {
			t.Fatalf("decodeStrict(%q) read a login holding U+0000", b)
		}
	})
}
