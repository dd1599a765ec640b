package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

// workgroupTests are the contract tests of WorkgroupStore.
var workgroupTests = []struct {
	name string
	fn   func(*testing.T, deadbolt.Store)
}{
	{"Workgroups", testWorkgroups},
	{"WorkgroupPolicy", testWorkgroupPolicy},
	{"WorkgroupMembers", testWorkgroupMembers},
	{"WorkgroupMemberRace", testWorkgroupMemberRace},
	{"BannerState", testBannerState},
}

// NewWorkgroup inserts a workgroup named name and returns it.
func NewWorkgroup(t *testing.T, s deadbolt.Store, name string) *deadbolt.Workgroup {
	t.Helper()
	w := &deadbolt.Workgroup{ID: deadbolt.NewID(), Name: name, CreatedAt: T0}
	if err := s.CreateWorkgroup(context.Background(), w); err != nil {
		t.Fatalf("CreateWorkgroup(%q) = %v", name, err)
	}
	return w
}

func names(ws []*deadbolt.Workgroup) string {
	var n []string
	for _, w := range ws {
		n = append(n, w.Name)
	}
	return strings.Join(n, ",")
}

func testWorkgroups(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	if list, err := s.ListWorkgroups(ctx); err != nil || list == nil || len(list) != 0 {
		t.Fatalf("ListWorkgroups(empty) = %v, %v; want an empty, non-nil list", list, err)
	}
	eng := NewWorkgroup(t, s, "Engineering")
	NewWorkgroup(t, s, "Équipe")
	NewWorkgroup(t, s, "accounting")

	for _, dup := range []string{"Engineering", "ENGINEERING", "engineering", "  engineering "} {
		w := &deadbolt.Workgroup{ID: deadbolt.NewID(), Name: dup, CreatedAt: T0}
		wantCode(t, "CreateWorkgroup("+dup+")", s.CreateWorkgroup(ctx, w), deadbolt.CodeConflict)
	}
	w := &deadbolt.Workgroup{ID: deadbolt.NewID(), Name: "ÉQUIPE", CreatedAt: T0}
	wantCode(t, "CreateWorkgroup(ÉQUIPE)", s.CreateWorkgroup(ctx, w), deadbolt.CodeConflict)

	got, err := s.Workgroup(ctx, eng.ID)
	if err != nil || got.Name != "Engineering" || !got.CreatedAt.Equal(T0) || got.Members != 0 || got.Policy.Required {
		t.Fatalf("Workgroup = %+v, %v; want Engineering with no members or policy", got, err)
	}
	for _, name := range []string{"Engineering", "eNgInEeRiNg"} {
		if got, err := s.WorkgroupByName(ctx, name); err != nil || got.ID != eng.ID {
			t.Errorf("WorkgroupByName(%q) = %v, %v; want %s", name, got, err, eng.ID)
		}
	}
	if got, err := s.WorkgroupByName(ctx, "équipe"); err != nil || got.Name != "Équipe" {
		t.Errorf("WorkgroupByName(équipe) = %v, %v; want Équipe", got, err)
	}
	_, err = s.WorkgroupByName(ctx, "Sales")
	wantCode(t, "WorkgroupByName(unknown)", err, deadbolt.CodeNotFound)
	_, err = s.Workgroup(ctx, deadbolt.NewID())
	wantCode(t, "Workgroup(unknown)", err, deadbolt.CodeNotFound)

	list, err := s.ListWorkgroups(ctx)
	if err != nil || names(list) != "accounting,Engineering,Équipe" {
		t.Errorf("ListWorkgroups = %q, %v; want accounting,Engineering,Équipe", names(list), err)
	}

	wantCode(t, "RenameWorkgroup(taken)", s.RenameWorkgroup(ctx, eng.ID, "ACCOUNTING"), deadbolt.CodeConflict)
	wantCode(t, "RenameWorkgroup(unknown)", s.RenameWorkgroup(ctx, deadbolt.NewID(), "Sales"), deadbolt.CodeNotFound)
	if err := s.RenameWorkgroup(ctx, eng.ID, "ENGINEERING"); err != nil {
		t.Fatalf("RenameWorkgroup(own name, other case) = %v", err)
	}
	if err := s.RenameWorkgroup(ctx, eng.ID, "Research"); err != nil {
		t.Fatalf("RenameWorkgroup = %v", err)
	}
	if got, err := s.WorkgroupByName(ctx, "research"); err != nil || got.ID != eng.ID || got.Name != "Research" {
		t.Errorf("after rename WorkgroupByName(research) = %v, %v", got, err)
	}
	// The old name is free again.
	NewWorkgroup(t, s, "engineering")

	if err := s.DeleteWorkgroup(ctx, eng.ID); err != nil {
		t.Fatalf("DeleteWorkgroup = %v", err)
	}
	wantCode(t, "DeleteWorkgroup(again)", s.DeleteWorkgroup(ctx, eng.ID), deadbolt.CodeNotFound)
	_, err = s.Workgroup(ctx, eng.ID)
	wantCode(t, "Workgroup(deleted)", err, deadbolt.CodeNotFound)
}

