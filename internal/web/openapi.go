package web

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
)

// opDoc describes one API operation for the OpenAPI document. Request is
// the Go type the handler decodes (its JSON schema is derived from it), so
// the description cannot drift from the code.
type opDoc struct {
	Summary string
	Auth    string // "", "session", "pending", "admin", "device", "dev"
	// Request is nil for an operation without a request body; for a
	// POST, PUT or DELETE the server then takes only an empty body or {}
	// (api in middleware.go).
	Request any
	Status  int // success status (default 200)
}

// apiDocs describes every /api/v1 route registered in routes.go; a test
// checks that the two agree. Operations with Auth "dev" exist only in
// development mode (apiDocsFor).
var apiDocs = map[string]opDoc{
	"GET /api/v1/openapi.json":                     {Summary: "This document."},
	"POST /api/v1/login":                           {Summary: "Password step of sign-in. Answers state authenticated, second_factor, setup_required or password_change_required with a session token (password_change_required: the first administrator signed in with the one-time password printed at the first start; the session then reaches only GET /me, the preferences, POST /me/password and logout, everything else answering 403 password_change_required, until the password is changed); locked true when the second factor is locked (then no push is sent).", Request: loginRequest{}},
	"POST /api/v1/login/second-factor":             {Summary: "Complete a pending sign-in with a TOTP, SMS or recovery code (recovery codes may need a solved CAPTCHA), or a passkey ({\"method\":\"passkey\",\"credential\"} after POST /login/passkey/options). Answers state authenticated, or setup_required when the workgroup's min_method no longer accepts the method (the session then reaches only setup).", Auth: "pending", Request: secondFactorRequest{}},
	"POST /api/v1/login/push":                      {Summary: "Send a fresh push request for this pending sign-in: id, number (a JSON integer of exactly digits digits, shown only in the browser), digits, expires_at. 429 while pushes are limited or muted, 423 while the second factor is locked.", Auth: "pending"},
	"GET /api/v1/login/push/{id}":                  {Summary: "Status of a push request (?wait=25 long-polls while pending); on approval also the full session_token.", Auth: "pending"},
	"GET /api/v1/device/requests":                  {Summary: "Companion app: pending requests {id, created_at, expires_at, digits, purpose, context} (?wait=25 long-polls); purpose is sign_in, or reauth for a fresh proof before a change of sign-in settings. The number is never sent to the device: the employee types it, digits long.", Auth: "device"},
	"GET /api/v1/device/events":                    {Summary: "Companion app: pending sign-in requests as Server-Sent Events: event: request (a new request), event: resolved ({id}: no longer pending — answered, expired, or its sign-in finished another way), event: device ({trusted}: the pairing was confirmed), event: notice, event: disconnected.", Auth: "device"},
	"PUT /api/v1/device/preferences":               {Summary: "Companion app: save the employee's language chosen in the app ({\"language\":\"ru\"}; \"\" clears it), as PUT /me/preferences does.", Auth: "device", Request: preferencesRequest{}},
	"POST /api/v1/device/requests/{id}":            {Summary: "Companion app: approve or deny a request, signed with the device key over deadbolt-push-v1\\n{id}\\n{decision}\\n{number}. A wrong number, one of the wrong length included, ends the request denied (wrong_number: true) and counts as a failed attempt. An approval is a second-factor attempt: 429 during the delays after repeated attempts, 423 (and the request ends denied) while the second factor is locked.", Auth: "device", Request: decisionRequest{}},
	"PUT /api/v1/device/webpush":                   {Summary: "Companion app: replace the device's Web Push subscription ({\"webpush\": PushSubscription} or {\"webpush\": null}).", Auth: "device", Request: webPushRequest{}},
	"GET /api/v1/device/notices":                   {Summary: "Companion app: recent changes to the employee's factors (phone linked or removed, new recovery codes, …), newest first; ?after=ID for newer ones. Also streamed as event: notice.", Auth: "device"},
	"GET /api/v1/captcha":                          {Summary: "New built-in CAPTCHA challenge: id, image and audio paths."},
	"GET /api/v1/captcha/{id}/image.png":           {Summary: "CAPTCHA image (PNG)."},
	"GET /api/v1/captcha/{id}/audio.wav":           {Summary: "CAPTCHA audio (WAV)."},
	"POST /api/v1/logout":                          {Summary: "End this session.", Auth: "session"},
	"POST /api/v1/logout/all":                      {Summary: "End every session of the employee and disconnect the trusted device.", Auth: "session"},
	"GET /api/v1/me":                               {Summary: "The employee (user.password_change_required: a one-time password must be replaced first), their two-factor state and banners; language is the language answers are in, preferences.language the saved choice (null for none).", Auth: "session"},
	"GET /api/v1/me/preferences":                   {Summary: "The employee's saved preferences: language (\"en\", \"ru\", or null to follow the browser's Accept-Language).", Auth: "session"},
	"PUT /api/v1/me/preferences":                   {Summary: "Save the employee's preferences: {\"language\":\"ru\"} (\"\" clears the choice). Pages, SMS texts and error messages follow it; error codes never change.", Auth: "session", Request: preferencesRequest{}},
	"POST /api/v1/me/password":                     {Summary: "Change the password; other sessions end and the trusted device is disconnected. With 2FA on it needs a fresh proof (403 reauth_required); it never renews one. Replacing a one-time password (user.password_change_required in GET /me) needs no fresh proof, and the session goes on with everything open.", Auth: "session", Request: passwordRequest{}},
	"POST /api/v1/me/reauth":                       {Summary: "Fresh proof for factor changes: the password (no 2FA), a second-factor code, or a passkey ({\"method\":\"passkey\",\"credential\"} after POST /me/reauth/passkey/options).", Auth: "session", Request: reauthRequest{}},
	"POST /api/v1/me/reauth/push":                  {Summary: "Fresh proof by push: send the trusted device a confirmation request bound to this session: id, number (shown only here; the employee types or scans it on the phone), digits, expires_at. 423 locked (nothing sent), 429 while pushes are limited or muted, 400 without a trusted device.", Auth: "session"},
	"GET /api/v1/me/reauth/push/{id}":              {Summary: "Status of a reauth push request: pending, approved, denied or expired (?wait=25 long-polls while pending). On approved the session is freshly proven for factor changes (fresh_until); an approval works once.", Auth: "session"},
	"GET /api/v1/me/sessions":                      {Summary: "The employee's sessions.", Auth: "session"},
	"DELETE /api/v1/me/sessions/{id}":              {Summary: "End one of the employee's sessions.", Auth: "session"},
	"GET /api/v1/me/events":                        {Summary: "The employee's own security events (filters: type, since, until, before, limit).", Auth: "session"},
	"POST /api/v1/me/device/pairing":               {Summary: "One-time pairing offer: id, token, url ({public_url}/app/pair#{token}), qr (PNG data URL), expires_at. Needs a fresh proof.", Auth: "session", Status: 201},
	"POST /api/v1/me/device/pairing/{id}/confirm":  {Summary: "Confirm the paired device with its current code: it becomes the trusted device, 2FA turns on, recovery codes are voided.", Auth: "session", Request: codeRequest{}},
	"DELETE /api/v1/me/device":                     {Summary: "Disconnect the trusted device. Needs a fresh proof.", Auth: "session"},
	"POST /api/v1/me/recovery-codes":               {Summary: "Generate a new set of 10 recovery codes; every old code stops working. Needs a fresh proof.", Auth: "session"},
	"POST /api/v1/device/pair":                     {Summary: "Companion app: register a device's P-256 public key with a pairing token; returns the device token and TOTP secret.", Request: pairRequest{}, Status: 201},
	"GET /api/v1/device":                           {Summary: "Companion app: this device and its account; 401 device_disconnected once disconnected.", Auth: "device"},
	"GET /api/v1/admin/users":                      {Summary: "List employees.", Auth: "admin"},
	"POST /api/v1/admin/users":                     {Summary: "Create an employee.", Auth: "admin", Request: createUserRequest{}, Status: 201},
	"GET /api/v1/admin/users/{id}":                 {Summary: "One employee (by id or login).", Auth: "admin"},
	"PUT /api/v1/admin/users/{id}":                 {Summary: "Change an employee's name or email (absent fields stay; an empty email removes it).", Auth: "admin", Request: updateUserRequest{}},
	"POST /api/v1/admin/users/{id}/deactivate":     {Summary: "Deactivate: sessions end, the device is disconnected.", Auth: "admin"},
	"POST /api/v1/admin/users/{id}/activate":       {Summary: "Reactivate an employee.", Auth: "admin"},
	"POST /api/v1/admin/users/{id}/reset-password": {Summary: "Set a new password; sessions end, the device is disconnected.", Auth: "admin", Request: resetPasswordRequest{}},
	"GET /api/v1/admin/users/{id}/sessions":        {Summary: "An employee's sessions.", Auth: "admin"},
	"DELETE /api/v1/admin/users/{id}/sessions":     {Summary: "End every session of an employee.", Auth: "admin"},
	"POST /api/v1/admin/users/{id}/reset-2fa":      {Summary: "Turn an employee's second factor off (devices disconnected, recovery codes deleted).", Auth: "admin"},
	"POST /api/v1/admin/users/{id}/unlock":         {Summary: "Clear an employee's second-factor lock, delays and CAPTCHA streak.", Auth: "admin"},
	"GET /api/v1/admin/audit":                      {Summary: "The audit log (filters: user_id, type, since, until, before, limit; format=jsonl exports JSON lines).", Auth: "admin"},
	"GET /api/v1/dev/clock":                        {Summary: "Development mode: the clock every time rule reads.", Auth: "dev"},
	"POST /api/v1/dev/clock":                       {Summary: "Development mode: set ({\"now\"}) or advance ({\"advance\":\"36h\"}) the clock.", Auth: "dev", Request: devClockRequest{}},
	"GET /api/v1/dev/sms":                          {Summary: "Development mode: the SMS outbox.", Auth: "dev"},
	"GET /api/v1/dev/captcha/{id}":                 {Summary: "Development mode: the answer of a CAPTCHA.", Auth: "dev"},

	// Workgroups, the two-factor policy and banners.
	"POST /api/v1/me/banners/{kind}":                         {Summary: "Act on a banner: close or remind_later hides a closable one until the next calendar day (organisation time zone), confirm restarts the check_login_parameters period. 409 banner_not_closable past the deadline, banner_not_shown when not shown. Answers the banners to show now.", Auth: "session", Request: bannerRequest{}},
	"GET /api/v1/admin/workgroups":                           {Summary: "List workgroups with their policy and member count.", Auth: "admin"},
	"POST /api/v1/admin/workgroups":                          {Summary: "Create a workgroup; names are unique in any letter case (409 conflict).", Auth: "admin", Request: workgroupRequest{}, Status: 201},
	"GET /api/v1/admin/workgroups/{id}":                      {Summary: "One workgroup (by id or name) with its policy and members.", Auth: "admin"},
	"PUT /api/v1/admin/workgroups/{id}":                      {Summary: "Rename a workgroup.", Auth: "admin", Request: workgroupRequest{}},
	"DELETE /api/v1/admin/workgroups/{id}":                   {Summary: "Delete a workgroup; its members leave it.", Auth: "admin"},
	"GET /api/v1/admin/workgroups/{id}/members":              {Summary: "A workgroup's members with their two-factor state.", Auth: "admin"},
	"POST /api/v1/admin/workgroups/{id}/members":             {Summary: "Add an employee (user_id: id or login); 201 when added, 200 when already a member.", Auth: "admin", Request: memberRequest{}, Status: 201},
	"DELETE /api/v1/admin/workgroups/{id}/members/{user_id}": {Summary: "Remove an employee from a workgroup.", Auth: "admin"},
	"PUT /api/v1/admin/workgroups/{id}/policy":               {Summary: "Replace the workgroup's two-factor policy: required, deadline and paused_until (RFC 3339 or null), paused (until turned on again), after_deadline banner|block, min_method any|no_sms|phishing_resistant (which second factors still complete a sign-in after the deadline; absent: any). A later deadline extends it. phishing_resistant is 409 passkeys_unavailable while passkeys are off, and 409 admin_lockout when it would leave no active administrator able to sign in.", Auth: "admin", Request: policyRequest{}},
	"POST /api/v1/admin/users/{id}/exempt":                   {Summary: "Exempt an employee from the second factor until an RFC 3339 time: no requirement, no setup block, and sign-in with the password alone.", Auth: "admin", Request: exemptRequest{}},
	"DELETE /api/v1/admin/users/{id}/exempt":                 {Summary: "End an employee's exemption.", Auth: "admin"},
	"GET /api/v1/admin/users/{id}/workgroups":                {Summary: "The workgroups an employee is in, with their policies.", Auth: "admin"},

	// Phone number and SMS codes.
	"POST /api/v1/login/sms":                {Summary: "Send an SMS code for this pending sign-in to the linked number: sent_to (masked) and resend_after (seconds). A resend replaces the previous code and is allowed after 60 s (429 rate_limited with retry_after); 503 unavailable when the provider fails.", Auth: "pending"},
	"POST /api/v1/me/reauth/sms":            {Summary: "Send an SMS code for POST /me/reauth {\"method\":\"sms\",\"code\"}: sent_to and resend_after.", Auth: "session"},
	"POST /api/v1/me/phone":                 {Summary: "Send a code to the number to link (needs a fresh proof): sent_to and resend_after. 400 invalid_input with reason for a number that cannot receive SMS; 409 phone_in_use when another account holds it.", Auth: "session", Request: phoneRequest{}},
	"POST /api/v1/me/phone/confirm":         {Summary: "Link the number with the code sent to it (5 tries per code, valid 5 minutes; needs a fresh proof).", Auth: "session", Request: codeRequest{}},
	"DELETE /api/v1/me/phone":               {Summary: "Unlink the employee's number (needs a fresh proof).", Auth: "session"},
	"GET /api/v1/admin/phones/{e164}":       {Summary: "Which account holds a number (E.164, \"+\" may be URL-encoded): {\"user\":{\"id\",\"login\"}}; 404 when it is free.", Auth: "admin"},
	"DELETE /api/v1/admin/users/{id}/phone": {Summary: "Free an employee's number.", Auth: "admin"},

	// Applications.
	"GET /api/v1/authz/forward-auth":              {Summary: "Forward-auth check for Traefik ForwardAuth and Caddy forward_auth: the original request is read from X-Forwarded-Method, -Proto, -Host and -Uri (believed only from --trusted-proxies) and matched to a proxy app's domains. 200 with Remote-User, Remote-Name, Remote-Email and Remote-Groups when the session (SSO cookie or bearer token) may enter; not signed in: 302 to {public_url}/login?rd={original URL} for a browser, 401 otherwise; signed in but not admitted: 403 (a browser gets a page naming the app, or is sent to set up two-factor authentication); no app at that address: 403."},
	"GET /api/v1/authz/auth-request":              {Summary: "Forward-auth check for nginx auth_request: as forward-auth, with the original request from X-Original-URL and X-Original-Method (or the X-Forwarded-* headers); answers only 200 (with the Remote-* headers), 401 (sign in) or 403 (not admitted, or no app at that address)."},
	"GET /api/v1/admin/apps":                      {Summary: "List applications (OpenID Connect clients and proxy apps); never their secrets.", Auth: "admin"},
	"POST /api/v1/admin/apps":                     {Summary: "Register an application: name, kind oidc|proxy, redirect_uris (oidc; exact match, https or loopback http), public, backchannel_logout_uri, post_logout_redirect_uris, domains (proxy: host, host/path-prefix, *.example.com), workgroups (ids; empty admits every active employee), require_2fa. Answers client_id and, for a confidential client, client_secret — shown this once.", Auth: "admin", Request: appRequest{}, Status: 201},
	"GET /api/v1/admin/apps/{id}":                 {Summary: "One application (by id or name).", Auth: "admin"},
	"PUT /api/v1/admin/apps/{id}":                 {Summary: "Change an application's settings (absent fields stay; kind cannot change).", Auth: "admin", Request: appRequest{}},
	"DELETE /api/v1/admin/apps/{id}":              {Summary: "Delete an application and everything issued to it.", Auth: "admin"},
	"POST /api/v1/admin/apps/{id}/secret":         {Summary: "Give a confidential client a new secret, answered once as client_secret; the old one stops working.", Auth: "admin"},
	"GET /api/v1/admin/apps/{id}/logout-failures": {Summary: "An application's failed back-channel logout deliveries: {\"failures\":[{grant_id, user_id, session_id, attempts, error, first_at, next_at, done_at, given_up}]}, most recent first.", Auth: "admin"},

	// Passkeys (WebAuthn). Options are the JSON forms the browser passes
	// to PublicKeyCredential.parseCreationOptionsFromJSON and
	// parseRequestOptionsFromJSON; a credential is PublicKeyCredential.toJSON().
	"POST /api/v1/me/passkeys/options":       {Summary: "Begin adding a passkey: {\"publicKey\": creation options}, excluding the employee's passkeys. Needs a fresh proof (403 reauth_required). 409 passkeys_unavailable when the public URL's host is an IP address; 409 limit_reached at 10 passkeys. The challenge works once, for 5 minutes.", Auth: "session"},
	"POST /api/v1/me/passkeys":               {Summary: "Finish adding a passkey: name (1–64 characters) and credential (PublicKeyCredential.toJSON() of navigator.credentials.create). Answers {id, name, created_at, last_used_at, credential_id, aaguid, backup_eligible, backed_up, user_verified, transports}. Turns 2FA on; a factor change (fresh proof, audit event, notice to the trusted device). 400 invalid_input for a credential that does not verify (wrong origin or RP ID, a challenge unknown, expired or used); 409 conflict when registered already.", Auth: "session", Request: addPasskeyRequest{}, Status: 201},
	"GET /api/v1/me/passkeys":                {Summary: "The employee's passkeys: {passkeys: […], enabled, max, disabled_reason?}.", Auth: "session"},
	"PUT /api/v1/me/passkeys/{id}":           {Summary: "Rename a passkey: {name}. Answers the passkey.", Auth: "session", Request: renamePasskeyRequest{}},
	"DELETE /api/v1/me/passkeys/{id}":        {Summary: "Remove a passkey; it signs in no more. Needs a fresh proof.", Auth: "session"},
	"POST /api/v1/me/reauth/passkey/options": {Summary: "Begin a fresh proof with a passkey: {\"publicKey\": request options}; then POST /me/reauth {\"method\":\"passkey\",\"credential\"}. 423 while the second factor is locked.", Auth: "session"},
	"POST /api/v1/login/passkey/options":     {Summary: "Begin the passkey second step of this pending sign-in: {\"publicKey\": request options} allowing the employee's passkeys; then POST /login/second-factor {\"method\":\"passkey\",\"credential\"}. 423 while the second factor is locked.", Auth: "pending"},
	"POST /api/v1/login/passkey/begin":       {Summary: "Begin a sign-in without a login (discoverable passkey): {id, publicKey: request options}. The challenge works once, for 5 minutes. Each address (an IPv6 /64) may begin 600 in 15 minutes; then 429 rate_limited with retry_after until the window ends."},
	"POST /api/v1/login/passkey/finish":      {Summary: "Finish a sign-in without a login: {id, credential}. Answers as POST /login (state authenticated; the session is phishing-resistant: amr hwk user mfa). A passkey whose authenticator did not verify the user counts as one factor only: 401 user_verification_required. A failed assertion counts as a failed second factor of its employee: 401 invalid_credentials, 429 rate_limited, 423 locked.", Request: passkeyFinishRequest{}},

	// Web Push.
	"GET /api/v1/device/vapid": {Summary: "Companion app: the server's VAPID public key (public_key: unpadded base64url uncompressed P-256 point), the applicationServerKey to subscribe to Web Push with. Public; 404 when Web Push is off."},
}

