package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

var changeTests = []struct {
	name string
	fn   func(*testing.T, deadbolt.Store)
}{
	{"ChangeFeedPublishes", testChangeFeedPublishes},
	{"ChangeFeedQuiet", testChangeFeedQuiet},
	{"ChangeFeedRace", testChangeFeedRace},
	{"ChangeFeedApps", testChangeFeedApps},
	{"TouchSessions", testTouchSessions},
}

// Recorder is a ChangeListener that remembers what it was told. It is safe
// for concurrent use.
type Recorder struct {
	mu    sync.Mutex
	users map[string]int
	apps  int
	up    bool
	downs int
	ups   int
	until time.Time
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{users: map[string]int{}} }

// UserChanged counts userID.
func (r *Recorder) UserChanged(userID string) {
	r.mu.Lock()
	r.users[userID]++
	r.mu.Unlock()
}

// AppsChanged counts an applications change.
func (r *Recorder) AppsChanged() {
	r.mu.Lock()
	r.apps++
	r.mu.Unlock()
}

// FeedDown records that the feed is down.
func (r *Recorder) FeedDown(error) {
	r.mu.Lock()
	r.up = false
	r.downs++
	r.mu.Unlock()
}

// FeedUp records that the feed is up.
func (r *Recorder) FeedUp(until time.Time) {
	r.mu.Lock()
	r.up = true
	r.ups++
	r.until = until
	r.mu.Unlock()
}

// Changed reports how many times userID was announced.
func (r *Recorder) Changed(userID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.users[userID]
}

// Apps reports how many applications changes were announced.
func (r *Recorder) Apps() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.apps
}

// Up reports whether the feed is up and vouches for now, and how many
// times it went down and up.
func (r *Recorder) Up() (up bool, downs, ups int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.up && time.Now().Before(r.until), r.downs, r.ups
}

// WaitUp waits until the feed vouches for itself; it fails t after a
// generous while.
func (r *Recorder) WaitUp(t testing.TB) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if up, _, _ := r.Up(); up {
			return
		}
	}
	t.Fatal("the change feed did not come up")
}

// watch starts a recorder on s for the rest of the test.
func watch(t *testing.T, s deadbolt.Store) *Recorder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := NewRecorder()
	if err := s.WatchChanges(ctx, r); err != nil {
		t.Fatalf("WatchChanges = %v", err)
	}
	r.WaitUp(t)
	return r
}

