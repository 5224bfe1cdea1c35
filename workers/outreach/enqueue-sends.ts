import { QUEUE_SEND_BATCH_LIMIT } from "../../domain/outreach/send-batches";
import type { CampaignSendMessage } from "../../domain/queues/queue-messages";

/** The campaign-send queue, as far as the outreach code uses it (tests pass a recorder). */
export interface CampaignSendQueue {
  sendBatch(messages: { body: CampaignSendMessage; delaySeconds?: number }[]): Promise<unknown>;
}

/** Puts campaign-send messages on the queue, at most QUEUE_SEND_BATCH_LIMIT per sendBatch call. */
export async function enqueueSendMessages(
  queue: CampaignSendQueue,
  messages: readonly { body: CampaignSendMessage; delaySeconds?: number }[],
): Promise<void> {
  for (let i = 0; i < messages.length; i += QUEUE_SEND_BATCH_LIMIT) {
    await queue.sendBatch(messages.slice(i, i + QUEUE_SEND_BATCH_LIMIT));
  }
}
