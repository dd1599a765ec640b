// Package accounts manages employee accounts on behalf of administrators:
// creating, listing, deactivating, resetting passwords, ending sessions, and
// creating the first administrator on an empty database. Every action is
// checked against the acting employee and recorded in the audit log.
package accounts

import (
	"context"
	"crypto/rand"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/i18n"
	"deadbolt/internal/password"
)

// Store is the persistence accounts need.
type Store interface {
	deadbolt.UserStore
	deadbolt.SessionStore
	deadbolt.FactorStore
}

// Unlocker clears an employee's second-factor failures; the sign-in
// service implements it.
type Unlocker interface {
	Unlock(ctx context.Context, userID string) error
}

// LockoutRules give the rules that keep an administrator able to sign in,
// decided by the store in the change's own transaction (the workgroups
// service implements them).
type LockoutRules interface {
	// TwoFactorResetRule refuses a reset of userID's second factors that
	// would leave no administrator able to sign in.
	TwoFactorResetRule(userID string) deadbolt.AdminRule
	// DeactivationRule refuses a deactivation of userID that would.
	DeactivationRule(userID string) deadbolt.AdminRule
}

// Service manages accounts. It is safe for concurrent use.
type Service struct {
	store  Store
	hasher *password.Hasher
	audit  *audit.Log
	clock  deadbolt.Clock
	unlock Unlocker
	// OnDisconnect, if set, is called after an action disconnected the
	// employee's devices (deactivation, password reset, 2FA reset).
	OnDisconnect func(ctx context.Context, userID string)
	// Lockout, if set, keeps a reset of two-factor authentication or a
	// deactivation from leaving no administrator able to sign in.
	Lockout LockoutRules
}

func (s *Service) disconnected(ctx context.Context, userID string) {
	if s.OnDisconnect != nil {
		s.OnDisconnect(ctx, userID)
	}
}

// New returns an account service. unlock may be nil when second factors
// are off.
func New(store Store, hasher *password.Hasher, audit *audit.Log, clock deadbolt.Clock, unlock Unlocker) *Service {
	return &Service{store: store, hasher: hasher, audit: audit, clock: clock, unlock: unlock}
}

// ResetTwoFactor turns an employee's second factor off, the "lost or
// stolen phone" path: in one transaction their devices are disconnected,
// their recovery codes deleted, their banner marks cleared and every one of
// their sessions ended (SPEC: a lost phone must not leave sessions behind);
// then their second-factor failures are cleared, so they can set it up
// again. It returns CodeForbidden for an actor who is not an administrator,
// CodeNotFound for an unknown employee, and CodeAdminLockout when the reset
// would leave no administrator able to sign in (Lockout).
func (s *Service) ResetTwoFactor(ctx context.Context, actor Actor, idOrLogin string) error {
	u, err := s.Get(ctx, actor, idOrLogin)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	e := &deadbolt.Event{Type: deadbolt.EventAdminTwoFactorReset, At: now, UserID: u.ID, ActorID: actor.id(), IP: actor.IP}
	change := &deadbolt.FactorChange{UserID: u.ID, Now: now,
		TwoFactor: deadbolt.TwoFactorOff, ClearDeviceDisconnected: true, ClearLastConfirmed: true,
		Disconnect: deadbolt.DisconnectAll, DeleteRecoveryCodes: true, EndSessions: true, DeletePasskeys: true,
		Events: []*deadbolt.Event{e}}
	if s.Lockout != nil {
		change.AdminRule = s.Lockout.TwoFactorResetRule(u.ID)
	}
	_, err = s.store.ChangeFactors(ctx, change)
	if err != nil {
		return userNotFound(err)
	}
	s.audit.Committed(ctx, e)
	s.disconnected(ctx, u.ID)
	if s.unlock != nil {
		if err := s.unlock.Unlock(ctx, u.ID); err != nil {
			return err
		}
	}
	return nil
}

