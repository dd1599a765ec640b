package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"deadbolt/internal/deadbolt"
)

type recorder struct{ patterns []string }

func (r *recorder) Handle(p string, _ http.Handler) { r.patterns = append(r.patterns, p) }
func (r *recorder) HandleFunc(p string, _ func(http.ResponseWriter, *http.Request)) {
	r.patterns = append(r.patterns, p)
}

// servedPaths fetches /api/v1/openapi.json from a server built from d and
// returns its paths.
func servedPaths(t *testing.T, d Deps) map[string]any {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/v1/openapi.json", nil)
	req.Host = "localhost"
	NewServer(d).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json = %d", rec.Code)
	}
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Paths
}

// TestOpenAPICoversRoutes: every API route is described, and nothing else,
// in development mode and out of it.
func TestOpenAPICoversRoutes(t *testing.T) {
	for _, dev := range []bool{false, true} {
		d := Deps{}
		if dev {
			d.DevClock = &deadbolt.DevClock{}
		}
		s := &server{Deps: d}
		rec := &recorder{}
		s.routes(rec)
		seen := map[string]bool{}
		for _, p := range rec.patterns {
			if !strings.Contains(p, " /api/v1/") {
				continue
			}
			seen[p] = true
			if _, ok := apiDocsFor(dev)[p]; !ok {
				t.Errorf("dev=%v: route %q is not in the OpenAPI description", dev, p)
			}
		}
		docs := apiDocsFor(dev)
		for p := range docs {
			if !seen[p] {
				t.Errorf("dev=%v: OpenAPI describes %q, which is not a route", dev, p)
			}
		}
		// The served document holds exactly these operations.
		ops := 0
		for path, item := range servedPaths(t, d) {
			for method := range item.(map[string]any) {
				ops++
				if _, ok := docs[strings.ToUpper(method)+" "+path]; !ok {
					t.Errorf("dev=%v: the served document describes %s %s, which is not a route", dev, method, path)
				}
			}
		}
		if ops != len(docs) {
			t.Errorf("dev=%v: the served document has %d operations, want %d", dev, ops, len(docs))
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(openAPIDocument(false), &doc); err != nil {
		t.Fatal(err)
	}
	login := doc["paths"].(map[string]any)["/api/v1/login"].(map[string]any)["post"].(map[string]any)
	schema := login["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
	if props := schema["properties"].(map[string]any); props["login"] == nil || props["password"] == nil {
		t.Errorf("login request schema = %v", schema)
	}
}

// TestOpenAPIHidesDevPaths: a production server does not describe the
// development paths; a development server does.
func TestOpenAPIHidesDevPaths(t *testing.T) {
	for path := range servedPaths(t, Deps{}) {
		if strings.HasPrefix(path, "/api/v1/dev/") {
			t.Errorf("a production server describes %s", path)
		}
	}
	if _, ok := servedPaths(t, Deps{DevClock: &deadbolt.DevClock{}})["/api/v1/dev/clock"]; !ok {
		t.Error("a development server does not describe /api/v1/dev/clock")
	}
}
