import { constantTimeEqual, fromBase64Url, toBase64Url } from "../auth/bytes";
import { hmacTag } from "../auth/hmac-tag";

/**
 * Tokens in campaign mail: the tracked link (/l/<token>), the open pixel (/o/<token>), the
 * unsubscribe link (/u/<token>, also the List-Unsubscribe URL and mailto), and the first-party
 * attribution cookie a click sets. Pure: Web Crypto only.
 *
 * A token is base64url(payload ‖ tag), one path segment of about 30 characters:
 * - payload = one byte (version 1 in the high nibble, purpose in the low one), the send id as an
 *   unsigned LEB128 varint, then the link index (click) or the issue time in unix seconds
 *   (attribution) as another varint;
 * - tag = HMAC-SHA256(TRACKING_LINK_SECRET, payload) truncated to 128 bits, the least RFC 2104 §5
 *   allows (half the hash output).
 *
 * The purpose is inside the MAC, so an open token does not unsubscribe and an unsubscribe token
 * is not a click. Link tokens never expire: a link in a mail must keep working (CAN-SPAM,
 * 15 U.S.C. 7704(a)(3)(A)(ii), wants the opt-out to work for at least 30 days after the send).
 * Attribution tokens carry their issue time so that their reader can bound their age.
 */

export const TRACKING_PURPOSES = ["click", "open", "unsubscribe", "attribution"] as const;
export type TrackingPurpose = (typeof TRACKING_PURPOSES)[number];

export type TrackingClaims =
  | { purpose: "click"; sendId: number; linkIdx: number }
  | { purpose: "open" | "unsubscribe"; sendId: number }
  | { purpose: "attribution"; sendId: number; issuedAt: Date };

export type TrackingFailure = "malformed" | "bad_signature" | "wrong_purpose";

export type TrackingCheck =
  { ok: true; sendId: number; linkIdx?: number; issuedAt?: Date } | { ok: false; reason: TrackingFailure };

const VERSION = 1;
const TAG_BYTES = 16;
/** payload ≤ 1 + 8 + 8 bytes; anything longer is not ours. */
const MAX_TOKEN_LENGTH = 64;

function tagOf(secret: string, payload: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return hmacTag(secret, payload, TAG_BYTES);
}

/** Unsigned LEB128; arithmetic rather than bit operations, which are 32-bit in JavaScript. */
function pushVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) + 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** The varint at `offset` and where it ends; null when truncated, over-long or non-canonical. */
function readVarint(bytes: Uint8Array, offset: number): { value: number; next: number } | null {
  let value = 0;
  let scale = 1;
  for (let i = offset; i < bytes.length && i < offset + 8; i++) {
    const byte = bytes[i]!;
    value += (byte % 0x80) * scale;
    if (byte < 0x80) {
      // A trailing zero byte would give one number two spellings.
      if (byte === 0 && i > offset) return null;
      return Number.isSafeInteger(value) ? { value, next: i + 1 } : null;
    }
    scale *= 0x80;
  }
  return null;
}

function checkId(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`signTrackingToken: ${what} ${value} is not a whole number ≥ 0`);
}

/** A token for `claims`, signed with `secret`. */
export async function signTrackingToken(secret: string, claims: TrackingClaims): Promise<string> {
  if (secret === "") throw new Error("signTrackingToken: the tracking secret is empty");
  checkId(claims.sendId, "sendId");
  const bytes: number[] = [(VERSION << 4) | TRACKING_PURPOSES.indexOf(claims.purpose)];
  pushVarint(bytes, claims.sendId);
  if (claims.purpose === "click") {
    checkId(claims.linkIdx, "linkIdx");
    pushVarint(bytes, claims.linkIdx);
  } else if (claims.purpose === "attribution") {
    const seconds = Math.floor(claims.issuedAt.getTime() / 1000);
    checkId(seconds, "issuedAt");
    pushVarint(bytes, seconds);
  }
  const payload = new Uint8Array(bytes);
  const tag = await tagOf(secret, payload);
  const token = new Uint8Array(payload.length + TAG_BYTES);
  token.set(payload);
  token.set(tag, payload.length);
  return toBase64Url(token);
}

