package app_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"deadbolt/internal/deadbolttest"
)

// BenchmarkForwardAuth measures the forward-auth check in process (no
// network), as a trusted proxy asks it for every request to a protected
// app: the app matched by domain, the session from memory, the workgroup
// rule, the Remote-* headers. BenchmarkMe and BenchmarkHealthz beside it
// give the scale.
func BenchmarkForwardAuth(b *testing.B) {
	for _, st := range deadbolttest.Stores {
		b.Run(st.String(), func(b *testing.B) {
			s := deadbolttest.StartServer(b, deadbolttest.Options{Store: st, NoDev: true,
				TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
			admin := s.AdminToken(b)
			wg := s.Do(b, "POST", "/api/v1/admin/workgroups", admin, map[string]string{"name": "ops"}).JSON(b)["id"].(string)
			if r := s.Do(b, "POST", "/api/v1/admin/apps", admin, map[string]any{"name": "Grafana", "kind": "proxy",
				"domains": []string{"grafana.example.com", "*.apps.example.com"}, "workgroups": []string{wg}}); r.Status != http.StatusCreated {
				b.Fatalf("create app: %d %s", r.Status, r.Body)
			}
			id := s.CreateUser(b, admin, "alice", "pw-alice-long-enough")
			s.Do(b, "POST", "/api/v1/admin/workgroups/"+wg+"/members", admin, map[string]string{"user_id": id})
			tok, _ := s.Login(b, "alice", "pw-alice-long-enough")
			h := s.App.Handler
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("GET", "/api/v1/authz/forward-auth", nil)
					req.RemoteAddr = "192.0.2.10:4000"
					req.Header.Set("X-Forwarded-Method", "GET")
					req.Header.Set("X-Forwarded-Proto", "https")
					req.Header.Set("X-Forwarded-Host", "grafana.example.com")
					req.Header.Set("X-Forwarded-Uri", "/d/abc?orgId=1")
					req.Header.Set("Authorization", "Bearer "+tok)
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusOK || w.Header().Get("Remote-User") != "alice" {
						b.Fatalf("check = %d %v", w.Code, w.Header())
					}
				}
			})
		})
	}
}

// BenchmarkHealthz measures GET /healthz in process: the floor every
// request pays (middleware, routing, headers).
func BenchmarkHealthz(b *testing.B) {
	s := deadbolttest.StartServer(b, deadbolttest.Options{NoDev: true})
	h := s.App.Handler
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", "/healthz", nil)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("GET /healthz = %d", w.Code)
			}
		}
	})
}
