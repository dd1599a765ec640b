// Package passkeytest is a software WebAuthn authenticator and client for
// tests: from the options a relying party sends ({"publicKey":{…}}) it
// makes real registration and assertion responses — P-256 keys, "none"
// attestation, authenticator data with the flags and sign counter asked
// for, client data for the origin it claims — in the JSON form of
// PublicKeyCredential.toJSON(). Tests turn its knobs to play a browser on
// another origin, an authenticator that does not verify the user, or a
// cloned one whose counter goes back.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

// Credential is a key pair the authenticator made for one relying party.
type Credential struct {
	ID         []byte
	Key        *ecdsa.PrivateKey
	RPID       string
	UserHandle []byte
	// SignCount is the last signature counter reported; the next
	// assertion reports one more.
	SignCount uint32
}

// Authenticator is a software authenticator with the browser around it.
// Its fields may be changed between ceremonies; it is safe for concurrent
// use otherwise.
type Authenticator struct {
	mu sync.Mutex
	// Origin is the origin the client data claims (the page's origin).
	Origin string
	// RPID, when set, is the relying party id the authenticator signs for,
	// whatever the options say (a phishing page's).
	RPID string
	// UV reports the user verified (PIN, biometrics); otherwise only
	// present.
	UV bool
	// NoCounter makes every signature counter 0 (as synced passkeys do).
	NoCounter bool
	// Backup sets the backup flags (eligible and backed up).
	Backup bool
	// AAGUID is the authenticator model reported at registration.
	AAGUID [16]byte
	creds  []*Credential
}

// New returns an authenticator on origin that verifies the user and
// counts signatures.
func New(origin string) *Authenticator {
	return &Authenticator{Origin: origin, UV: true, AAGUID: [16]byte{0xde, 0xad, 0xb0, 0x17}}
}

// Credentials lists the credentials made so far, oldest first.
func (a *Authenticator) Credentials() []*Credential {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*Credential(nil), a.creds...)
}

var b64 = base64.RawURLEncoding

// b64bytes is a base64url string in options JSON.
type b64bytes []byte

func (b *b64bytes) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	v, err := b64.DecodeString(s)
	*b = v
	return err
}

type descriptor struct {
	ID   b64bytes `json:"id"`
	Type string   `json:"type"`
}

type creationOptions struct {
	PublicKey struct {
		RP struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rp"`
		User struct {
			ID   b64bytes `json:"id"`
			Name string   `json:"name"`
		} `json:"user"`
		Challenge b64bytes `json:"challenge"`
		Params    []struct {
			Alg int `json:"alg"`
		} `json:"pubKeyCredParams"`
		Exclude []descriptor `json:"excludeCredentials"`
	} `json:"publicKey"`
}

type requestOptions struct {
	PublicKey struct {
		Challenge b64bytes     `json:"challenge"`
		RPID      string       `json:"rpId"`
		Allow     []descriptor `json:"allowCredentials"`
	} `json:"publicKey"`
}

// Flags of authenticator data.
const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
)

func (a *Authenticator) flags() byte {
	f := byte(flagUP)
	if a.UV {
		f |= flagUV
	}
	if a.Backup {
		f |= flagBE | flagBS
	}
	return f
}

func clientData(typ string, challenge []byte, origin string) []byte {
	b, _ := json.Marshal(struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{typ, b64.EncodeToString(challenge), origin, false})
	return b
}

// Create answers creation options (as the relying party sent them) with
// a new credential, the JSON of PublicKeyCredential.toJSON(). It refuses
// options without ES256, and, as browsers do, a relying party whose
// credential it already holds in excludeCredentials.
func (a *Authenticator) Create(options []byte) ([]byte, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: creation options: %w", err)
	}
	pk := o.PublicKey
	es256 := false
	for _, p := range pk.Params {
		es256 = es256 || p.Alg == -7
	}
	if !es256 || len(pk.Challenge) == 0 || pk.RP.ID == "" {
		return nil, errors.New("passkeytest: options without ES256, a challenge or an RP id")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	rpID := pk.RP.ID
	if a.RPID != "" {
		rpID = a.RPID
	}
	for _, ex := range pk.Exclude {
		for _, c := range a.creds {
			if string(c.ID) == string(ex.ID) && c.RPID == rpID {
				return nil, errors.New("passkeytest: InvalidStateError: the authenticator holds an excluded credential")
			}
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 32)
	rand.Read(id)
	c := &Credential{ID: id, Key: key, RPID: rpID, UserHandle: append([]byte(nil), pk.User.ID...), SignCount: 1}
	if a.NoCounter {
		c.SignCount = 0
	}
	cose := coseKey(&key.PublicKey)
	rpHash := sha256.Sum256([]byte(rpID))
	auth := append([]byte(nil), rpHash[:]...)
	auth = append(auth, a.flags()|flagAT)
	auth = binary.BigEndian.AppendUint32(auth, c.SignCount)
	auth = append(auth, a.AAGUID[:]...)
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(id)))
	auth = append(auth, id...)
	auth = append(auth, cose...)
	att := cborMap(
		cborText("fmt"), cborText("none"),
		cborText("attStmt"), cborMap(),
		cborText("authData"), cborBytes(auth),
	)
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	a.creds = append(a.creds, c)
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(id), "rawId": b64.EncodeToString(id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":     b64.EncodeToString(clientData("webauthn.create", pk.Challenge, a.Origin)),
			"attestationObject":  b64.EncodeToString(att),
			"authenticatorData":  b64.EncodeToString(auth),
			"publicKey":          b64.EncodeToString(spki),
			"publicKeyAlgorithm": -7,
			"transports":         []string{"internal", "hybrid"},
		},
	})
}

