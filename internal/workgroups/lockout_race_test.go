package workgroups_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/accounts"
	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/passkey"
	"deadbolt/internal/password"
	"deadbolt/internal/policy"
	"deadbolt/internal/store/postgres"
	"deadbolt/internal/store/postgres/pgtest"
	"deadbolt/internal/store/sqlite"
	"deadbolt/internal/store/storetest"
	"deadbolt/internal/workgroups"
)

// The refusal to leave no administrator able to sign in is decided in the
// same transaction as the change it judges, on both stores: changes made
// at once cannot each pass on the others' old state.

var raceT0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func raceStores(t *testing.T, f func(t *testing.T, st deadbolt.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "race.db"), true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		f(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		f(t, st)
	})
}

type raceRig struct {
	st    deadbolt.Store
	svc   *workgroups.Service
	pk    *passkey.Service
	clock *deadbolt.FixedClock
}

func newRaceRig(t *testing.T, st deadbolt.Store) *raceRig {
	t.Helper()
	clock := deadbolt.NewFixedClock(raceT0)
	aud := audit.New(st, clock, slog.New(slog.DiscardHandler))
	svc, err := workgroups.New(st, aud, clock, policy.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := url.Parse("http://localhost:8080")
	pk, err := passkey.New(st, aud, clock, passkey.Config{PublicURL: pub})
	if err != nil {
		t.Fatal(err)
	}
	svc.PasskeysAvailable = pk.Available
	pk.RemovalRule = svc.PasskeyRemovalRule
	return &raceRig{st: st, svc: svc, pk: pk, clock: clock}
}

// admin creates an active administrator in a new workgroup of their own
// (or in w when given), whose deadline has passed.
func (r *raceRig) admin(t *testing.T, login string, w *deadbolt.Workgroup) (*deadbolt.User, *deadbolt.Workgroup) {
	t.Helper()
	ctx := context.Background()
	u := &deadbolt.User{ID: deadbolt.NewID(), Login: login, Name: login, Admin: true, Active: true,
		PasswordHash: "x", CreatedAt: raceT0, UpdatedAt: raceT0}
	if err := r.st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if w == nil {
		w = &deadbolt.Workgroup{ID: deadbolt.NewID(), Name: "wg-" + login, CreatedAt: raceT0,
			Policy: deadbolt.WorkgroupPolicy{Required: true, Deadline: raceT0.Add(-time.Hour), MinMethod: "any"}}
		if err := r.st.CreateWorkgroup(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.st.AddWorkgroupMember(ctx, w.ID, u.ID, raceT0); err != nil {
		t.Fatal(err)
	}
	return u, w
}

// phishingResistant is an overdue policy only passkeys satisfy.
var phishingResistant = policy.Policy{Required: true, Deadline: raceT0.Add(-time.Hour), MinMethod: policy.MinPhishingResistant}

// parallel runs f(i) for i in [0,n) at once and returns the error codes
// by i.
func parallel(n int, f func(i int) error) []deadbolt.Code {
	out := make([]deadbolt.Code, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = deadbolt.ErrorCode(f(i))
		})
	}
	close(start)
	wg.Wait()
	return out
}

// TestLockoutPoliciesAtOnce: 50 administrators without a passkey, each in
// a workgroup of their own past its deadline; 50 administrators at once
// each demand passkeys of one of those workgroups. Each change alone
// leaves others able to sign in, all of them together nobody: exactly 49
// are saved and one is refused.
func TestLockoutPoliciesAtOnce(t *testing.T) {
	raceStores(t, func(t *testing.T, st deadbolt.Store) {
		r := newRaceRig(t, st)
		ctx := context.Background()
		const n = 50
		admins := make([]*deadbolt.User, n)
		groups := make([]*deadbolt.Workgroup, n)
		for i := range n {
			admins[i], groups[i] = r.admin(t, fmt.Sprintf("admin-%02d", i), nil)
		}
		got := parallel(n, func(i int) error {
			_, err := r.svc.SetPolicy(ctx, accounts.Actor{User: admins[i]}, groups[i].ID, phishingResistant)
			return err
		})
		tally := map[deadbolt.Code]int{}
		for _, c := range got {
			tally[c]++
		}
		if tally[""] != n-1 || tally[deadbolt.CodeAdminLockout] != 1 {
			t.Errorf("50 policies at once: %v, want 49 saved and 1 admin_lockout", tally)
		}
		saved := 0
		for _, g := range groups {
			w, err := st.Workgroup(ctx, g.ID)
			if err != nil {
				t.Fatal(err)
			}
			if w.Policy.MinMethod == string(policy.MinPhishingResistant) {
				saved++
			}
		}
		if saved != n-1 {
			t.Errorf("workgroups demanding passkeys = %d, want %d: one administrator must be left able to sign in", saved, n-1)
		}
	})
}

// TestLockoutPasskeyRemovalAtOnce: two administrators in one workgroup
// past its deadline, only one of them with a passkey. While 49 requests
// demand passkeys of the workgroup, that administrator removes the
// passkey: either the removal comes first and every demand is refused, or
// a demand comes first and the removal is refused — never both. Three
// rounds, each with a new pair as the only active administrators.
func TestLockoutPasskeyRemovalAtOnce(t *testing.T) {
	raceStores(t, func(t *testing.T, st deadbolt.Store) {
		r := newRaceRig(t, st)
		ctx := context.Background()
		for round := range 3 {
			holder, w := r.admin(t, fmt.Sprintf("holder-%d", round), nil)
			other, _ := r.admin(t, fmt.Sprintf("other-%d", round), w)
			key := storetest.NewPasskey(holder, fmt.Sprintf("cred-%d", round))
			if _, err := st.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: holder.ID, Now: raceT0, AddPasskey: key, MaxPasskeys: 10}); err != nil {
				t.Fatal(err)
			}
			got := parallel(50, func(i int) error {
				if i == 25 {
					return r.pk.Remove(ctx, holder, key.ID, "")
				}
				_, err := r.svc.SetPolicy(ctx, accounts.Actor{User: other}, w.ID, phishingResistant)
				return err
			})
			removed := got[25] == ""
			saved := 0
			for i, c := range got {
				if i != 25 && c == "" {
					saved++
				}
			}
			switch {
			case removed && saved > 0:
				t.Errorf("round %d: the passkey was removed and %d policies demanding passkeys were saved: nobody could sign in", round, saved)
			case !removed && (got[25] != deadbolt.CodeAdminLockout || saved == 0):
				t.Errorf("round %d: removal = %q with %d policies saved, want admin_lockout after at least one", round, got[25], saved)
			}
			for i, c := range got {
				if i != 25 && c != "" && c != deadbolt.CodeAdminLockout {
					t.Errorf("round %d: policy %d = %q", round, i, c)
				}
			}
			// The next round's pair are the only active administrators.
			for _, u := range []*deadbolt.User{holder, other} {
				if err := st.SetActive(ctx, u.ID, false, deadbolt.EndDeactivation, nil, raceT0); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// TestLockoutResetAndDeactivation: under an overdue policy that demands
// passkeys, the last administrator with a passkey can be neither reset
// nor deactivated; once another has one, both work. Two such
// administrators deactivated at once (25 requests each): one stays.
func TestLockoutResetAndDeactivation(t *testing.T) {
	raceStores(t, func(t *testing.T, st deadbolt.Store) {
		r := newRaceRig(t, st)
		ctx := context.Background()
		accts := accounts.New(st, password.New(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2),
			audit.New(st, r.clock, slog.New(slog.DiscardHandler)), r.clock, nil)
		accts.Lockout = r.svc
		boss, w := r.admin(t, "boss", nil)
		holder, _ := r.admin(t, "holder", w)
		withKey := func(u *deadbolt.User, cred string) {
			if _, err := st.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: u.ID, Now: raceT0,
				AddPasskey: storetest.NewPasskey(u, cred), MaxPasskeys: 10}); err != nil {
				t.Fatal(err)
			}
		}
		withKey(holder, "holder-key")
		if _, err := r.svc.SetPolicy(ctx, accounts.Actor{User: boss}, w.ID, phishingResistant); err != nil {
			t.Fatal(err)
		}
		actor := accounts.Actor{User: boss}
		if err := accts.ResetTwoFactor(ctx, actor, holder.ID); deadbolt.ErrorCode(err) != deadbolt.CodeAdminLockout {
			t.Errorf("resetting the last passkey administrator = %v, want admin_lockout", err)
		}
		if keys, _ := st.Passkeys(ctx, holder.ID); len(keys) != 1 {
			t.Errorf("a refused reset left %d passkeys", len(keys))
		}
		if _, err := accts.SetActive(ctx, actor, holder.ID, false); deadbolt.ErrorCode(err) != deadbolt.CodeAdminLockout {
			t.Errorf("deactivating the last passkey administrator = %v, want admin_lockout", err)
		}
		if u, _ := st.UserByID(ctx, holder.ID); !u.Active {
			t.Error("a refused deactivation deactivated")
		}

		// A second administrator with a passkey: either may go, not both.
		second, _ := r.admin(t, "second", w)
		withKey(second, "second-key")
		got := parallel(50, func(i int) error {
			target := holder
			if i%2 == 1 {
				target = second
			}
			_, err := accts.SetActive(ctx, actor, target.ID, false)
			return err
		})
		for i, c := range got {
			if c != "" && c != deadbolt.CodeAdminLockout {
				t.Errorf("deactivation %d = %q", i, c)
			}
		}
		active := 0
		for _, u := range []*deadbolt.User{holder, second} {
			if u, _ := st.UserByID(ctx, u.ID); u.Active {
				active++
			}
		}
		if active != 1 {
			t.Errorf("after deactivating both at once, %d of the two passkey administrators are active, want 1", active)
		}
		// The one left: a reset is refused, and allowed once boss has a
		// passkey too.
		left := holder
		if u, _ := st.UserByID(ctx, holder.ID); !u.Active {
			left = second
		}
		if err := accts.ResetTwoFactor(ctx, actor, left.ID); deadbolt.ErrorCode(err) != deadbolt.CodeAdminLockout {
			t.Errorf("resetting the one left = %v, want admin_lockout", err)
		}
		withKey(boss, "boss-key")
		if err := accts.ResetTwoFactor(ctx, actor, left.ID); err != nil {
			t.Errorf("resetting once boss has a passkey = %v", err)
		}
	})
}