// testChangeFeedPublishes checks that every store method that ends or
// alters a session, an account or a membership announces the user before
// it returns — the node that ends a session must have forgotten it before
// it answers. Each step uses an employee of its own.
func testChangeFeedPublishes(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	r := watch(t, s)
	wg := NewWorkgroup(t, s, "Ops")
	steps := []struct {
		name string
		do   func(u *deadbolt.User, sess *deadbolt.Session) error
	}{
		{"DeleteSession", func(u *deadbolt.User, sess *deadbolt.Session) error {
			return s.DeleteSession(ctx, u.ID, sess.ID)
		}},
		{"DeleteSession any user", func(u *deadbolt.User, sess *deadbolt.Session) error {
			return s.DeleteSession(ctx, "", sess.ID)
		}},
		{"SetPassword", func(u *deadbolt.User, sess *deadbolt.Session) error {
			_, err := s.SetPassword(ctx, u.ID, "$argon2id$other", "", deadbolt.EndPasswordChange, T0)
			return err
		}},
		{"SetPassword keeping this session", func(u *deadbolt.User, sess *deadbolt.Session) error {
			_, err := s.SetPassword(ctx, u.ID, "$argon2id$other", sess.ID, deadbolt.EndPasswordChange, T0)
			return err
		}},
		{"EndAllSessions", func(u *deadbolt.User, sess *deadbolt.Session) error {
			_, err := s.EndAllSessions(ctx, u.ID, deadbolt.EndLogOutEverywhere, T0)
			return err
		}},
		{"EndAllSessions keeping the device", func(u *deadbolt.User, sess *deadbolt.Session) error {
			_, err := s.EndAllSessions(ctx, u.ID, deadbolt.EndByAdministrator, T0)
			return err
		}},
		{"SetActive false", func(u *deadbolt.User, sess *deadbolt.Session) error {
			return s.SetActive(ctx, u.ID, false, deadbolt.EndDeactivation, nil, T0)
		}},
		{"ChangeFactors reset", func(u *deadbolt.User, sess *deadbolt.Session) error {
			_, err := s.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: u.ID, Now: T0, TwoFactor: deadbolt.TwoFactorOff,
				Disconnect: deadbolt.DisconnectAll, DeleteRecoveryCodes: true, EndSessions: true})
			return err
		}},
		{"ChangeFactors without ending sessions", func(u *deadbolt.User, sess *deadbolt.Session) error {
			_, err := s.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: u.ID, Now: T0, Disconnect: deadbolt.DisconnectAll})
			return err
		}},
		{"SetSessionAuth", func(u *deadbolt.User, sess *deadbolt.Session) error {
			return s.SetSessionAuth(ctx, sess.ID, T0.Add(time.Minute), []string{"pwd"})
		}},
		{"DeleteExpiredSessions", func(u *deadbolt.User, sess *deadbolt.Session) error {
			_, err := s.DeleteExpiredSessions(ctx, T0.Add(25*time.Hour), T0)
			return err
		}},
		{"CompleteSecondFactor reauth", func(u *deadbolt.User, sess *deadbolt.Session) error {
			ok, err := s.CompleteSecondFactor(ctx, &deadbolt.Completion{UserID: u.ID, TOTPStep: 7, Now: T0,
				AuthSessionID: sess.ID, AuthAt: T0.Add(time.Minute)})
			if err == nil && !ok {
				err = fmt.Errorf("not completed")
			}
			return err
		}},
		{"ChangeFactors TOTP step", func(u *deadbolt.User, sess *deadbolt.Session) error {
			_, err := s.ChangeFactors(ctx, &deadbolt.FactorChange{UserID: u.ID, Now: T0, TOTPStep: 9})
			return err
		}},
		{"AddWorkgroupMember", func(u *deadbolt.User, sess *deadbolt.Session) error {
			_, err := s.AddWorkgroupMember(ctx, wg.ID, u.ID, T0)
			return err
		}},
		{"SetExemptUntil", func(u *deadbolt.User, sess *deadbolt.Session) error {
			return s.SetExemptUntil(ctx, u.ID, T0.Add(time.Hour))
		}},
	}
	for i, st := range steps {
		u := NewUser(t, s, fmt.Sprintf("feed%d", i))
		sess, _ := NewSession(t, s, u, deadbolt.SessionFull)
		if r.Changed(u.ID) != 0 {
			t.Fatalf("%s: creating a user and a session announced a change", st.name)
		}
		if err := st.do(u, sess); err != nil {
			t.Fatalf("%s = %v", st.name, err)
		}
		if r.Changed(u.ID) == 0 {
			t.Errorf("%s: the change feed had not announced %s when the call returned", st.name, u.Login)
		}
	}

	// Memberships: removing one, renaming and deleting the workgroup tell
	// each member.
	members := []*deadbolt.User{NewUser(t, s, "member1"), NewUser(t, s, "member2")}
	for _, m := range members {
		if _, err := s.AddWorkgroupMember(ctx, wg.ID, m.ID, T0); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		name string
		do   func() error
	}{
		{"RenameWorkgroup", func() error { return s.RenameWorkgroup(ctx, wg.ID, "Operations") }},
		{"DeleteWorkgroup", func() error { return s.DeleteWorkgroup(ctx, wg.ID) }},
	} {
		before := []int{r.Changed(members[0].ID), r.Changed(members[1].ID)}
		if err := step.do(); err != nil {
			t.Fatalf("%s = %v", step.name, err)
		}
		for i, m := range members {
			if r.Changed(m.ID) == before[i] {
				t.Errorf("%s: member %s not announced", step.name, m.Login)
			}
		}
	}
	other := NewWorkgroup(t, s, "Other")
	m := NewUser(t, s, "leaver")
	s.AddWorkgroupMember(ctx, other.ID, m.ID, T0)
	before := r.Changed(m.ID)
	if err := s.RemoveWorkgroupMember(ctx, other.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	if r.Changed(m.ID) == before {
		t.Error("RemoveWorkgroupMember: member not announced")
	}
}

