package browsertest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"deadbolt/internal/deadbolttest"
)

// TestCompanionAppFollowsChanges: the companion app follows what happens
// elsewhere without a reload — the "type this code on your computer" hint
// goes once the computer confirmed the pairing, and a sign-in request
// leaves the phone when its sign-in is finished by another method, when a
// new request replaces it, when the sign-in is cancelled, and when it
// expires.
func TestCompanionAppFollowsChanges(t *testing.T) {
	deadbolttest.ForEachStore(t, func(t *testing.T, st deadbolttest.Store) {
		s := deadbolttest.StartServer(t, deadbolttest.Options{Store: st})
		admin := s.AdminToken(t)
		s.CreateUser(t, admin, "erin", "erin-password")
		b := Start(t)
		computer := b.NewTab("computer")
		phone := b.NewTab("phone")
		pairCompanion(t, s, computer, phone, "erin", "erin-password")
		phone.Do("the app moves on once the computer confirmed",
			chromedp.WaitNotVisible(chromedp.ID("pairing-hint")),
			chromedp.WaitVisible(chromedp.CSS(`#pair-status[data-state="confirmed"]`)),
		)
		phone.Axe("companion app, pairing confirmed")
		if text := Run(phone, "read the pairing status", chromedp.Text(chromedp.ID("pair-status"))); strings.Contains(text, "type") {
			phone.Fatalf("read the pairing status", "after the confirmation the app still says %q", text)
		}

		// A sign-in finished with a recovery code on the computer: the
		// request leaves the phone.
		codes := strings.Fields(Run(computer, "read recovery codes", chromedp.Text(chromedp.ID("codes"))))
		computer.Do("go home", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.ID("logout")))
		logOut(computer)
		id, _ := pushSignIn(computer, s.URL)
		card := `.request[data-id="` + id + `"]`
		phone.Do("the request arrives", chromedp.WaitVisible(chromedp.CSS(card)))
		computer.Do("sign in with a recovery code",
			chromedp.Click(chromedp.CSS("#other-methods summary")),
			chromedp.Click(chromedp.ID("method-recovery")),
			chromedp.WaitVisible(chromedp.ID("code")),
			chromedp.SendKeys(chromedp.ID("code"), codes[0]+kb.Enter),
			chromedp.WaitVisible(chromedp.ID("welcome")),
		)
		phone.Do("the finished request leaves the phone", chromedp.WaitNotPresent(chromedp.CSS(card)))
		phone.Axe("companion app, request finished elsewhere")

		// A new request replaces the old one on the phone too.
		logOut(computer)
		id, _ = pushSignIn(computer, s.URL)
		card = `.request[data-id="` + id + `"]`
		phone.Do("a request arrives", chromedp.WaitVisible(chromedp.CSS(card)))
		computer.Do("send a new request",
			chromedp.Click(chromedp.ID("push-resend")),
			chromedp.WaitVisible(chromedp.CSS(`#push-number:not([data-push-id="`+id+`"])`)),
		)
		next := Run(computer, "read the new request", chromedp.AttributeValue(chromedp.ID("push-number"), "data-push-id")).Value
		phone.Do("the new request replaces the old",
			chromedp.WaitVisible(chromedp.CSS(`.request[data-id="`+next+`"]`)),
			chromedp.WaitNotPresent(chromedp.CSS(card)),
		)
		// A sign-in given up on the computer: its request leaves the phone.
		computer.Do("cancel the sign-in", chromedp.Click(chromedp.ID("verify-cancel")), chromedp.WaitVisible(chromedp.ID("login-form")))
		phone.Do("the cancelled request leaves the phone", chromedp.WaitNotPresent(chromedp.CSS(`.request[data-id="`+next+`"]`)))

		// A request that expires leaves the phone.
		id, _ = pushSignIn(computer, s.URL)
		card = `.request[data-id="` + id + `"]`
		phone.Do("the next request arrives", chromedp.WaitVisible(chromedp.CSS(card)))
		s.Advance(t, 3*time.Minute)
		phone.Do("the expired request leaves the phone", chromedp.WaitNotPresent(chromedp.CSS(card)))
	})
}

