// Counts down the wait before another SMS code may be asked for.
(function () {
  var note = document.getElementById("resend-note");
  if (!note) { return; }
  var left = parseInt(note.getAttribute("data-seconds"), 10) || 0;
  var button = document.getElementById("send-sms");
  if (button && left > 0) { button.disabled = true; }
  var timer = setInterval(function () {
    left--;
    if (left <= 0) {
      clearInterval(timer);
      note.textContent = "You can ask for a new code now.";
      if (button) { button.disabled = false; }
      return;
    }
    note.textContent = "You can ask for a new code in " + left + " seconds.";
  }, 1000);
})();

// Waits for the push approval without reloading: a long poll that the
// server answers as soon as the phone decides. The number's element names
// the status to poll (data-status-url, the sign-in's by default) and, for a
// confirmation, the form that carries on once approved (data-continue);
// a sign-in goes home.
(function () {
  var el = document.getElementById("push-number");
  if (!el) { return; }
  var id = el.getAttribute("data-push-id");
  var url = el.getAttribute("data-status-url") || "/api/v1/login/push/" + encodeURIComponent(id);
  var next = el.getAttribute("data-continue");
  var status = document.getElementById("push-status");
  document.querySelectorAll(".no-js-only").forEach(function (n) { n.hidden = true; });
  var failures = 0;
  function say(text) { status.textContent = text; }
  function approved() {
    var form = next && document.getElementById(next);
    if (form) {
      say("Approved. Carrying on…");
      form.submit();
      return;
    }
    say("Approved. Signing you in…");
    window.location.href = "/";
  }
  function wait() {
    fetch(url + "?wait=25", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        failures = 0;
        if (!res.ok) {
          say(res.body && res.body.error ? res.body.error.message : "Something went wrong. Try another method.");
          if (res.body && res.body.error && res.body.error.code === "unauthorized") { window.location.href = "/login"; }
          return;
        }
        switch (res.body.status) {
          case "approved": approved(); return;
          case "denied": say("The request was denied on your phone. Send a new request or use another method."); return;
          case "expired": say("The request expired. Send a new request or use another method."); return;
          default: wait();
        }
      })
      .catch(function () {
        failures++;
        say("Connection lost. Retrying…");
        setTimeout(wait, Math.min(30000, 500 * Math.pow(2, failures)));
      });
  }
  wait();
})();
