package browsertest

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"deadbolt/internal/deadbolttest"
)

// linkPhone links e164 to the account of token through the API, with the
// code from the development outbox.
func linkPhone(t *testing.T, s *deadbolttest.Server, token, e164 string) {
	t.Helper()
	before := len(smsOutbox(t, s, e164))
	if r := s.Do(t, "POST", "/api/v1/me/phone", token, map[string]string{"phone": e164}); r.Status/100 != 2 {
		t.Fatalf("POST /api/v1/me/phone = %d %s", r.Status, r.Body)
	}
	code := smsCode(t, s, e164, before, "Test ")
	if r := s.Do(t, "POST", "/api/v1/me/phone/confirm", token, map[string]string{"code": code}); r.Status/100 != 2 {
		t.Fatalf("POST /api/v1/me/phone/confirm = %d %s", r.Status, r.Body)
	}
}

// secondsIn reads the number of seconds a resend note names.
var secondsIn = regexp.MustCompile(`(\d+) second`)

// TestSMSSignInCountdown: after "Send code" the code field has the focus,
// the page names the wait before a new code and counts it down, the send
// button waits it out, coming back to the page (or asking again early)
// does not forget that a code was sent, too many wrong codes name how
// long to wait, and the right code typed with Enter signs in.
func TestSMSSignInCountdown(t *testing.T) {
	const e164 = "+14155550143"
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "finn", "finn-password")
	token, _ := s.Login(t, "finn", "finn-password")
	linkPhone(t, s, token, e164)
	pairByAPI(t, s, token)
	tab := Start(t).NewTab("employee")

	signInTo(tab, s.URL, "finn", "finn-password", "#push-number")
	before := len(smsOutbox(t, s, e164))
	tab.Do("choose SMS code",
		chromedp.Click(chromedp.CSS("#other-methods summary")),
		chromedp.Click(chromedp.ID("method-sms")),
		chromedp.WaitVisible(chromedp.ID("send-sms")),
	)
	tab.Do("send the code with the keyboard",
		markPage(),
		chromedp.Focus(chromedp.ID("send-sms")),
		chromedp.KeyEvent(kb.Enter),
		newPage(),
		chromedp.WaitVisible(chromedp.ID("sms-sent")),
	)
	tab.Axe("SMS code sent")
	code := smsCode(t, s, e164, before, "Test finn")
	if focused := Run(tab, "the code field has the focus", chromedp.Evaluate[string](`document.activeElement && document.activeElement.id`)); focused != "code" {
		tab.Fatalf("the code field has the focus", "after sending, the focus is on %q, want the code field", focused)
	}
	note := Run(tab, "read the wait", chromedp.Text(chromedp.ID("resend-note")))
	m := secondsIn.FindStringSubmatch(note)
	if m == nil {
		tab.Fatalf("read the wait", "the page says %q, want it to name the seconds until a new code", note)
	}
	first, _ := strconv.Atoi(m[1])
	if first < 50 || first > 60 {
		tab.Fatalf("read the wait", "the page names %d seconds, want about 60", first)
	}
	if disabled := Run(tab, "the send button waits", chromedp.Evaluate[bool](`document.getElementById("send-sms").disabled`)); !disabled {
		tab.Fatalf("the send button waits", "the send button can be pressed during the countdown")
	}
	tab.Do("the countdown ticks", chromedp.Poll[chromedp.Void](
		`(() => { const m = /(\d+) second/.exec(document.getElementById("resend-note").textContent); return m && Number(m[1]) < `+strconv.Itoa(first)+` })()`))

	// Back to the page: the code sent is not forgotten.
	tab.Do("come back to the SMS page",
		chromedp.Navigate(s.URL+"/login/verify?method=sms"),
		chromedp.WaitVisible(chromedp.ID("sms-sent")),
		chromedp.WaitVisible(chromedp.ID("resend-note")),
	)
	// Asking again early (the form sent without the button): refused, and
	// the page still says a code was sent and how long to wait.
	tab.Do("ask for a new code early",
		markPage(),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("send-sms").form.submit()`),
		newPage(),
		chromedp.WaitVisible(chromedp.ID("error")),
	)
	tab.Do("the page still knows the code was sent", chromedp.WaitVisible(chromedp.ID("sms-sent")), chromedp.WaitVisible(chromedp.ID("resend-note")))
	if errText := Run(tab, "read the refusal", chromedp.Text(chromedp.ID("error"))); !secondsIn.MatchString(errText) {
		tab.Fatalf("read the refusal", "an early resend says %q, want it to name the seconds to wait", errText)
	}
	if n := len(smsOutbox(t, s, e164)); n != before+1 {
		tab.Fatalf("ask for a new code early", "the outbox holds %d new messages, want 1: an early resend sends nothing", n-before)
	}
	tab.Axe("SMS code asked for early")

	// Wrong codes until the delays start: the page names how long to wait.
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	var said string
	for i := 0; i < 7 && !strings.Contains(said, "again in"); i++ {
		tab.Do("type a wrong code "+strconv.Itoa(i+1),
			chromedp.WaitVisible(chromedp.ID("code")),
			markPage(),
			chromedp.SendKeys(chromedp.ID("code"), wrong+kb.Enter),
			newPage(),
			chromedp.WaitVisible(chromedp.ID("error")),
		)
		said = Run(tab, "read the error", chromedp.Text(chromedp.ID("error")))
	}
	if !strings.Contains(said, "again in") || !secondsIn.MatchString(said) && !strings.Contains(said, "minute") {
		tab.Fatalf("read the error", "after repeated wrong codes the page says %q, want it to name how long to wait", said)
	}
	tab.Axe("too many wrong SMS codes")

	// Once the waits are over, a new code typed with Enter signs in. The
	// page opened already says a code was sent: only a new page is the
	// server's answer to sending another.
	s.Advance(t, 61*time.Second)
	before = len(smsOutbox(t, s, e164))
	tab.Do("send a new code",
		chromedp.Navigate(s.URL+"/login/verify?method=sms"),
		chromedp.WaitEnabled(chromedp.ID("send-sms")),
		markPage(),
		chromedp.Click(chromedp.ID("send-sms")),
		newPage(),
		chromedp.WaitVisible(chromedp.ID("sms-sent")),
	)
	code = smsCode(t, s, e164, before, "Test finn")
	tab.Do("sign in with the new code and Enter",
		chromedp.SendKeys(chromedp.ID("code"), code+kb.Enter),
		chromedp.WaitVisible(chromedp.ID("welcome")),
	)
}

// TestNoSMSProvider: a server that cannot send text messages offers no
// "Enter phone number" and no SMS sign-in; it says why on the Security
// page and on the phone page, and for a number linked earlier.
func TestNoSMSProvider(t *testing.T) {
	const e164 = "+14155550143"
	// Linked while SMS worked (development mode's outbox)...
	s1 := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s1.AdminToken(t)
	s1.CreateUser(t, admin, "hana", "hana-password")
	s1.CreateUser(t, admin, "ivan", "ivan-password")
	token, _ := s1.Login(t, "hana", "hana-password")
	linkPhone(t, s1, token, e164)
	pairByAPI(t, s1, token)
	r := s1.Do(t, "POST", "/api/v1/me/recovery-codes", token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("POST /api/v1/me/recovery-codes = %d %s", r.Status, r.Body)
	}
	codes, _ := r.JSON(t)["codes"].([]any)
	if len(codes) != 10 {
		t.Fatalf("POST /api/v1/me/recovery-codes = %s, want 10 codes", r.Body)
	}
	if err := s1.Stop(); err != nil {
		t.Fatal(err)
	}
	// ...then the same database served without an SMS provider.
	s := deadbolttest.StartServer(t, deadbolttest.Options{Database: s1.Database, NoDev: true})
	b := Start(t)

	tab := b.NewTab("ivan")
	signInTo(tab, s.URL, "ivan", "ivan-password", "#welcome")
	tab.Do("open Security", chromedp.Navigate(s.URL+"/security"), chromedp.WaitVisible(chromedp.ID("sms-block")))
	tab.Axe("Security page without SMS")
	if n := Run(tab, "no phone number offered", chromedp.Evaluate[int](`document.querySelectorAll("#phone-add, #phone").length`)); n != 0 {
		tab.Fatalf("no phone number offered", "the Security page offers to enter a phone number on a server that cannot send SMS")
	}
	if off := Run(tab, "read why", chromedp.Text(chromedp.ID("sms-off"))); !strings.Contains(off, "cannot send text messages") {
		tab.Fatalf("read why", "the SMS block says %q, want it to say the server cannot send text messages", off)
	}
	tab.Do("open the phone page", chromedp.Navigate(s.URL+"/security/phone"), chromedp.WaitVisible(chromedp.ID("sms-off")))
	if n := Run(tab, "no phone form", chromedp.Evaluate[int](`document.querySelectorAll("#phone, #phone-next").length`)); n != 0 {
		tab.Fatalf("no phone form", "the phone page asks for a number on a server that cannot send SMS")
	}
	tab.Axe("phone page without SMS")

	tab = b.NewTab("hana")
	signInTo(tab, s.URL, "hana", "hana-password", "#second-factor")
	if n := Run(tab, "no SMS sign-in", chromedp.Evaluate[int](`document.querySelectorAll("#method-sms, #send-sms").length`)); n != 0 {
		tab.Fatalf("no SMS sign-in", "the second-factor page offers SMS on a server that cannot send it")
	}
	tab.Do("sign in with a recovery code",
		chromedp.Navigate(s.URL+"/login/verify?method=recovery"),
		chromedp.WaitVisible(chromedp.ID("code")),
		chromedp.SendKeys(chromedp.ID("code"), codes[0].(string)+kb.Enter),
		chromedp.WaitVisible(chromedp.ID("welcome")),
	)
	tab.Do("open Security", chromedp.Navigate(s.URL+"/security"), chromedp.WaitVisible(chromedp.ID("phone-masked")))
	if n := Run(tab, "no change offered", chromedp.Evaluate[int](`document.querySelectorAll("#phone-change").length`)); n != 0 {
		tab.Fatalf("no change offered", "the Security page offers to change the number on a server that cannot send SMS")
	}
	if off := Run(tab, "read why the number gets no codes", chromedp.Text(chromedp.ID("sms-off"))); !strings.Contains(off, "no codes reach this number") {
		tab.Fatalf("read why the number gets no codes", "the SMS block says %q, want it to say no codes reach the number", off)
	}
}
