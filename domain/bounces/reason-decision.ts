/**
 * Deciding one failed recipient's reason from everything a bounce says about it. Pure: no I/O.
 *
 * Order of evidence:
 * 1. a 2.x.x status or a delivered/relayed/expanded action is no failure at all (RFC 3464
 *    2.3.3); a diagnostic of type X-Unix is the exit status of a local delivery program;
 * 2. the SMTP stage, when the words are no more specific than it: a refusal of MAIL FROM is
 *    about the sender, one at the greeting or HELO about the sending host (RFC 5321 3.3);
 * 3. the recipient's own diagnostic text, through the phrase table (reason-patterns), because
 *    servers reuse status codes loosely (5.7.1 for everything, 5.1.10 or 5.2.1 for unknown
 *    users, 5.0.0 for anything) while their words are specific; except that a status naming
 *    the mailbox's state or one precise check (RFC 7372) outranks generic words, and a loose
 *    word ("blocked", "policy") loses to any specific status;
 * 4. the RFC 3463 status code, when its detail is specific;
 * 5. the rest of the bounce text (the error section around the recipient's block);
 * 6. a delayed action with nothing else said: the message sits in a queue ("expired");
 * 7. what is left: "onhold" when the bounce said something nobody can classify, "undefined"
 *    when it said nothing.
 * Finally a "user unknown" claim is only taken as such at RCPT TO, under an addressing status,
 * or as a mail system's directory verdict; elsewhere it is a filter speaking ("filtered").
 */

import type { BounceReason } from "./bounce-reasons";
import { matchReason } from "./reason-patterns";
import type { SmtpCommand } from "./smtp-command";
import { fallbackReasonForStatus, isGenericStatus, reasonForStatus, statusClass } from "./status-codes";

export interface ReasonEvidence {
  status: string | null;
  /** True when the status came from a structured field (DSN Status:), not from prose. */
  statusDeclared: boolean;
  replyCode: number | null;
  /** The recipient's own diagnostic (Diagnostic-Code, or its block of a text bounce). */
  diagnostic: string | undefined;
  /** RFC 3464 diagnostic-type: smtp, x-unix, x-postfix ... */
  diagnosticType: string | undefined;
  /** Other text of the bounce that may explain the failure (the error section). */
  context: string | undefined;
  command: SmtpCommand | undefined;
  action: string | undefined;
}

// Phrases with which a mail system reports the result of its own directory lookup (Exchange,
// Domino, IMail, Microsoft 365, Gmail): they are definitive whatever the SMTP stage.
const DIRECTORY_VERDICT =
  /recipient name is not recognized|not listed in (?:the )?(?:public name|domino directory)|invalid final delivery userid|recipnotfound|recipientnotfound|resolver\.adr\.recip|you tried to reach does not exist|^\s*unknown user:|no valid recipients|check for typos or unnecessary spaces|recipient address rejected: access denied/i;

/** Adjusts a reason for when and how the refusal happened. */
function inContext(reason: BounceReason, e: ReasonEvidence, fromStatus: BounceReason | null): BounceReason {
  // An addressing status (RFC 3463 X.1.x, including vendor details such as 5.1.351) backs the words.
  const addressing = !!e.status && /^[45]\.1\./.test(e.status);
  if (reason === "userunknown" && fromStatus !== "userunknown" && !addressing) {
    const said = `${e.diagnostic ?? ""}\n${e.context ?? ""}`;
    if (!DIRECTORY_VERDICT.test(said)) {
      // RFC 5321 3.3: recipients are accepted or refused one by one at RCPT TO. A "no such
      // user" at any other point (after DATA, or without saying when) comes from a filter
      // that answers in those words, and so does one under a security/policy status (X.7.x).
      if (e.status && /^[45]\.7\./.test(e.status)) return "filtered";
      if (e.command !== "RCPT") return "filtered";
    }
  }
  // A domain that "does not exist" only for now is a DNS failure, not a verdict.
  if (reason === "hostunknown" && (statusClass(e.status) === 4 || (e.replyCode && e.replyCode < 500)))
    return "networkerror";
  return reason;
}

const PRECISE_STATUS: ReadonlySet<BounceReason> = new Set(["authfailure", "requireptr", "notaccept", "failedstarttls"]);
const GENERIC_REFUSAL: ReadonlySet<BounceReason> = new Set(["securityerror", "blocked", "policyviolation", "filtered"]);

// Mailbox states a declared Status can name more precisely than a generic "user unknown".
const MAILBOX_STATE: ReadonlySet<BounceReason> = new Set([
  "mailboxfull",
  "mesgtoobig",
  "exceedlimit",
  "suspend",
  "hasmoved",
]);

export function decideReason(e: ReasonEvidence): BounceReason {
  const action = e.action?.toLowerCase();
  if (action === "delivered" || action === "relayed" || action === "expanded" || e.status?.startsWith("2.")) {
    return "delivered";
  }
  const text = matchReason(e.diagnostic);
  // RFC 3464 2.3.6: an X-Unix diagnostic is a local program's exit status (procmail, a pipe),
  // unless its text says more (a quota).
  if (e.diagnosticType === "x-unix") return text && !text.loose ? text.reason : "mailererror";

  const fromStatus = isGenericStatus(e.status) ? null : reasonForStatus(e.status);
  // At MAIL FROM only the sender is judged (RFC 5321 3.3); at the greeting or HELO, the host.
  if (e.command === "MAIL" && (!text || text.loose || text.reason === "userunknown" || text.reason === "hostunknown")) {
    return "rejected";
  }
  if ((e.command === "CONN" || e.command === "HELO") && (!text || text.loose)) return "blocked";

  if (text) {
    if (fromStatus && fromStatus !== text.reason) {
      // A Status field naming the mailbox's state (5.2.1 disabled, 5.2.2 full ...) outranks a
      // generic "user unknown" in the reply, unless the reply came at RCPT TO, where that is
      // exactly what the server checked.
      if (e.statusDeclared && MAILBOX_STATE.has(fromStatus) && text.reason === "userunknown" && e.command !== "RCPT") {
        return fromStatus;
      }
      if (fromStatus === "exceedlimit" && text.reason === "mesgtoobig") return "exceedlimit";
      // RFC 7372 / 7505 codes name one check precisely; a generic security or policy wording
      // around them ("must authenticate", "access denied") does not override that.
      if (PRECISE_STATUS.has(fromStatus) && GENERIC_REFUSAL.has(text.reason)) return fromStatus;
      // A loose word loses to a specific status.
      if (text.loose) return inContext(fromStatus, e, fromStatus);
    }
    return inContext(text.reason, e, fromStatus);
  }
  if (fromStatus) return inContext(fromStatus, e, fromStatus);
  // RFC 3463 X.1.0, "other address status": something about the recipient's address.
  if (e.status === "5.1.0") return "userunknown";
  // X.2.0, "other or undefined mailbox status": the mailbox exists but refused the message.
  if (e.status === "5.2.0" || e.status === "4.2.0") return "filtered";

  const fromContext = matchReason(e.context);
  if (fromContext) return inContext(fromContext.reason, e, fromStatus);

  if (action === "delayed") return "expired";

  const fallback = fallbackReasonForStatus(e.status);
  if (fallback) return fallback;
  return e.status || e.replyCode || e.diagnostic || e.context?.trim() ? "onhold" : "undefined";
}
