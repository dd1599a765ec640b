package deadbolt

import (
	"context"
	"time"
)

// FactorOverview is what the Security page and GET /me show about an
// employee besides the user row, read in one go.
type FactorOverview struct {
	// Device is the trusted (confirmed, connected) device, nil if none.
	Device *Device
	// RecoveryCodesLeft counts unused recovery codes.
	RecoveryCodesLeft int
	// Passkeys counts the employee's passkeys.
	Passkeys int
	// Policies are the policies of the employee's workgroups.
	Policies []WorkgroupPolicy
	// Dismissals maps banner kinds to when the employee last closed them.
	Dismissals map[string]time.Time
}

// OverviewStore reads a FactorOverview in one statement: it runs on every
// GET /me, so it must stay cheap.
type OverviewStore interface {
	FactorOverview(ctx context.Context, userID string) (*FactorOverview, error)
}

// FactorState is what a second-factor attempt reads before checking a
// code, in one statement: the trusted device, unused recovery codes, and
// the two counters it names.
type FactorState struct {
	Device            *Device // nil if none
	RecoveryCodesLeft int
	Passkeys          int // how many passkeys the employee has
	// Policies are the policies of the employee's workgroups.
	Policies []WorkgroupPolicy
	Failures Counter
	Streak   Counter
}

// FactorStateStore reads a FactorState in one statement, or counts an
// attempt and reads it in one write.
type FactorStateStore interface {
	// FactorState reads the user's trusted device, codes left, number of
	// passkeys and the counters failuresKey and streakKey (zero when absent).
	FactorState(ctx context.Context, userID, failuresKey, streakKey string) (*FactorState, error)
	// FactorAttempt counts one hit at now on the counter failuresKey — and
	// on streakKey too when countStreak — as Hit does without a window,
	// then reads the FactorState, all as one write: one statement on
	// PostgreSQL, one unit of the group commit on SQLite. The counters it
	// returns include this hit. Its commit may return before it is flushed
	// to disk (PostgreSQL does so): the caller makes it durable by a later
	// durable write before it tells anyone what the attempt proved.
	FactorAttempt(ctx context.Context, userID, failuresKey, streakKey string, countStreak bool, now time.Time) (*FactorState, error)
}
