/**
 * Bounce classification: what an inbound message says about mail we sent. Pure domain code:
 * no bindings, no I/O; runs in workerd (the inbound-mail consumer) and in Node (the CLI).
 *
 * One raw RFC 5322 message in, one classification out:
 * - "bounce" / "delay" / "delivered": a delivery status notification, standard (RFC 3464
 *   inside RFC 6522 multipart/report) or one of the text formats MTAs still send, with one
 *   entry per recipient it reports on;
 * - "complaint": a feedback report (RFC 5965 ARF, Microsoft JMRP, Amazon SES);
 * - "auto_reply": a vacation or other automatic reply (RFC 3834), which is not a failure;
 * - "not_bounce": anything else (a person's reply, a newsletter ...).
 *
 * The MIME structure is parsed with postal-mime (message-parts); the rest is ours.
 */

import { detectAutoReply, type AutoReply } from "./auto-reply";
import { hasBounceSubject, isDaemonSender, isDelayNotice, looksLikeBounce, readsLikeBounce } from "./bounce-signals";
import { isHardBounce, type BounceReason } from "./bounce-reasons";
import { parseDeliveryStatus, looksLikeDeliveryStatus, type DsnRecipient } from "./delivery-status";
import { parseFeedbackReport, parseJmrpReport, type FeedbackReport } from "./feedback-report";
import { allAddresses, firstAddress, headerValue, sameAddress } from "./mail-headers";
import { readMessage, type MessageParts } from "./message-parts";
import { describeOriginal, findHeaderBlock, type OriginalMessage } from "./original-message";
import { decideReason } from "./reason-decision";
import { parseSesNotification, type SesNotification } from "./ses-notification";
import { smtpCommandIn, type SmtpCommand } from "./smtp-command";
import { findReplyCode, findStatus, isGenericStatus, statusClass, statusCodesIn } from "./status-codes";
import { parseTextBounce, type TextBounce, type TextRecipient } from "./text-bounce";

export type BounceKind = "bounce" | "delay" | "delivered" | "complaint" | "auto_reply" | "not_bounce";

export interface BounceRecipient {
  recipient: string;
  reason: BounceReason;
  /** RFC 3463 status code, e.g. "5.1.1", or null when the bounce gave none. */
  status: string | null;
  /** RFC 5321 reply code of the remote server, or null. */
  replyCode: number | null;
  diagnostic: string | null;
  /** RFC 3464 action: failed, delayed, delivered, relayed, expanded. */
  action: string | null;
  remoteMta: string | null;
  hardBounce: boolean;
  /** RFC 5965 Feedback-Type, for complaints. */
  feedbackType?: string;
}

export interface BounceClassification {
  kind: BounceKind;
  /**
   * One entry per recipient the report is about, in report order. Empty for "not_bounce", and
   * for a mailer daemon's report that names no recipient in a form we can read.
   */
  recipients: BounceRecipient[];
  /** Message-ID of the returned original message (ours), angle brackets included. */
  originalMessageId?: string;
  /**
   * Headers of the returned original that tell which send it was: every X-Docket-* header,
   * Message-ID, From, To, Subject, Date, Return-Path (lower-case names), plus the envelope
   * facts the report gives: "original-envelope-id" (RFC 3461 ENVID) and "envelope-from".
   */
  originalHeaders?: Record<string, string>;
}