// TestThisWasntMe: "This wasn't me" on the phone makes the computer say
// what happened — reported, requests paused for an hour, use another
// method — and the next sign-in says pushes are paused and opens on
// another method, in Russian too.
func TestThisWasntMe(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "erin", "erin-password")
	b := Start(t)
	computer := b.NewTab("computer")
	phone := b.NewTab("phone")
	pairCompanion(t, s, computer, phone, "erin", "erin-password")
	computer.Do("go home", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.ID("logout")))
	logOut(computer)

	id, _ := pushSignIn(computer, s.URL)
	card := `.request[data-id="` + id + `"]`
	phone.Do("report the request",
		chromedp.WaitVisible(chromedp.CSS(card)),
		chromedp.Click(chromedp.CSS(card+" button.report")),
		chromedp.WaitVisible(chromedp.CSS(card+" button.confirm-report")),
		chromedp.Click(chromedp.CSS(card+" button.confirm-report")),
		chromedp.WaitVisible(chromedp.CSS(`#message[data-state="ok"]`)),
	)
	computer.Do("the computer says what happened",
		chromedp.Poll[chromedp.Void](`document.getElementById("push-status").textContent.includes("not you")`),
		chromedp.WaitNotVisible(chromedp.ID("push-number")),
	)
	phone.Axe("companion app after a report")
	computer.Axe("push reported")
	said := Run(computer, "read what the computer says", chromedp.Text(chromedp.ID("push-status")))
	for _, want := range []string{"paused", "60 minutes", "another method"} {
		if !strings.Contains(said, want) {
			computer.Fatalf("read what the computer says", "the page says %q, want it to hold %q", said, want)
		}
	}
	if open := Run(computer, "the other methods are open", chromedp.Evaluate[bool](`document.getElementById("other-methods").open`)); !open {
		computer.Fatalf("the other methods are open", "after the report the other methods stay folded")
	}
	if n := Run(computer, "no new request offered", chromedp.Evaluate[int](`Array.from(document.querySelectorAll("#push-resend")).filter(e => e.offsetParent !== null).length`)); n != 0 {
		computer.Fatalf("no new request offered", "the page still offers to send a new request while requests are paused")
	}

	// The next sign-in, in Russian: pushes are paused, another method first.
	computer.Do("cancel the sign-in", chromedp.Click(chromedp.ID("verify-cancel")), chromedp.WaitVisible(chromedp.ID("login-form")))
	computer.Do("choose Russian",
		chromedp.Click(chromedp.ID("lang-ru")),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="ru"] #login-form`)),
		chromedp.SendKeys(chromedp.ID("login"), "erin"),
		chromedp.SendKeys(chromedp.ID("password"), "erin-password"+kb.Enter),
		chromedp.WaitVisible(chromedp.ID("second-factor")),
	)
	if n := Run(computer, "no push sent", chromedp.Evaluate[int](`document.querySelectorAll("#push-number").length`)); n != 0 {
		computer.Fatalf("no push sent", "the next sign-in shows a push number while pushes are paused")
	}
	computer.Axe("pushes paused, in Russian")
	flash := Run(computer, "read the paused note", chromedp.Text(chromedp.ID("flash")))
	if !strings.Contains(flash, "приостановлены") || !strings.Contains(flash, "мин") {
		computer.Fatalf("read the paused note", "the page says %q, want it to say in Russian that requests are paused, and for how long", flash)
	}
	computer.Do("another method comes first", chromedp.WaitVisible(chromedp.ID("code")))
	if open := Run(computer, "the other methods are listed", chromedp.Evaluate[bool](`document.getElementById("other-methods").open`)); !open {
		computer.Fatalf("the other methods are listed", "the other methods stay folded while pushes are paused")
	}
}

