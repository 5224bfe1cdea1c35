/**
 * The vocabulary of bounce reasons, and which of them are hard bounces. Pure: no I/O.
 *
 * The names are Sisimai's (5.2 set, see corpora/bounces/REASONS.tsv) so results can be compared
 * with its output and with other tools that adopted the same words. A hard bounce means the
 * address itself is bad and retrying can never succeed: the mailbox or the domain does not
 * exist, or has moved; everything else (full mailbox, policy, reputation, outages) may clear.
 */

export const BOUNCE_REASONS = [
  "authfailure",
  "badreputation",
  "blocked",
  "contenterror",
  "delivered",
  "exceedlimit",
  "expired",
  "failedstarttls",
  "feedback",
  "filtered",
  "hasmoved",
  "hostunknown",
  "mailboxfull",
  "mailererror",
  "mesgtoobig",
  "networkerror",
  "norelaying",
  "notaccept",
  "notcompliantrfc",
  "onhold",
  "policyviolation",
  "rejected",
  "requireptr",
  "securityerror",
  "spamdetected",
  "speeding",
  "suppressed",
  "suspend",
  "syntaxerror",
  "systemerror",
  "systemfull",
  "toomanyconn",
  "undefined",
  "userunknown",
  "vacation",
  "virusdetected",
] as const;

export type BounceReason = (typeof BOUNCE_REASONS)[number];

const ALWAYS_HARD: ReadonlySet<BounceReason> = new Set(["userunknown", "hostunknown", "hasmoved"]);

/**
 * Hard bounce per REASONS.tsv: userunknown, hostunknown and hasmoved always; notaccept only
 * when the failure is permanent (a 5xx reply or 5.x.x status, RFC 5321 4.2.1 / RFC 3463 3.1)
 * or nothing says otherwise (a null MX, RFC 7505, is permanent by nature).
 */
export function isHardBounce(reason: BounceReason, status: string | null, replyCode: number | null): boolean {
  if (ALWAYS_HARD.has(reason)) return true;
  if (reason !== "notaccept") return false;
  if (status) return status.startsWith("5");
  if (replyCode) return replyCode >= 500;
  return true;
}
