// The companion app's service worker: keeps the app shell for starting
// offline, and turns Web Push messages into a notification. A push message
// carries only a request id; the app reads the request itself once opened.

const CACHE = "deadbolt-app-v2";
const SCOPE = new URL("./", self.location.href);
const SHELL = [
  "./",
  "app.css",
  "app.js",
  "totp.js",
  "sse.js",
  "codec.js",
  "db.js",
  "number.js",
  "scan.js",
  "vendor/qr/decode.js",
  "vendor/qr/index.js",
  "manifest.webmanifest",
  "icon-192.png",
  "icon-512.png",
].map((p) => new URL(p, SCOPE).href);
// The paths that answer with the app shell.
const SHELL_PAGES = [SCOPE.pathname, new URL("pair", SCOPE).pathname];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "no-cache", credentials: "omit" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("deadbolt-app-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

// The shell is served from the network when it can be, so updates show at
// once, and from the cache when offline. Nothing outside the app's own
// files is touched: API calls and the event stream go straight out.
self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== SCOPE.origin || !url.pathname.startsWith(SCOPE.pathname)) return;
  if (url.pathname === new URL("sw.js", SCOPE).pathname) return;
  const navigation = req.mode === "navigate";
  if (!navigation && !SHELL.includes(url.origin + url.pathname)) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        const resp = await fetch(req);
        if (resp.ok && !navigation) {
          await cache.put(url.origin + url.pathname, resp.clone());
        } else if (resp.ok && SHELL_PAGES.includes(url.pathname)) {
          await cache.put(SHELL[0], resp.clone());
        }
        return resp;
      } catch (err) {
        const hit = await cache.match(navigation ? SHELL[0] : url.origin + url.pathname);
        if (hit) return hit;
        throw err;
      }
    })(),
  );
});

function requestId(data) {
  if (!data) return "";
  try {
    const v = data.json();
    if (v && typeof v.id === "string") return v.id;
    if (v && typeof v.request_id === "string") return v.request_id;
    return "";
  } catch {
    return data.text().trim().slice(0, 200);
  }
}

function noticeKind(data) {
  if (!data) return "";
  try {
    const v = data.json();
    return v && typeof v.notice === "string" ? v.notice : "";
  } catch {
    return "";
  }
}

self.addEventListener("push", (event) => {
  const notice = noticeKind(event.data);
  if (notice) {
    event.waitUntil(
      self.registration.showNotification("Security notice", {
        body: "A sign-in factor of your account changed. Open Deadbolt for details.",
        icon: new URL("icon-192.png", SCOPE).href,
        tag: "deadbolt-notice",
        data: { notice },
      }),
    );
    return;
  }
  const id = requestId(event.data);
  event.waitUntil(
    (async () => {
      await self.registration.showNotification("Sign-in request", {
        body: "Open Deadbolt to approve or deny it.",
        icon: new URL("icon-192.png", SCOPE).href,
        badge: new URL("icon-192.png", SCOPE).href,
        tag: "deadbolt-sign-in",
        renotify: true,
        requireInteraction: true,
        data: { id },
      });
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const c of windows) {
        c.postMessage({ type: "sign-in-request", id });
      }
    })(),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const c of windows) {
        if (c.url.startsWith(SCOPE.href) && "focus" in c) {
          c.postMessage({ type: "sign-in-request", id: event.notification.data && event.notification.data.id });
          return c.focus();
        }
      }
      return self.clients.openWindow(SCOPE.href);
    })(),
  );
});
