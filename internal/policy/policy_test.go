package policy

import (
	"fmt"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

func TestParseAfterDeadline(t *testing.T) {
	tests := []struct {
		in   string
		want AfterDeadline
		code deadbolt.Code
	}{
		{"", AfterDeadlineBanner, ""},
		{"banner", AfterDeadlineBanner, ""},
		{"block", AfterDeadlineBlock, ""},
		{"Block", "", deadbolt.CodeInvalidInput},
		{" block", "", deadbolt.CodeInvalidInput},
		{"none", "", deadbolt.CodeInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAfterDeadline(tt.in)
			if got != tt.want || deadbolt.ErrorCode(err) != tt.code {
				t.Errorf("ParseAfterDeadline(%q) = %q, %v, want %q, code %q", tt.in, got, err, tt.want, tt.code)
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	day := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		p     Policy
		field string // "" when valid
	}{
		{"zero", Policy{}, ""},
		{"required with deadline", Policy{Required: true, Deadline: day, AfterDeadline: AfterDeadlineBlock}, ""},
		{"past deadline allowed", Policy{Required: true, Deadline: day.AddDate(-5, 0, 0)}, ""},
		{"paused until", Policy{Required: true, PausedUntil: day}, ""},
		{"paused", Policy{Required: true, Paused: true}, ""},
		{"unknown after_deadline", Policy{Required: true, AfterDeadline: "lock"}, "after_deadline"},
		{"both pauses", Policy{Required: true, Paused: true, PausedUntil: day}, "paused_until"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.field == "" {
				if err != nil {
					t.Errorf("%+v.Validate() = %v, want nil", tt.p, err)
				}
				return
			}
			e, ok := err.(*deadbolt.Error)
			if !ok || e.Code != deadbolt.CodeInvalidInput || e.Extra["field"] != tt.field || e.Message == "" {
				t.Errorf("%+v.Validate() = %#v, want invalid_input on %s with a message", tt.p, err, tt.field)
			}
		})
	}
}

func TestPolicyActive(t *testing.T) {
	until := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	before, after := until.Add(-time.Nanosecond), until
	tests := []struct {
		name string
		p    Policy
		now  time.Time
		want bool
	}{
		{"not required", Policy{}, before, false},
		{"required", Policy{Required: true}, before, true},
		{"paused indefinitely", Policy{Required: true, Paused: true}, after, false},
		{"during dated pause", Policy{Required: true, PausedUntil: until}, before, false},
		{"dated pause ends at its instant", Policy{Required: true, PausedUntil: until}, after, true},
		{"dated pause without required resumes", Policy{PausedUntil: until}, after, true},
		{"dated pause without required, during", Policy{PausedUntil: until}, before, false},
		{"paused wins over ended dated pause", Policy{Required: true, Paused: true, PausedUntil: until}, after, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Active(tt.now); got != tt.want {
				t.Errorf("%+v.Active(%v) = %v, want %v", tt.p, tt.now, got, tt.want)
			}
		})
	}
}

func TestEffective(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	d := func(days int) time.Time { return now.AddDate(0, 0, days) }
	tests := []struct {
		name     string
		policies []Policy
		want     Requirement
	}{
		{"none", nil, Requirement{}},
		{"not required", []Policy{{Deadline: d(1), AfterDeadline: AfterDeadlineBlock}}, Requirement{}},
		{"no deadline", []Policy{{Required: true}}, Requirement{Required: true}},
		{"no deadline never blocks", []Policy{{Required: true, AfterDeadline: AfterDeadlineBlock}}, Requirement{Required: true}},
		{"one deadline", []Policy{{Required: true, Deadline: d(3)}}, Requirement{Required: true, Deadline: d(3)}},
		{"deadline beats none", []Policy{{Required: true}, {Required: true, Deadline: d(3)}}, Requirement{Required: true, Deadline: d(3)}},
		{"earliest of several", []Policy{
			{Required: true, Deadline: d(10), AfterDeadline: AfterDeadlineBlock},
			{Required: true, Deadline: d(5)},
			{Required: true, Deadline: d(7), AfterDeadline: AfterDeadlineBlock},
		}, Requirement{Required: true, Deadline: d(5)}},
		{"block follows the earliest", []Policy{
			{Required: true, Deadline: d(10)},
			{Required: true, Deadline: d(5), AfterDeadline: AfterDeadlineBlock},
		}, Requirement{Required: true, Deadline: d(5), Block: true}},
		{"past deadline is still the earliest", []Policy{
			{Required: true, Deadline: d(-2)},
			{Required: true, Deadline: d(5), AfterDeadline: AfterDeadlineBlock},
		}, Requirement{Required: true, Deadline: d(-2)}},
		{"tie: any block blocks", []Policy{
			{Required: true, Deadline: d(5)},
			{Required: true, Deadline: d(5), AfterDeadline: AfterDeadlineBlock},
			{Required: true, Deadline: d(5)},
		}, Requirement{Required: true, Deadline: d(5), Block: true}},
		{"paused earliest is skipped", []Policy{
			{Required: true, Deadline: d(2), PausedUntil: d(1)},
			{Required: true, Deadline: d(9), AfterDeadline: AfterDeadlineBlock},
		}, Requirement{Required: true, Deadline: d(9), Block: true}},
		{"indefinitely paused is skipped", []Policy{
			{Required: true, Deadline: d(2), Paused: true},
		}, Requirement{}},
		{"ended pause counts", []Policy{
			{Required: true, Deadline: d(2), PausedUntil: d(-1)},
			{Required: true, Deadline: d(9)},
		}, Requirement{Required: true, Deadline: d(2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Effective(tt.policies, now)
			if got.Required != tt.want.Required || !got.Deadline.Equal(tt.want.Deadline) || got.Block != tt.want.Block {
				t.Errorf("Effective(%+v) = %+v, want %+v", tt.policies, got, tt.want)
			}
		})
	}
}

// TestEffectiveOrderIndependent checks that the order of the workgroups does
// not change the result.
func TestEffectiveOrderIndependent(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ps := []Policy{
		{Required: true, Deadline: now.AddDate(0, 0, 5)},
		{Required: true, Deadline: now.AddDate(0, 0, 5), AfterDeadline: AfterDeadlineBlock},
		{Required: true},
		{Required: true, Deadline: now.AddDate(0, 0, 9), AfterDeadline: AfterDeadlineBlock},
		{Required: true, Deadline: now.AddDate(0, 0, 1), Paused: true},
	}
	want := Effective(ps, now)
	for i := range ps {
		rot := append(append([]Policy{}, ps[i:]...), ps[:i]...)
		got := Effective(rot, now)
		if got.Required != want.Required || !got.Deadline.Equal(want.Deadline) || got.Block != want.Block {
			t.Errorf("Effective(rotation %d) = %+v, want %+v", i, got, want)
		}
	}
}

func TestOverdue(t *testing.T) {
	deadline := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		r    Requirement
		now  time.Time
		want bool
	}{
		{Requirement{Required: true, Deadline: deadline}, deadline.Add(-time.Nanosecond), false},
		{Requirement{Required: true, Deadline: deadline}, deadline, true},
		{Requirement{Required: true}, deadline.AddDate(50, 0, 0), false},
		{Requirement{Deadline: deadline}, deadline.Add(time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v at %v", tt.r, tt.now), func(t *testing.T) {
			if got := tt.r.Overdue(tt.now); got != tt.want {
				t.Errorf("%+v.Overdue(%v) = %v, want %v", tt.r, tt.now, got, tt.want)
			}
		})
	}
}

func TestSetupRequired(t *testing.T) {
	deadline := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	blocking := Requirement{Required: true, Deadline: deadline, Block: true}
	late := deadline.Add(time.Minute)
	tests := []struct {
		name string
		s    State
		now  time.Time
		want bool
	}{
		{"before deadline", State{Requirement: blocking}, deadline.Add(-time.Minute), false},
		{"overdue and blocking", State{Requirement: blocking}, late, true},
		{"overdue, banner only", State{Requirement: Requirement{Required: true, Deadline: deadline}}, late, false},
		{"already set up", State{Requirement: blocking, TwoFactorEnabled: true}, late, false},
		{"exempt", State{Requirement: blocking, ExemptUntil: late.Add(time.Hour)}, late, false},
		{"exemption over", State{Requirement: blocking, ExemptUntil: late}, late, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SetupRequired(tt.s, tt.now); got != tt.want {
				t.Errorf("SetupRequired(%+v, %v) = %v, want %v", tt.s, tt.now, got, tt.want)
			}
		})
	}
}

func TestSettingsValidate(t *testing.T) {
	tests := []struct {
		set  Settings
		code deadbolt.Code
	}{
		{Settings{}, ""},
		{Settings{CheckEvery: 30 * 24 * time.Hour}, ""},
		{Settings{CheckEvery: -time.Hour}, deadbolt.CodeInvalidInput},
	}
	for _, tt := range tests {
		if got := deadbolt.ErrorCode(tt.set.Validate()); got != tt.code {
			t.Errorf("%+v.Validate() code = %q, want %q", tt.set, got, tt.code)
		}
	}
}
