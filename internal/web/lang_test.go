package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/deadbolttest"
)

// langDo sends an API request with the given Accept-Language and returns
// the status, the Content-Language and the decoded body.
func langDo(t *testing.T, s *deadbolttest.Server, method, path, token, accept, body string) (int, string, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if accept != "" {
		req.Header.Set("Accept-Language", accept)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, resp.Header.Get("Content-Language"), m
}

func errorOfJSON(m map[string]any) (code, message string) {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	msg, _ := e["message"].(string)
	return c, msg
}

// TestErrorMessagesFollowTheLanguage: the same refused sign-in answers the
// same code in every language and a message in the one the request asks
// for (Accept-Language with regions and quality values), else the
// default; an employee's saved language wins over the header.
func TestErrorMessagesFollowTheLanguage(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	bad := `{"login":"admin","password":"wrong-password"}`
	for _, tt := range []struct{ accept, lang, message string }{
		{"", "en", "The login or password is incorrect."},
		{"ru-RU,ru;q=0.9,en;q=0.8", "ru", "Неверный логин или пароль."},
		{"de-DE, ru;q=0.5", "ru", "Неверный логин или пароль."},
		{"en-GB,en;q=0.9,ru;q=0.8", "en", "The login or password is incorrect."},
		{"fr", "en", "The login or password is incorrect."},
	} {
		status, lang, body := langDo(t, s, "POST", "/api/v1/login", "", tt.accept, bad)
		code, msg := errorOfJSON(body)
		if status != http.StatusUnauthorized || code != "invalid_credentials" || msg != tt.message || lang != tt.lang {
			t.Errorf("POST /login, Accept-Language %q = %d %s %q (Content-Language %s); want 401 invalid_credentials %q in %s",
				tt.accept, status, code, msg, lang, tt.message, tt.lang)
		}
	}

	admin := s.AdminToken(t)
	if _, _, body := langDo(t, s, "GET", "/api/v1/me/preferences", admin, "", ""); body["language"] != nil {
		t.Errorf("preferences before a choice = %v, want language null", body)
	}
	for _, b := range []string{`{"language":"xx"}`, `{"language":null}`, `{}`} {
		status, _, body := langDo(t, s, "PUT", "/api/v1/me/preferences", admin, "", b)
		if code, _ := errorOfJSON(body); status != http.StatusBadRequest || code != "invalid_input" {
			t.Errorf("PUT /me/preferences %s = %d %v, want 400 invalid_input", b, status, body)
		}
	}
	if status, _, body := langDo(t, s, "PUT", "/api/v1/me/preferences", admin, "", `{"language":"ru","extra":1}`); status != http.StatusBadRequest {
		t.Errorf("PUT /me/preferences with an unknown field = %d %v, want 400", status, body)
	}
	if status, _, body := langDo(t, s, "PUT", "/api/v1/me/preferences", admin, "", `{"language":"ru"}`); status != http.StatusOK || body["language"] != "ru" {
		t.Fatalf("PUT /me/preferences ru = %d %v", status, body)
	}
	// The saved choice beats the header, for this employee's requests (on
	// every node once the change feed told it: within a second).
	var status int
	var lang string
	var body map[string]any
	for end := time.Now().Add(3 * time.Second); ; {
		status, lang, body = langDo(t, s, "DELETE", "/api/v1/me/sessions/nope", admin, "en", "")
		if lang == "ru" || time.Now().After(end) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, msg := errorOfJSON(body); status != http.StatusNotFound || code != "not_found" || lang != "ru" || msg != "Сеанс не найден." {
		t.Errorf("an error for an employee who chose ru = %d %s %q in %s, want Russian", status, code, msg, lang)
	}
	if _, _, me := langDo(t, s, "GET", "/api/v1/me", admin, "en", ""); me["language"] != "ru" || me["preferences"].(map[string]any)["language"] != "ru" {
		t.Errorf("GET /me language = %v, preferences = %v; want ru", me["language"], me["preferences"])
	}
	// A rate-limited answer says how long to wait, in the language.
	s.CreateUser(t, admin, "rita", "rita-password")
	var msg string
	for i := 0; i < 15; i++ {
		_, _, b := langDo(t, s, "POST", "/api/v1/login", "", "ru", `{"login":"rita","password":"wrong-password"}`)
		if code, m := errorOfJSON(b); code == "rate_limited" {
			msg = m
			break
		}
	}
	if !strings.HasPrefix(msg, "Слишком много неудачных попыток входа") || !strings.Contains(msg, "Повторите попытку через") {
		t.Errorf("rate-limited message in ru = %q, want the wait named", msg)
	}
	// Clearing the choice follows the browser again.
	if status, _, _ := langDo(t, s, "PUT", "/api/v1/me/preferences", admin, "", `{"language":""}`); status != http.StatusOK {
		t.Fatal(status)
	}
	var me map[string]any
	for end := time.Now().Add(3 * time.Second); ; {
		_, _, me = langDo(t, s, "GET", "/api/v1/me", admin, "en", "")
		if me["language"] == "en" || time.Now().After(end) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if me["language"] != "en" || me["preferences"].(map[string]any)["language"] != nil {
		t.Errorf("after clearing, GET /me language = %v, preferences %v; want en from the header, none saved", me["language"], me["preferences"])
	}
}

// TestSMSTextInTheLanguage: the code's text message is written in the
// employee's language: server words and the code, plural minutes.
func TestSMSTextInTheLanguage(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "ivan", "ivan-password")
	full, _ := s.Login(t, "ivan", "ivan-password")
	if status, _, b := langDo(t, s, "PUT", "/api/v1/me/preferences", full, "", `{"language":"ru"}`); status != http.StatusOK {
		t.Fatal(status, b)
	}
	if r := s.Do(t, "POST", "/api/v1/me/phone", full, map[string]string{"phone": "+14155550143"}); r.Status != http.StatusOK {
		t.Fatalf("POST /me/phone = %d %s", r.Status, r.Body)
	}
	msgs := s.Do(t, "GET", "/api/v1/dev/sms", "", nil).JSON(t)["messages"].([]any)
	if len(msgs) != 1 {
		t.Fatalf("outbox = %v", msgs)
	}
	m := msgs[0].(map[string]any)
	want := "Код для входа в Deadbolt: " + m["code"].(string) + ". Действует 5 минут. Никому его не сообщайте."
	if m["body"] != want {
		t.Errorf("SMS body = %q, want %q", m["body"], want)
	}
}
