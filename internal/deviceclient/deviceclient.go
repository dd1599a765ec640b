// Package deviceclient is a client for Deadbolt's companion-device API: it
// pairs a device from a pairing URL, keeps the device's key, token and TOTP
// secret in a state file, shows the current verification code, signs push
// decisions and checks whether the device is still connected.
package deviceclient

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"deadbolt/internal/totp"
)

// maxResponse bounds how much of a server answer is read.
const maxResponse = 1 << 20

// maxStateFile bounds the size of a state file Load accepts.
const maxStateFile = 1 << 16

// Account identifies the employee a device is paired with.
type Account struct {
	ID    string `json:"id"`
	Login string `json:"login"`
	Name  string `json:"name"`
}

// State is everything a paired device keeps. It is JSON-serialisable and
// holds secrets: store it only with Save. A State is not safe for concurrent
// modification; its methods only read it and may be called concurrently.
type State struct {
	Server          string  `json:"server"`
	DeviceID        string  `json:"device_id"`
	DeviceToken     string  `json:"device_token"`
	PrivateKeyPKCS8 []byte  `json:"private_key_pkcs8"` // ECDSA P-256
	TOTPSecret      string  `json:"totp_secret"`       // base32
	Account         Account `json:"account"`
}

// APIError is an error answer from the server: its HTTP status and the
// code and message of its error envelope.
type APIError struct {
	Status  int
	Code    string
	Message string
}

// Error implements error.
func (e *APIError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("server: %s (%d %s)", e.Message, e.Status, e.Code)
	}
	return fmt.Sprintf("server: %d %s", e.Status, e.Code)
}

// ParsePairingURL splits a pairing URL {server}/app/pair#{token} into the
// server's base URL (without trailing slash) and the token. It returns an
// error for anything else: another scheme than http or https, no host, a
// path not ending in /app/pair, a query, user info, or an empty or
// non-base64url token. It is safe for concurrent use.
func ParsePairingURL(s string) (server, token string, err error) {
	bad := func(why string) (string, string, error) {
		return "", "", fmt.Errorf("pairing URL: %s", why)
	}
	if len(s) > 4096 {
		return bad("too long")
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return bad("malformed")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad("must start with https://")
	}
	if u.Host == "" || u.User != nil || u.Opaque != "" {
		return bad("no server")
	}
	if u.RawQuery != "" || u.ForceQuery {
		return bad("unexpected query")
	}
	prefix, ok := strings.CutSuffix(u.EscapedPath(), "/app/pair")
	if !ok {
		return bad("path must end in /app/pair")
	}
	token = u.Fragment
	if token == "" || len(token) > 256 {
		return bad("no pairing token")
	}
	if _, err := base64.RawURLEncoding.DecodeString(token); err != nil {
		return bad("malformed pairing token")
	}
	return u.Scheme + "://" + u.Host + prefix, token, nil
}

// Pair pairs a new device named name using the pairing URL the Security
// page shows. It generates an ECDSA P-256 key, registers its public key and
// returns the new State. It returns an error from ParsePairingURL for a bad
// URL, *APIError when the server refuses (for example an expired or used
// token), or a transport error. It is safe for concurrent use.
func Pair(ctx context.Context, hc *http.Client, pairingURL, name string) (*State, error) {
	server, token, err := ParsePairingURL(pairingURL)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]string{
		"token": token, "public_key": base64.RawURLEncoding.EncodeToString(spki),
		"name": name, "platform": "cli",
	})
	if err != nil {
		return nil, err
	}
	var out struct {
		DeviceID    string `json:"device_id"`
		DeviceToken string `json:"device_token"`
		TOTP        struct {
			Secret string `json:"secret"`
		} `json:"totp"`
		Account Account `json:"account"`
	}
	if err := call(ctx, hc, http.MethodPost, server+"/api/v1/device/pair", "", body, &out); err != nil {
		return nil, err
	}
	if out.DeviceID == "" || out.DeviceToken == "" {
		return nil, errors.New("server answer lacks the device id or token")
	}
	if _, err := totp.DecodeSecret(out.TOTP.Secret); err != nil {
		return nil, fmt.Errorf("server sent a bad TOTP secret: %w", err)
	}
	return &State{
		Server: server, DeviceID: out.DeviceID, DeviceToken: out.DeviceToken,
		PrivateKeyPKCS8: pkcs8, TOTPSecret: out.TOTP.Secret, Account: out.Account,
	}, nil
}

// Code returns the device's verification code at now. It returns an error
// wrapping totp.ErrMalformed if the stored secret is bad.
func (s *State) Code(now time.Time) (string, error) {
	secret, err := totp.DecodeSecret(s.TOTPSecret)
	if err != nil {
		return "", err
	}
	return totp.Code(secret, now), nil
}

// SignedMessage is the text a push decision signature covers.
func SignedMessage(requestID, decision, number string) []byte {
	return []byte("deadbolt-push-v1\n" + requestID + "\n" + decision + "\n" + number)
}

