import { classifySmtpOutcome } from "../../domain/mail/smtp-outcome";
import { formatReturnPath, SEND_ID_HEADER } from "../../domain/mail/return-path";
import type { AppConfig } from "../../domain/config/app-config";
import type { Db } from "../../db/client";
import { claimSend, recordSendOutcome, type MailSendRow } from "../../db/mail-sends";
import type { Mailer, OutboundMessage, SendOutcome } from "./mailer";

export type RecordedSendResult =
  | { sent: true; send: MailSendRow; outcome: SendOutcome }
  /** The same message was already claimed for this recipient: nothing was sent. */
  | { sent: false; reason: "already_claimed" };

/**
 * Sends one message to one recipient at most once. The send is claimed in `mail_sends`
 * (unique per Message-ID and recipient) BEFORE the relay sees it, with the send id in the VERP
 * return path and an X-Docket-Send header so bounces find it; then the relay's answer is
 * recorded and classified. If the Worker dies between claim and answer, the row stays
 * `sending` and is never sent again blindly.
 */
export async function sendRecorded(
  db: Db,
  config: AppConfig,
  mailer: Mailer,
  message: OutboundMessage & { to: string; messageId: string },
  meta: { kind: "campaign" | "transactional" | "operator" | "test"; campaignId?: number },
): Promise<RecordedSendResult> {
  const send = await claimSend(db, {
    messageId: message.messageId,
    kind: meta.kind,
    recipient: message.to,
    campaignId: meta.campaignId ?? null,
  });
  if (!send) return { sent: false, reason: "already_claimed" };
  const outcome = await mailer.send({
    ...message,
    envelopeFrom: formatReturnPath(send.id, config.MAIL_SENDING_DOMAIN),
    headers: { ...message.headers, [SEND_ID_HEADER]: String(send.id) },
  });
  const classified = classifySmtpOutcome({ code: outcome.code, enhanced: outcome.enhancedCode, text: outcome.text });
  await recordSendOutcome(db, send.id, {
    status: outcome.status,
    code: outcome.code,
    enhanced: outcome.enhancedCode,
    text: outcome.text,
    outcome: classified.outcome,
  });
  return { sent: true, send, outcome };
}
