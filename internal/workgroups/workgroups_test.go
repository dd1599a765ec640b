package workgroups

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"deadbolt/internal/accounts"
	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/device"
	"deadbolt/internal/policy"
	"deadbolt/internal/store/sqlite"
)

// fixture is a service over a real SQLite store with a clock the test
// moves.
type fixture struct {
	st    *sqlite.Store
	svc   *Service
	clock *deadbolt.FixedClock
	admin accounts.Actor
}

// t0 is a Monday, 10:00 UTC.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func newFixture(t *testing.T, set policy.Settings) *fixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := deadbolt.NewFixedClock(t0)
	svc, err := New(st, audit.New(st, clock, slog.New(slog.DiscardHandler)), clock, set)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, svc: svc, clock: clock}
	f.admin = accounts.Actor{User: f.user(t, "boss", true), IP: "192.0.2.9"}
	return f
}

func (f *fixture) user(t *testing.T, login string, admin bool) *deadbolt.User {
	t.Helper()
	u := &deadbolt.User{ID: deadbolt.NewID(), Login: login, Name: login, Admin: admin, Active: true,
		PasswordHash: "x", CreatedAt: t0, UpdatedAt: t0}
	if err := f.st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// reload reads u again, as each request does.
func (f *fixture) reload(t *testing.T, u *deadbolt.User) *deadbolt.User {
	t.Helper()
	got, err := f.st.UserByID(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func wantCode(t *testing.T, what string, err error, code deadbolt.Code) {
	t.Helper()
	if got := deadbolt.ErrorCode(err); got != code {
		t.Fatalf("%s = %v, want code %q", what, err, code)
	}
}

func kinds(bs []policy.Banner) string {
	var k []string
	for _, b := range bs {
		s := string(b.Kind)
		if !b.Closable {
			s += "!"
		}
		k = append(k, s)
	}
	return strings.Join(k, " ")
}

func TestNewRejectsBadSettings(t *testing.T) {
	_, err := New(nil, nil, deadbolt.NewFixedClock(t0), policy.Settings{CheckEvery: -time.Hour})
	wantCode(t, "New(negative CheckEvery)", err, deadbolt.CodeInvalidInput)
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"", time.Time{}, true},
		{"2026-12-01T00:00:00Z", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), true},
		{"2026-12-01T09:30:00+09:00", time.Date(2026, 12, 1, 0, 30, 0, 0, time.UTC), true},
		{"2026-12-01T00:00:00.5Z", time.Date(2026, 12, 1, 0, 0, 0, 5e8, time.UTC), true},
		{"2026-12-01", time.Time{}, false},
		{"2026-12-01 00:00:00Z", time.Time{}, false},
		{"tomorrow", time.Time{}, false},
		{"1969-12-31T23:59:59Z", time.Time{}, false},
		{"0001-01-01T00:00:00Z", time.Time{}, false},
		{"2026-02-30T00:00:00Z", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTime("deadline", tt.in)
			if !tt.ok {
				e, isErr := err.(*deadbolt.Error)
				if !isErr || e.Code != deadbolt.CodeInvalidInput || e.Extra["field"] != "deadline" {
					t.Fatalf("ParseTime(%q) = %v, %v; want invalid_input on deadline", tt.in, got, err)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) || (!got.IsZero() && got.Location() != time.UTC) {
				t.Errorf("ParseTime(%q) = %v, %v; want %v in UTC", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"", "2026-12-01T00:00:00Z", "2026-12-01T09:30:00+09:00", "9999-12-31T23:59:59Z", "1970-01-01T00:00:00-01:00", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime("until", s)
		if err != nil {
			if deadbolt.ErrorCode(err) != deadbolt.CodeInvalidInput || !got.IsZero() {
				t.Fatalf("ParseTime(%q) = %v, %v; want the zero time and invalid_input", s, got, err)
			}
			return
		}
		if s == "" {
			if !got.IsZero() {
				t.Fatalf("ParseTime(\"\") = %v, want zero", got)
			}
			return
		}
		if got.Location() != time.UTC || got.Before(minTime) || got.After(maxTime) {
			t.Fatalf("ParseTime(%q) = %v, want a UTC time between 1970 and 9999", s, got)
		}
		again, err := ParseTime("until", got.Format(time.RFC3339Nano))
		if err != nil || !again.Equal(got) {
			t.Fatalf("ParseTime(%q) = %v, which does not round-trip: %v, %v", s, got, again, err)
		}
	})
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Engineering", "Engineering", true},
		{"  R&D Paris  ", "R&D Paris", true},
		{"Équipe Ω", "Équipe Ω", true},
		{strings.Repeat("é", MaxNameLen), strings.Repeat("é", MaxNameLen), true},
		{strings.Repeat("é", MaxNameLen+1), "", false},
		{"", "", false},
		{"   ", "", false},
		{"a\nb", "", false},
		{"a\x00b", "", false},
		{"bad \xff utf-8", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ValidateName(tt.in)
			if tt.ok != (err == nil) || got != tt.want {
				t.Errorf("ValidateName(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
			}
			if err != nil && deadbolt.ErrorCode(err) != deadbolt.CodeInvalidInput {
				t.Errorf("ValidateName(%q) error code = %q, want invalid_input", tt.in, deadbolt.ErrorCode(err))
			}
		})
	}
}

func FuzzValidateName(f *testing.F) {
	f.Add("Engineering")
	f.Add(" a\tb ")
	f.Add("\xff")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ValidateName(s)
		if err != nil {
			return
		}
		if got != strings.TrimSpace(got) || got == "" || !utf8.ValidString(got) ||
			utf8.RuneCountInString(got) > MaxNameLen || strings.IndexFunc(got, unicode.IsControl) >= 0 {
			t.Fatalf("ValidateName(%q) = %q, which breaks the name rules", s, got)
		}
		if !strings.Contains(s, got) {
			t.Fatalf("ValidateName(%q) = %q, not a part of the input", s, got)
		}
	})
}

