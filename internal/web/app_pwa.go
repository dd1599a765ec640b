package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"deadbolt/internal/i18n"
)

// The companion app: a progressive web app under /app, one page whose
// scripts talk to the device API (ui/app holds every file it needs).
//
//go:embed ui/app
var pwaFS embed.FS

// pwaType is the content type of an app file by its extension; a file
// with another extension is not served (and fails the tests).
func pwaType(ext string) (string, bool) {
	switch ext {
	case ".html":
		return "text/html; charset=utf-8", true
	case ".js":
		return "text/javascript; charset=utf-8", true
	case ".css":
		return "text/css; charset=utf-8", true
	case ".webmanifest":
		return "application/manifest+json", true
	case ".png":
		return "image/png", true
	}
	return "", false
}

// pwaFile is one file of the app, ready to serve.
type pwaFile struct {
	body  []byte
	ctype string
	etag  string
}

// pwa serves the companion app. Its files are read once; it is safe for
// concurrent use.
type pwa struct {
	files map[string]pwaFile
	// scope is the path the service worker may control: the app's
	// directory under the public URL's path.
	scope string
	// i18n is the app's texts in every language (i18n.json).
	i18n pwaFile
}

// newPWA loads the embedded app. It panics if the embedded files cannot be
// read, which only a broken build can cause.
func newPWA(public *url.URL, defaultLanguage string) *pwa {
	p := &pwa{files: map[string]pwaFile{}, scope: "/app/"}
	p.i18n = pwaMessages(defaultLanguage)
	if public != nil && strings.Trim(public.Path, "/") != "" {
		p.scope = "/" + strings.Trim(public.Path, "/") + "/app/"
	}
	sub, err := fs.Sub(pwaFS, "ui/app")
	if err != nil {
		panic(err)
	}
	err = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ctype, ok := pwaType(path.Ext(name))
		if !ok {
			return nil
		}
		body, err := fs.ReadFile(sub, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		p.files[name] = pwaFile{body: body, ctype: ctype, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return p
}

// serve answers with the named file, revalidated on every use (ETag) so
// that a new release reaches the phone at its next start.
func (p *pwa) serve(w http.ResponseWriter, r *http.Request, name string) {
	f, ok := p.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}

// redirect sends /app to /app/ with a relative Location, so that it holds
// behind a proxy that publishes Deadbolt under a path.
func (p *pwa) redirect(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Location", "app/")
	w.WriteHeader(http.StatusMovedPermanently)
}

// shell serves the app's single page; the scripts read the path.
func (p *pwa) shell(w http.ResponseWriter, r *http.Request) {
	p.serve(w, r, "index.html")
}

// pwaMessages is the app's i18n.json: the server's default language, the
// languages with their names, and the texts of the catalogue's "app."
// keys in each.
func pwaMessages(def string) pwaFile {
	type lang struct {
		Code string `json:"code"`
		Name string `json:"name"`
	}
	doc := struct {
		Default   string                    `json:"default"`
		Languages []lang                    `json:"languages"`
		Messages  map[string]map[string]any `json:"messages"`
	}{Default: def, Messages: map[string]map[string]any{}}
	for _, l := range i18n.Languages() {
		doc.Languages = append(doc.Languages, lang{Code: l.Code(), Name: l.Name()})
		doc.Messages[l.Code()] = l.Prefixed("app.")
	}
	body, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(body)
	return pwaFile{body: body, ctype: "application/json; charset=utf-8", etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`}
}

// messages serves the app's texts.
func (p *pwa) messages(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", p.i18n.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", p.i18n.etag)
	http.ServeContent(w, r, "i18n.json", time.Time{}, bytes.NewReader(p.i18n.body))
}

func (p *pwa) manifest(w http.ResponseWriter, r *http.Request) {
	p.serve(w, r, "manifest.webmanifest")
}

func (p *pwa) serviceWorker(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Service-Worker-Allowed", p.scope)
	p.serve(w, r, "sw.js")
}

// vendored serves a library the app carries (ui/app/vendor/PKG/FILE):
// only its scripts, never its license or notes, which have no served
// extension.
func (p *pwa) vendored(w http.ResponseWriter, r *http.Request) {
	p.serve(w, r, "vendor/"+r.PathValue("pkg")+"/"+r.PathValue("file"))
}

// asset serves the app's scripts, style sheet and icons.
func (p *pwa) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name == "index.html" {
		http.NotFound(w, r)
		return
	}
	p.serve(w, r, name)
}
