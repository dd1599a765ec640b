package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

// oidcTests are the contract tests of OIDCStore.
var oidcTests = []struct {
	name string
	fn   func(*testing.T, deadbolt.Store)
}{
	{"SigningKeys", testSigningKeys},
	{"FirstSigningKeyRace", testFirstSigningKeyRace},
	{"AuthRequests", testAuthRequests},
	{"CodeRedeemOnce", testCodeRedeemOnce},
	{"CodeRedeemRace", testCodeRedeemRace},
	{"RefreshRotation", testRefreshRotation},
	{"RefreshRace", testRefreshRace},
	{"TokenSession", testTokenSession},
	{"EndedGrants", testEndedGrants},
	{"LogoutClaimRace", testLogoutClaimRace},
	{"SweepOIDC", testSweepOIDC},
}

// oidcFixture is a user with a full session and an app with a
// back-channel logout URI.
type oidcFixture struct {
	user *deadbolt.User
	sess *deadbolt.Session
	app  *deadbolt.Application
}

func newOIDCFixture(t *testing.T, s deadbolt.Store) oidcFixture {
	t.Helper()
	u := NewUser(t, s, "alice")
	sess, _ := NewSession(t, s, u, deadbolt.SessionFull)
	app := NewApp(t, s, "wiki")
	app.BackchannelLogoutURI = "https://wiki.example.com/bcl"
	app.UpdatedAt = T0
	if err := s.UpdateApplication(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	return oidcFixture{user: u, sess: sess, app: app}
}

// issue stores a code named name for the fixture's session and app.
func (f oidcFixture) issue(t *testing.T, s deadbolt.Store, name string) *deadbolt.AuthCode {
	t.Helper()
	g := &deadbolt.Grant{ID: deadbolt.NewID(), SessionID: f.sess.ID, UserID: f.user.ID, AppID: f.app.ID, CreatedAt: T0}
	c := &deadbolt.AuthCode{Hash: hash(name), RedirectURI: "https://wiki.example.com/cb", Scope: "openid offline_access",
		Nonce: "n-" + name, CodeChallenge: "challenge", AuthTime: T0, AMR: []string{"pwd", "otp", "mfa"},
		CreatedAt: T0, ExpiresAt: T0.Add(time.Minute)}
	if _, err := s.IssueCode(context.Background(), g, c); err != nil {
		t.Fatalf("IssueCode = %v", err)
	}
	return c
}

func tokensFor(c *deadbolt.AuthCode, chain []byte, name string) []*deadbolt.OAuthToken {
	return []*deadbolt.OAuthToken{
		{Hash: hash("access-" + name), Chain: chain, GrantID: c.GrantID, Kind: deadbolt.TokenAccess, Scope: c.Scope,
			AuthTime: c.AuthTime, AMR: c.AMR, CreatedAt: T0, ExpiresAt: T0.Add(10 * time.Minute)},
		{Hash: hash("refresh-" + name), Chain: chain, GrantID: c.GrantID, Kind: deadbolt.TokenRefresh, Scope: c.Scope,
			AuthTime: c.AuthTime, AMR: c.AMR, CreatedAt: T0, ExpiresAt: T0.Add(24 * time.Hour)},
	}
}

func testSigningKeys(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	if list, err := s.SigningKeys(ctx); err != nil || len(list) != 0 {
		t.Fatalf("SigningKeys(empty) = %v, %v", list, err)
	}
	first := &deadbolt.SigningKey{ID: "k1", PrivateSealed: []byte("sealed-1"), CreatedAt: T0}
	if ok, err := s.AddFirstSigningKey(ctx, first); !ok || err != nil {
		t.Fatalf("AddFirstSigningKey = %v, %v; want stored", ok, err)
	}
	if ok, err := s.AddFirstSigningKey(ctx, &deadbolt.SigningKey{ID: "k0", PrivateSealed: []byte("x"), CreatedAt: T0}); ok || err != nil {
		t.Errorf("second AddFirstSigningKey = %v, %v; want not stored", ok, err)
	}
	next := &deadbolt.SigningKey{ID: "k2", PrivateSealed: []byte("sealed-2"), CreatedAt: T0.Add(time.Hour)}
	if err := s.RotateSigningKey(ctx, next); err != nil {
		t.Fatalf("RotateSigningKey = %v", err)
	}
	list, err := s.SigningKeys(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "k2" || list[1].ID != "k1" {
		t.Fatalf("SigningKeys = %v, %v; want k2, k1", list, err)
	}
	if !list[0].RetiredAt.IsZero() || !list[1].RetiredAt.Equal(T0.Add(time.Hour)) || string(list[0].PrivateSealed) != "sealed-2" {
		t.Errorf("keys = %+v / %+v; want k1 retired when k2 came", list[0], list[1])
	}
	// Once any key exists, the first-start key is never added, even after
	// all keys were pruned.
	if n, err := s.DeleteSigningKeys(ctx, T0.Add(2*time.Hour)); n != 1 || err != nil {
		t.Errorf("DeleteSigningKeys = %d, %v; want 1 (the retired key)", n, err)
	}
	if list, _ := s.SigningKeys(ctx); len(list) != 1 || list[0].ID != "k2" {
		t.Errorf("after DeleteSigningKeys = %v, want k2 alone", list)
	}
}

func testFirstSigningKeyRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	const n = 50
	var stored atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k := &deadbolt.SigningKey{ID: fmt.Sprintf("k%02d", i), PrivateSealed: []byte("x"), CreatedAt: T0}
			ok, err := s.AddFirstSigningKey(ctx, k)
			if err != nil {
				t.Errorf("AddFirstSigningKey = %v", err)
			}
			if ok {
				stored.Add(1)
			}
		})
	}
	wg.Wait()
	if list, _ := s.SigningKeys(ctx); stored.Load() != 1 || len(list) != 1 {
		t.Errorf("%d nodes stored a first key and %d keys exist, want 1 and 1", stored.Load(), len(list))
	}
}

