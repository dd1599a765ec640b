// The Deadbolt companion app: pairs this phone with an employee's account,
// shows the current verification code, and approves or denies sign-in
// requests with a signature made by a key that never leaves the device.

import { base32Decode, importSecret, hotp, timeStep, secondsLeft } from "./totp.js";
import { SSEParser } from "./sse.js";
import { b64url, b64urlDecode, signDecision } from "./codec.js";
import { loadDevice, saveDevice, clearDevice, loadLanguage, saveLanguage } from "./db.js";
import { loadMessages, languages, current, pick, use, t, translate } from "./i18n.js";
import { requestDigits, formatInput, parseNumber, scannedNumber } from "./number.js";
import { canScan, scanQR } from "./scan.js";

// The app lives at {base}/app/ and the API at {base}/api/v1/, whatever the
// base path the server is published under.
const APP = new URL("./", import.meta.url);
const API = new URL("../api/v1/", APP);

const LONG_POLL_SECONDS = 25;
const PUSH_SETUP_TIMEOUT = 15000;
const QUICK_STREAM_END = 5000;
const QUICK_POLL_END = 1000;
// A stream silent for this long is taken as dead and opened again (the
// server sends a comment every 15 s).
const STREAM_IDLE = 45000;

const state = {
  device: null, // the stored record (see pair)
  totpKey: null,
  lastStep: null,
  clockOffset: 0, // server clock minus local clock, in ms
  devClock: null, // true when the server runs a development clock
  cards: new Map(), // request id -> {request, el, seq}
  decided: new Set(), // ids answered from this screen
  seq: 0,
  delivery: null, // AbortController of the delivery loop
  wakers: new Set(), // resolves pending waits of the long poll loop
  ticker: null,
};

const $ = (sel, root = document) => root.querySelector(sel);

// ApiError is an error answer of the API.
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// Disconnected is thrown once the server said the device is disconnected;
// the screen has been switched already.
class Disconnected extends Error {}

function now() {
  return Date.now() + state.clockOffset;
}

function authHeaders() {
  const h = {};
  if (state.device && state.device.device_token) {
    h.Authorization = "Bearer " + state.device.device_token;
  }
  return h;
}

