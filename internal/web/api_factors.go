package web

import (
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"deadbolt/internal/captcha"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/device"
	"deadbolt/internal/signin"
)

type captchaJSON struct {
	ID     string `json:"id"`
	Answer string `json:"answer"`
}

type secondFactorRequest struct {
	Method  string       `json:"method"`
	Code    string       `json:"code"`
	Captcha *captchaJSON `json:"captcha"`
	// Credential is the passkey assertion of method "passkey".
	Credential *credentialJSON `json:"credential"`
}

func (r *secondFactorRequest) captcha() *signin.CaptchaAnswer {
	if r.Captcha == nil {
		return nil
	}
	return &signin.CaptchaAnswer{ID: r.Captcha.ID, Answer: r.Captcha.Answer}
}

func (s *server) apiSecondFactor(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	var req secondFactorRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	var res *signin.Result
	var err error
	switch {
	case req.Method == signin.MethodPasskey && req.Credential != nil && req.Code == "" && req.Captcha == nil:
		res, err = s.Signin.SecondFactorPasskey(r.Context(), a, req.Credential.raw, s.client(r))
	case req.Method == signin.MethodPasskey:
		err = deadbolt.Errorf(deadbolt.CodeInvalidInput, `A passkey is sent as {"method":"passkey","credential":{…}}, without a code.`)
	case req.Credential != nil:
		err = deadbolt.Errorf(deadbolt.CodeInvalidInput, `credential goes with the method "passkey" only.`)
	default:
		res, err = s.Signin.SecondFactor(r.Context(), a, req.Method, req.Code, req.captcha(), s.client(r))
	}
	if err != nil {
		return err
	}
	s.setSessionCookie(w, res.Token, res.Session.ExpiresAt)
	writeJSON(w, http.StatusOK, map[string]any{"state": res.State, "session_token": res.Token, "expires_at": timeJSON(res.Session.ExpiresAt)})
	return nil
}

// apiNewCaptcha makes a built-in CAPTCHA challenge.
func (s *server) apiNewCaptcha(w http.ResponseWriter, r *http.Request) error {
	if h := s.HostedCaptcha; h != nil {
		// The browser solves the provider's widget; its token is the answer.
		writeJSON(w, http.StatusOK, map[string]any{"provider": h.Provider(), "site_key": h.SiteKey()})
		return nil
	}
	if s.Captcha == nil {
		return deadbolt.Errorf(deadbolt.CodeNotFound, "The built-in CAPTCHA is not enabled.")
	}
	c, err := s.Captcha.New(r.Context(), s.Clock.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":         c.ID,
		"image":      "/api/v1/captcha/" + c.ID + "/image.png",
		"audio":      "/api/v1/captcha/" + c.ID + "/audio.wav",
		"expires_at": timeJSON(c.ExpiresAt),
	})
	return nil
}

func (s *server) captchaMedia(w http.ResponseWriter, r *http.Request, audio bool) error {
	if s.Captcha == nil {
		return deadbolt.Errorf(deadbolt.CodeNotFound, "The built-in CAPTCHA is not enabled.")
	}
	w.Header().Set("Cache-Control", "no-store")
	var err error
	if audio {
		w.Header().Set("Content-Type", captcha.AudioContentType)
		err = s.Captcha.WriteAudio(r.Context(), w, r.PathValue("id"), r.URL.Query().Get("lang"), s.Clock.Now())
	} else {
		w.Header().Set("Content-Type", captcha.ImageContentType)
		err = s.Captcha.WriteImage(r.Context(), w, r.PathValue("id"), s.Clock.Now())
	}
	if err == captcha.ErrNotFound {
		w.Header().Del("Content-Type")
		return deadbolt.Errorf(deadbolt.CodeNotFound, "This CAPTCHA has expired. Ask for a new one.")
	}
	return err
}

func (s *server) apiCaptchaImage(w http.ResponseWriter, r *http.Request) error {
	return s.captchaMedia(w, r, false)
}

func (s *server) apiCaptchaAudio(w http.ResponseWriter, r *http.Request) error {
	return s.captchaMedia(w, r, true)
}

func (s *server) apiDevCaptcha(w http.ResponseWriter, r *http.Request) error {
	if s.Captcha == nil {
		return deadbolt.Errorf(deadbolt.CodeNotFound, "The built-in CAPTCHA is not enabled.")
	}
	ans, err := s.Captcha.Answer(r.Context(), r.PathValue("id"), s.Clock.Now())
	if err == captcha.ErrNotFound {
		return deadbolt.Errorf(deadbolt.CodeNotFound, "No such CAPTCHA.")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"answer": ans})
	return nil
}