func TestOnlyAdministrators(t *testing.T) {
	f := newFixture(t, policy.Settings{})
	ctx := context.Background()
	w, err := f.svc.Create(ctx, f.admin, "Engineering")
	if err != nil {
		t.Fatal(err)
	}
	emp := f.user(t, "alice", false)
	retired := f.user(t, "old-admin", true)
	retired.Active = false
	for _, actor := range []accounts.Actor{{User: emp}, {User: retired}} {
		calls := map[string]func() error{
			"Create":       func() error { _, err := f.svc.Create(ctx, actor, "Sales"); return err },
			"List":         func() error { _, err := f.svc.List(ctx, actor); return err },
			"Get":          func() error { _, err := f.svc.Get(ctx, actor, w.ID); return err },
			"Rename":       func() error { _, err := f.svc.Rename(ctx, actor, w.ID, "X"); return err },
			"Delete":       func() error { return f.svc.Delete(ctx, actor, w.ID) },
			"Members":      func() error { _, err := f.svc.Members(ctx, actor, w.ID); return err },
			"AddMember":    func() error { _, _, err := f.svc.AddMember(ctx, actor, w.ID, emp.ID); return err },
			"RemoveMember": func() error { return f.svc.RemoveMember(ctx, actor, w.ID, emp.ID) },
			"SetPolicy": func() error {
				_, err := f.svc.SetPolicy(ctx, actor, w.ID, policy.Policy{Required: true})
				return err
			},
			"Exempt":         func() error { _, err := f.svc.Exempt(ctx, actor, emp.ID, t0.Add(time.Hour)); return err },
			"EndExemption":   func() error { _, err := f.svc.EndExemption(ctx, actor, emp.ID); return err },
			"UserWorkgroups": func() error { _, err := f.svc.UserWorkgroups(ctx, actor, emp.ID); return err },
		}
		for name, call := range calls {
			t.Run(actor.User.Login+"/"+name, func(t *testing.T) {
				wantCode(t, name, call(), deadbolt.CodeForbidden)
			})
		}
	}
	// Nothing changed.
	got, _ := f.svc.Get(ctx, f.admin, w.ID)
	if got.Name != "Engineering" || got.Members != 0 || got.Policy.Required {
		t.Errorf("after refused calls the workgroup is %+v", got)
	}
}

