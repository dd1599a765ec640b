// Encodings shared with the server: base64url without padding, and the text
// a push decision signature covers.

// b64url encodes bytes (ArrayBuffer or typed array) as unpadded base64url.
export function b64url(buf) {
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf.buffer || buf, buf.byteOffset || 0, buf.byteLength);
  let bin = "";
  for (const b of bytes) {
    bin += String.fromCharCode(b);
  }
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// b64urlDecode decodes base64url, padded or not. It throws on bad input.
export function b64urlDecode(text) {
  let s = text.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  if (/[^A-Za-z0-9+/]/.test(s) || s.length % 4 === 1) {
    throw new Error("invalid base64url");
  }
  while (s.length % 4) {
    s += "=";
  }
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

// signedMessage is the UTF-8 text a decision signature covers:
// "deadbolt-push-v1\n{id}\n{decision}\n{number}", number empty when omitted.
export function signedMessage(id, decision, number) {
  const n = number === undefined || number === null ? "" : String(number);
  return new TextEncoder().encode(`deadbolt-push-v1\n${id}\n${decision}\n${n}`);
}

// signDecision signs a decision with the device's private key: ECDSA P-256
// with SHA-256, which WebCrypto returns as raw r‖s (64 bytes), base64url.
export async function signDecision(privateKey, id, decision, number) {
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, signedMessage(id, decision, number));
  return b64url(sig);
}
