package web

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/passkey"
	"deadbolt/internal/signin"
)

// credentialJSON is a PublicKeyCredential as the browser's toJSON() made
// it: client JSON, kept as text for the WebAuthn library to read. Our own
// strict rules still apply around and inside it (no duplicate keys,
// valid UTF-8, no U+0000, the body size); its keys are the client's.
type credentialJSON struct{ raw []byte }

func (c *credentialJSON) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '{' {
		return deadbolt.Errorf(deadbolt.CodeBadRequest, "credential must be a JSON object.")
	}
	c.raw = append([]byte(nil), b...)
	return nil
}

// passkeysService returns the passkey service, or the reason passkeys are
// off.
func (s *server) passkeysService() (*passkey.Service, error) {
	if s.Passkeys == nil {
		return nil, deadbolt.Errorf(deadbolt.CodePasskeysUnavailable, "Passkeys are not available.")
	}
	if err := s.Passkeys.Available(); err != nil {
		return nil, err
	}
	return s.Passkeys, nil
}

func passkeyJSON(p *deadbolt.Passkey) map[string]any {
	transports := p.Transports
	if transports == nil {
		transports = []string{}
	}
	return map[string]any{
		"id":              p.ID,
		"name":            p.Name,
		"created_at":      timeJSON(p.CreatedAt),
		"last_used_at":    timeJSON(p.LastUsedAt),
		"credential_id":   base64.RawURLEncoding.EncodeToString(p.CredentialID),
		"aaguid":          aaguid(p.AAGUID),
		"backup_eligible": p.BackupEligible,
		"backed_up":       p.BackupState,
		"user_verified":   p.UserVerified,
		"transports":      transports,
	}
}

// aaguid shows an authenticator model id in the UUID form.
func aaguid(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// writeOptions answers WebAuthn options ({"publicKey":{…}}), with extra
// members beside publicKey.
func writeOptions(w http.ResponseWriter, status int, opts []byte, extra map[string]any) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(opts, &m); err != nil {
		return err
	}
	out := map[string]any{"publicKey": m["publicKey"]}
	for k, v := range extra {
		out[k] = v
	}
	writeJSON(w, status, out)
	return nil
}

func (s *server) apiPasskeyOptions(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	pk, err := s.passkeysService()
	if err != nil {
		return err
	}
	if err := s.Signin.RequireFresh(a); err != nil {
		return err
	}
	opts, err := pk.RegistrationOptions(r.Context(), a.User, passkey.PurposeRegister(a.Session.ID))
	if err != nil {
		return err
	}
	return writeOptions(w, http.StatusOK, opts, nil)
}

type addPasskeyRequest struct {
	Name       string          `json:"name"`
	Credential *credentialJSON `json:"credential"`
}

func (s *server) apiAddPasskey(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	var req addPasskeyRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	pk, err := s.passkeysService()
	if err != nil {
		return err
	}
	if err := s.Signin.RequireFresh(a); err != nil {
		return err
	}
	if req.Credential == nil {
		e := deadbolt.Errorf(deadbolt.CodeInvalidInput, "credential is required: the PublicKeyCredential the browser made.")
		e.Extra = map[string]any{"field": "credential"}
		return e
	}
	p, err := pk.Register(r.Context(), a.User, passkey.PurposeRegister(a.Session.ID), req.Name, req.Credential.raw, s.clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, passkeyJSON(p))
	return nil
}

func (s *server) apiListPasskeys(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	out := []any{}
	enabled, reason := true, ""
	if s.Passkeys == nil {
		enabled, reason = false, tr(r).T("passkeys.off")
	} else {
		if err := s.Passkeys.Available(); err != nil {
			enabled, reason = false, errorText(tr(r), err)
		}
		list, err := s.Passkeys.List(r.Context(), a.User)
		if err != nil {
			return err
		}
		for _, p := range list {
			out = append(out, passkeyJSON(p))
		}
	}
	body := map[string]any{"passkeys": out, "enabled": enabled, "max": passkey.MaxPerEmployee}
	if !enabled {
		body["disabled_reason"] = reason
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

type renamePasskeyRequest struct {
	Name string `json:"name"`
}

func (s *server) apiRenamePasskey(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	var req renamePasskeyRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if s.Passkeys == nil {
		return deadbolt.Errorf(deadbolt.CodeNotFound, "Passkey not found.")
	}
	p, err := s.Passkeys.Rename(r.Context(), a.User, r.PathValue("id"), req.Name, s.clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, passkeyJSON(p))
	return nil
}

func (s *server) apiRemovePasskey(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	if s.Passkeys == nil {
		return deadbolt.Errorf(deadbolt.CodeNotFound, "Passkey not found.")
	}
	if err := s.Signin.RequireFresh(a); err != nil {
		return err
	}
	if err := s.Passkeys.Remove(r.Context(), a.User, r.PathValue("id"), s.clientIP(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

// apiLoginPasskeyOptions begins the assertion that completes a pending
// sign-in.
func (s *server) apiLoginPasskeyOptions(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	opts, err := s.Signin.PasskeyOptions(r.Context(), a)
	if err != nil {
		return err
	}
	return writeOptions(w, http.StatusOK, opts, nil)
}

// apiReauthPasskeyOptions begins the assertion of a fresh proof
// (POST /me/reauth {"method":"passkey","credential"}).
func (s *server) apiReauthPasskeyOptions(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	opts, err := s.Signin.PasskeyOptions(r.Context(), a)
	if err != nil {
		return err
	}
	return writeOptions(w, http.StatusOK, opts, nil)
}

// apiPasskeyBegin begins a sign-in without a login.
func (s *server) apiPasskeyBegin(w http.ResponseWriter, r *http.Request) error {
	id, opts, err := s.Signin.BeginPasskey(r.Context(), s.client(r))
	if err != nil {
		return err
	}
	return writeOptions(w, http.StatusOK, opts, map[string]any{"id": id})
}

type passkeyFinishRequest struct {
	ID         string          `json:"id"`
	Credential *credentialJSON `json:"credential"`
}

// apiPasskeyFinish finishes a sign-in without a login and answers as
// POST /login does.
func (s *server) apiPasskeyFinish(w http.ResponseWriter, r *http.Request) error {
	var req passkeyFinishRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if req.Credential == nil {
		e := deadbolt.Errorf(deadbolt.CodeInvalidInput, "credential is required: the PublicKeyCredential the browser made.")
		e.Extra = map[string]any{"field": "credential"}
		return e
	}
	res, err := s.Signin.FinishPasskey(r.Context(), req.ID, req.Credential.raw, s.client(r))
	if err != nil {
		return err
	}
	s.setSessionCookie(w, res.Token, res.Session.ExpiresAt)
	writeJSON(w, http.StatusOK, loginJSON(res))
	return nil
}