// api calls the device API and returns the decoded answer. It throws
// ApiError on an error answer, and Disconnected after handling a 401
// device_disconnected.
async function api(method, path, body, signal) {
  const headers = { Accept: "application/json", ...authHeaders() };
  const init = { method, headers, signal, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(new URL(path, API), init);
  let data = null;
  try {
    data = await resp.json();
  } catch {
    data = null;
  }
  if (!resp.ok) {
    await throwError(resp.status, data);
  }
  return data;
}

async function throwError(status, data) {
  const e = (data && data.error) || {};
  if (status === 401 && e.code === "device_disconnected") {
    await disconnected();
    throw new Disconnected("device disconnected");
  }
  throw new ApiError(status, e.code || "http_" + status, e.message || t("app.error.status", { status }));
}

// ---- Screens --------------------------------------------------------------

const SCREENS = ["loading", "unsupported", "disconnected", "welcome", "main"];

function show(name) {
  for (const id of SCREENS) {
    $("#" + id).hidden = id !== name;
  }
}

function setStatus(id, kind, text) {
  const el = $("#" + id);
  el.textContent = text;
  el.dataset.state = kind;
  el.hidden = !text;
}

// NOTICES are the changes to the account's factors the server tells this
// device about; their words are the catalogue's "app.notice.<type>".
const NOTICES = [
  "phone.linked",
  "phone.removed",
  "admin.phone_removed",
  "recovery_codes.generated",
  "admin.exempted",
  "admin.unlocked",
  "push.reported",
  "signin.second_factor_locked",
  "passkey.added",
  "passkey.removed",
  "passkey.renamed",
  "passkey.counter_regressed",
];

function showNotice(type) {
  if (NOTICES.includes(type)) {
    // Its own line, so that it does not hide what a decision just said.
    setStatus("notice", "info", t("app.notice." + type) + " " + t("app.notice.contact"));
  }
}

function message(kind, text) {
  setStatus("message", kind, text);
}

// ---- Pairing --------------------------------------------------------------

function deviceName() {
  const ua = navigator.userAgent;
  let os = "";
  if (/Android/.test(ua)) os = "Android";
  else if (/iPhone|iPad|iPod/.test(ua)) os = "iOS";
  else if (/Windows/.test(ua)) os = "Windows";
  else if (/Mac OS X/.test(ua)) os = "macOS";
  else if (/CrOS/.test(ua)) os = "ChromeOS";
  else if (/Linux/.test(ua)) os = "Linux";
  let br = t("app.device.browser");
  if (/Edg\//.test(ua)) br = "Edge";
  else if (/SamsungBrowser/.test(ua)) br = "Samsung Internet";
  else if (/Firefox\/|FxiOS/.test(ua)) br = "Firefox";
  else if (/Chrome\/|CriOS/.test(ua)) br = "Chrome";
  else if (/Safari\//.test(ua)) br = "Safari";
  return os ? t("app.browser_on", { browser: br, os }) : br;
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out")), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function sameBytes(a, b) {
  if (!a || !b) return false;
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

// pushSubscription subscribes to Web Push with the server's VAPID key and
// returns the subscription's JSON, or null when the browser cannot or the
// person does not allow it. It never throws.
async function pushSubscription() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    return null;
  }
  try {
    return await withTimeout(
      (async () => {
        const reg = await navigator.serviceWorker.ready;
        const { public_key: key } = await api("GET", "device/vapid");
        const appKey = b64urlDecode(key);
        let sub = await reg.pushManager.getSubscription();
        if (sub && !sameBytes(sub.options.applicationServerKey, appKey)) {
          await sub.unsubscribe();
          sub = null;
        }
        if (!sub) {
          if (Notification.permission === "default") {
            await Notification.requestPermission();
          }
          if (Notification.permission !== "granted") {
            return null;
          }
          sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: appKey });
        }
        return sub.toJSON();
      })(),
      PUSH_SETUP_TIMEOUT,
    );
  } catch {
    return null;
  }
}

// pair registers this device with the one-time token from the QR code.
async function pair(token) {
  show("loading");
  setStatus("pair-status", "pairing", t("app.pair.pairing"));
  state.device = null;
  let keys;
  let publicKey;
  try {
    keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    publicKey = b64url(await crypto.subtle.exportKey("spki", keys.publicKey));
  } catch {
    setStatus("pair-status", "error", t("app.pair.no_key"));
    show("welcome");
    return;
  }
  const body = { token, public_key: publicKey, name: deviceName(), platform: "web" };
  const webpush = await pushSubscription();
  if (webpush) {
    body.webpush = webpush;
  }
  let answer;
  try {
    answer = await api("POST", "device/pair", body);
  } catch (e) {
    if (webpush && e instanceof ApiError && e.status === 400) {
      // The subscription is optional: pair without it rather than fail.
      delete body.webpush;
      try {
        answer = await api("POST", "device/pair", body);
      } catch (e2) {
        return pairFailed(e2);
      }
    } else {
      return pairFailed(e);
    }
  }
  // The TOTP secret is kept only inside a non-extractable HMAC key, so no
  // script can read it back.
  const params = answer.totp || {};
  let totpKey;
  try {
    totpKey = await importSecret(base32Decode(params.secret || ""), params.algorithm || "SHA1");
  } catch {
    setStatus("pair-status", "error", t("app.pair.bad_totp"));
    show("welcome");
    return;
  }
  const device = {
    device_id: answer.device_id,
    device_token: answer.device_token,
    totp: { key: totpKey, algorithm: params.algorithm || "SHA1", digits: params.digits || 6, period: params.period || 30 },
    account: answer.account,
    keys,
    push: Boolean(body.webpush),
    paired_at: new Date().toISOString(),
  };
  try {
    await saveDevice(device);
  } catch {
    setStatus("pair-status", "error", t("app.pair.no_storage"));
    show("welcome");
    return;
  }
  setStatus("pair-status", "paired", t("app.pair.paired"));
  await startMain(device);
}