// Unlock clears an employee's second-factor lock, delays and CAPTCHA
// streak.
func (s *Service) Unlock(ctx context.Context, actor Actor, idOrLogin string) error {
	u, err := s.Get(ctx, actor, idOrLogin)
	if err != nil {
		return err
	}
	if s.unlock == nil {
		return deadbolt.Errorf(deadbolt.CodeNotFound, "Second factors are not enabled.")
	}
	if err := s.unlock.Unlock(ctx, u.ID); err != nil {
		return err
	}
	s.audit.Record(ctx, deadbolt.EventAdminUnlocked, u.ID, actor.id(), actor.IP, nil)
	return nil
}

// userNotFound gives a store's answer about a missing employee its words.
func userNotFound(err error) error {
	return deadbolt.WithMessage(err, deadbolt.CodeNotFound, "Employee not found.")
}

// Actor is who performs an administrative action. A nil User means the
// server operator at the command line, who is always allowed.
type Actor struct {
	User *deadbolt.User
	IP   string
}

func (a Actor) id() string {
	if a.User == nil {
		return ""
	}
	return a.User.ID
}

// check returns CodeForbidden unless the actor may administer accounts.
func (a Actor) check() error {
	if a.User != nil && (!a.User.Admin || !a.User.Active) {
		return deadbolt.Errorf(deadbolt.CodeForbidden, "Only administrators can do this.")
	}
	return nil
}

// NewUser is what an administrator fills in to create an employee.
type NewUser struct {
	Login    string
	Name     string
	Email    string
	Password string
	Admin    bool
	// OneTimePassword marks Password as good for the first sign-in only:
	// the employee must choose a new one before anything else.
	OneTimePassword bool
}

// MaxEmailLen is the longest email address accepted.
const MaxEmailLen = 254

// ValidateEmail trims an employee's email address and checks it: empty
// (none), or one bare address local@domain of at most MaxEmailLen bytes,
// without spaces, display name or angle brackets. A bad address is
// CodeInvalidInput. It is safe for concurrent use.
func ValidateEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", nil
	}
	bad := deadbolt.Errorf(deadbolt.CodeInvalidInput, "An email address is one address such as name@example.com.")
	bad.Extra = map[string]any{"field": "email"}
	if len(email) > MaxEmailLen || !utf8.ValidString(email) || strings.IndexFunc(email, unicode.IsSpace) >= 0 ||
		strings.IndexFunc(email, unicode.IsControl) >= 0 || strings.ContainsAny(email, "<>\"(),;:[]") {
		return "", bad
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return "", bad
	}
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", bad
	}
	return email, nil
}

// ValidateLogin checks a login's shape: 1–64 characters of letters, digits
// and . _ - @, starting with a letter or digit.
func ValidateLogin(login string) error {
	bad := deadbolt.Errorf(deadbolt.CodeInvalidInput, "A login is 1 to 64 characters: letters, digits, dot, underscore, hyphen or @, starting with a letter or digit.")
	if login == "" || len(login) > 64 {
		return bad
	}
	for i, r := range login {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || i > 0 && strings.ContainsRune("._-@", r)
		if !ok {
			return bad
		}
	}
	return nil
}

func validateName(name string) error {
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > 200 || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return deadbolt.Errorf(deadbolt.CodeInvalidInput, "A name is at most 200 characters, without control characters.")
	}
	return nil
}

// Create creates an employee. A taken login is CodeLoginTaken; a bad login,
// name or password is CodeInvalidInput.
func (s *Service) Create(ctx context.Context, actor Actor, n NewUser) (*deadbolt.User, error) {
	if err := actor.check(); err != nil {
		return nil, err
	}
	login := deadbolt.NormalizeLogin(n.Login)
	if err := ValidateLogin(login); err != nil {
		return nil, err
	}
	name := strings.TrimSpace(n.Name)
	if err := validateName(name); err != nil {
		return nil, err
	}
	email, err := ValidateEmail(n.Email)
	if err != nil {
		return nil, err
	}
	if err := password.Validate(n.Password); err != nil {
		return nil, deadbolt.Errorf(deadbolt.CodeInvalidInput, "%s", password.Explain(err))
	}
	hash, err := s.hasher.Hash(ctx, n.Password)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	u := &deadbolt.User{ID: deadbolt.NewID(), Login: login, Name: name, Email: email, Admin: n.Admin, Active: true,
		PasswordHash: hash, CreatedAt: now, UpdatedAt: now, PasswordChangeRequired: n.OneTimePassword}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, deadbolt.WithMessagef(err, deadbolt.CodeLoginTaken, "The login %q is already taken.", login)
	}
	s.audit.Record(ctx, deadbolt.EventAdminUserCreated, u.ID, actor.id(), actor.IP,
		map[string]string{"login": login, "admin": boolString(n.Admin)})
	return u, nil
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// Profile is what an administrator may change on an employee's record; a
// nil field is left as it is.
type Profile struct {
	Name  *string
	Email *string
}

