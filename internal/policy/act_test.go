package policy

import (
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

func TestActErrors(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	open := State{Requirement: Requirement{Required: true, Deadline: now.Add(time.Hour)}}
	overdue := State{Requirement: Requirement{Required: true, Deadline: now}}
	enabled := State{TwoFactorEnabled: true, TwoFactorSince: now.Add(-time.Hour), RecoveryCodesLeft: 3}
	due := State{TwoFactorEnabled: true, TwoFactorSince: now.Add(-DefaultCheckEvery), RecoveryCodesLeft: 3}
	tests := []struct {
		name   string
		s      State
		kind   BannerKind
		action Action
		code   deadbolt.Code
	}{
		{"unknown kind", open, "two_factor", ActionClose, deadbolt.CodeNotFound},
		{"empty kind", open, "", ActionClose, deadbolt.CodeNotFound},
		{"unknown action", open, BannerTwoFactorRequired, "dismiss", CodeInvalidAction},
		{"empty action", open, BannerTwoFactorRequired, "", CodeInvalidAction},
		{"confirm on two_factor_required", open, BannerTwoFactorRequired, ActionConfirm, CodeInvalidAction},
		{"confirm on confirm_device", State{DeviceDisconnectedAt: now}, BannerConfirmDevice, ActionConfirm, CodeInvalidAction},
		{"confirm on recovery_codes_needed", State{TwoFactorEnabled: true}, BannerRecoveryCodesNeeded, ActionConfirm, CodeInvalidAction},
		{"close past deadline", overdue, BannerTwoFactorRequired, ActionClose, CodeBannerNotClosable},
		{"remind later past deadline", overdue, BannerTwoFactorRequired, ActionRemindLater, CodeBannerNotClosable},
		{"close when not required", State{}, BannerTwoFactorRequired, ActionClose, CodeBannerNotShown},
		{"close when set up", State{Requirement: open.Requirement, TwoFactorEnabled: true}, BannerTwoFactorRequired, ActionClose, CodeBannerNotShown},
		{"close check not due", enabled, BannerCheckLoginParameters, ActionClose, CodeBannerNotShown},
		{"confirm check not due", enabled, BannerCheckLoginParameters, ActionConfirm, CodeBannerNotShown},
		{"remind later, device connected", enabled, BannerConfirmDevice, ActionRemindLater, CodeBannerNotShown},
		{"close codes left", enabled, BannerRecoveryCodesNeeded, ActionClose, CodeBannerNotShown},
		{"close before deadline", open, BannerTwoFactorRequired, ActionClose, ""},
		{"remind later before deadline", open, BannerTwoFactorRequired, ActionRemindLater, ""},
		{"confirm check due", due, BannerCheckLoginParameters, ActionConfirm, ""},
		{"close check due", due, BannerCheckLoginParameters, ActionClose, ""},
		{"close confirm_device", State{DeviceDisconnectedAt: now}, BannerConfirmDevice, ActionClose, ""},
		{"close codes needed", State{TwoFactorEnabled: true}, BannerRecoveryCodesNeeded, ActionClose, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := Act(tt.s, Settings{}, tt.kind, tt.action, now)
			if got := deadbolt.ErrorCode(err); got != tt.code {
				t.Fatalf("Act(%q, %q) = %v, want code %q", tt.kind, tt.action, err, tt.code)
			}
			if err != nil {
				if deadbolt.ErrorMessage(err) == "" || o != (Outcome{}) {
					t.Errorf("Act(%q, %q) = %+v, %v, want a zero outcome and a message", tt.kind, tt.action, o, err)
				}
				return
			}
			if o.Kind != tt.kind || o.Action != tt.action {
				t.Errorf("Act(%q, %q) = %+v, want it to name its kind and action", tt.kind, tt.action, o)
			}
			if o.DismissedAt.IsZero() == o.ConfirmedAt.IsZero() {
				t.Errorf("Act(%q, %q) = %+v, want exactly one of DismissedAt and ConfirmedAt", tt.kind, tt.action, o)
			}
		})
	}
}