function pairFailed(e) {
  const text = e instanceof ApiError ? e.message : t("app.pair.unreachable");
  setStatus("pair-status", "error", t("app.pair.failed", { reason: text }));
  show("welcome");
}

// ---- Main screen ----------------------------------------------------------

function renderAccount(account) {
  $("#account .account-name").textContent = (account && (account.name || account.login)) || "";
  $("#account .account-login").textContent = account && account.name && account.login ? account.login : "";
}

async function startMain(device) {
  state.device = device;
  renderAccount(device.account);
  state.totpKey = (device.totp && device.totp.key) || null;
  $("#pairing-hint").hidden = true;
  show("main");
  state.lastStep = null;
  startTicker();
  await syncClock();
  refreshDevice();
  restartDelivery();
}

// refreshDevice reads the device's account and whether its pairing was
// confirmed.
async function refreshDevice() {
  try {
    const d = await api("GET", "device");
    if (d.account) {
      state.device.account = d.account;
      renderAccount(d.account);
    }
    // While the pairing waited for the computer the screen said to type
    // the code there: once confirmed, it says so instead.
    const waiting = $("#pair-status").dataset.state === "paired";
    $("#pairing-hint").hidden = !!d.trusted;
    if (d.trusted && waiting) {
      setStatus("pair-status", "confirmed", t("app.pair.confirmed"));
    } else if (d.trusted) {
      setStatus("pair-status", "", "");
    }
  } catch {
    // Shown again on the next open; a disconnection was handled by api.
  }
}

// syncClock follows the server's development clock, which tests may shift;
// without development mode the path does not exist and the phone's own
// clock is used.
async function syncClock() {
  if (state.devClock === false) {
    return;
  }
  try {
    const t0 = Date.now();
    const resp = await fetch(new URL("dev/clock", API), { cache: "no-store", credentials: "omit" });
    const t1 = Date.now();
    if (!resp.ok) {
      state.devClock = false;
      return;
    }
    const server = Date.parse((await resp.json()).now);
    if (!Number.isNaN(server)) {
      state.devClock = true;
      state.clockOffset = server - (t0 + t1) / 2;
      state.lastStep = null;
    }
  } catch {
    // Keep the last offset.
  }
}

function period() {
  return (state.device && state.device.totp && state.device.totp.period) || 30;
}

function digits() {
  return (state.device && state.device.totp && state.device.totp.digits) || 6;
}

function startTicker() {
  if (state.ticker !== null) {
    clearTimeout(state.ticker);
  }
  const tick = () => {
    state.ticker = setTimeout(tick, 1000 - (Date.now() % 1000) + 10);
    onTick();
  };
  tick();
}

function stopTicker() {
  if (state.ticker !== null) {
    clearTimeout(state.ticker);
    state.ticker = null;
  }
}

async function onTick() {
  const at = now();
  const p = period();
  const left = secondsLeft(at, p);
  $("#totp-remaining").textContent = t("app.code.seconds", { n: left });
  const bar = $("#totp-progress");
  bar.max = p;
  bar.value = left;
  const step = timeStep(at, p);
  if (step !== state.lastStep && state.totpKey) {
    state.lastStep = step;
    if (state.devClock) {
      syncClock();
    }
    const code = await hotp(state.totpKey, step, digits());
    if (state.lastStep === step) {
      showCode(code);
    }
  }
  for (const [id, c] of state.cards) {
    updateExpiry(id, c, at);
  }
}

function showCode(code) {
  const out = $("#totp-code");
  const half = Math.ceil(code.length / 2);
  const a = document.createElement("span");
  const b = document.createElement("span");
  a.textContent = code.slice(0, half);
  b.textContent = code.slice(half);
  out.replaceChildren(a, b);
  out.dataset.code = code;
}

