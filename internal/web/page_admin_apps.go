package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"deadbolt/internal/apps"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/i18n"
	"deadbolt/internal/oidc"
	"deadbolt/internal/signin"
)

// The console's application pages: list and register, show with the
// settings an app needs on its side, edit, rotate a secret (shown once),
// delete, and back-channel logout failures.

type appRow struct {
	ID, Name, Kind, Access, Target string
	Require2FA                     bool
}

type appForm struct {
	Name, Kind, Backchannel               string
	RedirectURIs, PostLogoutURIs, Domains string
	Public, Require2FA                    bool
	Workgroups                            []workgroupChoice
}

type workgroupChoice struct {
	ID, Name string
	Checked  bool
}

type appsView struct {
	consoleBase
	Rows []appRow
	Form appForm
}

type failureRow struct {
	User, When, Error string
	Attempts          int
	GivenUp           bool
}

type appView struct {
	consoleBase
	App *deadbolt.Application
	// Secret is shown once, right after creation or rotation.
	Secret   string
	Form     appForm
	Access   string
	Issuer   string
	Settings []settingRow
	Failures []failureRow
}

type settingRow struct{ Name, Value string }

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// accessWords says who may enter an app.
func accessWords(l *i18n.Locale, a *deadbolt.Application, names map[string]string) string {
	var n []string
	for _, id := range a.Workgroups {
		n = append(n, cmpOr(names[id], id))
	}
	switch {
	case len(n) == 0 && a.Require2FA:
		return l.T("apps.access.everyone_2fa")
	case len(n) == 0:
		return l.T("apps.access.everyone")
	case a.Require2FA:
		return l.T("apps.access.members_2fa", "groups", strings.Join(n, ", "))
	}
	return l.T("apps.access.members", "groups", strings.Join(n, ", "))
}

func (s *server) workgroupNames(r *http.Request, a *signin.Auth) (map[string]string, []workgroupChoice, error) {
	svc, err := s.workgroupsService()
	if err != nil {
		return nil, nil, err
	}
	list, err := svc.List(r.Context(), s.actor(r, a))
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	var choices []workgroupChoice
	for _, w := range list {
		names[w.ID] = w.Name
		choices = append(choices, workgroupChoice{ID: w.ID, Name: w.Name})
	}
	return names, choices, nil
}

// formOf shows an app's settings in the form.
func formOf(a *deadbolt.Application, choices []workgroupChoice) appForm {
	f := appForm{Name: a.Name, Kind: a.Kind, Backchannel: a.BackchannelLogoutURI, Public: a.Public, Require2FA: a.Require2FA,
		RedirectURIs: strings.Join(a.RedirectURIs, "\n"), PostLogoutURIs: strings.Join(a.PostLogoutRedirectURIs, "\n"),
		Domains: strings.Join(a.Domains, "\n")}
	for _, c := range choices {
		c.Checked = slices.Contains(a.Workgroups, c.ID)
		f.Workgroups = append(f.Workgroups, c)
	}
	return f
}

// postedForm reads the app form as sent, and the settings it asks for.
func postedForm(r *http.Request, choices []workgroupChoice) (appForm, apps.Settings) {
	f := appForm{Name: r.PostFormValue("name"), Kind: r.PostFormValue("kind"), Backchannel: strings.TrimSpace(r.PostFormValue("backchannel_logout_uri")),
		RedirectURIs: r.PostFormValue("redirect_uris"), PostLogoutURIs: r.PostFormValue("post_logout_redirect_uris"),
		Domains: r.PostFormValue("domains"), Public: r.PostFormValue("public") == "yes", Require2FA: r.PostFormValue("require_2fa") == "yes"}
	picked := r.PostForm["workgroups"]
	wgs := []string{}
	for _, c := range choices {
		c.Checked = slices.Contains(picked, c.ID)
		if c.Checked {
			wgs = append(wgs, c.ID)
		}
		f.Workgroups = append(f.Workgroups, c)
	}
	redirects, postLogout, domains := lines(f.RedirectURIs), lines(f.PostLogoutURIs), lines(f.Domains)
	set := apps.Settings{Name: &f.Name, RedirectURIs: &redirects, PostLogoutRedirectURIs: &postLogout,
		BackchannelLogoutURI: &f.Backchannel, Domains: &domains, Workgroups: &wgs, Require2FA: &f.Require2FA, Public: &f.Public}
	if f.Kind != "" {
		set.Kind = &f.Kind
	}
	return f, set
}

