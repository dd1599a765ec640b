package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/i18n"
	"deadbolt/internal/signin"
)

//go:embed ui/templates/*.html
var templateFS embed.FS

//go:embed ui/static
var staticFS embed.FS

func staticFiles() http.Handler {
	sub, err := fs.Sub(staticFS, "ui")
	if err != nil {
		panic(err)
	}
	fsrv := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

var pageNames = []string{"login", "access", "home", "security", "admin", "error", "verify", "setup", "codes", "reauth", "phone", "password_new",
	"admin_user", "admin_import", "admin_workgroups", "admin_workgroup", "admin_phones", "admin_audit", "logout", "admin_apps", "admin_app"}

// scriptedPages are the pages whose scripts need the "js." texts.
var scriptedPages = map[string]bool{"verify": true, "reauth": true, "phone": true, "login": true, "security": true, "setup": true}

// pageFuncs are the template functions. t is bound to the request's
// language when a page is rendered (render); the one here only lets the
// templates parse.
var pageFuncs = template.FuncMap{
	"initials": initials,
	"phone":    phoneHTML,
	"t":        i18n.English().HTML,
}

func parsePages() *template.Template {
	root := template.New("pages").Funcs(pageFuncs)
	for _, name := range pageNames {
		t := template.Must(template.New(name).Funcs(pageFuncs).ParseFS(templateFS, "ui/templates/layout.html",
			"ui/templates/"+name+".html", "ui/templates/partial_*.html"))
		template.Must(root.AddParseTree(name, t.Lookup("layout").Tree))
		for _, sub := range t.Templates() {
			switch sub.Name() {
			case "content":
				template.Must(root.AddParseTree(name+"/content", sub.Tree))
			case "layout", name, name + ".html", "layout.html":
			default:
				// Parts shared by pages (partial_*.html).
				if root.Lookup(sub.Name()) == nil && sub.Tree != nil {
					template.Must(root.AddParseTree(sub.Name(), sub.Tree))
				}
			}
		}
	}
	return root
}

// phoneHTML shows a masked phone number that never breaks across lines.
func phoneHTML(masked string) template.HTML {
	return template.HTML(`<span class="phone-number">` + template.HTMLEscapeString(masked) + `</span>`)
}

// initials shows up to two letters for the avatar.
func initials(name, login string) string {
	src := name
	if strings.TrimSpace(src) == "" {
		src = login
	}
	var out []rune
	for _, w := range strings.FieldsFunc(src, func(r rune) bool { return unicode.IsSpace(r) || r == '.' || r == '_' || r == '-' }) {
		r := []rune(w)
		if len(r) > 0 && unicode.IsLetter(r[0]) || len(r) > 0 && unicode.IsDigit(r[0]) {
			out = append(out, unicode.ToUpper(r[0]))
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// pageData is what every page template receives.
type pageData struct {
	Title string
	User  *deadbolt.User
	Flash string
	Error string
	Login string
	// Lang is the page's language, Languages what the selector offers,
	// Back where the selector returns; JS the texts of the page's scripts.
	// render fills them in.
	Lang      *i18n.Locale
	Languages []langOption
	Back      string
	JS        template.JS
	// SignInNote explains on the sign-in page why the employee is there
	// (a session that ended, a sign-in that took too long).
	SignInNote string
	// SetupNote says why two-factor setup is required, and by whom;
	// SetupOnly is set for a session that may do nothing else.
	SetupNote string
	// SetupBy names the workgroups whose policy requires it.
	SetupBy   string
	SetupOnly bool
	// PublicNote warns that a phone cannot reach the public URL.
	PublicNote string
	// PushPaused: pushes are paused or limited; the other methods come
	// first.
	PushPaused bool
	// CodeInput keeps a typed recovery code when only the CAPTCHA was
	// wrong.
	CodeInput string
	// SMSAvailable tells whether this server can send text messages.
	SMSAvailable bool
	// Page-specific fields.
	Sessions []sessionRow
	Events   []eventRow
	Users    []*deadbolt.User
	// Second factor.
	Method  string
	Methods []methodLink
	Captcha *captchaView
	// HostedCaptcha is the provider's widget, when one is configured.
	HostedCaptcha *hostedView
	Push          *pushView
	// SMS.
	ResendAfter int
	PhoneInput  string
	PhoneMasked string
	PushNote    string
	SentTo      string
	Step        int
	Offer       *offerView
	Codes       []string
	CodesFile   template.URL
	Next        string
	// ReauthFor words the action a confirmation is for.
	ReauthFor string
	TwoFactor *twoFactorView
	Banners   []bannerView
	// App names the application being signed into, "" for none.
	App string
	// Passkeys is the Passkeys block (Security page, setup wizard).
	Passkeys *passkeysView
	// PasskeyLogin shows "Sign in with a passkey" on the sign-in page.
	PasskeyLogin bool
	// Console is the view of an administration page (page_admin*.go).
	Console any
}

type sessionRow struct {
	ID, Browser, IP, Created, LastSeen string
	Current                            bool
}

type eventRow struct{ At, Text, IP string }

// render writes a page. Templates render into a buffer first so a
// template error never sends half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, d *pageData) {
	l := tr(r)
	d.Lang, d.Languages, d.Back = l, langOptions(l), s.backTo(r)
	if scriptedPages[name] {
		d.JS = jsMessages(l)
	}
	clone, err := s.pages.Clone()
	if err == nil {
		clone.Funcs(template.FuncMap{"t": l.HTML})
		_, err = clone.AddParseTree("content", clone.Lookup(name+"/content").Tree)
	}
	var buf bytes.Buffer
	if err == nil {
		err = clone.ExecuteTemplate(&buf, name, d)
	}
	if err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", l.Code())
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// flashes are the fixed messages a redirect can ask a page to show; the
// query carries only the key, never text. Their words are the catalogue's
// "flash.<key>".
var flashes = []string{"password_changed", "session_ended", "user_created", "user_updated", "logged_out",
	"logged_out_all", "device_removed", "phone_linked", "phone_removed", "reauth_password", "password_set",
	"passkey_added", "passkey_renamed", "passkey_removed", "passkey_signin", "session_expired", "signin_expired", "setup_done"}

// flash returns the words of the fixed message the query asks for, "" for
// none.
func flash(r *http.Request) string { return flashText(r, flashes) }

func flashText(r *http.Request, keys []string) string {
	k := r.URL.Query().Get("msg")
	if k == "" || !slices.Contains(keys, k) {
		return ""
	}
	return tr(r).T("flash." + k)
}

// pageHandler is a page handler for a signed-in session: page has already
// checked that the session is of the kind the route needs.
type pageHandler func(w http.ResponseWriter, r *http.Request, a *signin.Auth)

// page wraps a page handler with the session requirement n, declared in
// routes.go beside the route. Without a live session the browser goes to
// the sign-in page — saying so when the session it had ended — and a GET
// address is remembered to go on to after the sign-in (a deep link
// survives it). A session of the wrong kind is sent where it can go on: a
// session pending its second factor to /login/verify, a session limited
// to two-factor setup to the setup page, a full session away from the
// second-factor pages to the home page, and an employee who is not an
// administrator gets the 403 error page. Any other failure (the database
// unreachable) is the error page.
func (s *server) page(n need, h pageHandler) http.Handler {
	if n < needFull || n > needSelf {
		panic("web: unknown session requirement")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.authenticate(r)
		if err != nil {
			if deadbolt.ErrorCode(err) != deadbolt.CodeUnauthorized {
				s.pageError(w, r, err)
				return
			}
			s.toSignIn(w, r, n)
			return
		}
		r = withUserLanguage(r, a.User)
		state := a.Session.State
		if a.User.PasswordChangeRequired && n != needSelf && n != needPending && state != deadbolt.SessionPending {
			// A one-time password is replaced before anything else; the
			// page asked for is opened after that.
			s.rememberDeepLink(w, r)
			http.Redirect(w, r, "/security/password/new", http.StatusSeeOther)
			return
		}
		switch n {
		case needFull, needAdmin:
			switch state {
			case deadbolt.SessionFull:
			case deadbolt.SessionPending:
				s.rememberDeepLink(w, r)
				http.Redirect(w, r, "/login/verify", http.StatusSeeOther)
				return
			case deadbolt.SessionSetup:
				// A session for setup only: back to setup while it is
				// needed; once done, a new sign-in opens the rest.
				if a.User.TwoFactorEnabled() {
					http.Redirect(w, r, "/login?msg=setup_done", http.StatusSeeOther)
					return
				}
				http.Redirect(w, r, "/security/2fa/setup", http.StatusSeeOther)
				return
			default:
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			if n == needAdmin && !a.User.Admin {
				s.pageError(w, r, deadbolt.Errorf(deadbolt.CodeForbidden, "Only administrators can open this page."))
				return
			}
		case needPending:
			if state != deadbolt.SessionPending {
				http.Redirect(w, r, "/", http.StatusSeeOther)
				return
			}
		case needSetup, needSelf:
			switch state {
			case deadbolt.SessionFull, deadbolt.SessionSetup:
			case deadbolt.SessionPending:
				http.Redirect(w, r, "/login/verify", http.StatusSeeOther)
				return
			default:
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
		}
		h(w, r, a)
	})
}

// toSignIn sends a browser without a live session to the sign-in page. A
// session cookie that no longer works means the session (or, on the
// second-factor pages, the sign-in) ended: the page says so, and the dead
// cookie goes. A GET of another page is remembered, to go on to once
// signed in.
func (s *server) toSignIn(w http.ResponseWriter, r *http.Request, n need) {
	target := "/login"
	if _, err := r.Cookie(s.cookie.name); err == nil {
		s.clearSessionCookie(w)
		target = "/login?msg=session_expired"
		if n == needPending {
			target = "/login?msg=signin_expired"
		}
	}
	if n != needPending {
		s.rememberDeepLink(w, r)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// rememberDeepLink keeps the address of a GET page (not the home page) to
// go on to after the sign-in.
func (s *server) rememberDeepLink(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path == "/" {
		return
	}
	if back := s.localBack(r.URL.RequestURI()); back != "/" {
		s.setContinue(w, back)
	}
}

// pageError shows an error page with the error's public message. A
// signed-in employee keeps the employee widget (and its way to log out)
// on it, unless the error is one of the server's own.
func (s *server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	status := errorStatus(err)
	s.logFailure(r, status, "page failed", err)
	setRetryAfter(w, err)
	d := &pageData{Title: errorText(tr(r), err)}
	if status < 500 {
		d.User = s.signedInUser(r)
	}
	s.render(w, r, status, "error", d)
}

// signedInUser returns the employee of the request's full session, nil
// when there is none (or it cannot be read).
func (s *server) signedInUser(r *http.Request) *deadbolt.User {
	a, err := s.authenticate(r)
	if err != nil || !a.Full() {
		return nil
	}
	return a.User
}

// notFoundPages answers a GET of an address that no route takes (outside
// the API, which answers in JSON) with the "page not found" page in the
// request's language instead of the bare text of http.NotFound. A known
// address called with another method still gets 405 from the mux.
func (s *server) notFoundPages(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead || strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		c := &notFoundCatcher{ResponseWriter: w, r: r}
		next.ServeHTTP(c, r)
		if c.caught {
			for _, h := range []string{"Content-Type", "Content-Length"} {
				w.Header().Del(h)
			}
			s.pageError(w, r, deadbolt.Errorf(deadbolt.CodeNotFound, "This page does not exist."))
		}
	})
}

// notFoundCatcher swallows the 404 the mux writes when no route matched
// (the request has no pattern then); every other answer passes.
type notFoundCatcher struct {
	http.ResponseWriter
	r      *http.Request
	caught bool
}

func (c *notFoundCatcher) WriteHeader(code int) {
	if code == http.StatusNotFound && c.r.Pattern == "" {
		c.caught = true
		return
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *notFoundCatcher) Write(b []byte) (int, error) {
	if c.caught {
		return len(b), nil
	}
	return c.ResponseWriter.Write(b)
}

func (c *notFoundCatcher) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// favicon serves the site icon where browsers look for it.
func favicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/x-icon")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	http.ServeFileFS(w, r, staticFS, "ui/static/favicon.ico")
}

// when shows t in the organisation's time zone in the request's language.
func (s *server) when(r *http.Request, t time.Time) string {
	return tr(r).DateTime(t, s.orgLocation())
}
