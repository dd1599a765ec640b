package policy

import (
	"time"

	"deadbolt/internal/deadbolt"
)

// AfterDeadline says what happens once a required setup deadline has passed.
type AfterDeadline string

// The values of AfterDeadline.
const (
	// AfterDeadlineBanner keeps the employee signing in as before, with a
	// two-factor banner that can no longer be closed. It is the default.
	AfterDeadlineBanner AfterDeadline = "banner"
	// AfterDeadlineBlock also sends a password sign-in straight to
	// two-factor setup.
	AfterDeadlineBlock AfterDeadline = "block"
)

// ParseAfterDeadline parses the after_deadline value of a policy request.
// The empty string means AfterDeadlineBanner. Any other value than "banner"
// or "block" (matched exactly) gives a *deadbolt.Error with
// deadbolt.CodeInvalidInput. It is safe for concurrent use.
func ParseAfterDeadline(s string) (AfterDeadline, error) {
	switch a := AfterDeadline(s); a {
	case "":
		return AfterDeadlineBanner, nil
	case AfterDeadlineBanner, AfterDeadlineBlock:
		return a, nil
	}
	return "", errorf(deadbolt.CodeInvalidInput, "after_deadline",
		`after_deadline must be "banner" or "block".`)
}

// Policy is one workgroup's two-factor policy.
//
// Required is the standing setting. An administrator turns a requirement off
// for a while either until a date (PausedUntil) or until turned on again
// (Paused). A PausedUntil is read as "off until then, required afterwards"
// even when Required is false, since a pause with an end only makes sense
// for a requirement that resumes. Pausing does not move the deadline: a
// pause that outlasts the deadline brings the requirement back overdue,
// unless the deadline is extended too.
type Policy struct {
	// Required turns the two-factor requirement on for the workgroup.
	Required bool
	// Deadline is when setup must be done; zero means no deadline, so the
	// banner stays closable for good.
	Deadline time.Time
	// PausedUntil turns the requirement off until this instant; zero means
	// no dated pause.
	PausedUntil time.Time
	// Paused turns the requirement off until an administrator turns it on
	// again.
	Paused bool
	// AfterDeadline is what happens once the deadline has passed; empty
	// means AfterDeadlineBanner.
	AfterDeadline AfterDeadline
	// MinMethod is the weakest second factor accepted once the deadline
	// has passed; empty means MinAny.
	MinMethod MinMethod
}

// Validate reports whether p is a policy an administrator may save. It
// returns a *deadbolt.Error with deadbolt.CodeInvalidInput and a message
// meant for the administrator (Extra["field"] names the offending field)
// when AfterDeadline is not a known value, or when p is paused both until a
// date and until turned on again. A deadline in the past is allowed: it makes
// the requirement overdue at once. It is safe for concurrent use.
func (p Policy) Validate() error {
	if _, err := ParseAfterDeadline(string(p.AfterDeadline)); err != nil {
		return err
	}
	if _, err := ParseMinMethod(string(p.MinMethod)); err != nil {
		return err
	}
	if p.Paused && !p.PausedUntil.IsZero() {
		return errorf(deadbolt.CodeInvalidInput, "paused_until",
			"Pause the requirement either until a date or until it is turned on again, not both.")
	}
	return nil
}

// Active reports whether p requires two-factor authentication at now: it is
// required (or a dated pause has ended) and not paused. The requirement
// comes back at PausedUntil itself. It is safe for concurrent use.
func (p Policy) Active(now time.Time) bool {
	if p.Paused {
		return false
	}
	if !p.PausedUntil.IsZero() {
		return !now.Before(p.PausedUntil)
	}
	return p.Required
}

// blocks reports whether p sends sign-in to setup once overdue.
func (p Policy) blocks() bool { return p.AfterDeadline == AfterDeadlineBlock }

// Requirement is the two-factor requirement that applies to one employee,
// combined from all their workgroups' policies by Effective.
type Requirement struct {
	// Required is true when at least one of the employee's workgroups
	// requires two-factor authentication now.
	Required bool
	// Deadline is the earliest setup deadline among those workgroups; zero
	// when none of them sets one.
	Deadline time.Time
	// Block is true when, once overdue, sign-in must lead straight to
	// setup.
	Block bool
	// MinMethod is the strictest min_method among the active policies,
	// empty when none asks more than MinAny.
	MinMethod MinMethod
	// MethodDeadline is the earliest deadline among the active policies
	// that ask MinMethod; zero when none of them sets one (or MinMethod is
	// empty).
	MethodDeadline time.Time
	// Enforced is the strictest min_method among the active policies
	// whose deadline has passed, empty when none asks more than MinAny:
	// what a sign-in must meet now (MethodAllowed).
	Enforced MinMethod
}

// Overdue reports whether r is required and its deadline has passed at now
// (the deadline instant itself counts as passed). It is safe for concurrent
// use.
func (r Requirement) Overdue(now time.Time) bool {
	return r.Required && !r.Deadline.IsZero() && !now.Before(r.Deadline)
}

// Effective combines the policies of all an employee's workgroups at now.
//
// Only active policies count (see Policy.Active). The earliest deadline among
// them applies; an active policy without a deadline requires setup without
// one, so the result has a deadline only if some active policy sets one.
// Block follows the policy that gives the applied deadline; when several
// policies share that earliest deadline, Block is set if any of them blocks,
// the stricter reading. With no deadline Block is false, since there is
// nothing to be overdue on. MinMethod, MethodDeadline and Enforced follow
// the policies' min_method the same way: the strictest asked, the earliest
// deadline of those asking it, and the strictest of those overdue. Effective never fails and is safe for
// concurrent use.
func Effective(policies []Policy, now time.Time) Requirement {
	var r Requirement
	for _, p := range policies {
		if !p.Active(now) {
			continue
		}
		r.Required = true
		if m := p.MinMethod; m.rank() > 0 {
			switch {
			case m.rank() > r.MinMethod.rank():
				r.MinMethod, r.MethodDeadline = m, p.Deadline
			case m.rank() == r.MinMethod.rank() && !p.Deadline.IsZero() &&
				(r.MethodDeadline.IsZero() || p.Deadline.Before(r.MethodDeadline)):
				r.MethodDeadline = p.Deadline
			}
			if !p.Deadline.IsZero() && !now.Before(p.Deadline) {
				r.Enforced = r.Enforced.Or(m)
			}
		}
		switch {
		case p.Deadline.IsZero():
		case r.Deadline.IsZero() || p.Deadline.Before(r.Deadline):
			r.Deadline = p.Deadline
			r.Block = p.blocks()
		case p.Deadline.Equal(r.Deadline):
			r.Block = r.Block || p.blocks()
		}
	}
	return r
}