// TestWrongPushNumber: a wrong number typed on the phone takes the dead
// number off the computer's screen, says the number did not match, and
// puts the focus on sending a new request; Enter sends one with a new
// number, and the phone approves that with the right number.
func TestWrongPushNumber(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "erin", "erin-password")
	b := Start(t)
	computer := b.NewTab("computer")
	phone := b.NewTab("phone")
	pairCompanion(t, s, computer, phone, "erin", "erin-password")
	computer.Do("go home", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.ID("logout")))
	logOut(computer)

	id, number := pushSignIn(computer, s.URL)
	card := `.request[data-id="` + id + `"]`
	wrong := 100000 + (number-100000+1)%900000
	phone.Do("approve with a wrong number",
		chromedp.WaitVisible(chromedp.CSS(card)),
		chromedp.SendKeys(chromedp.CSS(card+" input.number"), strconv.Itoa(wrong)+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#message[data-state="error"]`)),
	)
	computer.Do("the dead number leaves the screen",
		chromedp.WaitNotVisible(chromedp.ID("push-number")),
		chromedp.WaitNotVisible(chromedp.ID("push-instructions")),
		chromedp.WaitVisible(chromedp.ID("push-resend")),
	)
	computer.Axe("push number did not match")
	said := Run(computer, "read the failure", chromedp.Text(chromedp.ID("push-status")))
	if !strings.Contains(said, "did not match") {
		computer.Fatalf("read the failure", "the page says %q, want it to say the number did not match", said)
	}
	if focused := Run(computer, "the way forward has the focus", chromedp.Evaluate[bool](`document.activeElement === document.getElementById("push-resend")`)); !focused {
		computer.Fatalf("the way forward has the focus", "after the failure the focus is not on sending a new request")
	}
	computer.Do("send a new request with Enter",
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#push-number:not([data-push-id="`+id+`"])`)),
	)
	id2 := Run(computer, "read the new request", chromedp.AttributeValue(chromedp.ID("push-number"), "data-push-id")).Value
	groups := Run(computer, "read the new number", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#push-number .group"), g => g.textContent)`))
	card = `.request[data-id="` + id2 + `"]`
	phone.Do("approve the new request",
		chromedp.WaitVisible(chromedp.CSS(card)),
		chromedp.SendKeys(chromedp.CSS(card+" input.number"), strings.Join(groups, "")+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#message[data-state="ok"]`)),
	)
	computer.Do("the computer signs in", chromedp.WaitVisible(chromedp.ID("welcome")))
}

// TestThisWasntMeWithoutJavaScript: in a browser without JavaScript, "I
// approved it on my phone" after a report says that requests are paused
// because one was reported, and opens on another method.
func TestThisWasntMeWithoutJavaScript(t *testing.T) {
	s := deadbolttest.StartServer(t, deadbolttest.Options{})
	admin := s.AdminToken(t)
	s.CreateUser(t, admin, "erin", "erin-password")
	b := Start(t)
	computer := b.NewTab("computer")
	phone := b.NewTab("phone")
	pairCompanion(t, s, computer, phone, "erin", "erin-password")
	computer.Do("go home", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.ID("logout")))
	logOut(computer)
	scripts := func(off bool) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: off})
			return err
		})
	}
	computer.Do("sign in without JavaScript",
		scripts(true),
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login"), "erin"),
		chromedp.SendKeys(chromedp.ID("password"), "erin-password"),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("push-check")),
	)
	id := Run(computer, "read the push request", chromedp.AttributeValue(chromedp.ID("push-number"), "data-push-id")).Value
	card := `.request[data-id="` + id + `"]`
	phone.Do("report the request",
		chromedp.WaitVisible(chromedp.CSS(card)),
		chromedp.Click(chromedp.CSS(card+" button.report")),
		chromedp.WaitVisible(chromedp.CSS(card+" button.confirm-report")),
		chromedp.Click(chromedp.CSS(card+" button.confirm-report")),
		chromedp.WaitVisible(chromedp.CSS(`#message[data-state="ok"]`)),
	)
	computer.Do("check on the computer",
		chromedp.Click(chromedp.ID("push-check")),
		chromedp.WaitVisible(chromedp.ID("code")),
		scripts(false), // to read the page; its own scripts did not run
	)
	flash := Run(computer, "read what happened", chromedp.Text(chromedp.ID("flash")))
	if !strings.Contains(flash, "paused") || !strings.Contains(flash, "not you") {
		computer.Fatalf("read what happened", "the page says %q, want it to say requests are paused because one was reported", flash)
	}
	if n := Run(computer, "no push left", chromedp.Evaluate[int](`document.querySelectorAll("#push-number, #error").length`)); n != 0 {
		computer.Fatalf("no push left", "the page still shows a push number or a bare error after the report")
	}
	computer.Axe("push reported, without JavaScript")
}
