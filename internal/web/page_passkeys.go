package web

import (
	"net/http"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/passkey"
	"deadbolt/internal/policy"
	"deadbolt/internal/signin"
)

// passkeyRow is one passkey as the Security page lists it.
type passkeyRow struct {
	ID, Name, Created, LastUsed string
	Synced, UserVerified        bool
}

// passkeysView is the Passkeys block of the Security page and the setup
// wizard.
type passkeysView struct {
	// Off says why passkeys are off ("" while they work).
	Off  string
	List []passkeyRow
	Max  int
	// Full tells that the employee has as many as allowed.
	Full bool
	// Required tells that the workgroup policy asks for a passkey.
	Required bool
}

// passkeysData fills the passkeys view of a page.
func (s *server) passkeysData(r *http.Request, a *signin.Auth) (*passkeysView, error) {
	v := &passkeysView{Max: passkey.MaxPerEmployee}
	if s.Passkeys == nil {
		v.Off = tr(r).T("passkeys.off")
		return v, nil
	}
	if err := s.Passkeys.Available(); err != nil {
		v.Off = errorText(tr(r), err)
		return v, nil
	}
	list, err := s.Passkeys.List(r.Context(), a.User)
	if err != nil {
		return nil, err
	}
	for _, p := range list {
		v.List = append(v.List, passkeyRow{ID: p.ID, Name: p.Name, Created: s.when(r, p.CreatedAt), LastUsed: s.when(r, p.LastUsedAt),
			Synced: p.BackupState, UserVerified: p.UserVerified})
	}
	v.Full = len(list) >= passkey.MaxPerEmployee
	st, err := s.policyStatus(r.Context(), a.User)
	if err != nil {
		return nil, err
	}
	v.Required = st.Required && st.State.Requirement.MinMethod == policy.MinPhishingResistant
	return v, nil
}

func (s *server) pagePasskeyRename(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if s.Passkeys == nil {
		s.pageError(w, r, deadbolt.Errorf(deadbolt.CodeNotFound, "Passkey not found."))
		return
	}
	if _, err := s.Passkeys.Rename(r.Context(), a.User, r.PathValue("id"), r.PostFormValue("name"), s.clientIP(r)); err != nil {
		s.securityFailed(w, r, a, err)
		return
	}
	http.Redirect(w, r, "/security?msg=passkey_renamed#passkeys", http.StatusSeeOther)
}

func (s *server) pagePasskeyRemove(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	if s.needFresh(w, r, a, "/security") {
		return
	}
	if s.Passkeys == nil {
		s.pageError(w, r, deadbolt.Errorf(deadbolt.CodeNotFound, "Passkey not found."))
		return
	}
	if err := s.Passkeys.Remove(r.Context(), a.User, r.PathValue("id"), s.clientIP(r)); err != nil {
		s.securityFailed(w, r, a, err)
		return
	}
	http.Redirect(w, r, "/security?msg=passkey_removed#passkeys", http.StatusSeeOther)
}

// pagePasskeyAdded is where the page's script goes once a passkey is
// registered: a second factor just turned on asks for recovery codes
// first; a session limited to setup then signs in again, with the
// passkey.
func (s *server) pagePasskeyAdded(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	u, err := s.Accounts.Self(r.Context(), a.User.ID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	a.User = u
	left, err := s.Signin.RecoveryCodesLeft(r.Context(), u)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if left == 0 && s.Signin.RequireFresh(a) == nil {
		s.showNewCodes(w, r, a)
		return
	}
	if a.Session.State == deadbolt.SessionSetup {
		if err := s.Signin.Logout(r.Context(), a, s.client(r)); err != nil {
			s.pageError(w, r, err)
			return
		}
		s.clearSessionCookie(w)
		http.Redirect(w, r, "/login?msg=passkey_signin", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/security?msg=passkey_added#passkeys", http.StatusSeeOther)
}