func testWorkgroupPolicy(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	w := NewWorkgroup(t, s, "Engineering")
	// A zone far from UTC and nanoseconds the stores cannot keep.
	zone := time.FixedZone("UTC-9:30", -(9*3600 + 1800))
	deadline := time.Date(2026, 12, 1, 0, 0, 0, 123456789, zone)
	p := deadbolt.WorkgroupPolicy{Required: true, Deadline: deadline, PausedUntil: T0.Add(48 * time.Hour),
		AfterDeadline: "block", UpdatedAt: T0}
	if err := s.SetWorkgroupPolicy(ctx, w.ID, p); err != nil {
		t.Fatalf("SetWorkgroupPolicy = %v", err)
	}
	got, err := s.Workgroup(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	gp := got.Policy
	if !gp.Required || gp.Paused || gp.AfterDeadline != "block" || !gp.UpdatedAt.Equal(T0) ||
		!gp.Deadline.Equal(deadline.Truncate(time.Microsecond)) || gp.Deadline.Location() != time.UTC ||
		!gp.PausedUntil.Equal(p.PausedUntil) {
		t.Errorf("Workgroup().Policy = %+v, want %+v (times in UTC, to the microsecond)", gp, p)
	}
	// Replacing clears what the new policy leaves out.
	off := deadbolt.WorkgroupPolicy{Paused: true, UpdatedAt: T0.Add(time.Hour)}
	if err := s.SetWorkgroupPolicy(ctx, w.ID, off); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Workgroup(ctx, w.ID)
	if got.Policy.Required || !got.Policy.Paused || !got.Policy.Deadline.IsZero() || !got.Policy.PausedUntil.IsZero() ||
		got.Policy.AfterDeadline != "" || !got.Policy.UpdatedAt.Equal(off.UpdatedAt) {
		t.Errorf("after replacing, Policy = %+v, want %+v", got.Policy, off)
	}
	wantCode(t, "SetWorkgroupPolicy(unknown)", s.SetWorkgroupPolicy(ctx, deadbolt.NewID(), p), deadbolt.CodeNotFound)

	// A policy given at creation is kept.
	w2 := &deadbolt.Workgroup{ID: deadbolt.NewID(), Name: "Sales", CreatedAt: T0, Policy: p}
	if err := s.CreateWorkgroup(ctx, w2); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Workgroup(ctx, w2.ID); !got.Policy.Required || got.Policy.AfterDeadline != "block" || got.Policy.Deadline.IsZero() {
		t.Errorf("policy given at creation = %+v", got.Policy)
	}
}

func testWorkgroupMembers(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	alice, bob := NewUser(t, s, "alice"), NewUser(t, s, "bob")
	eng, ops := NewWorkgroup(t, s, "Engineering"), NewWorkgroup(t, s, "Ops")

	if m, err := s.WorkgroupMembers(ctx, eng.ID); err != nil || m == nil || len(m) != 0 {
		t.Fatalf("WorkgroupMembers(empty) = %v, %v; want an empty, non-nil list", m, err)
	}
	add := func(w *deadbolt.Workgroup, u *deadbolt.User, want bool) {
		t.Helper()
		if added, err := s.AddWorkgroupMember(ctx, w.ID, u.ID, T0); err != nil || added != want {
			t.Fatalf("AddWorkgroupMember(%s, %s) = %v, %v; want %v", w.Name, u.Login, added, err, want)
		}
	}
	add(eng, bob, true)
	add(eng, alice, true)
	add(eng, alice, false)
	add(ops, alice, true)

	_, err := s.AddWorkgroupMember(ctx, deadbolt.NewID(), alice.ID, T0)
	wantCode(t, "AddWorkgroupMember(unknown workgroup)", err, deadbolt.CodeNotFound)
	_, err = s.AddWorkgroupMember(ctx, eng.ID, deadbolt.NewID(), T0)
	wantCode(t, "AddWorkgroupMember(unknown user)", err, deadbolt.CodeNotFound)

	m, err := s.WorkgroupMembers(ctx, eng.ID)
	if err != nil || len(m) != 2 || m[0].Login != "alice" || m[1].Login != "bob" {
		t.Fatalf("WorkgroupMembers = %v, %v; want alice, bob", m, err)
	}
	if m[0].ID != alice.ID || m[0].Name != alice.Name {
		t.Errorf("WorkgroupMembers()[0] = %+v, want %+v", m[0], alice)
	}
	_, err = s.WorkgroupMembers(ctx, deadbolt.NewID())
	wantCode(t, "WorkgroupMembers(unknown)", err, deadbolt.CodeNotFound)
	if got, _ := s.Workgroup(ctx, eng.ID); got.Members != 2 {
		t.Errorf("Workgroup().Members = %d, want 2", got.Members)
	}
	if list, _ := s.ListWorkgroups(ctx); len(list) != 2 || list[0].Members != 2 || list[1].Members != 1 {
		t.Errorf("ListWorkgroups member counts = %+v", list)
	}

	if err := s.SetWorkgroupPolicy(ctx, ops.ID, deadbolt.WorkgroupPolicy{Required: true, AfterDeadline: "block"}); err != nil {
		t.Fatal(err)
	}
	ws, err := s.UserWorkgroups(ctx, alice.ID)
	if err != nil || names(ws) != "Engineering,Ops" || !ws[1].Policy.Required || ws[1].Policy.AfterDeadline != "block" {
		t.Fatalf("UserWorkgroups(alice) = %v, %v; want Engineering, Ops with the Ops policy", ws, err)
	}
	if ws, err := s.UserWorkgroups(ctx, deadbolt.NewID()); err != nil || ws == nil || len(ws) != 0 {
		t.Errorf("UserWorkgroups(unknown) = %v, %v; want an empty, non-nil list", ws, err)
	}

	if err := s.RemoveWorkgroupMember(ctx, eng.ID, alice.ID); err != nil {
		t.Fatalf("RemoveWorkgroupMember = %v", err)
	}
	wantCode(t, "RemoveWorkgroupMember(again)", s.RemoveWorkgroupMember(ctx, eng.ID, alice.ID), deadbolt.CodeNotFound)
	if ws, _ := s.UserWorkgroups(ctx, alice.ID); names(ws) != "Ops" {
		t.Errorf("UserWorkgroups(alice) after removal = %q, want Ops", names(ws))
	}
	// Deleting a workgroup ends its memberships.
	if err := s.DeleteWorkgroup(ctx, ops.ID); err != nil {
		t.Fatal(err)
	}
	if ws, _ := s.UserWorkgroups(ctx, alice.ID); len(ws) != 0 {
		t.Errorf("UserWorkgroups(alice) after deleting Ops = %q, want none", names(ws))
	}
	if ws, _ := s.UserWorkgroups(ctx, bob.ID); names(ws) != "Engineering" {
		t.Errorf("UserWorkgroups(bob) = %q, want Engineering", names(ws))
	}
}

func testWorkgroupMemberRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	w := NewWorkgroup(t, s, "Engineering")
	wins := parallel(t, 20, func(int) (bool, error) {
		return s.AddWorkgroupMember(ctx, w.ID, u.ID, T0)
	})
	if wins != 1 {
		t.Errorf("AddWorkgroupMember reported a new membership %d times, want 1", wins)
	}
	if got, _ := s.Workgroup(ctx, w.ID); got.Members != 1 {
		t.Errorf("Members = %d, want 1", got.Members)
	}
}

