package storetest

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

// smsTests are the contract tests of PhoneStore.
var smsTests = []struct {
	name string
	fn   func(*testing.T, deadbolt.Store)
}{
	{"PhoneLink", testPhoneLink},
	{"PhoneLinkRace", testPhoneLinkRace},
	{"SMSCodes", testSMSCodes},
	{"SMSCodeResend", testSMSCodeResend},
	{"SMSCodeConsumeRace", testSMSCodeConsumeRace},
	{"SMSCodeAttemptRace", testSMSCodeAttemptRace},
	{"SMSCodeResendRace", testSMSCodeResendRace},
}

const (
	phoneA = "+14155550143"
	phoneB = "+447700900123"
)

func testPhoneLink(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	alice := NewUser(t, s, "alice")
	bob := NewUser(t, s, "bob")

	_, err := s.UserByPhone(ctx, phoneA)
	wantCode(t, "UserByPhone(free)", err, deadbolt.CodeNotFound)
	wantCode(t, "ClearPhone(none)", s.ClearPhone(ctx, alice.ID, T0), deadbolt.CodeNotFound)
	wantCode(t, "SetPhone(unknown user)", s.SetPhone(ctx, deadbolt.NewID(), phoneA, T0), deadbolt.CodeNotFound)

	if err := s.SetPhone(ctx, alice.ID, phoneA, T0.Add(time.Minute)); err != nil {
		t.Fatalf("SetPhone(alice) = %v", err)
	}
	if err := s.SetPhone(ctx, alice.ID, phoneA, T0.Add(time.Minute)); err != nil {
		t.Errorf("SetPhone(alice, her own number again) = %v, want nil", err)
	}
	got, err := s.UserByPhone(ctx, phoneA)
	if err != nil || got.ID != alice.ID || got.Phone != phoneA {
		t.Fatalf("UserByPhone(%q) = %+v, %v; want alice", phoneA, got, err)
	}
	if u, _ := s.UserByID(ctx, alice.ID); u.Phone != phoneA || !u.UpdatedAt.Equal(T0.Add(time.Minute)) {
		t.Errorf("UserByID(alice) phone = %q updated = %v, want %q at %v", u.Phone, u.UpdatedAt, phoneA, T0.Add(time.Minute))
	}
	wantCode(t, "SetPhone(bob, alice's number)", s.SetPhone(ctx, bob.ID, phoneA, T0), deadbolt.CodePhoneInUse)
	dup := &deadbolt.User{ID: deadbolt.NewID(), Login: "carol", PasswordHash: "x", Active: true, Phone: phoneA, CreatedAt: T0, UpdatedAt: T0}
	wantCode(t, "CreateUser(alice's number)", s.CreateUser(ctx, dup), deadbolt.CodePhoneInUse)
	dupLogin := &deadbolt.User{ID: deadbolt.NewID(), Login: "alice", PasswordHash: "x", Active: true, Phone: phoneB, CreatedAt: T0, UpdatedAt: T0}
	wantCode(t, "CreateUser(taken login, free number)", s.CreateUser(ctx, dupLogin), deadbolt.CodeLoginTaken)

	// A deactivated account keeps its number.
	if err := s.SetActive(ctx, alice.ID, false, deadbolt.EndDeactivation, nil, T0); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "SetPhone(bob, deactivated alice's number)", s.SetPhone(ctx, bob.ID, phoneA, T0), deadbolt.CodePhoneInUse)
	if got, err := s.UserByPhone(ctx, phoneA); err != nil || got.ID != alice.ID || got.Active {
		t.Errorf("UserByPhone(deactivated holder) = %+v, %v; want inactive alice", got, err)
	}

	// Freeing the number lets another account take it.
	if err := s.ClearPhone(ctx, alice.ID, T0); err != nil {
		t.Fatalf("ClearPhone(alice) = %v", err)
	}
	wantCode(t, "ClearPhone(alice again)", s.ClearPhone(ctx, alice.ID, T0), deadbolt.CodeNotFound)
	if u, _ := s.UserByID(ctx, alice.ID); u.Phone != "" {
		t.Errorf("alice's phone after ClearPhone = %q, want none", u.Phone)
	}
	if err := s.SetPhone(ctx, bob.ID, phoneA, T0); err != nil {
		t.Fatalf("SetPhone(bob, freed number) = %v", err)
	}
	// Changing to another number frees the old one.
	if err := s.SetPhone(ctx, bob.ID, phoneB, T0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByPhone(ctx, phoneA); !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		t.Errorf("UserByPhone(bob's old number) = %v, want not_found", err)
	}
}

func testPhoneLinkRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	alice := NewUser(t, s, "alice")
	bob := NewUser(t, s, "bob")
	for round := range 10 {
		number := fmt.Sprintf("+1415555%04d", 100+round)
		users := []*deadbolt.User{alice, bob}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for i, u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = s.SetPhone(ctx, u.ID, number, T0)
			}()
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !deadbolt.IsCode(err, deadbolt.CodePhoneInUse):
				t.Errorf("round %d: SetPhone(%s) = %v, want nil or phone_in_use", round, users[i].Login, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d of 2 employees linked %s, want exactly 1", round, wins, number)
		}
		holder, err := s.UserByPhone(ctx, number)
		if err != nil || (errs[0] == nil) != (holder.ID == alice.ID) {
			t.Errorf("round %d: UserByPhone = %v, %v; disagrees with the winner", round, holder, err)
		}
	}
}

