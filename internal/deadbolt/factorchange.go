package deadbolt

import "time"

// DeviceDisconnect says which of an employee's connected devices a
// FactorChange disconnects.
type DeviceDisconnect int

// What a FactorChange disconnects.
const (
	// DisconnectNone leaves every device as it is.
	DisconnectNone DeviceDisconnect = iota
	// DisconnectOthers disconnects every connected device of the user but
	// ConfirmDeviceID.
	DisconnectOthers
	// DisconnectAll disconnects every connected device of the user.
	DisconnectAll
)

// TwoFactorSwitch says what a FactorChange does to the user's
// TwoFactorSince.
type TwoFactorSwitch int

// What a FactorChange does to the second factor.
const (
	// TwoFactorKeep leaves TwoFactorSince as it is.
	TwoFactorKeep TwoFactorSwitch = iota
	// TwoFactorOn sets TwoFactorSince to Now unless it is already set.
	TwoFactorOn
	// TwoFactorOff clears TwoFactorSince.
	TwoFactorOff
)

// FactorChange is a change to one employee's second factors, built by the
// service that owns the rule (the device service when a pairing is
// confirmed or the employee unpairs, the account service for an
// administrator's reset) and written by FactorStore.ChangeFactors in one
// transaction. Each field is a plain change the store makes as written,
// deciding nothing, in this order:
//
//  0. Guard, if set: the guarded counter is deleted first — only while the
//     guard allows it (as a Completion's guard); when it does not, nothing
//     changes and the answer is CodeLocked; then AdminRule, if set,
//     decides (see AdminRule) — its error is the answer, changing nothing;
//  1. the user's row: updated at Now; TwoFactor, ClearDeviceDisconnected
//     and ClearLastConfirmed applied; with EndSessions the session epoch
//     grows by one (a missing user is CodeNotFound, changing nothing);
//  2. ConfirmDeviceID, if set: that device of the user is confirmed at
//     Now, only while it is still unconfirmed and connected — otherwise
//     nothing changes and the answer is CodeNotFound;
//  3. TOTPStep, if > 0: the user's last used TOTP step moves to TOTPStep
//     only if TOTPStep is greater — otherwise nothing changes and the
//     result is not Applied (the code was used already);
//  4. Disconnect: those devices are disconnected at Now;
//  5. DeleteRecoveryCodes: every recovery code of the user is deleted;
//  6. EndSessions: every session of the user is deleted;
//  7. AddPasskey, if set, is inserted — only while the user has fewer
//     than MaxPasskeys passkeys, otherwise nothing changes and the answer
//     is CodeLimitReached; a credential id already registered (by anyone)
//     is CodeConflict, changing nothing;
//  8. RemovePasskeyID, if set: that passkey of the user is deleted — a
//     passkey the user does not have is CodeNotFound, changing nothing;
//     DeletePasskeys deletes every passkey of the user;
//  9. Events are appended to the audit log (their IDs filled in).
type FactorChange struct {
	UserID string
	Now    time.Time

	TwoFactor               TwoFactorSwitch
	ClearDeviceDisconnected bool
	ClearLastConfirmed      bool

	ConfirmDeviceID string
	TOTPStep        int64

	Disconnect          DeviceDisconnect
	DeleteRecoveryCodes bool
	EndSessions         bool

	AddPasskey      *Passkey
	MaxPasskeys     int
	RemovePasskeyID string
	DeletePasskeys  bool

	Events []*Event

	Guard     *CounterGuard
	AdminRule AdminRule
}

// FactorChangeResult is what a FactorChange did.
type FactorChangeResult struct {
	// Applied is false when the TOTP step was already used; then nothing
	// changed.
	Applied bool
	// VoidedRecoveryCodes counts the unused recovery codes that were
	// deleted.
	VoidedRecoveryCodes int
	// DisconnectedTrusted reports whether a confirmed device was among the
	// devices disconnected.
	DisconnectedTrusted bool
}
