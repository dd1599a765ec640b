// Package storetest is the contract suite every Deadbolt store must pass.
// A store's own test calls Run with a function that opens a fresh, empty,
// migrated store; the suite then checks the behaviour the services rely on,
// including the atomicity of counters and single-use consumptions under
// many goroutines.
package storetest

import (
	"context"
	"crypto/sha256"
	"strings"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

// Opener opens a fresh, empty, migrated store for one test. The suite closes
// it.
type Opener func(t *testing.T) deadbolt.Store

// Run runs the whole contract suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, deadbolt.Store)
	}{
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"SessionEpoch", testSessionEpoch},
		{"SetPassword", testSetPassword},
		{"Deactivate", testDeactivate},
		{"CounterWindow", testCounterWindow},
		{"CounterRace", testCounterRace},
		{"Events", testEvents},
		{"Settings", testSettings},
	}
	tests = append(tests, factorTests...)
	tests = append(tests, workgroupTests...)
	tests = append(tests, smsTests...)
	tests = append(tests, overviewTests...)
	tests = append(tests, completionTests...)
	tests = append(tests, gateTests...)
	tests = append(tests, settleTests...)
	tests = append(tests, changeTests...)
	tests = append(tests, appTests...)
	tests = append(tests, distinctTests...)
	tests = append(tests, oidcTests...)
	tests = append(tests, passkeyTests...)
	tests = append(tests, preferenceTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

// T0 is the time the suite's fixtures start at.
var T0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// NewUser inserts a user with login and returns it.
func NewUser(t *testing.T, s deadbolt.Store, login string) *deadbolt.User {
	t.Helper()
	u := &deadbolt.User{ID: deadbolt.NewID(), Login: login, Name: "Name " + login, Active: true,
		PasswordHash: "$argon2id$placeholder", CreatedAt: T0, UpdatedAt: T0}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%q) = %v", login, err)
	}
	return u
}

// NewSession inserts a session for u and returns it with its token hash.
func NewSession(t *testing.T, s deadbolt.Store, u *deadbolt.User, state deadbolt.SessionState) (*deadbolt.Session, []byte) {
	t.Helper()
	sess := &deadbolt.Session{ID: deadbolt.NewID(), UserID: u.ID, State: state, Epoch: u.SessionEpoch,
		CreatedAt: T0, LastSeenAt: T0, ExpiresAt: T0.Add(24 * time.Hour), AuthAt: T0, Method: "password",
		IP: "192.0.2.1", UserAgent: "test"}
	h := sha256.Sum256([]byte(sess.ID))
	if err := s.CreateSession(context.Background(), sess, h[:]); err != nil {
		t.Fatalf("CreateSession = %v", err)
	}
	return sess, h[:]
}

func wantCode(t *testing.T, what string, err error, code deadbolt.Code) {
	t.Helper()
	if got := deadbolt.ErrorCode(err); got != code {
		t.Fatalf("%s: error code = %q (%v), want %q", what, got, err, code)
	}
}

