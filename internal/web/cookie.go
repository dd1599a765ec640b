package web

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// cookieConfig decides the session cookie's name and flags. Browsers accept
// the __Host- prefix only on Secure cookies, which they allow over https and
// on loopback; a plain-http public address on another host falls back to an
// unprefixed cookie. With a cookie domain (so that the reverse proxies of
// every subdomain can pass the SSO session to forward-auth) the cookie is
// deadbolt_session with that Domain, always Secure.
type cookieConfig struct {
	name   string
	secure bool
	domain string
}

func newCookieConfig(public *url.URL, domain string) cookieConfig {
	if domain != "" {
		return cookieConfig{name: "deadbolt_session", secure: true, domain: domain}
	}
	if public == nil || public.Scheme == "https" || isLoopbackHost(public.Hostname()) {
		return cookieConfig{name: "__Host-deadbolt_session", secure: true}
	}
	return cookieConfig{name: "deadbolt_session", secure: false}
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (s *server) setSessionCookie(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookie.name, Value: token, Path: "/", Expires: expires, Domain: s.cookie.domain,
		Secure: s.cookie.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

func (s *server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookie.name, Value: "", Path: "/", MaxAge: -1, Domain: s.cookie.domain,
		Secure: s.cookie.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// continueCookie carries where to go once a sign-in (or a two-factor
// setup) is done: set by the sign-in and setup pages from a checked rd,
// followed and cleared by the home page.
const continueCookie = "deadbolt_continue"

func (s *server) setContinue(w http.ResponseWriter, target string) {
	http.SetCookie(w, &http.Cookie{Name: continueCookie, Value: url.QueryEscape(target), Path: "/", MaxAge: 15 * 60,
		Secure: s.cookie.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (s *server) clearContinue(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: continueCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: s.cookie.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// continueTarget returns the checked address the continue cookie holds,
// or "": a registered proxy app's address (rd), or the continuation of a
// pending OpenID Connect authorization request on this server.
func (s *server) continueTarget(r *http.Request) string {
	c, err := r.Cookie(continueCookie)
	if err != nil {
		return ""
	}
	raw, err := url.QueryUnescape(c.Value)
	if err != nil {
		return ""
	}
	if ref := oidcContinueRef(raw); ref != "" {
		return raw
	}
	if strings.HasPrefix(raw, "/") {
		// A page of this server (a deep link), opened again by a GET.
		if back := s.localBack(raw); back == raw && !strings.HasPrefix(raw, "/login") {
			return raw
		}
		return ""
	}
	if s.Authz == nil {
		return ""
	}
	target, ok, err := s.Authz.Continue(r.Context(), raw)
	if err != nil || !ok {
		return ""
	}
	return target
}