// ---- Sign-in requests -----------------------------------------------------

function textOr(v, fallback) {
  return typeof v === "string" && v.trim() ? v : fallback === undefined ? t("app.unknown") : fallback;
}

function formatTime(v) {
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) {
    return textOr(v);
  }
  return new Date(ms).toLocaleString(current(), { dateStyle: "medium", timeStyle: "medium" });
}

function addRequest(r) {
  if (!r || typeof r.id !== "string" || !r.id || state.cards.has(r.id) || state.decided.has(r.id)) {
    return;
  }
  const expires = Date.parse(r.expires_at);
  if (!Number.isNaN(expires) && expires <= now()) {
    return;
  }
  const ctx = r.context || {};
  const el = $("#request-template").content.firstElementChild.cloneNode(true);
  el.dataset.id = r.id;
  const reauth = r.purpose === "reauth";
  if (reauth) {
    // A fresh proof for a factor change, not a sign-in.
    el.dataset.purpose = "reauth";
    $(".request-title", el).dataset.i18n = "app.request.reauth_title";
    $(".request-purpose", el).hidden = false;
    $(".ctx-app-label", el).dataset.i18n = "app.request.reauth_app";
  }
  $(".ctx-app", el).textContent = textOr(ctx.app, "Deadbolt");
  const br = ctx.browser === "Unknown browser" ? t("app.device.unknown_browser") : textOr(ctx.browser, "");
  const os = ctx.os === "Unknown system" ? "" : textOr(ctx.os, "");
  $(".ctx-browser", el).textContent = br && os ? t("app.browser_on", { browser: br, os }) : br || os || t("app.unknown");
  $(".ctx-ip", el).textContent = textOr(ctx.ip);
  $(".ctx-time", el).textContent = formatTime(ctx.time || r.created_at);
  const length = requestDigits(r);
  const label = $(".number-label", el);
  label.dataset.i18n = "app.request.number_digits";
  label.dataset.i18nN = String(length);
  translate(el);
  const input = $("input.number", el);
  input.maxLength = length + 1; // the digits and the space between groups
  input.placeholder = "0".repeat(Math.ceil(length / 2)) + " " + "0".repeat(Math.floor(length / 2));
  input.addEventListener("input", () => {
    formatInput(input, length);
    cardError(el, "");
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      decide(r.id, "approve", false);
    }
  });
  const scan = $("button.scan", el);
  if (canScan()) {
    scan.hidden = false;
    scan.addEventListener("click", () => toggleScan(r.id));
  }
  $("button.approve", el).addEventListener("click", () => decide(r.id, "approve", false));
  $("button.deny", el).addEventListener("click", () => decide(r.id, "deny", false));
  $("button.report", el).addEventListener("click", () => {
    $(".report-step", el).hidden = false;
    $("button.report", el).hidden = true;
    $("button.confirm-report", el).focus();
  });
  $("button.cancel-report", el).addEventListener("click", () => {
    $(".report-step", el).hidden = true;
    $("button.report", el).hidden = false;
  });
  $("button.confirm-report", el).addEventListener("click", () => decide(r.id, "deny", true));
  const card = { request: r, el, seq: ++state.seq, busy: false, digits: length, scanning: null };
  state.cards.set(r.id, card);
  $("#requests").append(el);
  updateExpiry(r.id, card, now());
  updateEmpty();
  // The number field takes the focus, unless the person is typing a
  // number for another request.
  const active = document.activeElement;
  if (!(active && active.matches && active.matches("#requests input.number") && active.value)) {
    input.focus();
  }
}

