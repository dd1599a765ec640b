package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"deadbolt/internal/deadbolt"
	"deadbolt/internal/signin"
)

// auditTypes are the event types the audit filter offers, in the order of
// event.go.
var auditTypes = []string{
	deadbolt.EventSignIn, deadbolt.EventSignInFailed, deadbolt.EventSecondFactorStep,
	deadbolt.EventSecondFactorFail, deadbolt.EventSecondFactorLock, deadbolt.EventCaptchaShown,
	deadbolt.EventSetupRequired, deadbolt.EventLogout, deadbolt.EventLogoutAll, deadbolt.EventSessionEnded,
	deadbolt.EventPasswordChanged, deadbolt.EventReauth, deadbolt.EventDeviceDisconnect,
	deadbolt.EventDevicePaired, deadbolt.EventDeviceConfirmed, deadbolt.EventDeviceRemoved,
	deadbolt.EventRecoveryGenerated, deadbolt.EventRecoveryVoided, deadbolt.EventPushDenied,
	deadbolt.EventPushReported, deadbolt.EventPhoneLinked, deadbolt.EventPhoneRemoved, deadbolt.EventBanner,
	deadbolt.EventPasskeyAdded, deadbolt.EventPasskeyRemoved, deadbolt.EventPasskeyRenamed, deadbolt.EventPasskeyCounter,
	deadbolt.EventAdminUserCreated, deadbolt.EventAdminUserDeactivated, deadbolt.EventAdminUserActivated,
	deadbolt.EventAdminPasswordReset, deadbolt.EventAdminSessionsEnded, deadbolt.EventAdminTwoFactorReset,
	deadbolt.EventAdminUnlocked, deadbolt.EventAdminExempted, deadbolt.EventAdminExemptionEnded,
	deadbolt.EventAdminPhoneRemoved, deadbolt.EventAdminWorkgroupCreated, deadbolt.EventAdminWorkgroupRenamed,
	deadbolt.EventAdminWorkgroupDeleted, deadbolt.EventAdminMemberAdded, deadbolt.EventAdminMemberRemoved,
	deadbolt.EventAdminPolicyChanged, deadbolt.EventAdminUserUpdated, deadbolt.EventAdminAppCreated,
	deadbolt.EventAdminAppUpdated, deadbolt.EventAdminAppDeleted, deadbolt.EventAdminAppSecretRotated,
	deadbolt.EventAppAccessGranted, deadbolt.EventAppAccessDenied,
}

// auditPerPage is how many events the audit page shows at once.
const auditPerPage = 50

// auditExportLimit is the most events one JSON-lines export holds (the
// API's largest page).
const auditExportLimit = 1000

type typeOption struct {
	Value, Label string
	Selected     bool
}

type auditView struct {
	consoleBase
	Login, Type, Since, Until string
	Types                     []typeOption
	Rows                      []auditRow
	Filtered                  bool
	NewestURL, OlderURL       string
	ExportURL                 string
	ExportLimit               int
}

// auditFilter reads the audit page's query: login, type, since and until
// (dates in loc; until includes its whole day) and before (paging). It
// returns the store filter, the export query and a message for a bad
// value.
func (s *server) auditFilter(r *http.Request, a *signin.Auth, loc *time.Location) (deadbolt.EventFilter, url.Values, error) {
	q := r.URL.Query()
	f := deadbolt.EventFilter{Limit: auditPerPage + 1}
	export := url.Values{"format": {"jsonl"}, "limit": {strconv.Itoa(auditExportLimit)}}
	if login := strings.TrimSpace(q.Get("login")); login != "" {
		u, err := s.Accounts.Get(r.Context(), s.actor(r, a), login)
		if deadbolt.IsCode(err, deadbolt.CodeNotFound) {
			return f, nil, formError("login", "No employee has the login %s.", login)
		}
		if err != nil {
			return f, nil, err
		}
		f.UserID = u.ID
		export.Set("user_id", u.ID)
	}
	if typ := q.Get("type"); typ != "" {
		if !slices.Contains(auditTypes, typ) {
			return f, nil, formError("type", "Choose an event type from the list.")
		}
		f.Type = typ
		export.Set("type", typ)
	}
	var err error
	if f.Since, err = parseLocalDateTime("since", deadbolt.Phrase("The first day"), q.Get("since"), "", loc); err != nil {
		return f, nil, err
	}
	if f.Until, err = parseLocalDateTime("until", deadbolt.Phrase("The last day"), q.Get("until"), "", loc); err != nil {
		return f, nil, err
	}
	if !f.Until.IsZero() {
		f.Until = f.Until.AddDate(0, 0, 1) // the whole last day
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, nil, formError("until", "The last day cannot come before the first day.")
	}
	for name, t := range map[string]time.Time{"since": f.Since, "until": f.Until} {
		if !t.IsZero() {
			export.Set(name, t.UTC().Format(time.RFC3339))
		}
	}
	if before := q.Get("before"); before != "" {
		if _, err := strconv.ParseUint(before, 10, 63); err != nil {
			return f, nil, formError("before", "The page asked for does not exist.")
		}
		f.BeforeID = before
	}
	return f, export, nil
}

func (s *server) pageAdminAudit(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	ctx, loc := r.Context(), s.orgLocation()
	q := r.URL.Query()
	l := tr(r)
	v := &auditView{consoleBase: s.consoleBase(r, "/admin/audit"), Login: strings.TrimSpace(q.Get("login")),
		Type: q.Get("type"), Since: q.Get("since"), Until: q.Get("until"), ExportLimit: auditExportLimit}
	v.Types = append(v.Types, typeOption{Value: "", Label: l.T("audit.all_events"), Selected: v.Type == ""})
	for _, t := range auditTypes {
		v.Types = append(v.Types, typeOption{Value: t, Label: eventText(l, t) + " (" + t + ")", Selected: t == v.Type})
	}
	v.Filtered = v.Login != "" || v.Type != "" || v.Since != "" || v.Until != ""
	status, errMsg := http.StatusOK, ""
	f, export, err := s.auditFilter(r, a, loc)
	if err == nil {
		var events []*deadbolt.Event
		var logins map[string]string
		events, err = s.Events.Events(ctx, f)
		if err == nil {
			logins, err = s.loginsByID(ctx, a, r)
		}
		if err == nil {
			more := len(events) > auditPerPage
			events = events[:min(len(events), auditPerPage)]
			v.Rows = auditRows(l, events, logins, loc)
			page := url.Values{}
			for _, k := range []string{"login", "type", "since", "until"} {
				if val := strings.TrimSpace(q.Get(k)); val != "" {
					page.Set(k, val)
				}
			}
			if f.BeforeID != "" {
				v.NewestURL = "/admin/audit?" + page.Encode()
			}
			if more {
				page.Set("before", events[len(events)-1].ID)
				v.OlderURL = "/admin/audit?" + page.Encode()
			}
			v.ExportURL = "/api/v1/admin/audit?" + export.Encode()
		}
	}
	if err != nil {
		st := errorStatus(err)
		if st >= 500 {
			s.pageError(w, r, err)
			return
		}
		status, errMsg = st, errorText(tr(r), err)
	}
	s.render(w, r, status, "admin_audit", &pageData{Title: l.T("console.title", "page", l.T("audit.title")), User: a.User, Console: v, Error: errMsg})
}
