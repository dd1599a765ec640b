package storetest

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

// appTests are the contract tests of ApplicationStore, the employee
// profile and the sessions' method references.
var appTests = []struct {
	name string
	fn   func(*testing.T, deadbolt.Store)
}{
	{"Applications", testApplications},
	{"ApplicationWorkgroups", testApplicationWorkgroups},
	{"ApplicationNameRace", testApplicationNameRace},
	{"UserProfile", testUserProfile},
	{"SessionAMR", testSessionAMR},
}

// NewApp inserts an OIDC application named name and returns it.
func NewApp(t *testing.T, s deadbolt.Store, name string, workgroups ...string) *deadbolt.Application {
	t.Helper()
	a := &deadbolt.Application{ID: deadbolt.NewID(), Name: name, Kind: deadbolt.AppOIDC, ClientID: deadbolt.NewID(),
		SecretHash: []byte("hash-" + name), SecretSetAt: T0, RedirectURIs: []string{"https://" + name + ".example.com/cb"},
		Workgroups: workgroups, CreatedAt: T0, UpdatedAt: T0}
	if err := s.CreateApplication(context.Background(), a); err != nil {
		t.Fatalf("CreateApplication(%q) = %v", name, err)
	}
	return a
}

func testApplications(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	if list, err := s.ListApplications(ctx); err != nil || list == nil || len(list) != 0 {
		t.Fatalf("ListApplications(empty) = %v, %v; want an empty, non-nil list", list, err)
	}
	wiki := &deadbolt.Application{ID: deadbolt.NewID(), Name: "Wiki", Kind: deadbolt.AppOIDC, ClientID: deadbolt.NewID(),
		SecretHash: []byte{1, 2, 3}, SecretSetAt: T0, RedirectURIs: []string{"https://wiki.example.com/cb", "http://127.0.0.1:8765/cb"},
		PostLogoutRedirectURIs: []string{"https://wiki.example.com/"}, BackchannelLogoutURI: "https://wiki.example.com/bcl",
		Require2FA: true, CreatedAt: T0, UpdatedAt: T0}
	if err := s.CreateApplication(ctx, wiki); err != nil {
		t.Fatalf("CreateApplication = %v", err)
	}
	proxy := &deadbolt.Application{ID: deadbolt.NewID(), Name: "grafana", Kind: deadbolt.AppProxy,
		Domains: []string{"grafana.example.com", "*.dash.example.com/public"}, CreatedAt: T0, UpdatedAt: T0}
	if err := s.CreateApplication(ctx, proxy); err != nil {
		t.Fatalf("CreateApplication(proxy) = %v", err)
	}
	got, err := s.Application(ctx, wiki.ID)
	if err != nil {
		t.Fatalf("Application = %v", err)
	}
	if got.Name != "Wiki" || got.Kind != deadbolt.AppOIDC || got.ClientID != wiki.ClientID || !slices.Equal(got.SecretHash, []byte{1, 2, 3}) ||
		!slices.Equal(got.RedirectURIs, wiki.RedirectURIs) || !slices.Equal(got.PostLogoutRedirectURIs, wiki.PostLogoutRedirectURIs) ||
		got.BackchannelLogoutURI != wiki.BackchannelLogoutURI || !got.Require2FA || got.Public ||
		!got.CreatedAt.Equal(T0) || !got.SecretSetAt.Equal(T0) || len(got.Workgroups) != 0 || len(got.Domains) != 0 {
		t.Errorf("Application = %+v, want %+v", got, wiki)
	}
	byClient, err := s.ApplicationByClientID(ctx, wiki.ClientID)
	if err != nil || byClient.ID != wiki.ID {
		t.Errorf("ApplicationByClientID = %v, %v; want %s", byClient, err, wiki.ID)
	}
	_, err = s.ApplicationByClientID(ctx, "")
	wantCode(t, "ApplicationByClientID(\"\") (a proxy app has none)", err, deadbolt.CodeNotFound)
	gotProxy, err := s.Application(ctx, proxy.ID)
	if err != nil || gotProxy.ClientID != "" || gotProxy.SecretHash != nil || !slices.Equal(gotProxy.Domains, proxy.Domains) ||
		len(gotProxy.RedirectURIs) != 0 || !gotProxy.SecretSetAt.IsZero() {
		t.Errorf("Application(proxy) = %+v, %v; want %+v", gotProxy, err, proxy)
	}
	_, err = s.Application(ctx, deadbolt.NewID())
	wantCode(t, "Application(unknown)", err, deadbolt.CodeNotFound)

	for _, name := range []string{"wiki", "WIKI", " Wiki "} {
		dup := &deadbolt.Application{ID: deadbolt.NewID(), Name: name, Kind: deadbolt.AppProxy, CreatedAt: T0, UpdatedAt: T0}
		wantCode(t, "CreateApplication("+name+")", s.CreateApplication(ctx, dup), deadbolt.CodeConflict)
	}
	dupClient := &deadbolt.Application{ID: deadbolt.NewID(), Name: "Other", Kind: deadbolt.AppOIDC, ClientID: wiki.ClientID, CreatedAt: T0, UpdatedAt: T0}
	wantCode(t, "CreateApplication(taken client id)", s.CreateApplication(ctx, dupClient), deadbolt.CodeConflict)

	list, err := s.ListApplications(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "grafana" || list[1].Name != "Wiki" {
		t.Fatalf("ListApplications = %v, %v; want grafana, Wiki", list, err)
	}

	later := T0.Add(time.Hour)
	wiki.Name, wiki.RedirectURIs, wiki.Public, wiki.Require2FA, wiki.UpdatedAt = "Wiki 2", []string{"https://w.example.com/cb"}, true, false, later
	wiki.BackchannelLogoutURI, wiki.PostLogoutRedirectURIs = "", nil
	wiki.SecretHash = []byte("ignored by UpdateApplication")
	if err := s.UpdateApplication(ctx, wiki); err != nil {
		t.Fatalf("UpdateApplication = %v", err)
	}
	got, _ = s.Application(ctx, wiki.ID)
	if got.Name != "Wiki 2" || !slices.Equal(got.RedirectURIs, []string{"https://w.example.com/cb"}) || !got.Public || got.Require2FA ||
		got.BackchannelLogoutURI != "" || len(got.PostLogoutRedirectURIs) != 0 || !got.UpdatedAt.Equal(later) ||
		!slices.Equal(got.SecretHash, []byte{1, 2, 3}) || !got.CreatedAt.Equal(T0) {
		t.Errorf("after UpdateApplication = %+v", got)
	}
	proxy.Name = "WIKI 2"
	wantCode(t, "UpdateApplication(taken name)", s.UpdateApplication(ctx, proxy), deadbolt.CodeConflict)
	missing := &deadbolt.Application{ID: deadbolt.NewID(), Name: "Nobody", UpdatedAt: later}
	wantCode(t, "UpdateApplication(unknown)", s.UpdateApplication(ctx, missing), deadbolt.CodeNotFound)

	if err := s.SetApplicationSecret(ctx, wiki.ID, []byte("new"), later); err != nil {
		t.Fatalf("SetApplicationSecret = %v", err)
	}
	if got, _ := s.Application(ctx, wiki.ID); !slices.Equal(got.SecretHash, []byte("new")) || !got.SecretSetAt.Equal(later) {
		t.Errorf("after SetApplicationSecret: hash %q set %v", got.SecretHash, got.SecretSetAt)
	}
	if err := s.SetApplicationSecret(ctx, wiki.ID, nil, later); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Application(ctx, wiki.ID); got.SecretHash != nil {
		t.Errorf("after clearing the secret: hash %q, want nil", got.SecretHash)
	}
	wantCode(t, "SetApplicationSecret(unknown)", s.SetApplicationSecret(ctx, deadbolt.NewID(), nil, later), deadbolt.CodeNotFound)

	if err := s.DeleteApplication(ctx, wiki.ID); err != nil {
		t.Fatalf("DeleteApplication = %v", err)
	}
	_, err = s.Application(ctx, wiki.ID)
	wantCode(t, "Application(deleted)", err, deadbolt.CodeNotFound)
	wantCode(t, "DeleteApplication(again)", s.DeleteApplication(ctx, wiki.ID), deadbolt.CodeNotFound)
}

func testApplicationWorkgroups(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	eng := NewWorkgroup(t, s, "Engineering")
	ops := NewWorkgroup(t, s, "Ops")
	a := NewApp(t, s, "git", ops.ID, eng.ID)
	got, err := s.Application(ctx, a.ID)
	want := []string{eng.ID, ops.ID}
	slices.Sort(want)
	if err != nil || !slices.Equal(got.Workgroups, want) {
		t.Fatalf("Application.Workgroups = %v, %v; want %v (sorted)", got.Workgroups, err, want)
	}

	// A workgroup an app admits cannot be deleted: the app would fall open.
	wantCode(t, "DeleteWorkgroup(admitted by an app)", s.DeleteWorkgroup(ctx, eng.ID), deadbolt.CodeConflict)
	if _, err := s.Workgroup(ctx, eng.ID); err != nil {
		t.Fatalf("refused DeleteWorkgroup deleted it: %v", err)
	}

	// An unknown workgroup refuses the whole change.
	bad := &deadbolt.Application{ID: deadbolt.NewID(), Name: "bad", Kind: deadbolt.AppProxy,
		Workgroups: []string{eng.ID, deadbolt.NewID()}, CreatedAt: T0, UpdatedAt: T0}
	wantCode(t, "CreateApplication(unknown workgroup)", s.CreateApplication(ctx, bad), deadbolt.CodeInvalidInput)
	_, err = s.Application(ctx, bad.ID)
	wantCode(t, "Application(refused create)", err, deadbolt.CodeNotFound)
	a.Workgroups = []string{ops.ID, deadbolt.NewID()}
	wantCode(t, "UpdateApplication(unknown workgroup)", s.UpdateApplication(ctx, a), deadbolt.CodeInvalidInput)
	if got, _ := s.Application(ctx, a.ID); !slices.Equal(got.Workgroups, want) {
		t.Errorf("refused update changed workgroups to %v, want %v", got.Workgroups, want)
	}

	a.Workgroups = []string{ops.ID}
	if err := s.UpdateApplication(ctx, a); err != nil {
		t.Fatalf("UpdateApplication = %v", err)
	}
	if got, _ := s.Application(ctx, a.ID); !slices.Equal(got.Workgroups, []string{ops.ID}) {
		t.Errorf("Workgroups = %v, want [%s]", got.Workgroups, ops.ID)
	}
	if err := s.DeleteWorkgroup(ctx, eng.ID); err != nil {
		t.Errorf("DeleteWorkgroup(no longer admitted) = %v", err)
	}
	if err := s.DeleteApplication(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWorkgroup(ctx, ops.ID); err != nil {
		t.Errorf("DeleteWorkgroup(app deleted) = %v", err)
	}
}

func testApplicationNameRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	const n = 50
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a := &deadbolt.Application{ID: deadbolt.NewID(), Name: []string{"Chat", "chat", "CHAT"}[i%3],
				Kind: deadbolt.AppOIDC, ClientID: deadbolt.NewID(), CreatedAt: T0, UpdatedAt: T0}
			err := s.CreateApplication(ctx, a)
			switch deadbolt.ErrorCode(err) {
			case "":
				wins.Add(1)
			case deadbolt.CodeConflict:
			default:
				t.Errorf("CreateApplication = %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d of %d racing creations of one name succeeded, want 1", wins.Load(), n)
	}
	if list, _ := s.ListApplications(ctx); len(list) != 1 {
		t.Errorf("ListApplications = %d apps, want 1", len(list))
	}
}

func testUserProfile(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := &deadbolt.User{ID: deadbolt.NewID(), Login: "erin", Name: "Erin", Email: "erin@example.com", Active: true,
		PasswordHash: "x", CreatedAt: T0, UpdatedAt: T0}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByLogin(ctx, "erin"); got.Email != "erin@example.com" {
		t.Errorf("Email = %q, want erin@example.com", got.Email)
	}
	later := T0.Add(time.Hour)
	if err := s.SetUserProfile(ctx, u.ID, "Erin B.", "", later); err != nil {
		t.Fatalf("SetUserProfile = %v", err)
	}
	got, _ := s.UserByID(ctx, u.ID)
	if got.Name != "Erin B." || got.Email != "" || !got.UpdatedAt.Equal(later) {
		t.Errorf("after SetUserProfile = %q %q %v", got.Name, got.Email, got.UpdatedAt)
	}
	wantCode(t, "SetUserProfile(unknown)", s.SetUserProfile(ctx, deadbolt.NewID(), "x", "", later), deadbolt.CodeNotFound)
}

func testSessionAMR(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	_, h := NewSession(t, s, u, deadbolt.SessionPending)
	if got, _, _ := s.SessionByToken(ctx, h); len(got.AMR) != 0 {
		t.Errorf("AMR of a session stored without = %v, want none", got.AMR)
	}
	full := &deadbolt.Session{ID: deadbolt.NewID(), UserID: u.ID, State: deadbolt.SessionFull, CreatedAt: T0, LastSeenAt: T0,
		ExpiresAt: T0.Add(time.Hour), AuthAt: T0, Method: "push", AMR: []string{"pwd", "swk", "mfa"}}
	if err := s.CreateSession(ctx, full, []byte("full-token-hash")); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.SessionByToken(ctx, []byte("full-token-hash"))
	if err != nil || !slices.Equal(got.AMR, []string{"pwd", "swk", "mfa"}) {
		t.Errorf("SessionByToken AMR = %v, %v; want [pwd swk mfa]", got, err)
	}
	list, _ := s.ListSessions(ctx, u.ID)
	if len(list) != 2 || !slices.Equal(list[0].AMR, full.AMR) && !slices.Equal(list[1].AMR, full.AMR) {
		t.Errorf("ListSessions AMR = %v", list)
	}
}
