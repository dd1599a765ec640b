package policy

import (
	"time"

	"deadbolt/internal/deadbolt"
)

// BannerKind names a home-page banner. The values are part of the API.
type BannerKind string

// The banner kinds, in the order Banners lists them.
const (
	// BannerTwoFactorRequired: a workgroup requires two-factor
	// authentication and the employee has not set it up.
	BannerTwoFactorRequired BannerKind = "two_factor_required"
	// BannerCheckLoginParameters: the periodic request to check the trusted
	// device and phone number.
	BannerCheckLoginParameters BannerKind = "check_login_parameters"
	// BannerConfirmDevice: the trusted device was disconnected by a
	// log-out-all or a password change and should be paired again.
	BannerConfirmDevice BannerKind = "confirm_device"
	// BannerRecoveryCodesNeeded: two-factor authentication is on and no
	// unused recovery code is left.
	BannerRecoveryCodesNeeded BannerKind = "recovery_codes_needed"
)

// kinds is every banner kind in display order.
var kinds = [...]BannerKind{
	BannerTwoFactorRequired,
	BannerCheckLoginParameters,
	BannerConfirmDevice,
	BannerRecoveryCodesNeeded,
}

// Kinds returns every banner kind in the order Banners lists them. It is
// safe for concurrent use.
func Kinds() []BannerKind { return append([]BannerKind(nil), kinds[:]...) }

// ParseBannerKind parses a banner kind from a request path. An unknown kind
// gives a *deadbolt.Error with deadbolt.CodeNotFound. It is safe for
// concurrent use.
func ParseBannerKind(s string) (BannerKind, error) {
	for _, k := range kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", errorf(deadbolt.CodeNotFound, "", "There is no such banner.")
}

// Action is what an employee does with a banner. The values are part of the
// API.
type Action string

// The banner actions.
const (
	// ActionClose hides a closable banner until the next calendar day.
	ActionClose Action = "close"
	// ActionRemindLater is the same as ActionClose under the label
	// "Remind me later".
	ActionRemindLater Action = "remind_later"
	// ActionConfirm ("Everything is fine") restarts the period of the
	// check_login_parameters banner.
	ActionConfirm Action = "confirm"
)

// ParseAction parses a banner action from a request body. An unknown action
// gives a *deadbolt.Error with CodeInvalidAction. It is safe for concurrent
// use.
func ParseAction(s string) (Action, error) {
	switch a := Action(s); a {
	case ActionClose, ActionRemindLater, ActionConfirm:
		return a, nil
	}
	return "", errorf(CodeInvalidAction, "action",
		`action must be "close", "remind_later" or "confirm".`)
}

// Banner is one banner to show now.
type Banner struct {
	Kind BannerKind
	// Closable tells the page whether the banner has a button that puts it
	// off until the next day ("close" or "Remind me later").
	Closable bool
	// Deadline is the setup deadline of a two_factor_required banner, zero
	// when there is none or for other kinds.
	Deadline time.Time
	// Overdue tells that a two_factor_required banner's deadline has
	// passed.
	Overdue bool
	// MinMethod is what a two_factor_required banner asks for: empty or
	// MinAny for any second factor, MinNoSMS, or MinPhishingResistant (a
	// passkey).
	MinMethod MinMethod
	// Actions lists what the banner's buttons send to Act, in the order the
	// page shows them. Close and remind_later are interchangeable in Act;
	// this names the one the banner's label means. Empty, never nil, when
	// the banner cannot be closed.
	Actions []Action
}

// State is everything the banner rules need about one employee. The zero
// value is an employee with nothing required and two-factor authentication
// off.
type State struct {
	// Requirement is Effective over the employee's workgroups.
	Requirement Requirement
	// ExemptUntil exempts the employee from the requirement while now is
	// before it: no two_factor_required banner and no setup block. It does
	// not touch the other banners.
	ExemptUntil time.Time
	// TwoFactorEnabled is whether the employee's second factor is on.
	TwoFactorEnabled bool
	// TwoFactorSince is when two-factor authentication was set up (the
	// trusted device confirmed); it starts the check_login_parameters
	// period.
	TwoFactorSince time.Time
	// LastConfirmedAt is the employee's last "Everything is fine"; it
	// restarts the check_login_parameters period.
	LastConfirmedAt time.Time
	// DeviceDisconnectedAt is set while the trusted device stays
	// disconnected by a log-out-all or a password change; zero once paired
	// again (or when it never was disconnected that way).
	DeviceDisconnectedAt time.Time
	// RecoveryCodesLeft is the number of unused, valid recovery codes.
	RecoveryCodesLeft int
	// Passkeys is the number of the employee's passkeys.
	Passkeys int
	// Dismissed holds, per kind, when the employee last closed the banner
	// or asked to be reminded later. A nil map means none.
	Dismissed map[BannerKind]time.Time
}

// Exempt reports whether an administrator's exemption covers now. It is
// safe for concurrent use.
func (s State) Exempt(now time.Time) bool { return now.Before(s.ExemptUntil) }

// DefaultCheckEvery is the default period of the check_login_parameters
// banner: 180 days.
const DefaultCheckEvery = 180 * 24 * time.Hour

// Settings are the organisation-wide settings the banner rules read.
type Settings struct {
	// Location is the organisation's time zone, which decides when a
	// calendar day starts; nil means UTC.
	Location *time.Location
	// CheckEvery is the period of the check_login_parameters banner,
	// counted as elapsed time; zero means DefaultCheckEvery.
	CheckEvery time.Duration
}

