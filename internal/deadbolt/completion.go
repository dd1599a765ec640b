package deadbolt

import (
	"context"
	"time"
)

// Completion is everything a successful second-factor proof changes,
// written in one transaction (one durable commit per sign-in):
//
//  1. the proof is used up, by one atomic statement: the recovery code
//     with RecoveryHash, the TOTP step (the last used step only moves
//     forward), the approved push request PushRequestID, or the passkey
//     Passkey of the user (its counter moves as PasskeyUse says; a
//     counter that did not move forward, or a passkey gone, is a proof
//     used) — at most one;
//  2. the pending session OldSessionID is replaced by NewSession (a
//     sign-in), NewSession alone is inserted (a sign-in with a passkey and
//     no password), or the session AuthSessionID records a fresh proof at
//     AuthAt with the method references AuthAMR (a reauth or step-up);
//  3. the counters ResetCounters are deleted;
//  4. Event is appended to the audit log.
//
// With a Guard, the transaction first deletes the guarded counter — only
// while the guard allows it — and changes nothing at all when it does not
// (CodeLocked): a lock reached by other attempts while this one was being
// checked is never undone by its success.
type Completion struct {
	UserID       string
	RecoveryHash []byte
	TOTPStep     int64
	// PushRequestID is an approved push request, moved to consumed.
	PushRequestID string
	// Passkey is a verified passkey assertion.
	Passkey *PasskeyUse
	Now     time.Time

	OldSessionID string
	NewSession   *Session
	TokenHash    []byte

	AuthSessionID string
	AuthAt        time.Time
	// AuthAMR replaces the renewed session's method references.
	AuthAMR []string

	ResetCounters []string
	Event         *Event

	Guard *CounterGuard
}

// CounterGuard makes a completion conditional on a counter: the counter Key
// must be absent, below Below, or exactly Own (the count the completing
// attempt itself returned; 0 matches no count).
type CounterGuard struct {
	Key   string
	Below int64
	Own   int64
}

// Settlement is what a counted second-factor attempt writes besides its
// count, in the count's own transaction (CompletionStore.SettleAttempt).
type Settlement struct {
	// Completion, when set, is the attempt's success, applied as
	// CompleteSecondFactor applies one, its Guard aside: nothing can move
	// the counter between the count and the completion of one
	// transaction. It is all or nothing: a proof already used or a session
	// gone writes none of it and leaves the count and Events written.
	Completion *Completion
	// Events are appended whatever becomes of Completion (a failure, a
	// lock).
	Events []*Event
	// Uncounted takes the attempt back: nothing at all is written (an
	// attempt at a method the employee does not have).
	Uncounted bool
}

// SettledStreak is one streak a settled attempt hit: whether it was stored
// before the attempt, and whether the attempt counts on it.
type SettledStreak struct {
	Key     string
	Stored  bool
	Counted bool
}

// SettledWrites is what a store writes for the streaks of a settled attempt
// whose completion is applied, resetting the counters resets: a counted
// streak the success resets is not counted at all — it ends in the same
// commit — and is deleted only if it was stored; a counted streak it does
// not reset gets its hit. It returns the counters to delete (resets but
// the unstored streaks) and the streaks to hit.
func SettledWrites(resets []string, streaks ...SettledStreak) (del, hit []string) {
	ends := map[string]bool{}
	for _, k := range resets {
		ends[k] = true
	}
	unstored := map[string]bool{}
	for _, st := range streaks {
		if !st.Stored {
			unstored[st.Key] = true
		}
		if st.Counted && !ends[st.Key] {
			hit = append(hit, st.Key)
		}
	}
	for _, k := range resets {
		if !unstored[k] {
			del = append(del, k)
		}
	}
	return del, hit
}

// Settle decides a counted attempt from the FactorState its count
// returned and says what to write with the count. It runs inside the
// store's write transaction: it must be quick and must not call the store.
// Its error is the attempt's answer, returned after the count (and the
// Settlement, Completion aside) is committed.
type Settle func(st *FactorState) (*Settlement, error)

// CompletionStore commits second-factor successes.
type CompletionStore interface {
	// SettleAttempt counts one second-factor attempt and settles it in one
	// durable transaction: it counts a hit at now on failuresKey — and on
	// streakKey too when countStreak — as FactorAttempt does, holding both
	// against every other count until it commits, calls settle with the
	// factor state and the counters including this hit, and writes what
	// settle returned with the count. A streak the applied Completion
	// resets ends in that commit, so its hit need not be written. It
	// reports whether the Settlement's Completion was applied: false, with
	// a nil error, when its proof was already used; CodeNotFound when its
	// session is gone (the count and events stay written either way).
	// settle's error is returned as it is. The trusted device and codes
	// left may be read just before the transaction (SQLite reads them off
	// the writer); the counters are the transaction's own.
	SettleAttempt(ctx context.Context, userID, failuresKey, streakKey string, countStreak bool, now time.Time, settle Settle) (bool, error)

	// CompleteSecondFactor applies c in one transaction, ending (as
	// replaced) any push request still pending for the sign-in it
	// completes or the fresh proof it renews. It reports false,
	// changing nothing, when the proof was already used (a replayed code or
	// a lost race); it answers CodeNotFound, changing nothing, when the
	// session to replace or renew is gone, and CodeLocked, changing
	// nothing, when c.Guard does not allow it.
	CompleteSecondFactor(ctx context.Context, c *Completion) (bool, error)
}
