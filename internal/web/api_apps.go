package web

import (
	"net/http"

	"deadbolt/internal/accounts"
	"deadbolt/internal/apps"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/signin"
)

// appRequest is the body of POST /admin/apps and PUT /admin/apps/{id}; on
// PUT an absent field is left as it is.
type appRequest struct {
	Name                   *string   `json:"name"`
	Kind                   *string   `json:"kind"`
	RedirectURIs           *[]string `json:"redirect_uris"`
	Public                 *bool     `json:"public"`
	BackchannelLogoutURI   *string   `json:"backchannel_logout_uri"`
	PostLogoutRedirectURIs *[]string `json:"post_logout_redirect_uris"`
	Domains                *[]string `json:"domains"`
	Workgroups             *[]string `json:"workgroups"`
	Require2FA             *bool     `json:"require_2fa"`
}

func (r appRequest) settings() apps.Settings {
	return apps.Settings{Name: r.Name, Kind: r.Kind, RedirectURIs: r.RedirectURIs, Public: r.Public,
		BackchannelLogoutURI: r.BackchannelLogoutURI, PostLogoutRedirectURIs: r.PostLogoutRedirectURIs,
		Domains: r.Domains, Workgroups: r.Workgroups, Require2FA: r.Require2FA}
}

func list(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// appJSON is an application as the API shows it: never its secret.
func appJSON(a *deadbolt.Application) map[string]any {
	m := map[string]any{
		"id":                        a.ID,
		"name":                      a.Name,
		"kind":                      a.Kind,
		"redirect_uris":             list(a.RedirectURIs),
		"post_logout_redirect_uris": list(a.PostLogoutRedirectURIs),
		"backchannel_logout_uri":    nil,
		"domains":                   list(a.Domains),
		"workgroups":                list(a.Workgroups),
		"require_2fa":               a.Require2FA,
		"created_at":                timeJSON(a.CreatedAt),
		"updated_at":                timeJSON(a.UpdatedAt),
	}
	if a.BackchannelLogoutURI != "" {
		m["backchannel_logout_uri"] = a.BackchannelLogoutURI
	}
	if a.Kind == deadbolt.AppOIDC {
		m["client_id"] = a.ClientID
		m["public"] = a.Public
		m["has_secret"] = a.SecretHash != nil
		m["secret_set_at"] = timeJSON(a.SecretSetAt)
	}
	return m
}

func (s *server) appsService() (*apps.Service, error) {
	if s.Apps == nil {
		return nil, deadbolt.Errorf(deadbolt.CodeUnavailable, "Applications are not available.")
	}
	return s.Apps, nil
}

func (s *server) apiListApps(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.appsService()
	if err != nil {
		return err
	}
	l, err := svc.List(r.Context(), s.actor(r, a))
	if err != nil {
		return err
	}
	out := make([]any, 0, len(l))
	for _, app := range l {
		out = append(out, appJSON(app))
	}
	writeJSON(w, http.StatusOK, map[string]any{"apps": out})
	return nil
}

func (s *server) apiCreateApp(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.appsService()
	if err != nil {
		return err
	}
	var req appRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	app, secret, err := svc.Create(r.Context(), s.actor(r, a), req.settings())
	if err != nil {
		return err
	}
	m := appJSON(app)
	if secret != "" {
		m["client_secret"] = secret
	}
	writeJSON(w, http.StatusCreated, m)
	return nil
}

func (s *server) apiGetApp(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.appsService()
	if err != nil {
		return err
	}
	app, err := svc.Get(r.Context(), s.actor(r, a), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, appJSON(app))
	return nil
}

func (s *server) apiUpdateApp(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.appsService()
	if err != nil {
		return err
	}
	var req appRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	app, err := svc.Update(r.Context(), s.actor(r, a), r.PathValue("id"), req.settings())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, appJSON(app))
	return nil
}

func (s *server) apiDeleteApp(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.appsService()
	if err != nil {
		return err
	}
	if err := svc.Delete(r.Context(), s.actor(r, a), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

func (s *server) apiRotateAppSecret(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.appsService()
	if err != nil {
		return err
	}
	_, secret, err := svc.RotateSecret(r.Context(), s.actor(r, a), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"client_secret": secret})
	return nil
}

// updateUserRequest is the body of PUT /admin/users/{id}; an absent field
// is left as it is, and an empty email removes it.
type updateUserRequest struct {
	Name  *string `json:"name"`
	Email *string `json:"email"`
}

func (s *server) apiUpdateUser(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	var req updateUserRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	u, err := s.Accounts.Update(r.Context(), s.actor(r, a), r.PathValue("id"), accounts.Profile{Name: req.Name, Email: req.Email})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userJSON(u))
	return nil
}