func TestAdministration(t *testing.T) {
	f := newFixture(t, policy.Settings{})
	ctx := context.Background()
	alice := f.user(t, "alice", false)

	w, err := f.svc.Create(ctx, f.admin, "  Engineering ")
	if err != nil || w.Name != "Engineering" || w.Policy.AfterDeadline != "banner" {
		t.Fatalf("Create = %+v, %v", w, err)
	}
	_, err = f.svc.Create(ctx, f.admin, "ENGINEERING")
	wantCode(t, "Create(same name, other case)", err, deadbolt.CodeConflict)
	_, err = f.svc.Create(ctx, f.admin, "\t")
	wantCode(t, "Create(blank)", err, deadbolt.CodeInvalidInput)

	if got, err := f.svc.Get(ctx, f.admin, "engineering"); err != nil || got.ID != w.ID {
		t.Errorf("Get(by name) = %v, %v", got, err)
	}
	_, err = f.svc.Get(ctx, f.admin, deadbolt.NewID())
	wantCode(t, "Get(unknown id)", err, deadbolt.CodeNotFound)

	added, u, err := f.svc.AddMember(ctx, f.admin, "Engineering", "ALICE")
	if err != nil || !added || u.ID != alice.ID {
		t.Fatalf("AddMember(by login) = %v, %v, %v", added, u, err)
	}
	if added, _, err := f.svc.AddMember(ctx, f.admin, w.ID, alice.ID); err != nil || added {
		t.Errorf("AddMember(again) = %v, %v; want false, nil", added, err)
	}
	_, _, err = f.svc.AddMember(ctx, f.admin, w.ID, "nobody")
	wantCode(t, "AddMember(unknown login)", err, deadbolt.CodeNotFound)
	_, _, err = f.svc.AddMember(ctx, f.admin, w.ID, "NOT A LOGIN!")
	wantCode(t, "AddMember(junk)", err, deadbolt.CodeNotFound)

	bad := []struct {
		name  string
		p     policy.Policy
		field string
	}{
		{"both pauses", policy.Policy{Required: true, Paused: true, PausedUntil: t0.Add(time.Hour)}, "paused_until"},
		{"unknown after_deadline", policy.Policy{Required: true, AfterDeadline: "lock"}, "after_deadline"},
		{"deadline before 1970", policy.Policy{Required: true, Deadline: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)}, "deadline"},
		{"pause after 9999", policy.Policy{Required: true, PausedUntil: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, "paused_until"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.SetPolicy(ctx, f.admin, w.ID, tt.p)
			e, ok := err.(*deadbolt.Error)
			if !ok || e.Code != deadbolt.CodeInvalidInput || e.Extra["field"] != tt.field {
				t.Errorf("SetPolicy(%+v) = %v, want invalid_input on %s", tt.p, err, tt.field)
			}
		})
	}
	if got, _ := f.svc.Get(ctx, f.admin, w.ID); got.Policy.Required {
		t.Fatalf("a refused policy was stored: %+v", got.Policy)
	}

	deadline := t0.Add(72 * time.Hour)
	got, err := f.svc.SetPolicy(ctx, f.admin, w.ID, policy.Policy{Required: true, Deadline: deadline.In(time.FixedZone("X", 3600))})
	if err != nil || !got.Policy.Required || !got.Policy.Deadline.Equal(deadline) || got.Policy.AfterDeadline != "banner" ||
		!got.Policy.UpdatedAt.Equal(t0) {
		t.Fatalf("SetPolicy = %+v, %v", got, err)
	}
	ws, err := f.svc.UserWorkgroups(ctx, f.admin, "alice")
	if err != nil || len(ws) != 1 || !ws[0].Policy.Deadline.Equal(deadline) {
		t.Errorf("UserWorkgroups(alice) = %v, %v", ws, err)
	}

	_, err = f.svc.Exempt(ctx, f.admin, alice.ID, t0)
	wantCode(t, "Exempt(until now)", err, deadbolt.CodeInvalidInput)
	if u, err := f.svc.Exempt(ctx, f.admin, alice.ID, t0.Add(time.Hour)); err != nil || !u.ExemptUntil.Equal(t0.Add(time.Hour)) {
		t.Errorf("Exempt = %+v, %v", u, err)
	}
	if u, err := f.svc.EndExemption(ctx, f.admin, "alice"); err != nil || !u.ExemptUntil.IsZero() || !f.reload(t, alice).ExemptUntil.IsZero() {
		t.Errorf("EndExemption = %+v, %v", u, err)
	}

	if r, err := f.svc.Rename(ctx, f.admin, w.ID, "Research"); err != nil || r.Name != "Research" {
		t.Errorf("Rename = %v, %v", r, err)
	}
	if err := f.svc.RemoveMember(ctx, f.admin, w.ID, alice.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "RemoveMember(again)", f.svc.RemoveMember(ctx, f.admin, w.ID, alice.ID), deadbolt.CodeNotFound)
	if err := f.svc.Delete(ctx, f.admin, "research"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "Delete(again)", f.svc.Delete(ctx, f.admin, w.ID), deadbolt.CodeNotFound)

	// Every change is in the audit log, by the administrator.
	events, err := f.st.Events(ctx, deadbolt.EventFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range events {
		if e.ActorID != f.admin.User.ID || e.IP != "192.0.2.9" {
			t.Errorf("event %s: actor %q from %q, want the administrator", e.Type, e.ActorID, e.IP)
		}
		seen[e.Type]++
	}
	for typ, n := range map[string]int{
		deadbolt.EventAdminWorkgroupCreated: 1, deadbolt.EventAdminMemberAdded: 1, deadbolt.EventAdminPolicyChanged: 1,
		deadbolt.EventAdminExempted: 1, deadbolt.EventAdminExemptionEnded: 1, deadbolt.EventAdminWorkgroupRenamed: 1,
		deadbolt.EventAdminMemberRemoved: 1, deadbolt.EventAdminWorkgroupDeleted: 1,
	} {
		if seen[typ] != n {
			t.Errorf("audit has %d %s events, want %d (all: %v)", seen[typ], typ, n, seen)
		}
	}
}