func pngDataURL(b []byte) string {
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b)
}

func (s *server) apiStartPairing(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	if err := s.Signin.RequireFresh(a); err != nil {
		return err
	}
	o, err := s.Devices.StartPairing(r.Context(), a.User)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"id": o.ID, "token": o.Token, "url": o.URL, "qr": pngDataURL(o.QRPNG), "expires_at": timeJSON(o.ExpiresAt),
	})
	return nil
}

type codeRequest struct {
	Code string `json:"code"`
}

func (s *server) apiConfirmPairing(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	var req codeRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if err := s.Signin.RequireFresh(a); err != nil {
		return err
	}
	voided, err := s.Devices.Confirm(r.Context(), a.User, r.PathValue("id"), req.Code, s.clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "two_factor_enabled": true, "recovery_codes_voided": voided})
	return nil
}

func (s *server) apiRemoveDevice(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	if err := s.Signin.RequireFresh(a); err != nil {
		return err
	}
	if err := s.Devices.Remove(r.Context(), a.User, s.clientIP(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

func (s *server) apiRecoveryCodes(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	codes, err := s.Signin.GenerateRecoveryCodes(r.Context(), a, s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"codes": codes})
	return nil
}

type pairRequest struct {
	Token     string      `json:"token"`
	PublicKey string      `json:"public_key"`
	Name      string      `json:"name"`
	Platform  string      `json:"platform"`
	WebPush   *rawJSONObj `json:"webpush"`
}

// rawJSONObj keeps a JSON object as text.
type rawJSONObj struct{ raw []byte }

func (o *rawJSONObj) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '{' {
		return deadbolt.Errorf(deadbolt.CodeBadRequest, "webpush must be an object.")
	}
	o.raw = append([]byte(nil), b...)
	return nil
}

func (s *server) apiDevicePair(w http.ResponseWriter, r *http.Request) error {
	var req pairRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	pr := device.PairRequest{Token: req.Token, PublicKey: req.PublicKey, Name: req.Name, Platform: req.Platform}
	if req.WebPush != nil {
		pr.WebPush = string(req.WebPush.raw)
	}
	p, err := s.Devices.Pair(r.Context(), pr, s.clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"device_id":    p.DeviceID,
		"device_token": p.DeviceToken,
		"totp": map[string]any{
			"secret": encodeSecret(p.Secret), "algorithm": "SHA1", "digits": 6, "period": 30,
			"uri": s.Devices.OTPAuthURI(p.User, p.Secret),
		},
		"account": accountJSON(p.User),
	})
	return nil
}

// deviceAuth authenticates the companion app by its device token.
func (s *server) deviceAuth(r *http.Request) (*deadbolt.Device, *deadbolt.User, error) {
	return s.Devices.Authenticate(r.Context(), bearer(r))
}

func (s *server) apiDeviceMe(w http.ResponseWriter, r *http.Request) error {
	d, u, err := s.deviceAuth(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"device_id": d.ID, "name": d.Name, "platform": d.Platform, "trusted": d.Trusted(),
		"account": accountJSON(u),
	})
	return nil
}

func deviceJSON(d *deadbolt.Device) any {
	if d == nil {
		return nil
	}
	return map[string]any{"id": d.ID, "name": d.Name, "platform": d.Platform, "paired_at": timeJSON(d.ConfirmedAt)}
}

func (s *server) apiResetTwoFactor(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	if err := s.Accounts.ResetTwoFactor(r.Context(), s.actor(r, a), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

func (s *server) apiUnlock(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	if err := s.Accounts.Unlock(r.Context(), s.actor(r, a), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

// encodeSecret is the unpadded base32 form of a TOTP secret.
func encodeSecret(b []byte) string {
	return strings.TrimRight(base32Std.EncodeToString(b), "=")
}

var _ = time.Second

// accountJSON is the employee a device belongs to, as the companion app
// shows it; language is their saved choice, null for none.
func accountJSON(u *deadbolt.User) map[string]any {
	var lang any
	if u.Language != "" {
		lang = u.Language
	}
	return map[string]any{"id": u.ID, "login": u.Login, "name": u.Name, "language": lang}
}
