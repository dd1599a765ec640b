package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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
	{"AdminRule", testAdminRule},
	{"AdminRuleRace", testAdminRuleRace},
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
	if err := s.SetWorkgroupPolicy(ctx, w.ID, p, nil); err != nil {
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
	if err := s.SetWorkgroupPolicy(ctx, w.ID, off, nil); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Workgroup(ctx, w.ID)
	if got.Policy.Required || !got.Policy.Paused || !got.Policy.Deadline.IsZero() || !got.Policy.PausedUntil.IsZero() ||
		got.Policy.AfterDeadline != "" || !got.Policy.UpdatedAt.Equal(off.UpdatedAt) {
		t.Errorf("after replacing, Policy = %+v, want %+v", got.Policy, off)
	}
	wantCode(t, "SetWorkgroupPolicy(unknown)", s.SetWorkgroupPolicy(ctx, deadbolt.NewID(), p, nil), deadbolt.CodeNotFound)

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

	if err := s.SetWorkgroupPolicy(ctx, ops.ID, deadbolt.WorkgroupPolicy{Required: true, AfterDeadline: "block"}, nil); err != nil {
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

// newAdmin inserts an active administrator.
func newAdmin(t *testing.T, s deadbolt.Store, login string) *deadbolt.User {
	t.Helper()
	u := &deadbolt.User{ID: deadbolt.NewID(), Login: login, Name: login, Admin: true, Active: true,
		PasswordHash: "$argon2id$placeholder", CreatedAt: T0, UpdatedAt: T0}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// testAdminRule: a rule sees every active administrator — with their
// workgroups and passkey count — before the change, and its error refuses
// the change, which then changes nothing.
func testAdminRule(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	ann := newAdmin(t, s, "ann")
	bob := newAdmin(t, s, "bob")
	gone := newAdmin(t, s, "gone")
	if err := s.SetActive(ctx, gone.ID, false, deadbolt.EndDeactivation, nil, T0); err != nil {
		t.Fatal(err)
	}
	NewUser(t, s, "staff")
	w := NewWorkgroup(t, s, "Ops")
	s.AddWorkgroupMember(ctx, w.ID, ann.ID, T0)
	if err := addPasskey(ctx, s, NewPasskey(bob, "bob-key"), 10); err != nil {
		t.Fatal(err)
	}
	var seen []deadbolt.AdminFactors
	look := func(admins []deadbolt.AdminFactors) error { seen = admins; return nil }
	p := deadbolt.WorkgroupPolicy{Required: true, MinMethod: "phishing_resistant", UpdatedAt: T0}
	if err := s.SetWorkgroupPolicy(ctx, w.ID, p, look); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range seen {
		got[a.User.Login] = fmt.Sprintf("%s passkeys=%d", names(a.Workgroups), a.Passkeys)
	}
	want := map[string]string{"ann": "Ops passkeys=0", "bob": " passkeys=1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the rule saw %v, want %v", got, want)
	}
	// The rule saw the policy as it was before the change.
	for _, a := range seen {
		for _, x := range a.Workgroups {
			if x.Policy.MinMethod != "" && x.Policy.MinMethod != "any" {
				t.Errorf("the rule saw %s's policy after the change: %+v", x.Name, x.Policy)
			}
		}
	}

	refused := deadbolt.Errorf(deadbolt.CodeAdminLockout, "no")
	no := func([]deadbolt.AdminFactors) error { return refused }
	p2 := deadbolt.WorkgroupPolicy{Required: false, MinMethod: "no_sms", UpdatedAt: T0.Add(time.Hour)}
	if err := s.SetWorkgroupPolicy(ctx, w.ID, p2, no); !errors.Is(err, refused) {
		t.Errorf("SetWorkgroupPolicy(refused) = %v, want the rule's error", err)
	}
	if got, _ := s.Workgroup(ctx, w.ID); got.Policy.MinMethod != "phishing_resistant" || !got.Policy.Required {
		t.Errorf("a refused policy was saved: %+v", got.Policy)
	}
	keys, _ := s.Passkeys(ctx, bob.ID)
	ev := &deadbolt.Event{Type: deadbolt.EventPasskeyRemoved, At: T0, UserID: bob.ID}
	_, err := s.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: bob.ID, Now: T0, RemovePasskeyID: keys[0].ID,
		Events: []*deadbolt.Event{ev}, AdminRule: no})
	if !errors.Is(err, refused) {
		t.Errorf("ChangeFactors(refused) = %v, want the rule's error", err)
	}
	if keys, _ := s.Passkeys(ctx, bob.ID); len(keys) != 1 || ev.ID != "" || passkeyEvents(t, s, bob.ID, deadbolt.EventPasskeyRemoved) != 0 {
		t.Errorf("a refused removal changed something: %d passkeys, event %q", len(keys), ev.ID)
	}
	// A refused deactivation leaves the user active, with their sessions.
	sess, _ := NewSession(t, s, bob, deadbolt.SessionFull)
	if err := s.SetActive(ctx, bob.ID, false, deadbolt.EndDeactivation, no, T0); !errors.Is(err, refused) {
		t.Errorf("SetActive(refused) = %v, want the rule's error", err)
	}
	if got, _ := s.UserByID(ctx, bob.ID); !got.Active {
		t.Error("a refused deactivation deactivated")
	}
	if list, _ := s.ListSessions(ctx, bob.ID); !hasSession(list, sess.ID) {
		t.Error("a refused deactivation ended a session")
	}
	if _, err := s.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: bob.ID, Now: T0, RemovePasskeyID: keys[0].ID, AdminRule: look}); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.Passkeys(ctx, bob.ID); len(keys) != 0 {
		t.Errorf("an allowed removal left %d passkeys", len(keys))
	}
}

// testAdminRuleRace: changes carrying a rule are decided one at a time,
// each on what the one before it wrote. 50 administrators in a workgroup
// each; 50 policies at once, each refused by its rule once 10 workgroups
// of administrators demand passkeys: exactly 10 are saved.
func testAdminRuleRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	const n, limit = 50, 10
	groups := make([]*deadbolt.Workgroup, n)
	for i := range n {
		u := newAdmin(t, s, fmt.Sprintf("admin-%02d", i))
		groups[i] = NewWorkgroup(t, s, fmt.Sprintf("group-%02d", i))
		s.AddWorkgroupMember(ctx, groups[i].ID, u.ID, T0)
	}
	full := deadbolt.Errorf(deadbolt.CodeAdminLockout, "full")
	rule := func(admins []deadbolt.AdminFactors) error {
		strict := 0
		for _, a := range admins {
			for _, w := range a.Workgroups {
				if w.Policy.MinMethod == "phishing_resistant" {
					strict++
				}
			}
		}
		if strict >= limit {
			return full
		}
		return nil
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	saved := 0
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			err := s.SetWorkgroupPolicy(ctx, groups[i].ID, deadbolt.WorkgroupPolicy{Required: true, MinMethod: "phishing_resistant", UpdatedAt: T0}, rule)
			if err != nil && !errors.Is(err, full) {
				t.Errorf("policy %d: %v", i, err)
			}
			if err == nil {
				mu.Lock()
				saved++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if saved != limit {
		t.Errorf("policies saved at once = %d, want exactly %d", saved, limit)
	}
}
