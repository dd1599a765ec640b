package web

import (
	"net/http"

	"deadbolt/internal/authz"
	"deadbolt/internal/deadbolt"
)

// pageAccess is where a browser lands when its proxy refused a request
// (nginx sends 403s here with rd, the original address): it checks rd again
// with the browser's own session and shows why the app does not admit the
// employee — or sends them to sign in, to set up two-factor
// authentication, or back to the app when it admits them after all.
func (s *server) pageAccess(w http.ResponseWriter, r *http.Request) {
	rd := r.URL.Query().Get("rd")
	if s.Authz == nil || rd == "" {
		s.pageError(w, r, deadbolt.Errorf(deadbolt.CodeNotFound, "No application is registered at this address."))
		return
	}
	d, o, err := s.Authz.Explain(r.Context(), rd, s.sessionToken(r), func() string { return s.clientIP(r) })
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	switch d.Outcome {
	case authz.Allow:
		http.Redirect(w, r, o.URL(), http.StatusFound)
	case authz.SignIn, authz.StepUp:
		http.Redirect(w, r, s.publicPath("/login", o.URL()), http.StatusFound)
	case authz.SetUp:
		http.Redirect(w, r, s.publicPath("/security/2fa/setup", o.URL()), http.StatusFound)
	case authz.Denied:
		s.render(w, r, http.StatusForbidden, "access", &pageData{Title: tr(r).T("access.title", "app", d.App.Name), User: d.User,
			Error: tr(r).T("access.error", "app", d.App.Name)})
	default:
		s.pageError(w, r, deadbolt.Errorf(deadbolt.CodeNotFound, "No application is registered at this address."))
	}
}

// takeContinue remembers a checked rd of this request for after the sign-in
// (or setup) it starts, and reports whether there was one.
func (s *server) takeContinue(w http.ResponseWriter, r *http.Request) (string, bool) {
	rd := r.URL.Query().Get("rd")
	if rd == "" || s.Authz == nil {
		return "", false
	}
	target, ok, err := s.Authz.Continue(r.Context(), rd)
	if err != nil || !ok {
		return "", false
	}
	s.setContinue(w, target)
	return target, true
}
