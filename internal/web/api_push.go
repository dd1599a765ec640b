package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/device"
	"deadbolt/internal/signin"
)

// maxWait bounds long polls.
const maxWait = 30 * time.Second

// waitParam reads ?wait= seconds (0 when absent).
func waitParam(r *http.Request) (time.Duration, error) {
	v := r.URL.Query().Get("wait")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > int(maxWait/time.Second) {
		return 0, deadbolt.Errorf(deadbolt.CodeBadRequest, "wait must be a number of seconds from 0 to %d.", int(maxWait/time.Second))
	}
	return time.Duration(n) * time.Second, nil
}

func pushJSON(p *deadbolt.PushRequest) map[string]any {
	return map[string]any{"id": p.ID, "number": p.Number, "digits": p.Digits(), "expires_at": timeJSON(p.ExpiresAt)}
}

func (s *server) apiNewPush(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	p, err := s.Signin.NewPush(r.Context(), a, s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pushJSON(p))
	return nil
}

func (s *server) apiPushStatus(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	wait, err := waitParam(r)
	if err != nil {
		return err
	}
	out, err := s.Signin.WaitPush(r.Context(), a, r.PathValue("id"), wait, s.Draining, s.client(r))
	if err != nil {
		return err
	}
	body := map[string]any{"status": out.Status}
	if out.Reported {
		// "This wasn't me": the browser says pushes are paused and
		// offers the other methods.
		body["reported"] = true
		body["push_unavailable"] = device.UnavailableMuted
		if _, wait, err := s.Signin.PushPaused(r.Context(), a.User); err == nil && wait > 0 {
			body["retry_after"] = secondsUp(wait)
		}
	}
	if out.Result != nil {
		s.setSessionCookie(w, out.Result.Token, out.Result.Session.ExpiresAt)
		body["state"] = out.Result.State
		body["session_token"] = out.Result.Token
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func deviceRequestJSON(p *deadbolt.PushRequest) map[string]any {
	// The number is never sent to the device: the employee carries it over
	// from the browser. The device learns only how many digits to ask for,
	// and whether it confirms a sign-in or a fresh proof (purpose).
	purpose := p.Purpose
	if purpose == "" {
		purpose = deadbolt.PushSignIn
	}
	return map[string]any{"id": p.ID, "created_at": timeJSON(p.CreatedAt), "expires_at": timeJSON(p.ExpiresAt),
		"digits": p.Digits(), "purpose": purpose, "context": p.Context}
}

func deviceRequestsJSON(list []*deadbolt.PushRequest) map[string]any {
	out := make([]any, 0, len(list))
	for _, p := range list {
		out = append(out, deviceRequestJSON(p))
	}
	return map[string]any{"requests": out}
}

// apiDeviceRequests answers the device's long poll: pending requests at
// once, or after a wake-up, or an empty list when wait runs out or the
// server begins to drain.
func (s *server) apiDeviceRequests(w http.ResponseWriter, r *http.Request) error {
	d, _, err := s.deviceAuth(r)
	if err != nil {
		return err
	}
	wait, err := waitParam(r)
	if err != nil {
		return err
	}
	wake, stop := s.Notifier.Subscribe(device.DeviceTopic(d.UserID))
	defer stop()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		list, err := s.Pusher.Pending(r.Context(), d)
		if err != nil {
			return err
		}
		if len(list) > 0 || wait == 0 {
			writeJSON(w, http.StatusOK, deviceRequestsJSON(list))
			return nil
		}
		select {
		case <-wake:
			// A disconnection also wakes the device's topic.
			if d, _, err = s.deviceAuth(r); err != nil {
				return err
			}
		case <-timer.C:
			writeJSON(w, http.StatusOK, deviceRequestsJSON(nil))
			return nil
		case <-s.Draining:
			writeJSON(w, http.StatusOK, deviceRequestsJSON(nil))
			return nil
		case <-r.Context().Done():
			return nil
		}
	}
}

// apiDeviceEvents streams pending requests as Server-Sent Events: each new
// request once as "event: request"; "event: resolved" ({"id"}) once a
// request sent is no longer pending (answered here or on another phone,
// expired, or its sign-in finished by another method); "event: device"
// ({"trusted"}) when the device's pairing is confirmed; notices; and a
// comment every 15 s to keep proxies from closing the stream. When the
// server begins to drain the stream ends cleanly, asking the client to
// reconnect in two seconds (to another node, or to this one restarted).
func (s *server) apiDeviceEvents(w http.ResponseWriter, r *http.Request) error {
	d, _, err := s.deviceAuth(r)
	if err != nil {
		return err
	}
	trusted := d.Trusted()
	rc := http.NewResponseController(w)
	wake, stop := s.Notifier.Subscribe(device.DeviceTopic(d.UserID))
	defer stop()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	sent := map[string]bool{}
	// Notices: only those recorded after the stream opened.
	lastNotice := ""
	if recent, err := s.Events.Events(r.Context(), deadbolt.EventFilter{UserID: d.UserID, Limit: 1}); err == nil && len(recent) > 0 {
		lastNotice = recent[0].ID
	}
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		rc.SetWriteDeadline(time.Now().Add(time.Minute))
		list, err := s.Pusher.Pending(r.Context(), d)
		if err != nil {
			return nil
		}
		live := map[string]bool{}
		for _, p := range list {
			live[p.ID] = true
			if sent[p.ID] {
				continue
			}
			sent[p.ID] = true
			b, _ := json.Marshal(deviceRequestJSON(p))
			fmt.Fprintf(w, "event: request\ndata: %s\n\n", b)
		}
		for id := range sent {
			if !live[id] {
				delete(sent, id)
				b, _ := json.Marshal(map[string]string{"id": id})
				fmt.Fprintf(w, "event: resolved\ndata: %s\n\n", b)
			}
		}
		if notices, err := device.Notices(r.Context(), s.Events, d.UserID, lastNotice, 20); err == nil && len(notices) > 0 {
			lastNotice = notices[0].ID
			for i := len(notices) - 1; i >= 0; i-- {
				b, _ := json.Marshal(noticeJSON(notices[i]))
				fmt.Fprintf(w, "event: notice\ndata: %s\n\n", b)
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
		select {
		case <-wake:
			now, _, err := s.deviceAuth(r)
			if err != nil {
				fmt.Fprintf(w, "event: disconnected\ndata: {}\n\n")
				rc.Flush()
				return nil
			}
			if now.Trusted() != trusted {
				trusted = now.Trusted()
				fmt.Fprintf(w, "event: device\ndata: {\"trusted\":%t}\n\n", trusted)
			}
		case <-keepalive.C:
			fmt.Fprint(w, ": keepalive\n\n")
		case <-s.Draining:
			fmt.Fprint(w, "retry: 2000\n\n")
			rc.Flush()
			return nil
		case <-r.Context().Done():
			return nil
		}
	}
}

type decisionRequest struct {
	Decision  string `json:"decision"`
	Number    *int   `json:"number"`
	Report    bool   `json:"report"`
	Signature string `json:"signature"`
}

func (s *server) apiDeviceDecide(w http.ResponseWriter, r *http.Request) error {
	d, _, err := s.deviceAuth(r)
	if err != nil {
		return err
	}
	var req decisionRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	status, err := s.Signin.DecidePush(r.Context(), d, r.PathValue("id"), deadbolt.PushDecision{
		Decision: req.Decision, Number: req.Number, Report: req.Report, Signature: req.Signature,
	}, s.client(r))
	if err != nil {
		return err
	}
	body := map[string]any{"status": status}
	if req.Decision == "approve" && status == deadbolt.PushDenied {
		body["wrong_number"] = true
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func noticeJSON(e *deadbolt.Event) map[string]any {
	return map[string]any{"id": e.ID, "type": e.Type, "at": timeJSON(e.At)}
}

// apiDeviceNotices lists the factor changes the device's employee should
// know of (newest first; ?after=ID for newer ones only).
func (s *server) apiDeviceNotices(w http.ResponseWriter, r *http.Request) error {
	d, _, err := s.deviceAuth(r)
	if err != nil {
		return err
	}
	after := r.URL.Query().Get("after")
	if after != "" {
		if _, err := strconv.ParseUint(after, 10, 63); err != nil {
			return deadbolt.Errorf(deadbolt.CodeBadRequest, "after must be a notice id.")
		}
	}
	list, err := device.Notices(r.Context(), s.Events, d.UserID, after, 20)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		out = append(out, noticeJSON(e))
	}
	writeJSON(w, http.StatusOK, map[string]any{"notices": out})
	return nil
}
