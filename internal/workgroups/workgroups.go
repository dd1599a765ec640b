// Package workgroups manages workgroups, their members and their two-factor
// policy on behalf of administrators (require two-factor authentication by a
// deadline, extend it, turn it off for a while, exempt one employee), and
// answers for each employee what the policy asks of them now: whether
// setup is required, by when, and which home-page banners to show.
//
// The rules themselves live in package policy; this package loads what they
// read from the store, calls them with the injected clock's time, and stores
// what they decide. Every administrative action is checked against the
// acting employee and recorded in the audit log.
package workgroups

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"deadbolt/internal/accounts"
	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/policy"
)

// Store is the persistence the service needs.
type Store interface {
	deadbolt.UserStore
	deadbolt.FactorStore
	deadbolt.WorkgroupStore
	deadbolt.OverviewStore
}

// Service manages workgroups and answers policy questions. It is safe for
// concurrent use.
type Service struct {
	store Store
	audit *audit.Log
	clock deadbolt.Clock
	set   policy.Settings

	// PasskeysAvailable, if set, tells whether passkeys work on this
	// server (nil, or the CodePasskeysUnavailable error saying why not); a
	// policy demanding them is refused while they do not. Set it before
	// use.
	PasskeysAvailable func() error
}

// New returns a workgroup service with the organisation-wide settings set
// (time zone, check period). It returns a *deadbolt.Error with
// deadbolt.CodeInvalidInput when set is not valid.
func New(store Store, audit *audit.Log, clock deadbolt.Clock, set policy.Settings) (*Service, error) {
	if err := set.Validate(); err != nil {
		return nil, err
	}
	return &Service{store: store, audit: audit, clock: clock, set: set}, nil
}

// Settings returns the organisation-wide settings in force.
func (s *Service) Settings() policy.Settings { return s.set }

// MaxNameLen is the longest workgroup name, in characters.
const MaxNameLen = 100

// ValidateName trims a workgroup name and checks it: 1 to MaxNameLen
// characters of valid UTF-8 without control characters. A bad name is a
// *deadbolt.Error with deadbolt.CodeInvalidInput. It is safe for concurrent
// use.
func ValidateName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLen ||
		strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", invalid("name", "A workgroup name is 1 to %d characters, without control characters.", MaxNameLen)
	}
	return name, nil
}

// Times an administrator may set lie in this range; outside it a date is
// certainly a typing mistake, and the zero time means "none".
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// ParseTime parses the RFC 3339 time an administrator gave for field
// (deadline, paused_until, until) and returns it in UTC. The empty string is
// the zero time ("none"). Anything else that is not an RFC 3339 time between
// 1970 and 9999 is a *deadbolt.Error with deadbolt.CodeInvalidInput naming
// the field. It is safe for concurrent use.
func ParseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, invalid(field, "%s must be an RFC 3339 time such as 2026-12-01T00:00:00Z.", field)
	}
	if t.IsZero() {
		return time.Time{}, invalid(field, "%s must be between the years 1970 and 9999.", field)
	}
	return checkTime(field, t)
}

// checkTime returns t in UTC, or CodeInvalidInput when it is neither zero
// nor between minTime and maxTime.
func checkTime(field string, t time.Time) (time.Time, error) {
	if t.IsZero() {
		return t, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, invalid(field, "%s must be between the years 1970 and 9999.", field)
	}
	return t.UTC(), nil
}

func invalid(field, format string, args ...any) *deadbolt.Error {
	e := deadbolt.Errorf(deadbolt.CodeInvalidInput, format, args...)
	e.Extra = map[string]any{"field": field}
	return e
}

// PolicyOf returns the policy rules' view of a stored workgroup policy. It
// is safe for concurrent use.
func PolicyOf(p deadbolt.WorkgroupPolicy) policy.Policy {
	return policy.Policy{
		Required:      p.Required,
		Deadline:      p.Deadline,
		PausedUntil:   p.PausedUntil,
		Paused:        p.Paused,
		AfterDeadline: policy.AfterDeadline(p.AfterDeadline),
		MinMethod:     policy.MinMethod(p.MinMethod),
	}
}

