import { utf8 } from "./bytes";

/**
 * HMAC-SHA-256 of a payload under a secret, truncated to `bytes` (RFC 2104 5 allows truncation to
 * at least half the hash; 16 bytes keeps links short). The imported key is cached per secret.
 */

const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    // Normally one secret per purpose per isolate (two during a rotation); never let the cache grow unbounded.
    if (keys.size >= 8) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

export async function hmacTag(secret: string, payload: Uint8Array<ArrayBuffer>, bytes: number): Promise<Uint8Array> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), payload);
  return new Uint8Array(mac, 0, bytes);
}