// TestCalendar walks an employee through a deadline in Tokyo time: the
// closed banner comes back at Tokyo's midnight, not UTC's.
func TestCalendar(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skip("no zone database:", err)
	}
	f := newFixture(t, policy.Settings{Location: tokyo})
	ctx := context.Background()
	alice := f.user(t, "alice", false)
	w, _ := f.svc.Create(ctx, f.admin, "Engineering")
	f.svc.AddMember(ctx, f.admin, w.ID, alice.ID)

	status := func() Status {
		t.Helper()
		st, err := f.svc.Status(ctx, f.reload(t, alice))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := status(); st.Required || len(st.Banners) != 0 {
		t.Fatalf("before any policy: %+v", st)
	}
	_, _, err = f.svc.Act(ctx, alice, "two_factor_required", "close", "")
	wantCode(t, "Act(close, not shown)", err, policy.CodeBannerNotShown)

	// 10:00 UTC is 19:00 in Tokyo.
	deadline := t0.Add(72 * time.Hour)
	if _, err := f.svc.SetPolicy(ctx, f.admin, w.ID, policy.Policy{Required: true, Deadline: deadline}); err != nil {
		t.Fatal(err)
	}
	st := status()
	if !st.Required || !st.Deadline.Equal(deadline) || kinds(st.Banners) != "two_factor_required" || st.SetupRequired {
		t.Fatalf("after requiring: required %v, deadline %v, banners %q, setup %v", st.Required, st.Deadline, kinds(st.Banners), st.SetupRequired)
	}
	if !st.Banners[0].Deadline.Equal(deadline) {
		t.Errorf("banner deadline = %v, want %v", st.Banners[0].Deadline, deadline)
	}

	_, _, err = f.svc.Act(ctx, alice, "two_factor_required", "confirm", "")
	wantCode(t, "Act(confirm on two_factor_required)", err, policy.CodeInvalidAction)
	_, _, err = f.svc.Act(ctx, alice, "nope", "close", "")
	wantCode(t, "Act(unknown kind)", err, deadbolt.CodeNotFound)

	o, after, err := f.svc.Act(ctx, alice, "two_factor_required", "close", "198.51.100.7")
	if err != nil {
		t.Fatal(err)
	}
	midnight := time.Date(2026, 3, 3, 0, 0, 0, 0, tokyo)
	if !o.HiddenUntil.Equal(midnight) || len(after.Banners) != 0 {
		t.Errorf("Act(close) = hidden until %v, banners %q; want %v and none", o.HiddenUntil, kinds(after.Banners), midnight)
	}
	f.clock.Set(midnight.Add(-time.Second))
	if st := status(); len(st.Banners) != 0 {
		t.Errorf("just before Tokyo midnight banners = %q, want none", kinds(st.Banners))
	}
	f.clock.Set(midnight)
	if st := status(); kinds(st.Banners) != "two_factor_required" {
		t.Errorf("at Tokyo midnight banners = %q, want two_factor_required", kinds(st.Banners))
	}

	// Past the deadline: not closable, shown however often it is closed.
	f.clock.Set(deadline)
	if st := status(); kinds(st.Banners) != "two_factor_required!" {
		t.Errorf("at the deadline banners = %q, want two_factor_required!", kinds(st.Banners))
	}
	_, _, err = f.svc.Act(ctx, alice, "two_factor_required", "remind_later", "")
	wantCode(t, "Act(remind_later past the deadline)", err, policy.CodeBannerNotClosable)

	// Extending makes it closable again.
	f.svc.SetPolicy(ctx, f.admin, w.ID, policy.Policy{Required: true, Deadline: deadline.AddDate(0, 0, 7)})
	if st := status(); kinds(st.Banners) != "two_factor_required" {
		t.Errorf("after extending banners = %q, want a closable two_factor_required", kinds(st.Banners))
	}

	// The audit log has the employee's own action, from their address.
	events, _ := f.st.Events(ctx, deadbolt.EventFilter{UserID: alice.ID, Type: deadbolt.EventBanner})
	if len(events) != 1 || events[0].Detail["kind"] != "two_factor_required" || events[0].Detail["action"] != "close" ||
		events[0].IP != "198.51.100.7" || events[0].ActorID != "" {
		t.Errorf("banner events = %+v, want the one close", events)
	}
}