// Update changes an employee's name and email ("" removes it). A bad name
// or email is CodeInvalidInput; an unknown employee CodeNotFound; a
// non-administrator CodeForbidden.
func (s *Service) Update(ctx context.Context, actor Actor, idOrLogin string, p Profile) (*deadbolt.User, error) {
	u, err := s.Get(ctx, actor, idOrLogin)
	if err != nil {
		return nil, err
	}
	name, email := u.Name, u.Email
	if p.Name != nil {
		name = strings.TrimSpace(*p.Name)
		if err := validateName(name); err != nil {
			return nil, err
		}
	}
	if p.Email != nil {
		if email, err = ValidateEmail(*p.Email); err != nil {
			return nil, err
		}
	}
	now := s.clock.Now()
	if err := s.store.SetUserProfile(ctx, u.ID, name, email, now); err != nil {
		return nil, userNotFound(err)
	}
	detail := map[string]string{}
	if name != u.Name {
		detail["name"] = "changed"
	}
	if email != u.Email {
		detail["email"] = "changed"
	}
	s.audit.Record(ctx, deadbolt.EventAdminUserUpdated, u.ID, actor.id(), actor.IP, detail)
	u.Name, u.Email, u.UpdatedAt = name, email, now
	return u, nil
}

// List lists every employee. It returns CodeForbidden for an actor who is
// not an administrator.
func (s *Service) List(ctx context.Context, actor Actor) ([]*deadbolt.User, error) {
	if err := actor.check(); err != nil {
		return nil, err
	}
	return s.store.ListUsers(ctx)
}

// Get returns one employee by id or login. It returns CodeForbidden for an
// actor who is not an administrator and CodeNotFound for an unknown
// employee.
func (s *Service) Get(ctx context.Context, actor Actor, idOrLogin string) (*deadbolt.User, error) {
	if err := actor.check(); err != nil {
		return nil, err
	}
	var u *deadbolt.User
	var err error
	switch login := deadbolt.NormalizeLogin(idOrLogin); {
	case deadbolt.ValidID(idOrLogin):
		u, err = s.store.UserByID(ctx, idOrLogin)
	case ValidateLogin(login) != nil:
		return nil, deadbolt.Errorf(deadbolt.CodeNotFound, "Employee not found.")
	default:
		u, err = s.store.UserByLogin(ctx, login)
	}
	return u, userNotFound(err)
}

// SetActive deactivates (ending every session and disconnecting the
// device) or reactivates an employee. Administrators cannot deactivate
// themselves (CodeInvalidInput), nor the last administrator able to sign in
// (CodeAdminLockout, Lockout). It returns CodeForbidden and CodeNotFound
// as Get does.
func (s *Service) SetActive(ctx context.Context, actor Actor, idOrLogin string, active bool) (*deadbolt.User, error) {
	u, err := s.Get(ctx, actor, idOrLogin)
	if err != nil {
		return nil, err
	}
	if !active && actor.User != nil && actor.User.ID == u.ID {
		return nil, deadbolt.Errorf(deadbolt.CodeInvalidInput, "You cannot deactivate your own account.")
	}
	var rule deadbolt.AdminRule
	if !active && s.Lockout != nil {
		rule = s.Lockout.DeactivationRule(u.ID)
	}
	if err := s.store.SetActive(ctx, u.ID, active, deadbolt.EndDeactivation, rule, s.clock.Now()); err != nil {
		return nil, userNotFound(err)
	}
	typ := deadbolt.EventAdminUserDeactivated
	if active {
		typ = deadbolt.EventAdminUserActivated
	}
	s.audit.Record(ctx, typ, u.ID, actor.id(), actor.IP, nil)
	if !active {
		s.disconnected(ctx, u.ID)
	}
	u.Active = active
	return u, nil
}