/**
 * Checks a token for one purpose. The MAC is checked before anything in the payload is believed;
 * the comparison is constant-time. Failures, in the order checked: malformed, bad_signature,
 * wrong_purpose.
 */
export async function verifyTrackingToken(
  secret: string,
  token: string | null | undefined,
  purpose: TrackingPurpose,
): Promise<TrackingCheck> {
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH || secret === "") {
    return { ok: false, reason: "malformed" };
  }
  const bytes = fromBase64Url(token);
  if (bytes === null || bytes.length < TAG_BYTES + 2) return { ok: false, reason: "malformed" };
  const payload = bytes.slice(0, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  if (!constantTimeEqual(tag, await tagOf(secret, payload))) return { ok: false, reason: "bad_signature" };

  const head = payload[0]!;
  if (head >> 4 !== VERSION) return { ok: false, reason: "malformed" };
  const found = TRACKING_PURPOSES[head & 0x0f];
  if (found !== purpose) return { ok: false, reason: "wrong_purpose" };
  const send = readVarint(payload, 1);
  if (send === null) return { ok: false, reason: "malformed" };
  if (purpose === "open" || purpose === "unsubscribe") {
    return send.next === payload.length ? { ok: true, sendId: send.value } : { ok: false, reason: "malformed" };
  }
  const extra = readVarint(payload, send.next);
  if (extra === null || extra.next !== payload.length) return { ok: false, reason: "malformed" };
  return purpose === "click"
    ? { ok: true, sendId: send.value, linkIdx: extra.value }
    : { ok: true, sendId: send.value, issuedAt: new Date(extra.value * 1000) };
}

/**
 * The same token as lower-case hex, for the List-Unsubscribe mailto address
 * (unsubscribe+<hex>@sending domain): base64url is case-sensitive, and a local part may be
 * case-folded on its way (RFC 5321 2.4 lets a receiving host treat it so), hex survives that.
 */
export function trackingTokenToHex(token: string): string {
  const bytes = fromBase64Url(token);
  if (bytes === null) throw new Error("trackingTokenToHex: not a base64url token");
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** The base64url token a hex form stands for; null for anything that is not even-length hex. */
export function trackingTokenFromHex(hex: string): string | null {
  const text = hex.toLowerCase();
  if (!/^(?:[0-9a-f]{2}){1,64}$/.test(text)) return null;
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return toBase64Url(bytes);
}

/** The first-party cookie a tracked click sets: which send brought the visitor (attribution). */
export const ATTRIBUTION_COOKIE = "docket_send";
/** How long a click is credited with a later checkout. */
export const ATTRIBUTION_DAYS = 30;

/**
 * The send an attribution cookie names, or null for a missing, forged or stale one: attribution
 * is a nicety, so a bad cookie is ignored, never an error.
 */
export async function attributedSendId(
  secret: string | undefined,
  cookie: string | undefined,
  now: Date,
): Promise<number | null> {
  if (secret === undefined || secret === "" || cookie === undefined) return null;
  const check = await verifyTrackingToken(secret, cookie, "attribution");
  if (!check.ok || check.issuedAt === undefined) return null;
  const age = now.getTime() - check.issuedAt.getTime();
  // A little slack for clock skew between isolates; a cookie from the future is not ours.
  if (age < -300_000 || age > ATTRIBUTION_DAYS * 86_400_000) return null;
  return check.sendId;
}

/**
 * The unsubscribe token an inbound message's envelope recipient carries, for the List-Unsubscribe
 * mailto (`unsubscribe+<hex>@<sending domain>`), or null when the address is not one. The token
 * still has to pass verifyTrackingToken(…, "unsubscribe").
 */
export function unsubscribeTokenFromAddress(address: string, sendingDomain: string): string | null {
  const m = /^unsubscribe\+([0-9a-f]+)@(.+)$/i.exec(address.trim().replace(/^<(.*)>$/, "$1"));
  if (m === null || m[2]!.toLowerCase() !== sendingDomain.toLowerCase()) return null;
  return trackingTokenFromHex(m[1]!);
}
