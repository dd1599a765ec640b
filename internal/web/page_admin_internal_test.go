package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/i18n"
	"deadbolt/internal/policy"
)

func TestParseLocalDateTime(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	tests := []struct {
		date, clock string
		loc         *time.Location
		want        time.Time // zero with ok: no time
		ok          bool
	}{
		{"", "", time.UTC, time.Time{}, true},
		{"2026-03-05", "", time.UTC, time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), true},
		{" 2026-03-05 ", "09:30", time.UTC, time.Date(2026, 3, 5, 9, 30, 0, 0, time.UTC), true},
		{"2026-03-05", "09:30:15", time.UTC, time.Date(2026, 3, 5, 9, 30, 15, 0, time.UTC), true},
		{"2026-07-01", "12:00", berlin, time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC), true},
		{"2026-01-01", "", berlin, time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC), true},
		{"", "09:30", time.UTC, time.Time{}, false},
		{"2026-02-30", "", time.UTC, time.Time{}, false},
		{"2026-3-5", "", time.UTC, time.Time{}, false},
		{"05/03/2026", "", time.UTC, time.Time{}, false},
		{"2026-03-05", "25:00", time.UTC, time.Time{}, false},
		{"2026-03-05", "9am", time.UTC, time.Time{}, false},
		{"1969-12-31", "", time.UTC, time.Time{}, false},
		{"10000-01-01", "", time.UTC, time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := parseLocalDateTime("deadline", deadbolt.Phrase("The deadline"), tt.date, tt.clock, tt.loc)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("parseLocalDateTime(%q, %q, %v) = %v, %v, want %v (ok %v)", tt.date, tt.clock, tt.loc, got, err, tt.want, tt.ok)
		}
		if err != nil && (deadbolt.ErrorCode(err) != deadbolt.CodeInvalidInput || !strings.HasPrefix(errorText(i18n.English(), err), "The deadline") || !strings.HasPrefix(errorText(i18n.Get("ru"), err), "Срок")) {
			t.Errorf("parseLocalDateTime(%q, %q) error = %v, want invalid_input naming the deadline", tt.date, tt.clock, err)
		}
	}
}

func TestPolicyWords(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name    string
		p       deadbolt.WorkgroupPolicy
		summary string
		words   []string // each must appear in the sentences
	}{
		{"not required", deadbolt.WorkgroupPolicy{}, "Not required", []string{"Not required"}},
		{"no deadline", deadbolt.WorkgroupPolicy{Required: true}, "Required, no deadline", []string{"no deadline", "can close"}},
		{"before the deadline", deadbolt.WorkgroupPolicy{Required: true, Deadline: now.Add(3 * day)},
			"Required by 5 Mar 2026, 10:00 UTC", []string{"Required by 5 Mar 2026, 10:00 UTC (in 3 days)", "can close", "After the deadline", "cannot close"}},
		{"hours before", deadbolt.WorkgroupPolicy{Required: true, Deadline: now.Add(5 * time.Hour)},
			"Required by", []string{"in 5 hours"}},
		{"overdue, banner", deadbolt.WorkgroupPolicy{Required: true, Deadline: now, AfterDeadline: "banner"},
			"Required, deadline passed", []string{"has passed", "cannot close", "can still sign in"}},
		{"overdue, block", deadbolt.WorkgroupPolicy{Required: true, Deadline: now.Add(-day), AfterDeadline: "block"},
			"Required, deadline passed", []string{"has passed", "straight to setup"}},
		{"off until turned on", deadbolt.WorkgroupPolicy{Required: true, Paused: true, Deadline: now.Add(day)},
			"Turned off until turned on again", []string{"until an administrator turns it on again", "is kept"}},
		{"off until a date, deadline later", deadbolt.WorkgroupPolicy{Required: true, PausedUntil: now.Add(2 * day), Deadline: now.Add(9 * day)},
			"Turned off until 4 Mar 2026, 10:00 UTC", []string{"from then on", "The deadline is 11 Mar 2026"}},
		{"off until a date, deadline passes meanwhile", deadbolt.WorkgroupPolicy{Required: true, PausedUntil: now.Add(2 * day), Deadline: now.Add(day)},
			"Turned off until", []string{"will have passed by then", "Extend the deadline"}},
		{"dated pause over", deadbolt.WorkgroupPolicy{PausedUntil: now.Add(-day)},
			"Required, no deadline", []string{"Required, with no deadline"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			en := i18n.English()
			if got := policySummary(en, tt.p, now, time.UTC); !strings.HasPrefix(got, tt.summary) {
				t.Errorf("policySummary(%+v) = %q, want it to start %q", tt.p, got, tt.summary)
			}
			words := strings.Join(policyWords(en, tt.p, now, time.UTC), " ")
			for _, w := range tt.words {
				if !strings.Contains(words, w) {
					t.Errorf("policyWords(%+v) = %q, want it to say %q", tt.p, words, w)
				}
			}
		})
	}
}

