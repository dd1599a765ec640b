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
// ask for; the query carries only the key.
var consoleFlashes = map[string]string{
	"user_activated":    "The employee was activated.",
	"user_deactivated":  "The employee was deactivated: their sessions ended and their trusted device was disconnected.",
	"password_reset":    "The password was reset. The employee's sessions ended and their trusted device was disconnected.",
	"two_factor_reset":  "Two-factor authentication was reset. The employee can set it up again.",
	"unlocked":          "The second factor was unlocked.",
	"exempted":          "The exemption was saved.",
	"exemption_ended":   "The exemption was ended.",
	"phone_removed":     "The phone number was removed. It can now be linked to another account.",
	"sessions_ended":    "All the employee's sessions were ended.",
	"workgroup_created": "The workgroup was created. Add members and set its policy below.",
	"app_updated":       "The application was saved.",
	"app_deleted":       "The application was deleted. Its tokens no longer work.",
	"workgroup_renamed": "The workgroup was renamed.",
	"workgroup_deleted": "The workgroup was deleted. Its members stay.",
	"member_added":      "The employee was added to the workgroup.",
	"member_already":    "The employee is already in this workgroup.",
	"member_removed":    "The employee was removed from the workgroup.",
	"policy_saved":      "The policy was saved.",
	"user_created":      flashes["user_created"],
}

func consoleFlash(r *http.Request) string { return consoleFlashes[r.URL.Query().Get("msg")] }

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

func (s *server) consoleBase(current string) consoleBase {
	links := []navLink{
		{Href: "/admin", Label: "Employees"},
		{Href: "/admin/import", Label: "Import"},
		{Href: "/admin/workgroups", Label: "Workgroups"},
		{Href: "/admin/apps", Label: "Applications"},
		{Href: "/admin/phones", Label: "Phone lookup"},
		{Href: "/admin/audit", Label: "Audit log"},
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

// fmtIn shows t in loc to the minute, with the zone's abbreviation; ""
// for the zero time.
func fmtIn(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// consoleFailed shows a console error: a 5xx as the error page, anything
// else through show with the error's public message and status.
func (s *server) consoleFailed(w http.ResponseWriter, r *http.Request, err error, show func(status int, msg string)) {
	status, _ := errorBody(err)
	if status >= 500 {
		s.pageError(w, r, err)
		return
	}
	show(status, deadbolt.ErrorMessage(err))
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
	v := &usersView{consoleBase: s.consoleBase("/admin"), Query: q, All: len(users)}
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
			row.Exempt = fmtIn(u.ExemptUntil, loc)
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
	s.render(w, r, status, "admin", &pageData{Title: "Employees · Administration", User: a.User, Console: v, Flash: consoleFlash(r), Error: errMsg})
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