func testUsers(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	got, err := s.UserByLogin(ctx, "alice")
	if err != nil {
		t.Fatalf("UserByLogin = %v", err)
	}
	if got.ID != u.ID || got.Name != u.Name || !got.Active || got.Admin || !got.CreatedAt.Equal(T0) {
		t.Errorf("UserByLogin = %+v, want %+v", got, u)
	}
	if got.TwoFactorEnabled() || got.Phone != "" {
		t.Errorf("new user has 2FA or phone: %+v", got)
	}
	dup := &deadbolt.User{ID: deadbolt.NewID(), Login: "alice", PasswordHash: "x", Active: true, CreatedAt: T0, UpdatedAt: T0}
	wantCode(t, "CreateUser(duplicate login)", s.CreateUser(ctx, dup), deadbolt.CodeLoginTaken)
	_, err = s.UserByID(ctx, deadbolt.NewID())
	wantCode(t, "UserByID(unknown)", err, deadbolt.CodeNotFound)
	NewUser(t, s, "bob")
	list, err := s.ListUsers(ctx)
	if err != nil || len(list) != 2 || list[0].Login != "alice" || list[1].Login != "bob" {
		t.Errorf("ListUsers = %v, %v; want alice, bob", list, err)
	}
	if n, err := s.CountUsers(ctx); n != 2 || err != nil {
		t.Errorf("CountUsers = %d, %v; want 2", n, err)
	}
	if err := s.RehashPassword(ctx, u.ID, "$argon2id$placeholder", "$argon2id$new"); err != nil {
		t.Fatal(err)
	}
	if err := s.RehashPassword(ctx, u.ID, "$argon2id$placeholder", "$argon2id$other"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.UserByID(ctx, u.ID)
	if got.PasswordHash != "$argon2id$new" {
		t.Errorf("after RehashPassword hash = %q, want the first swap only", got.PasswordHash)
	}
}

func testSessions(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	sess, h := NewSession(t, s, u, deadbolt.SessionFull)
	got, gu, err := s.SessionByToken(ctx, h)
	if err != nil {
		t.Fatalf("SessionByToken = %v", err)
	}
	if got.ID != sess.ID || got.State != deadbolt.SessionFull || gu.ID != u.ID || !got.ExpiresAt.Equal(sess.ExpiresAt) || got.IP != "192.0.2.1" {
		t.Errorf("SessionByToken = %+v / %+v", got, gu)
	}
	_, _, err = s.SessionByToken(ctx, []byte("nope"))
	wantCode(t, "SessionByToken(unknown)", err, deadbolt.CodeNotFound)

	later := T0.Add(time.Minute)
	if err := s.TouchSession(ctx, sess.ID, later); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSessionAuth(ctx, sess.ID, later, []string{"pwd", "otp", "mfa"}); err != nil {
		t.Fatal(err)
	}
	got, _, _ = s.SessionByToken(ctx, h)
	if strings.Join(got.AMR, " ") != "pwd otp mfa" {
		t.Errorf("after SetSessionAuth: amr %v, want [pwd otp mfa]", got.AMR)
	}
	if !got.LastSeenAt.Equal(later) || !got.AuthAt.Equal(later) {
		t.Errorf("after touch: last seen %v auth %v, want %v", got.LastSeenAt, got.AuthAt, later)
	}

	other := NewUser(t, s, "bob")
	NewSession(t, s, other, deadbolt.SessionFull)
	s2, _ := NewSession(t, s, u, deadbolt.SessionFull)
	list, err := s.ListSessions(ctx, u.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListSessions = %d sessions, %v; want 2", len(list), err)
	}
	wantCode(t, "DeleteSession(other user's)", s.DeleteSession(ctx, other.ID, s2.ID), deadbolt.CodeNotFound)
	if err := s.DeleteSession(ctx, u.ID, s2.ID); err != nil {
		t.Fatalf("DeleteSession = %v", err)
	}
	wantCode(t, "DeleteSession(again)", s.DeleteSession(ctx, u.ID, s2.ID), deadbolt.CodeNotFound)

	n, err := s.DeleteExpiredSessions(ctx, T0.Add(25*time.Hour), T0)
	if err != nil || n != 2 {
		t.Errorf("DeleteExpiredSessions = %d, %v; want 2", n, err)
	}
}

func testSessionEpoch(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	_, h1 := NewSession(t, s, u, deadbolt.SessionFull)
	if _, err := s.EndAllSessions(ctx, u.ID, deadbolt.EndLogOutEverywhere, T0); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.SessionByToken(ctx, h1)
	wantCode(t, "SessionByToken after EndAllSessions", err, deadbolt.CodeNotFound)
	// A sign-in that read the old epoch before the logout and writes after
	// it must not produce a usable session.
	_, stale := NewSession(t, s, u, deadbolt.SessionFull)
	_, _, err = s.SessionByToken(ctx, stale)
	wantCode(t, "SessionByToken(stale epoch)", err, deadbolt.CodeNotFound)
	fresh, _ := s.UserByID(ctx, u.ID)
	if fresh.SessionEpoch != u.SessionEpoch+1 {
		t.Fatalf("epoch = %d, want %d", fresh.SessionEpoch, u.SessionEpoch+1)
	}
	_, h := NewSession(t, s, fresh, deadbolt.SessionFull)
	if _, _, err := s.SessionByToken(ctx, h); err != nil {
		t.Errorf("SessionByToken(current epoch) = %v", err)
	}
	if list, _ := s.ListSessions(ctx, u.ID); len(list) != 1 {
		t.Errorf("ListSessions shows %d sessions, want 1 (stale epoch hidden)", len(list))
	}
}

func testSetPassword(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	keep, hk := NewSession(t, s, u, deadbolt.SessionFull)
	_, ho := NewSession(t, s, u, deadbolt.SessionFull)
	if _, err := s.SetPassword(ctx, u.ID, "$argon2id$changed", keep.ID, deadbolt.EndPasswordChange, T0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionByToken(ctx, hk); err != nil {
		t.Errorf("kept session: %v", err)
	}
	_, _, err := s.SessionByToken(ctx, ho)
	wantCode(t, "other session after SetPassword", err, deadbolt.CodeNotFound)
	got, _ := s.UserByID(ctx, u.ID)
	if got.PasswordHash != "$argon2id$changed" {
		t.Errorf("hash = %q", got.PasswordHash)
	}
	_, err = s.SetPassword(ctx, deadbolt.NewID(), "x", "", deadbolt.EndPasswordChange, T0)
	wantCode(t, "SetPassword(unknown user)", err, deadbolt.CodeNotFound)
}

func testDeactivate(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	_, h := NewSession(t, s, u, deadbolt.SessionFull)
	if err := s.SetActive(ctx, u.ID, false, deadbolt.EndDeactivation, nil, T0); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.SessionByToken(ctx, h)
	wantCode(t, "session of deactivated user", err, deadbolt.CodeNotFound)
	got, _ := s.UserByID(ctx, u.ID)
	if got.Active {
		t.Error("user still active")
	}
	if err := s.SetActive(ctx, u.ID, true, deadbolt.EndDeactivation, nil, T0); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, u.ID); !got.Active {
		t.Error("user not reactivated")
	}
	wantCode(t, "SetActive(unknown)", s.SetActive(ctx, deadbolt.NewID(), false, deadbolt.EndDeactivation, nil, T0), deadbolt.CodeNotFound)
}

func testCounterWindow(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	c, err := s.Counter(ctx, "k")
	if err != nil || c.N != 0 {
		t.Fatalf("Counter(missing) = %+v, %v; want zero", c, err)
	}
	for i := 1; i <= 3; i++ {
		c, err = s.Hit(ctx, "k", T0.Add(time.Duration(i)*time.Minute), 15*time.Minute)
		if err != nil || c.N != int64(i) {
			t.Fatalf("Hit #%d = %+v, %v; want N=%d", i, c, err, i)
		}
	}
	if !c.First.Equal(T0.Add(time.Minute)) || !c.Last.Equal(T0.Add(3*time.Minute)) {
		t.Errorf("window = %v..%v", c.First, c.Last)
	}
	// The window started at +1m; at +16m it has passed: restart at 1.
	c, _ = s.Hit(ctx, "k", T0.Add(16*time.Minute), 15*time.Minute)
	if c.N != 1 || !c.First.Equal(T0.Add(16*time.Minute)) {
		t.Errorf("Hit after window = %+v, want N=1 from +16m", c)
	}
	// Without a window the count never restarts.
	for range 3 {
		c, _ = s.Hit(ctx, "streak", T0.Add(1000*time.Hour), 0)
	}
	if c.N != 3 {
		t.Errorf("streak = %d, want 3", c.N)
	}
	if err := s.ResetCounter(ctx, "streak"); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Counter(ctx, "streak"); c.N != 0 {
		t.Errorf("after reset N = %d", c.N)
	}
}

func testCounterRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	const n = 50
	var wg sync.WaitGroup
	seen := make([]bool, n+1)
	var mu sync.Mutex
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.Hit(ctx, "race", T0, 0)
			if err != nil {
				t.Errorf("Hit = %v", err)
				return
			}
			mu.Lock()
			if c.N < 1 || c.N > n || seen[c.N] {
				t.Errorf("Hit returned N=%d twice or out of range", c.N)
			} else {
				seen[c.N] = true
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if c, _ := s.Counter(ctx, "race"); c.N != n {
		t.Errorf("after %d parallel hits N = %d", n, c.N)
	}
}

func testEvents(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	for i, typ := range []string{"signin.success", "signin.failure", "logout"} {
		e := &deadbolt.Event{Type: typ, At: T0.Add(time.Duration(i) * time.Second), UserID: "u1", IP: "192.0.2.1",
			Detail: map[string]string{"method": "password"}}
		if err := s.AppendEvent(ctx, e); err != nil || e.ID == "" {
			t.Fatalf("AppendEvent = %v, id %q", err, e.ID)
		}
	}
	if err := s.AppendEvent(ctx, &deadbolt.Event{Type: "admin.user_created", At: T0, UserID: "u2", ActorID: "u1"}); err != nil {
		t.Fatal(err)
	}
	all, err := s.Events(ctx, deadbolt.EventFilter{UserID: "u1"})
	if err != nil || len(all) != 3 {
		t.Fatalf("Events(u1) = %d, %v; want 3", len(all), err)
	}
	if all[0].Type != "logout" || all[2].Type != "signin.success" || all[0].Detail["method"] != "password" {
		t.Errorf("Events order/detail wrong: %+v", all[0])
	}
	page, _ := s.Events(ctx, deadbolt.EventFilter{UserID: "u1", BeforeID: all[0].ID, Limit: 1})
	if len(page) != 1 || page[0].ID != all[1].ID {
		t.Errorf("paging = %+v", page)
	}
	typed, _ := s.Events(ctx, deadbolt.EventFilter{Type: "signin.failure"})
	if len(typed) != 1 {
		t.Errorf("Events(type) = %d, want 1", len(typed))
	}
	ranged, _ := s.Events(ctx, deadbolt.EventFilter{Since: T0.Add(time.Second), Until: T0.Add(2 * time.Second)})
	if len(ranged) != 1 || ranged[0].Type != "signin.failure" {
		t.Errorf("Events(range) = %+v", ranged)
	}
}

func testSettings(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	_, err := s.Setting(ctx, "vapid")
	wantCode(t, "Setting(missing)", err, deadbolt.CodeNotFound)
	v, err := s.SetSettingIfAbsent(ctx, "vapid", "first")
	if err != nil || v != "first" {
		t.Fatalf("SetSettingIfAbsent = %q, %v", v, err)
	}
	v, _ = s.SetSettingIfAbsent(ctx, "vapid", "second")
	if v != "first" {
		t.Errorf("second SetSettingIfAbsent = %q, want first", v)
	}
	if v, _ := s.Setting(ctx, "vapid"); v != "first" {
		t.Errorf("Setting = %q", v)
	}
}
