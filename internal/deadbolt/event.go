package deadbolt

// Event types of the audit log. Each names what happened, past tense.
const (
	EventSignIn            = "signin.success"
	EventSignInFailed      = "signin.failure"
	EventSecondFactorStep  = "signin.second_factor_required"
	EventSecondFactorFail  = "signin.second_factor_failure"
	EventSecondFactorLock  = "signin.second_factor_locked"
	EventCaptchaShown      = "signin.captcha_required"
	EventLogout            = "logout"
	EventLogoutAll         = "logout.all"
	EventSessionEnded      = "session.ended"
	EventPasswordChanged   = "password.changed"
	EventReauth            = "reauth"
	EventDeviceDisconnect  = "device.disconnected"
	EventDevicePaired      = "device.paired"
	EventDeviceConfirmed   = "device.confirmed"
	EventDeviceRemoved     = "device.removed"
	EventRecoveryGenerated = "recovery_codes.generated"
	EventRecoveryVoided    = "recovery_codes.voided"
	EventPushDenied        = "push.denied"
	EventPushReported      = "push.reported"
	EventPhoneLinked       = "phone.linked"
	EventPhoneRemoved      = "phone.removed"
	EventBanner            = "banner.action"

	// Passkeys.
	EventPasskeyAdded   = "passkey.added"
	EventPasskeyRemoved = "passkey.removed"
	EventPasskeyRenamed = "passkey.renamed"
	// EventPasskeyCounter: an assertion's signature counter did not move
	// forward (a cloned authenticator?); the assertion was refused.
	EventPasskeyCounter = "passkey.counter_regressed"

	EventAdminUserCreated     = "admin.user_created"
	EventAdminUserDeactivated = "admin.user_deactivated"
	EventAdminUserActivated   = "admin.user_activated"
	EventAdminPasswordReset   = "admin.password_reset"
	EventAdminSessionsEnded   = "admin.sessions_ended"
	EventAdminTwoFactorReset  = "admin.two_factor_reset"
	EventAdminUnlocked        = "admin.unlocked"
	EventAdminExempted        = "admin.exempted"
	EventAdminPhoneRemoved    = "admin.phone_removed"

	// Workgroups and the two-factor policy.
	EventSetupRequired         = "signin.setup_required"
	EventAdminWorkgroupCreated = "admin.workgroup_created"
	EventAdminWorkgroupRenamed = "admin.workgroup_renamed"
	EventAdminWorkgroupDeleted = "admin.workgroup_deleted"
	EventAdminMemberAdded      = "admin.workgroup_member_added"
	EventAdminMemberRemoved    = "admin.workgroup_member_removed"
	EventAdminPolicyChanged    = "admin.policy_changed"
	EventAdminExemptionEnded   = "admin.exemption_ended"

	// Employees' profiles.
	EventAdminUserUpdated = "admin.user_updated"

	// Applications and access to them.
	EventAdminAppCreated       = "admin.app_created"
	EventAdminAppUpdated       = "admin.app_updated"
	EventAdminAppDeleted       = "admin.app_deleted"
	EventAdminAppSecretRotated = "admin.app_secret_rotated"
	EventAppAccessGranted      = "app.access_granted"
	EventAppAccessDenied       = "app.access_denied"
)
