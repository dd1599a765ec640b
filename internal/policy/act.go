package policy

import (
	"maps"
	"time"
)

// Outcome is what Act asks the caller to record. Exactly one of DismissedAt
// and ConfirmedAt is set.
type Outcome struct {
	Kind   BannerKind
	Action Action
	// DismissedAt, when set, is to be stored as Dismissed[Kind].
	DismissedAt time.Time
	// HiddenUntil is when a dismissed banner may show again: the start of
	// the next calendar day in the organisation's time zone. Zero unless
	// DismissedAt is set.
	HiddenUntil time.Time
	// ConfirmedAt, when set, is to be stored as LastConfirmedAt; it
	// restarts the check_login_parameters period.
	ConfirmedAt time.Time
}

// Apply returns s with o recorded. It copies Dismissed rather than writing
// to the caller's map. It is safe for concurrent use.
func (o Outcome) Apply(s State) State {
	if !o.DismissedAt.IsZero() {
		d := maps.Clone(s.Dismissed)
		if d == nil {
			d = make(map[BannerKind]time.Time, 1)
		}
		d[o.Kind] = o.DismissedAt
		s.Dismissed = d
	}
	if !o.ConfirmedAt.IsZero() {
		s.LastConfirmedAt = o.ConfirmedAt
	}
	return s
}

// Act checks an employee's action on a banner of kind k at now against s and
// returns what to record.
//
// ActionClose and ActionRemindLater both put a closable banner off until the
// next calendar day; doing so again the same day is harmless. ActionConfirm
// applies to check_login_parameters only and restarts its period at now. A
// banner hidden for today still counts as shown, so a page loaded earlier can
// still be answered.
//
// Errors, all *deadbolt.Error: deadbolt.CodeNotFound for an unknown kind;
// CodeInvalidAction for an unknown action or ActionConfirm on another kind;
// CodeBannerNotShown when the banner's condition does not hold at now;
// CodeBannerNotClosable when putting off a banner that cannot be closed now
// (two_factor_required past its deadline). Act is safe for concurrent use,
// provided s.Dismissed is not being written meanwhile.
func Act(s State, set Settings, k BannerKind, a Action, now time.Time) (Outcome, error) {
	if _, err := ParseBannerKind(string(k)); err != nil {
		return Outcome{}, err
	}
	if _, err := ParseAction(string(a)); err != nil {
		return Outcome{}, err
	}
	if a == ActionConfirm && k != BannerCheckLoginParameters {
		return Outcome{}, errorf(CodeInvalidAction, "action",
			"Only the login parameters banner can be confirmed.")
	}
	r := evaluate(k, s, set, now)
	if !r.active {
		return Outcome{}, errorf(CodeBannerNotShown, "", "This banner is not shown at the moment.")
	}
	o := Outcome{Kind: k, Action: a}
	switch {
	case a == ActionConfirm:
		o.ConfirmedAt = now
	case !r.closable:
		return Outcome{}, errorf(CodeBannerNotClosable, "",
			"The setup deadline has passed, so this banner stays until two-factor authentication is set up. An administrator can extend the deadline.")
	default:
		o.DismissedAt = now
		o.HiddenUntil = nextDayStart(now, set.location())
	}
	return o, nil
}
