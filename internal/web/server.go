// Package web is Deadbolt's HTTP face: the JSON API under /api/v1, the
// server-rendered pages, health and metrics. It translates requests into
// calls on the services and their errors into statuses (errors.go is the one
// place that happens); it never touches a store directly.
package web

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"

	"github.com/prometheus/client_golang/prometheus"

	"deadbolt/internal/accounts"
	"deadbolt/internal/apps"
	"deadbolt/internal/authz"
	"deadbolt/internal/captcha"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/device"
	"deadbolt/internal/i18n"
	"deadbolt/internal/oidc"
	"deadbolt/internal/passkey"
	"deadbolt/internal/signin"
	"deadbolt/internal/smscode"
	"deadbolt/internal/workgroups"
)

// Deps is everything the HTTP layer needs.
type Deps struct {
	Signin   *signin.Service
	Accounts *accounts.Service
	Devices  *device.Service
	Pusher   *device.Pusher
	// Notifier wakes long polls and event streams.
	Notifier deadbolt.Notifier
	// Workgroups manages workgroups and their two-factor policy, and
	// gives each employee's banners.
	Workgroups *workgroups.Service
	// Apps manages the applications employees sign into; nil answers the
	// application routes with 503.
	Apps *apps.Service
	// OIDC is the OpenID Connect provider; nil serves none of its routes.
	OIDC *oidc.Provider
	// Passkeys runs the WebAuthn ceremonies of registration; nil answers
	// the passkey routes with passkeys_unavailable.
	Passkeys *passkey.Service
	// Captcha is the built-in CAPTCHA.
	Captcha *captcha.Builtin
	// HostedCaptcha, when set, is used instead of the built-in CAPTCHA.
	HostedCaptcha *captcha.Hosted
	// Events reads the audit log.
	Events deadbolt.EventStore
	// Ready reports whether the server can serve (database reachable).
	Ready func(context.Context) error
	// Draining is closed when the server begins to shut down: /readyz
	// answers 503 from then on, long polls answer at once with their
	// current state, and event streams end. Nil never closes.
	Draining <-chan struct{}
	Clock    deadbolt.Clock
	// DevClock is set only in development mode; with it come the /dev
	// API paths.
	DevClock *deadbolt.DevClock
	// DevOutbox lists the SMS messages sent in development mode.
	DevOutbox func() []DevMessage
	// SMS sends and checks codes sent by text message and links phone
	// numbers; nil turns the SMS routes into 503 answers.
	SMS    *smscode.Service
	Logger *slog.Logger
	// Metrics is the registry served at /metrics.
	Metrics *prometheus.Registry
	// PublicURL is the address employees reach the server at.
	PublicURL *url.URL
	// CookieDomain, when set, makes the session cookie deadbolt_session
	// for that domain and its subdomains (checked at start: the public URL
	// lies inside it).
	CookieDomain string
	// Authz answers reverse proxies' forward-auth checks and checks
	// return addresses after sign-in; nil turns forward-auth off.
	Authz *authz.Service
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Version is printed on pages and in /healthz.
	Version string
	// VAPIDPublicKey is the Web Push applicationServerKey (unpadded
	// base64url); empty makes GET /api/v1/device/vapid answer 404.
	VAPIDPublicKey string
	// DefaultLanguage is the language of a request that names none the
	// catalogue has ("" for English); an unknown one panics in NewServer
	// (the configuration checks it first).
	DefaultLanguage string
}

// DevMessage is one SMS in the development outbox.
type DevMessage struct {
	To     string `json:"to"`
	Body   string `json:"body"`
	Code   string `json:"code"`
	SentAt string `json:"sent_at"`
}

type server struct {
	Deps
	log     *slog.Logger
	pages   *template.Template
	langs   *i18n.Matcher
	cookie  cookieConfig
	metrics *httpMetrics
	hsts    bool
	// openAPI is the document served at /api/v1/openapi.json.
	openAPI []byte
	// mux holds the routes; methods are the methods its patterns name
	// (HEAD with GET), for the Allow header of API paths.
	mux     *http.ServeMux
	methods []string
}

// NewServer returns the whole HTTP surface of Deadbolt as one handler.
func NewServer(d Deps) http.Handler {
	s := &server{Deps: d, log: d.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.Clock == nil {
		s.Clock = deadbolt.SystemClock{}
	}
	langs, err := i18n.NewMatcher(d.DefaultLanguage)
	if err != nil {
		panic(err)
	}
	s.langs = langs
	s.cookie = newCookieConfig(d.PublicURL, d.CookieDomain)
	s.hsts = d.PublicURL != nil && d.PublicURL.Scheme == "https"
	s.pages = parsePages()
	s.openAPI = openAPIDocument(d.DevClock != nil)
	s.metrics = newHTTPMetrics(d.Metrics)
	s.mux = http.NewServeMux()
	rec := &methodRecorder{ServeMux: s.mux, seen: map[string]bool{}}
	s.routes(rec)
	s.methods = rec.methods()
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, deadbolt.Errorf(deadbolt.CodeForbidden, "Cross-origin request refused."))
	}))
	if d.PublicURL != nil {
		cop.AddTrustedOrigin(d.PublicURL.Scheme + "://" + d.PublicURL.Host)
	}
	return s.language(s.recoverPanics(s.logRequests(s.securityHeaders(s.devHosts(cop.Handler(s.strictForms(s.notFoundPages(s.mux))))))))
}