// toggleScan starts or stops scanning the number's QR code for a request.
async function toggleScan(id) {
  const c = state.cards.get(id);
  if (!c || c.busy) return;
  if (c.scanning) {
    c.scanning.abort();
    return;
  }
  const el = c.el;
  const video = $("video.scanner", el);
  const button = $("button.scan", el);
  const ctl = new AbortController();
  c.scanning = ctl;
  video.hidden = false;
  button.textContent = t("app.scan.stop");
  cardError(el, "");
  setScanNote(el, t("app.scan.point"));
  let number = null;
  try {
    number = await scanQR(video, (text) => scannedNumber(text, c.digits), ctl.signal, () =>
      setScanNote(el, t("app.scan.not_number", { n: c.digits })),
    );
  } catch {
    cardError(el, t("app.scan.no_camera"));
  } finally {
    c.scanning = null;
    video.hidden = true;
    button.textContent = t("app.request.scan");
    setScanNote(el, "");
  }
  if (number !== null && state.cards.get(id) === c) {
    const input = $("input.number", el);
    input.value = String(number);
    formatInput(input, c.digits);
    setScanNote(el, t("app.scan.done"));
    input.focus();
  }
}

function setScanNote(el, text) {
  const p = $(".scan-note", el);
  p.textContent = text;
  p.hidden = !text;
}

function removeRequest(id) {
  const c = state.cards.get(id);
  if (!c) return;
  if (c.scanning) c.scanning.abort();
  c.el.remove();
  state.cards.delete(id);
  updateEmpty();
  closeNotifications(id);
  wake();
}

// closeNotifications takes the system notification of request id off the
// phone once the request is over here (answered, expired, or finished
// another way), so no dead request stays on the lock screen.
function closeNotifications(id) {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker
    .getRegistration(APP.href)
    .then((reg) => (reg ? reg.getNotifications({ tag: "deadbolt-sign-in" }) : []))
    .then((list) => {
      for (const n of list) {
        const nid = n.data && n.data.id;
        if (nid === id || (!nid && state.cards.size === 0)) n.close();
      }
    })
    .catch(() => {});
}

function updateEmpty() {
  $("#no-requests").hidden = state.cards.size > 0;
}

function updateExpiry(id, c, at) {
  const expires = Date.parse(c.request.expires_at);
  if (Number.isNaN(expires)) {
    return;
  }
  const left = Math.ceil((expires - at) / 1000);
  if (left <= 0 && !c.busy) {
    removeRequest(id);
    message("info", t("app.request.expired"));
    return;
  }
  const s = Math.max(left, 0);
  $(".expires", c.el).textContent = t("app.request.expires_in", { time: `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}` });
}

// setPending applies a full list of pending requests read from the server
// when the read started at sequence number since.
function setPending(list, since) {
  const ids = new Set();
  for (const r of list) {
    if (r && typeof r.id === "string") {
      ids.add(r.id);
      addRequest(r);
    }
  }
  for (const [id, c] of state.cards) {
    if (!ids.has(id) && c.seq <= since && !c.busy) {
      removeRequest(id);
    }
  }
}

// fetchPending reads the pending requests at once.
async function fetchPending(signal) {
  const since = state.seq;
  const data = await api("GET", "device/requests", undefined, signal);
  setPending((data && data.requests) || [], since);
  return data;
}

function cardError(el, text) {
  const p = $(".request-error", el);
  p.textContent = text;
  p.hidden = !text;
}

function setBusy(c, busy) {
  c.busy = busy;
  for (const b of c.el.querySelectorAll("button, input")) {
    b.disabled = busy;
  }
}

