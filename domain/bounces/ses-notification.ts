/**
 * Amazon SES notifications delivered by email through SNS: a JSON document in the body instead
 * of a DSN or an ARF report ("notificationType" for notifications, "eventType" for event
 * publishing). Pure: no I/O.
 */

export interface SesRecipient {
  recipient: string;
  action: string | undefined;
  status: string | undefined;
  diagnostic: string | undefined;
}

export interface SesNotification {
  type: "bounce" | "complaint" | "delivery" | "delay";
  /** Permanent / Transient / Undetermined for bounces. */
  bounceType: string | undefined;
  /** General, NoEmail, Suppressed, OnAccountSuppressionList, MailboxFull, MessageTooLarge ... */
  bounceSubType: string | undefined;
  feedbackType: string | undefined;
  recipients: SesRecipient[];
  remoteMta: string | undefined;
  messageId: string | undefined;
  source: string | undefined;
  headers: { name: string; value: string }[];
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined;
}
function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Finds and parses an SES notification in a message body; undefined when there is none. */
export function parseSesNotification(text: string): SesNotification | undefined {
  if (!/"(?:notificationType|eventType)"\s*:/.test(text)) return undefined;
  // SNS folds long lines like header fields ("\n " continuations); undo that first.
  const unfolded = text.replace(/\r?\n[ \t]/g, "");
  const start = unfolded.indexOf("{");
  const end = unfolded.lastIndexOf("}");
  if (start === -1 || end <= start) return undefined;
  let doc: Json | undefined;
  try {
    doc = obj(JSON.parse(unfolded.slice(start, end + 1)));
  } catch {
    return undefined;
  }
  if (!doc) return undefined;
  // An SNS HTTP envelope carries the notification as a JSON string in "Message".
  if (typeof doc.Message === "string") {
    try {
      doc = obj(JSON.parse(doc.Message)) ?? doc;
    } catch {
      // keep the envelope
    }
  }
  const kind = (str(doc.notificationType) ?? str(doc.eventType) ?? "").toLowerCase();
  const mail = obj(doc.mail) ?? {};
  const headers = arr(mail.headers)
    .map(obj)
    .filter((h): h is Json => !!h)
    .map((h) => ({ name: str(h.name) ?? "", value: str(h.value) ?? "" }));
  const base = {
    messageId: str(mail.messageId),
    source: str(mail.source),
    headers,
  };
  if (kind === "bounce") {
    const b = obj(doc.bounce) ?? {};
    return {
      ...base,
      type: "bounce",
      bounceType: str(b.bounceType),
      bounceSubType: str(b.bounceSubType),
      feedbackType: undefined,
      remoteMta: str(b.reportingMTA)?.replace(/^dns;\s*/i, ""),
      recipients: arr(b.bouncedRecipients)
        .map(obj)
        .filter((r): r is Json => !!r)
        .map((r) => ({
          recipient: str(r.emailAddress) ?? "",
          action: str(r.action),
          status: str(r.status),
          diagnostic: str(r.diagnosticCode)?.replace(/^smtp;\s*/i, ""),
        })),
    };
  }
  if (kind === "complaint") {
    const c = obj(doc.complaint) ?? {};
    return {
      ...base,
      type: "complaint",
      bounceType: undefined,
      bounceSubType: undefined,
      feedbackType: str(c.complaintFeedbackType) ?? "abuse",
      remoteMta: undefined,
      recipients: arr(c.complainedRecipients)
        .map(obj)
        .filter((r): r is Json => !!r)
        .map((r) => ({
          recipient: str(r.emailAddress) ?? "",
          action: undefined,
          status: undefined,
          diagnostic: undefined,
        })),
    };
  }
  if (kind === "delivery" || kind === "deliverydelay") {
    const d = obj(doc.delivery) ?? obj(doc.deliveryDelay) ?? {};
    const response = str(d.smtpResponse);
    const delayed = kind === "deliverydelay";
    const recipients = delayed
      ? arr(d.delayedRecipients).map((r) => str(obj(r)?.emailAddress) ?? "")
      : arr(d.recipients).map((r) => str(r) ?? "");
    return {
      ...base,
      type: delayed ? "delay" : "delivery",
      bounceType: undefined,
      bounceSubType: undefined,
      feedbackType: undefined,
      remoteMta: str(d.reportingMTA)?.replace(/^dns;\s*/i, ""),
      recipients: recipients.map((recipient) => ({
        recipient,
        action: delayed ? "delayed" : "delivered",
        status: undefined,
        diagnostic: response,
      })),
    };
  }
  return undefined;
}
