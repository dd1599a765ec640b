package authz

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"deadbolt/internal/apps"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/signin"
)

// Original is the request a reverse proxy asks about, as the proxy tells
// it (the web layer believes it only from a trusted proxy).
type Original struct {
	Method string // GET, POST, …
	Scheme string // http or https
	Host   string // host[:port]
	URI    string // path and query, starting with "/"
}

// URL is the original request's address.
func (o Original) URL() string { return o.Scheme + "://" + o.Host + o.URI }

// Outcome is what a check decided.
type Outcome int

// The outcomes of Check.
const (
	// Allow lets the request through.
	Allow Outcome = iota
	// NoApp: no proxy app is registered for the address: refused (deny
	// by default).
	NoApp
	// SignIn: no usable session (none, ended, expired, or not past its
	// second factor).
	SignIn
	// Denied: the app does not admit this employee.
	Denied
	// SetUp: the app requires a second factor and the employee has none:
	// set one up first.
	SetUp
	// StepUp: the app requires a second factor and this session was
	// proven without one: sign in again with it.
	StepUp
)

// Decision is the answer to one check.
type Decision struct {
	Outcome Outcome
	// App is the matched app (nil with NoApp).
	App *deadbolt.Application
	// User and Groups are the employee (set from SignIn on, but for
	// SignIn).
	User   *deadbolt.User
	Groups *Groups
}

// Recorder records grants and denials of apps in the audit log; the apps
// service implements it.
type Recorder interface {
	RecordAccess(ctx context.Context, a *deadbolt.Application, userID, ip, via string, v apps.Verdict)
}

// Config holds what the service needs to know of the installation.
type Config struct {
	// PublicURL is where employees reach Deadbolt.
	PublicURL *url.URL
	// AuditEvery is how often one session's grant (or one kind of denial)
	// of one app is recorded again (default 1 h for grants, 1 min for
	// denials when zero).
	GrantEvery, DenyEvery time.Duration
}

// Service decides forward-auth checks. It is safe for concurrent use.
type Service struct {
	signin *signin.Service
	cache  *Cache
	rec    Recorder
	cfg    Config
	log    *slog.Logger

	// audited holds, per session, app and verdict, the monotonic time
	// until which not to record it again; nAudited counts its entries.
	audited  shardedMap[auditKey, int64]
	nAudited atomic.Int64
}

// maxAudited bounds the table of recent audit records.
const maxAudited = 100_000

type auditKey struct {
	session, app string
	verdict      apps.Verdict
}

// New returns the forward-auth service: sessions are checked by sign
// (reading through cache), applications read through cache, grants and
// denials recorded by rec.
func New(sign *signin.Service, cache *Cache, rec Recorder, cfg Config, log *slog.Logger) *Service {
	if cfg.GrantEvery <= 0 {
		cfg.GrantEvery = time.Hour
	}
	if cfg.DenyEvery <= 0 {
		cfg.DenyEvery = time.Minute
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{signin: sign, cache: cache, rec: rec, cfg: cfg, log: log}
}

// Check decides whether the original request o, made with the session
// token (from the SSO cookie or a bearer header; "" for none) from the
// client address ip says (asked only when the check is audited), may
// pass: the app is the proxy app whose domain entry matches o most
// specifically; an employee it admits passes, anyone else does not (see
// Outcome). Errors are the store's (CodeUnavailable): the caller must
// refuse.
func (s *Service) Check(ctx context.Context, o Original, token string, ip func() string) (Decision, error) {
	ix, err := s.cache.Apps(ctx)
	if err != nil {
		return Decision{}, err
	}
	app := ix.Match(o.Host, o.URI)
	if app == nil {
		return Decision{Outcome: NoApp}, nil
	}
	d := Decision{Outcome: SignIn, App: app}
	if token == "" {
		return d, nil
	}
	a, err := s.signin.Authenticate(ctx, token)
	if deadbolt.IsCode(err, deadbolt.CodeUnauthorized) {
		return d, nil
	}
	if err != nil {
		return Decision{}, err
	}
	if !a.Full() {
		return d, nil
	}
	g, err := s.cache.UserGroups(ctx, a.User.ID)
	if err != nil {
		return Decision{}, err
	}
	d.User, d.Groups = a.User, g
	v := apps.Access(app, a.User, g.IDs, a.Session.AMR)
	switch v {
	case apps.Admit:
		d.Outcome = Allow
	case apps.StepUp:
		d.Outcome = StepUp
	case apps.SetupFirst:
		d.Outcome = SetUp
	default:
		d.Outcome = Denied
	}
	s.record(ctx, app, a, ip, v)
	return d, nil
}

// record writes a grant or denial to the audit log unless the same one
// was written lately for this session (one write per proxied request
// would make the audit log, and the database, the bottleneck of every
// app). The write does not hold up the answer.
func (s *Service) record(ctx context.Context, app *deadbolt.Application, a *signin.Auth, ip func() string, v apps.Verdict) {
	if s.rec == nil {
		return
	}
	every := s.cfg.DenyEvery
	if v == apps.Admit {
		every = s.cfg.GrantEvery
	}
	k := auditKey{session: a.Session.ID, app: app.ID, verdict: v}
	now := s.cache.mono()
	if until, ok := s.audited.Load(k); ok && now < until {
		return
	}
	// Two first checks at once may both record: harmless. The table is
	// bounded: past maxAudited entries it starts over.
	if s.nAudited.Add(1) > maxAudited {
		s.audited.Clear(func(int64) {})
		s.nAudited.Store(1)
	}
	s.audited.Store(k, now+int64(every))
	userID, addr := a.User.ID, ip()
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		s.rec.RecordAccess(ctx, app, userID, addr, "forward_auth", v)
	}()
}

// Continue checks a return address (rd) for after sign-in: an address on
// Deadbolt itself (a path, or an absolute URL on the public URL's origin)
// or one that a registered proxy app's domain entry matches. It returns the
// address to go to and true, or "" and false for anything else — never an
// open redirect. Errors are the store's.
func (s *Service) Continue(ctx context.Context, rd string) (string, bool, error) {
	if rd == "" || len(rd) > 4096 || strings.ContainsAny(rd, "\\\r\n\t") {
		return "", false, nil
	}
	if strings.HasPrefix(rd, "/") && !strings.HasPrefix(rd, "//") {
		if _, err := url.ParseRequestURI(rd); err != nil {
			return "", false, nil
		}
		return rd, true, nil
	}
	u, err := url.Parse(rd)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", false, nil
	}
	if p := s.cfg.PublicURL; p != nil && u.Scheme == p.Scheme && strings.EqualFold(u.Host, p.Host) {
		return u.String(), true, nil
	}
	ix, err := s.cache.Apps(ctx)
	if err != nil {
		return "", false, err
	}
	uri := u.EscapedPath()
	if uri == "" {
		uri = "/"
	}
	if ix.Match(u.Host, uri) == nil {
		return "", false, nil
	}
	return u.String(), true, nil
}

// Explain re-runs the check for a return address rd with the browser's own
// session: what the access page shows (or where it sends the employee).
// NoApp when rd is not a registered app's address.
func (s *Service) Explain(ctx context.Context, rd, token string, ip func() string) (Decision, Original, error) {
	u, err := url.Parse(rd)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return Decision{Outcome: NoApp}, Original{}, nil
	}
	o := Original{Method: "GET", Scheme: u.Scheme, Host: u.Host, URI: u.RequestURI()}
	d, err := s.Check(ctx, o, token, ip)
	return d, o, err
}
