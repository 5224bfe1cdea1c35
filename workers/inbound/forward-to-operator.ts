import type { AppConfig } from "../../domain/config/app-config";
import type { Db } from "../../db/client";
import { createMailer, type Mailer } from "../mailer/mailer";
import { sendRecorded } from "../mailer/recorded-send";

export interface ForwardSource {
  inboundId: number;
  envelopeFrom: string;
  envelopeTo: string;
  subject: string | null;
  fromHeader: string | null;
  receivedAt: Date;
  raw: Uint8Array;
}

/**
 * Hands a message meant for a person (a prospect's reply, an agency's answer) to the operator.
 * We cannot re-send the original as is (its From would fail DMARC at our relay), so it goes
 * as an attachment (message/rfc822) of a message from us. The Message-ID is derived from the
 * inbound row, so a redelivered queue message can never forward twice.
 */
export async function forwardToOperator(
  db: Db,
  config: AppConfig,
  source: ForwardSource,
  why: string,
  mailer: Mailer = createMailer(config),
) {
  const subject = (source.subject ?? "(no subject)").replace(/[\r\n]+/g, " ").slice(0, 200);
  return await sendRecorded(
    db,
    config,
    mailer,
    {
      to: config.OPERATOR_EMAIL,
      messageId: `<inbound-${source.inboundId}.fwd@${config.MAIL_SENDING_DOMAIN}>`,
      subject: `Fwd: ${subject}`,
      text: [
        why,
        "",
        `From: ${source.fromHeader ?? source.envelopeFrom}`,
        `Envelope: ${source.envelopeFrom} -> ${source.envelopeTo}`,
        `Received: ${source.receivedAt.toISOString()}`,
        `Subject: ${subject}`,
        "",
        "The original message is attached.",
      ].join("\n"),
      attachments: [{ filename: "original.eml", content: source.raw, contentType: "message/rfc822" }],
      headers: { "X-Docket-Kind": "forward" },
    },
    { kind: "operator" },
  );
}
