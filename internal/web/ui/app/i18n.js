// The companion app's words: the catalogue's "app." texts in every
// language (i18n.json, served by Deadbolt and kept for offline use), CLDR
// plural rules (Intl.PluralRules) and the language in use — chosen in the
// app, else the employee's saved choice, else the phone's languages, else
// the server's default.

let doc = { default: "en", languages: [{ code: "en", name: "English" }], messages: { en: {} } };
let lang = "en";
let rules = null;

// loadMessages reads i18n.json next to the app. Without it (offline before
// the first start) the texts in the page stay English.
export async function loadMessages(base) {
  try {
    const resp = await fetch(new URL("i18n.json", base), { cache: "no-cache", credentials: "omit" });
    if (resp.ok) {
      const d = await resp.json();
      if (d && d.messages && Array.isArray(d.languages)) doc = d;
    }
  } catch {
    // Keep the built-in English.
  }
}

// languages lists the languages the app speaks: {code, name}.
export function languages() {
  return doc.languages;
}

// current is the language in use.
export function current() {
  return lang;
}

function known(code) {
  return typeof code === "string" && doc.languages.some((l) => l.code === code);
}

// pick returns the language for a choice made in the app (chosen), the
// employee's saved one (account), and the phone's languages, in that order,
// else the server's default.
export function pick(chosen, account, phone) {
  if (known(chosen)) return chosen;
  if (known(account)) return account;
  for (const tag of phone || []) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (known(base)) return base;
  }
  return known(doc.default) ? doc.default : "en";
}

// use makes code the language of the app and of the page.
export function use(code) {
  lang = known(code) ? code : pick("", "", []);
  rules = typeof Intl !== "undefined" && Intl.PluralRules ? new Intl.PluralRules(lang) : null;
  document.documentElement.lang = lang;
}

// t returns the text of key with {name} replaced by args[name]; a text
// with plural forms is chosen by args.n. A key the language lacks is taken
// from English.
export function t(key, args = {}) {
  let m = (doc.messages[lang] || {})[key];
  if (m === undefined) m = (doc.messages.en || {})[key];
  if (m && typeof m === "object") {
    const form = rules && typeof args.n === "number" ? rules.select(args.n) : "other";
    m = m[form] || m.other;
  }
  if (typeof m !== "string") return key;
  return m.replace(/\{([a-zA-Z][a-zA-Z0-9_]*)\}/g, (all, name) =>
    Object.prototype.hasOwnProperty.call(args, name) ? String(args[name]) : all,
  );
}

// The few tags a text of the app may hold, kept when it is put in place.
const SAFE = /^<\/?(strong|em|code)>$/;

// translate puts the texts of root's elements in place: data-i18n sets the
// text, data-i18n-html a text with simple markup, data-i18n-label the
// accessible name.
export function translate(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    const args = el.dataset.i18nN !== undefined ? { n: Number(el.dataset.i18nN) } : {};
    el.textContent = t(el.dataset.i18n, args);
  }
  for (const el of root.querySelectorAll("[data-i18n-html]")) {
    const parts = t(el.dataset.i18nHtml).split(/(<\/?[a-z]+>)/);
    const frag = document.createDocumentFragment();
    const stack = [frag];
    for (const p of parts) {
      if (SAFE.test(p) && !p.startsWith("</")) {
        const child = document.createElement(p.slice(1, -1));
        stack[stack.length - 1].append(child);
        stack.push(child);
      } else if (SAFE.test(p)) {
        if (stack.length > 1) stack.pop();
      } else if (p) {
        stack[stack.length - 1].append(document.createTextNode(p));
      }
    }
    el.replaceChildren(frag);
  }
  for (const el of root.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  }
}
