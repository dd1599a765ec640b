package signin

import (
	"context"
	"errors"
	"sync"
	"time"

	"deadbolt/internal/deadbolt"
)

// The attempt gate. Every proof an employee (or someone holding their
// password) can guess passes through it — the password at sign-in and in
// the own-password checks, and every second-factor method: a TOTP code, a
// recovery code, an SMS code, the number of a push approval, a fresh proof
// by any of them — so that many attempts sent at once get no more checks
// than the same number sent one by one.
//
// Count first, then decide, then check:
//
//  1. The attempt is counted by one atomic statement before anything is
//     checked. The statement returns the count n of the streak including
//     this attempt, and the time of the attempt before it (Counter.Prev).
//     For a second factor that statement also reads what the check needs
//     (the trusted device, codes left, the recovery streak): it is the
//     one read the attempt makes, so counting costs no extra round trip.
//  2. The rule decides from what the increment returned, in plain Go
//     (limit.decide), never by reading the counter again:
//     - n above the lock threshold: 423 locked, without checking;
//     - n within the free attempts: checked;
//     - otherwise checked only if the attempt before it was at least
//     delay(n-1) ago; if not, 429 rate_limited with retry_after =
//     delay(n), since the next attempt's "attempt before" is this one —
//     a client that waits that long is checked. A refused attempt still
//     counts: it was made.
//     - The attempt that reaches the threshold locks the second factor
//     when it is wrong, or when it is refused by a delay (no attempt
//     after it could be checked): 423, and the second_factor.locked
//     event, recorded once since exactly one attempt sees that count.
//  3. Only then is the proof checked; a wrong one is recorded as a failure
//     (it is already counted).
//  4. A success resets the streak in the completion's transaction
//     (deadbolt.Completion), guarded (deadbolt.CounterGuard): the counter
//     is deleted only while it is below the threshold or still at this
//     attempt's own count, so a lock that other attempts reached while
//     this one was being checked is never undone by its success; such a
//     success answers 423 and changes nothing. Attempts counted between
//     this attempt's increment and its completion are forgotten with the
//     streak: they are at most the handful a delay lets through in that
//     instant.
//
// A TOTP or recovery code (settleCode) takes all four steps in one
// transaction (deadbolt.CompletionStore.SettleAttempt). Its first step
// holds the employee's streak for the whole transaction — PostgreSQL by a
// transaction-scoped lock that every count of the streak takes, SQLite
// because its one writer runs one write at a time — and reads it: the
// count the rule decides from is the stored one plus this attempt, exactly
// what the increment would return, and no other attempt can count before
// this one commits. The rule and the check run in Go, inside the
// transaction; then the failure is recorded with its count, or the
// completion written with the streaks reset — and since the success ends
// them in the same commit, their count is never written. One durable
// commit covers the count and the outcome, so a success costs what it did
// before attempts were counted first: one write transaction, plus the
// read of the streak. The other proofs (an SMS code, whose own tries are
// counted in the store; a push number; a passkey; a pairing code; a
// recovery code sent with a solved CAPTCHA) take the steps as separate
// writes (secondFactorGate), the success guarded as step 4 says.
//
// Consequences: of 50 wrong codes sent at once at most 5 (the free ones)
// are checked; the rest are 429 and count. The second-factor streak counts
// attempts, not only failures: it is the number of attempts since the last
// success, which is what limits guessing.
//
// Second factors share one streak per employee (sf:<id>), across methods,
// sign-in and fresh proof alike. Recovery codes also count their own
// streak (rc:<id>), counted first the same way: with a streak above
// CaptchaAfter a recovery code is checked only together with a solved
// CAPTCHA (single use); only a recovery-code success or an administrator
// resets that streak. A push approval is an attempt (its number is the
// proof); a denial or "This wasn't me" is not a guess and is not counted.
// A method the employee does not have is bad input: its count is taken
// back (Unhit), the time of the last attempt stays — a delay can only get
// stricter from it — and it answers invalid_input.
//
// Locked means no method works and nothing is sent: no push at sign-in
// (the answer says "locked"), no push on request, no SMS, 423 for every
// code, a device approval refused (the request ends denied), and an
// approval given before the lock cannot be collected after it (the
// completion's guard).
//
// Passwords: per account a streak like the second factor's (no lock, its
// own free count and delays; a success resets it). Per IP a window
// (IPFailures in IPWindow); since every attempt is counted before the hash
// is checked, a success takes its own hit back (Unhit, one atomic
// statement, only from the window it was counted in), so the window counts
// failures plus the attempts in flight. A password attempt is counted when
// it gets a hashing slot (password.Hasher.VerifyCounted), not when it
// arrives: "in flight" is then at most the hashing slots (per node), so a
// burst of a thousand sign-ins from one office address passes — each
// success taken back before long — while concurrent guesses are still
// bounded by the window: at most IPFailures are ever checked in it.
//
// Durability. The count must survive a crash whenever the attempt's
// outcome was told: otherwise a crash would hand back checked guesses. A
// settled attempt commits its count and its outcome durably together. For
// the others every answer that tells an outcome is sent only after a
// durable write that follows the increment — a success after its
// completion's commit, a wrong proof after its second_factor_failure event
// (recorded durably: if that record fails, the answer is the error, not
// invalid_code), an SMS code after its own try count, a push number after
// its decision — and a durable commit makes every earlier commit of the
// same database durable too (PostgreSQL flushes its WAL in order, up to
// the committing record; SQLite at synchronous=FULL syncs the whole WAL
// file). So their increment (FactorAttempt) need not wait for its own
// flush, and does not: PostgreSQL commits it with synchronous_commit off
// for that one statement, SQLite commits it in a group of its own kind at
// synchronous=NORMAL (store/sqlite/relaxed.go). A crash can then forget
// only increments whose answers told nothing about a proof — refusals
// (429, 423, captcha_required) — whose loss shortens a delay, never frees
// a guess; both databases flush such commits within moments anyway, and
// the lock is recorded durably by the attempt that reaches it, before its
// answer.
// Password counters stay fully durable (a sign-in's hashing dwarfs them).

