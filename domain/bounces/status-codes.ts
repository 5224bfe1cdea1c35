/**
 * SMTP reply codes (RFC 5321 4.2) and enhanced mail system status codes (RFC 3463, the IANA
 * registry extended by RFC 5248, 7293, 7372, 7505, 8689) as they appear in bounce text, and
 * what each status code says about the reason. Pure: no I/O.
 */

import type { BounceReason } from "./bounce-reasons";

// RFC 3463 2: class.subject.detail. Not preceded or followed by more dotted digits (an IP
// address such as 52.101.68.24 or a version such as "v4.6.1" must not read as a status).
const STATUS_IN_TEXT = /(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d]|\.\d)/g;

/** Every RFC 3463 status code in a text, in order. */
export function statusCodesIn(text: string): string[] {
  return [...text.matchAll(STATUS_IN_TEXT)].map((m) => `${m[1]}.${Number(m[2])}.${Number(m[3])}`);
}

/** The first well-formed status code in a text (e.g. the DSN Status field "5.1.1 (user unknown)"). */
export function findStatus(text: string | undefined): string | null {
  if (!text) return null;
  return statusCodesIn(text)[0] ?? null;
}

// A reply code is three digits (RFC 5321 4.2: first 2-5, second 0-5) standing alone: at the
// start of the text or a line, or after the words MTAs put before a quoted reply ("said:",
// "host ... [ip]:", "<<<", "reason:"), and followed by a space, hyphen, colon or the end.
const REPLY_CODE_AT =
  /(?:^|\n|said:?|<<<|reason:|response:|returned|error|\]:|\):|;|\(|\[|ERROR_CODE :)\s*['"]?([245][0-5]\d)(?=[ \t-]|:|\]|\)|$|\n|'|")/gi;

/** The first SMTP reply code in a diagnostic, or null. */
export function findReplyCode(text: string | undefined): number | null {
  if (!text) return null;
  let first: number | null = null;
  for (const m of text.matchAll(REPLY_CODE_AT)) {
    const code = Number(m[1]);
    // A transcript may quote the greeting (220) or earlier successes before the refusal.
    if (code >= 400) return code;
    first ??= code;
  }
  return first;
}

/** "5.1.1" -> 5, or 0 for null. */
export function statusClass(status: string | null | undefined): number {
  if (!status) return 0;
  return Number(status[0]);
}

/** True for a status that says no more than "permanent" or "temporary" (X.0.0). */
export function isGenericStatus(status: string | null | undefined): boolean {
  return !status || /^[245]\.0\.0$/.test(status);
}

/**
 * The reason an RFC 3463 status code stands for on its own, when the code is specific enough
 * to say. Codes that servers use for many unrelated refusals (X.7.0, X.7.1, X.5.0, X.0.0, the
 * vendor-specific details such as Microsoft's 5.7.606) return null: the text decides.
 */
export function reasonForStatus(status: string | null | undefined): BounceReason | null {
  if (!status) return null;
  const [, subject, detail] = status.split(".").map(Number) as [number, number, number];
  const cls = Number(status[0]);
  if (cls === 2) return "delivered";
  switch (subject) {
    case 1: // Addressing status
      switch (detail) {
        case 1: // Bad destination mailbox address
        case 3: // Bad destination mailbox address syntax
          return "userunknown";
        case 2: // Bad destination system address
          return "hostunknown";
        case 6: // Destination mailbox has moved, no forwarding address
          return "hasmoved";
        case 7: // Bad sender's mailbox address syntax
        case 8: // Bad sender's system address
          return "rejected";
        case 10: // Recipient address has null MX (RFC 7505)
          return "notaccept";
        default:
          return null;
      }
    case 2: // Mailbox status
      switch (detail) {
        case 1: // Mailbox disabled, not accepting messages
          return "suspend";
        case 2: // Mailbox full
          return "mailboxfull";
        case 3: // Message length exceeds administrative limit
          return "exceedlimit";
        case 4: // Mailing list expansion problem
          return "systemerror";
        default:
          return null;
      }
    case 3: // Mail system status
      switch (detail) {
        case 3: // System not capable of selected features
        case 5: // System incorrectly configured
          return "systemerror";
        case 1: // Mail system full
          return "systemfull";
        case 2: // System not accepting network messages
          return "notaccept";
        case 4: // Message too big for system
          return "mesgtoobig";
        default:
          return null;
      }
    case 4: // Network and routing status
      switch (detail) {
        case 1: // No answer from host
        case 2: // Bad connection
        case 6: // Routing loop detected
          return "networkerror";
        case 3: // Directory server failure
          return "systemerror";
        case 4: // Unable to route
          return "hostunknown";
        case 5: // Mail system congestion
          return "toomanyconn";
        case 7: // Delivery time expired
          return "expired";
        default:
          return null;
      }
    case 5: // Mail delivery protocol status
      switch (detail) {
        case 1: // Invalid command
        case 2: // Syntax error
        case 4: // Invalid command arguments
        case 5: // Wrong protocol version
        case 6: // Authentication exchange line too long (RFC 4954)
          return "syntaxerror";
        case 3: // Too many recipients
          return "toomanyconn";
        default:
          return null;
      }
    case 6: // Message content or media status
      return "contenterror";
    case 7: // Security or policy status
      switch (detail) {
        case 2: // Mailing list expansion prohibited
        case 3: // Security conversion required but not possible
        case 4: // Security features not supported
        case 5: // Cryptographic failure
        case 6: // Cryptographic algorithm not supported
        case 7: // Message integrity failure
        case 8: // Authentication credentials invalid (RFC 4954)
        case 11: // Encryption required for requested authentication mechanism
        case 12: // A password transition is needed
        case 14: // Trust relationship required
          return "securityerror";
        case 10: // Encryption needed
        case 30: // REQUIRETLS support required (RFC 8689)
          return "failedstarttls";
        case 13: // User account disabled (RFC 5248)
          return "suspend";
        case 16: // Message too big for specified priority (RFC 6710)
          return "mesgtoobig";
        case 17: // Mailbox owner has changed (RFC 7293)
        case 18: // Domain owner has changed (RFC 7293)
          return "hasmoved";
        case 20: // No passing DKIM signature found (RFC 7372)
        case 21: // No acceptable DKIM signature found
        case 22: // No valid author-matched DKIM signature found
        case 23: // SPF validation failed
        case 24: // SPF validation error
        case 26: // Multiple authentication checks failed
        case 29: // ARC validation failure (RFC 8617)
          return "authfailure";
        case 25: // Reverse DNS validation failed (RFC 7372)
          return "requireptr";
        case 27: // Sender address has null MX (RFC 7505)
          return "notaccept";
        case 28: // Mail flood detected
          return "spamdetected";
        default:
          return null;
      }
    default:
      return null;
  }
}

/**
 * The reason a bare status falls back to when neither its detail nor the text says anything
 * more precise (X.7.0 and X.7.1 are "security or policy", X.4.0 "network or routing").
 */
export function fallbackReasonForStatus(status: string | null | undefined): BounceReason | null {
  if (!status) return null;
  const [, subject, detail] = status.split(".").map(Number) as [number, number, number];
  if (subject === 7 && detail < 20) return "securityerror";
  if (subject === 4) return "networkerror";
  if (subject === 5) return "syntaxerror";
  return null;
}
