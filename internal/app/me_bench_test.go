package app_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"deadbolt/internal/deadbolttest"
)

// BenchmarkMe measures GET /api/v1/me in process (no network): the session
// check plus everything /me reports.
func BenchmarkMe(b *testing.B) {
	for _, st := range deadbolttest.Stores {
		b.Run(st.String(), func(b *testing.B) {
			s := deadbolttest.StartServer(b, deadbolttest.Options{Store: st, NoDev: true})
			tok := s.AdminToken(b)
			h := s.App.Handler
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("GET", "/api/v1/me", nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("GET /me = %d", w.Code)
					}
				}
			})
		})
	}
}