async function decide(id, decision, report) {
  const c = state.cards.get(id);
  if (!c || c.busy || !state.device) {
    return;
  }
  const el = c.el;
  let number;
  if (decision === "approve") {
    const typed = parseNumber($("input.number", el).value.trim(), c.digits);
    if (typed === null) {
      cardError(el, t("app.request.type_number", { n: c.digits }));
      $("input.number", el).focus();
      return;
    }
    number = typed;
  }
  if (c.scanning) c.scanning.abort();
  setBusy(c, true);
  cardError(el, "");
  let answer;
  try {
    const body = { decision, signature: await signDecision(state.device.keys.privateKey, id, decision, number) };
    if (number !== undefined) body.number = number;
    if (report) body.report = true;
    answer = await api("POST", "device/requests/" + encodeURIComponent(id), body);
  } catch (e) {
    if (e instanceof Disconnected) return;
    setBusy(c, false);
    await decisionFailed(id, e);
    return;
  }
  state.decided.add(id);
  setBusy(c, false);
  removeRequest(id);
  const status = answer && typeof answer.status === "string" ? answer.status : "";
  if (decision === "approve" && status && status !== "approved") {
    message("error", c.request.purpose === "reauth" ? t("app.decided.wrong_number_reauth") : t("app.decided.wrong_number"));
  } else if (decision === "approve" && c.request.purpose === "reauth") {
    message("ok", t("app.decided.confirmed"));
  } else if (decision === "approve") {
    message("ok", t("app.decided.approved"));
  } else if (report) {
    message("ok", t("app.decided.reported"));
  } else {
    message("ok", t("app.decided.denied"));
  }
}

// decisionFailed shows why a decision was not taken: when the request is
// no longer pending it leaves the list, otherwise it stays with the error.
async function decisionFailed(id, e) {
  const c = state.cards.get(id);
  const text = e instanceof ApiError ? e.message : t("app.error.unreachable");
  if (e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 429) {
    try {
      await fetchPending();
    } catch {
      // Keep the card; the error below says what happened.
    }
    if (!state.cards.has(id)) {
      state.decided.add(id);
      message("error", text);
      return;
    }
  }
  if (c) cardError(c.el, text);
}

// ---- Delivery: SSE over fetch, else long poll -----------------------------

function wake() {
  for (const w of state.wakers) w();
  state.wakers.clear();
}

// pause waits ms milliseconds, until wake() or until signal aborts.
function pause(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      state.wakers.delete(done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    state.wakers.add(done);
    signal.addEventListener("abort", done);
  });
}

function restartDelivery() {
  if (state.delivery) {
    state.delivery.abort();
  }
  if (!state.device) {
    return;
  }
  const ctl = new AbortController();
  state.delivery = ctl;
  deliver(ctl.signal);
}

function stopDelivery() {
  if (state.delivery) {
    state.delivery.abort();
    state.delivery = null;
  }
}

async function deliver(signal) {
  let failures = 0;
  let streaming = true;
  try {
    await fetchPending(signal);
  } catch (e) {
    if (e instanceof Disconnected || signal.aborted) return;
  }
  while (!signal.aborted) {
    try {
      if (streaming) {
        const started = Date.now();
        const opened = await stream(signal);
        if (!opened) {
          streaming = false;
          continue;
        }
        if (Date.now() - started < QUICK_STREAM_END) {
          failures++;
          if (failures >= 3) {
            streaming = false;
            continue;
          }
          await pause(backoff(failures), signal);
        } else {
          failures = 0;
        }
      } else {
        const started = Date.now();
        const waited = await longPoll(signal);
        if (!waited && Date.now() - started < QUICK_POLL_END) {
          // The answer came back at once with nothing new: the server
          // does not hold the poll, so slow down rather than spin.
          failures++;
          await pause(backoff(failures), signal);
        } else {
          failures = 0;
        }
      }
    } catch (e) {
      if (e instanceof Disconnected || signal.aborted) return;
      failures++;
      if (streaming && failures >= 3) streaming = false;
      await pause(backoff(failures), signal);
    }
  }
}

// deadline derives a signal that aborts with parent or once ms pass without
// a call to arm.
function deadline(parent, ms) {
  const ctl = new AbortController();
  let timer;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ctl.abort(), ms);
  };
  const onAbort = () => ctl.abort();
  if (parent.aborted) {
    ctl.abort();
  } else {
    parent.addEventListener("abort", onAbort, { once: true });
  }
  arm();
  const done = () => {
    clearTimeout(timer);
    parent.removeEventListener("abort", onAbort);
  };
  return { signal: ctl.signal, arm, done };
}

function backoff(n) {
  const base = Math.min(30000, 1000 * 2 ** Math.min(n, 5));
  return base / 2 + Math.random() * (base / 2);
}

