// Time-based one-time passwords (RFC 6238 over RFC 4226) with WebCrypto.

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// base32Decode decodes RFC 4648 base32 (padding, spaces and case ignored).
// It throws on any other character.
export function base32Decode(text) {
  const clean = text.replace(/[\s=]/g, "").toUpperCase();
  const out = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    const v = BASE32.indexOf(ch);
    if (v < 0) {
      throw new Error("invalid base32 character");
    }
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return new Uint8Array(out);
}

// importSecret turns the raw secret into a non-extractable HMAC key for the
// algorithm ("SHA1", "SHA256" or "SHA512").
export function importSecret(secret, algorithm = "SHA1") {
  const hash = { SHA1: "SHA-1", SHA256: "SHA-256", SHA512: "SHA-512" }[algorithm.toUpperCase()];
  if (!hash) {
    throw new Error("unsupported TOTP algorithm " + algorithm);
  }
  return crypto.subtle.importKey("raw", secret, { name: "HMAC", hash }, false, ["sign"]);
}

// hotp computes the RFC 4226 code for the counter: HMAC over the 8-byte
// big-endian counter, dynamic truncation, the last `digits` decimal digits.
export async function hotp(key, counter, digits = 6) {
  const msg = new DataView(new ArrayBuffer(8));
  msg.setUint32(0, Math.floor(counter / 0x100000000));
  msg.setUint32(4, counter >>> 0);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, msg.buffer));
  const off = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(bin % 10 ** digits).padStart(digits, "0");
}

// timeStep is the RFC 6238 counter for the time in milliseconds.
export function timeStep(ms, period = 30) {
  return Math.floor(ms / 1000 / period);
}

// secondsLeft is how many seconds the code of that time stays valid.
export function secondsLeft(ms, period = 30) {
  return period - (Math.floor(ms / 1000) % period);
}
