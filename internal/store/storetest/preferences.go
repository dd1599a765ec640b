package storetest

import (
	"context"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

var preferenceTests = []struct {
	name string
	fn   func(*testing.T, deadbolt.Store)
}{
	{"UserLanguage", testUserLanguage},
	{"PasswordChangeRequired", testPasswordChangeRequired},
}

// testUserLanguage: a saved language comes back with the user — by id, by
// login, with a session — and can be cleared; an unknown user is
// not_found.
func testUserLanguage(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "olga")
	if u2, _ := s.UserByID(ctx, u.ID); u2.Language != "" {
		t.Fatalf("Language of a new user = %q, want none", u2.Language)
	}
	later := T0.Add(time.Hour)
	if err := s.SetUserLanguage(ctx, u.ID, "ru", later); err != nil {
		t.Fatalf("SetUserLanguage = %v", err)
	}
	got, err := s.UserByLogin(ctx, "olga")
	if err != nil || got.Language != "ru" || !got.UpdatedAt.Equal(later) {
		t.Fatalf("UserByLogin after SetUserLanguage = %+v, %v; want ru at %v", got, err, later)
	}
	_, h := NewSession(t, s, got, deadbolt.SessionFull)
	if _, su, err := s.SessionByToken(ctx, h); err != nil || su.Language != "ru" {
		t.Fatalf("SessionByToken user language = %v, %v; want ru", su, err)
	}
	other := NewUser(t, s, "bob")
	if got, _ := s.UserByID(ctx, other.ID); got.Language != "" {
		t.Errorf("another user's language = %q, want none", got.Language)
	}
	if err := s.SetUserLanguage(ctx, u.ID, "", later); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.Language != "" {
		t.Errorf("Language after clearing = %q", got.Language)
	}
	wantCode(t, "SetUserLanguage(unknown)", s.SetUserLanguage(ctx, deadbolt.NewID(), "ru", later), deadbolt.CodeNotFound)
}

// testPasswordChangeRequired: the flag set at creation is kept until a new
// password is stored, which clears it.
func testPasswordChangeRequired(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := &deadbolt.User{ID: deadbolt.NewID(), Login: "admin", Active: true, Admin: true,
		PasswordHash: "$argon2id$one-time", CreatedAt: T0, UpdatedAt: T0, PasswordChangeRequired: true}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	plain := NewUser(t, s, "plain")
	if got, _ := s.UserByID(ctx, u.ID); !got.PasswordChangeRequired {
		t.Fatalf("PasswordChangeRequired after CreateUser = false, want true")
	}
	if got, _ := s.UserByID(ctx, plain.ID); got.PasswordChangeRequired {
		t.Fatalf("PasswordChangeRequired of a plain user = true")
	}
	sess, _ := NewSession(t, s, u, deadbolt.SessionFull)
	if _, err := s.SetPassword(ctx, u.ID, "$argon2id$chosen", sess.ID, deadbolt.EndPasswordChange, T0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, _ := s.UserByID(ctx, u.ID)
	if got.PasswordChangeRequired || got.PasswordHash != "$argon2id$chosen" {
		t.Errorf("after SetPassword: required %v, hash %q; want cleared and the new hash", got.PasswordChangeRequired, got.PasswordHash)
	}
}
