package deadbolt

import (
	"context"
	"time"
)

// Passkey is a WebAuthn credential an employee registered (SPEC §14): the
// credential record the ceremonies check assertions against.
type Passkey struct {
	// ID is our identifier of the record (NewID), used in the API.
	ID     string
	UserID string
	// CredentialID is the authenticator's credential id (raw bytes),
	// unique across all employees.
	CredentialID []byte
	// PublicKey is the credential public key, COSE encoded.
	PublicKey []byte
	// SignCount is the last signature counter seen; it only moves forward
	// (0 for authenticators that do not count).
	SignCount int64
	// AAGUID identifies the authenticator model (16 bytes; zero for
	// synced or anonymous ones).
	AAGUID []byte
	// BackupEligible and BackupState are the BE and BS flags: whether the
	// credential may be synced, and whether it is.
	BackupEligible bool
	BackupState    bool
	// UserVerified is whether the registration verified the user.
	UserVerified bool
	// Transports are the authenticator's transports as reported
	// ("internal", "usb", "hybrid", …).
	Transports []string
	// AttestationFormat is the attestation statement format ("none", …).
	AttestationFormat string
	// Name is what the employee called it.
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used
}

// PasskeyChallenge is the server's half of a WebAuthn ceremony in flight:
// the challenge sent to the browser and the ceremony's data, kept in the
// store so that any node can finish what another began. A challenge works
// once and for a few minutes.
type PasskeyChallenge struct {
	ID string
	// Challenge is the challenge as sent (base64url), unique.
	Challenge string
	// Purpose binds the challenge to what it may prove: registration for a
	// session, a second factor for a pending sign-in, a fresh proof for a
	// session, or a sign-in without a login.
	Purpose string
	// UserID is the employee the ceremony is for, "" for a sign-in
	// without a login.
	UserID string
	// Ceremony is the ceremony's own data (JSON), opaque to the store.
	Ceremony  []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// PasskeyUse is what a verified passkey assertion changes when the sign-in
// (or fresh proof) it proves is committed: the credential's counter moves
// to SignCount — only forward, or from 0 to 0 for authenticators without a
// counter — its backup state is recorded and it is marked used.
type PasskeyUse struct {
	ID          string
	SignCount   int64
	BackupState bool
}

// PasskeyStore persists passkeys and the challenges of WebAuthn
// ceremonies. Adding and removing a passkey are factor changes
// (FactorChange.AddPasskey, RemovePasskeyID).
type PasskeyStore interface {
	// Passkeys lists the user's passkeys, oldest first (none, and no
	// error, for an unknown user).
	Passkeys(ctx context.Context, userID string) ([]*Passkey, error)
	// PasskeyByCredentialID returns the passkey with the raw credential
	// id; CodeNotFound when none has it.
	PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*Passkey, error)
	// RenamePasskey renames the passkey id of userID; CodeNotFound when
	// the user has no such passkey.
	RenamePasskey(ctx context.Context, userID, id, name string) error
	// SavePasskeyChallenge stores c (ID set by the caller); a challenge
	// already stored is CodeConflict.
	SavePasskeyChallenge(ctx context.Context, c *PasskeyChallenge) error
	// DeleteExpiredPasskeyChallenges deletes every challenge, used or
	// not, that expired before before, and returns how many it deleted.
	DeleteExpiredPasskeyChallenges(ctx context.Context, before time.Time) (int64, error)
	// ConsumePasskeyChallenge marks the unused, unexpired challenge with
	// that challenge text and purpose used and returns it, in one atomic
	// statement; CodeNotFound otherwise (of many racing, one wins).
	ConsumePasskeyChallenge(ctx context.Context, challenge, purpose string, now time.Time) (*PasskeyChallenge, error)
}

// PasskeyAssertion is what checking a passkey assertion found.
type PasskeyAssertion struct {
	// OK reports whether the assertion is right.
	OK bool
	// Passkey is the employee's passkey that made it (when OK).
	Passkey *Passkey
	// UserVerified is the assertion's UV flag: the authenticator verified
	// the user (PIN, biometrics), not only their presence.
	UserVerified bool
	// Use is what committing the proof changes (when OK).
	Use PasskeyUse
	// Reason says why a wrong assertion is wrong, for the audit log only.
	Reason string
}
