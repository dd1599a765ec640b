package web

import (
	"maps"
	"net/http"
	"slices"
	"strings"

	"deadbolt/internal/oidc"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// router is what routes needs of a ServeMux (tests record the patterns).
type router interface {
	Handle(pattern string, h http.Handler)
	HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request))
}

// apiFallback is the pattern of every API path no other route takes.
const apiFallback = "/api/"

// methodRecorder registers routes on a ServeMux and notes the methods
// their patterns name.
type methodRecorder struct {
	*http.ServeMux
	seen map[string]bool
}

func (m *methodRecorder) note(pattern string) {
	if method, _, ok := strings.Cut(pattern, " "); ok {
		m.seen[method] = true
	}
}

func (m *methodRecorder) Handle(pattern string, h http.Handler) {
	m.note(pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m *methodRecorder) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.note(pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

// methods lists the methods noted, with HEAD when GET is there (a GET
// route answers HEAD too), sorted.
func (m *methodRecorder) methods() []string {
	if m.seen[http.MethodGet] {
		m.seen[http.MethodHead] = true
	}
	return slices.Sorted(maps.Keys(m.seen))
}

// routes registers the whole HTTP surface and says who may call each
// route: s.authed(need…) for API routes and s.page(need…) for pages;
// plain handlers are public. Every API route is also described in apiDocs
// (openapi.go); a test keeps the two in step.
func (s *server) routes(mux router) {
	// Operations.
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	if s.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.Metrics, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("GET /api/v1/openapi.json", s.handleOpenAPI)

	// Sign-in.
	mux.Handle("POST /api/v1/login", s.api(s.apiLogin))
	mux.Handle("POST /api/v1/login/second-factor", s.authed(needPending, s.apiSecondFactor))
	mux.Handle("POST /api/v1/login/push", s.authed(needPending, s.apiNewPush))
	mux.Handle("GET /api/v1/login/push/{id}", s.authed(needPending, s.apiPushStatus))
	mux.Handle("GET /api/v1/captcha", s.api(s.apiNewCaptcha))
	mux.Handle("GET /api/v1/captcha/{id}/image.png", s.api(s.apiCaptchaImage))
	mux.Handle("GET /api/v1/captcha/{id}/audio.wav", s.api(s.apiCaptchaAudio))
	mux.Handle("POST /api/v1/logout", s.authed(needAny, s.apiLogout))
	mux.Handle("POST /api/v1/logout/all", s.authed(needFull, s.apiLogoutAll))

	// Self-service.
	mux.Handle("GET /api/v1/me", s.authed(needSelf, s.apiMe))
	mux.Handle("GET /api/v1/me/preferences", s.authed(needSelf, s.apiPreferences))
	mux.Handle("PUT /api/v1/me/preferences", s.authed(needSelf, s.apiSetPreferences))
	mux.Handle("POST /api/v1/me/password", s.authed(needSelf, s.apiChangePassword))
	mux.Handle("POST /api/v1/me/reauth", s.authed(needSetup, s.apiReauth))
	mux.Handle("POST /api/v1/me/reauth/push", s.authed(needFull, s.apiReauthPush))
	mux.Handle("GET /api/v1/me/reauth/push/{id}", s.authed(needFull, s.apiReauthPushStatus))
	mux.Handle("GET /api/v1/me/sessions", s.authed(needFull, s.apiMySessions))
	mux.Handle("DELETE /api/v1/me/sessions/{id}", s.authed(needFull, s.apiEndMySession))
	mux.Handle("GET /api/v1/me/events", s.authed(needFull, s.apiMyEvents))
	mux.Handle("POST /api/v1/me/device/pairing", s.authed(needSetup, s.apiStartPairing))
	mux.Handle("POST /api/v1/me/device/pairing/{id}/confirm", s.authed(needSetup, s.apiConfirmPairing))
	mux.Handle("DELETE /api/v1/me/device", s.authed(needFull, s.apiRemoveDevice))
	mux.Handle("POST /api/v1/me/recovery-codes", s.authed(needSetup, s.apiRecoveryCodes))

	// Passkeys (WebAuthn).
	mux.Handle("POST /api/v1/me/passkeys/options", s.authed(needSetup, s.apiPasskeyOptions))
	mux.Handle("POST /api/v1/me/passkeys", s.authed(needSetup, s.apiAddPasskey))
	mux.Handle("GET /api/v1/me/passkeys", s.authed(needSetup, s.apiListPasskeys))
	mux.Handle("PUT /api/v1/me/passkeys/{id}", s.authed(needFull, s.apiRenamePasskey))
	mux.Handle("DELETE /api/v1/me/passkeys/{id}", s.authed(needFull, s.apiRemovePasskey))
	mux.Handle("POST /api/v1/me/reauth/passkey/options", s.authed(needSetup, s.apiReauthPasskeyOptions))
	mux.Handle("POST /api/v1/login/passkey/options", s.authed(needPending, s.apiLoginPasskeyOptions))
	mux.Handle("POST /api/v1/login/passkey/begin", s.api(s.apiPasskeyBegin))
	mux.Handle("POST /api/v1/login/passkey/finish", s.api(s.apiPasskeyFinish))

	// Companion app (device token).
	mux.Handle("POST /api/v1/device/pair", s.api(s.apiDevicePair))
	mux.Handle("GET /api/v1/device", s.api(s.apiDeviceMe))
	mux.Handle("GET /api/v1/device/requests", s.api(s.apiDeviceRequests))
	mux.Handle("GET /api/v1/device/events", s.api(s.apiDeviceEvents))
	mux.Handle("GET /api/v1/device/notices", s.api(s.apiDeviceNotices))
	mux.Handle("PUT /api/v1/device/preferences", s.api(s.apiDeviceSetPreferences))
	mux.Handle("POST /api/v1/device/requests/{id}", s.api(s.apiDeviceDecide))

	// Web Push: the VAPID key the companion app subscribes with.
	mux.Handle("GET /api/v1/device/vapid", s.api(s.apiVAPIDKey))
	mux.Handle("PUT /api/v1/device/webpush", s.api(s.apiDeviceSetWebPush))

	// Administration.
	mux.Handle("GET /api/v1/admin/users", s.authed(needAdmin, s.apiListUsers))
	mux.Handle("POST /api/v1/admin/users", s.authed(needAdmin, s.apiCreateUser))
	mux.Handle("GET /api/v1/admin/users/{id}", s.authed(needAdmin, s.apiGetUser))
	mux.Handle("PUT /api/v1/admin/users/{id}", s.authed(needAdmin, s.apiUpdateUser))
	mux.Handle("POST /api/v1/admin/users/{id}/deactivate", s.authed(needAdmin, s.apiSetActive(false)))
	mux.Handle("POST /api/v1/admin/users/{id}/activate", s.authed(needAdmin, s.apiSetActive(true)))
	mux.Handle("POST /api/v1/admin/users/{id}/reset-password", s.authed(needAdmin, s.apiResetPassword))
	mux.Handle("GET /api/v1/admin/users/{id}/sessions", s.authed(needAdmin, s.apiUserSessions))
	mux.Handle("DELETE /api/v1/admin/users/{id}/sessions", s.authed(needAdmin, s.apiEndUserSessions))
	mux.Handle("POST /api/v1/admin/users/{id}/reset-2fa", s.authed(needAdmin, s.apiResetTwoFactor))
	mux.Handle("POST /api/v1/admin/users/{id}/unlock", s.authed(needAdmin, s.apiUnlock))
	mux.Handle("GET /api/v1/admin/audit", s.authed(needAdmin, s.apiAudit))

	// Phone number and SMS codes.
	mux.Handle("POST /api/v1/login/sms", s.authed(needPending, s.apiLoginSMS))
	mux.Handle("POST /api/v1/me/reauth/sms", s.authed(needFull, s.apiReauthSMS))
	mux.Handle("POST /api/v1/me/phone", s.authed(needFull, s.apiStartPhone))
	mux.Handle("POST /api/v1/me/phone/confirm", s.authed(needFull, s.apiConfirmPhone))
	mux.Handle("DELETE /api/v1/me/phone", s.authed(needFull, s.apiRemovePhone))
	mux.Handle("GET /api/v1/admin/phones/{e164}", s.authed(needAdmin, s.apiPhoneHolder))
	mux.Handle("DELETE /api/v1/admin/users/{id}/phone", s.authed(needAdmin, s.apiAdminRemovePhone))

	// Workgroups, the two-factor policy and banners.
	mux.Handle("POST /api/v1/me/banners/{kind}", s.authed(needFull, s.apiBannerAction))
	mux.Handle("GET /api/v1/admin/workgroups", s.authed(needAdmin, s.apiListWorkgroups))
	mux.Handle("POST /api/v1/admin/workgroups", s.authed(needAdmin, s.apiCreateWorkgroup))
	mux.Handle("GET /api/v1/admin/workgroups/{id}", s.authed(needAdmin, s.apiGetWorkgroup))
	mux.Handle("PUT /api/v1/admin/workgroups/{id}", s.authed(needAdmin, s.apiRenameWorkgroup))
	mux.Handle("DELETE /api/v1/admin/workgroups/{id}", s.authed(needAdmin, s.apiDeleteWorkgroup))
	mux.Handle("GET /api/v1/admin/workgroups/{id}/members", s.authed(needAdmin, s.apiWorkgroupMembers))
	mux.Handle("POST /api/v1/admin/workgroups/{id}/members", s.authed(needAdmin, s.apiAddWorkgroupMember))
	mux.Handle("DELETE /api/v1/admin/workgroups/{id}/members/{user_id}", s.authed(needAdmin, s.apiRemoveWorkgroupMember))
	mux.Handle("PUT /api/v1/admin/workgroups/{id}/policy", s.authed(needAdmin, s.apiSetWorkgroupPolicy))
	mux.Handle("POST /api/v1/admin/users/{id}/exempt", s.authed(needAdmin, s.apiExemptUser))
	mux.Handle("DELETE /api/v1/admin/users/{id}/exempt", s.authed(needAdmin, s.apiEndExemption))
	mux.Handle("GET /api/v1/admin/users/{id}/workgroups", s.authed(needAdmin, s.apiUserWorkgroups))

	// Applications (OpenID Connect clients and proxy apps).
	mux.Handle("GET /api/v1/admin/apps", s.authed(needAdmin, s.apiListApps))
	mux.Handle("POST /api/v1/admin/apps", s.authed(needAdmin, s.apiCreateApp))
	mux.Handle("GET /api/v1/admin/apps/{id}", s.authed(needAdmin, s.apiGetApp))
	mux.Handle("PUT /api/v1/admin/apps/{id}", s.authed(needAdmin, s.apiUpdateApp))
	mux.Handle("DELETE /api/v1/admin/apps/{id}", s.authed(needAdmin, s.apiDeleteApp))
	mux.Handle("POST /api/v1/admin/apps/{id}/secret", s.authed(needAdmin, s.apiRotateAppSecret))
	mux.Handle("GET /api/v1/admin/apps/{id}/logout-failures", s.authed(needAdmin, s.apiAppLogoutFailures))

	// Forward-auth: reverse proxies ask whether a request may pass (the
	// handlers read the session themselves; api_authz.go).
	mux.Handle("GET /api/v1/authz/forward-auth", s.api(s.apiForwardAuth(flavourForwardAuth)))
	mux.Handle("GET /api/v1/authz/auth-request", s.api(s.apiForwardAuth(flavourAuthRequest)))

	// Development mode only.
	if s.DevClock != nil {
		mux.Handle("GET /api/v1/dev/clock", s.api(s.apiDevClock))
		mux.Handle("POST /api/v1/dev/clock", s.api(s.apiDevClockSet))
		mux.Handle("GET /api/v1/dev/sms", s.api(s.apiDevSMS))
		mux.Handle("GET /api/v1/dev/captcha/{id}", s.api(s.apiDevCaptcha))
	}

	// Other API paths answer in JSON: 405 with Allow for a known path
	// called with another method, 404 for an unknown one.
	mux.Handle(apiFallback, s.api(s.apiNoRoute))

	// OpenID Connect provider (oidc.go; the rules are package oidc's).
	if s.OIDC != nil {
		mux.HandleFunc("GET "+oidc.PathDiscovery, s.oidcDiscovery)
		mux.HandleFunc("GET "+oidc.PathJWKS, s.oidcJWKS)
		mux.HandleFunc("GET "+oidc.PathAuthorize, s.oidcAuthorize)
		mux.HandleFunc("GET "+oidc.PathContinue, s.oidcContinue)
		mux.HandleFunc("POST "+oidc.PathToken, s.oidcToken)
		mux.HandleFunc("GET "+oidc.PathUserInfo, s.oidcUserInfo)
		mux.HandleFunc("POST "+oidc.PathUserInfo, s.oidcUserInfo)
		mux.HandleFunc("POST "+oidc.PathRevoke, s.oidcRevoke)
		mux.HandleFunc("POST "+oidc.PathIntrospect, s.oidcIntrospect)
		mux.HandleFunc("GET "+oidc.PathLogout, s.oidcLogoutPage)
		mux.HandleFunc("POST "+oidc.PathLogout, s.oidcLogoutSubmit)
	}

	// Companion app (PWA, ui/app): one page for /app/ and /app/pair.
	pwa := newPWA(s.PublicURL, s.langs.Default().Code())
	mux.HandleFunc("GET /app", pwa.redirect)
	mux.HandleFunc("GET /app/{$}", pwa.shell)
	mux.HandleFunc("GET /app/pair", pwa.shell)
	mux.HandleFunc("GET /app/manifest.webmanifest", pwa.manifest)
	mux.HandleFunc("GET /app/sw.js", pwa.serviceWorker)
	mux.HandleFunc("GET /app/i18n.json", pwa.messages)
	mux.HandleFunc("GET /app/{file}", pwa.asset)
	mux.HandleFunc("GET /app/vendor/{pkg}/{file}", pwa.vendored)

	// Pages.
	mux.Handle("GET /static/", staticFiles())
	mux.HandleFunc("GET /favicon.ico", favicon)
	mux.HandleFunc("POST /language", s.pageSetLanguage)
	mux.Handle("GET /{$}", s.page(needFull, s.pageHome))
	mux.HandleFunc("GET /login", s.pageLogin)
	mux.HandleFunc("GET /access", s.pageAccess)
	mux.HandleFunc("POST /login", s.pageLoginSubmit)
	mux.Handle("GET /login/verify", s.page(needPending, s.pageVerify))
	mux.Handle("POST /login/verify", s.page(needPending, s.pageVerifySubmit))
	mux.Handle("POST /login/verify/push", s.page(needPending, s.pagePushCheck))
	mux.Handle("POST /login/verify/sms", s.page(needPending, s.pageSendLoginSMS))
	mux.Handle("POST /login/verify/push/new", s.page(needPending, s.pagePushNew))
	mux.HandleFunc("POST /logout", s.pageLogout)
	mux.Handle("POST /logout/all", s.page(needFull, s.pageLogoutAll))
	mux.Handle("POST /banners/{kind}", s.page(needFull, s.pageBannerAction))
	mux.Handle("GET /security", s.page(needFull, s.pageSecurity))
	mux.Handle("POST /security/password", s.page(needSelf, s.pagePasswordSubmit))
	mux.Handle("GET /security/password/new", s.page(needSelf, s.pageNewPassword))
	mux.Handle("POST /security/sessions/{id}/end", s.page(needFull, s.pageEndSession))
	mux.Handle("GET /security/reauth", s.page(needSetup, s.pageReauth))
	mux.Handle("POST /security/reauth", s.page(needSetup, s.pageReauthSubmit))
	mux.Handle("POST /security/reauth/continue", s.page(needSetup, s.pageReauthContinue))
	mux.Handle("POST /security/reauth/push/new", s.page(needFull, s.pageReauthPushNew))
	mux.Handle("POST /security/reauth/push", s.page(needFull, s.pageReauthPushCheck))
	mux.Handle("POST /security/reauth/sms", s.page(needFull, s.pageReauthSMS))
	mux.Handle("GET /security/2fa/setup", s.page(needSetup, s.pageSetup))
	mux.Handle("POST /security/2fa/confirm", s.page(needSetup, s.pageSetupConfirm))
	mux.Handle("POST /security/2fa/device/remove", s.page(needFull, s.pageRemoveDevice))
	mux.Handle("POST /security/recovery-codes", s.page(needSetup, s.pageRecoveryCodes))
	mux.Handle("GET /security/phone", s.page(needFull, s.pagePhone))
	mux.Handle("POST /security/phone", s.page(needFull, s.pagePhoneSubmit))
	mux.Handle("POST /security/phone/confirm", s.page(needFull, s.pagePhoneConfirm))
	mux.Handle("POST /security/phone/remove", s.page(needFull, s.pagePhoneRemove))
	mux.Handle("POST /security/passkeys/{id}/rename", s.page(needFull, s.pagePasskeyRename))
	mux.Handle("POST /security/passkeys/{id}/remove", s.page(needFull, s.pagePasskeyRemove))
	mux.Handle("POST /security/passkeys/added", s.page(needSetup, s.pagePasskeyAdded))

	// Administration console (pages, page_admin*.go).
	mux.Handle("GET /admin", s.page(needAdmin, s.pageAdmin))
	mux.Handle("POST /admin/users", s.page(needAdmin, s.pageAdminCreateUser))
	mux.Handle("GET /admin/users/{id}", s.page(needAdmin, s.pageAdminUser))
	mux.Handle("POST /admin/users/{id}/deactivate", s.page(needAdmin, s.pageAdminSetActive(false)))
	mux.Handle("POST /admin/users/{id}/activate", s.page(needAdmin, s.pageAdminSetActive(true)))
	mux.Handle("POST /admin/users/{id}/reset-password", s.page(needAdmin, s.pageAdminResetPassword))
	mux.Handle("POST /admin/users/{id}/reset-2fa", s.page(needAdmin, s.pageAdminResetTwoFactor()))
	mux.Handle("POST /admin/users/{id}/unlock", s.page(needAdmin, s.pageAdminUnlock()))
	mux.Handle("POST /admin/users/{id}/exempt", s.page(needAdmin, s.pageAdminExempt()))
	mux.Handle("POST /admin/users/{id}/exempt/end", s.page(needAdmin, s.pageAdminEndExemption()))
	mux.Handle("POST /admin/users/{id}/phone/remove", s.page(needAdmin, s.pageAdminRemovePhone))
	mux.Handle("POST /admin/users/{id}/sessions/end", s.page(needAdmin, s.pageAdminEndSessions))
	mux.Handle("GET /admin/import", s.page(needAdmin, s.pageAdminImport))
	mux.Handle("POST /admin/import", s.page(needAdmin, s.pageAdminImportSubmit))
	mux.Handle("GET /admin/workgroups", s.page(needAdmin, s.pageAdminWorkgroups))
	mux.Handle("POST /admin/workgroups", s.page(needAdmin, s.pageAdminCreateWorkgroup))
	mux.Handle("GET /admin/workgroups/{id}", s.page(needAdmin, s.pageAdminWorkgroup))
	mux.Handle("POST /admin/workgroups/{id}/rename", s.page(needAdmin, s.pageAdminRenameWorkgroup()))
	mux.Handle("POST /admin/workgroups/{id}/delete", s.page(needAdmin, s.pageAdminDeleteWorkgroup()))
	mux.Handle("POST /admin/workgroups/{id}/members", s.page(needAdmin, s.pageAdminAddMember()))
	mux.Handle("POST /admin/workgroups/{id}/members/{user_id}/remove", s.page(needAdmin, s.pageAdminRemoveMember()))
	mux.Handle("POST /admin/workgroups/{id}/policy", s.page(needAdmin, s.pageAdminSetPolicy()))
	mux.Handle("GET /admin/phones", s.page(needAdmin, s.pageAdminPhones))
	mux.Handle("GET /admin/audit", s.page(needAdmin, s.pageAdminAudit))
	mux.Handle("GET /admin/apps", s.page(needAdmin, s.pageAdminApps))
	mux.Handle("POST /admin/apps", s.page(needAdmin, s.pageAdminCreateApp))
	mux.Handle("GET /admin/apps/{id}", s.page(needAdmin, s.pageAdminApp))
	mux.Handle("POST /admin/apps/{id}", s.page(needAdmin, s.pageAdminUpdateApp))
	mux.Handle("POST /admin/apps/{id}/secret", s.page(needAdmin, s.pageAdminRotateAppSecret))
	mux.Handle("POST /admin/apps/{id}/delete", s.page(needAdmin, s.pageAdminDeleteApp))
}