// ResetPassword sets a new password for an employee, ending all their
// sessions and disconnecting their device. A password too weak is
// CodeInvalidInput; CodeForbidden and CodeNotFound come as from Get.
func (s *Service) ResetPassword(ctx context.Context, actor Actor, idOrLogin, pw string) error {
	u, err := s.Get(ctx, actor, idOrLogin)
	if err != nil {
		return err
	}
	if err := password.Validate(pw); err != nil {
		return deadbolt.Errorf(deadbolt.CodeInvalidInput, "%s", password.Explain(err))
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	disconnected, err := s.store.SetPassword(ctx, u.ID, hash, "", deadbolt.EndPasswordChange, s.clock.Now())
	if err != nil {
		return userNotFound(err)
	}
	s.audit.Record(ctx, deadbolt.EventAdminPasswordReset, u.ID, actor.id(), actor.IP, nil)
	if disconnected {
		s.audit.Record(ctx, deadbolt.EventDeviceDisconnect, u.ID, actor.id(), actor.IP, map[string]string{"reason": "password_reset"})
		s.disconnected(ctx, u.ID)
	}
	return nil
}

// Sessions lists an employee's sessions. It returns CodeForbidden and
// CodeNotFound as Get does.
func (s *Service) Sessions(ctx context.Context, actor Actor, idOrLogin string) ([]*deadbolt.Session, error) {
	u, err := s.Get(ctx, actor, idOrLogin)
	if err != nil {
		return nil, err
	}
	return s.store.ListSessions(ctx, u.ID)
}

// EndSessions ends every session of an employee (the device stays). It
// returns CodeForbidden and CodeNotFound as Get does.
func (s *Service) EndSessions(ctx context.Context, actor Actor, idOrLogin string) error {
	u, err := s.Get(ctx, actor, idOrLogin)
	if err != nil {
		return err
	}
	if _, err := s.store.EndAllSessions(ctx, u.ID, deadbolt.EndByAdministrator, s.clock.Now()); err != nil {
		return userNotFound(err)
	}
	s.audit.Record(ctx, deadbolt.EventAdminSessionsEnded, u.ID, actor.id(), actor.IP, nil)
	return nil
}

// Bootstrap creates the administrator "admin" on an empty database. With
// pw empty it makes up a password and returns it (to print once); that
// password works for one sign-in, which must choose a new one. It
// returns created=false, and does nothing, when any account exists.
func (s *Service) Bootstrap(ctx context.Context, pw string) (password string, created bool, err error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", false, err
	}
	oneTime := pw == ""
	if oneTime {
		pw = GeneratePassword()
	}
	_, err = s.Create(ctx, Actor{}, NewUser{Login: "admin", Name: "Administrator", Password: pw, Admin: true, OneTimePassword: oneTime})
	if deadbolt.IsCode(err, deadbolt.CodeLoginTaken) {
		return "", false, nil // another node won the race
	}
	if err != nil {
		return "", false, err
	}
	return pw, true, nil
}

// GeneratePassword returns a random password of 20 characters (about 100
// bits) from an alphabet without look-alikes.
func GeneratePassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	for i := range b {
		b[i] = alphabet[randIndex(len(alphabet))]
	}
	return string(b)
}

func randIndex(n int) int {
	var b [1]byte
	limit := 256 - 256%n
	for {
		rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// Self returns an employee's own current record (no admin role needed);
// CodeNotFound if there is none.
func (s *Service) Self(ctx context.Context, userID string) (*deadbolt.User, error) {
	u, err := s.store.UserByID(ctx, userID)
	return u, userNotFound(err)
}

// SetLanguage saves the language an employee chose for pages, texts and
// messages: a code the catalogue has ("en", "ru"), or "" to follow the
// browser again. Another code is CodeInvalidInput; an unknown employee
// CodeNotFound.
func (s *Service) SetLanguage(ctx context.Context, userID, code string) error {
	if code != "" && i18n.Get(code) == nil {
		return deadbolt.Errorf(deadbolt.CodeInvalidInput, "The language must be one of %s.", strings.Join(i18n.Codes(), ", "))
	}
	return userNotFound(s.store.SetUserLanguage(ctx, userID, code, s.clock.Now()))
}