func testAuthRequests(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	app := NewApp(t, s, "wiki")
	r := &deadbolt.AuthRequest{ID: deadbolt.NewID(), AppID: app.ID, Params: `{"state":"s"}`, CreatedAt: T0, ExpiresAt: T0.Add(10 * time.Minute)}
	if err := s.SaveAuthRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.AuthRequest(ctx, r.ID)
	if err != nil || got.AppID != app.ID || got.Params != r.Params || !got.ExpiresAt.Equal(r.ExpiresAt) {
		t.Fatalf("AuthRequest = %+v, %v", got, err)
	}
	bad := &deadbolt.AuthRequest{ID: deadbolt.NewID(), AppID: deadbolt.NewID(), Params: "{}", CreatedAt: T0, ExpiresAt: T0}
	wantCode(t, "SaveAuthRequest(unknown app)", s.SaveAuthRequest(ctx, bad), deadbolt.CodeNotFound)
	const n = 50
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if ok, err := s.ConsumeAuthRequest(ctx, r.ID); err != nil {
				t.Errorf("ConsumeAuthRequest = %v", err)
			} else if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("ConsumeAuthRequest succeeded %d times, want 1", wins.Load())
	}
	_, err = s.AuthRequest(ctx, r.ID)
	wantCode(t, "AuthRequest(consumed)", err, deadbolt.CodeNotFound)
	// Deleting the app deletes its pending requests.
	r2 := &deadbolt.AuthRequest{ID: deadbolt.NewID(), AppID: app.ID, Params: "{}", CreatedAt: T0, ExpiresAt: T0.Add(time.Minute)}
	s.SaveAuthRequest(ctx, r2)
	s.DeleteApplication(ctx, app.ID)
	_, err = s.AuthRequest(ctx, r2.ID)
	wantCode(t, "AuthRequest(app deleted)", err, deadbolt.CodeNotFound)
}

