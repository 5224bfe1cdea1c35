import type { AppConfig } from "../config/app-config";
import { constantTimeEqual, fromBase64Url, toBase64Url, utf8 } from "./bytes";
import { hmacTag } from "./hmac-tag";

/**
 * Signed customer links: how a customer reaches their orders (and later an intake form, a
 * signature page, a question) without a password. Pure: Web Crypto only.
 *
 * A token is `base64url(payload) "." base64url(tag)` where
 * - payload = `v1.<purpose>.<subject>.<expires, unix seconds>` (ASCII; no field can contain a
 *   dot, so the split is unambiguous), and
 * - tag = HMAC-SHA256(CUSTOMER_LINK_SECRET, payload) truncated to 128 bits. RFC 2104 §5 allows
 *   truncating an HMAC to no less than half the hash output; 128 bits leave a forger one chance
 *   in 2^128 per try and keep a link about 70 characters long.
 *
 * The purpose is inside the MAC, so a link made for one page is refused by another
 * (wrong_purpose), and the subject is inside it, so a link for order A never opens order B
 * (wrong_subject). Tokens carry no secrets (a customer id or an order number and a date): they
 * are bearer credentials, protected by their expiry and by never being logged.
 */

/**
 * Every page a link can open. customer-orders: all of a customer's orders (subject: customer id);
 * the others name one order (subject: its number): order-view (status and history), pay and
 * dispute (a government-fee child order), intake, sign, answer, and monitoring (a Provider
 * Compliance Bundle's invitation to monthly OIG/SAM monitoring).
 */
export const LINK_PURPOSES = [
  "customer-orders",
  "order-view",
  "pay",
  "dispute",
  "intake",
  "sign",
  "answer",
  "monitoring",
] as const;
export type LinkPurpose = (typeof LINK_PURPOSES)[number];

export type LinkFailure = "malformed" | "bad_signature" | "expired" | "wrong_purpose" | "wrong_subject";

export type LinkCheck =
  { ok: true; purpose: LinkPurpose; subject: string; expiresAt: Date } | { ok: false; reason: LinkFailure };

const VERSION = "v1";
const TAG_BYTES = 16;
/** Customer ids and order numbers (CO-2026-000123) fit; nothing that needs escaping does. */
const SUBJECT = /^[A-Za-z0-9_-]{1,64}$/;
const PAYLOAD = /^v1\.([a-z][a-z0-9-]{0,31})\.([A-Za-z0-9_-]{1,64})\.(\d{1,12})$/;
/** Longer than any token we issue by a wide margin; anything longer is not ours. */
const MAX_TOKEN_LENGTH = 256;

function tagOf(secret: string, payload: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return hmacTag(secret, payload, TAG_BYTES);
}

function isPurpose(value: string): value is LinkPurpose {
  return (LINK_PURPOSES as readonly string[]).includes(value);
}

export interface LinkClaims {
  purpose: LinkPurpose;
  /** A customer id or an order number. */
  subject: string | number;
  expiresAt: Date;
}

/** A token for `claims`, signed with `secret`. Throws on a subject that cannot be carried. */
export async function signLinkToken(secret: string, claims: LinkClaims): Promise<string> {
  if (secret === "") throw new Error("signLinkToken: the link secret is empty");
  const subject = String(claims.subject);
  if (!SUBJECT.test(subject))
    throw new Error(`signLinkToken: subject ${JSON.stringify(subject)} is not [A-Za-z0-9_-]{1,64}`);
  const expires = Math.floor(claims.expiresAt.getTime() / 1000);
  if (!Number.isSafeInteger(expires) || expires <= 0) throw new Error("signLinkToken: expiresAt is not a valid date");
  const payload = utf8(`${VERSION}.${claims.purpose}.${subject}.${expires}`);
  return `${toBase64Url(payload)}.${toBase64Url(await tagOf(secret, payload))}`;
}

export interface LinkExpectation {
  purpose: LinkPurpose;
  /** When the page already names its subject (an order number in the path), it must match. */
  subject?: string | number;
  now?: Date;
}

