package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"deadbolt/internal/apps"
	"deadbolt/internal/authz"
	"deadbolt/internal/deadbolt"
)

// Forward-auth: a reverse proxy asks, for each request to a protected
// app, whether it may pass (package authz decides). Two flavours answer
// the same check:
//
//   - forward-auth (Traefik ForwardAuth, Caddy forward_auth): the original
//     request comes in X-Forwarded-Method, -Proto, -Host and -Uri; a
//     browser that must sign in is redirected (302) to the sign-in page
//     with rd, an API client gets 401;
//   - auth-request (nginx auth_request): the original request comes in
//     X-Original-URL (and X-Original-Method), or the X-Forwarded-*
//     headers; the answer is only 200, 401 or 403, with a Location header
//     that nginx's error_page sends the browser to (401: the sign-in
//     page, 403: the access page).
//
// The forwarded headers are believed only from --trusted-proxies; from
// anyone else the request is taken as it is, which matches no app (403).
type forwardFlavour int

const (
	flavourForwardAuth forwardFlavour = iota
	flavourAuthRequest
)

// The headers the check answers with, always all four (a proxy that
// copies them replaces whatever the client sent).
const (
	hdrUser   = "Remote-User"
	hdrName   = "Remote-Name"
	hdrEmail  = "Remote-Email"
	hdrGroups = "Remote-Groups"
)

func (s *server) apiForwardAuth(f forwardFlavour) apiHandler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.Authz == nil {
			return deadbolt.Errorf(deadbolt.CodeNotFound, "Forward-auth is not enabled.")
		}
		o, err := s.originalRequest(r, f)
		if err != nil {
			return err
		}
		d, err := s.Authz.Check(r.Context(), o, s.sessionToken(r), func() string { return s.clientIP(r) })
		if err != nil {
			return err
		}
		h := w.Header()
		h["Cache-Control"] = noStore
		browser := f == flavourForwardAuth && isBrowser(r, o)
		if f == flavourAuthRequest {
			// nginx answers only with a status; Location says where its
			// error_page sends the browser (auth_request_set reads it).
			switch d.Outcome {
			case authz.SignIn, authz.StepUp:
				h.Set("Location", s.publicPath("/login", o.URL()))
			case authz.Denied, authz.SetUp, authz.NoApp:
				h.Set("Location", s.publicPath("/access", o.URL()))
			}
		}
		switch d.Outcome {
		case authz.Allow:
			h[hdrUser] = []string{d.User.Login}
			h[hdrName] = []string{d.User.Name}
			h[hdrEmail] = []string{d.User.Email}
			h[hdrGroups] = []string{d.Groups.Header}
			w.WriteHeader(http.StatusOK)
			return nil
		case authz.NoApp:
			return deadbolt.Errorf(deadbolt.CodeForbidden, "No application is registered at this address.")
		case authz.SignIn:
			if browser {
				http.Redirect(w, r, s.publicPath("/login", o.URL()), http.StatusFound)
				return nil
			}
			h.Set("WWW-Authenticate", `Bearer realm="deadbolt"`)
			return deadbolt.Errorf(deadbolt.CodeUnauthorized, "Sign in to %s first.", d.App.Name)
		case authz.StepUp:
			if browser {
				http.Redirect(w, r, s.publicPath("/login", o.URL()), http.StatusFound)
				return nil
			}
			if f == flavourAuthRequest {
				return deadbolt.Errorf(deadbolt.CodeUnauthorized, "%s needs a sign-in with your second factor.", d.App.Name)
			}
			return deadbolt.Errorf(deadbolt.CodeSecondFactorRequired, "%s needs a sign-in with your second factor.", d.App.Name)
		case authz.SetUp:
			if browser {
				http.Redirect(w, r, s.publicPath("/security/2fa/setup", o.URL()), http.StatusFound)
				return nil
			}
			return deadbolt.Errorf(deadbolt.CodeSetupRequired, "%s needs two-factor authentication: set it up first.", d.App.Name)
		default: // authz.Denied
			if browser {
				s.writeDeniedPage(w, d.App, o.URL())
				return nil
			}
			return apps.DeniedError(d.App)
		}
	}
}

var noStore = []string{"no-store"}

// sessionToken is the session token of a request: the bearer token, else
// the session cookie; "" for none.
func (s *server) sessionToken(r *http.Request) string {
	if tok := bearer(r); tok != "" {
		return tok
	}
	if c, err := r.Cookie(s.cookie.name); err == nil {
		return c.Value
	}
	return ""
}

// publicPath is an address on Deadbolt's public URL with rd in its query.
func (s *server) publicPath(path, rd string) string {
	base := ""
	if s.PublicURL != nil {
		base = strings.TrimSuffix(s.PublicURL.String(), "/")
	}
	return base + path + "?rd=" + url.QueryEscape(rd)
}

