package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"
	"unicode"

	"deadbolt/internal/deadbolt"
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

var pageNames = []string{"login", "access", "home", "security", "admin", "error", "verify", "setup", "codes", "reauth", "phone",
	"admin_user", "admin_import", "admin_workgroups", "admin_workgroup", "admin_phones", "admin_audit", "logout", "admin_apps", "admin_app"}

func parsePages() *template.Template {
	funcs := template.FuncMap{"initials": initials}
	root := template.New("pages").Funcs(funcs)
	for _, name := range pageNames {
		t := template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "ui/templates/layout.html",
			"ui/templates/"+name+".html", "ui/templates/partial_*.html"))
		template.Must(root.AddParseTree(name, t.Lookup("layout").Tree))
		for _, sub := range t.Templates() {
			switch sub.Name() {
			case "content":
				template.Must(root.AddParseTree(name+"/content", sub.Tree))
			case "layout", name:
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
	ID, UserAgent, IP, Created, LastSeen string
	Current                              bool
}

type eventRow struct{ At, Text, IP string }

// render writes a page. Templates render into a buffer first so a
// template error never sends half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, d *pageData) {
	clone, err := s.pages.Clone()
	if err == nil {
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
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// flashes are the fixed messages a redirect can ask a page to show; the
// query carries only the key, never text.
var flashes = map[string]string{
	"password_changed": "Your password was changed. Your other sessions were ended.",
	"session_ended":    "The session was ended.",
	"user_created":     "The employee was created.",
	"user_updated":     "The employee was updated.",
	"logged_out":       "You are signed out.",
	"logged_out_all":   "You are signed out on all devices, and your trusted device was disconnected.",
	"device_removed":   "Your trusted device was disconnected.",
	"phone_linked":     "Your phone number is linked. It can receive sign-in codes.",
	"phone_removed":    "Your phone number was removed.",
	"reauth_password":  "It is you. Now type your current password and the new one again to change it.",
	"passkey_added":    "Your passkey was added. You can sign in with it.",
	"passkey_renamed":  "The passkey was renamed.",
	"passkey_removed":  "The passkey was removed. It no longer signs you in.",
	"passkey_signin":   "Your passkey was added. Sign in with it to continue.",
}

func flash(r *http.Request) string { return flashes[r.URL.Query().Get("msg")] }

// pageHandler is a page handler for a signed-in session: page has already
// checked that the session is of the kind the route needs.
type pageHandler func(w http.ResponseWriter, r *http.Request, a *signin.Auth)

// page wraps a page handler with the session requirement n, declared in
// routes.go beside the route. Without a live session the browser goes to
// the sign-in page. A session of the wrong kind is sent where it can go
// on: a session pending its second factor to /login/verify (pages that
// need a setup session) or /login (pages that need a full one), a full
// session away from the second-factor pages to the home page, and an
// employee who is not an administrator gets the 403 error page. Any other
// failure (the database unreachable) is the error page.
func (s *server) page(n need, h pageHandler) http.Handler {
	if n < needFull || n > needAdmin {
		panic("web: unknown session requirement")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.authenticate(r)
		if err != nil {
			if deadbolt.ErrorCode(err) != deadbolt.CodeUnauthorized {
				s.pageError(w, r, err)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		state := a.Session.State
		switch n {
		case needFull, needAdmin:
			if !a.Full() {
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
		case needSetup:
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

// pageError shows an error page with the error's public message.
func (s *server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	status, _ := errorBody(err)
	s.logFailure(r, status, "page failed", err)
	setRetryAfter(w, err)
	s.render(w, r, status, "error", &pageData{Title: deadbolt.ErrorMessage(err)})
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
