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