func testCodeRedeemOnce(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	f := newOIDCFixture(t, s)
	c := f.issue(t, s, "one")
	c2 := f.issue(t, s, "two")
	if c.GrantID == "" || c2.GrantID != c.GrantID {
		t.Fatalf("grants %q, %q: want one grant per session and app", c.GrantID, c2.GrantID)
	}
	rec0, err := s.Code(ctx, c.Hash)
	if err != nil {
		t.Fatalf("Code = %v", err)
	}
	got, g := rec0.Code, rec0.Grant
	if got.Nonce != "n-one" || got.RedirectURI != c.RedirectURI || !slices.Equal(got.AMR, c.AMR) ||
		g.SessionID != f.sess.ID || g.AppID != f.app.ID || g.TokensIssued || !got.UsedAt.IsZero() ||
		rec0.Session == nil || rec0.Session.ID != f.sess.ID || rec0.User.ID != f.user.ID {
		t.Fatalf("Code = %+v", rec0)
	}
	_, err = s.Code(ctx, hash("nope"))
	wantCode(t, "Code(unknown)", err, deadbolt.CodeNotFound)

	now := T0.Add(10 * time.Second)
	if err := s.RedeemCode(ctx, c.Hash, now, tokensFor(c, c.Hash, "one")); err != nil {
		t.Fatalf("RedeemCode = %v", err)
	}
	if rec, _ := s.Code(ctx, c.Hash); !rec.Grant.TokensIssued || !rec.Code.UsedAt.Equal(now) {
		t.Error("grant not marked as having tokens")
	}
	rec, err := s.Token(ctx, hash("access-one"))
	if err != nil || rec.ChainRevoked || rec.Token.Kind != deadbolt.TokenAccess || rec.Session == nil || rec.Session.ID != f.sess.ID ||
		rec.User.ID != f.user.ID || rec.Grant.AppID != f.app.ID || !slices.Equal(rec.Token.AMR, c.AMR) {
		t.Fatalf("Token = %+v, %v", rec, err)
	}
	// A second use is refused and revokes what the first issued.
	wantCode(t, "RedeemCode(again)", s.RedeemCode(ctx, c.Hash, now, tokensFor(c, c.Hash, "again")), deadbolt.CodeConflict)
	for _, name := range []string{"access-one", "refresh-one"} {
		rec, err := s.Token(ctx, hash(name))
		if err != nil || !rec.ChainRevoked {
			t.Errorf("Token(%s) after the code's reuse = %+v, %v; want its chain revoked", name, rec, err)
		}
	}
	_, err = s.Token(ctx, hash("access-again"))
	wantCode(t, "Token(issued by the refused reuse)", err, deadbolt.CodeNotFound)
	// The other code of the grant is a chain of its own.
	if err := s.RedeemCode(ctx, c2.Hash, now, tokensFor(c2, c2.Hash, "two")); err != nil {
		t.Fatalf("RedeemCode(second code) = %v", err)
	}
	if rec, _ := s.Token(ctx, hash("access-two")); rec.ChainRevoked {
		t.Error("revoking one code's chain revoked another's")
	}
	// Expired codes do not redeem.
	c3 := f.issue(t, s, "three")
	wantCode(t, "RedeemCode(expired)", s.RedeemCode(ctx, c3.Hash, T0.Add(time.Minute), nil), deadbolt.CodeNotFound)
	wantCode(t, "RedeemCode(unknown)", s.RedeemCode(ctx, hash("nope"), now, nil), deadbolt.CodeNotFound)
	_, err = s.Token(ctx, hash("nope"))
	wantCode(t, "Token(unknown)", err, deadbolt.CodeNotFound)
}

func testCodeRedeemRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	f := newOIDCFixture(t, s)
	c := f.issue(t, s, "race")
	const n = 50
	var wins, reused atomic.Int32
	var winner atomic.Value
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprint("race-", i)
			err := s.RedeemCode(ctx, c.Hash, T0.Add(time.Second), tokensFor(c, c.Hash, name))
			switch deadbolt.ErrorCode(err) {
			case "":
				wins.Add(1)
				winner.Store(name)
			case deadbolt.CodeConflict:
				reused.Add(1)
			default:
				t.Errorf("RedeemCode = %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || reused.Load() != n-1 {
		t.Fatalf("%d redemptions succeeded and %d were refused as reuse, want 1 and %d", wins.Load(), reused.Load(), n-1)
	}
	// The reuse revoked what the winner got.
	rec, err := s.Token(ctx, hash("access-"+winner.Load().(string)))
	if err != nil || !rec.ChainRevoked {
		t.Errorf("winner's token = %+v, %v; want its chain revoked", rec, err)
	}
}

