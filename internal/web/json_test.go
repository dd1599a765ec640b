package web

import (
	"testing"

	"deadbolt/internal/deadbolt"
)

type strictReq struct {
	Login   string       `json:"login"`
	Count   int          `json:"count"`
	Captcha *captchaJSON `json:"captcha"`
	Hook    *rawJSONObj  `json:"hook"`
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

func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"login":"a"}`, `{"login":"a","login":"b"}`, `{"captcha":{"id":"x"}}`, `[]`, `{"hook":{}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r strictReq
		err := decodeStrict(b, &r)
		if err != nil && deadbolt.ErrorCode(err) != deadbolt.CodeBadRequest {
			t.Fatalf("decodeStrict(%q) = %v: not a bad_request", b, err)
		}
	})
}