// Sign signs a push decision ("approve" or "deny") for the request with
// the device key: ECDSA P-256 with SHA-256 over SignedMessage, encoded as
// base64url (no padding) of r||s, 32 bytes each. It returns an error if the
// stored key is not an ECDSA P-256 PKCS #8 key.
func (s *State) Sign(requestID, decision, number string) (string, error) {
	key, err := s.privateKey()
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(SignedMessage(requestID, decision, number))
	r, ss, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		return "", err
	}
	var sig [64]byte
	r.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	return base64.RawURLEncoding.EncodeToString(sig[:]), nil
}

// PublicKey returns the public half of the device key. It returns an error
// if the stored key is not an ECDSA P-256 PKCS #8 key.
func (s *State) PublicKey() (*ecdsa.PublicKey, error) {
	key, err := s.privateKey()
	if err != nil {
		return nil, err
	}
	return &key.PublicKey, nil
}

func (s *State) privateKey() (*ecdsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(s.PrivateKeyPKCS8)
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("device key is not an ECDSA P-256 key")
	}
	return ec, nil
}

// Check asks the server whether the device is still connected. It returns
// nil if so, *APIError with Code "device_disconnected" (status 401) when the
// device has been disconnected, another *APIError for other refusals, or a
// transport error.
func (s *State) Check(ctx context.Context, hc *http.Client) error {
	return call(ctx, hc, http.MethodGet, s.Server+"/api/v1/device", s.DeviceToken, nil, nil)
}

// call sends a request and decodes a 2xx JSON answer into out (if not nil);
// other answers become *APIError.
func call(ctx context.Context, hc *http.Client, method, u, token string, body []byte, out any) error {
	if hc == nil {
		hc = http.DefaultClient
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var env struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		json.Unmarshal(b, &env) // a non-JSON answer leaves Code empty
		return &APIError{Status: resp.StatusCode, Code: env.Error.Code, Message: env.Error.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("server answer is not JSON: %w", err)
	}
	return nil
}

// Load reads a state file written by Save. It refuses a file that group or
// others may read or write, and returns an error for a missing, oversized or
// malformed file.
func Load(path string) (*State, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is accessible to other users (mode %v); run chmod 600 on it", path, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxStateFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxStateFile {
		return nil, fmt.Errorf("%s is too large", path)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.Server == "" || s.DeviceToken == "" {
		return nil, fmt.Errorf("%s is not a device state file", path)
	}
	return &s, nil
}

// Save writes the state to path with mode 0600, atomically: to a new
// temporary file in the same directory, then renamed over path. It returns
// any file system error.
func (s *State) Save(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	// os.CreateTemp opens with O_EXCL and mode 0600.
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return nil
}

// Request is a sign-in waiting for this device's decision. The device is
// never told the number: Digits says how many digits the employee must
// type from the sign-in screen.
type Request struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Digits    int       `json:"digits"`
	// Purpose is "sign_in", or "reauth" for a fresh proof before a change
	// of sign-in settings.
	Purpose string            `json:"purpose"`
	Context map[string]string `json:"context"`
}

// The lengths a push number may have.
const (
	MinDigits = 6
	MaxDigits = 8
)

// NumberLength is how many digits the request's number has; an absent or
// out-of-range Digits counts as MinDigits.
func (r Request) NumberLength() int {
	if r.Digits < MinDigits || r.Digits > MaxDigits {
		return MinDigits
	}
	return r.Digits
}

// ParseNumber reads a number typed for the request: exactly NumberLength
// digits, spaces ignored, no leading zero. ok is false otherwise.
func (r Request) ParseNumber(typed string) (n int, ok bool) {
	d := strings.ReplaceAll(strings.TrimSpace(typed), " ", "")
	if len(d) != r.NumberLength() || d[0] == '0' || strings.Trim(d, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(d)
	return n, err == nil
}

// Requests returns the pending sign-in requests, waiting up to wait for
// one to arrive (a long poll; the server answers as soon as one exists).
func (s *State) Requests(ctx context.Context, hc *http.Client, wait time.Duration) ([]Request, error) {
	var out struct {
		Requests []Request `json:"requests"`
	}
	u := fmt.Sprintf("%s/api/v1/device/requests?wait=%d", s.Server, int(wait/time.Second))
	if err := call(ctx, hc, http.MethodGet, u, s.DeviceToken, nil, &out); err != nil {
		return nil, err
	}
	return out.Requests, nil
}

// Decide signs and sends a decision ("approve" with the number typed from
// the sign-in screen, or "deny", optionally reporting "This wasn't me").
// It returns the request's final status ("approved" or "denied").
func (s *State) Decide(ctx context.Context, hc *http.Client, id, decision string, number *int, report bool) (string, error) {
	n := ""
	if number != nil {
		n = strconv.Itoa(*number)
	}
	sig, err := s.Sign(id, decision, n)
	if err != nil {
		return "", err
	}
	body := map[string]any{"decision": decision, "signature": sig}
	if number != nil {
		body["number"] = *number
	}
	if report {
		body["report"] = true
	}
	b, _ := json.Marshal(body)
	var out struct {
		Status string `json:"status"`
	}
	if err := call(ctx, hc, http.MethodPost, s.Server+"/api/v1/device/requests/"+url.PathEscape(id), s.DeviceToken, b, &out); err != nil {
		return "", err
	}
	return out.Status, nil
}