// stream reads the device's event stream until it ends. It returns false
// when the server offers no stream, true once one was read.
async function stream(signal) {
  const idle = deadline(signal, STREAM_IDLE);
  try {
    return await readStream(signal, idle);
  } catch (e) {
    if (idle.signal.aborted && !signal.aborted) {
      return true;
    }
    throw e;
  } finally {
    idle.done();
  }
}

async function readStream(signal, idle) {
  const resp = await fetch(new URL("device/events", API), {
    headers: { Accept: "text/event-stream", ...authHeaders() },
    cache: "no-store",
    credentials: "omit",
    signal: idle.signal,
  });
  if (!resp.ok) {
    let data = null;
    try {
      data = await resp.json();
    } catch {
      data = null;
    }
    if (resp.status === 401) {
      await throwError(resp.status, data);
    }
    if (resp.status >= 500 || resp.status === 429) {
      throw new ApiError(resp.status, "unavailable", "event stream unavailable");
    }
    return false;
  }
  const type = resp.headers.get("Content-Type") || "";
  if (!resp.body || !type.startsWith("text/event-stream")) {
    if (resp.body) resp.body.cancel().catch(() => {});
    return false;
  }
  // Requests created before the stream opened are not sent on it.
  fetchPending(signal).catch(() => {});
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  const parser = new SSEParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      idle.arm();
      for (const ev of parser.push(decoder.decode(value, { stream: true }))) {
        handleEvent(ev);
      }
    }
  } finally {
    reader.releaseLock();
  }
  return true;
}

function handleEvent(ev) {
  if (ev.type === "resolved") {
    // The request is no longer pending: answered, expired, or its
    // sign-in finished another way. It leaves the screen.
    try {
      const id = JSON.parse(ev.data).id;
      const c = state.cards.get(id);
      if (c && !c.busy) removeRequest(id);
    } catch {
      // Not a request id; ignore.
    }
    return;
  }
  if (ev.type === "device") {
    // The pairing was confirmed on the computer.
    refreshDevice();
    return;
  }
  if (ev.type === "disconnected") {
    // Ask the server: a 401 device_disconnected switches the screen.
    refreshDevice();
    return;
  }
  if (ev.type === "notice") {
    try {
      showNotice(JSON.parse(ev.data).type);
    } catch {
      // Not a notice; ignore.
    }
    return;
  }
  if (ev.type !== "request") {
    return;
  }
  try {
    addRequest(JSON.parse(ev.data));
  } catch {
    // Not a request; ignore.
  }
}

// longPoll waits for pending requests. The server answers at once while
// any is pending, so when it lists nothing new the loop waits for a change
// here instead: a decision, or the earliest expiry. It reports whether it
// found something new or waited.
async function longPoll(signal) {
  const since = state.seq;
  const limit = deadline(signal, (LONG_POLL_SECONDS + 20) * 1000);
  let data;
  try {
    data = await api("GET", `device/requests?wait=${LONG_POLL_SECONDS}`, undefined, limit.signal);
  } finally {
    limit.done();
  }
  if (!$("#pairing-hint").hidden) {
    // No stream tells of the confirmation on the computer: ask after
    // each poll while the pairing waits for it.
    refreshDevice();
  }
  const list = (data && data.requests) || [];
  const fresh = list.some((r) => r && !state.cards.has(r.id) && !state.decided.has(r.id));
  setPending(list, since);
  if (list.length > 0 && !fresh) {
    let until = Infinity;
    for (const r of list) {
      const end = Date.parse(r && r.expires_at);
      if (!Number.isNaN(end)) until = Math.min(until, end);
    }
    // Look again soon: a request may end elsewhere (its sign-in finished
    // by another method) long before it would expire.
    const ms = Number.isFinite(until) ? until - now() + 500 : 5000;
    await pause(Math.min(Math.max(ms, 1000), 5000), signal);
    return true;
  }
  return fresh;
}

