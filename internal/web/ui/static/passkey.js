// Passkeys (WebAuthn) on Deadbolt's pages: adding one on the Security page
// and in the setup wizard, signing in with one (a button, and the
// browser's autofill where it offers passkeys), the second step after the
// password, and a fresh proof. The server sends the options as JSON and
// takes back PublicKeyCredential.toJSON().
(function () {
  // text is the page's words for key (the data block #i18n-js).
  function text(key) {
    try {
      var m = JSON.parse(document.getElementById("i18n-js").textContent)[key];
      if (typeof m === "string") { return m; }
    } catch (e) {
      // No words: the key shows.
    }
    return key;
  }
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) {
    document.querySelectorAll("[data-passkey]").forEach(function (el) { el.hidden = true; });
    document.querySelectorAll("[data-passkey-unsupported]").forEach(function (el) { el.hidden = false; });
    return;
  }

  // base64url <-> ArrayBuffer, for browsers without the JSON helpers.
  function toBuffer(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }
  function toB64(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function creationOptions(o) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) { return PublicKeyCredential.parseCreationOptionsFromJSON(o); }
    o = Object.assign({}, o);
    o.challenge = toBuffer(o.challenge);
    o.user = Object.assign({}, o.user, { id: toBuffer(o.user.id) });
    o.excludeCredentials = (o.excludeCredentials || []).map(function (c) { return Object.assign({}, c, { id: toBuffer(c.id) }); });
    return o;
  }
  function requestOptions(o) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) { return PublicKeyCredential.parseRequestOptionsFromJSON(o); }
    o = Object.assign({}, o);
    o.challenge = toBuffer(o.challenge);
    o.allowCredentials = (o.allowCredentials || []).map(function (c) { return Object.assign({}, c, { id: toBuffer(c.id) }); });
    return o;
  }
  function credentialJSON(c) {
    if (typeof c.toJSON === "function") { return c.toJSON(); }
    var r = c.response, out = { id: c.id, rawId: toB64(c.rawId), type: c.type,
      authenticatorAttachment: c.authenticatorAttachment || undefined,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {}, response: {} };
    out.response.clientDataJSON = toB64(r.clientDataJSON);
    if (r.attestationObject) {
      out.response.attestationObject = toB64(r.attestationObject);
      if (r.getTransports) { out.response.transports = r.getTransports(); }
      if (r.getAuthenticatorData) { out.response.authenticatorData = toB64(r.getAuthenticatorData()); }
      if (r.getPublicKey && r.getPublicKey()) { out.response.publicKey = toB64(r.getPublicKey()); }
      if (r.getPublicKeyAlgorithm) { out.response.publicKeyAlgorithm = r.getPublicKeyAlgorithm(); }
    } else {
      out.response.authenticatorData = toB64(r.authenticatorData);
      out.response.signature = toB64(r.signature);
      if (r.userHandle) { out.response.userHandle = toB64(r.userHandle); }
    }
    return out;
  }

  // post sends JSON to the API with the session cookie and resolves to
  // {ok, status, body}.
  function post(path, body) {
    return fetch(path, { method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, status: r.status, body: b }; }); });
  }
  function apiError(res) {
    var e = new Error(res.body && res.body.error ? res.body.error.message : text("js.passkey.failed"));
    e.code = res.body && res.body.error ? res.body.error.code : "";
    return e;
  }
  function say(el, text) {
    if (!el) { return; }
    el.textContent = text;
    el.hidden = !text;
  }
  // Where a finished sign-in goes: home, or setup when the session is
  // limited to it.
  function afterSignIn(body) {
    window.location.href = body && body.state === "setup_required" ? "/security/2fa/setup" : "/";
  }
  // The browser's own words for a dismissed or failed ceremony.
  function ceremonyError(err) {
    if (err && err.name === "NotAllowedError") { return text("js.passkey.cancelled"); }
    if (err && err.name === "InvalidStateError") { return text("js.passkey.exists"); }
    return err && err.message ? err.message : text("js.passkey.failed");
  }
  function reauth() {
    window.location.href = "/security/reauth?next=" + encodeURIComponent(window.location.pathname);
  }

  // Adding a passkey (Security page, setup wizard).
  var addForm = document.getElementById("passkey-add-form");
  if (addForm) {
    var addError = document.getElementById("passkey-error");
    addForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var name = document.getElementById("passkey-name").value;
      var button = document.getElementById("passkey-add");
      button.disabled = true;
      say(addError, "");
      post("/api/v1/me/passkeys/options").then(function (res) {
        if (!res.ok) { throw apiError(res); }
        return navigator.credentials.create({ publicKey: creationOptions(res.body.publicKey) });
      }).then(function (cred) {
        return post("/api/v1/me/passkeys", { name: name, credential: credentialJSON(cred) });
      }).then(function (res) {
        if (!res.ok) { throw apiError(res); }
        document.getElementById("passkey-done").submit();
      }).catch(function (err) {
        button.disabled = false;
        if (err.code === "reauth_required") { reauth(); return; }
        say(addError, ceremonyError(err));
      });
    });
  }

  // Signing in without a login: the button, and autofill.
  var signin = document.getElementById("passkey-signin");
  var signinError = document.getElementById("passkey-signin-error");
  var conditional = null;
  function signInWith(mediation) {
    var abort = new AbortController();
    return post("/api/v1/login/passkey/begin").then(function (res) {
      if (!res.ok) { throw apiError(res); }
      var req = { publicKey: requestOptions(res.body.publicKey), signal: abort.signal };
      if (mediation) { req.mediation = mediation; }
      if (mediation === "conditional") { conditional = abort; }
      return navigator.credentials.get(req).then(function (cred) {
        return post("/api/v1/login/passkey/finish", { id: res.body.id, credential: credentialJSON(cred) });
      });
    }).then(function (res) {
      if (!res.ok) { throw apiError(res); }
      afterSignIn(res.body);
    });
  }
  if (signin) {
    signin.hidden = false;
    signin.addEventListener("click", function () {
      if (conditional) { conditional.abort(); conditional = null; }
      say(signinError, "");
      signInWith(null).catch(function (err) { say(signinError, ceremonyError(err)); });
    });
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (!ok) { return; }
        signInWith("conditional").catch(function (err) {
          if (err && err.name === "AbortError") { return; }
          say(signinError, ceremonyError(err));
        });
      });
    }
  }

  // The second step after the password, and a fresh proof.
  var verify = document.getElementById("passkey-verify");
  if (verify) {
    verify.addEventListener("click", function () {
      var errorEl = document.getElementById("passkey-verify-error");
      verify.disabled = true;
      say(errorEl, "");
      post("/api/v1/login/passkey/options").then(function (res) {
        if (!res.ok) { throw apiError(res); }
        return navigator.credentials.get({ publicKey: requestOptions(res.body.publicKey) });
      }).then(function (cred) {
        return post("/api/v1/login/second-factor", { method: "passkey", credential: credentialJSON(cred) });
      }).then(function (res) {
        if (!res.ok) { throw apiError(res); }
        afterSignIn(res.body);
      }).catch(function (err) {
        verify.disabled = false;
        if (err.code === "unauthorized") { window.location.href = "/login"; return; }
        say(errorEl, ceremonyError(err));
      });
    });
  }
  var again = document.getElementById("reauth-passkey");
  if (again) {
    again.addEventListener("click", function () {
      var errorEl = document.getElementById("reauth-passkey-error");
      again.disabled = true;
      say(errorEl, "");
      post("/api/v1/me/reauth/passkey/options").then(function (res) {
        if (!res.ok) { throw apiError(res); }
        return navigator.credentials.get({ publicKey: requestOptions(res.body.publicKey) });
      }).then(function (cred) {
        return post("/api/v1/me/reauth", { method: "passkey", credential: credentialJSON(cred) });
      }).then(function (res) {
        if (!res.ok) { throw apiError(res); }
        document.getElementById("reauth-continue").submit();
      }).catch(function (err) {
        again.disabled = false;
        say(errorEl, ceremonyError(err));
      });
    });
  }
})();