func (s *server) appsPage(w http.ResponseWriter, r *http.Request, a *signin.Auth, status int, errMsg string, form *appForm) {
	svc, err := s.appsService()
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	list, err := svc.List(r.Context(), s.actor(r, a))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	names, choices, err := s.workgroupNames(r, a)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	l := tr(r)
	v := &appsView{consoleBase: s.consoleBase(r, "/admin/apps")}
	for _, app := range list {
		target := strings.Join(app.Domains, ", ")
		if app.Kind == deadbolt.AppOIDC {
			target = strings.Join(app.RedirectURIs, ", ")
		}
		v.Rows = append(v.Rows, appRow{ID: app.ID, Name: app.Name, Kind: app.Kind, Access: accessWords(l, app, names), Target: target, Require2FA: app.Require2FA})
	}
	if form != nil {
		v.Form = *form
	} else {
		v.Form = appForm{Kind: deadbolt.AppOIDC, Workgroups: choices}
	}
	s.render(w, r, status, "admin_apps", &pageData{Title: l.T("console.title", "page", l.T("apps.title")), User: a.User, Console: v, Flash: consoleFlash(r), Error: errMsg})
}

func (s *server) pageAdminApps(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	s.appsPage(w, r, a, http.StatusOK, "", nil)
}

func (s *server) pageAdminCreateApp(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	svc, err := s.appsService()
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	_, choices, err := s.workgroupNames(r, a)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	f, set := postedForm(r, choices)
	app, secret, err := svc.Create(r.Context(), s.actor(r, a), set)
	if err != nil {
		s.consoleFailed(w, r, err, func(status int, m string) { s.appsPage(w, r, a, status, m, &f) })
		return
	}
	// The secret is shown on this answer only: never in a URL, never again.
	s.appPage(w, r, a, app, secret, http.StatusCreated, "", nil, tr(r).T("flash.app_created"))
}

// appPage shows one application.
func (s *server) appPage(w http.ResponseWriter, r *http.Request, a *signin.Auth, app *deadbolt.Application, secret string, status int, errMsg string, form *appForm, flashMsg string) {
	names, choices, err := s.workgroupNames(r, a)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	l := tr(r)
	v := &appView{consoleBase: s.consoleBase(r, "/admin/apps"), App: app, Secret: secret, Access: accessWords(l, app, names)}
	if form != nil {
		v.Form = *form
	} else {
		v.Form = formOf(app, choices)
	}
	if s.OIDC != nil {
		v.Issuer = s.OIDC.Issuer
		if app.Kind == deadbolt.AppOIDC {
			d := s.OIDC.Discovery()
			auth := l.T("apps.page.setting.auth_secret")
			if app.Public {
				auth = l.T("apps.page.setting.auth_public")
			}
			v.Settings = []settingRow{
				{l.T("apps.page.setting.issuer"), s.OIDC.Issuer}, {l.T("apps.page.setting.discovery"), s.OIDC.Issuer + oidc.PathDiscovery},
				{l.T("apps.page.setting.authorization"), d["authorization_endpoint"].(string)}, {l.T("apps.page.setting.token"), d["token_endpoint"].(string)},
				{l.T("apps.page.setting.userinfo"), d["userinfo_endpoint"].(string)}, {"JWKS", d["jwks_uri"].(string)},
				{l.T("apps.page.setting.end_session"), d["end_session_endpoint"].(string)}, {"Client ID", app.ClientID},
				{l.T("apps.page.setting.client_auth"), auth}, {l.T("apps.page.setting.scopes"), l.T("apps.page.setting.scopes_value")},
				{l.T("apps.page.setting.claims"), l.T("apps.page.setting.claims_value")},
			}
		}
		fails, err := s.OIDC.LogoutFailures(r.Context(), app.ID)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		loc := s.orgLocation()
		for _, g := range fails {
			when := g.LogoutNextAt
			if !g.LogoutDoneAt.IsZero() {
				when = g.LogoutDoneAt
			}
			login := g.UserID
			if u, err := s.Accounts.Get(r.Context(), s.actor(r, a), g.UserID); err == nil {
				login = u.Login
			}
			v.Failures = append(v.Failures, failureRow{User: login, When: l.DateTime(when, loc), Error: g.LogoutError,
				Attempts: g.LogoutAttempts, GivenUp: g.LogoutFailed})
		}
	}
	if flashMsg == "" {
		flashMsg = consoleFlash(r)
	}
	s.render(w, r, status, "admin_app", &pageData{Title: l.T("console.title", "page", app.Name), User: a.User, Console: v, Flash: flashMsg, Error: errMsg})
}