// check returns CodeForbidden unless the actor may administer workgroups:
// the operator at the command line (nil User) or an active administrator.
func check(a accounts.Actor) error {
	if a.User != nil && (!a.User.Admin || !a.User.Active) {
		return deadbolt.Errorf(deadbolt.CodeForbidden, "Only administrators can do this.")
	}
	return nil
}

func actorID(a accounts.Actor) string {
	if a.User == nil {
		return ""
	}
	return a.User.ID
}

// Words for the store's answers about missing or taken things.
func workgroupNotFound(err error) error {
	return deadbolt.WithMessage(err, deadbolt.CodeNotFound, "Workgroup not found.")
}

func userNotFound(err error) error {
	return deadbolt.WithMessage(err, deadbolt.CodeNotFound, "Employee not found.")
}

func nameTaken(err error, name string) error {
	return deadbolt.WithMessagef(err, deadbolt.CodeConflict, "A workgroup named %q already exists.", name)
}

// workgroup finds a workgroup by id or, failing that, by name.
func (s *Service) workgroup(ctx context.Context, idOrName string) (*deadbolt.Workgroup, error) {
	if deadbolt.ValidID(idOrName) {
		w, err := s.store.Workgroup(ctx, idOrName)
		if !deadbolt.IsCode(err, deadbolt.CodeNotFound) {
			return w, err
		}
	}
	name := strings.TrimSpace(idOrName)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLen {
		return nil, deadbolt.Errorf(deadbolt.CodeNotFound, "Workgroup not found.")
	}
	w, err := s.store.WorkgroupByName(ctx, name)
	return w, workgroupNotFound(err)
}

// user finds an employee by id or login.
func (s *Service) user(ctx context.Context, idOrLogin string) (*deadbolt.User, error) {
	if deadbolt.ValidID(idOrLogin) {
		u, err := s.store.UserByID(ctx, idOrLogin)
		return u, userNotFound(err)
	}
	login := deadbolt.NormalizeLogin(idOrLogin)
	if accounts.ValidateLogin(login) != nil {
		return nil, deadbolt.Errorf(deadbolt.CodeNotFound, "Employee not found.")
	}
	u, err := s.store.UserByLogin(ctx, login)
	return u, userNotFound(err)
}

// Create creates a workgroup without members or requirement. A bad name is
// CodeInvalidInput; a name already used, in any letter case, CodeConflict;
// a non-administrator CodeForbidden.
func (s *Service) Create(ctx context.Context, actor accounts.Actor, name string) (*deadbolt.Workgroup, error) {
	if err := check(actor); err != nil {
		return nil, err
	}
	name, err := ValidateName(name)
	if err != nil {
		return nil, err
	}
	w := &deadbolt.Workgroup{ID: deadbolt.NewID(), Name: name, CreatedAt: s.clock.Now(),
		Policy: deadbolt.WorkgroupPolicy{AfterDeadline: string(policy.AfterDeadlineBanner)}}
	if err := s.store.CreateWorkgroup(ctx, w); err != nil {
		return nil, nameTaken(err, name)
	}
	s.audit.Record(ctx, deadbolt.EventAdminWorkgroupCreated, "", actorID(actor), actor.IP,
		map[string]string{"workgroup_id": w.ID, "name": w.Name})
	return w, nil
}

// List lists every workgroup with its policy and member count, by name.
// A non-administrator is CodeForbidden.
func (s *Service) List(ctx context.Context, actor accounts.Actor) ([]*deadbolt.Workgroup, error) {
	if err := check(actor); err != nil {
		return nil, err
	}
	return s.store.ListWorkgroups(ctx)
}

// Get returns one workgroup by id or name (any letter case); CodeNotFound
// if there is none, CodeForbidden for a non-administrator.
func (s *Service) Get(ctx context.Context, actor accounts.Actor, idOrName string) (*deadbolt.Workgroup, error) {
	if err := check(actor); err != nil {
		return nil, err
	}
	return s.workgroup(ctx, idOrName)
}

