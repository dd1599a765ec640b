// The companion app's service worker: keeps the app shell for starting
// offline, and turns Web Push messages into a notification. A push message
// carries only a request id; the app reads the request itself once opened.

const CACHE = "deadbolt-app-v3";
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
  "i18n.js",
  "i18n.json",
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

// chosenLanguage is the language chosen in the app (kept by db.js), or "".
function chosenLanguage() {
  return new Promise((resolve) => {
    try {
      const req = indexedDB.open("deadbolt", 1);
      req.onupgradeneeded = () => req.result.createObjectStore("device");
      req.onerror = () => resolve("");
      req.onsuccess = () => {
        const db = req.result;
        try {
          const get = db.transaction("device", "readonly").objectStore("device").get("language");
          get.onsuccess = () => {
            db.close();
            resolve(typeof get.result === "string" ? get.result : "");
          };
          get.onerror = () => {
            db.close();
            resolve("");
          };
        } catch {
          db.close();
          resolve("");
        }
      };
    } catch {
      resolve("");
    }
  });
}

// texts returns a function giving the app's texts in its language, read
// from the cached i18n.json (English words when there is none).
async function texts() {
  let doc = null;
  try {
    const url = new URL("i18n.json", SCOPE).href;
    const hit = (await caches.match(url)) || (await fetch(url, { credentials: "omit" }));
    doc = await hit.json();
  } catch {
    doc = null;
  }
  const chosen = await chosenLanguage();
  const known = (c) => doc && doc.languages.some((l) => l.code === c);
  let lang = known(chosen) ? chosen : "";
  if (!lang) {
    const base = (self.navigator.language || "").toLowerCase().split("-")[0];
    lang = known(base) ? base : (doc && doc.default) || "en";
  }
  return (key, fallback) => {
    const m = doc && ((doc.messages[lang] || {})[key] || (doc.messages.en || {})[key]);
    return typeof m === "string" ? m : fallback;
  };
}

self.addEventListener("push", (event) => {
  const notice = noticeKind(event.data);
  if (notice) {
    event.waitUntil(
      (async () => {
        const t = await texts();
        await self.registration.showNotification(t("app.sw.notice_title", "Security notice"), {
          body: t("app.sw.notice_body", "A sign-in factor of your account changed. Open Deadbolt for details."),
          icon: new URL("icon-192.png", SCOPE).href,
          tag: "deadbolt-notice",
          data: { notice },
        });
      })(),
    );
    return;
  }
  const id = requestId(event.data);
  event.waitUntil(
    (async () => {
      const t = await texts();
      await self.registration.showNotification(t("app.sw.request_title", "Sign-in request"), {
        body: t("app.sw.request_body", "Open Deadbolt to approve or deny it."),
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
