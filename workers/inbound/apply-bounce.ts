import type { AppConfig } from "../../domain/config/app-config";
import type { BounceClassification } from "../../domain/bounces/classify-bounce";
import { classifySmtpOutcome } from "../../domain/mail/smtp-outcome";
import { sendIdFromHeader, sendIdFromReturnPath, SEND_ID_HEADER } from "../../domain/mail/return-path";
import type { Db } from "../../db/client";
import { countSoftBounce, markHardBounced, setVerificationResult, suppressAddress } from "../../db/address-state";
import { recordBounceEvent } from "../../db/bounce-events";
import { findSendById, findSendByMessageId, markSendAfterwards, type MailSendRow } from "../../db/mail-sends";

export interface BounceEffects {
  recipients: {
    index: number;
    recipient: string;
    reason: string;
    status: string | null;
    hardBounce: boolean;
    sendId: number | null;
    matchedBy: string | null;
    actions: string[];
  }[];
  /** Addresses that complained: the caller alerts after the transaction commits. */
  complaints: string[];
}

async function findSend(
  db: Db,
  config: AppConfig,
  bounce: BounceClassification,
  envelopeTo: string,
  recipient: string,
): Promise<{ send: MailSendRow; by: string } | undefined> {
  const headerId = sendIdFromHeader(bounce.originalHeaders?.[SEND_ID_HEADER.toLowerCase()]);
  if (headerId !== undefined) {
    const send = await findSendById(db, headerId);
    if (send) return { send, by: "header" };
  }
  // A DSN goes to the envelope sender of the original: our VERP return path (RFC 3464 §2.1).
  const verpId =
    sendIdFromReturnPath(envelopeTo, config.MAIL_SENDING_DOMAIN) ??
    sendIdFromReturnPath(bounce.originalHeaders?.["return-path"], config.MAIL_SENDING_DOMAIN);
  if (verpId !== undefined) {
    const send = await findSendById(db, verpId);
    if (send) return { send, by: "verp" };
  }
  if (bounce.originalMessageId) {
    const send = await findSendByMessageId(db, bounce.originalMessageId, recipient || undefined);
    if (send) return { send, by: "message_id" };
  }
  return undefined;
}

/**
 * Acts on a delivery status notification or complaint, inside the caller's transaction.
 * Each recipient is recorded once (bounce_events is keyed by message and position); only a
 * newly recorded one changes state:
 * - hard bounce: suppress, verification result `hard_bounced`;
 * - soft bounce: count it; suppress after SOFT_BOUNCE_SUPPRESS_AFTER since the last delivery;
 * - delivered (a success DSN): verification result `send_confirmed`;
 * - complaint (ARF): suppress; the caller alerts;
 * - delay: recorded only.
 */
export async function applyBounce(
  db: Db,
  config: AppConfig,
  inboundId: number,
  envelopeTo: string,
  bounce: BounceClassification,
): Promise<BounceEffects> {
  const effects: BounceEffects = { recipients: [], complaints: [] };
  if (bounce.kind === "auto_reply" || bounce.kind === "not_bounce") return effects;
  const kind = bounce.kind;
  for (const [i, r] of bounce.recipients.entries()) {
    const match = await findSend(db, config, bounce, envelopeTo, r.recipient);
    // The send knows exactly whom we mailed; the report's recipient may be rewritten.
    const address = (match?.send.recipient ?? r.recipient).toLowerCase();
    const outcome =
      kind === "bounce" || kind === "delay"
        ? classifySmtpOutcome({ code: r.replyCode, enhanced: r.status, text: r.diagnostic }).outcome
        : null;
    const isNew = await recordBounceEvent(db, {
      inboundMessageId: inboundId,
      recipientIndex: i + 1,
      sendId: match?.send.id ?? null,
      matchedBy: match?.by ?? null,
      recipient: address,
      kind,
      reason: r.reason,
      status: r.status,
      replyCode: r.replyCode,
      hardBounce: r.hardBounce,
      outcome,
      diagnostic: r.diagnostic?.slice(0, 2000) ?? null,
      feedbackType: r.feedbackType ?? null,
    });
    const actions: string[] = [];
    if (isNew && address.includes("@")) {
      const source = `inbound:${inboundId}`;
      if (kind === "bounce" && r.hardBounce) {
        await markHardBounced(db, address);
        if (await suppressAddress(db, address, "hard_bounce", source)) actions.push("suppressed");
        actions.push("hard_bounced");
      } else if (kind === "bounce") {
        const softBounces = await countSoftBounce(db, address);
        actions.push(`soft_bounce_${softBounces}`);
        if (softBounces >= config.SOFT_BOUNCE_SUPPRESS_AFTER) {
          if (await suppressAddress(db, address, "soft_bounce_limit", source)) actions.push("suppressed");
        }
      } else if (kind === "delivered") {
        await setVerificationResult(db, address, "send_confirmed");
        actions.push("send_confirmed");
      } else if (kind === "complaint") {
        if (await suppressAddress(db, address, "complaint", source)) actions.push("suppressed");
        effects.complaints.push(address);
      }
      if (match) {
        if (kind === "bounce")
          await markSendAfterwards(db, match.send.id, { kind: "bounced", reason: r.reason, outcome });
        else if (kind === "delivered") await markSendAfterwards(db, match.send.id, { kind: "delivered" });
        else if (kind === "complaint") await markSendAfterwards(db, match.send.id, { kind: "complained" });
      }
    }
    effects.recipients.push({
      index: i + 1,
      recipient: address,
      reason: r.reason,
      status: r.status,
      hardBounce: r.hardBounce,
      sendId: match?.send.id ?? null,
      matchedBy: match?.by ?? null,
      actions,
    });
  }
  return effects;
}