// Rename renames a workgroup. Errors as for Get and Create.
func (s *Service) Rename(ctx context.Context, actor accounts.Actor, idOrName, name string) (*deadbolt.Workgroup, error) {
	w, err := s.Get(ctx, actor, idOrName)
	if err != nil {
		return nil, err
	}
	name, err = ValidateName(name)
	if err != nil {
		return nil, err
	}
	if err := s.store.RenameWorkgroup(ctx, w.ID, name); err != nil {
		return nil, workgroupNotFound(nameTaken(err, name))
	}
	s.audit.Record(ctx, deadbolt.EventAdminWorkgroupRenamed, "", actorID(actor), actor.IP,
		map[string]string{"workgroup_id": w.ID, "name": name, "previous_name": w.Name})
	w.Name = name
	return w, nil
}

// Delete deletes a workgroup; its members stay, without its requirement.
// Errors as for Get.
func (s *Service) Delete(ctx context.Context, actor accounts.Actor, idOrName string) error {
	w, err := s.Get(ctx, actor, idOrName)
	if err != nil {
		return err
	}
	if err := s.store.DeleteWorkgroup(ctx, w.ID); err != nil {
		return deadbolt.WithMessage(workgroupNotFound(err), deadbolt.CodeConflict,
			"Applications admit this workgroup: remove it from their access lists before deleting it.")
	}
	s.audit.Record(ctx, deadbolt.EventAdminWorkgroupDeleted, "", actorID(actor), actor.IP,
		map[string]string{"workgroup_id": w.ID, "name": w.Name})
	return nil
}

// Members lists a workgroup's members by login. Errors as for Get.
func (s *Service) Members(ctx context.Context, actor accounts.Actor, idOrName string) ([]*deadbolt.User, error) {
	w, err := s.Get(ctx, actor, idOrName)
	if err != nil {
		return nil, err
	}
	members, err := s.store.WorkgroupMembers(ctx, w.ID)
	return members, workgroupNotFound(err)
}

// AddMember puts an employee (by id or login) into a workgroup and reports
// whether they were not in it already; adding twice is harmless.
// CodeNotFound for an unknown workgroup or employee, CodeForbidden for a
// non-administrator.
func (s *Service) AddMember(ctx context.Context, actor accounts.Actor, workgroup, user string) (bool, *deadbolt.User, error) {
	w, err := s.Get(ctx, actor, workgroup)
	if err != nil {
		return false, nil, err
	}
	u, err := s.user(ctx, user)
	if err != nil {
		return false, nil, err
	}
	added, err := s.store.AddWorkgroupMember(ctx, w.ID, u.ID, s.clock.Now())
	if err != nil {
		return false, nil, deadbolt.WithMessage(err, deadbolt.CodeNotFound, "The workgroup or the employee no longer exists.")
	}
	if added {
		s.audit.Record(ctx, deadbolt.EventAdminMemberAdded, u.ID, actorID(actor), actor.IP,
			map[string]string{"workgroup_id": w.ID, "name": w.Name})
	}
	return added, u, nil
}

// RemoveMember takes an employee (by id or login) out of a workgroup.
// CodeNotFound for an unknown workgroup or employee or one not in the
// workgroup, CodeForbidden for a non-administrator.
func (s *Service) RemoveMember(ctx context.Context, actor accounts.Actor, workgroup, user string) error {
	w, err := s.Get(ctx, actor, workgroup)
	if err != nil {
		return err
	}
	u, err := s.user(ctx, user)
	if err != nil {
		return err
	}
	if err := s.store.RemoveWorkgroupMember(ctx, w.ID, u.ID); err != nil {
		if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
			return deadbolt.Errorf(deadbolt.CodeNotFound, "%s is not a member of %s.", u.Login, w.Name)
		}
		return err
	}
	s.audit.Record(ctx, deadbolt.EventAdminMemberRemoved, u.ID, actorID(actor), actor.IP,
		map[string]string{"workgroup_id": w.ID, "name": w.Name})
	return nil
}