/**
 * Checks a token for one purpose (and subject, when given). The MAC is checked before anything
 * in the payload is believed; the comparison is constant-time. Failures, in the order checked:
 * malformed, bad_signature, wrong_purpose, wrong_subject, expired.
 */
export async function verifyLinkToken(
  secret: string,
  token: string | null | undefined,
  expected: LinkExpectation,
): Promise<LinkCheck> {
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    return { ok: false, reason: "malformed" };
  }
  const parts = token.split(".");
  if (parts.length !== 2) return { ok: false, reason: "malformed" };
  const payload = fromBase64Url(parts[0]!);
  const tag = fromBase64Url(parts[1]!);
  if (payload === null || tag === null || tag.byteLength !== TAG_BYTES) return { ok: false, reason: "malformed" };
  const fields = PAYLOAD.exec(new TextDecoder().decode(payload));
  if (fields === null) return { ok: false, reason: "malformed" };

  if (!constantTimeEqual(tag, await tagOf(secret, payload))) return { ok: false, reason: "bad_signature" };

  const [, purpose, subject, expires] = fields as unknown as [string, string, string, string];
  if (!isPurpose(purpose) || purpose !== expected.purpose) return { ok: false, reason: "wrong_purpose" };
  if (expected.subject !== undefined && subject !== String(expected.subject))
    return { ok: false, reason: "wrong_subject" };
  const expiresAt = new Date(Number(expires) * 1000);
  const now = expected.now ?? new Date();
  if (now.getTime() >= expiresAt.getTime()) return { ok: false, reason: "expired" };
  return { ok: true, purpose, subject, expiresAt };
}

// ---------------------------------------------------------------------------------------------
// Absolute links for e-mails and pages.

export type LinkSettings = Pick<AppConfig, "PUBLIC_BASE_URL" | "CUSTOMER_LINK_SECRET" | "CUSTOMER_LINK_TTL_DAYS">;

/** The customer's page listing all their orders. */
export const CUSTOMER_ORDERS_PATH = "/orders";

/** One order's page (status and history). */
export function orderPath(orderNumber: string): string {
  return `/order/${encodeURIComponent(orderNumber)}`;
}

export class LinkSecretMissingError extends Error {
  constructor() {
    super("CUSTOMER_LINK_SECRET is not set: customer links cannot be signed or checked");
    this.name = "LinkSecretMissingError";
  }
}

/** The link secret, or LinkSecretMissingError (production refuses to serve without it). */
export function linkSecret(settings: Pick<AppConfig, "CUSTOMER_LINK_SECRET">): string {
  const secret = settings.CUSTOMER_LINK_SECRET;
  if (secret === undefined || secret === "") throw new LinkSecretMissingError();
  return secret;
}

/** When a link made at `now` stops working: CUSTOMER_LINK_TTL_DAYS later. */
export function linkExpiry(settings: Pick<AppConfig, "CUSTOMER_LINK_TTL_DAYS">, now = new Date()): Date {
  return new Date(now.getTime() + settings.CUSTOMER_LINK_TTL_DAYS * 86_400_000);
}

/**
 * `PUBLIC_BASE_URL` + `path` + `?token=…`. The base may carry a path prefix
 * (https://example.com/docket), which is kept.
 */
export async function signedUrl(
  settings: LinkSettings,
  path: string,
  purpose: LinkPurpose,
  subject: string | number,
  now = new Date(),
): Promise<string> {
  const token = await signLinkToken(linkSecret(settings), { purpose, subject, expiresAt: linkExpiry(settings, now) });
  const url = new URL(`${settings.PUBLIC_BASE_URL.replace(/\/+$/, "")}${path}`);
  url.searchParams.set("token", token);
  return url.toString();
}

/** The link by which a customer sees all their orders (no password). */
export function customerOrdersLink(settings: LinkSettings, customer: { id: number }, now?: Date): Promise<string> {
  return signedUrl(settings, CUSTOMER_ORDERS_PATH, "customer-orders", customer.id, now);
}

/** The link to one order's page, bound to that order's number. */
export function orderViewLink(settings: LinkSettings, order: { number: string }, now?: Date): Promise<string> {
  return signedUrl(settings, orderPath(order.number), "order-view", order.number, now);
}