// newCode returns a code of purpose for u sent at sent, valid 5 minutes.
func newCode(u *deadbolt.User, purpose string, sent time.Time) *deadbolt.SMSCode {
	return &deadbolt.SMSCode{ID: deadbolt.NewID(), UserID: u.ID, Purpose: purpose, Phone: phoneA,
		Hash: hash(purpose + sent.String()), SentAt: sent, ExpiresAt: sent.Add(5 * time.Minute)}
}

func testSMSCodes(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	_, err := s.LatestSMSCode(ctx, "login:x")
	wantCode(t, "LatestSMSCode(none)", err, deadbolt.CodeNotFound)

	c := newCode(u, "login:x", T0)
	if err := s.CreateSMSCode(ctx, c, time.Minute); err != nil {
		t.Fatalf("CreateSMSCode = %v", err)
	}
	got, err := s.LatestSMSCode(ctx, "login:x")
	if err != nil {
		t.Fatalf("LatestSMSCode = %v", err)
	}
	if got.ID != c.ID || got.UserID != u.ID || got.Phone != phoneA || string(got.Hash) != string(c.Hash) ||
		!got.SentAt.Equal(T0) || !got.ExpiresAt.Equal(c.ExpiresAt) || got.Attempts != 0 || !got.Live() {
		t.Errorf("LatestSMSCode = %+v, want %+v", got, c)
	}
	if _, err := s.LatestSMSCode(ctx, "login:y"); !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		t.Errorf("LatestSMSCode(other purpose) = %v, want not_found", err)
	}

	for want := 1; want <= 3; want++ {
		n, err := s.AttemptSMSCode(ctx, c.ID, T0.Add(time.Minute))
		if err != nil || n != want {
			t.Fatalf("AttemptSMSCode #%d = %d, %v; want %d", want, n, err, want)
		}
	}
	_, err = s.AttemptSMSCode(ctx, c.ID, c.ExpiresAt)
	wantCode(t, "AttemptSMSCode(at expiry)", err, deadbolt.CodeNotFound)
	if ok, err := s.ConsumeSMSCode(ctx, c.ID, c.ExpiresAt); ok || err != nil {
		t.Errorf("ConsumeSMSCode(at expiry) = %v, %v; want false", ok, err)
	}
	if ok, err := s.ConsumeSMSCode(ctx, c.ID, T0.Add(2*time.Minute)); !ok || err != nil {
		t.Fatalf("ConsumeSMSCode = %v, %v; want true", ok, err)
	}
	if ok, err := s.ConsumeSMSCode(ctx, c.ID, T0.Add(2*time.Minute)); ok || err != nil {
		t.Errorf("ConsumeSMSCode(used) = %v, %v; want false", ok, err)
	}
	_, err = s.AttemptSMSCode(ctx, c.ID, T0.Add(2*time.Minute))
	wantCode(t, "AttemptSMSCode(used)", err, deadbolt.CodeNotFound)
	got, _ = s.LatestSMSCode(ctx, "login:x")
	if got.ID != c.ID || got.Live() || !got.UsedAt.Equal(T0.Add(2*time.Minute)) || got.Attempts != 3 {
		t.Errorf("LatestSMSCode after use = %+v, want used at %v after 3 attempts", got, T0.Add(2*time.Minute))
	}

	// A used code does not hold back a new one.
	d := newCode(u, "login:x", T0.Add(2*time.Minute))
	if err := s.CreateSMSCode(ctx, d, time.Minute); err != nil {
		t.Fatalf("CreateSMSCode after use = %v", err)
	}
	if err := s.VoidSMSCode(ctx, d.ID); err != nil {
		t.Fatalf("VoidSMSCode = %v", err)
	}
	wantCode(t, "VoidSMSCode(unknown)", s.VoidSMSCode(ctx, deadbolt.NewID()), deadbolt.CodeNotFound)
	if ok, _ := s.ConsumeSMSCode(ctx, d.ID, T0.Add(2*time.Minute)); ok {
		t.Error("ConsumeSMSCode(voided) = true")
	}
	got, _ = s.LatestSMSCode(ctx, "login:x")
	if got.ID != d.ID || !got.Voided {
		t.Errorf("LatestSMSCode with no live code = %+v, want the voided last one %s", got, d.ID)
	}
	// A voided code does not hold back a new one either.
	e := newCode(u, "login:x", T0.Add(2*time.Minute))
	if err := s.CreateSMSCode(ctx, e, time.Minute); err != nil {
		t.Fatalf("CreateSMSCode after void = %v", err)
	}
	if got, _ := s.LatestSMSCode(ctx, "login:x"); got.ID != e.ID {
		t.Errorf("LatestSMSCode = %s, want the live %s", got.ID, e.ID)
	}
}

