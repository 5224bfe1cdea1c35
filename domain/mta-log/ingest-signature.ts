/**
 * The signature of an MTA log upload (POST /ingest/mta-log). Pure: Web Crypto only, so the
 * Worker verifies and the Node shipper signs with the same code.
 *
 * Stripe's scheme: `X-Docket-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over the bytes of
 * `${t}.` followed by the body, keyed with the shared secret MTA_LOG_HMAC_SECRET. The timestamp
 * is inside the MAC, so a captured request cannot be replayed once it is older than the
 * tolerance, and cannot be re-dated. Several v1= entries may be given (the receiver accepts any
 * that matches), which lets a shipper sign with old and new secret during a rotation.
 */

export const SIGNATURE_HEADER = "X-Docket-Signature";

/** How far a signature's timestamp may be from the receiver's clock, either way. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** v1= entries accepted in one header. */
const MAX_SIGNATURES = 8;

export type SignatureFailure = "missing" | "malformed" | "expired" | "mismatch";

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: SignatureFailure };

const encoder = new TextEncoder();

async function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/** The MAC's input: `${timestamp}.` then the body exactly as sent (bytes, so no re-encoding can change it). */
function signedBytes(timestamp: number, body: Uint8Array | string): Uint8Array<ArrayBuffer> {
  const prefix = encoder.encode(`${timestamp}.`);
  const payload = typeof body === "string" ? encoder.encode(body) : body;
  const out = new Uint8Array(prefix.byteLength + payload.byteLength);
  out.set(prefix, 0);
  out.set(payload, prefix.byteLength);
  return out;
}

function toHex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(hex: string): Uint8Array | null {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** The hex HMAC-SHA256 of `${timestamp}.${body}`. */
export async function computeSignature(secret: string, timestamp: number, body: Uint8Array | string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), signedBytes(timestamp, body));
  return toHex(mac);
}

/** The header value for `body` signed now (or at `timestamp`, unix seconds). */
export async function signatureHeader(
  secret: string,
  body: Uint8Array | string,
  timestamp: number = Math.floor(Date.now() / 1000),
): Promise<string> {
  return `t=${timestamp},v1=${await computeSignature(secret, timestamp, body)}`;
}

/** `t=…,v1=…[,v1=…]` → the timestamp and every v1 signature; null when it is not that shape. */
export function parseSignatureHeader(value: string): { timestamp: number; signatures: string[] } | null {
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) return null;
    const key = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (key === "t") {
      if (!/^\d{1,12}$/.test(v) || timestamp !== undefined) return null;
      timestamp = Number(v);
    } else if (key === "v1") {
      signatures.push(v);
    }
    // Other schemes (v0, a future v2) are ignored, as Stripe's receivers do.
  }
  // A handful covers any rotation; thousands would only make the receiver compute for nothing.
  if (timestamp === undefined || signatures.length === 0 || signatures.length > MAX_SIGNATURES) return null;
  return { timestamp, signatures };
}

// workerd has crypto.subtle.timingSafeEqual (non-standard, so not in every type library); Node
// lacks it, and there the loop below keeps the comparison independent of where bytes differ.
type TimingSafeSubtle = SubtleCrypto & { timingSafeEqual?: (a: ArrayBufferView, b: ArrayBufferView) => boolean };

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const subtle = crypto.subtle as TimingSafeSubtle;
  if (typeof subtle.timingSafeEqual === "function") return subtle.timingSafeEqual(a, b);
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Checks a signature header against the body as received. `now` is unix seconds. Every v1 entry
 * is compared (no early exit on a match), in constant time per entry.
 */
export async function verifySignature(
  secret: string,
  header: string | undefined | null,
  body: Uint8Array | string,
  options: { now?: number; toleranceSeconds?: number } = {},
): Promise<SignatureCheck> {
  if (header === undefined || header === null || header.trim() === "") return { ok: false, reason: "missing" };
  const parsed = parseSignatureHeader(header);
  if (parsed === null) return { ok: false, reason: "malformed" };
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - parsed.timestamp) > tolerance) return { ok: false, reason: "expired" };

  const expected = fromHex(await computeSignature(secret, parsed.timestamp, body))!;
  let matched = false;
  for (const candidate of parsed.signatures) {
    const given = fromHex(candidate);
    // A wrong-length or non-hex entry is a mismatch; the comparison still runs on the expected
    // bytes, so a well-formed and an ill-formed forgery take the same time.
    const ok = sameBytes(
      given !== null && given.byteLength === expected.byteLength ? given : expected.map((b) => ~b),
      expected,
    );
    matched ||= ok;
  }
  return matched ? { ok: true, timestamp: parsed.timestamp } : { ok: false, reason: "mismatch" };
}
