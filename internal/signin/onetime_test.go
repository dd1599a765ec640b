package signin

import (
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

// TestOneTimePasswordGates: while an employee must replace a one-time
// password, no session of theirs counts as signed in for anything but the
// password change — full sessions and sessions limited to setup alike —
// and a pending one still answers for its second factor first.
func TestOneTimePasswordGates(t *testing.T) {
	tests := []struct {
		state    deadbolt.SessionState
		oneTime  bool
		full     bool
		wantFull deadbolt.Code // RequireFull
		wantIn   deadbolt.Code // requireSignedIn
	}{
		{deadbolt.SessionFull, false, true, "", ""},
		{deadbolt.SessionFull, true, false, deadbolt.CodePasswordChangeRequired, deadbolt.CodePasswordChangeRequired},
		{deadbolt.SessionSetup, false, false, deadbolt.CodeSetupRequired, ""},
		{deadbolt.SessionSetup, true, false, deadbolt.CodeSetupRequired, deadbolt.CodePasswordChangeRequired},
		{deadbolt.SessionPending, true, false, deadbolt.CodeSecondFactorRequired, deadbolt.CodeSecondFactorRequired},
	}
	code := func(err error) deadbolt.Code {
		if err == nil {
			return ""
		}
		return deadbolt.ErrorCode(err)
	}
	for _, tc := range tests {
		a := &Auth{Session: &deadbolt.Session{State: tc.state}, User: &deadbolt.User{PasswordChangeRequired: tc.oneTime}}
		if got := a.Full(); got != tc.full {
			t.Errorf("Full() of a %s session, one-time %v = %v, want %v", tc.state, tc.oneTime, got, tc.full)
		}
		if got := code(RequireFull(a)); got != tc.wantFull {
			t.Errorf("RequireFull(%s session, one-time %v) = %q, want %q", tc.state, tc.oneTime, got, tc.wantFull)
		}
		if got := code(requireSignedIn(a)); got != tc.wantIn {
			t.Errorf("requireSignedIn(%s session, one-time %v) = %q, want %q", tc.state, tc.oneTime, got, tc.wantIn)
		}
	}
}

// TestLiveRefusesOneTimePassword: what applications got from a session
// (tokens, forward-auth) does not live while its employee's one-time
// password is still to be replaced.
func TestLiveRefusesOneTimePassword(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	s := &Service{clock: deadbolt.NewFixedClock(now), cfg: Config{IdleTimeout: time.Hour}}
	for _, oneTime := range []bool{false, true} {
		u := &deadbolt.User{ID: "u1", Active: true, PasswordChangeRequired: oneTime}
		sess := &deadbolt.Session{UserID: "u1", State: deadbolt.SessionFull, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
		if got := s.Live(sess, u); got == oneTime {
			t.Errorf("Live(full session, one-time password %v) = %v, want %v", oneTime, got, !oneTime)
		}
	}
}
