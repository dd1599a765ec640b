package web

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/i18n"
	"deadbolt/internal/signin"
)

// The language of a request (SPEC §15): the employee's saved choice, else
// the choice made in this browser (the language cookie, set by the
// selector on every page), else the browser's Accept-Language, else the
// server's default language. The language middleware puts the browser's
// choice into the request's context; authenticating a session replaces it
// with the employee's saved one (withUserLanguage). Services read it with
// i18n.FromContext (an SMS is written in it); the web layer says every
// page, flash and error message in it.

// langCookie holds the language chosen in this browser.
const langCookie = "deadbolt_lang"

// langHolder is the language of one request. Authenticating replaces it
// in place, so that the wrappers that write a handler's error (api) speak
// the employee's language too.
type langHolder struct{ l *i18n.Locale }

type langKey struct{}

// language puts the browser's language into every request's context.
func (s *server) language(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := s.browserLocale(r)
		ctx := context.WithValue(i18n.NewContext(r.Context(), l), langKey{}, &langHolder{l: l})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// browserLocale is the language chosen in this browser, else the one its
// Accept-Language asks for, else the default.
func (s *server) browserLocale(r *http.Request) *i18n.Locale {
	if l := cookieLocale(r); l != nil {
		return l
	}
	return s.langs.Negotiate(r.Header.Get("Accept-Language"))
}

// cookieLocale is the language of the browser's language cookie, nil for
// none.
func cookieLocale(r *http.Request) *i18n.Locale {
	if c, err := r.Cookie(langCookie); err == nil {
		return i18n.Get(c.Value)
	}
	return nil
}

// withUserLanguage returns r speaking u's saved language, when u has one.
func withUserLanguage(r *http.Request, u *deadbolt.User) *http.Request {
	if u == nil || u.Language == "" {
		return r
	}
	l := i18n.Get(u.Language)
	if l == nil || l == tr(r) {
		return r
	}
	if h, ok := r.Context().Value(langKey{}).(*langHolder); ok {
		h.l = l
	}
	return r.WithContext(i18n.NewContext(r.Context(), l))
}

// tr is the language of the request.
func tr(r *http.Request) *i18n.Locale {
	if h, ok := r.Context().Value(langKey{}).(*langHolder); ok {
		return h.l
	}
	return i18n.FromContext(r.Context())
}

func (s *server) setLangCookie(w http.ResponseWriter, code string) {
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: code, Path: "/", MaxAge: int((400 * 24 * time.Hour).Seconds()),
		Secure: s.cookie.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// syncLanguage runs after a password sign-in in a browser: a language
// chosen on the sign-in page becomes the employee's saved choice when they
// had none; a saved choice becomes the browser's, so that the sign-in page
// speaks it next time.
func (s *server) syncLanguage(w http.ResponseWriter, r *http.Request, u *deadbolt.User) *http.Request {
	if u == nil {
		return r
	}
	if u.Language == "" {
		if l := cookieLocale(r); l != nil && s.Accounts != nil {
			if err := s.Accounts.SetLanguage(r.Context(), u.ID, l.Code()); err != nil {
				s.log.WarnContext(r.Context(), "save language", "user_id", u.ID, "err", err)
			}
		}
		return r
	}
	if l := cookieLocale(r); l == nil || l.Code() != u.Language {
		s.setLangCookie(w, u.Language)
	}
	return withUserLanguage(r, u)
}

// langOption is one language the selector offers.
type langOption struct {
	Code, Name string
	Current    bool
}

func langOptions(cur *i18n.Locale) []langOption {
	var out []langOption
	for _, l := range i18n.Languages() {
		out = append(out, langOption{Code: l.Code(), Name: l.Name(), Current: l == cur})
	}
	return out
}

// pageSetLanguage is the selector: it remembers the language in this
// browser and, for a signed-in employee, in their account, then goes back
// to the page it was chosen on.
func (s *server) pageSetLanguage(w http.ResponseWriter, r *http.Request) {
	l := i18n.Get(r.PostFormValue("language"))
	if l == nil {
		s.pageError(w, r, deadbolt.Errorf(deadbolt.CodeInvalidInput, "The language must be one of %s.", strings.Join(i18n.Codes(), ", ")))
		return
	}
	s.setLangCookie(w, l.Code())
	if a, err := s.authenticate(r); err == nil && s.Accounts != nil {
		if err := s.Accounts.SetLanguage(r.Context(), a.User.ID, l.Code()); err != nil {
			s.pageError(w, r, err)
			return
		}
	}
	http.Redirect(w, r, s.localBack(r.PostFormValue("back")), http.StatusSeeOther)
}

// localBack returns back when it is a path of this server that a GET can
// open, else "/": the selector never sends the browser elsewhere.
func (s *server) localBack(back string) string {
	if back == "" || !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.ContainsAny(back, "\\\r\n") {
		return "/"
	}
	u, err := url.Parse(back)
	if err != nil || u.IsAbs() || u.Host != "" || u.User != nil {
		return "/"
	}
	if _, pattern := s.mux.Handler(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: u.Path}, Host: "localhost"}); !strings.HasPrefix(pattern, "GET ") {
		return "/"
	}
	return u.RequestURI()
}

