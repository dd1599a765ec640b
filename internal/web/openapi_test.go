package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"deadbolt/internal/deadbolt"
)

type recorder struct{ patterns []string }

func (r *recorder) Handle(p string, _ http.Handler) { r.patterns = append(r.patterns, p) }
func (r *recorder) HandleFunc(p string, _ func(http.ResponseWriter, *http.Request)) {
	r.patterns = append(r.patterns, p)
}

// TestOpenAPICoversRoutes: every API route is described, and nothing else.
func TestOpenAPICoversRoutes(t *testing.T) {
	s := &server{Deps: Deps{DevClock: &deadbolt.DevClock{}}}
	rec := &recorder{}
	s.routes(rec)
	seen := map[string]bool{}
	for _, p := range rec.patterns {
		if !strings.Contains(p, " /api/v1/") {
			continue
		}
		seen[p] = true
		if _, ok := apiDocs[p]; !ok {
			t.Errorf("route %q is not in the OpenAPI description", p)
		}
	}
	for p := range apiDocs {
		if !seen[p] {
			t.Errorf("OpenAPI describes %q, which is not a route", p)
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(openAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	login := doc["paths"].(map[string]any)["/api/v1/login"].(map[string]any)["post"].(map[string]any)
	schema := login["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
	if props := schema["properties"].(map[string]any); props["login"] == nil || props["password"] == nil {
		t.Errorf("login request schema = %v", schema)
	}
}
