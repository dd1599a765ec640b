package web

import (
	"net"
	"net/http"
	"net/url"
	"time"
)

// cookieConfig decides the session cookie's name and flags. Browsers accept
// the __Host- prefix only on Secure cookies, which they allow over https and
// on loopback; a plain-http public address on another host falls back to an
// unprefixed cookie.
type cookieConfig struct {
	name   string
	secure bool
}

func newCookieConfig(public *url.URL) cookieConfig {
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
		Name: s.cookie.name, Value: token, Path: "/", Expires: expires,
		Secure: s.cookie.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

func (s *server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookie.name, Value: "", Path: "/", MaxAge: -1,
		Secure: s.cookie.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}
