package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"deadbolt/internal/accounts"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/signin"
)

// The administration console: the employee list (this file), an employee's
// page (page_admin_users.go), CSV import, workgroups and their policy,
// phone lookup and the audit log. Every page works without JavaScript;
// every change is a POST form.

// consoleFlashes are the fixed messages a redirect inside the console can
// ask for; the query carries only the key (the words are the catalogue's
// "flash.<key>").
var consoleFlashes = []string{"user_activated", "user_deactivated", "password_reset", "two_factor_reset", "unlocked",
	"exempted", "exemption_ended", "phone_removed_admin", "sessions_ended", "workgroup_created", "workgroup_renamed",
	"workgroup_deleted", "member_added", "member_already", "member_removed", "policy_saved", "user_created",
	"app_updated", "app_deleted"}

func consoleFlash(r *http.Request) string { return flashText(r, consoleFlashes) }

// navLink is one entry of the console's navigation.
type navLink struct {
	Href, Label string
	Current     bool
}

// consoleBase is what every console page shows: the navigation and the
// organisation's time zone, in which it shows times.
type consoleBase struct {
	Nav  []navLink
	Zone string
}

func (s *server) consoleBase(r *http.Request, current string) consoleBase {
	l := tr(r)
	links := []navLink{
		{Href: "/admin", Label: l.T("admin.users.title")},
		{Href: "/admin/import", Label: l.T("console.nav.import")},
		{Href: "/admin/workgroups", Label: l.T("workgroups.title")},
		{Href: "/admin/apps", Label: l.T("apps.title")},
		{Href: "/admin/phones", Label: l.T("phones.title")},
		{Href: "/admin/audit", Label: l.T("audit.title")},
	}
	for i := range links {
		links[i].Current = links[i].Href == current
	}
	return consoleBase{Nav: links, Zone: s.orgLocation().String()}
}

// orgLocation is the organisation's time zone: the console shows times and
// reads dates in it.
func (s *server) orgLocation() *time.Location {
	if s.Workgroups != nil {
		if loc := s.Workgroups.Settings().Location; loc != nil {
			return loc
		}
	}
	return time.UTC
}

// consoleFailed shows a console error: a 5xx as the error page, anything
// else through show with the error's public message and status.
func (s *server) consoleFailed(w http.ResponseWriter, r *http.Request, err error, show func(status int, msg string)) {
	status := errorStatus(err)
	if status >= 500 {
		s.pageError(w, r, err)
		return
	}
	show(status, errorText(tr(r), err))
}

// confirmed reports whether a form's "I understand" box was ticked.
func confirmed(r *http.Request) bool { return r.PostFormValue("confirm") == "yes" }

var errNotConfirmed = deadbolt.Errorf(deadbolt.CodeInvalidInput, "Tick the box to confirm, then try again.")

// usersPerPage is how many employees the list shows at once.
const usersPerPage = 50

type userRow struct {
	ID, Login, Name, Phone, Exempt string
	Admin, Active, TwoFactor       bool
	Locked                         bool
}

type usersView struct {
	consoleBase
	Query            string
	Rows             []userRow
	Matched, All     int
	Page, Pages      int
	PrevURL, NextURL string
	// Form keeps what was typed into the creation form after a refusal.
	Form struct{ Login, Name string }
}

// matchUser reports whether u matches a search: every word of q appears
// in the login or the name, ignoring letter case.
func matchUser(u *deadbolt.User, q string) bool {
	hay := strings.ToLower(u.Login + " " + u.Name)
	for _, w := range strings.Fields(strings.ToLower(q)) {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

// locked reports whether an employee's second factor is locked.
func (s *server) locked(r *http.Request, userID string) (bool, error) {
	return s.Signin.Locked(r.Context(), userID)
}

func (s *server) adminPage(w http.ResponseWriter, r *http.Request, a *signin.Auth, status int, errMsg string) {
	ctx := r.Context()
	users, err := s.Accounts.List(ctx, s.actor(r, a))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	v := &usersView{consoleBase: s.consoleBase(r, "/admin"), Query: q, All: len(users)}
	var matched []*deadbolt.User
	for _, u := range users {
		if matchUser(u, q) {
			matched = append(matched, u)
		}
	}
	v.Matched = len(matched)
	v.Pages = max(1, (len(matched)+usersPerPage-1)/usersPerPage)
	v.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	v.Page = min(max(v.Page, 1), v.Pages)
	pageURL := func(p int) string {
		qs := url.Values{}
		if q != "" {
			qs.Set("q", q)
		}
		qs.Set("page", strconv.Itoa(p))
		return "/admin?" + qs.Encode()
	}
	if v.Page > 1 {
		v.PrevURL = pageURL(v.Page - 1)
	}
	if v.Page < v.Pages {
		v.NextURL = pageURL(v.Page + 1)
	}
	now, loc := s.Clock.Now(), s.orgLocation()
	start := (v.Page - 1) * usersPerPage
	for _, u := range matched[start:min(start+usersPerPage, len(matched))] {
		row := userRow{ID: u.ID, Login: u.Login, Name: u.Name, Admin: u.Admin, Active: u.Active, TwoFactor: u.TwoFactorEnabled()}
		if u.Phone != "" {
			row.Phone = phoneMask(u.Phone)
		}
		if u.ExemptUntil.After(now) {
			row.Exempt = tr(r).DateTime(u.ExemptUntil, loc)
		}
		if row.Locked, err = s.locked(r, u.ID); err != nil {
			s.pageError(w, r, err)
			return
		}
		v.Rows = append(v.Rows, row)
	}
	if r.Method == http.MethodPost {
		v.Form.Login, v.Form.Name = r.PostFormValue("login"), r.PostFormValue("name")
	}
	s.render(w, r, status, "admin", &pageData{Title: tr(r).T("console.title", "page", tr(r).T("admin.users.title")), User: a.User, Console: v, Flash: consoleFlash(r), Error: errMsg})
}

func (s *server) pageAdmin(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	s.adminPage(w, r, a, http.StatusOK, "")
}

func (s *server) pageAdminCreateUser(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	_, err := s.Accounts.Create(r.Context(), s.actor(r, a), accounts.NewUser{
		Login: r.PostFormValue("login"), Name: r.PostFormValue("name"),
		Password: r.PostFormValue("password"), Admin: r.PostFormValue("admin") == "1",
	})
	if err != nil {
		s.consoleFailed(w, r, err, func(status int, msg string) { s.adminPage(w, r, a, status, msg) })
		return
	}
	http.Redirect(w, r, "/admin?msg=user_created", http.StatusSeeOther)
}