func testBannerState(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u, other := NewUser(t, s, "alice"), NewUser(t, s, "bob")
	dismissals := func(userID string) (map[string]time.Time, error) {
		o, err := s.FactorOverview(ctx, userID)
		if err != nil {
			return nil, err
		}
		return o.Dismissals, nil
	}
	if d, err := dismissals(u.ID); err != nil || len(d) != 0 {
		t.Fatalf("dismissals(none) = %v, %v; want none", d, err)
	}
	steps := []struct {
		kind string
		at   time.Time
	}{
		{"two_factor_required", T0},
		{"confirm_device", T0.Add(time.Hour)},
		{"two_factor_required", T0.Add(26 * time.Hour)},
	}
	for _, st := range steps {
		if err := s.SetBannerDismissed(ctx, u.ID, st.kind, st.at); err != nil {
			t.Fatalf("SetBannerDismissed(%q) = %v", st.kind, err)
		}
	}
	d, err := dismissals(u.ID)
	if err != nil || len(d) != 2 || !d["two_factor_required"].Equal(T0.Add(26*time.Hour)) ||
		!d["confirm_device"].Equal(T0.Add(time.Hour)) || d["confirm_device"].Location() != time.UTC {
		t.Errorf("dismissals = %v, %v; want the latest time per kind, in UTC", d, err)
	}
	if d, _ := dismissals(other.ID); len(d) != 0 {
		t.Errorf("dismissals(other user) = %v, want none", d)
	}
	wantCode(t, "SetBannerDismissed(unknown user)",
		s.SetBannerDismissed(ctx, deadbolt.NewID(), "confirm_device", T0), deadbolt.CodeNotFound)

	if err := s.SetLastConfirmed(ctx, u.ID, T0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	until := T0.AddDate(0, 1, 0)
	if err := s.SetExemptUntil(ctx, u.ID, until); err != nil {
		t.Fatal(err)
	}
	got, _ := s.UserByID(ctx, u.ID)
	if !got.LastConfirmedAt.Equal(T0.Add(2*time.Hour)) || !got.ExemptUntil.Equal(until) {
		t.Errorf("after SetLastConfirmed, SetExemptUntil: %v, %v", got.LastConfirmedAt, got.ExemptUntil)
	}
	if err := s.SetExemptUntil(ctx, u.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, u.ID); !got.ExemptUntil.IsZero() || !got.LastConfirmedAt.Equal(T0.Add(2*time.Hour)) {
		t.Errorf("after clearing the exemption: %v, %v", got.ExemptUntil, got.LastConfirmedAt)
	}
	wantCode(t, "SetLastConfirmed(unknown)", s.SetLastConfirmed(ctx, deadbolt.NewID(), T0), deadbolt.CodeNotFound)
	wantCode(t, "SetExemptUntil(unknown)", s.SetExemptUntil(ctx, deadbolt.NewID(), T0), deadbolt.CodeNotFound)
}