func TestRequirementAcrossWorkgroups(t *testing.T) {
	f := newFixture(t, policy.Settings{})
	ctx := context.Background()
	alice := f.user(t, "alice", false)
	eng, _ := f.svc.Create(ctx, f.admin, "Engineering")
	ops, _ := f.svc.Create(ctx, f.admin, "Ops")
	f.svc.AddMember(ctx, f.admin, eng.ID, alice.ID)
	f.svc.AddMember(ctx, f.admin, ops.ID, alice.ID)
	early, late := t0.Add(24*time.Hour), t0.Add(240*time.Hour)
	f.svc.SetPolicy(ctx, f.admin, eng.ID, policy.Policy{Required: true, Deadline: late})
	f.svc.SetPolicy(ctx, f.admin, ops.ID, policy.Policy{Required: true, Deadline: early, AfterDeadline: policy.AfterDeadlineBlock})

	tests := []struct {
		name     string
		at       time.Time
		setup    func()
		required bool
		deadline time.Time
		block    bool
	}{
		{"earliest deadline applies", t0, nil, true, early, false},
		{"blocks once the earliest has passed", early, nil, true, early, true},
		{"exempt", early, func() { f.svc.Exempt(ctx, f.admin, alice.ID, early.Add(time.Hour)) }, false, time.Time{}, false},
		{"exemption over", early.Add(time.Hour), nil, true, early, true},
		{"pausing Ops leaves Engineering's", early.Add(time.Hour), func() {
			f.svc.SetPolicy(ctx, f.admin, ops.ID, policy.Policy{Required: true, Deadline: early, PausedUntil: early.Add(48 * time.Hour),
				AfterDeadline: policy.AfterDeadlineBlock})
		}, true, late, false},
		{"the pause ends overdue", early.Add(48 * time.Hour), nil, true, early, true},
		{"Ops left, Engineering off", early.Add(48 * time.Hour), func() {
			f.svc.RemoveMember(ctx, f.admin, ops.ID, alice.ID)
			f.svc.SetPolicy(ctx, f.admin, eng.ID, policy.Policy{Required: true, Deadline: late, Paused: true})
		}, false, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.clock.Set(tt.at)
			if tt.setup != nil {
				tt.setup()
			}
			u := f.reload(t, alice)
			st, err := f.svc.Status(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			if st.Required != tt.required || !st.Deadline.Equal(tt.deadline) || st.SetupRequired != tt.block {
				t.Errorf("Status = required %v, deadline %v, setup %v; want %v, %v, %v",
					st.Required, st.Deadline, st.SetupRequired, tt.required, tt.deadline, tt.block)
			}
			setup, err := f.svc.SetupRequired(ctx, u)
			if err != nil || setup != tt.block {
				t.Errorf("SetupRequired = %v, %v; want %v", setup, err, tt.block)
			}
		})
	}
}

