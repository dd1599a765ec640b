package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"deadbolt/internal/deadbolttest"
)

// TestAppsAdminAPI drives the application API of SPEC §13 on both stores:
// registration with its validation, the secret shown once and kept only as
// a keyed hash, rotation, edits, deletion, workgroup access lists, and the
// audit trail.
func TestAppsAdminAPI(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		ctx := context.Background()

		r := e2eCall(t, s, "POST", "/api/v1/admin/apps", admin, map[string]any{
			"name": "Wiki", "kind": "oidc", "redirect_uris": []string{"https://wiki.example.com/cb", "http://127.0.0.1:8765/cb"},
			"public": false, "backchannel_logout_uri": "https://wiki.example.com/bcl",
			"post_logout_redirect_uris": []string{"https://wiki.example.com/"}, "workgroups": []string{}, "require_2fa": true})
		wiki := e2eStatus(t, "POST /admin/apps", r, http.StatusCreated)
		id, clientID, secret := wiki["id"].(string), wiki["client_id"].(string), wiki["client_secret"].(string)
		if id == "" || clientID == "" || len(secret) < 40 || wiki["require_2fa"] != true || wiki["kind"] != "oidc" {
			t.Fatalf("created app = %s", r.Body)
		}
		stored, err := s.App.Store.Application(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(stored.SecretHash), secret) || !s.App.Apps.Secrets().Verify(stored.SecretHash, secret) {
			t.Errorf("stored secret hash %x does not verify the secret, or holds it", stored.SecretHash)
		}
		// No answer after creation carries a secret.
		for _, path := range []string{"/api/v1/admin/apps", "/api/v1/admin/apps/" + id, "/api/v1/admin/apps/wiki"} {
			r := e2eCall(t, s, "GET", path, admin, nil)
			e2eStatus(t, "GET "+path, r, http.StatusOK)
			if strings.Contains(string(r.Body), secret) || strings.Contains(string(r.Body), "client_secret") {
				t.Errorf("GET %s carries the secret: %s", path, r.Body)
			}
		}
		r = e2eCall(t, s, "PUT", "/api/v1/admin/apps/"+id, admin, map[string]any{"name": "Team wiki", "require_2fa": false})
		upd := e2eStatus(t, "PUT /admin/apps/{id}", r, http.StatusOK)
		if upd["name"] != "Team wiki" || upd["require_2fa"] != false || upd["backchannel_logout_uri"] != "https://wiki.example.com/bcl" ||
			len(upd["redirect_uris"].([]any)) != 2 || strings.Contains(string(r.Body), "client_secret") {
			t.Errorf("PUT kept or changed the wrong fields: %s", r.Body)
		}

		r = e2eCall(t, s, "POST", "/api/v1/admin/apps/"+id+"/secret", admin, nil)
		rot := e2eStatus(t, "POST /admin/apps/{id}/secret", r, http.StatusOK)
		secret2, _ := rot["client_secret"].(string)
		if len(rot) != 1 || len(secret2) < 40 || secret2 == secret {
			t.Errorf("rotate = %s, want one new client_secret", r.Body)
		}
		stored, _ = s.App.Store.Application(ctx, id)
		if s.App.Apps.Secrets().Verify(stored.SecretHash, secret) || !s.App.Apps.Secrets().Verify(stored.SecretHash, secret2) {
			t.Error("after rotation the old secret still works, or the new one does not")
		}

		// Public clients have no secret and none to rotate.
		r = e2eCall(t, s, "POST", "/api/v1/admin/apps", admin, map[string]any{
			"name": "CLI", "kind": "oidc", "public": true, "redirect_uris": []string{"http://127.0.0.1:9999/cb"}})
		cli := e2eStatus(t, "POST /admin/apps (public)", r, http.StatusCreated)
		if _, ok := cli["client_secret"]; ok || cli["public"] != true {
			t.Errorf("public client = %s, want no secret", r.Body)
		}
		e2eWantError(t, "rotate a public client's secret", e2eCall(t, s, "POST", "/api/v1/admin/apps/"+cli["id"].(string)+"/secret", admin, nil),
			http.StatusBadRequest, "invalid_input")

		// Proxy apps, workgroups, domains.
		wg := e2eStatus(t, "create workgroup", e2eCall(t, s, "POST", "/api/v1/admin/workgroups", admin, map[string]string{"name": "Engineering"}), http.StatusCreated)
		wgID := wg["id"].(string)
		r = e2eCall(t, s, "POST", "/api/v1/admin/apps", admin, map[string]any{
			"name": "Grafana", "kind": "proxy", "domains": []string{"Grafana.Example.com", "*.dash.example.com/admin/"},
			"workgroups": []string{wgID, "engineering"}})
		graf := e2eStatus(t, "POST /admin/apps (proxy)", r, http.StatusCreated)
		if _, ok := graf["client_id"]; ok {
			t.Errorf("proxy app has a client_id: %s", r.Body)
		}
		if d := graf["domains"].([]any); len(d) != 2 || d[0] != "grafana.example.com" || d[1] != "*.dash.example.com/admin" {
			t.Errorf("domains = %v, want canonical forms", d)
		}
		if w := graf["workgroups"].([]any); len(w) != 1 || w[0] != wgID {
			t.Errorf("workgroups = %v, want [%s] (name resolved, duplicate dropped)", w, wgID)
		}
		e2eWantError(t, "delete a workgroup an app admits", e2eCall(t, s, "DELETE", "/api/v1/admin/workgroups/"+wgID, admin, nil),
			http.StatusConflict, "conflict")

		bad := []struct {
			name   string
			body   any
			status int
			code   string
		}{
			{"no name", map[string]any{"kind": "proxy", "domains": []string{"a.example.com"}}, 400, "invalid_input"},
			{"bad kind", map[string]any{"name": "X", "kind": "saml"}, 400, "invalid_input"},
			{"oidc without redirect", map[string]any{"name": "X", "kind": "oidc"}, 400, "invalid_input"},
			{"plain http redirect", map[string]any{"name": "X", "kind": "oidc", "redirect_uris": []string{"http://x.example.com/cb"}}, 400, "invalid_input"},
			{"fragment", map[string]any{"name": "X", "kind": "oidc", "redirect_uris": []string{"https://x.example.com/cb#a"}}, 400, "invalid_input"},
			{"proxy without domains", map[string]any{"name": "X", "kind": "proxy"}, 400, "invalid_input"},
			{"proxy with redirect", map[string]any{"name": "X", "kind": "proxy", "domains": []string{"x.example.com"}, "redirect_uris": []string{"https://x.example.com/cb"}}, 400, "invalid_input"},
			{"bad domain", map[string]any{"name": "X", "kind": "proxy", "domains": []string{"*.com"}}, 400, "invalid_input"},
			{"unknown workgroup", map[string]any{"name": "X", "kind": "proxy", "domains": []string{"x.example.com"}, "workgroups": []string{"nope"}}, 400, "invalid_input"},
			{"taken name", map[string]any{"name": "team WIKI", "kind": "proxy", "domains": []string{"x.example.com"}}, 409, "conflict"},
			{"taken domain", map[string]any{"name": "X", "kind": "proxy", "domains": []string{"grafana.example.com"}}, 409, "conflict"},
			{"unknown field", map[string]any{"name": "X", "kind": "proxy", "domains": []string{"x.example.com"}, "client_secret": "mine"}, 400, "bad_request"},
			{"not an object", `["x"]`, 400, "bad_request"},
		}
		for _, tc := range bad {
			e2eWantError(t, "POST /admin/apps "+tc.name, e2eCall(t, s, "POST", "/api/v1/admin/apps", admin, tc.body), tc.status, tc.code)
		}
		e2eWantError(t, "PUT kind", e2eCall(t, s, "PUT", "/api/v1/admin/apps/"+id, admin, map[string]any{"kind": "proxy"}), 400, "invalid_input")
		e2eWantError(t, "GET unknown app", e2eCall(t, s, "GET", "/api/v1/admin/apps/"+strings.Repeat("a", 26), admin, nil), 404, "not_found")
		if list := e2eStatus(t, "GET /admin/apps", e2eCall(t, s, "GET", "/api/v1/admin/apps", admin, nil), 200)["apps"].([]any); len(list) != 3 {
			t.Errorf("after refused creations there are %d apps, want 3", len(list))
		}

		// Only administrators.
		s.CreateUser(t, admin, "erin", "erin-password-1")
		erin := e2eLogin(t, s, "erin", "erin-password-1")
		e2eWantError(t, "employee lists apps", e2eCall(t, s, "GET", "/api/v1/admin/apps", erin, nil), 403, "forbidden")
		e2eWantError(t, "employee creates an app", e2eCall(t, s, "POST", "/api/v1/admin/apps", erin,
			map[string]any{"name": "X", "kind": "proxy", "domains": []string{"x.example.com"}}), 403, "forbidden")

		r = e2eCall(t, s, "DELETE", "/api/v1/admin/apps/"+graf["id"].(string), admin, nil)
		e2eStatus(t, "DELETE /admin/apps/{id}", r, http.StatusOK)
		e2eWantError(t, "GET deleted app", e2eCall(t, s, "GET", "/api/v1/admin/apps/"+graf["id"].(string), admin, nil), 404, "not_found")
		e2eStatus(t, "delete the workgroup once no app admits it", e2eCall(t, s, "DELETE", "/api/v1/admin/workgroups/"+wgID, admin, nil), 200)

		ev := e2eStatus(t, "audit", e2eCall(t, s, "GET", "/api/v1/admin/audit?limit=1000", admin, nil), 200)
		seen := map[string]int{}
		for _, e := range ev["events"].([]any) {
			seen[e.(map[string]any)["type"].(string)]++
			if strings.Contains(e2eJSON(t, e), secret) || strings.Contains(e2eJSON(t, e), secret2) {
				t.Errorf("an audit event holds a client secret: %v", e)
			}
		}
		for typ, n := range map[string]int{"admin.app_created": 3, "admin.app_updated": 1, "admin.app_secret_rotated": 1, "admin.app_deleted": 1} {
			if seen[typ] != n {
				t.Errorf("audit has %d %s events, want %d", seen[typ], typ, n)
			}
		}
	})
}