// testChangeFeedQuiet checks what the feed does not announce: new
// sessions, idle-time updates, and writes that change nothing.
func testChangeFeedQuiet(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	r := watch(t, s)
	u := NewUser(t, s, "quiet")
	sess, _ := NewSession(t, s, u, deadbolt.SessionFull)
	NewSession(t, s, u, deadbolt.SessionFull)
	if err := s.TouchSession(ctx, sess.ID, T0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchSessions(ctx, []deadbolt.SessionTouch{{SessionID: sess.ID, At: T0.Add(2 * time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "DeleteSession(unknown)", s.DeleteSession(ctx, u.ID, deadbolt.NewID()), deadbolt.CodeNotFound)
	if _, err := s.Hit(ctx, "pw:"+u.ID, T0, 0); err != nil {
		t.Fatal(err)
	}
	if n := r.Changed(u.ID); n != 0 {
		t.Errorf("new sessions, idle-time updates and a missed delete announced %s %d times, want 0", u.Login, n)
	}

	// A pending session is never kept by a cache (authz): its end — the
	// sign-in that replaces it, a logout, an idle-time update — is not
	// announced; the full session ending after it is.
	pending, _ := NewSession(t, s, u, deadbolt.SessionPending)
	if err := s.TouchSession(ctx, pending.ID, T0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CompleteSecondFactor(ctx, completion(u, pending, 0)); !ok || err != nil {
		t.Fatalf("CompleteSecondFactor = %v, %v", ok, err)
	}
	other, _ := NewSession(t, s, u, deadbolt.SessionPending)
	if err := s.DeleteSession(ctx, u.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	if n := r.Changed(u.ID); n != 0 {
		t.Errorf("the ends of pending sessions announced %s %d times, want 0", u.Login, n)
	}
	if err := s.DeleteSession(ctx, u.ID, sess.ID); err != nil {
		t.Fatal(err)
	}
	if r.Changed(u.ID) == 0 {
		t.Error("ending a full session after them was not announced")
	}
}

// testChangeFeedRace ends the sessions of 50 employees at once: each
// call must find its employee announced when it returns, however the
// store groups the writes.
func testChangeFeedRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	r := watch(t, s)
	const n = 50
	users := make([]*deadbolt.User, n)
	for i := range users {
		users[i] = NewUser(t, s, fmt.Sprintf("race%02d", i))
		NewSession(t, s, users[i], deadbolt.SessionFull)
	}
	var wg sync.WaitGroup
	missed := make(chan string, n)
	for i := range n {
		wg.Go(func() {
			u := users[i]
			var err error
			switch i % 3 {
			case 0:
				_, err = s.EndAllSessions(ctx, u.ID, deadbolt.EndLogOutEverywhere, T0)
			case 1:
				err = s.SetActive(ctx, u.ID, false, deadbolt.EndDeactivation, nil, T0)
			default:
				_, err = s.SetPassword(ctx, u.ID, "$argon2id$x", "", deadbolt.EndPasswordChange, T0)
			}
			if err != nil {
				missed <- fmt.Sprintf("%s: %v", u.Login, err)
			} else if r.Changed(u.ID) == 0 {
				missed <- u.Login + " not announced when its call returned"
			}
		})
	}
	wg.Wait()
	close(missed)
	for m := range missed {
		t.Error(m)
	}
}

func testTouchSessions(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "toucher")
	a, ha := NewSession(t, s, u, deadbolt.SessionFull)
	b, hb := NewSession(t, s, u, deadbolt.SessionFull)
	if err := s.TouchSessions(ctx, nil); err != nil {
		t.Fatalf("TouchSessions(none) = %v", err)
	}
	err := s.TouchSessions(ctx, []deadbolt.SessionTouch{
		{SessionID: a.ID, At: T0.Add(5 * time.Minute)},
		{SessionID: b.ID, At: T0.Add(-time.Minute)}, // never backwards
		{SessionID: deadbolt.NewID(), At: T0.Add(time.Minute)},
	})
	if err != nil {
		t.Fatalf("TouchSessions = %v", err)
	}
	for _, c := range []struct {
		h    []byte
		want time.Time
	}{{ha, T0.Add(5 * time.Minute)}, {hb, T0}} {
		got, _, err := s.SessionByToken(ctx, c.h)
		if err != nil {
			t.Fatal(err)
		}
		if !got.LastSeenAt.Equal(c.want) {
			t.Errorf("session %s last seen %v, want %v", got.ID, got.LastSeenAt, c.want)
		}
	}
}

// testChangeFeedApps: creating, changing and deleting an application is
// announced before the call returns.
func testChangeFeedApps(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	r := watch(t, s)
	wg := NewWorkgroup(t, s, "Ops")
	n := r.Apps()
	a := &deadbolt.Application{ID: deadbolt.NewID(), Name: "grafana", Kind: deadbolt.AppProxy,
		Domains: []string{"grafana.example.com"}, CreatedAt: T0, UpdatedAt: T0}
	steps := []struct {
		name string
		do   func() error
	}{
		{"CreateApplication", func() error { return s.CreateApplication(ctx, a) }},
		{"UpdateApplication", func() error {
			a.Workgroups = []string{wg.ID}
			a.Domains = []string{"grafana.example.com", "*.grafana.example.com"}
			return s.UpdateApplication(ctx, a)
		}},
		{"DeleteApplication", func() error { return s.DeleteApplication(ctx, a.ID) }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s = %v", st.name, err)
		}
		if r.Apps() == n {
			t.Errorf("%s: not announced when the call returned", st.name)
		}
		n = r.Apps()
	}
}
