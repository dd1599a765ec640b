package web

import (
	"math"
	"net/http"
	"net/url"
	"time"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/i18n"
	"deadbolt/internal/policy"
	"deadbolt/internal/signin"
	"deadbolt/internal/workgroups"
)

// policySummary is a workgroup's policy at now in a few words, for lists.
func policySummary(l *i18n.Locale, p deadbolt.WorkgroupPolicy, now time.Time, loc *time.Location) string {
	pp := workgroups.PolicyOf(p)
	switch {
	case p.Paused:
		return l.T("policy.sum.off")
	case !p.PausedUntil.IsZero() && now.Before(p.PausedUntil):
		return l.T("policy.sum.off_until", "time", l.DateTime(p.PausedUntil, loc))
	case !pp.Active(now):
		return l.T("policy.sum.not_required")
	case p.Deadline.IsZero():
		return l.T("policy.sum.no_deadline")
	case now.Before(p.Deadline):
		return l.T("policy.sum.by", "time", l.DateTime(p.Deadline, loc))
	}
	return l.T("policy.sum.passed", "time", l.DateTime(p.Deadline, loc))
}

// policyWords describes a workgroup's policy at now in sentences: what
// its members without two-factor authentication see, and from when.
func policyWords(l *i18n.Locale, p deadbolt.WorkgroupPolicy, now time.Time, loc *time.Location) []string {
	out := requirementWords(l, p, now, loc)
	if !p.Required && p.PausedUntil.IsZero() || p.Paused {
		return out
	}
	switch policy.MinMethod(p.MinMethod) {
	case policy.MinNoSMS:
		out = append(out, l.T("policy.min.no_sms"))
	case policy.MinPhishingResistant:
		out = append(out, l.T("policy.min.passkey"))
	}
	return out
}

// requirementWords is policyWords without min_method.
func requirementWords(l *i18n.Locale, p deadbolt.WorkgroupPolicy, now time.Time, loc *time.Location) []string {
	pp := workgroups.PolicyOf(p)
	at := func(t time.Time) string { return l.DateTime(t, loc) }
	overdue := l.T("policy.overdue.banner")
	if pp.AfterDeadline == policy.AfterDeadlineBlock {
		overdue = l.T("policy.overdue.block")
	}
	closable := l.T("policy.closable")
	switch {
	case p.Paused:
		out := []string{l.T("policy.off")}
		if !p.Deadline.IsZero() {
			out = append(out, l.T("policy.off.deadline_kept", "time", at(p.Deadline)))
		}
		return out
	case !p.PausedUntil.IsZero() && now.Before(p.PausedUntil):
		out := []string{l.T("policy.off_until", "time", at(p.PausedUntil), "in", until(l, p.PausedUntil.Sub(now)))}
		switch {
		case p.Deadline.IsZero():
			out = append(out, l.T("policy.no_deadline"), closable)
		case p.Deadline.After(p.PausedUntil):
			out = append(out, l.T("policy.deadline_is", "time", at(p.Deadline)))
		default:
			out = append(out, l.T("policy.deadline_will_pass", "time", at(p.Deadline)), overdue, l.T("policy.extend"))
		}
		return out
	case !pp.Active(now):
		return []string{l.T("policy.not_required")}
	case p.Deadline.IsZero():
		return []string{l.T("policy.required_no_deadline"), closable}
	case now.Before(p.Deadline):
		return []string{l.T("policy.required_by", "time", at(p.Deadline), "in", until(l, p.Deadline.Sub(now))), closable,
			l.T("policy.after_deadline"), overdue}
	}
	return []string{l.T("policy.passed", "time", at(p.Deadline)), overdue}
}

// until says how far ahead a positive duration reaches, roughly.
func until(l *i18n.Locale, d time.Duration) string {
	switch {
	case d < time.Hour:
		return l.T("policy.in_less_than_hour")
	case d < 48*time.Hour:
		return l.T("policy.in_hours", "n", int(d/time.Hour))
	}
	return l.T("policy.in_days", "n", int(math.Round(float64(d)/float64(24*time.Hour))))
}

type workgroupRow struct {
	ID, Name, Policy string
	Members          int
}

type workgroupsView struct {
	consoleBase
	Rows []workgroupRow
	Name string
}

func (s *server) workgroupsPage(w http.ResponseWriter, r *http.Request, a *signin.Auth, status int, errMsg string) {
	svc, err := s.workgroupsService()
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	list, err := svc.List(r.Context(), s.actor(r, a))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	now, loc, l := s.Clock.Now(), s.orgLocation(), tr(r)
	v := &workgroupsView{consoleBase: s.consoleBase(r, "/admin/workgroups")}
	for _, wg := range list {
		v.Rows = append(v.Rows, workgroupRow{ID: wg.ID, Name: wg.Name, Members: wg.Members, Policy: policySummary(l, wg.Policy, now, loc)})
	}
	if r.Method == http.MethodPost {
		v.Name = r.PostFormValue("name")
	}
	s.render(w, r, status, "admin_workgroups", &pageData{Title: l.T("console.title", "page", l.T("workgroups.title")), User: a.User, Console: v, Flash: consoleFlash(r), Error: errMsg})
}

