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
