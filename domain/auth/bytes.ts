/**
 * Byte helpers shared by link signing and password hashing. Pure: they run in workerd and in
 * Node (the CLI and `npm start` hash the development admin's password with the same code).
 */

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  // A fresh, unshared buffer every time (the cast only narrows what the type library says).
  return encoder.encode(text) as Uint8Array<ArrayBuffer>;
}

/** base64url without padding (RFC 4648 §5): safe in a URL query and a path segment as is. */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Decodes unpadded base64url; null for anything else. Only the canonical encoding is accepted
 * (it must re-encode to the same text), so one value has exactly one spelling.
 */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  let binary: string;
  try {
    binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return toBase64Url(bytes) === text ? bytes : null;
}

// workerd has crypto.subtle.timingSafeEqual (non-standard, so not in every type library); Node
// lacks it, and there the loop keeps the time independent of where the bytes differ.
type TimingSafeSubtle = SubtleCrypto & { timingSafeEqual?: (a: ArrayBufferView, b: ArrayBufferView) => boolean };

/**
 * Constant-time equality of two byte strings of the same, public length (a MAC, a derived key).
 * Different lengths are unequal at once: callers compare fixed-size values, so the length
 * reveals nothing.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const subtle = crypto.subtle as TimingSafeSubtle;
  if (typeof subtle.timingSafeEqual === "function") return subtle.timingSafeEqual(a, b);
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