// apiDocsFor is apiDocs as a server in development mode (dev) or out of
// it serves them: the development paths only in development mode.
func apiDocsFor(dev bool) map[string]opDoc {
	out := make(map[string]opDoc, len(apiDocs))
	for k, d := range apiDocs {
		if d.Auth != "dev" || dev {
			out[k] = d
		}
	}
	return out
}

// openAPIDocument builds the OpenAPI 3 description of the API of a server
// in development mode (dev) or out of it.
func openAPIDocument(dev bool) []byte {
	docs := apiDocsFor(dev)
	paths := map[string]map[string]any{}
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d := docs[k]
		method, path, _ := strings.Cut(k, " ")
		op := map[string]any{"summary": d.Summary}
		status := d.Status
		if status == 0 {
			status = 200
		}
		op["responses"] = map[string]any{
			itoa(status): map[string]any{"description": "Success."},
			"default":    map[string]any{"description": "Error envelope.", "content": jsonContent(map[string]any{"$ref": "#/components/schemas/Error"})},
		}
		switch d.Auth {
		case "session", "pending", "admin":
			op["security"] = []any{map[string]any{"session": []any{}}, map[string]any{"cookie": []any{}}}
		case "device":
			op["security"] = []any{map[string]any{"device": []any{}}}
		}
		switch {
		case d.Request != nil:
			op["requestBody"] = map[string]any{"required": true, "content": jsonContent(schemaOf(reflect.TypeOf(d.Request)))}
		case method != "GET":
			op["requestBody"] = map[string]any{"required": false, "description": "None: an empty body, or {}.",
				"content": jsonContent(map[string]any{"type": "object", "maxProperties": 0, "additionalProperties": false})}
		}
		var params []any
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, "{") {
				params = append(params, map[string]any{"name": strings.Trim(seg, "{}"), "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
			}
		}
		if params != nil {
			op["parameters"] = params
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Deadbolt API", "version": "1",
			"description": "Self-hosted two-factor sign-in. Request bodies are strict JSON objects: unknown fields, duplicate keys, wrong types, null for a field that is not optional (null for an optional field reads as absent), text that is not valid UTF-8 (including escaped lone UTF-16 surrogates) and U+0000 are 400 bad_request; over 64 KiB is 413. Operations without a request body take an empty body or {}. A known path called with another method answers 405 with Allow. An operation that needs the database while it refuses connections or does not answer fails within 10 s with 503 unavailable, a Retry-After header and retry_after; GET /readyz is then 503, as it is while the server drains on shutdown (long polls then answer at once with their current state)."},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"session": map[string]any{"type": "http", "scheme": "bearer", "description": "Session token from /login."},
				"cookie":  map[string]any{"type": "apiKey", "in": "cookie", "name": "__Host-deadbolt_session"},
				"device":  map[string]any{"type": "http", "scheme": "bearer", "description": "Device token from /device/pair."},
			},
			"schemas": map[string]any{"Error": map[string]any{
				"type": "object", "required": []string{"error"},
				"properties": map[string]any{"error": map[string]any{"type": "object", "required": []string{"code", "message"},
					"properties": map[string]any{
						"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"},
						"retry_after": map[string]any{"type": "integer"}, "captcha_required": map[string]any{"type": "boolean"},
					}}},
			}},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func jsonContent(schema any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

// schemaOf derives a JSON schema from a request type.
func schemaOf(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return map[string]any{"type": "integer"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				if f.Type == reflect.TypeOf(rawJSONObj{}) {
					props[name] = map[string]any{"type": "object"}
				}
				continue
			}
			if f.Type.Kind() == reflect.Pointer && f.Type.Elem() == reflect.TypeOf(rawJSONObj{}) {
				props[name] = map[string]any{"type": []string{"object", "null"}}
				continue
			}
			if f.Type.Kind() == reflect.Pointer && f.Type.Elem() == reflect.TypeOf(credentialJSON{}) {
				props[name] = map[string]any{"type": []string{"object", "null"}, "description": "PublicKeyCredential.toJSON()"}
				continue
			}
			fs := schemaOf(f.Type)
			if f.Type.Kind() == reflect.Pointer {
				// Optional; null reads as absent (decodeJSON).
				if typ, ok := fs["type"].(string); ok {
					fs["type"] = []string{typ, "null"}
				}
			} else {
				required = append(required, name)
			}
			props[name] = fs
		}
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if required != nil {
			s["required"] = required
		}
		return s
	}
	return map[string]any{}
}