func (s *server) pageAdminWorkgroups(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	s.workgroupsPage(w, r, a, http.StatusOK, "")
}

func (s *server) pageAdminCreateWorkgroup(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	svc, err := s.workgroupsService()
	var wg *deadbolt.Workgroup
	if err == nil {
		wg, err = svc.Create(r.Context(), s.actor(r, a), r.PostFormValue("name"))
	}
	if err != nil {
		s.consoleFailed(w, r, err, func(status int, m string) { s.workgroupsPage(w, r, a, status, m) })
		return
	}
	http.Redirect(w, r, "/admin/workgroups/"+url.PathEscape(wg.ID)+"?msg=workgroup_created", http.StatusSeeOther)
}

// policyForm is what the policy form shows: the stored policy, or what
// was sent when it was refused.
type policyForm struct {
	Required                   bool
	DeadlineDate, DeadlineTime string
	After                      string // banner, block
	MinMethod                  string // any, no_sms, phishing_resistant
	Pause                      string // none, until, off
	PausedUntilDate            string
}

func policyFormOf(p deadbolt.WorkgroupPolicy, loc *time.Location) policyForm {
	f := policyForm{Required: p.Required, After: cmpOr(p.AfterDeadline, string(policy.AfterDeadlineBanner)),
		MinMethod: policy.MinMethod(p.MinMethod).String(), Pause: "none"}
	if !p.Deadline.IsZero() {
		d := p.Deadline.In(loc)
		f.DeadlineDate, f.DeadlineTime = d.Format(time.DateOnly), d.Format("15:04")
	}
	switch {
	case p.Paused:
		f.Pause = "off"
	case !p.PausedUntil.IsZero():
		f.Pause, f.PausedUntilDate = "until", p.PausedUntil.In(loc).Format(time.DateOnly)
	}
	return f
}

func policyFormPosted(r *http.Request) policyForm {
	return policyForm{
		Required:     r.PostFormValue("required") == "1",
		DeadlineDate: r.PostFormValue("deadline_date"), DeadlineTime: r.PostFormValue("deadline_time"),
		After: r.PostFormValue("after_deadline"), Pause: cmpOr(r.PostFormValue("pause"), "none"),
		MinMethod:       r.PostFormValue("min_method"),
		PausedUntilDate: r.PostFormValue("paused_until_date"),
	}
}

// policy reads the form into a policy, times in loc. Errors are
// CodeInvalidInput naming the field.
func (f policyForm) policy(loc *time.Location) (policy.Policy, error) {
	p := policy.Policy{Required: f.Required}
	after, err := policy.ParseAfterDeadline(f.After)
	if err != nil {
		return p, formError("after_deadline", "Choose what happens after the deadline.")
	}
	p.AfterDeadline = after
	if p.MinMethod, err = policy.ParseMinMethod(f.MinMethod); err != nil {
		return p, formError("min_method", "Choose which second factors count after the deadline.")
	}
	if p.Deadline, err = parseLocalDateTime("deadline", deadbolt.Phrase("The deadline"), f.DeadlineDate, f.DeadlineTime, loc); err != nil {
		return p, err
	}
	switch f.Pause {
	case "none":
	case "off":
		p.Paused = true
	case "until":
		if p.PausedUntil, err = parseLocalDateTime("paused_until", deadbolt.Phrase("The date it comes back on"), f.PausedUntilDate, "", loc); err != nil {
			return p, err
		}
		if p.PausedUntil.IsZero() {
			return p, formError("paused_until", "Choose the date the requirement comes back on.")
		}
	default:
		return p, formError("pause", "Choose whether the requirement is on or turned off.")
	}
	return p, nil
}

type memberRow struct {
	ID, Login, Name, Exempt string
	TwoFactor, Active       bool
}

type workgroupView struct {
	consoleBase
	W        *deadbolt.Workgroup
	State    []string
	Form     policyForm
	Members  []memberRow
	WithTwoF int
	Updated  string
	Now      string
	Rename   string
	AddLogin string
}

