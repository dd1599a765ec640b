package deadbolt

import (
	"context"
	"strings"
	"time"
	"unicode"
)

// Workgroup is a named group of employees that shares one two-factor
// policy.
type Workgroup struct {
	ID   string
	Name string
	// CreatedAt is when the workgroup was created.
	CreatedAt time.Time
	// Policy is the workgroup's two-factor policy.
	Policy WorkgroupPolicy
	// Members is the number of members, as counted when the workgroup was
	// read.
	Members int
}

// WorkgroupPolicy is a workgroup's two-factor policy as stored: plain data.
// The rules that read it live in package policy.
type WorkgroupPolicy struct {
	// Required turns the two-factor requirement on.
	Required bool
	// Deadline is when setup must be done; zero for none.
	Deadline time.Time
	// PausedUntil turns the requirement off until then; zero for none.
	PausedUntil time.Time
	// Paused turns the requirement off until turned on again.
	Paused bool
	// AfterDeadline is "banner", "block" or "" (meaning "banner").
	AfterDeadline string
	// MinMethod is the weakest second factor that satisfies the policy:
	// "any", "no_sms", "phishing_resistant" or "" (meaning "any").
	MinMethod string
	// UpdatedAt is when an administrator last saved the policy; zero if
	// never.
	UpdatedAt time.Time
}

// FoldName returns the key under which workgroup names are unique: two
// names are the same workgroup name when their keys are equal, which is
// when strings.EqualFold holds for the trimmed names. Each rune is mapped to
// the smallest rune of its Unicode simple case-folding orbit, so the key
// does not depend on the case the name was typed in. It is safe for
// concurrent use.
func FoldName(name string) string {
	name = strings.TrimSpace(name)
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < least {
				least = f
			}
		}
		b.WriteRune(least)
	}
	return b.String()
}

// AdminFactors is what decides whether one active administrator can still
// complete a sign-in: the administrator, their workgroups (with their
// policies) and how many passkeys they have.
type AdminFactors struct {
	User       *User
	Workgroups []*Workgroup
	Passkeys   int
}

// AdminRule decides whether a change may be made, from every active
// administrator as they are before it. The store reads them inside the
// change's own transaction, serialised with every other change that
// carries a rule, and calls the rule before it writes: no such change can
// come between the decision and the write. A non-nil error refuses the
// change; the store changes nothing and returns that error as it is.
type AdminRule func(admins []AdminFactors) error

// WorkgroupStore persists workgroups, their members and their two-factor
// policy, and the per-employee state the banners need (dismissals, the last
// "Everything is fine", exemptions). It stores; it decides nothing.
type WorkgroupStore interface {
	// CreateWorkgroup inserts w (ID, Name and CreatedAt set by the caller,
	// with its Policy). A name whose FoldName equals another workgroup's
	// is CodeConflict.
	CreateWorkgroup(ctx context.Context, w *Workgroup) error
	// Workgroup returns the workgroup with id, with its member count.
	Workgroup(ctx context.Context, id string) (*Workgroup, error)
	// WorkgroupByName returns the workgroup whose name has the same
	// FoldName as name.
	WorkgroupByName(ctx context.Context, name string) (*Workgroup, error)
	// ListWorkgroups lists every workgroup with its member count, by
	// FoldName of the name.
	ListWorkgroups(ctx context.Context) ([]*Workgroup, error)
	// RenameWorkgroup renames a workgroup; a name taken by another one is
	// CodeConflict.
	RenameWorkgroup(ctx context.Context, id, name string) error
	// DeleteWorkgroup deletes a workgroup and its memberships.
	DeleteWorkgroup(ctx context.Context, id string) error
	// SetWorkgroupPolicy replaces a workgroup's policy. With a rule, the
	// rule decides first, in the same transaction (AdminRule); its error
	// refuses the change, which then changes nothing.
	SetWorkgroupPolicy(ctx context.Context, id string, p WorkgroupPolicy, rule AdminRule) error
	// AddWorkgroupMember makes userID a member of workgroupID and reports
	// whether it was not one already. A missing workgroup or user is
	// CodeNotFound.
	AddWorkgroupMember(ctx context.Context, workgroupID, userID string, now time.Time) (bool, error)
	// RemoveWorkgroupMember ends a membership; CodeNotFound if there is
	// none.
	RemoveWorkgroupMember(ctx context.Context, workgroupID, userID string) error
	// WorkgroupMembers lists a workgroup's members by login; a missing
	// workgroup is CodeNotFound.
	WorkgroupMembers(ctx context.Context, workgroupID string) ([]*User, error)
	// UserWorkgroups lists the workgroups userID belongs to, with their
	// policies, by FoldName of the name; none (and no error) for an
	// unknown user.
	UserWorkgroups(ctx context.Context, userID string) ([]*Workgroup, error)

	// SetBannerDismissed records that userID closed (or put off) the
	// banner kind at at, replacing an earlier record. A missing user is
	// CodeNotFound.
	SetBannerDismissed(ctx context.Context, userID, kind string, at time.Time) error
	// SetLastConfirmed stores the user's last "Everything is fine".
	SetLastConfirmed(ctx context.Context, userID string, at time.Time) error
	// SetExemptUntil stores the end of the user's exemption; the zero time
	// clears it.
	SetExemptUntil(ctx context.Context, userID string, until time.Time) error
}
