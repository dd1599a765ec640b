package web

import (
	"net/http"

	"deadbolt/internal/accounts"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/signin"
)

func (s *server) pageAdminAuth(w http.ResponseWriter, r *http.Request) *signin.Auth {
	a := s.pageAuth(w, r)
	if a != nil && !a.User.Admin {
		s.pageError(w, r, deadbolt.Errorf(deadbolt.CodeForbidden, "Only administrators can open this page."))
		return nil
	}
	return a
}

func (s *server) adminPage(w http.ResponseWriter, r *http.Request, a *signin.Auth, status int, errMsg string) {
	users, err := s.Accounts.List(r.Context(), s.actor(r, a))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, status, "admin", &pageData{Title: "Administration", User: a.User, Users: users, Flash: flash(r), Error: errMsg})
}

func (s *server) pageAdmin(w http.ResponseWriter, r *http.Request) {
	if a := s.pageAdminAuth(w, r); a != nil {
		s.adminPage(w, r, a, http.StatusOK, "")
	}
}

func (s *server) adminFailed(w http.ResponseWriter, r *http.Request, a *signin.Auth, err error) {
	status, _ := errorBody(err)
	if status >= 500 {
		s.pageError(w, r, err)
		return
	}
	s.adminPage(w, r, a, status, deadbolt.ErrorMessage(err))
}

func (s *server) pageAdminCreateUser(w http.ResponseWriter, r *http.Request) {
	a := s.pageAdminAuth(w, r)
	if a == nil {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	_, err := s.Accounts.Create(r.Context(), s.actor(r, a), accounts.NewUser{
		Login: r.PostFormValue("login"), Name: r.PostFormValue("name"),
		Password: r.PostFormValue("password"), Admin: r.PostFormValue("admin") == "1",
	})
	if err != nil {
		s.adminFailed(w, r, a, err)
		return
	}
	http.Redirect(w, r, "/admin?msg=user_created", http.StatusSeeOther)
}

func (s *server) pageAdminSetActive(active bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a := s.pageAdminAuth(w, r)
		if a == nil {
			return
		}
		if _, err := s.Accounts.SetActive(r.Context(), s.actor(r, a), r.PathValue("id"), active); err != nil {
			s.adminFailed(w, r, a, err)
			return
		}
		http.Redirect(w, r, "/admin?msg=user_updated", http.StatusSeeOther)
	}
}