func (s *server) workgroupPage(w http.ResponseWriter, r *http.Request, a *signin.Auth, id string, status int, errMsg string, form *policyForm) {
	svc, err := s.workgroupsService()
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	ctx, actor := r.Context(), s.actor(r, a)
	wg, err := svc.Get(ctx, actor, id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	members, err := svc.Members(ctx, actor, wg.ID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	now, loc, l := s.Clock.Now(), s.orgLocation(), tr(r)
	v := &workgroupView{consoleBase: s.consoleBase(r, "/admin/workgroups"), W: wg, State: policyWords(l, wg.Policy, now, loc),
		Form: policyFormOf(wg.Policy, loc), Updated: l.DateTime(wg.Policy.UpdatedAt, loc), Now: l.DateTime(now, loc), Rename: wg.Name}
	if form != nil {
		v.Form = *form
	}
	for _, u := range members {
		m := memberRow{ID: u.ID, Login: u.Login, Name: u.Name, TwoFactor: u.TwoFactorEnabled(), Active: u.Active}
		if u.ExemptUntil.After(now) {
			m.Exempt = l.DateTime(u.ExemptUntil, loc)
		}
		if m.TwoFactor {
			v.WithTwoF++
		}
		v.Members = append(v.Members, m)
	}
	if r.Method == http.MethodPost {
		if n := r.PostFormValue("name"); n != "" {
			v.Rename = n
		}
		v.AddLogin = r.PostFormValue("login")
	}
	s.render(w, r, status, "admin_workgroup", &pageData{Title: l.T("console.title", "page", wg.Name), User: a.User, Console: v, Flash: consoleFlash(r), Error: errMsg})
}

func (s *server) pageAdminWorkgroup(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	s.workgroupPage(w, r, a, r.PathValue("id"), http.StatusOK, "", nil)
}

// workgroupAction is a POST on a workgroup's page: do returns the message
// key to redirect with, or an error to show on the page (with the policy
// form as sent, for the policy form).
func (s *server) workgroupAction(policyPost bool, do func(r *http.Request, a *signin.Auth, svc *workgroups.Service, id string) (string, error)) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		id := r.PathValue("id")
		svc, err := s.workgroupsService()
		msg := ""
		if err == nil {
			err = r.ParseForm()
		}
		if err == nil {
			msg, err = do(r, a, svc, id)
		}
		if err != nil {
			s.consoleFailed(w, r, err, func(status int, m string) {
				var form *policyForm
				if policyPost {
					f := policyFormPosted(r)
					form = &f
				}
				s.workgroupPage(w, r, a, id, status, m, form)
			})
			return
		}
		if msg == "workgroup_deleted" {
			http.Redirect(w, r, "/admin/workgroups?msg="+msg, http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/admin/workgroups/"+url.PathEscape(id)+"?msg="+msg, http.StatusSeeOther)
	}
}

func (s *server) pageAdminRenameWorkgroup() pageHandler {
	return s.workgroupAction(false, func(r *http.Request, a *signin.Auth, svc *workgroups.Service, id string) (string, error) {
		_, err := svc.Rename(r.Context(), s.actor(r, a), id, r.PostFormValue("name"))
		return "workgroup_renamed", err
	})
}

func (s *server) pageAdminDeleteWorkgroup() pageHandler {
	return s.workgroupAction(false, func(r *http.Request, a *signin.Auth, svc *workgroups.Service, id string) (string, error) {
		if !confirmed(r) {
			return "", errNotConfirmed
		}
		return "workgroup_deleted", svc.Delete(r.Context(), s.actor(r, a), id)
	})
}

func (s *server) pageAdminAddMember() pageHandler {
	return s.workgroupAction(false, func(r *http.Request, a *signin.Auth, svc *workgroups.Service, id string) (string, error) {
		login := deadbolt.NormalizeLogin(r.PostFormValue("login"))
		if login == "" {
			return "", formError("login", "Type the login of the employee to add.")
		}
		added, _, err := svc.AddMember(r.Context(), s.actor(r, a), id, login)
		if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
			// The workgroup exists (the page was shown): it is the login.
			if _, werr := svc.Get(r.Context(), s.actor(r, a), id); werr == nil {
				return "", deadbolt.Errorf(deadbolt.CodeNotFound, "There is no employee with the login %s.", login)
			}
		}
		if err != nil {
			return "", err
		}
		if !added {
			return "member_already", nil
		}
		return "member_added", nil
	})
}

func (s *server) pageAdminRemoveMember() pageHandler {
	return s.workgroupAction(false, func(r *http.Request, a *signin.Auth, svc *workgroups.Service, id string) (string, error) {
		return "member_removed", svc.RemoveMember(r.Context(), s.actor(r, a), id, r.PathValue("user_id"))
	})
}

func (s *server) pageAdminSetPolicy() pageHandler {
	return s.workgroupAction(true, func(r *http.Request, a *signin.Auth, svc *workgroups.Service, id string) (string, error) {
		p, err := policyFormPosted(r).policy(s.orgLocation())
		if err != nil {
			return "", err
		}
		_, err = svc.SetPolicy(r.Context(), s.actor(r, a), id, p)
		return "policy_saved", err
	})
}