// UserWorkgroups lists the workgroups an employee (by id or login) is in.
// CodeNotFound for an unknown employee, CodeForbidden for a
// non-administrator.
func (s *Service) UserWorkgroups(ctx context.Context, actor accounts.Actor, user string) ([]*deadbolt.Workgroup, error) {
	if err := check(actor); err != nil {
		return nil, err
	}
	u, err := s.user(ctx, user)
	if err != nil {
		return nil, err
	}
	return s.store.UserWorkgroups(ctx, u.ID)
}

// SetPolicy replaces a workgroup's two-factor policy. It is how an
// administrator requires two-factor authentication, sets or extends the
// deadline (a later Deadline), turns the requirement off until a date
// (PausedUntil) or until turned on again (Paused), and chooses what happens
// after the deadline and which second factors still count then
// (min_method). p must pass policy.Policy.Validate, and its times lie
// between 1970 and 9999 (or be zero); otherwise CodeInvalidInput. A
// deadline in the past is allowed and makes the requirement overdue at
// once. A phishing_resistant policy is CodePasskeysUnavailable while
// passkeys are off, and CodeAdminLockout when it would leave no active
// administrator able to complete a sign-in (checkMinMethod). Errors
// otherwise as for Get.
func (s *Service) SetPolicy(ctx context.Context, actor accounts.Actor, idOrName string, p policy.Policy) (*deadbolt.Workgroup, error) {
	w, err := s.Get(ctx, actor, idOrName)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	after, _ := policy.ParseAfterDeadline(string(p.AfterDeadline))
	minMethod, _ := policy.ParseMinMethod(string(p.MinMethod))
	p.MinMethod = minMethod
	if p.Deadline, err = checkTime("deadline", p.Deadline); err != nil {
		return nil, err
	}
	if p.PausedUntil, err = checkTime("paused_until", p.PausedUntil); err != nil {
		return nil, err
	}
	rule, err := s.checkMinMethod(w, p)
	if err != nil {
		return nil, err
	}
	stored := deadbolt.WorkgroupPolicy{
		Required: p.Required, Deadline: p.Deadline, PausedUntil: p.PausedUntil, Paused: p.Paused,
		AfterDeadline: string(after), MinMethod: string(minMethod), UpdatedAt: s.clock.Now(),
	}
	if err := s.store.SetWorkgroupPolicy(ctx, w.ID, stored, rule); err != nil {
		return nil, workgroupNotFound(err)
	}
	detail := map[string]string{
		"workgroup_id":   w.ID,
		"name":           w.Name,
		"required":       boolString(stored.Required),
		"deadline":       timeString(stored.Deadline),
		"paused_until":   timeString(stored.PausedUntil),
		"paused":         boolString(stored.Paused),
		"after_deadline": stored.AfterDeadline,
		"min_method":     stored.MinMethod,
	}
	if !stored.Deadline.Equal(w.Policy.Deadline) {
		detail["previous_deadline"] = timeString(w.Policy.Deadline)
	}
	s.audit.Record(ctx, deadbolt.EventAdminPolicyChanged, "", actorID(actor), actor.IP, detail)
	w.Policy = stored
	return w, nil
}

// Exempt exempts an employee (by id or login) from the second factor until
// until (the "contact support" path): no two_factor_required banner and no
// setup block meanwhile, and the sign-in service lets an employee who has
// two-factor authentication on sign in with the password alone until then.
// An exemption replaces an earlier one. until must be later than now and
// before the year 10000, otherwise CodeInvalidInput; CodeNotFound for an
// unknown employee, CodeForbidden for a non-administrator.
func (s *Service) Exempt(ctx context.Context, actor accounts.Actor, user string, until time.Time) (*deadbolt.User, error) {
	if err := check(actor); err != nil {
		return nil, err
	}
	u, err := s.user(ctx, user)
	if err != nil {
		return nil, err
	}
	if until, err = checkTime("until", until); err != nil {
		return nil, err
	}
	if !until.After(s.clock.Now()) {
		return nil, invalid("until", "until must be in the future.")
	}
	if err := s.store.SetExemptUntil(ctx, u.ID, until); err != nil {
		return nil, userNotFound(err)
	}
	s.audit.Record(ctx, deadbolt.EventAdminExempted, u.ID, actorID(actor), actor.IP,
		map[string]string{"until": timeString(until)})
	u.ExemptUntil = until
	return u, nil
}