func TestActOutcome(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	now := time.Date(2024, 3, 10, 0, 30, 0, 0, ny)
	s := State{
		Requirement: Requirement{Required: true},
		Dismissed:   map[BannerKind]time.Time{BannerConfirmDevice: now.AddDate(0, 0, -3)},
	}
	o, err := Act(s, Settings{Location: ny}, BannerTwoFactorRequired, ActionClose, now)
	if err != nil {
		t.Fatalf("Act(close) = %v", err)
	}
	want := Outcome{
		Kind: BannerTwoFactorRequired, Action: ActionClose,
		DismissedAt: now, HiddenUntil: time.Date(2024, 3, 11, 0, 0, 0, 0, ny),
	}
	if !o.DismissedAt.Equal(want.DismissedAt) || !o.HiddenUntil.Equal(want.HiddenUntil) || !o.ConfirmedAt.IsZero() {
		t.Errorf("Act(close) = %+v, want %+v", o, want)
	}
	got := o.Apply(s)
	if len(s.Dismissed) != 1 {
		t.Errorf("Apply changed the caller's map: %v", s.Dismissed)
	}
	if !got.Dismissed[BannerTwoFactorRequired].Equal(now) || !got.Dismissed[BannerConfirmDevice].Equal(s.Dismissed[BannerConfirmDevice]) {
		t.Errorf("Apply(%+v).Dismissed = %v, want the close recorded beside the earlier one", s, got.Dismissed)
	}

	due := State{TwoFactorEnabled: true, RecoveryCodesLeft: 1}
	o, err = Act(due, Settings{Location: ny}, BannerCheckLoginParameters, ActionConfirm, now)
	if err != nil {
		t.Fatalf("Act(confirm) = %v", err)
	}
	if !o.ConfirmedAt.Equal(now) || !o.DismissedAt.IsZero() || !o.HiddenUntil.IsZero() {
		t.Errorf("Act(confirm) = %+v, want ConfirmedAt %v only", o, now)
	}
	if got := o.Apply(due); !got.LastConfirmedAt.Equal(now) || got.Dismissed != nil {
		t.Errorf("Apply(confirm) = %+v, want LastConfirmedAt %v and no dismissal", got, now)
	}
}

func TestParseBannerKind(t *testing.T) {
	for _, k := range Kinds() {
		if got, err := ParseBannerKind(string(k)); got != k || err != nil {
			t.Errorf("ParseBannerKind(%q) = %q, %v, want %q", k, got, err, k)
		}
	}
	for _, s := range []string{"", "Two_Factor_Required", "two_factor_required ", "banner"} {
		if got, err := ParseBannerKind(s); got != "" || deadbolt.ErrorCode(err) != deadbolt.CodeNotFound {
			t.Errorf("ParseBannerKind(%q) = %q, %v, want not_found", s, got, err)
		}
	}
	ks := Kinds()
	ks[0] = "changed"
	if Kinds()[0] != BannerTwoFactorRequired {
		t.Errorf("Kinds() shares its array with callers")
	}
}

func TestParseAction(t *testing.T) {
	tests := []struct {
		in   string
		want Action
		code deadbolt.Code
	}{
		{"close", ActionClose, ""},
		{"remind_later", ActionRemindLater, ""},
		{"confirm", ActionConfirm, ""},
		{"", "", CodeInvalidAction},
		{"CLOSE", "", CodeInvalidAction},
		{"remind-later", "", CodeInvalidAction},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAction(tt.in)
			if got != tt.want || deadbolt.ErrorCode(err) != tt.code {
				t.Errorf("ParseAction(%q) = %q, %v, want %q, code %q", tt.in, got, err, tt.want, tt.code)
			}
		})
	}
}
