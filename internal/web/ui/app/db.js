// The device's state in IndexedDB: one record holding the device id and
// token, the account, the TOTP parameters with the secret as an HMAC key,
// and the device's ECDSA key pair. CryptoKey objects are stored as they
// are; the TOTP key and the private key were created non-extractable and
// stay so.

const DB_NAME = "deadbolt";
const STORE = "device";
const KEY = "current";

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error("the app's storage is in use by another tab"));
  });
}

async function run(mode, action) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("storage transaction aborted"));
    });
  } finally {
    db.close();
  }
}

// loadDevice returns the stored device, or null.
export async function loadDevice() {
  const v = await run("readonly", (s) => s.get(KEY));
  return v || null;
}

// saveDevice replaces the stored device.
export function saveDevice(device) {
  return run("readwrite", (s) => s.put(device, KEY));
}

// clearDevice forgets the device.
export function clearDevice() {
  return run("readwrite", (s) => s.delete(KEY));
}

// loadLanguage returns the language chosen in the app, or "".
export async function loadLanguage() {
  const v = await run("readonly", (s) => s.get("language"));
  return typeof v === "string" ? v : "";
}

// saveLanguage remembers the language chosen in the app (the service
// worker reads it for its notifications).
export function saveLanguage(code) {
  return run("readwrite", (s) => s.put(code, "language"));
}