// Adding a method is one call to secondFactorGate with its usable and
// check functions, a completion it leads to taking lockGuard — or, when
// its check needs nothing but the factor state, a case of settleCode.

// limit is one counting rule: a streak whose first free attempts are
// checked at once, then each after a delay; lockAt (if not 0) ends it.
type limit struct {
	free   int64
	delay  func(n int64) time.Duration // the wait after n attempts
	lockAt int64
}

// verdict is what the gate decides for one counted attempt.
type verdict struct {
	check  bool          // check the proof
	wait   time.Duration // refused until then (429), when !check && !locked
	locked bool          // refused: 423
	// locks: this attempt is the one that reaches the lock threshold;
	// if it fails (or is refused), the second factor is locked now.
	locks bool
}

// decide applies the rule to the counter that this attempt's own hit
// returned, at now.
func (l limit) decide(c deadbolt.Counter, now time.Time) verdict {
	n := c.N
	last := l.lockAt > 0 && n == l.lockAt
	switch {
	case l.lockAt > 0 && n > l.lockAt:
		return verdict{locked: true}
	case n <= l.free:
		return verdict{check: true, locks: last}
	case !c.Prev.IsZero() && !now.Before(c.Prev.Add(l.delay(n-1))):
		return verdict{check: true, locks: last}
	case last:
		return verdict{locked: true, locks: true}
	default:
		return verdict{wait: l.delay(n)}
	}
}

// window is a counting rule over a fixed window: more than max hits in it
// are refused until it ends.
type window struct {
	max  int64
	span time.Duration
}

// decide returns the wait before the window ends, or 0 to check.
func (w window) decide(c deadbolt.Counter, now time.Time) time.Duration {
	if c.N <= w.max {
		return 0
	}
	if end := c.First.Add(w.span); now.Before(end) {
		return end.Sub(now)
	}
	return 0
}

// secondFactorLimit is the second-factor rule of the configuration.
func (s *Service) secondFactorLimit() limit {
	return limit{free: int64(s.cfg.SecondFactorFreeFailures), delay: s.secondFactorDelay, lockAt: int64(s.cfg.SecondFactorLockAt)}
}

// accountLimit is the per-account password rule.
func (s *Service) accountLimit() limit {
	return limit{free: int64(s.cfg.AccountFreeFailures), delay: s.accountDelay}
}

// ipWindow is the per-IP password rule.
func (s *Service) ipWindow() window {
	return window{max: int64(s.cfg.IPFailures), span: s.cfg.IPWindow}
}

// gateAttempt is one second-factor attempt for secondFactorGate.
type gateAttempt struct {
	userID string
	method string
	// captcha is the solved CAPTCHA sent with a recovery code, if any.
	captcha *CaptchaAnswer
	client  Client
	// usable reports whether the employee has the method; false takes the
	// attempt back and answers CodeInvalidInput.
	usable func(st *deadbolt.FactorState) bool
	// check checks the proof once the attempt is counted and allowed. It
	// returns what the completion consumes (nil when the method uses its
	// proof up itself), whether the proof is right, and an error only when
	// it could not be checked.
	check func(st *deadbolt.FactorState) (*proof, bool, error)
}