// TestUserEmail: employees get an optional email through POST and PUT
// /admin/users, checked strictly.
func TestUserEmail(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		r := e2eCall(t, s, "POST", "/api/v1/admin/users", admin, map[string]any{"login": "erin", "name": "Erin",
			"email": " erin@example.com ", "password": "erin-password-1"})
		u := e2eStatus(t, "POST /admin/users with email", r, http.StatusCreated)
		if u["email"] != "erin@example.com" {
			t.Errorf("email = %v, want erin@example.com", u["email"])
		}
		id := u["id"].(string)
		r = e2eCall(t, s, "PUT", "/api/v1/admin/users/"+id, admin, map[string]any{"email": "e.b@corp.example.org"})
		if u := e2eStatus(t, "PUT /admin/users/{id}", r, 200); u["email"] != "e.b@corp.example.org" || u["name"] != "Erin" {
			t.Errorf("PUT email = %s", r.Body)
		}
		for _, bad := range []string{"erin", "Erin <erin@example.com>", "erin@localhost", "a b@example.com", "erin@@example.com", strings.Repeat("a", 250) + "@example.com"} {
			e2eWantError(t, "PUT bad email "+bad, e2eCall(t, s, "PUT", "/api/v1/admin/users/"+id, admin, map[string]any{"email": bad}), 400, "invalid_input")
			e2eWantError(t, "POST bad email "+bad, e2eCall(t, s, "POST", "/api/v1/admin/users", admin,
				map[string]any{"login": "x", "email": bad, "password": "x-password-123"}), 400, "invalid_input")
		}
		r = e2eCall(t, s, "PUT", "/api/v1/admin/users/erin", admin, map[string]any{"email": "", "name": "Erin B."})
		if u := e2eStatus(t, "PUT clears email", r, 200); u["email"] != nil || u["name"] != "Erin B." {
			t.Errorf("PUT clear = %s", r.Body)
		}
		if got, _ := s.App.Store.UserByID(context.Background(), id); got.Email != "" || got.Name != "Erin B." {
			t.Errorf("stored profile = %q %q", got.Name, got.Email)
		}
		e2eWantError(t, "PUT unknown field", e2eCall(t, s, "PUT", "/api/v1/admin/users/"+id, admin, map[string]any{"admin": true}), 400, "bad_request")
		e2eWantError(t, "PUT unknown user", e2eCall(t, s, "PUT", "/api/v1/admin/users/nobody", admin, map[string]any{"name": "x"}), 404, "not_found")
	})
}

// e2eJSON encodes v for searching in it.
func e2eJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