func TestPolicyFormRoundTrip(t *testing.T) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	stored := []deadbolt.WorkgroupPolicy{
		{},
		{Required: true, Deadline: time.Date(2026, 3, 8, 15, 30, 0, 0, time.UTC), AfterDeadline: "block"},
		{Required: true, Paused: true, AfterDeadline: "banner"},
		{Required: true, PausedUntil: time.Date(2026, 4, 1, 4, 0, 0, 0, time.UTC), AfterDeadline: "banner"},
	}
	for _, p := range stored {
		got, err := policyFormOf(p, loc).policy(loc)
		if err != nil {
			t.Fatalf("policyFormOf(%+v).policy() = %v", p, err)
		}
		want := policy.Policy{Required: p.Required, Deadline: p.Deadline, PausedUntil: p.PausedUntil, Paused: p.Paused,
			AfterDeadline: policy.AfterDeadline(cmpOr(p.AfterDeadline, "banner"))}
		if !got.Deadline.Equal(want.Deadline) || !got.PausedUntil.Equal(want.PausedUntil) || got.Required != want.Required ||
			got.Paused != want.Paused || got.AfterDeadline != want.AfterDeadline {
			t.Errorf("policyFormOf(%+v).policy() = %+v, want %+v", p, got, want)
		}
	}
	for _, f := range []policyForm{
		{After: "never", Pause: "none"},
		{After: "banner", Pause: "sometimes"},
		{After: "banner", Pause: "until"},
		{After: "banner", Pause: "none", DeadlineDate: "tomorrow"},
	} {
		if _, err := f.policy(loc); deadbolt.ErrorCode(err) != deadbolt.CodeInvalidInput {
			t.Errorf("policyForm(%+v).policy() = %v, want invalid_input", f, err)
		}
	}
}

// TestAuditTypesComplete: the audit filter offers every event type of
// event.go, each named in words.
func TestAuditTypesComplete(t *testing.T) {
	file, err := parser.ParseFile(token.NewFileSet(), "../deadbolt/event.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	ast.Inspect(file, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if v, err := strconv.Unquote(lit.Value); err == nil {
				types = append(types, v)
			}
		}
		return true
	})
	if len(types) < 30 {
		t.Fatalf("found only %d event types in event.go", len(types))
	}
	for _, typ := range types {
		if !slices.Contains(auditTypes, typ) {
			t.Errorf("the audit filter lacks %q", typ)
		}
		for _, l := range i18n.Languages() {
			if !l.Has("event." + typ) {
				t.Errorf("event type %q has no words in %s", typ, l.Code())
			}
		}
	}
	if len(auditTypes) != len(types) {
		t.Errorf("the audit filter offers %d types, event.go has %d", len(auditTypes), len(types))
	}
}

func TestMatchUser(t *testing.T) {
	u := &deadbolt.User{Login: "ann.lee", Name: "Ann Lee-Smith"}
	for q, want := range map[string]bool{"": true, "ann": true, "LEE smith": true, "smith ann": true, "bob": false, "ann bob": false} {
		if got := matchUser(u, q); got != want {
			t.Errorf("matchUser(%q) = %v, want %v", q, got, want)
		}
	}
}
