import type { CampaignSendMessage } from "../queues/queue-messages";

/**
 * Campaign sends grouped into campaign-send queue messages: one campaign and one receiving
 * operator per message, at most `batchSize` ids each, so the consumer asks each operator's
 * throttle once per batch.
 */
export function sendMessagesFor(
  campaignId: number,
  sends: readonly { id: number; operator: string | null }[],
  batchSize: number,
): CampaignSendMessage[] {
  const byOperator = new Map<string | null, number[]>();
  for (const send of sends) {
    const ids = byOperator.get(send.operator);
    if (ids) ids.push(send.id);
    else byOperator.set(send.operator, [send.id]);
  }
  const messages: CampaignSendMessage[] = [];
  for (const [operator, ids] of byOperator) {
    for (let i = 0; i < ids.length; i += batchSize) {
      messages.push({ type: "campaign.send", campaignId, operator, sendIds: ids.slice(i, i + batchSize) });
    }
  }
  return messages;
}

/** Queue sendBatch takes at most 100 messages per call (Cloudflare Queues limits). */
export const QUEUE_SEND_BATCH_LIMIT = 100;
/** Cloudflare Queues accepts a delivery delay of at most 12 hours. */
export const MAX_QUEUE_DELAY_SECONDS = 43_200;
