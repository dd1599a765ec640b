package deadbolt

// SessionsEnd is what ending every session of an employee (a password
// change, log out of all devices, a deactivation, an administrator ending
// them) does to the employee's devices. The services choose it — the
// rules of SPEC §3 and §6 are the values below — and the store writes what
// it says, deciding nothing.
type SessionsEnd struct {
	// DisconnectDevices disconnects every connected device of the
	// employee: their tokens and keys stop working at once.
	DisconnectDevices bool
	// MarkDisconnected, with DisconnectDevices, records the change's time
	// as when the trusted device was disconnected
	// (User.DeviceDisconnectedAt, which the "confirm your device" banner
	// follows) — when a trusted (confirmed) device was among those
	// disconnected; otherwise nothing is recorded.
	MarkDisconnected bool
}

// The ways the product ends every session of an employee, and what each
// does to the devices.
var (
	// EndLogOutEverywhere is "Log out of all devices": it disconnects the
	// trusted device, and the employee is asked to confirm a device again.
	EndLogOutEverywhere = SessionsEnd{DisconnectDevices: true, MarkDisconnected: true}
	// EndPasswordChange is a password change (by the employee or an
	// administrator's reset): as log out of all devices.
	EndPasswordChange = SessionsEnd{DisconnectDevices: true, MarkDisconnected: true}
	// EndDeactivation is an administrator's deactivation: the device goes
	// too, and a reactivated employee is asked to confirm one again.
	EndDeactivation = SessionsEnd{DisconnectDevices: true, MarkDisconnected: true}
	// EndByAdministrator is an administrator ending the sessions alone:
	// the trusted device stays.
	EndByAdministrator = SessionsEnd{}
)