// errUnusable marks an attempt at a method the employee does not have.
var errUnusable = deadbolt.Errorf(deadbolt.CodeInvalidInput, "That sign-in method is not available for your account.")

// secondFactorGate runs one second-factor attempt: count, decide, check.
// It answers CodeLocked, CodeRateLimited (with the wait), CodeInvalidInput
// for a method the employee does not have, CodeCaptchaRequired for a
// recovery code past the streak without a solved CAPTCHA, CodeInvalidCode
// for a wrong proof; on success the proof to complete, carrying what the
// completion's guard needs.
func (s *Service) secondFactorGate(ctx context.Context, a gateAttempt) (*proof, error) {
	if s.factors == nil {
		return nil, errUnusable
	}
	now := s.clock.Now()
	recovery := a.method == MethodRecovery
	st, err := s.store.FactorAttempt(ctx, a.userID, failureKey(a.userID), recoveryKey(a.userID), recovery, now)
	if err != nil {
		return nil, err
	}
	v := s.secondFactorLimit().decide(st.Failures, now)
	switch {
	case v.locked:
		if v.locks {
			// The lock must outlive a crash: durably, before the answer.
			if err := s.audit.RecordDurably(ctx, deadbolt.EventSecondFactorLock, a.userID, "", a.client.IP, nil); err != nil {
				return nil, err
			}
		}
		return nil, lockedError()
	case !v.check:
		return nil, deadbolt.RateLimited(v.wait, "Too many wrong codes.")
	}
	if !a.usable(st) {
		s.takeBack(ctx, a.userID, st, recovery)
		return nil, errUnusable
	}
	if recovery && st.Streak.N > int64(s.cfg.CaptchaAfter) {
		if err := s.checkCaptcha(ctx, a.userID, a.captcha, a.client, now); err != nil {
			return nil, err
		}
	}
	p, ok, err := a.check(st)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.secondFactorFailed(ctx, a.userID, a.method, st.Streak.N, v.locks, a.client)
	}
	if p == nil {
		p = &proof{}
	}
	p.method, p.attempt, p.locks, p.streak = a.method, st.Failures.N, v.locks, st.Streak.N
	if recovery {
		p.reset = append(p.reset, recoveryKey(a.userID))
	}
	return p, nil
}

// settles reports whether a code attempt by method is settled in one
// transaction with its count (settleCode): a TOTP or recovery code, whose
// check needs nothing but the factor state — not an SMS code (its own
// tries are counted in the store), nor a recovery code sent with a solved
// CAPTCHA (solving it is a write of its own).
func (s *Service) settles(method string, cap *CaptchaAnswer) bool {
	if s.factors == nil {
		return false
	}
	return method == MethodTOTP || (method == MethodRecovery && cap == nil)
}

