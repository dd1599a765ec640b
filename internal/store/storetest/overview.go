package storetest

import (
	"context"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

var overviewTests = []struct {
	name string
	fn   func(*testing.T, deadbolt.Store)
}{
	{"FactorOverview", testFactorOverview},
	{"FactorState", testFactorState},
}

func testFactorOverview(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	o, err := s.FactorOverview(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if o.Device != nil || o.RecoveryCodesLeft != 0 || len(o.Policies) != 0 || len(o.Dismissals) != 0 {
		t.Fatalf("FactorOverview(new user) = %+v, want empty", o)
	}
	d := newDevice(t, s, u, "tok")
	ConfirmDevice(t, s, u.ID, d.ID, T0)
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("a"), hash("b"), hash("c")}, T0)
	useRecoveryCode(t, s, u, hash("a"))
	deadline := T0.Add(72 * time.Hour)
	for i, name := range []string{"Ops", "Eng"} {
		w := &deadbolt.Workgroup{ID: deadbolt.NewID(), Name: name, CreatedAt: T0}
		if err := s.CreateWorkgroup(ctx, w); err != nil {
			t.Fatal(err)
		}
		p := deadbolt.WorkgroupPolicy{Required: i == 0, Deadline: deadline, AfterDeadline: "block", UpdatedAt: T0}
		if i == 1 {
			p = deadbolt.WorkgroupPolicy{Paused: true, PausedUntil: T0.Add(time.Hour)}
		}
		if err := s.SetWorkgroupPolicy(ctx, w.ID, p, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddWorkgroupMember(ctx, w.ID, u.ID, T0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetBannerDismissed(ctx, u.ID, "two_factor_required", T0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	other := NewUser(t, s, "bob")
	s.SetBannerDismissed(ctx, other.ID, "confirm_device", T0)

	o, err = s.FactorOverview(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if o.Device == nil || o.Device.ID != d.ID || !o.Device.Trusted() || string(o.Device.TOTPSecretSealed) != "\x04\x05\x06" {
		t.Errorf("overview device = %+v, want the trusted device", o.Device)
	}
	if o.RecoveryCodesLeft != 2 {
		t.Errorf("overview codes left = %d, want 2", o.RecoveryCodesLeft)
	}
	if len(o.Policies) != 2 {
		t.Fatalf("overview policies = %+v, want 2", o.Policies)
	}
	var required, paused *deadbolt.WorkgroupPolicy
	for i := range o.Policies {
		if o.Policies[i].Required {
			required = &o.Policies[i]
		} else {
			paused = &o.Policies[i]
		}
	}
	if required == nil || !required.Deadline.Equal(deadline) || required.AfterDeadline != "block" || !required.UpdatedAt.Equal(T0) {
		t.Errorf("required policy = %+v", required)
	}
	if paused == nil || !paused.Paused || !paused.PausedUntil.Equal(T0.Add(time.Hour)) || !paused.Deadline.IsZero() {
		t.Errorf("paused policy = %+v", paused)
	}
	if len(o.Dismissals) != 1 || !o.Dismissals["two_factor_required"].Equal(T0.Add(time.Minute)) {
		t.Errorf("overview dismissals = %v", o.Dismissals)
	}
	s.EndAllSessions(ctx, u.ID, deadbolt.EndLogOutEverywhere, T0.Add(2*time.Minute))
	if o, _ := s.FactorOverview(ctx, u.ID); o.Device != nil {
		t.Errorf("overview shows a disconnected device: %+v", o.Device)
	}
}

func testFactorState(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	st, err := s.FactorState(ctx, u.ID, "sf:"+u.ID, "rc:"+u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Device != nil || st.RecoveryCodesLeft != 0 || st.Failures.N != 0 || st.Streak.N != 0 {
		t.Fatalf("FactorState(new user) = %+v, want empty", st)
	}
	d := newDevice(t, s, u, "tok")
	ConfirmDevice(t, s, u.ID, d.ID, T0)
	s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("a"), hash("b")}, T0)
	for i := range 3 {
		s.Hit(ctx, "sf:"+u.ID, T0.Add(time.Duration(i)*time.Second), 0)
	}
	s.Hit(ctx, "rc:"+u.ID, T0, 0)
	s.Hit(ctx, "sf:someone-else", T0, 0)
	st, err = s.FactorState(ctx, u.ID, "sf:"+u.ID, "rc:"+u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Device == nil || st.Device.ID != d.ID || string(st.Device.TOTPSecretSealed) != "\x04\x05\x06" {
		t.Errorf("device = %+v", st.Device)
	}
	if st.RecoveryCodesLeft != 2 || st.Failures.N != 3 || !st.Failures.Last.Equal(T0.Add(2*time.Second)) ||
		!st.Failures.First.Equal(T0) || st.Streak.N != 1 {
		t.Errorf("FactorState = %+v", st)
	}
	if len(st.Policies) != 0 {
		t.Errorf("FactorState policies of an employee in no workgroup = %+v", st.Policies)
	}

	// The policies of the employee's workgroups, as the overview reads them,
	// come with every read of the state the sign-in rules decide from.
	w := &deadbolt.Workgroup{ID: deadbolt.NewID(), Name: "Ops", CreatedAt: T0}
	if err := s.CreateWorkgroup(ctx, w); err != nil {
		t.Fatal(err)
	}
	p := deadbolt.WorkgroupPolicy{Required: true, Deadline: T0.Add(time.Hour), AfterDeadline: "block", MinMethod: "phishing_resistant", UpdatedAt: T0}
	if err := s.SetWorkgroupPolicy(ctx, w.ID, p, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddWorkgroupMember(ctx, w.ID, u.ID, T0); err != nil {
		t.Fatal(err)
	}
	check := func(what string, ps []deadbolt.WorkgroupPolicy) {
		t.Helper()
		if len(ps) != 1 || !ps[0].Required || ps[0].MinMethod != "phishing_resistant" || !ps[0].Deadline.Equal(T0.Add(time.Hour)) || ps[0].AfterDeadline != "block" {
			t.Errorf("%s policies = %+v, want the Ops policy", what, ps)
		}
	}
	st, err = s.FactorState(ctx, u.ID, "sf:"+u.ID, "rc:"+u.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("FactorState", st.Policies)
	if st, err = s.FactorAttempt(ctx, u.ID, "sf:"+u.ID, "rc:"+u.ID, false, T0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	check("FactorAttempt", st.Policies)
	var seen []deadbolt.WorkgroupPolicy
	s.SettleAttempt(ctx, u.ID, "sf:"+u.ID, "rc:"+u.ID, false, T0.Add(time.Minute), func(st *deadbolt.FactorState) (*deadbolt.Settlement, error) {
		seen = st.Policies
		return nil, nil
	})
	check("SettleAttempt", seen)
}