func testSMSCodeResend(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	first := newCode(u, "link:"+u.ID, T0)
	if err := s.CreateSMSCode(ctx, first, time.Minute); err != nil {
		t.Fatal(err)
	}
	early := newCode(u, "link:"+u.ID, T0.Add(59*time.Second))
	wantCode(t, "CreateSMSCode(59 s later)", s.CreateSMSCode(ctx, early, time.Minute), deadbolt.CodeConflict)
	if got, _ := s.LatestSMSCode(ctx, "link:"+u.ID); got.ID != first.ID || !got.Live() {
		t.Errorf("after a refused resend LatestSMSCode = %+v, want the first code live", got)
	}
	// Another purpose is independent.
	if err := s.CreateSMSCode(ctx, newCode(u, "login:a", T0.Add(time.Second)), time.Minute); err != nil {
		t.Errorf("CreateSMSCode(other purpose) = %v", err)
	}

	second := newCode(u, "link:"+u.ID, T0.Add(time.Minute))
	if err := s.CreateSMSCode(ctx, second, time.Minute); err != nil {
		t.Fatalf("CreateSMSCode(60 s later) = %v", err)
	}
	if got, _ := s.LatestSMSCode(ctx, "link:"+u.ID); got.ID != second.ID || !got.Live() {
		t.Errorf("LatestSMSCode = %+v, want the second code", got)
	}
	_, err := s.AttemptSMSCode(ctx, first.ID, T0.Add(time.Minute))
	wantCode(t, "AttemptSMSCode(replaced code)", err, deadbolt.CodeNotFound)
	if ok, _ := s.ConsumeSMSCode(ctx, first.ID, T0.Add(time.Minute)); ok {
		t.Error("ConsumeSMSCode(replaced code) = true")
	}
	if ok, err := s.ConsumeSMSCode(ctx, second.ID, T0.Add(time.Minute)); !ok || err != nil {
		t.Errorf("ConsumeSMSCode(second) = %v, %v; want true", ok, err)
	}

	// Codes are deleted with their user; long-ended ones are forgotten.
	old := newCode(u, "login:old", T0)
	if err := s.CreateSMSCode(ctx, old, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSMSCode(ctx, newCode(u, "login:new", T0.Add(48*time.Hour)), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LatestSMSCode(ctx, "login:old"); !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
		t.Errorf("LatestSMSCode(code ended two days ago) = %v, want not_found", err)
	}
}

func testSMSCodeConsumeRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	c := newCode(u, "login:race", T0)
	if err := s.CreateSMSCode(ctx, c, time.Minute); err != nil {
		t.Fatal(err)
	}
	wins := parallel(t, 50, func(int) (bool, error) {
		return s.ConsumeSMSCode(ctx, c.ID, T0.Add(time.Minute))
	})
	if wins != 1 {
		t.Errorf("ConsumeSMSCode succeeded %d times, want 1", wins)
	}
}

func testSMSCodeAttemptRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	c := newCode(u, "login:race", T0)
	if err := s.CreateSMSCode(ctx, c, time.Minute); err != nil {
		t.Fatal(err)
	}
	const n = 40
	var mu sync.Mutex
	var seen []int
	parallel(t, n, func(int) (bool, error) {
		k, err := s.AttemptSMSCode(ctx, c.ID, T0.Add(time.Minute))
		mu.Lock()
		seen = append(seen, k)
		mu.Unlock()
		return err == nil, err
	})
	sort.Ints(seen)
	for i, k := range seen {
		if k != i+1 {
			t.Fatalf("AttemptSMSCode answers = %v, want each of 1..%d once", seen, n)
		}
	}
}

func testSMSCodeResendRace(t *testing.T, s deadbolt.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "alice")
	if err := s.CreateSMSCode(ctx, newCode(u, "login:race", T0), time.Minute); err != nil {
		t.Fatal(err)
	}
	var all []*deadbolt.SMSCode
	for round, at := range []time.Time{T0.Add(2 * time.Minute), T0.Add(4 * time.Minute)} {
		codes := make([]*deadbolt.SMSCode, 20)
		for i := range codes {
			codes[i] = newCode(u, "login:race", at)
		}
		all = append(all, codes...)
		wins := parallel(t, len(codes), func(i int) (bool, error) {
			err := s.CreateSMSCode(ctx, codes[i], time.Minute)
			if deadbolt.IsCode(err, deadbolt.CodeConflict) {
				return false, nil
			}
			return err == nil, err
		})
		if wins != 1 {
			t.Fatalf("round %d: %d of %d racing resends were stored, want exactly 1", round, wins, len(codes))
		}
	}
	// Of every code stored, only the last round's winner is still usable.
	usable := 0
	for _, c := range all {
		if _, err := s.AttemptSMSCode(ctx, c.ID, T0.Add(5*time.Minute)); err == nil {
			usable++
		}
	}
	if usable != 1 {
		t.Errorf("%d codes usable after the races, want 1", usable)
	}
}