// Validate returns a *deadbolt.Error with deadbolt.CodeInvalidInput when
// CheckEvery is negative. It is safe for concurrent use.
func (set Settings) Validate() error {
	if set.CheckEvery < 0 {
		return errorf(deadbolt.CodeInvalidInput, "check_every",
			"The login parameters check period cannot be negative.")
	}
	return nil
}

func (set Settings) location() *time.Location {
	if set.Location == nil {
		return time.UTC
	}
	return set.Location
}

func (set Settings) checkEvery() time.Duration {
	if set.CheckEvery <= 0 {
		return DefaultCheckEvery
	}
	return set.CheckEvery
}

// SetupRequired reports whether a password sign-in at now must lead straight
// to two-factor setup: the employee has not set up two-factor
// authentication and is not exempt, and either the requirement blocks and
// its deadline has passed, or the min_method enforced now is not met by the
// password alone (MinPhishingResistant). It is safe for concurrent use.
func SetupRequired(s State, now time.Time) bool {
	if s.TwoFactorEnabled || s.Exempt(now) {
		return false
	}
	return s.Requirement.Block && s.Requirement.Overdue(now) || !MethodAllowed(s, MethodPassword, now)
}

// CheckDue returns when the check_login_parameters banner falls due: the
// later of TwoFactorSince and LastConfirmedAt plus the check period. A state
// with neither time is due from the zero time on, so a caller that forgets
// TwoFactorSince sees the banner at once rather than never. It is safe for
// concurrent use.
func CheckDue(s State, set Settings) time.Time {
	base := s.TwoFactorSince
	if s.LastConfirmedAt.After(base) {
		base = s.LastConfirmedAt
	}
	return base.Add(set.checkEvery())
}

// rule is the state of one banner kind at one instant, dismissals aside.
type rule struct {
	active   bool      // the banner's condition holds
	closable bool      // it can be put off now
	since    time.Time // start of the current episode, zero if unknown
	banner   Banner
}

// evaluate applies the rule of kind k to s at now, ignoring dismissals.
func evaluate(k BannerKind, s State, set Settings, now time.Time) rule {
	switch k {
	case BannerTwoFactorRequired:
		// Overdue: shown on every page load and not closable, whatever
		// was dismissed earlier; a later deadline makes it closable again.
		// An employee with a second factor still sees it while their
		// policy asks for a passkey they do not have, with that demand's
		// deadline.
		req := s.Requirement
		need, deadline := needsMethod(s)
		if !req.Required || !need || s.Exempt(now) {
			return rule{}
		}
		overdue := !deadline.IsZero() && !now.Before(deadline)
		closable := !overdue
		b := Banner{Kind: k, Closable: closable, Deadline: deadline, Overdue: overdue, MinMethod: req.MinMethod, Actions: []Action{}}
		if closable {
			b.Actions = []Action{ActionClose}
		}
		return rule{active: true, closable: closable, banner: b}
	case BannerCheckLoginParameters:
		// Closable: a reminder that cannot be removed without answering
		// "Everything is fine" teaches people to answer it unread. While
		// the device is disconnected there is nothing to check;
		// confirm_device asks for a new pairing, which restarts the
		// period.
		if !s.TwoFactorEnabled || !s.DeviceDisconnectedAt.IsZero() {
			return rule{}
		}
		due := CheckDue(s, set)
		if now.Before(due) {
			return rule{}
		}
		return rule{active: true, closable: true, since: due, banner: Banner{
			Kind: k, Closable: true, Actions: []Action{ActionConfirm, ActionClose},
		}}
	case BannerConfirmDevice:
		if s.DeviceDisconnectedAt.IsZero() {
			return rule{}
		}
		return rule{active: true, closable: true, since: s.DeviceDisconnectedAt, banner: Banner{
			Kind: k, Closable: true, Actions: []Action{ActionRemindLater},
		}}
	case BannerRecoveryCodesNeeded:
		if !s.TwoFactorEnabled || s.RecoveryCodesLeft > 0 {
			return rule{}
		}
		return rule{active: true, closable: true, banner: Banner{
			Kind: k, Closable: true, Actions: []Action{ActionClose},
		}}
	}
	return rule{}
}

// hidden reports whether a dismissal at d hides a banner governed by r at
// now: only a closable banner, only on d's calendar day, and only if d is
// not older than the episode the banner is about (a new disconnection or a
// new check period shows at once). An episode recorded as starting after now,
// which only a clock set back can produce, counts as starting now.
func (r rule) hidden(d time.Time, ok bool, loc *time.Location, now time.Time) bool {
	if !r.closable || !ok || d.IsZero() {
		return false
	}
	since := r.since
	if since.After(now) {
		since = now
	}
	if !since.IsZero() && d.Before(since) {
		return false
	}
	return sameDay(d, now, loc)
}

// Banners returns the banners to show at now, at most one per kind, in the
// order of Kinds. A closable banner the employee dismissed today (in the
// organisation's time zone) is left out until the next calendar day; a
// banner that is not closable is never left out for a dismissal. Banners
// never fails and is safe for concurrent use, provided s.Dismissed is not
// being written meanwhile.
func Banners(s State, set Settings, now time.Time) []Banner {
	loc := set.location()
	out := []Banner{}
	for _, k := range kinds {
		r := evaluate(k, s, set, now)
		if !r.active {
			continue
		}
		d, ok := s.Dismissed[k]
		if r.hidden(d, ok, loc, now) {
			continue
		}
		out = append(out, r.banner)
	}
	return out
}