func testRefreshRotation(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	f := newOIDCFixture(t, s)
	c := f.issue(t, s, "code")
	s.RedeemCode(ctx, c.Hash, T0, tokensFor(c, c.Hash, "0"))
	now := T0.Add(time.Minute)
	if err := s.RotateRefreshToken(ctx, hash("refresh-0"), now, tokensFor(c, c.Hash, "1")); err != nil {
		t.Fatalf("RotateRefreshToken = %v", err)
	}
	old, _ := s.Token(ctx, hash("refresh-0"))
	if !old.Token.UsedAt.Equal(now) || old.ChainRevoked {
		t.Errorf("rotated token = %+v, want used and chain alive", old.Token)
	}
	wantCode(t, "RotateRefreshToken(access token)", s.RotateRefreshToken(ctx, hash("access-1"), now, nil), deadbolt.CodeNotFound)
	wantCode(t, "RotateRefreshToken(unknown)", s.RotateRefreshToken(ctx, hash("nope"), now, nil), deadbolt.CodeNotFound)
	if err := s.RotateRefreshToken(ctx, hash("refresh-1"), now, tokensFor(c, c.Hash, "2")); err != nil {
		t.Fatalf("second RotateRefreshToken = %v", err)
	}
	// The first refresh token presented again revokes the whole chain.
	wantCode(t, "RotateRefreshToken(used)", s.RotateRefreshToken(ctx, hash("refresh-0"), now, tokensFor(c, c.Hash, "x")), deadbolt.CodeConflict)
	for _, name := range []string{"access-0", "access-1", "access-2", "refresh-2"} {
		if rec, err := s.Token(ctx, hash(name)); err != nil || !rec.ChainRevoked {
			t.Errorf("Token(%s) = %+v, %v; want the chain revoked", name, rec, err)
		}
	}
	if err := s.DeleteToken(ctx, hash("access-2")); err != nil {
		t.Fatal(err)
	}
	_, err := s.Token(ctx, hash("access-2"))
	wantCode(t, "Token(deleted)", err, deadbolt.CodeNotFound)
	if err := s.DeleteToken(ctx, hash("access-2")); err != nil {
		t.Errorf("DeleteToken(missing) = %v, want nil", err)
	}
}

func testRefreshRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	f := newOIDCFixture(t, s)
	c := f.issue(t, s, "code")
	s.RedeemCode(ctx, c.Hash, T0, tokensFor(c, c.Hash, "0"))
	const n = 50
	var wins, reused atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := s.RotateRefreshToken(ctx, hash("refresh-0"), T0.Add(time.Second), tokensFor(c, c.Hash, fmt.Sprint("r", i)))
			switch deadbolt.ErrorCode(err) {
			case "":
				wins.Add(1)
			case deadbolt.CodeConflict:
				reused.Add(1)
			default:
				t.Errorf("RotateRefreshToken = %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || reused.Load() != n-1 {
		t.Fatalf("%d rotations succeeded, %d refused as reuse; want 1 and %d", wins.Load(), reused.Load(), n-1)
	}
	if rec, _ := s.Token(ctx, hash("access-0")); !rec.ChainRevoked {
		t.Error("the chain survived a raced refresh token")
	}
}

func testTokenSession(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	f := newOIDCFixture(t, s)
	c := f.issue(t, s, "code")
	s.RedeemCode(ctx, c.Hash, T0, tokensFor(c, c.Hash, "0"))
	if _, err := s.EndAllSessions(ctx, f.user.ID, deadbolt.EndByAdministrator, T0); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Token(ctx, hash("access-0"))
	if err != nil || rec.Session != nil || rec.User.ID != f.user.ID {
		t.Errorf("Token after the session ended = %+v, %v; want it without a session", rec, err)
	}
}

