import { z } from "zod";
import { campaignSendMessage, healthPingMessage } from "../domain/queues/queue-messages";
import { sendCampaignBatch } from "../workers/outreach/send-campaign-batch";
import type { QueueConsumer } from "./consumer";

const schema = z.discriminatedUnion("type", [campaignSendMessage, healthPingMessage]);

/**
 * campaign-send: campaign sends chosen by the audience build. Handled a batch at a time, not a
 * message at a time, so each receiving operator's MxThrottle is asked once per batch
 * (workers/outreach/send-campaign-batch.ts).
 */
export const campaignSendConsumer: QueueConsumer<typeof schema> = {
  queue: "campaign-send",
  schema,
  async handle(body, ctx) {
    if (body.type === "health.ping") return;
    // A single message is a batch of one: the same path.
    await sendCampaignBatch([{ body, attempts: ctx.attempts, ack: () => {}, retry: () => {} }], {
      env: ctx.env,
      config: ctx.config,
      db: ctx.db(),
    });
  },
  async handleBatch(items, ctx) {
    const pings = items.filter((i) => i.body.type === "health.ping");
    for (const ping of pings) ping.ack();
    const sends = items.flatMap((i) => (i.body.type === "campaign.send" ? [{ ...i, body: i.body }] : []));
    if (sends.length === 0) return;
    await sendCampaignBatch(sends, { env: ctx.env, config: ctx.config, db: ctx.db() });
  },
};
