package signin

import (
	"slices"
	"testing"
)

func TestAMR(t *testing.T) {
	tests := []struct {
		method string
		want   []string
	}{
		{"password", []string{"pwd"}},
		{MethodTOTP, []string{"pwd", "otp", "mfa"}},
		{MethodRecovery, []string{"pwd", "otp", "mfa"}},
		{MethodSMS, []string{"pwd", "sms", "mfa"}},
		{MethodPush, []string{"pwd", "swk", "mfa"}},
		{"", []string{"pwd"}},
	}
	for _, tc := range tests {
		if got := AMR(tc.method); !slices.Equal(got, tc.want) {
			t.Errorf("AMR(%q) = %v, want %v", tc.method, got, tc.want)
		}
	}
}

func TestMergeAMR(t *testing.T) {
	tests := []struct {
		have, more, want []string
	}{
		{[]string{"pwd"}, []string{"pwd"}, []string{"pwd"}},
		{[]string{"pwd"}, []string{"pwd", "otp", "mfa"}, []string{"pwd", "otp", "mfa"}},
		{[]string{"pwd", "swk", "mfa"}, []string{"pwd", "otp", "mfa"}, []string{"pwd", "swk", "otp", "mfa"}},
		{[]string{"pwd", "swk", "mfa"}, []string{"pwd"}, []string{"pwd", "swk", "mfa"}},
		{nil, []string{"pwd", "sms", "mfa"}, []string{"pwd", "sms", "mfa"}},
		{[]string{"mfa", "otp", "pwd"}, nil, []string{"pwd", "otp", "mfa"}},
		{nil, nil, nil},
	}
	for _, tc := range tests {
		if got := MergeAMR(tc.have, tc.more); !slices.Equal(got, tc.want) {
			t.Errorf("MergeAMR(%v, %v) = %v, want %v", tc.have, tc.more, got, tc.want)
		}
	}
}
