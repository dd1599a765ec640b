package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
	"deadbolt/internal/deviceclient"
	"deadbolt/internal/totp"
)

func TestDeviceCode(t *testing.T) {
	secret, err := totp.GenerateSecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "device.json")
	st := &deviceclient.State{Server: "https://mfa.example.com", DeviceID: "d1", DeviceToken: "tok", TOTPSecret: totp.EncodeSecret(secret)}
	if err := st.Save(file); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }
	var out, errOut bytes.Buffer
	before := totp.Code(secret, time.Now())
	code := run(context.Background(), []string{"deadbolt", "device", "code", "--state", file}, noEnv, strings.NewReader(""), &out, &errOut)
	after := totp.Code(secret, time.Now())
	if code != 0 {
		t.Fatalf("run(device code) = %d, want 0; stderr %q", code, errOut.String())
	}
	fields := strings.Fields(out.String())
	if len(fields) == 0 || (fields[0] != before && fields[0] != after) {
		t.Errorf("run(device code) printed %q, want code %q", out.String(), after)
	}
	if !strings.Contains(out.String(), "seconds left") {
		t.Errorf("run(device code) printed %q, want the seconds left", out.String())
	}
}

func TestDeviceUsage(t *testing.T) {
	noEnv := func(string) string { return "" }
	for _, args := range [][]string{
		{"deadbolt", "device"},
		{"deadbolt", "device", "bogus"},
		{"deadbolt", "device", "pair"},
		{"deadbolt", "device", "code", "extra", "--state", "x"},
		{"deadbolt", "device", "code", "--nope"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if got := run(context.Background(), args, noEnv, strings.NewReader(""), &out, &errOut); got != 2 {
				t.Errorf("run(%q) = %d, want 2", args, got)
			}
		})
	}
}

func TestDevicePairRefusesExistingState(t *testing.T) {
	file := filepath.Join(t.TempDir(), "device.json")
	st := &deviceclient.State{Server: "https://mfa.example.com", DeviceToken: "tok", TOTPSecret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}
	if err := st.Save(file); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "DEADBOLT_DEVICE_STATE" {
			return file
		}
		return ""
	}
	var out, errOut bytes.Buffer
	got := run(context.Background(), []string{"deadbolt", "device", "pair", "http://127.0.0.1:1/app/pair#abcd"}, env, strings.NewReader(""), &out, &errOut)
	if got != 1 || !strings.Contains(errOut.String(), "already exists") {
		t.Errorf("run(device pair) over an existing state = %d, stderr %q; want 1 and \"already exists\"", got, errOut.String())
	}
}

func TestDevicePairAndStatus(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	pairURL := s.Do(t, "POST", "/api/v1/me/device/pairing", admin, map[string]any{}).JSON(t)["url"].(string)
	file := filepath.Join(t.TempDir(), "sub", "device.json")
	noEnv := func(string) string { return "" }
	var out, errOut bytes.Buffer
	if got := run(context.Background(), []string{"deadbolt", "device", "pair", pairURL, "--state", file, "--name", "laptop"}, noEnv, strings.NewReader(""), &out, &errOut); got != 0 {
		t.Fatalf("run(device pair) = %d, stderr %q", got, errOut.String())
	}
	if !strings.Contains(out.String(), "admin") {
		t.Errorf("run(device pair) printed %q, want the account", out.String())
	}
	if _, err := deviceclient.Load(file); err != nil {
		t.Fatalf("Load after pair = %v", err)
	}
	out.Reset()
	if got := run(context.Background(), []string{"deadbolt", "device", "status", "--state", file}, noEnv, strings.NewReader(""), &out, &errOut); got != 0 || !strings.Contains(out.String(), "connected") {
		t.Errorf("run(device status) = %d, %q; want 0 and connected", got, out.String())
	}
	if r := s.Do(t, "POST", "/api/v1/logout/all", admin, map[string]any{}); r.Status != 200 {
		t.Fatalf("logout all: %d %s", r.Status, r.Body)
	}
	out.Reset()
	if got := run(context.Background(), []string{"deadbolt", "device", "status", "--state", file}, noEnv, strings.NewReader(""), &out, &errOut); got != 1 || !strings.Contains(out.String(), "scan a new QR code") {
		t.Errorf("run(device status) after logout all = %d, %q; want 1 and \"scan a new QR code\"", got, out.String())
	}
}
