package web

import (
	"net/http"
	"strings"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/signin"
)

type phonesView struct {
	consoleBase
	Number string
	// Searched is set once a number was looked up; Holder is nil when no
	// account holds it.
	Searched bool
	Holder   *deadbolt.User
	Masked   string
}

// phonesPage shows the phone lookup, with the holder of number when one
// is given.
func (s *server) phonesPage(w http.ResponseWriter, r *http.Request, a *signin.Auth, number string, status int, errMsg string) {
	v := &phonesView{consoleBase: s.consoleBase(r, "/admin/phones"), Number: strings.TrimSpace(number)}
	if v.Number != "" {
		svc, err := s.smsService()
		var u *deadbolt.User
		if err == nil {
			u, err = svc.Holder(r.Context(), v.Number)
		}
		switch {
		case err == nil:
			v.Searched, v.Holder, v.Masked = true, u, phoneMask(u.Phone)
		case deadbolt.IsCode(err, deadbolt.CodeNotFound):
			v.Searched = true
		default:
			st := errorStatus(err)
			if st >= 500 {
				s.pageError(w, r, err)
				return
			}
			if errMsg == "" {
				status, errMsg = st, errorText(tr(r), err)
			}
		}
	}
	s.render(w, r, status, "admin_phones", &pageData{Title: tr(r).T("console.title", "page", tr(r).T("phones.title")), User: a.User, Console: v, Flash: consoleFlash(r), Error: errMsg})
}

func (s *server) pageAdminPhones(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	s.phonesPage(w, r, a, r.URL.Query().Get("number"), http.StatusOK, "")
}