// backTo is where the selector of a page returns: the page itself when a
// GET opens it, else (a page shown in answer to a form) that path if a GET
// opens it, else the home page.
func (s *server) backTo(r *http.Request) string {
	if r.Method == http.MethodGet {
		return s.localBack(r.URL.RequestURI())
	}
	return s.localBack(r.URL.Path)
}

// preferencesRequest is the body of PUT /api/v1/me/preferences.
type preferencesRequest struct {
	Language *string `json:"language"`
}

// apiSetPreferences saves the employee's preferences: the language
// ("en", "ru"; "" to follow the browser again).
func (s *server) apiSetPreferences(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	var req preferencesRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if req.Language == nil {
		return deadbolt.Errorf(deadbolt.CodeInvalidInput, "Send the language to use, such as {\"language\":\"ru\"}.")
	}
	if err := s.Accounts.SetLanguage(r.Context(), a.User.ID, *req.Language); err != nil {
		return err
	}
	a.User.Language = *req.Language
	if _, err := r.Cookie(s.cookie.name); err == nil && *req.Language != "" {
		// The same browser: its pages follow at once.
		s.setLangCookie(w, *req.Language)
	}
	writeJSON(w, http.StatusOK, preferencesJSON(a.User))
	return nil
}

// apiDeviceSetPreferences saves the language chosen in the companion app
// as the employee's.
func (s *server) apiDeviceSetPreferences(w http.ResponseWriter, r *http.Request) error {
	_, u, err := s.deviceAuth(r)
	if err != nil {
		return err
	}
	var req preferencesRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if req.Language == nil {
		return deadbolt.Errorf(deadbolt.CodeInvalidInput, "Send the language to use, such as {\"language\":\"ru\"}.")
	}
	if err := s.Accounts.SetLanguage(r.Context(), u.ID, *req.Language); err != nil {
		return err
	}
	u.Language = *req.Language
	writeJSON(w, http.StatusOK, preferencesJSON(u))
	return nil
}

// apiPreferences answers the employee's preferences.
func (s *server) apiPreferences(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	writeJSON(w, http.StatusOK, preferencesJSON(a.User))
	return nil
}

// preferencesJSON is an employee's saved preferences: the language, null
// while they have not chosen one.
func preferencesJSON(u *deadbolt.User) map[string]any {
	var lang any
	if u.Language != "" {
		lang = u.Language
	}
	return map[string]any{"language": lang}
}

// jsMessages are the texts a page's scripts use (keys "js."), in the
// page's language, as JSON for a data block.
func jsMessages(l *i18n.Locale) template.JS {
	b, err := json.Marshal(l.Prefixed("js."))
	if err != nil {
		return "{}"
	}
	return template.JS(b)
}