func TestCheckLoginParameters(t *testing.T) {
	f := newFixture(t, policy.Settings{CheckEvery: 30 * 24 * time.Hour})
	ctx := context.Background()
	alice := f.user(t, "alice", false)
	// Two-factor authentication on, with recovery codes, as pairing and
	// generating codes would leave it.
	d := &deadbolt.Device{ID: deadbolt.NewID(), UserID: alice.ID, PairingID: deadbolt.NewID(), PublicKey: []byte{1},
		TOTPSecretSealed: []byte{2}, CreatedAt: t0}
	if err := f.st.CreateDevice(ctx, d, []byte("token-hash-of-the-test-device")); err != nil {
		t.Fatal(err)
	}
	if r, err := f.st.ChangeFactors(ctx, device.Confirmation(alice.ID, d.ID, 0, t0)); err != nil || !r.Applied {
		t.Fatalf("confirm device: %+v, %v", r, err)
	}
	f.st.ReplaceRecoveryCodes(ctx, alice.ID, [][]byte{[]byte("code-hash")}, t0)

	banners := func() string {
		t.Helper()
		st, err := f.svc.Status(ctx, f.reload(t, alice))
		if err != nil {
			t.Fatal(err)
		}
		return kinds(st.Banners)
	}
	steps := []struct {
		at     time.Duration
		action string // "" only looks
		want   string
	}{
		{30*24*time.Hour - time.Second, "", ""},
		{30 * 24 * time.Hour, "", "check_login_parameters"},
		{30*24*time.Hour + time.Minute, "confirm", ""},
		{60*24*time.Hour + time.Second, "", ""},
		{60*24*time.Hour + time.Minute, "", "check_login_parameters"},
		{60*24*time.Hour + 2*time.Minute, "close", ""},
		{61 * 24 * time.Hour, "", "check_login_parameters"},
	}
	for _, s := range steps {
		f.clock.Set(t0.Add(s.at))
		if s.action != "" {
			_, st, err := f.svc.Act(ctx, f.reload(t, alice), "check_login_parameters", s.action, "")
			if err != nil || kinds(st.Banners) != s.want {
				t.Errorf("at +%v Act(%s) = %q, %v; want %q", s.at, s.action, kinds(st.Banners), err, s.want)
			}
		}
		if got := banners(); got != s.want {
			t.Errorf("at +%v banners = %q, want %q", s.at, got, s.want)
		}
	}
	if got := f.reload(t, alice).LastConfirmedAt; !got.Equal(t0.Add(30*24*time.Hour + time.Minute)) {
		t.Errorf("LastConfirmedAt = %v, want the confirmation time", got)
	}
}

// TestRequiredBy: the workgroups named as requiring two-factor
// authentication are those whose policy requires it now, sorted; a paused
// one and one without a requirement are left out.
func TestRequiredBy(t *testing.T) {
	f := newFixture(t, policy.Settings{})
	ctx := context.Background()
	alice := f.user(t, "alice", false)
	for name, p := range map[string]policy.Policy{
		"Ops":         {Required: true, Deadline: t0.Add(-time.Hour), AfterDeadline: policy.AfterDeadlineBlock},
		"Engineering": {Required: true},
		"Sales":       {Required: true, Paused: true},
		"Cafeteria":   {},
	} {
		w, err := f.svc.Create(ctx, f.admin, name)
		if err != nil {
			t.Fatal(err)
		}
		f.svc.AddMember(ctx, f.admin, w.ID, alice.ID)
		if _, err := f.svc.SetPolicy(ctx, f.admin, w.ID, p); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.svc.RequiredBy(ctx, alice)
	if want := "Engineering, Ops"; err != nil || strings.Join(got, ", ") != want {
		t.Errorf("RequiredBy = %q, %v; want %s", got, err, want)
	}
	bob := f.user(t, "bob", false)
	if got, err := f.svc.RequiredBy(ctx, bob); err != nil || len(got) != 0 {
		t.Errorf("RequiredBy(employee in no workgroup) = %q, %v; want none", got, err)
	}
}