// Get answers request options with an assertion by the first credential
// it holds that the options allow (any of the relying party's when they
// list none: a discoverable credential), the JSON of
// PublicKeyCredential.toJSON().
func (a *Authenticator) Get(options []byte) ([]byte, error) {
	return a.GetWith(nil, options)
}

// GetWith is Get with a chosen credential (nil: as Get picks).
func (a *Authenticator) GetWith(c *Credential, options []byte) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: request options: %w", err)
	}
	pk := o.PublicKey
	a.mu.Lock()
	defer a.mu.Unlock()
	rpID := pk.RPID
	if a.RPID != "" {
		rpID = a.RPID
	}
	if c == nil {
		for _, cand := range a.creds {
			if cand.RPID != rpID && a.RPID == "" {
				continue
			}
			if len(pk.Allow) == 0 {
				c = cand
				break
			}
			for _, al := range pk.Allow {
				if string(al.ID) == string(cand.ID) {
					c = cand
				}
			}
			if c != nil {
				break
			}
		}
	}
	if c == nil {
		return nil, errors.New("passkeytest: NotAllowedError: no credential for these options")
	}
	return a.sign(c, rpID, pk.Challenge)
}

// sign makes an assertion by c over challenge for rpID. The caller holds
// a.mu.
func (a *Authenticator) sign(c *Credential, rpID string, challenge []byte) ([]byte, error) {
	var count uint32
	if !a.NoCounter {
		c.SignCount++
		count = c.SignCount
	}
	rpHash := sha256.Sum256([]byte(rpID))
	auth := append([]byte(nil), rpHash[:]...)
	auth = append(auth, a.flags())
	auth = binary.BigEndian.AppendUint32(auth, count)
	cd := clientData("webauthn.get", challenge, a.Origin)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte(nil), auth...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.Key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(c.ID), "rawId": b64.EncodeToString(c.ID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(auth),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(c.UserHandle),
		},
	})
}

// coseKey is the COSE_Key of an EC2 P-256 ES256 public key.
func coseKey(k *ecdsa.PublicKey) []byte {
	raw, _ := k.Bytes() // 0x04 || X || Y
	x, y := raw[1:33], raw[33:65]
	return cborMap(
		cborInt(1), cborInt(2), // kty: EC2
		cborInt(3), cborInt(-7), // alg: ES256
		cborInt(-1), cborInt(1), // crv: P-256
		cborInt(-2), cborBytes(x),
		cborInt(-3), cborBytes(y),
	)
}

// A little CBOR (RFC 8949), enough for attestation objects and COSE keys.

func cborHead(major byte, n uint64) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n < 1<<8:
		return []byte{major<<5 | 24, byte(n)}
	case n < 1<<16:
		return binary.BigEndian.AppendUint16([]byte{major<<5 | 25}, uint16(n))
	case n < 1<<32:
		return binary.BigEndian.AppendUint32([]byte{major<<5 | 26}, uint32(n))
	}
	return binary.BigEndian.AppendUint64([]byte{major<<5 | 27}, n)
}

func cborInt(v int64) []byte {
	if v >= 0 {
		return cborHead(0, uint64(v))
	}
	return cborHead(1, uint64(-1-v))
}

func cborBytes(b []byte) []byte { return append(cborHead(2, uint64(len(b))), b...) }
func cborText(s string) []byte  { return append(cborHead(3, uint64(len(s))), s...) }

// cborMap encodes alternating keys and values, already encoded, in the
// order given.
func cborMap(kv ...[]byte) []byte {
	out := cborHead(5, uint64(len(kv)/2))
	for _, p := range kv {
		out = append(out, p...)
	}
	return out
}