func (s *server) pageAdminApp(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	svc, err := s.appsService()
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	app, err := svc.Get(r.Context(), s.actor(r, a), r.PathValue("id"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.appPage(w, r, a, app, "", http.StatusOK, "", nil, "")
}

func (s *server) pageAdminUpdateApp(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	svc, err := s.appsService()
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	app, err := svc.Get(r.Context(), s.actor(r, a), r.PathValue("id"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	_, choices, err := s.workgroupNames(r, a)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	f, set := postedForm(r, choices)
	f.Kind, set.Kind = app.Kind, nil
	updated, err := svc.Update(r.Context(), s.actor(r, a), app.ID, set)
	if err != nil {
		s.consoleFailed(w, r, err, func(status int, m string) { s.appPage(w, r, a, app, "", status, m, &f, "") })
		return
	}
	http.Redirect(w, r, "/admin/apps/"+url.PathEscape(updated.ID)+"?msg=app_updated", http.StatusSeeOther)
}

func (s *server) pageAdminRotateAppSecret(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	svc, err := s.appsService()
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	app, secret, err := svc.RotateSecret(r.Context(), s.actor(r, a), r.PathValue("id"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.appPage(w, r, a, app, secret, http.StatusOK, "", nil, tr(r).T("flash.app_secret_rotated"))
}

func (s *server) pageAdminDeleteApp(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	svc, err := s.appsService()
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if !confirmed(r) {
		app, err := svc.Get(r.Context(), s.actor(r, a), r.PathValue("id"))
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		s.appPage(w, r, a, app, "", http.StatusBadRequest, errorText(tr(r), errNotConfirmed), nil, "")
		return
	}
	if err := svc.Delete(r.Context(), s.actor(r, a), r.PathValue("id")); err != nil {
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/apps?msg=app_deleted", http.StatusSeeOther)
}

// apiAppLogoutFailures lists an application's failed back-channel logout
// deliveries.
func (s *server) apiAppLogoutFailures(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.appsService()
	if err != nil {
		return err
	}
	app, err := svc.Get(r.Context(), s.actor(r, a), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := []any{}
	if s.OIDC != nil {
		list, err := s.OIDC.LogoutFailures(r.Context(), app.ID)
		if err != nil {
			return err
		}
		for _, g := range list {
			out = append(out, map[string]any{"grant_id": g.ID, "user_id": g.UserID, "session_id": g.SessionID,
				"attempts": g.LogoutAttempts, "error": g.LogoutError, "first_at": timeJSON(g.LogoutFirstAt),
				"next_at": timeJSON(g.LogoutNextAt), "done_at": timeJSON(g.LogoutDoneAt), "given_up": g.LogoutFailed})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"failures": out})
	return nil
}
