// The scripts of the second-factor and confirmation pages. Their words
// come from the page's data block (#i18n-js, the catalogue's "js." texts
// in the page's language).
(function () {
  var messages = {};
  try {
    messages = JSON.parse(document.getElementById("i18n-js").textContent) || {};
  } catch (e) {
    messages = {};
  }
  var lang = document.documentElement.lang || "en";
  var rules = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang) : null;
  // t returns the text of key with {name} replaced by args[name]; a text
  // with plural forms is chosen by args.n.
  function t(key, args) {
    var m = messages[key];
    args = args || {};
    if (m && typeof m === "object") {
      var form = rules && typeof args.n === "number" ? rules.select(args.n) : "other";
      m = m[form] || m.other;
    }
    if (typeof m !== "string") { return key; }
    return m.replace(/\{([a-zA-Z][a-zA-Z0-9_]*)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(args, name) ? String(args[name]) : all;
    });
  }
  function duration(seconds) {
    if (seconds < 120) { return t("js.duration.seconds", { n: Math.max(1, Math.ceil(seconds)) }); }
    return t("js.duration.minutes", { n: Math.ceil(seconds / 60) });
  }
  window.deadboltT = t;

  // Counts down the wait before another SMS code may be asked for.
  (function () {
    var note = document.getElementById("resend-note");
    if (!note) { return; }
    var left = parseInt(note.getAttribute("data-seconds"), 10) || 0;
    var button = document.getElementById("send-sms");
    if (left <= 0) { return; }
    if (button) { button.disabled = true; }
    var timer = setInterval(function () {
      left--;
      if (left <= 0) {
        clearInterval(timer);
        note.textContent = t("js.sms.resend_now");
        if (button) { button.disabled = false; }
        return;
      }
      note.textContent = t("js.sms.resend_in", { n: left });
    }, 1000);
  })();

  // Waits for the push approval without reloading: a long poll that the
  // server answers as soon as the phone decides. The number's element names
  // the status to poll (data-status-url, the sign-in's by default) and, for
  // a confirmation, the form that carries on once approved
  // (data-continue); a sign-in goes home. Once the request is over, the
  // number leaves the screen: it can no longer be used.
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
    function over() {
      var live = document.getElementById("push-live");
      if (live) { live.hidden = true; }
    }
    // ended takes the dead number off the screen and puts the way forward
    // — a new request, with a new number — in its place, focused so that
    // Enter sends it.
    function ended(text) {
      over();
      say(text);
      var resend = document.getElementById("push-resend") || document.getElementById("reauth-push-send");
      if (resend && !resend.hidden) {
        resend.classList.remove("link");
        resend.focus();
      }
    }
    function approved() {
      var form = next && document.getElementById(next);
      if (form) {
        say(t("js.push.approved_continue"));
        form.submit();
        return;
      }
      say(t("js.push.approved"));
      window.location.href = "/";
    }
    function reported(body) {
      over();
      say(t("js.push.reported", { duration: duration(body.retry_after || 3600) }));
      var resend = document.getElementById("push-resend-form") || document.getElementById("reauth-push-send");
      if (resend) { resend.hidden = true; }
      var other = document.getElementById("other-methods");
      if (other) {
        other.open = true;
        var first = other.querySelector("a");
        if (first) { first.focus(); }
      }
    }
    function wait() {
      fetch(url + "?wait=25", { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          failures = 0;
          if (!res.ok) {
            over();
            say(res.body && res.body.error ? res.body.error.message : t("js.push.error"));
            if (res.body && res.body.error && res.body.error.code === "unauthorized") {
              window.location.href = "/login?msg=signin_expired";
            }
            return;
          }
          switch (res.body.status) {
            case "approved": approved(); return;
            case "denied":
              if (res.body.reported) { reported(res.body); return; }
              ended(t("js.push.denied"));
              return;
            case "expired": ended(t("js.push.expired")); return;
            default: wait();
          }
        })
        .catch(function () {
          failures++;
          say(t("js.push.retrying"));
          setTimeout(wait, Math.min(30000, 500 * Math.pow(2, failures)));
        });
    }
    wait();
  })();
})();