// EndExemption ends an employee's exemption at once. Errors as for Exempt,
// but for until.
func (s *Service) EndExemption(ctx context.Context, actor accounts.Actor, user string) (*deadbolt.User, error) {
	if err := check(actor); err != nil {
		return nil, err
	}
	u, err := s.user(ctx, user)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetExemptUntil(ctx, u.ID, time.Time{}); err != nil {
		return nil, userNotFound(err)
	}
	s.audit.Record(ctx, deadbolt.EventAdminExemptionEnded, u.ID, actorID(actor), actor.IP, nil)
	u.ExemptUntil = time.Time{}
	return u, nil
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// checkMinMethod refuses a phishing_resistant policy that could not be
// met while passkeys are off (CodePasskeysUnavailable), and returns the
// rule the store applies with the write (nil for any other min_method):
// saved as p on w, the policy must not leave every active administrator
// unable to complete a sign-in — each bound by an overdue
// phishing_resistant requirement, not exempt, without a passkey — where
// one could before (CodeAdminLockout). Administrators left in setup mode
// could register a passkey there, but one without an authenticator at hand
// could not: the console must stay reachable. The rule decides from what
// the store reads inside the policy's own transaction, so two policies
// (or a policy and a passkey's removal) saved at once cannot each pass on
// the other's old state.
func (s *Service) checkMinMethod(w *deadbolt.Workgroup, p policy.Policy) (deadbolt.AdminRule, error) {
	if p.MinMethod != policy.MinPhishingResistant {
		return nil, nil
	}
	if s.PasskeysAvailable != nil {
		if err := s.PasskeysAvailable(); err != nil {
			return nil, deadbolt.Errorf(deadbolt.CodePasskeysUnavailable,
				"Passkeys are off on this server, so nobody could meet a phishing_resistant policy. %s", deadbolt.ErrorMessage(err))
		}
	}
	refuse := func() error {
		e := deadbolt.Errorf(deadbolt.CodeAdminLockout,
			"This would leave no administrator able to sign in: every active administrator would need a passkey now and none has one. "+
				"Register a passkey on your Security page first, or set a later deadline.")
		e.Extra = map[string]any{"field": "min_method"}
		return e
	}
	return s.lockoutRule(refuse, func(a deadbolt.AdminFactors) ([]policy.Policy, int, bool) {
		var next []policy.Policy
		for _, x := range a.Workgroups {
			if x.ID == w.ID {
				next = append(next, p)
			} else {
				next = append(next, PolicyOf(x.Policy))
			}
		}
		return next, a.Passkeys, true
	}), nil
}

// PasskeyRemovalRule is the rule a removal of one of userID's passkeys
// carries (deadbolt.FactorChange.AdminRule): refused with
// CodeAdminLockout when, without that passkey, no active administrator
// could complete a sign-in where one could before (the last
// administrator's passkey under an overdue phishing_resistant policy).
func (s *Service) PasskeyRemovalRule(userID string) deadbolt.AdminRule {
	refuse := func() error {
		return deadbolt.Errorf(deadbolt.CodeAdminLockout,
			"This is the last passkey an administrator can sign in with while passkeys are required: removing it would leave no administrator able to sign in. "+
				"Add another passkey first, or have the deadline set later.")
	}
	return s.lockoutRule(refuse, func(a deadbolt.AdminFactors) ([]policy.Policy, int, bool) {
		n := a.Passkeys
		if a.User.ID == userID && n > 0 {
			n--
		}
		return policiesOf(a.Workgroups), n, true
	})
}

// TwoFactorResetRule is the rule an administrator's reset of userID's
// two-factor authentication carries: refused with CodeAdminLockout when,
// with userID's passkeys gone, no active administrator could complete a
// sign-in where one could before.
func (s *Service) TwoFactorResetRule(userID string) deadbolt.AdminRule {
	refuse := func() error {
		return deadbolt.Errorf(deadbolt.CodeAdminLockout,
			"Resetting this two-factor authentication would leave no administrator able to sign in while passkeys are required. "+
				"Have another administrator register a passkey first, or set a later deadline.")
	}
	return s.lockoutRule(refuse, func(a deadbolt.AdminFactors) ([]policy.Policy, int, bool) {
		n := a.Passkeys
		if a.User.ID == userID {
			n = 0
		}
		return policiesOf(a.Workgroups), n, true
	})
}

// DeactivationRule is the rule a deactivation of userID carries: refused
// with CodeAdminLockout when userID is the last active administrator who
// could complete a sign-in.
func (s *Service) DeactivationRule(userID string) deadbolt.AdminRule {
	refuse := func() error {
		return deadbolt.Errorf(deadbolt.CodeAdminLockout,
			"Deactivating this administrator would leave no administrator able to sign in while passkeys are required. "+
				"Have another administrator register a passkey first, or set a later deadline.")
	}
	return s.lockoutRule(refuse, func(a deadbolt.AdminFactors) ([]policy.Policy, int, bool) {
		return policiesOf(a.Workgroups), a.Passkeys, a.User.ID != userID
	})
}

// lockoutRule returns the rule that refuses (with refuse's error) a change
// after which no active administrator could complete a sign-in where one
// could before; next gives an administrator's policies and passkey count
// as the change leaves them, and whether they are still an active
// administrator.
func (s *Service) lockoutRule(refuse func() error, next func(a deadbolt.AdminFactors) ([]policy.Policy, int, bool)) deadbolt.AdminRule {
	return func(admins []deadbolt.AdminFactors) error {
		now := s.clock.Now()
		before, after := 0, 0
		for _, a := range admins {
			if canSignIn(a.User, policiesOf(a.Workgroups), a.Passkeys, now) {
				before++
			}
			if ps, n, still := next(a); still && canSignIn(a.User, ps, n, now) {
				after++
			}
		}
		if after == 0 && before > 0 {
			return refuse()
		}
		return nil
	}
}

// canSignIn reports whether u, bound by the policies ps and with passkeys
// passkeys, can complete a sign-in at now: with a passkey, or with a code
// their policies still accept.
func canSignIn(u *deadbolt.User, ps []policy.Policy, passkeys int, now time.Time) bool {
	if passkeys > 0 {
		return true
	}
	st := policy.State{Requirement: policy.Effective(ps, now), ExemptUntil: u.ExemptUntil, Passkeys: passkeys}
	return policy.MethodAllowed(st, "totp", now)
}

// policiesOf returns the policies of ws.
func policiesOf(ws []*deadbolt.Workgroup) []policy.Policy {
	out := make([]policy.Policy, 0, len(ws))
	for _, w := range ws {
		out = append(out, PolicyOf(w.Policy))
	}
	return out
}

// MethodAllowed reports whether a sign-in of u completed now by method
// ("password" for the password alone) meets the min_method of u's
// workgroups (policy.MethodAllowed). It returns store errors only. The
// sign-in service calls it through signin.SetupPolicy.
func (s *Service) MethodAllowed(ctx context.Context, u *deadbolt.User, method string) (bool, error) {
	now := s.clock.Now()
	if now.Before(u.ExemptUntil) {
		return true, nil
	}
	ws, err := s.store.UserWorkgroups(ctx, u.ID)
	if err != nil {
		return false, err
	}
	ps := make([]deadbolt.WorkgroupPolicy, len(ws))
	for i, w := range ws {
		ps[i] = w.Policy
	}
	return s.MethodAllowedBy(u, ps, method), nil
}

// MethodAllowedBy is MethodAllowed decided from policies, the policies of
// u's workgroups as the caller read them (with a sign-in attempt's factor
// state, say), without a store call.
func (s *Service) MethodAllowedBy(u *deadbolt.User, policies []deadbolt.WorkgroupPolicy, method string) bool {
	now := s.clock.Now()
	if now.Before(u.ExemptUntil) {
		return true
	}
	ps := make([]policy.Policy, len(policies))
	for i, p := range policies {
		ps[i] = PolicyOf(p)
	}
	st := policy.State{Requirement: policy.Effective(ps, now), ExemptUntil: u.ExemptUntil}
	return policy.MethodAllowed(st, method, now)
}
