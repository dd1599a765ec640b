package web

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"deadbolt/internal/accounts"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/i18n"
	"deadbolt/internal/signin"
)

// auditRow is one audit event as the console shows it.
type auditRow struct {
	ID, At, Type, Text  string
	UserID, User, Actor string
	IP, Detail          string
}

// eventText names an event type in words in l (the catalogue's
// "event.<type>"): the same words on the Security page and in the audit
// log. A type the catalogue does not know shows as it is written.
func eventText(l *i18n.Locale, typ string) string {
	if k := "event." + typ; l.Has(k) || i18n.English().Has(k) {
		return l.T(k)
	}
	return strings.ReplaceAll(strings.ReplaceAll(typ, "_", " "), ".", ": ")
}

// auditRows turns events into rows, naming employees by login.
func auditRows(l *i18n.Locale, events []*deadbolt.Event, logins map[string]string, loc *time.Location) []auditRow {
	out := make([]auditRow, 0, len(events))
	for _, e := range events {
		row := auditRow{ID: e.ID, At: l.DateTime(e.At, loc), Type: e.Type, Text: eventText(l, e.Type), UserID: e.UserID, IP: e.IP}
		if e.UserID != "" {
			row.User = cmpOr(logins[e.UserID], e.UserID)
		}
		if e.ActorID != "" {
			row.Actor = cmpOr(logins[e.ActorID], e.ActorID)
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(e.Detail)) {
			if e.Detail[k] != "" {
				parts = append(parts, k+": "+e.Detail[k])
			}
		}
		row.Detail = strings.Join(parts, ", ")
		out = append(out, row)
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// loginsByID maps every employee's id to their login.
func (s *server) loginsByID(ctx context.Context, a *signin.Auth, r *http.Request) (map[string]string, error) {
	users, err := s.Accounts.List(ctx, s.actor(r, a))
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(users))
	for _, u := range users {
		m[u.ID] = u.Login
	}
	return m, nil
}

type userWorkgroup struct {
	ID, Name, Policy string
}

type userView struct {
	consoleBase
	U    *deadbolt.User
	Self bool
	// Second factor.
	TwoFactorSince string
	Device         *deadbolt.Device
	DevicePaired   string
	Phone          string
	CodesLeft      int
	Failures       int64
	Locked         bool
	LockAt         int
	// Requirement words the two-factor requirement.
	Requirement string
	Exempt      string
	ExemptDate  string
	Today       string
	Workgroups  []userWorkgroup
	Sessions    []sessionRow
	Events      []auditRow
	AuditURL    string
	// NewPassword is a generated password, shown once.
	NewPassword string
	Created     string
}

func (s *server) userPage(w http.ResponseWriter, r *http.Request, a *signin.Auth, id string, status int, errMsg string, more func(*userView)) {
	ctx := r.Context()
	actor := s.actor(r, a)
	u, err := s.Accounts.Get(ctx, actor, id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	now, loc, l := s.Clock.Now(), s.orgLocation(), tr(r)
	v := &userView{consoleBase: s.consoleBase(r, ""), U: u, Self: u.ID == a.User.ID,
		TwoFactorSince: l.DateTime(u.TwoFactorSince, loc), Created: l.DateTime(u.CreatedAt, loc),
		LockAt: s.Signin.Config().SecondFactorLockAt, Today: now.In(loc).Format(time.DateOnly),
		AuditURL: "/admin/audit?" + url.Values{"login": {u.Login}}.Encode()}
	if u.Phone != "" {
		v.Phone = phoneMask(u.Phone)
	}
	if u.ExemptUntil.After(now) {
		v.Exempt = l.DateTime(u.ExemptUntil, loc)
		v.ExemptDate = u.ExemptUntil.In(loc).Format(time.DateOnly)
	}
	if v.Device, err = s.Devices.Trusted(ctx, u); err != nil {
		s.pageError(w, r, err)
		return
	}
	if v.Device != nil {
		v.DevicePaired = l.DateTime(v.Device.ConfirmedAt, loc)
	}
	if v.CodesLeft, err = s.Signin.RecoveryCodesLeft(ctx, u); err != nil {
		s.pageError(w, r, err)
		return
	}
	if v.Failures, err = s.Signin.FailureCount(ctx, u.ID); err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Locked = v.Failures >= int64(v.LockAt)
	st, err := s.policyStatus(ctx, u)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Requirement = requirementText(l, st.Required, l.DateTime(st.Deadline, loc), st.Required && st.State.Requirement.Overdue(now), st.SetupRequired)
	if s.Workgroups != nil {
		wgs, err := s.Workgroups.UserWorkgroups(ctx, actor, u.ID)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		for _, wg := range wgs {
			v.Workgroups = append(v.Workgroups, userWorkgroup{ID: wg.ID, Name: wg.Name, Policy: policySummary(l, wg.Policy, now, loc)})
		}
	}
	sessions, err := s.Accounts.Sessions(ctx, actor, u.ID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	for _, sess := range sessions {
		v.Sessions = append(v.Sessions, sessionRow{ID: sess.ID, Browser: browserName(l, sess.UserAgent), IP: sess.IP,
			Created: l.DateTime(sess.CreatedAt, loc), LastSeen: l.DateTime(sess.LastSeenAt, loc), Current: sess.ID == a.Session.ID})
	}
	events, err := s.Events.Events(ctx, deadbolt.EventFilter{UserID: u.ID, Limit: 20})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	logins, err := s.loginsByID(ctx, a, r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Events = auditRows(l, events, logins, loc)
	if more != nil {
		more(v)
	}
	title := u.Login
	if u.Name != "" {
		title = u.Name + " (" + u.Login + ")"
	}
	s.render(w, r, status, "admin_user", &pageData{Title: l.T("console.title", "page", title), User: a.User, Console: v, Flash: consoleFlash(r), Error: errMsg})
}

func (s *server) pageAdminUser(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	s.userPage(w, r, a, r.PathValue("id"), http.StatusOK, "", nil)
}

// userAction is a POST on an employee's page: it runs do and redirects to
// the page with the message msg, or shows the page again with the error.
func (s *server) userAction(needConfirm bool, msg string, do func(r *http.Request, a *signin.Auth, actor accounts.Actor, id string) error) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		id := r.PathValue("id")
		err := r.ParseForm()
		if err == nil && needConfirm && !confirmed(r) {
			err = errNotConfirmed
		}
		if err == nil {
			err = do(r, a, s.actor(r, a), id)
		}
		if err != nil {
			s.consoleFailed(w, r, err, func(status int, m string) { s.userPage(w, r, a, id, status, m, nil) })
			return
		}
		http.Redirect(w, r, "/admin/users/"+url.PathEscape(id)+"?msg="+msg, http.StatusSeeOther)
	}
}

func (s *server) pageAdminSetActive(active bool) pageHandler {
	msg := "user_deactivated"
	if active {
		msg = "user_activated"
	}
	return s.userAction(!active, msg, func(r *http.Request, a *signin.Auth, actor accounts.Actor, id string) error {
		_, err := s.Accounts.SetActive(r.Context(), actor, id, active)
		return err
	})
}

// pageAdminResetTwoFactor turns an employee's second factor off, which
// ends all their sessions; resetting one's own leads to the sign-in page.
func (s *server) pageAdminResetTwoFactor() pageHandler {
	return func(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		id := r.PathValue("id")
		var err error = errNotConfirmed
		if confirmed(r) {
			err = s.Accounts.ResetTwoFactor(r.Context(), s.actor(r, a), id)
		}
		if err != nil {
			s.consoleFailed(w, r, err, func(status int, m string) { s.userPage(w, r, a, id, status, m, nil) })
			return
		}
		if isSelf(a, id) {
			s.clearSessionCookie(w)
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/admin/users/"+url.PathEscape(id)+"?msg=two_factor_reset", http.StatusSeeOther)
	}
}

func (s *server) pageAdminUnlock() pageHandler {
	return s.userAction(false, "unlocked", func(r *http.Request, a *signin.Auth, actor accounts.Actor, id string) error {
		return s.Accounts.Unlock(r.Context(), actor, id)
	})
}

func (s *server) pageAdminExempt() pageHandler {
	return s.userAction(false, "exempted", func(r *http.Request, a *signin.Auth, actor accounts.Actor, id string) error {
		svc, err := s.workgroupsService()
		if err != nil {
			return err
		}
		until, err := parseLocalDateTime("until", deadbolt.Phrase("The end of the exemption"), r.PostFormValue("until_date"), "", s.orgLocation())
		if err != nil {
			return err
		}
		if until.IsZero() {
			return formError("until", "Choose the date the exemption ends.")
		}
		_, err = svc.Exempt(r.Context(), actor, id, until)
		return err
	})
}

func (s *server) pageAdminEndExemption() pageHandler {
	return s.userAction(false, "exemption_ended", func(r *http.Request, a *signin.Auth, actor accounts.Actor, id string) error {
		svc, err := s.workgroupsService()
		if err != nil {
			return err
		}
		_, err = svc.EndExemption(r.Context(), actor, id)
		return err
	})
}

// pageAdminRemovePhone frees an employee's phone number, from their page or
// from the phone lookup (back=phones).
func (s *server) pageAdminRemovePhone(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	id := r.PathValue("id")
	fromLookup := r.PostFormValue("back") == "phones"
	err := func() error {
		if !confirmed(r) {
			return errNotConfirmed
		}
		svc, err := s.smsService()
		if err != nil {
			return err
		}
		u, err := s.Accounts.Get(r.Context(), s.actor(r, a), id)
		if err != nil {
			return err
		}
		return svc.RemoveByAdmin(r.Context(), u, a.User.ID, s.clientIP(r))
	}()
	if err != nil {
		s.consoleFailed(w, r, err, func(status int, m string) {
			if fromLookup {
				s.phonesPage(w, r, a, r.PostFormValue("number"), status, m)
				return
			}
			s.userPage(w, r, a, id, status, m, nil)
		})
		return
	}
	if fromLookup {
		http.Redirect(w, r, "/admin/phones?msg=phone_removed_admin", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(id)+"?msg=phone_removed_admin", http.StatusSeeOther)
}

// pageAdminEndSessions ends every session of an employee. Ending one's
// own leads to the sign-in page.
func (s *server) pageAdminEndSessions(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	id := r.PathValue("id")
	var err error = errNotConfirmed
	if confirmed(r) {
		err = s.Accounts.EndSessions(r.Context(), s.actor(r, a), id)
	}
	if err != nil {
		s.consoleFailed(w, r, err, func(status int, m string) { s.userPage(w, r, a, id, status, m, nil) })
		return
	}
	if isSelf(a, id) {
		s.clearSessionCookie(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(id)+"?msg=sessions_ended", http.StatusSeeOther)
}

// pageAdminResetPassword sets the password the administrator typed, or
// generates one and shows it once. Resetting one's own password ends one's
// own session too, so that leads to the sign-in page.
func (s *server) pageAdminResetPassword(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	id := r.PathValue("id")
	generate := r.PostFormValue("generate") == "1"
	pw := r.PostFormValue("password")
	err := func() error {
		if !confirmed(r) {
			return errNotConfirmed
		}
		if generate {
			pw = accounts.GeneratePassword()
		} else if pw == "" {
			return formError("password", "Type the new password, or choose Generate a password.")
		}
		return s.Accounts.ResetPassword(r.Context(), s.actor(r, a), id, pw)
	}()
	if err != nil {
		s.consoleFailed(w, r, err, func(status int, m string) { s.userPage(w, r, a, id, status, m, nil) })
		return
	}
	if isSelf(a, id) {
		// One's own sessions ended with the reset.
		s.clearSessionCookie(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if !generate {
		http.Redirect(w, r, "/admin/users/"+url.PathEscape(id)+"?msg=password_reset", http.StatusSeeOther)
		return
	}
	// The generated password is shown on this answer only (no-store), never
	// put in a URL.
	s.userPage(w, r, a, id, http.StatusOK, "", func(v *userView) { v.NewPassword = pw })
}

// isSelf reports whether id (an id or a login) names the signed-in
// administrator.
func isSelf(a *signin.Auth, id string) bool {
	return id == a.User.ID || deadbolt.NormalizeLogin(id) == a.User.Login
}

// formError is a refused form value, naming the field.
func formError(field, format string, args ...any) *deadbolt.Error {
	e := deadbolt.Errorf(deadbolt.CodeInvalidInput, format, args...)
	e.Extra = map[string]any{"field": field}
	return e
}

// parseLocalDateTime reads a date input (YYYY-MM-DD) and an optional time
// input (HH:MM or HH:MM:SS; empty is midnight) as a time in loc. An empty
// date is the zero time. what names the value in the error message.
func parseLocalDateTime(field string, what deadbolt.Words, date, clock string, loc *time.Location) (time.Time, error) {
	date, clock = strings.TrimSpace(date), strings.TrimSpace(clock)
	if date == "" {
		if clock != "" {
			return time.Time{}, formError(field, "%s: a time was given but no date.", what)
		}
		return time.Time{}, nil
	}
	if clock == "" {
		clock = "00:00"
	}
	layout := time.DateOnly + " 15:04"
	if strings.Count(clock, ":") == 2 {
		layout += ":05"
	}
	t, err := time.ParseInLocation(layout, date+" "+clock, loc)
	if err != nil || t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, formError(field, "%s: give a date such as 2026-12-01 and a time such as 09:30.", what)
	}
	return t, nil
}

// requirementText words an employee's two-factor requirement for their
// console page.
func requirementText(l *i18n.Locale, required bool, deadline string, overdue, setupRequired bool) string {
	if !required {
		return l.T("user.req.none")
	}
	var out string
	switch {
	case deadline == "":
		out = l.T("user.req.no_deadline")
	case overdue:
		out = l.T("user.req.overdue", "deadline", deadline)
	default:
		out = l.T("user.req.by", "deadline", deadline)
	}
	if setupRequired {
		out += " " + l.T("user.req.block")
	}
	return out
}