// settleCode runs one TOTP or recovery-code attempt through the gate in a
// single transaction (deadbolt.CompletionStore.SettleAttempt): counted by
// its first statement, decided from that count, checked, and — when
// allowed and right — completed by the completion build makes from the
// factor state (it must not call the store), its proof filled in and the
// streaks reset; a failure is recorded in the same commit, so the count,
// the outcome and its record are durable together before the answer. The
// answers are those of secondFactorGate; a recovery code past the streak
// answers CodeCaptchaRequired (a CAPTCHA solved with it takes
// secondFactorGate). A success needs one transaction, like a sign-in
// without the gate: counting first costs one statement, not a commit.
func (s *Service) settleCode(ctx context.Context, u *deadbolt.User, method, code string, c Client,
	build func(st *deadbolt.FactorState) *deadbolt.Completion) error {
	now := s.clock.Now()
	recovery := method == MethodRecovery
	var (
		v      verdict
		streak int64
	)
	settle := func(st *deadbolt.FactorState) (*deadbolt.Settlement, error) {
		v, streak = s.secondFactorLimit().decide(st.Failures, now), st.Streak.N
		event := func(typ string, detail map[string]string) *deadbolt.Event {
			return &deadbolt.Event{Type: typ, At: now, UserID: u.ID, IP: c.IP, Detail: detail}
		}
		switch {
		case v.locked && v.locks:
			return &deadbolt.Settlement{Events: []*deadbolt.Event{event(deadbolt.EventSecondFactorLock, nil)}}, lockedError()
		case v.locked:
			return nil, lockedError()
		case !v.check:
			return nil, deadbolt.RateLimited(v.wait, "Too many wrong codes.")
		case !contains(s.methodsOf(u, st), method):
			return &deadbolt.Settlement{Uncounted: true}, errUnusable
		case recovery && st.Streak.N > int64(s.cfg.CaptchaAfter):
			return &deadbolt.Settlement{Events: []*deadbolt.Event{event(deadbolt.EventCaptchaShown, nil)}},
				captchaNeeded(deadbolt.Phrase("Solve the CAPTCHA to try another recovery code."))
		}
		var ok bool
		var hash []byte
		var step int64
		if recovery {
			hash, ok = s.checkRecovery(code)
		} else {
			var err error
			if step, ok, err = s.checkTOTP(u, st.Device, code, now); err != nil {
				return nil, err
			}
		}
		if !ok {
			evs := []*deadbolt.Event{event(deadbolt.EventSecondFactorFail, map[string]string{"method": method})}
			if v.locks {
				return &deadbolt.Settlement{Events: append(evs, event(deadbolt.EventSecondFactorLock, nil))}, lockedError()
			}
			return &deadbolt.Settlement{Events: evs}, wrongCode(streak, int64(s.cfg.CaptchaAfter))
		}
		comp := build(st)
		comp.RecoveryHash, comp.TOTPStep = hash, step
		comp.Guard, comp.ResetCounters = nil, []string{failureKey(u.ID)}
		if recovery {
			comp.ResetCounters = append(comp.ResetCounters, recoveryKey(u.ID))
		}
		return &deadbolt.Settlement{Completion: comp}, nil
	}
	var events []*deadbolt.Event
	done, err := s.store.SettleAttempt(ctx, u.ID, failureKey(u.ID), recoveryKey(u.ID), recovery, now,
		func(st *deadbolt.FactorState) (*deadbolt.Settlement, error) {
			set, err := settle(st)
			events = nil
			if set != nil && !set.Uncounted {
				events = set.Events
			}
			return set, err
		})
	for _, e := range events {
		if e.ID != "" {
			s.audit.Committed(ctx, e)
		}
	}
	switch {
	case deadbolt.IsCode(err, deadbolt.CodeNotFound):
		return unauthorized()
	case err != nil:
		return err
	case !done:
		// The proof was used meanwhile (a replayed code): a failed attempt.
		return s.secondFactorFailed(ctx, u.ID, method, streak, v.locks, c)
	}
	s.wakeDevices(ctx, u.ID)
	return nil
}

// MethodPairing is the code a newly paired device shows, typed into the
// browser that showed the QR code to confirm the pairing (SPEC §4).
const MethodPairing = "pairing"

// CheckPairingCode runs one pairing confirmation of userID, from ip,
// through the gate: counted in the employee's second-factor streak before
// check runs, decided from that count, then checked. check reports
// whether the code is right; commit then confirms the pairing in one
// transaction with guard, the streak's lock guard (the streak ends with
// the confirmation, as with any second-factor success, unless a lock was
// reached meanwhile: then the store answers CodeLocked and nothing
// changes), and reports false when the code's step was used meanwhile.
// CodeLocked while the second factor is locked (no device is confirmed
// then), CodeRateLimited (with the wait) during the delays,
// CodeInvalidCode for a wrong or used code, recorded as a second-factor
// failure; an error of check or commit is returned as it is.
func (s *Service) CheckPairingCode(ctx context.Context, userID, ip string, check func() (bool, error),
	commit func(guard *deadbolt.CounterGuard) (bool, error)) error {
	if s.factors == nil {
		return deadbolt.Errorf(deadbolt.CodeUnavailable, "Try again later.")
	}
	c := Client{IP: ip}
	p, err := s.secondFactorGate(ctx, gateAttempt{
		userID: userID, method: MethodPairing, client: c,
		usable: func(*deadbolt.FactorState) bool { return true },
		check: func(*deadbolt.FactorState) (*proof, bool, error) {
			ok, err := check()
			return nil, ok, err
		},
	})
	if err != nil {
		return err
	}
	applied, err := commit(s.lockGuard(userID, p.attempt))
	switch {
	case deadbolt.IsCode(err, deadbolt.CodeLocked):
		if p.locks {
			s.audit.Record(ctx, deadbolt.EventSecondFactorLock, userID, "", ip, nil)
		}
		return lockedError()
	case err != nil:
		return err
	case !applied:
		return s.secondFactorFailed(ctx, userID, MethodPairing, p.streak, p.locks, c)
	}
	return nil
}

