package web

import (
	"net/http"
	"time"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/signin"
)

func secondsUp(d time.Duration) int {
	s := int(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return s
}

// pageSendLoginSMS sends a sign-in code for the pending session.
func (s *server) pageSendLoginSMS(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	svc, err := s.smsService()
	if err == nil {
		err = s.Signin.RequireUnlocked(r.Context(), a.User.ID)
	}
	var to string
	var resend time.Duration
	if err == nil {
		to, resend, err = svc.SendLogin(r.Context(), a.User, a.Session.ID, s.clientIP(r))
	}
	if err != nil {
		status := errorStatus(err)
		s.verifyPageWith(w, r, a, signin.MethodSMS, status, errorText(tr(r), err), nil)
		return
	}
	s.verifyPageWith(w, r, a, signin.MethodSMS, http.StatusOK, "", func(d *pageData) {
		d.SentTo, d.ResendAfter = to, secondsUp(resend)
	})
}

func (s *server) phonePage(w http.ResponseWriter, r *http.Request, a *signin.Auth, status int, d *pageData) {
	d.Title, d.User, d.SMSAvailable = tr(r).T("phone.page_title"), a.User, s.smsAvailable()
	s.render(w, r, status, "phone", d)
}

func (s *server) pagePhone(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	if s.needFresh(w, r, a, "/security/phone") {
		return
	}
	s.phonePage(w, r, a, http.StatusOK, &pageData{})
}

func (s *server) pagePhoneSubmit(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	if s.needFresh(w, r, a, "/security/phone") {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	input := r.PostFormValue("phone")
	svc, err := s.smsService()
	var to string
	var resend time.Duration
	if err == nil {
		to, resend, err = svc.StartLink(r.Context(), a.User, input, s.clientIP(r))
	}
	if err != nil {
		status := errorStatus(err)
		if status >= 500 && !deadbolt.IsCode(err, deadbolt.CodeUnavailable) {
			s.pageError(w, r, err)
			return
		}
		s.phonePage(w, r, a, status, &pageData{Error: errorText(tr(r), err), PhoneInput: input})
		return
	}
	s.phonePage(w, r, a, http.StatusOK, &pageData{SentTo: to, ResendAfter: secondsUp(resend)})
}

func (s *server) pagePhoneConfirm(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	if s.needFresh(w, r, a, "/security/phone") {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	svc, err := s.smsService()
	if err == nil {
		_, err = svc.ConfirmLink(r.Context(), a.User, r.PostFormValue("code"), s.clientIP(r))
	}
	if err != nil {
		status := errorStatus(err)
		if status >= 500 && !deadbolt.IsCode(err, deadbolt.CodeUnavailable) {
			s.pageError(w, r, err)
			return
		}
		s.phonePage(w, r, a, status, &pageData{Error: errorText(tr(r), err), SentTo: tr(r).T("phone.your_phone")})
		return
	}
	http.Redirect(w, r, "/security?msg=phone_linked", http.StatusSeeOther)
}

func (s *server) pagePhoneRemove(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	if s.needFresh(w, r, a, "/security/phone/remove") {
		return
	}
	svc, err := s.smsService()
	if err == nil {
		err = svc.Remove(r.Context(), a.User, s.clientIP(r))
	}
	if err != nil {
		s.securityFailed(w, r, a, err)
		return
	}
	http.Redirect(w, r, "/security?msg=phone_removed", http.StatusSeeOther)
}