// isBrowser reports whether a proxied request comes from a browser
// navigating (a GET or HEAD that accepts HTML), which is sent to sign in,
// rather than an API client, which gets a status.
func isBrowser(r *http.Request, o authz.Original) bool {
	if o.Method != http.MethodGet && o.Method != http.MethodHead {
		return false
	}
	if strings.EqualFold(r.Header.Get("X-Requested-With"), "XMLHttpRequest") {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// peerTrusted reports whether the request's peer is a trusted proxy.
func (s *server) peerTrusted(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	return err == nil && s.trusted(a.Unmap())
}

// originalRequest returns the request the proxy asks about. From a trusted
// proxy it comes from the forwarded headers, which must be there and say
// one thing each (400 otherwise); from anyone else it is the request
// itself.
func (s *server) originalRequest(r *http.Request, f forwardFlavour) (authz.Original, error) {
	if !s.peerTrusted(r) {
		return authz.Original{Method: r.Method, Scheme: "http", Host: r.Host, URI: r.URL.RequestURI()}, nil
	}
	bad := func(what string) (authz.Original, error) {
		return authz.Original{}, deadbolt.Errorf(deadbolt.CodeBadRequest, "The proxy's %s header is missing or unclear.", what)
	}
	one := func(name string) (string, bool) {
		v := r.Header.Values(name)
		switch len(v) {
		case 0:
			return "", true
		case 1:
			return strings.TrimSpace(v[0]), true
		}
		return "", false
	}
	var o authz.Original
	method, ok := one("X-Forwarded-Method")
	if !ok {
		return bad("X-Forwarded-Method")
	}
	if f == flavourAuthRequest {
		if m, ok := one("X-Original-Method"); !ok {
			return bad("X-Original-Method")
		} else if m != "" {
			method = m
		}
		raw, ok := one("X-Original-URL")
		if !ok {
			return bad("X-Original-URL")
		}
		if raw != "" {
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Opaque != "" {
				return bad("X-Original-URL")
			}
			o = authz.Original{Scheme: u.Scheme, Host: u.Host, URI: u.RequestURI()}
		}
	}
	if o.Host == "" {
		proto, ok1 := one("X-Forwarded-Proto")
		host, ok2 := one("X-Forwarded-Host")
		uri, ok3 := one("X-Forwarded-Uri")
		switch {
		case !ok1 || (proto != "" && proto != "http" && proto != "https"):
			return bad("X-Forwarded-Proto")
		case !ok2 || host == "":
			if f == flavourAuthRequest {
				return bad("X-Original-URL")
			}
			return bad("X-Forwarded-Host")
		case !ok3 || uri == "":
			return bad("X-Forwarded-Uri")
		}
		if proto == "" {
			proto = "https"
		}
		o = authz.Original{Scheme: proto, Host: host, URI: uri}
	}
	if method == "" {
		method = http.MethodGet
	}
	if len(method) > 16 || strings.IndexFunc(method, func(c rune) bool { return c < 'A' || c > 'Z' }) >= 0 {
		return bad("X-Forwarded-Method")
	}
	o.Method = method
	if len(o.Host) > 300 || strings.ContainsAny(o.Host, " ,/\\@?#") || strings.IndexFunc(o.Host, func(c rune) bool { return c < 0x21 || c > 0x7e }) >= 0 {
		return bad("host")
	}
	if !strings.HasPrefix(o.URI, "/") || len(o.URI) > 8192 || strings.IndexFunc(o.URI, func(c rune) bool { return c < 0x21 || c == 0x7f }) >= 0 {
		return bad("URI")
	}
	return o, nil
}

// The page a browser sees, through its proxy, when an app does not admit
// the employee: standalone (the proxy serves it on the app's origin, where
// Deadbolt's style sheet is not), its style allowed by hash.
var (
	deniedStyle = `body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}` +
		`main{max-width:34rem;margin:12vh auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}` +
		`h1{font-size:1.4rem;margin-top:0}a{color:#1a56db}`
	deniedCSP = "default-src 'none'; style-src 'sha256-" + styleHash(deniedStyle) + "'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
	deniedTpl = template.Must(template.New("denied").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>No access to {{.App}}</title><style>{{.Style}}</style></head>
<body><main><h1>No access to {{.App}}</h1>
<p>You do not have access to {{.App}}. Ask your administrator to give you access: they decide which workgroups may open it.</p>
<p><a href="{{.Home}}">Open Deadbolt</a></p></main></body></html>`))
)

func styleHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(h[:])
}

func (s *server) writeDeniedPage(w http.ResponseWriter, a *deadbolt.Application, rd string) {
	var buf bytes.Buffer
	deniedTpl.Execute(&buf, map[string]any{"App": a.Name, "Style": template.CSS(deniedStyle), "Home": s.publicPath("/access", rd)})
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", deniedCSP)
	w.WriteHeader(http.StatusForbidden)
	w.Write(buf.Bytes())
}
