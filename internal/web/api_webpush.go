package web

import (
	"net/http"

	"deadbolt/internal/deadbolt"
)

// apiVAPIDKey answers the server's VAPID public key, the
// applicationServerKey the companion app subscribes to Web Push with. It
// is public: every push service sees it.
func (s *server) apiVAPIDKey(w http.ResponseWriter, r *http.Request) error {
	if s.VAPIDPublicKey == "" {
		return deadbolt.Errorf(deadbolt.CodeNotFound, "Web Push is not available on this server.")
	}
	writeJSON(w, http.StatusOK, map[string]string{"public_key": s.VAPIDPublicKey})
	return nil
}

// apiDeviceSetWebPush replaces the device's Web Push subscription after
// pairing (a PushSubscription object), or removes it (null).
func (s *server) apiDeviceSetWebPush(w http.ResponseWriter, r *http.Request) error {
	d, _, err := s.deviceAuth(r)
	if err != nil {
		return err
	}
	var req webPushRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	sub := ""
	if req.WebPush != nil {
		sub = string(req.WebPush.raw)
	}
	if err := s.Devices.SetWebPush(r.Context(), d, sub); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "subscribed": sub != ""})
	return nil
}

type webPushRequest struct {
	WebPush *rawJSONObj `json:"webpush"`
}