// ---- Disconnection --------------------------------------------------------

async function disconnected() {
  stopDelivery();
  stopTicker();
  state.device = null;
  state.totpKey = null;
  for (const id of [...state.cards.keys()]) removeRequest(id);
  $("#totp-code").replaceChildren();
  setStatus("pair-status", "", "");
  message("", "");
  setStatus("notice", "", "");
  show("disconnected");
  try {
    await saveDevice({ disconnected: true });
  } catch {
    try {
      await clearDevice();
    } catch {
      // Nothing stored to forget.
    }
  }
  if ("serviceWorker" in navigator) {
    try {
      const reg = await navigator.serviceWorker.getRegistration(APP.href);
      const sub = reg && (await reg.pushManager.getSubscription());
      if (sub) await sub.unsubscribe();
    } catch {
      // Best effort: the server has forgotten the subscription anyway.
    }
  }
}

// ---- Start ----------------------------------------------------------------

function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register(new URL("sw.js", APP), { scope: APP.pathname }).catch(() => {});
  navigator.serviceWorker.addEventListener("message", (e) => {
    if (e.data && e.data.type === "sign-in-request" && state.device) {
      fetchPending().catch(() => {});
    }
  });
}

function supported() {
  if (!window.isSecureContext || !window.crypto || !crypto.subtle) {
    return t("app.unsupported.https");
  }
  if (!window.indexedDB) {
    return t("app.unsupported.storage");
  }
  return "";
}

// ---- Language ---------------------------------------------------------------

// setUpLanguage chooses the app's language — chosen here, else the
// employee's saved choice, else the phone's — and fills the selector.
async function setUpLanguage() {
  await loadMessages(APP);
  let chosen = "";
  let account = "";
  try {
    chosen = await loadLanguage();
    const d = await loadDevice();
    account = d && d.account && d.account.language;
  } catch {
    // No storage: the phone's languages decide.
  }
  use(pick(chosen, account, navigator.languages || [navigator.language]));
  translate();
  const select = $("#app-lang");
  select.replaceChildren(
    ...languages().map((l) => {
      const o = document.createElement("option");
      o.value = l.code;
      o.textContent = l.name;
      o.lang = l.code;
      o.selected = l.code === current();
      return o;
    }),
  );
  select.addEventListener("change", () => chooseLanguage(select.value));
}

// chooseLanguage switches the app to code, remembers it here and, once
// paired, as the employee's language.
async function chooseLanguage(code) {
  use(code);
  translate();
  for (const [id, c] of state.cards) updateExpiry(id, c, now());
  try {
    await saveLanguage(current());
  } catch {
    // Kept for this visit only.
  }
  if (state.device) {
    try {
      await api("PUT", "device/preferences", { language: current() });
      if (state.device.account) state.device.account.language = current();
    } catch {
      // The app's own choice stands.
    }
  }
}

async function main() {
  await setUpLanguage();
  const reason = supported();
  if (reason) {
    $("#unsupported-reason").textContent = reason;
    show("unsupported");
    return;
  }
  registerServiceWorker();
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && state.device) {
      syncClock().then(() => {
        refreshDevice();
        restartDelivery();
      });
    }
  });
  window.addEventListener("online", () => {
    if (state.device) restartDelivery();
  });

  const onPairPage = location.pathname === new URL("pair", APP).pathname;
  let token = "";
  if (onPairPage) {
    try {
      token = decodeURIComponent(location.hash.slice(1));
    } catch {
      token = "";
    }
    // The token is single use; keep it out of the history and the address bar.
    history.replaceState(null, "", APP.href);
    if (token) {
      await pair(token);
      return;
    }
    setStatus("pair-status", "error", t("app.pair.incomplete"));
  }
  let device = null;
  try {
    device = await loadDevice();
  } catch {
    device = null;
  }
  if (device && device.disconnected) {
    show("disconnected");
  } else if (device && device.device_token && device.keys) {
    await startMain(device);
  } else {
    show("welcome");
  }
}

main();
