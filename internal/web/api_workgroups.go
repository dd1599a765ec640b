package web

import (
	"context"
	"net/http"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/policy"
	"deadbolt/internal/signin"
	"deadbolt/internal/workgroups"
)

// workgroupsService returns the workgroup service, or CodeUnavailable when
// the server runs without one.
func (s *server) workgroupsService() (*workgroups.Service, error) {
	if s.Workgroups == nil {
		return nil, deadbolt.Errorf(deadbolt.CodeUnavailable, "Workgroups are not available.")
	}
	return s.Workgroups, nil
}

func policyJSON(p deadbolt.WorkgroupPolicy) map[string]any {
	after := p.AfterDeadline
	if after == "" {
		after = string(policy.AfterDeadlineBanner)
	}
	return map[string]any{
		"required":       p.Required,
		"deadline":       timeJSON(p.Deadline),
		"paused_until":   timeJSON(p.PausedUntil),
		"paused":         p.Paused,
		"after_deadline": after,
		"min_method":     policy.MinMethod(p.MinMethod).String(),
		"updated_at":     timeJSON(p.UpdatedAt),
	}
}

func workgroupJSON(w *deadbolt.Workgroup) map[string]any {
	return map[string]any{
		"id":           w.ID,
		"name":         w.Name,
		"created_at":   timeJSON(w.CreatedAt),
		"member_count": w.Members,
		"policy":       policyJSON(w.Policy),
	}
}

// memberJSON is an employee as the workgroup views show them: with their
// second factor and exemption, which is what an administrator checks there.
func memberJSON(u *deadbolt.User) map[string]any {
	m := userJSON(u)
	m["two_factor_enabled"] = u.TwoFactorEnabled()
	m["exempt_until"] = timeJSON(u.ExemptUntil)
	return m
}

func membersJSON(list []*deadbolt.User) []any {
	out := make([]any, 0, len(list))
	for _, u := range list {
		out = append(out, memberJSON(u))
	}
	return out
}

func (s *server) apiListWorkgroups(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.workgroupsService()
	if err != nil {
		return err
	}
	list, err := svc.List(r.Context(), s.actor(r, a))
	if err != nil {
		return err
	}
	out := make([]any, 0, len(list))
	for _, wg := range list {
		out = append(out, workgroupJSON(wg))
	}
	writeJSON(w, http.StatusOK, map[string]any{"workgroups": out})
	return nil
}

type workgroupRequest struct {
	Name string `json:"name"`
}

func (s *server) apiCreateWorkgroup(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.workgroupsService()
	if err != nil {
		return err
	}
	var req workgroupRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	wg, err := svc.Create(r.Context(), s.actor(r, a), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, workgroupJSON(wg))
	return nil
}