function withOriginal(
  result: BounceClassification,
  original: OriginalMessage | undefined,
  envelope: Record<string, string> = {},
): BounceClassification {
  const headers = { ...(original?.headers ?? {}), ...envelope };
  if (original?.messageId) result.originalMessageId = original.messageId;
  if (Object.keys(headers).length) result.originalHeaders = headers;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Per-recipient evidence

interface RecipientEvidence {
  recipient: string;
  status: string | null;
  /** The status came from a structured field (DSN Status:, SES JSON), not from prose. */
  statusDeclared: boolean;
  diagnostic: string | undefined;
  diagnosticType?: string | undefined;
  context: string | undefined;
  action: string | undefined;
  remoteMta: string | undefined;
  /** The refused SMTP command when the caller knows it for this recipient. */
  command?: SmtpCommand | undefined;
  /** Whether the context's SMTP stage and status codes apply to this recipient too. */
  contextCommand?: boolean;
}

/** The status to report: the DSN's, made specific by the diagnostic's when the DSN's says only X.0.0. */
function pickStatus(
  declared: string | null,
  diagnostic: string | undefined,
  context: string | undefined,
  contextApplies: boolean,
): string | null {
  // A transcript quotes the successes before the failure (250 2.1.5 Ok): those are not it.
  const failures = (text: string | undefined) => statusCodesIn(text ?? "").filter((s) => !s.startsWith("2"));
  const inDiagnostic = declared?.startsWith("2") ? statusCodesIn(diagnostic ?? "") : failures(diagnostic);
  const specific = inDiagnostic.find((s) => !isGenericStatus(s));
  if (declared && !isGenericStatus(declared)) return declared;
  if (specific && (!declared || statusClass(specific) === statusClass(declared))) return specific;
  if (declared) return declared;
  if (inDiagnostic[0]) return inDiagnostic[0];
  // Some bounces give the status apart from the recipient's lines; with several recipients
  // it could be anyone's.
  if (!contextApplies) return null;
  return failures(context).find((s) => !isGenericStatus(s)) ?? null;
}

function toRecipient(e: RecipientEvidence): BounceRecipient {
  const replyCode = findReplyCode(e.diagnostic);
  const status = pickStatus(e.status, e.diagnostic, e.context, e.contextCommand !== false);
  const command =
    e.command ?? smtpCommandIn(e.diagnostic) ?? (e.contextCommand === false ? undefined : smtpCommandIn(e.context));
  const reason = decideReason({
    status,
    statusDeclared: e.statusDeclared && !!e.status && status === e.status,
    replyCode,
    diagnostic: e.diagnostic,
    diagnosticType: e.diagnosticType,
    context: e.context,
    command,
    action: e.action,
  });
  return {
    recipient: e.recipient,
    reason,
    status,
    replyCode,
    diagnostic: e.diagnostic?.replace(/\s+/g, " ").trim() || null,
    action: e.action ?? null,
    remoteMta: e.remoteMta ?? null,
    hardBounce: isHardBounce(reason, status, replyCode),
  };
}

function kindOf(recipients: BounceRecipient[]): BounceKind {
  if (recipients.some((r) => r.reason !== "delivered" && r.action !== "delayed")) return "bounce";
  if (recipients.some((r) => r.action === "delayed")) return "delay";
  return "delivered";
}

// ---------------------------------------------------------------------------------------------
// The formats

function fromDeliveryStatus(
  parts: MessageParts,
  dsnTexts: string[],
  text: TextBounce,
): BounceClassification | undefined {
  const envelope: Record<string, string> = {};
  const recipients: RecipientEvidence[] = [];
  const blocks = blocksByAddress(text);
  for (const dsnText of dsnTexts) {
    const dsn = parseDeliveryStatus(dsnText);
    const envid = dsn.perMessage["original-envelope-id"];
    if (envid) envelope["original-envelope-id"] = envid;
    const sender = firstAddress(dsn.perMessage["x-postfix-sender"]);
    if (sender) envelope["envelope-from"] = sender;
    for (const r of dsn.recipients) recipients.push(evidenceFromDsn(r, text, blocks, dsn.recipients.length === 1));
  }
  if (recipients.length === 0) return undefined;
  const out = recipients.filter((r) => r.recipient).map(toRecipient);
  if (out.length === 0) return undefined;
  return withOriginal({ kind: kindOf(out), recipients: out }, parts.original ?? originalFromText(text), envelope);
}

function evidenceFromDsn(
  r: DsnRecipient,
  text: TextBounce,
  blocks: Map<string, TextRecipient>,
  single: boolean,
): RecipientEvidence {
  const block = matchingBlock(blocks, r.recipient, r.originalRecipient);
  // The SMTP stage: from this recipient's own words, else its block in the human-readable
  // part ("(in reply to RCPT TO command)"), else the whole text when it is about one recipient.
  const command =
    smtpCommandIn(r.diagnostic) ??
    smtpCommandIn(r.status) ??
    smtpCommandIn(block?.diagnostic) ??
    (block?.refusedAtRcpt ? "RCPT" : undefined) ??
    (single ? smtpCommandIn(text.errorText) : undefined);
  const diagnostic = r.diagnostic && r.diagnostic.trim() ? r.diagnostic : block?.diagnostic;
  const context = [block?.diagnostic, text.errorText].filter(Boolean).join("\n");
  let action = r.action;
  if (!action && r.status)
    action = r.status.startsWith("2") ? "delivered" : r.status.startsWith("4") ? "delayed" : "failed";
  return {
    recipient: r.recipient ?? "",
    status: findStatus(r.status),
    statusDeclared: true,
    diagnostic,
    diagnosticType: diagnostic === r.diagnostic ? r.diagnosticType : undefined,
    context,
    action,
    remoteMta: r.remoteMta,
    command,
    contextCommand: false,
  };
}

/** The human-readable part's blocks by lower-cased address. */
function blocksByAddress(text: TextBounce): Map<string, TextRecipient> {
  return new Map(text.recipients.map((b) => [b.recipient.toLowerCase(), b]));
}

function matchingBlock(
  blocks: Map<string, TextRecipient>,
  ...addresses: (string | undefined)[]
): TextRecipient | undefined {
  for (const a of addresses) {
    const b = a && blocks.get(a.toLowerCase());
    if (b) return b;
  }
  return undefined;
}

function originalFromText(text: TextBounce): OriginalMessage | undefined {
  if (!text.returnedText) return undefined;
  return describeOriginal(findHeaderBlock(text.returnedText));
}

function fromTextBounce(
  parts: MessageParts,
  text: TextBounce,
  original: OriginalMessage | undefined,
): BounceClassification | undefined {
  let found = text.recipients;
  if (found.length === 0) {
    // Exim and Gmail name the failed recipients in a header (X-Failed-Recipients); failing
    // that, a bounce that names no address failed for the returned message's recipients.
    const listed = allAddresses(headerValue(parts.headers, "x-failed-recipients"));
    const fallback = listed.length ? listed : allAddresses(original?.headers.to);
    found = fallback.map((recipient) => ({ recipient, diagnostic: "" }));
  }
  if (found.length === 0) return undefined;
  const delayed = isDelayNotice(parts.subject, text.errorText);
  const permanent = /permanent|fatal|failed permanently|giving up|given up|gave up/i.test(text.errorText);
  const out = found.map((r) =>
    toRecipient({
      recipient: r.recipient,
      status: null,
      statusDeclared: false,
      diagnostic: r.diagnostic || undefined,
      context: text.errorText,
      action: delayed && !permanent ? "delayed" : "failed",
      remoteMta: remoteMtaIn(r.diagnostic),
      command: r.refusedAtRcpt ? "RCPT" : undefined,
      // With several recipients, a transcript's stage belongs to one of them only.
      contextCommand: found.length === 1,
    }),
  );
  return withOriginal({ kind: kindOf(out), recipients: out }, original);
}

function remoteMtaIn(text: string): string | undefined {
  return (
    /\b(?:host|server|by|from)\s+([a-z0-9-]+(?:\.[a-z0-9-]+)+)\s*\[/i.exec(text)?.[1] ??
    /remote host ([0-9.]+) said/i.exec(text)?.[1]
  );
}

function fromFeedback(report: FeedbackReport, original: OriginalMessage | undefined): BounceClassification {
  const recipients = (report.recipients.length ? report.recipients : [""]).map((recipient) => ({
    recipient,
    reason: "feedback" as const,
    status: null,
    replyCode: null,
    diagnostic: null,
    action: null,
    remoteMta: null,
    hardBounce: false,
    feedbackType: report.feedbackType,
  }));
  const envelope: Record<string, string> = {};
  if (report.originalMailFrom) envelope["envelope-from"] = report.originalMailFrom;
  return withOriginal({ kind: "complaint", recipients }, original, envelope);
}

function fromSes(ses: SesNotification): BounceClassification {
  const fields = ses.headers.map((h) => ({ name: h.name.toLowerCase(), value: h.value }));
  const original = describeOriginal(fields);
  const envelope: Record<string, string> = {};
  if (ses.source) envelope["envelope-from"] = ses.source;
  if (ses.messageId) envelope["ses-message-id"] = ses.messageId;
  if (ses.type === "complaint") {
    return fromFeedback(
      {
        feedbackType: ses.feedbackType ?? "abuse",
        recipients: ses.recipients.map((r) => r.recipient),
        userAgent: undefined,
        sourceIp: undefined,
        originalMailFrom: ses.source,
        arrivalDate: undefined,
      },
      original,
    );
  }
  const recipients = ses.recipients.map((r) => {
    const base = toRecipient({
      recipient: r.recipient,
      status: findStatus(r.status) ?? (ses.type === "delivery" ? findStatus(r.diagnostic) : null),
      statusDeclared: !!r.status,
      diagnostic: r.diagnostic,
      context: undefined,
      action: r.action,
      remoteMta: ses.remoteMta,
    });
    // SES refuses to send to addresses on its suppression lists; nothing reached a server.
    if (ses.type === "bounce" && /suppress/i.test(ses.bounceSubType ?? "")) {
      return { ...base, reason: "suppressed" as const, hardBounce: false };
    }
    return base;
  });
  const kind: BounceKind = ses.type === "delivery" ? "delivered" : ses.type === "delay" ? "delay" : "bounce";
  return withOriginal({ kind, recipients }, original, envelope);
}

// ---------------------------------------------------------------------------------------------

export async function classifyBounce(raw: Uint8Array | ArrayBuffer | string): Promise<BounceClassification> {
  return classifyAt(raw, 0);
}

const VAGUE: ReadonlySet<BounceReason> = new Set(["onhold", "undefined"]);

async function classifyAt(raw: Uint8Array | ArrayBuffer | string, depth: number): Promise<BounceClassification> {
  const parts = await readMessage(raw);
  // Beyond the parser's limits: nothing we can read as a report.
  if (!parts) return { kind: "not_bounce", recipients: [] };

  const ses = parseSesNotification(parts.text);
  if (ses) return fromSes(ses);

  if (parts.feedbackReport !== undefined) {
    return fromFeedback(parseFeedbackReport(parts.feedbackReport, parts.original?.fields), parts.original);
  }
  if (parts.original) {
    const jmrp = parseJmrpReport(parts.original.fields);
    if (jmrp) return fromFeedback(jmrp, parts.original);
  }

  // The bounce is addressed to the original sender, who is not a failed recipient (inside a
  // wrapped bounce, though, To is whoever the wrapper's sender wrote to).
  const excluded = [depth === 0 ? parts.to : undefined, parts.original?.returnPath, parts.original?.from].filter(
    (a): a is string => !!a,
  );
  const text = parseTextBounce(parts.text, { excluded });
  // The returned message pasted in the text tells who the sender was, too.
  const pasted = parts.original ? undefined : originalFromText(text);
  const textBounce = pasted
    ? parseTextBounce(parts.text, {
        excluded: [...excluded, pasted.returnPath, pasted.from].filter((a): a is string => !!a),
      })
    : text;
  const original = parts.original ?? pasted;

  let result: BounceClassification | undefined;
  if (parts.deliveryStatus.length) result = fromDeliveryStatus(parts, parts.deliveryStatus, textBounce);
  // A person's autoresponder may quote addresses and words of failure; unless the message
  // comes from a mailer daemon or says it is a delivery report, it is what it says it is.
  const auto = detectAutoReply(parts.headers, parts.from, parts.subject);
  if (!result && auto && !isDaemonSender(parts.headers) && !hasBounceSubject(parts.subject)) {
    return autoReply(auto, parts.original);
  }
  // Inside a bounce, the attached message only has to read like one.
  const bounceLike =
    !!result ||
    looksLikeBounce(parts.headers, parts.subject, textBounce.errorText) ||
    (depth > 0 && readsLikeBounce(textBounce.errorText));
  if (!result && bounceLike && looksLikeDeliveryStatus(parts.text)) {
    const start = parts.text.search(/^\s*(?:reporting-mta|final-recipient|original-recipient|action)\s*:/im);
    result = fromDeliveryStatus(parts, [parts.text.slice(Math.max(0, start))], textBounce);
  }
  if (!result && bounceLike && textBounce.recipients.length) result = fromTextBounce(parts, textBounce, original);

  // A gateway (a content filter, a forwarder) may wrap the bounce it received instead of
  // explaining the failure itself: read the attached message as a bounce too.
  if (bounceLike && depth < 2 && parts.originalRaw && (!result || result.recipients.some((r) => VAGUE.has(r.reason)))) {
    const nested = await classifyAt(parts.originalRaw, depth + 1);
    if (nested.kind === "bounce" || nested.kind === "delay") {
      if (!result) return nested;
      result.recipients = result.recipients.map((r) => {
        if (!VAGUE.has(r.reason)) return r;
        const same = nested.recipients.find((n) => sameAddress(n.recipient, r.recipient));
        const only =
          result!.recipients.length === 1 && nested.recipients.length === 1 ? nested.recipients[0] : undefined;
        const better = same ?? only;
        return better ? { ...better, recipient: r.recipient } : r;
      });
    }
  }
  if (!result && bounceLike) result = fromTextBounce(parts, textBounce, original);
  if (result) return result;
  // A report from a mailer daemon that names no recipient we can read is still a report.
  if (bounceLike && isDaemonSender(parts.headers)) return withOriginal({ kind: "bounce", recipients: [] }, original);

  if (auto) return autoReply(auto, parts.original);
  return { kind: "not_bounce", recipients: [] };
}

function autoReply(auto: AutoReply, original: OriginalMessage | undefined): BounceClassification {
  const recipient: BounceRecipient = {
    recipient: auto.responder ?? "",
    reason: "vacation",
    status: null,
    replyCode: null,
    diagnostic: auto.signal,
    action: null,
    remoteMta: null,
    hardBounce: false,
  };
  return withOriginal({ kind: "auto_reply", recipients: [recipient] }, original);
}
