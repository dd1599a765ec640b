package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/deviceclient"
)

// TestDeviceWatch answers a push request from the terminal companion: it
// asks for the six-digit number, asks again after a number of the wrong
// length (which is not sent), and approves on Enter.
func TestDeviceWatch(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	offer := s.Do(t, "POST", "/api/v1/me/device/pairing", admin, nil).JSON(t)
	st, err := deviceclient.Pair(context.Background(), s.Client, offer["url"].(string), "terminal")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := st.Code(s.Clock().Now())
	if r := s.Do(t, "POST", "/api/v1/me/device/pairing/"+offer["id"].(string)+"/confirm", admin, map[string]string{"code": code}); r.Status != http.StatusOK {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	file := filepath.Join(t.TempDir(), "device.json")
	if err := st.Save(file); err != nil {
		t.Fatal(err)
	}
	pending, ans := s.Login(t, "admin", deadbolttest.AdminPassword)
	push := ans["push"].(map[string]any)
	number := strconv.Itoa(int(push["number"].(float64)))
	if len(number) != 6 || push["digits"] != 6.0 {
		t.Fatalf("push = %v, want a six-digit number and digits 6", push)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	out := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"deadbolt", "device", "watch", "--state", file}, func(string) string { return "" }, pr, out, io.Discard)
	}()
	// A short number first, then the number as grouped on the screen.
	go pw.Write([]byte(number[:5] + "\n" + number[:3] + " " + number[3:] + "\n"))
	r := s.Do(t, "GET", "/api/v1/login/push/"+push["id"].(string)+"?wait=20", pending, nil)
	// The browser may learn of the approval before the device hears the
	// answer to it: let the watch print its outcome before it stops.
	for wait := time.Now().Add(10 * time.Second); time.Now().Before(wait) && !strings.Contains(out.String(), "Request approved"); {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	pw.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("device watch did not stop")
	}
	if r.JSON(t)["status"] != "approved" {
		t.Fatalf("push status = %s; watch printed %q", r.Body, out.String())
	}
	for _, want := range []string{"Sign-in to ", "Type the 6-digit number", "That is not a 6-digit number.", "Request approved"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("watch printed %q, want it to hold %q", out.String(), want)
		}
	}
}

// TestDeviceWatchConfirmation: a fresh-proof request shows in the terminal
// as a confirmation, and the number approves it.
func TestDeviceWatchConfirmation(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	offer := s.Do(t, "POST", "/api/v1/me/device/pairing", admin, nil).JSON(t)
	st, err := deviceclient.Pair(context.Background(), s.Client, offer["url"].(string), "terminal")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := st.Code(s.Clock().Now())
	if r := s.Do(t, "POST", "/api/v1/me/device/pairing/"+offer["id"].(string)+"/confirm", admin, map[string]string{"code": code}); r.Status != http.StatusOK {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	file := filepath.Join(t.TempDir(), "device.json")
	if err := st.Save(file); err != nil {
		t.Fatal(err)
	}
	s.Advance(t, 11*time.Minute)
	push := s.Do(t, "POST", "/api/v1/me/reauth/push", admin, nil).JSON(t)
	number := strconv.Itoa(int(push["number"].(float64)))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	out := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"deadbolt", "device", "watch", "--state", file}, func(string) string { return "" }, pr, out, io.Discard)
	}()
	go pw.Write([]byte(number + "\n"))
	r := s.Do(t, "GET", "/api/v1/me/reauth/push/"+push["id"].(string)+"?wait=20", admin, nil)
	cancel()
	pw.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("device watch did not stop")
	}
	if r.JSON(t)["status"] != "approved" {
		t.Fatalf("reauth status = %s; watch printed %q", r.Body, out.String())
	}
	if !strings.Contains(out.String(), "Confirm it is you") || strings.Contains(out.String(), "Sign-in to ") {
		t.Errorf("watch printed %q, want the request shown as a confirmation", out.String())
	}
}