func testEndedGrants(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	f := newOIDCFixture(t, s)
	c := f.issue(t, s, "code")
	idle := T0.Add(-time.Hour)
	if list, err := s.EndedGrants(ctx, T0, idle, 10); err != nil || len(list) != 0 {
		t.Fatalf("EndedGrants(code not exchanged, session alive) = %v, %v", list, err)
	}
	s.RedeemCode(ctx, c.Hash, T0, tokensFor(c, c.Hash, "0"))
	if list, _ := s.EndedGrants(ctx, T0, idle, 10); len(list) != 0 {
		t.Fatalf("EndedGrants(session alive) = %v, want none", list)
	}
	// Past its absolute expiry, idle, or gone: the session has ended.
	if list, _ := s.EndedGrants(ctx, f.sess.ExpiresAt, idle, 10); len(list) != 1 {
		t.Errorf("EndedGrants(session expired) = %v, want the grant", list)
	}
	if list, _ := s.EndedGrants(ctx, T0, T0.Add(time.Second), 10); len(list) != 1 {
		t.Errorf("EndedGrants(session idle) = %v, want the grant", list)
	}
	// An app without a back-channel URI is owed nothing.
	other := NewApp(t, s, "chat")
	g2 := &deadbolt.Grant{ID: deadbolt.NewID(), SessionID: f.sess.ID, UserID: f.user.ID, AppID: other.ID, CreatedAt: T0}
	c2 := &deadbolt.AuthCode{Hash: hash("chat"), RedirectURI: "x", Scope: "openid", AuthTime: T0, CreatedAt: T0, ExpiresAt: T0.Add(time.Minute)}
	s.IssueCode(ctx, g2, c2)
	s.RedeemCode(ctx, c2.Hash, T0, tokensFor(c2, c2.Hash, "chat"))
	if err := s.DeleteSession(ctx, f.user.ID, f.sess.ID); err != nil {
		t.Fatal(err)
	}
	list, err := s.EndedGrants(ctx, T0, idle, 10)
	if err != nil || len(list) != 1 || list[0].AppID != f.app.ID || list[0].SessionID != f.sess.ID || !list[0].TokensIssued {
		t.Fatalf("EndedGrants(session deleted) = %v, %v; want the wiki grant alone", list, err)
	}
	g := list[0]
	claimed, ok, err := s.ClaimLogout(ctx, g.ID, T0, T0.Add(30*time.Second))
	if err != nil || !ok || claimed.LogoutAttempts != 1 || !claimed.LogoutFirstAt.Equal(T0) {
		t.Fatalf("ClaimLogout = %+v, %v, %v", claimed, ok, err)
	}
	if list, _ := s.EndedGrants(ctx, T0.Add(time.Second), idle, 10); len(list) != 0 {
		t.Errorf("EndedGrants lists a claimed grant: %v", list)
	}
	if _, ok, _ := s.ClaimLogout(ctx, g.ID, T0.Add(time.Second), T0.Add(time.Minute)); ok {
		t.Error("a held claim was claimed again")
	}
	retry := T0.Add(5 * time.Second)
	if err := s.FinishLogout(ctx, g.ID, T0.Add(time.Second), false, false, retry, "HTTP 503"); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.EndedGrants(ctx, T0.Add(2*time.Second), idle, 10); len(list) != 0 {
		t.Errorf("EndedGrants lists a grant before its retry: %v", list)
	}
	if list, _ := s.EndedGrants(ctx, retry, idle, 10); len(list) != 1 {
		t.Errorf("EndedGrants at the retry = %v, want the grant", list)
	}
	fails, err := s.LogoutFailures(ctx, "", 10)
	if err != nil || len(fails) != 1 || fails[0].LogoutError != "HTTP 503" || fails[0].LogoutFailed {
		t.Errorf("LogoutFailures = %v, %v", fails, err)
	}
	if fails, _ := s.LogoutFailures(ctx, f.app.ID, 10); len(fails) != 1 {
		t.Errorf("LogoutFailures(app) = %v, want the failure", fails)
	}
	if fails, _ := s.LogoutFailures(ctx, other.ID, 10); len(fails) != 0 {
		t.Errorf("LogoutFailures(other app) = %v, want none", fails)
	}
	if _, ok, _ := s.ClaimLogout(ctx, g.ID, retry, retry.Add(30*time.Second)); !ok {
		t.Fatal("the retry could not be claimed")
	}
	if err := s.FinishLogout(ctx, g.ID, retry, true, false, time.Time{}, ""); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.EndedGrants(ctx, retry.Add(time.Hour), idle, 10); len(list) != 0 {
		t.Errorf("EndedGrants lists a delivered grant: %v", list)
	}
	if _, ok, _ := s.ClaimLogout(ctx, g.ID, retry.Add(time.Hour), retry.Add(2*time.Hour)); ok {
		t.Error("a delivered logout was claimed again")
	}
}

func testLogoutClaimRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	f := newOIDCFixture(t, s)
	c := f.issue(t, s, "code")
	s.RedeemCode(ctx, c.Hash, T0, tokensFor(c, c.Hash, "0"))
	s.DeleteSession(ctx, f.user.ID, f.sess.ID)
	const n = 50
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, ok, err := s.ClaimLogout(ctx, c.GrantID, T0, T0.Add(30*time.Second))
			if err != nil {
				t.Errorf("ClaimLogout = %v", err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d of %d nodes claimed one delivery, want 1", wins.Load(), n)
	}
	// A claim that lapsed (a node died while sending) can be taken again.
	if _, ok, _ := s.ClaimLogout(ctx, c.GrantID, T0.Add(30*time.Second), T0.Add(time.Minute)); !ok {
		t.Error("a lapsed claim could not be taken again")
	}
}

func testSweepOIDC(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	f := newOIDCFixture(t, s)
	c := f.issue(t, s, "code")
	s.RedeemCode(ctx, c.Hash, T0, tokensFor(c, c.Hash, "0"))
	req := &deadbolt.AuthRequest{ID: deadbolt.NewID(), AppID: f.app.ID, Params: "{}", CreatedAt: T0, ExpiresAt: T0.Add(time.Minute)}
	s.SaveAuthRequest(ctx, req)
	idle := T0.Add(-time.Hour)
	later := T0.Add(11 * time.Minute)
	if _, err := s.SweepOIDC(ctx, later, idle, T0); err != nil {
		t.Fatal(err)
	}
	_, err := s.AuthRequest(ctx, req.ID)
	wantCode(t, "AuthRequest(expired, swept)", err, deadbolt.CodeNotFound)
	_, err = s.Token(ctx, hash("access-0"))
	wantCode(t, "Token(expired access token, swept)", err, deadbolt.CodeNotFound)
	if _, err := s.Token(ctx, hash("refresh-0")); err != nil {
		t.Errorf("Token(refresh, session alive) = %v, want kept", err)
	}
	// The session ends: the grant is kept until its logout is delivered.
	s.DeleteSession(ctx, f.user.ID, f.sess.ID)
	if n, _ := s.SweepOIDC(ctx, later, idle, T0); n != 0 {
		t.Errorf("SweepOIDC deleted %d grants still owing a logout", n)
	}
	s.ClaimLogout(ctx, c.GrantID, later, later.Add(time.Minute))
	s.FinishLogout(ctx, c.GrantID, later, true, false, time.Time{}, "")
	if n, _ := s.SweepOIDC(ctx, later, idle, later); n != 0 {
		t.Errorf("SweepOIDC deleted a grant delivered too recently")
	}
	if n, err := s.SweepOIDC(ctx, later.Add(2*time.Hour), idle, later.Add(time.Hour)); n != 1 || err != nil {
		t.Errorf("SweepOIDC = %d, %v; want the delivered grant", n, err)
	}
	_, err = s.Token(ctx, hash("refresh-0"))
	wantCode(t, "Token(grant swept)", err, deadbolt.CodeNotFound)
}
