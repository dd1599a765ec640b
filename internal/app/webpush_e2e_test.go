package app_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/totp"
	"deadbolt/internal/webpush/webpushtest"
)

// pairWebPushDevice pairs and confirms a device that sends a Web Push
// subscription, as the companion app does when notifications are allowed.
func pairWebPushDevice(t *testing.T, s *deadbolttest.Server, token string, subscription map[string]any) {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/me/device/pairing", token, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("pairing: %d %s", r.Status, r.Body)
	}
	offer := r.JSON(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	r = s.Do(t, "POST", "/api/v1/device/pair", "", map[string]any{"token": offer["token"],
		"public_key": base64.RawURLEncoding.EncodeToString(der), "name": "Test phone", "platform": "web",
		"webpush": subscription})
	if r.Status != http.StatusCreated {
		t.Fatalf("device pair: %d %s", r.Status, r.Body)
	}
	secret, err := totp.DecodeSecret(r.JSON(t)["totp"].(map[string]any)["secret"].(string))
	if err != nil {
		t.Fatal(err)
	}
	code := totp.Code(secret, s.Clock().Now())
	if r := s.Do(t, "POST", "/api/v1/me/device/pairing/"+offer["id"].(string)+"/confirm", token, map[string]string{"code": code}); r.Status != http.StatusOK {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
}

func TestWebPushDelivery(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, store deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: store})
		r := s.Do(t, "GET", "/api/v1/device/vapid", "", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET /device/vapid: %d %s", r.Status, r.Body)
		}
		vapid, _ := r.JSON(t)["public_key"].(string)
		if raw, err := base64.RawURLEncoding.DecodeString(vapid); err != nil || len(raw) != 65 || raw[0] != 4 {
			t.Fatalf("public_key %q is not an unpadded base64url P-256 point", vapid)
		}
		// A second node on the same database signs with the same key.
		s2 := deadbolttest.StartServer(t, deadbolttest.Options{Store: store, Database: s.Database})
		if got, _ := s2.Do(t, "GET", "/api/v1/device/vapid", "", nil).JSON(t)["public_key"].(string); got != vapid {
			t.Errorf("second node's VAPID key = %q, want %q", got, vapid)
		}

		push := webpushtest.NewService(t, vapid)
		browser, endpoint := push.Subscribe(t)
		admin := s.AdminToken(t)
		aliceID := s.CreateUser(t, admin, "alice", "alice-password")
		tok, _ := s.Login(t, "alice", "alice-password")
		pairWebPushDevice(t, s, tok, browser.Subscription(endpoint))

		// The sign-in sends a notification that decrypts to the request id.
		pl := loginPush(t, s, "alice", "alice-password")
		n := push.Next(t, 10*time.Second)
		if n.Err != nil {
			t.Fatalf("the push service refused the notification: %v", n.Err)
		}
		if want := `{"id":"` + pl.id + `"}`; string(n.Plaintext) != want {
			t.Errorf("notification decrypts to %q, want %q", n.Plaintext, want)
		}
		if n.Claims.Aud != push.URL || n.Claims.Sub != "mailto:webpush@127.0.0.1" {
			t.Errorf("VAPID claims = %+v", n.Claims)
		}
		if n.Header.Get("TTL") != "120" || n.Header.Get("Urgency") != "high" {
			t.Errorf("TTL %q, Urgency %q; want 120, high", n.Header.Get("TTL"), n.Header.Get("Urgency"))
		}

		// The push service says the subscription is gone: it is removed,
		// and the next sign-in sends nothing.
		push.SetStatus(endpoint, http.StatusGone)
		pl = loginPush(t, s, "alice", "alice-password")
		if n := push.Next(t, 10*time.Second); n.Err != nil || string(n.Plaintext) != `{"id":"`+pl.id+`"}` {
			t.Fatalf("notification before 410 = %q, %v", n.Plaintext, n.Err)
		}
		ctx := context.Background()
		deadline := time.Now().Add(10 * time.Second)
		for {
			d, err := s.App.Store.TrustedDevice(ctx, aliceID)
			if err != nil {
				t.Fatal(err)
			}
			if d.WebPush == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the subscription was not removed after 410 Gone")
			}
			time.Sleep(10 * time.Millisecond)
		}
		hits := push.Hits()
		loginPush(t, s, "alice", "alice-password")
		s.App.WebPush.Wait()
		if got := push.Hits(); got != hits {
			t.Errorf("push service hits after the subscription was removed = %d, want %d", got, hits)
		}
	})
}
