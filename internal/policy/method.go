package policy

import (
	"time"

	"deadbolt/internal/deadbolt"
)

// MinMethod is the weakest second factor a workgroup's policy accepts once
// its deadline has passed (SPEC §14).
type MinMethod string

// The values of MinMethod, weakest first. The empty MinMethod means
// MinAny.
const (
	// MinAny accepts every second factor. It is the default.
	MinAny MinMethod = "any"
	// MinNoSMS accepts every second factor but an SMS code.
	MinNoSMS MinMethod = "no_sms"
	// MinPhishingResistant accepts only a passkey.
	MinPhishingResistant MinMethod = "phishing_resistant"
)

// The sign-in methods MinMethod weighs, as package signin names them.
const (
	// MethodPassword is a sign-in with the password alone.
	MethodPassword = "password"
	methodSMS      = "sms"
	methodPasskey  = "passkey"
)

// ParseMinMethod parses the min_method value of a policy request. The
// empty string means MinAny. Any other value than "any", "no_sms" or
// "phishing_resistant" (matched exactly) gives a *deadbolt.Error with
// deadbolt.CodeInvalidInput. It is safe for concurrent use.
func ParseMinMethod(s string) (MinMethod, error) {
	switch m := MinMethod(s); m {
	case "":
		return MinAny, nil
	case MinAny, MinNoSMS, MinPhishingResistant:
		return m, nil
	}
	return "", errorf(deadbolt.CodeInvalidInput, "min_method",
		`min_method must be "any", "no_sms" or "phishing_resistant".`)
}

// rank orders the values, weakest first; an unknown value ranks as the
// strictest (fail closed).
func (m MinMethod) rank() int {
	switch m {
	case "", MinAny:
		return 0
	case MinNoSMS:
		return 1
	}
	return 2
}

// Or returns the stricter of m and o. It is safe for concurrent use.
func (m MinMethod) Or(o MinMethod) MinMethod {
	if o.rank() > m.rank() {
		return o
	}
	return m
}

// Satisfies reports whether a sign-in completed by method meets m: every
// method meets MinAny; every method but "sms" meets MinNoSMS (the password
// alone included: whether an employee without a second factor may sign in
// is the requirement's rule, not this one's); only "passkey" meets
// MinPhishingResistant. It is safe for concurrent use.
func (m MinMethod) Satisfies(method string) bool {
	switch m.rank() {
	case 0:
		return true
	case 1:
		return method != methodSMS
	}
	return method == methodPasskey
}

// String returns the value, "any" for the empty one.
func (m MinMethod) String() string {
	if m == "" {
		return string(MinAny)
	}
	return string(m)
}

// MethodAllowed reports whether a sign-in of the employee described by s,
// completed at now by method ("password" for the password alone), meets
// the min_method that is enforced: the strictest among their workgroups'
// active policies whose deadline has passed. An exemption allows every
// method. A sign-in that does not meet it leads to a session limited to
// setting up a second factor that does. It is safe for concurrent use.
func MethodAllowed(s State, method string, now time.Time) bool {
	if s.Exempt(now) {
		return true
	}
	return s.Requirement.Enforced.Satisfies(method)
}

// needsMethod reports whether the employee still has to set up the second
// factor their policy demands, and by when: any second factor while none
// is on; a passkey while MinPhishingResistant is asked and they have none.
func needsMethod(s State) (bool, time.Time) {
	req := s.Requirement
	switch {
	case !s.TwoFactorEnabled:
		return true, req.Deadline
	case req.MinMethod == MinPhishingResistant && s.Passkeys == 0:
		return true, req.MethodDeadline
	}
	return false, time.Time{}
}
