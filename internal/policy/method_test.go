package policy

import (
	"strings"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

func TestParseMinMethod(t *testing.T) {
	for in, want := range map[string]MinMethod{"": MinAny, "any": MinAny, "no_sms": MinNoSMS, "phishing_resistant": MinPhishingResistant} {
		if got, err := ParseMinMethod(in); got != want || err != nil {
			t.Errorf("ParseMinMethod(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"ANY", "passkey", " no_sms", "phishing-resistant"} {
		if _, err := ParseMinMethod(in); !deadbolt.IsCode(err, deadbolt.CodeInvalidInput) {
			t.Errorf("ParseMinMethod(%q) = %v, want invalid_input", in, err)
		}
	}
	if err := (Policy{Required: true, MinMethod: "strong"}).Validate(); !deadbolt.IsCode(err, deadbolt.CodeInvalidInput) {
		t.Errorf("Validate(min_method strong) = %v, want invalid_input", err)
	}
}

func TestSatisfies(t *testing.T) {
	methods := []string{"password", "push", "totp", "sms", "recovery", "passkey"}
	want := map[MinMethod]string{
		MinAny:               "password push totp sms recovery passkey",
		"":                   "password push totp sms recovery passkey",
		MinNoSMS:             "password push totp recovery passkey",
		MinPhishingResistant: "passkey",
		"unknown":            "passkey", // fail closed
	}
	for m, w := range want {
		var got []string
		for _, method := range methods {
			if m.Satisfies(method) {
				got = append(got, method)
			}
		}
		if s := strings.Join(got, " "); s != w {
			t.Errorf("%q satisfied by %q, want %q", m, s, w)
		}
	}
}

func TestEffectiveMinMethod(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	d := func(days int) time.Time { return now.AddDate(0, 0, days) }
	tests := []struct {
		name     string
		policies []Policy
		min      MinMethod
		deadline time.Time
		enforced MinMethod
	}{
		{"none asks", []Policy{{Required: true, Deadline: d(-1)}}, "", time.Time{}, ""},
		{"any asks nothing", []Policy{{Required: true, Deadline: d(-1), MinMethod: MinAny}}, "", time.Time{}, ""},
		{"before the deadline", []Policy{{Required: true, Deadline: d(3), MinMethod: MinPhishingResistant}}, MinPhishingResistant, d(3), ""},
		{"past the deadline", []Policy{{Required: true, Deadline: d(-3), MinMethod: MinPhishingResistant}}, MinPhishingResistant, d(-3), MinPhishingResistant},
		{"no deadline is never enforced", []Policy{{Required: true, MinMethod: MinPhishingResistant}}, MinPhishingResistant, time.Time{}, ""},
		{"strictest asked, stricter one later", []Policy{
			{Required: true, Deadline: d(-1), MinMethod: MinNoSMS},
			{Required: true, Deadline: d(5), MinMethod: MinPhishingResistant},
		}, MinPhishingResistant, d(5), MinNoSMS},
		{"earliest deadline of the strictest", []Policy{
			{Required: true, Deadline: d(9), MinMethod: MinPhishingResistant},
			{Required: true, Deadline: d(4), MinMethod: MinPhishingResistant},
			{Required: true, Deadline: d(1), MinMethod: MinNoSMS},
		}, MinPhishingResistant, d(4), ""},
		{"paused policies ask nothing", []Policy{{Required: true, Deadline: d(-3), Paused: true, MinMethod: MinPhishingResistant}}, "", time.Time{}, ""},
	}
	for _, tt := range tests {
		r := Effective(tt.policies, now)
		if r.MinMethod != tt.min || !r.MethodDeadline.Equal(tt.deadline) || r.Enforced != tt.enforced {
			t.Errorf("%s: Effective = min %q by %v, enforced %q; want %q by %v, enforced %q",
				tt.name, r.MinMethod, r.MethodDeadline, r.Enforced, tt.min, tt.deadline, tt.enforced)
		}
	}
}

func TestMethodAllowedAndSetup(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	overdue := Effective([]Policy{{Required: true, Deadline: now.Add(-time.Hour), MinMethod: MinPhishingResistant}}, now)
	s := State{Requirement: overdue, TwoFactorEnabled: true}
	for method, want := range map[string]bool{"totp": false, "push": false, "sms": false, "recovery": false, "passkey": true} {
		if got := MethodAllowed(s, method, now); got != want {
			t.Errorf("MethodAllowed(phishing_resistant overdue, %s) = %v, want %v", method, got, want)
		}
	}
	exempt := s
	exempt.ExemptUntil = now.Add(time.Hour)
	if !MethodAllowed(exempt, "sms", now) {
		t.Errorf("an exemption does not allow every method")
	}
	// The password alone: setup, in banner mode too.
	none := State{Requirement: overdue}
	if !SetupRequired(none, now) {
		t.Errorf("SetupRequired(no 2FA, phishing_resistant overdue, banner mode) = false")
	}
	noSMS := State{Requirement: Effective([]Policy{{Required: true, Deadline: now.Add(-time.Hour), MinMethod: MinNoSMS}}, now)}
	if SetupRequired(noSMS, now) {
		t.Errorf("SetupRequired(no 2FA, no_sms overdue, banner mode) = true: after_deadline decides")
	}
	if MethodAllowed(State{Requirement: noSMS.Requirement, TwoFactorEnabled: true}, "sms", now) {
		t.Errorf("sms allowed under an overdue no_sms")
	}
	if SetupRequired(s, now) {
		t.Errorf("SetupRequired with 2FA on = true")
	}
}

func TestBannerAsksForAPasskey(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	deadline := now.Add(48 * time.Hour)
	req := Effective([]Policy{
		{Required: true, Deadline: now.Add(-time.Hour)},
		{Required: true, Deadline: deadline, MinMethod: MinPhishingResistant},
	}, now)
	// 2FA on without a passkey: the banner asks for one, closable until
	// the passkey deadline.
	s := State{Requirement: req, TwoFactorEnabled: true, TwoFactorSince: now.Add(-time.Hour)}
	bs := Banners(s, Settings{}, now)
	if len(bs) == 0 || bs[0].Kind != BannerTwoFactorRequired || !bs[0].Closable || bs[0].MinMethod != MinPhishingResistant ||
		!bs[0].Deadline.Equal(deadline) || bs[0].Overdue {
		t.Fatalf("Banners = %+v, want a closable two_factor_required asking for a passkey by %v", bs, deadline)
	}
	after := deadline.Add(time.Minute)
	bs = Banners(State{Requirement: Effective([]Policy{{Required: true, Deadline: deadline, MinMethod: MinPhishingResistant}}, after),
		TwoFactorEnabled: true}, Settings{}, after)
	if !strings.HasPrefix(summary(bs), "two_factor_required! ") || !bs[0].Overdue {
		t.Errorf("past the deadline: %s (%+v), want two_factor_required! first", summary(bs), bs)
	}
	// With a passkey nothing is asked.
	s.Passkeys = 1
	for _, b := range Banners(s, Settings{}, now) {
		if b.Kind == BannerTwoFactorRequired {
			t.Errorf("banner shown to an employee with a passkey: %+v", b)
		}
	}
	// Without 2FA, the setup deadline applies (the earlier one).
	bs = Banners(State{Requirement: req}, Settings{}, now)
	if len(bs) != 1 || bs[0].Closable || !bs[0].Deadline.Equal(req.Deadline) {
		t.Errorf("no 2FA: %+v, want the overdue setup banner", bs)
	}
}