// takeBack uncounts an attempt that was bad input.
func (s *Service) takeBack(ctx context.Context, userID string, st *deadbolt.FactorState, recovery bool) {
	err := s.store.Unhit(ctx, failureKey(userID), st.Failures.First)
	if recovery && err == nil {
		err = s.store.Unhit(ctx, recoveryKey(userID), st.Streak.First)
	}
	if err != nil {
		// Fail closed: the attempt stays counted.
		s.log.Warn("signin: cannot take back an attempt", "user_id", userID, "err", err)
	}
}

// secondFactorFailed records a counted attempt whose proof was wrong and
// answers it: CodeLocked when it was the attempt that reached the lock,
// else CodeInvalidCode telling whether a recovery code now needs a
// CAPTCHA (streak is the recovery streak as this attempt saw it).
func (s *Service) secondFactorFailed(ctx context.Context, userID, method string, streak int64, locks bool, c Client) error {
	// Durably, before the answer: see "Durability" above.
	if err := s.audit.RecordDurably(ctx, deadbolt.EventSecondFactorFail, userID, "", c.IP, map[string]string{"method": method}); err != nil {
		return err
	}
	if locks {
		s.audit.Record(ctx, deadbolt.EventSecondFactorLock, userID, "", c.IP, nil)
		return lockedError()
	}
	return wrongCode(streak, int64(s.cfg.CaptchaAfter))
}

// wrongCode answers a wrong proof, telling whether a recovery code now
// needs a CAPTCHA (streak is the recovery streak as the attempt saw it).
func wrongCode(streak, captchaAfter int64) error {
	e := deadbolt.Errorf(deadbolt.CodeInvalidCode, "The code is not correct.")
	need := streak >= captchaAfter
	e.CaptchaRequired = &need
	return e
}

// lockGuard is the guard every second-factor completion carries: it
// resets the employee's streak only while the second factor is not locked,
// or when attempt (the completing attempt's own count, 0 if unknown) is
// the one that reached the threshold.
func (s *Service) lockGuard(userID string, attempt int64) *deadbolt.CounterGuard {
	return &deadbolt.CounterGuard{Key: failureKey(userID), Below: int64(s.cfg.SecondFactorLockAt), Own: attempt}
}

// checkPassword runs one password attempt for the canonical login through
// the gate and reports whether pw matches phc ("" for an unknown login,
// checked against a dummy hash with the same cost). Once a hashing slot is
// free, and before hashing, the attempt is counted per login and per IP
// (each one atomic statement, the two at once) and decided: CodeRateLimited
// while the IP's window is full or the login must wait. A match of an
// account that may sign in (valid) ends the login's streak and takes the
// attempt back from the IP's window; anything else stays counted as a
// failure.
func (s *Service) checkPassword(ctx context.Context, login, pw, phc string, valid bool, ip string) (ok, rehash bool, err error) {
	var ipHit deadbolt.Counter
	ok, rehash, err = s.hasher.VerifyCounted(ctx, pw, phc, func() error {
		now := s.clock.Now()
		var acct deadbolt.Counter
		var ipErr, acctErr error
		var wg sync.WaitGroup
		if ip != "" {
			wg.Go(func() { ipHit, ipErr = s.store.Hit(ctx, ipKey(ip), now, s.cfg.IPWindow) })
		}
		acct, acctErr = s.store.Hit(ctx, accountKey(login), now, 0)
		wg.Wait()
		if err := errors.Join(ipErr, acctErr); err != nil {
			return err
		}
		if ip != "" {
			if wait := s.ipWindow().decide(ipHit, now); wait > 0 {
				return deadbolt.RateLimited(wait, "Too many failed sign-ins from your network.")
			}
		}
		if v := s.accountLimit().decide(acct, now); !v.check {
			return deadbolt.RateLimited(v.wait, "Too many failed sign-ins for this account.")
		}
		return nil
	})
	if err != nil || !ok || !valid {
		return ok, rehash, err
	}
	var errs []error
	if ip != "" {
		errs = append(errs, s.store.Unhit(ctx, ipKey(ip), ipHit.First))
	}
	errs = append(errs, s.store.ResetCounter(ctx, accountKey(login)))
	return ok, rehash, errors.Join(errs...)
}

// passwordWrong records a counted password attempt that failed and answers
// CodeInvalidCredentials.
func (s *Service) passwordWrong(ctx context.Context, u *deadbolt.User, reason string, c Client) error {
	uid := ""
	if u != nil {
		uid = u.ID
	}
	s.audit.Record(ctx, deadbolt.EventSignInFailed, uid, "", c.IP, map[string]string{"method": "password", "reason": reason})
	return invalidCredentials()
}