// workgroupWithMembers answers one workgroup with its members.
func (s *server) workgroupWithMembers(w http.ResponseWriter, r *http.Request, a *signin.Auth, svc *workgroups.Service, wg *deadbolt.Workgroup) error {
	members, err := svc.Members(r.Context(), s.actor(r, a), wg.ID)
	if err != nil {
		return err
	}
	m := workgroupJSON(wg)
	m["member_count"] = len(members)
	m["members"] = membersJSON(members)
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *server) apiGetWorkgroup(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.workgroupsService()
	if err != nil {
		return err
	}
	wg, err := svc.Get(r.Context(), s.actor(r, a), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.workgroupWithMembers(w, r, a, svc, wg)
}

func (s *server) apiRenameWorkgroup(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.workgroupsService()
	if err != nil {
		return err
	}
	var req workgroupRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	wg, err := svc.Rename(r.Context(), s.actor(r, a), r.PathValue("id"), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, workgroupJSON(wg))
	return nil
}

func (s *server) apiDeleteWorkgroup(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.workgroupsService()
	if err != nil {
		return err
	}
	if err := svc.Delete(r.Context(), s.actor(r, a), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

func (s *server) apiWorkgroupMembers(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.workgroupsService()
	if err != nil {
		return err
	}
	list, err := svc.Members(r.Context(), s.actor(r, a), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": membersJSON(list)})
	return nil
}

type memberRequest struct {
	UserID string `json:"user_id"`
}

// apiAddWorkgroupMember answers 201 with the member when added, 200 when
// the employee was a member already.
func (s *server) apiAddWorkgroupMember(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.workgroupsService()
	if err != nil {
		return err
	}
	var req memberRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if req.UserID == "" {
		return deadbolt.Errorf(deadbolt.CodeInvalidInput, "user_id is required.")
	}
	added, u, err := svc.AddMember(r.Context(), s.actor(r, a), r.PathValue("id"), req.UserID)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if added {
		status = http.StatusCreated
	}
	m := memberJSON(u)
	m["added"] = added
	writeJSON(w, status, m)
	return nil
}

func (s *server) apiRemoveWorkgroupMember(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.workgroupsService()
	if err != nil {
		return err
	}
	if err := svc.RemoveMember(r.Context(), s.actor(r, a), r.PathValue("id"), r.PathValue("user_id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

// policyRequest is the body of PUT …/policy: the whole policy, replaced.
// required must be given; absent or null times mean none.
type policyRequest struct {
	Required      *bool   `json:"required"`
	Deadline      *string `json:"deadline"`
	PausedUntil   *string `json:"paused_until"`
	Paused        *bool   `json:"paused"`
	AfterDeadline *string `json:"after_deadline"`
	MinMethod     *string `json:"min_method"`
}

func (req policyRequest) policy() (policy.Policy, error) {
	if req.Required == nil {
		e := deadbolt.Errorf(deadbolt.CodeInvalidInput, "required must be true or false.")
		e.Extra = map[string]any{"field": "required"}
		return policy.Policy{}, e
	}
	p := policy.Policy{Required: *req.Required}
	if req.Paused != nil {
		p.Paused = *req.Paused
	}
	if req.AfterDeadline != nil {
		p.AfterDeadline = policy.AfterDeadline(*req.AfterDeadline)
	}
	if req.MinMethod != nil {
		p.MinMethod = policy.MinMethod(*req.MinMethod)
	}
	var err error
	if req.Deadline != nil {
		if p.Deadline, err = workgroups.ParseTime("deadline", *req.Deadline); err != nil {
			return p, err
		}
	}
	if req.PausedUntil != nil {
		if p.PausedUntil, err = workgroups.ParseTime("paused_until", *req.PausedUntil); err != nil {
			return p, err
		}
	}
	return p, nil
}

func (s *server) apiSetWorkgroupPolicy(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.workgroupsService()
	if err != nil {
		return err
	}
	var req policyRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	p, err := req.policy()
	if err != nil {
		return err
	}
	wg, err := svc.SetPolicy(r.Context(), s.actor(r, a), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, workgroupJSON(wg))
	return nil
}

type exemptRequest struct {
	Until string `json:"until"`
}

func (s *server) apiExemptUser(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.workgroupsService()
	if err != nil {
		return err
	}
	var req exemptRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if req.Until == "" {
		e := deadbolt.Errorf(deadbolt.CodeInvalidInput, "until is required; to end an exemption, DELETE it.")
		e.Extra = map[string]any{"field": "until"}
		return e
	}
	until, err := workgroups.ParseTime("until", req.Until)
	if err != nil {
		return err
	}
	u, err := svc.Exempt(r.Context(), s.actor(r, a), r.PathValue("id"), until)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, memberJSON(u))
	return nil
}

func (s *server) apiEndExemption(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.workgroupsService()
	if err != nil {
		return err
	}
	u, err := svc.EndExemption(r.Context(), s.actor(r, a), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, memberJSON(u))
	return nil
}

func (s *server) apiUserWorkgroups(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.workgroupsService()
	if err != nil {
		return err
	}
	list, err := svc.UserWorkgroups(r.Context(), s.actor(r, a), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]any, 0, len(list))
	for _, wg := range list {
		out = append(out, workgroupJSON(wg))
	}
	writeJSON(w, http.StatusOK, map[string]any{"workgroups": out})
	return nil
}

// policyStatus is what the two-factor policy asks of the employee now.
// Without a workgroup service nothing is required, and the banners follow
// from the employee's own factors alone.
func (s *server) policyStatus(ctx context.Context, u *deadbolt.User) (workgroups.Status, error) {
	if s.Workgroups != nil {
		return s.Workgroups.Status(ctx, u)
	}
	left, err := s.Signin.RecoveryCodesLeft(ctx, u)
	if err != nil {
		return workgroups.Status{}, err
	}
	now := s.Clock.Now()
	st := policy.State{
		TwoFactorEnabled: u.TwoFactorEnabled(), TwoFactorSince: u.TwoFactorSince,
		LastConfirmedAt: u.LastConfirmedAt, DeviceDisconnectedAt: u.DeviceDisconnectedAt,
		RecoveryCodesLeft: left, ExemptUntil: u.ExemptUntil,
	}
	if s.Passkeys != nil {
		keys, err := s.Passkeys.List(ctx, u)
		if err != nil {
			return workgroups.Status{}, err
		}
		st.Passkeys = len(keys)
	}
	d, err := s.Devices.Trusted(ctx, u)
	if err != nil {
		return workgroups.Status{}, err
	}
	return workgroups.Status{Now: now, State: st, Banners: policy.Banners(st, policy.Settings{}, now), Device: d}, nil
}

// bannersJSON renders banners for the API. A two_factor_required banner
// carries its deadline (null for none) and whether it has passed; a
// check_login_parameters banner carries what it asks to check: the trusted
// device and the masked phone number.
func bannersJSON(st workgroups.Status, device any, phone any) []any {
	out := make([]any, 0, len(st.Banners))
	for _, b := range st.Banners {
		actions := b.Actions
		if actions == nil {
			actions = []policy.Action{}
		}
		m := map[string]any{"kind": b.Kind, "closable": b.Closable, "actions": actions}
		switch b.Kind {
		case policy.BannerTwoFactorRequired:
			m["deadline"] = timeJSON(b.Deadline)
			m["overdue"] = b.Overdue
			m["min_method"] = b.MinMethod.String()
		case policy.BannerCheckLoginParameters:
			m["device"] = device
			m["phone"] = phone
		}
		out = append(out, m)
	}
	return out
}

type bannerRequest struct {
	Action string `json:"action"`
}

// apiBannerAction records an action on one of the employee's banners and
// answers the banners to show now.
func (s *server) apiBannerAction(w http.ResponseWriter, r *http.Request, a *signin.Auth) error {
	svc, err := s.workgroupsService()
	if err != nil {
		return err
	}
	var req bannerRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	ctx := r.Context()
	o, st, err := svc.Act(ctx, a.User, r.PathValue("kind"), req.Action, s.clientIP(r))
	if err != nil {
		return err
	}
	d, err := s.Devices.Trusted(ctx, a.User)
	if err != nil {
		return err
	}
	var phone any
	if a.User.Phone != "" {
		phone = phoneMask(a.User.Phone)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"kind":         o.Kind,
		"action":       o.Action,
		"hidden_until": timeJSON(o.HiddenUntil),
		"banners":      bannersJSON(st, deviceJSON(d), phone),
	})
	return nil
}
