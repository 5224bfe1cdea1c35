import { z } from "zod";
import { healthPingMessage, inboundReceivedMessage } from "../domain/queues/queue-messages";
import { processInbound } from "../workers/inbound/process-inbound";
import type { QueueConsumer } from "./consumer";

const schema = z.discriminatedUnion("type", [inboundReceivedMessage, healthPingMessage]);

/**
 * Takes a raw message the email handler stored in R2 and runs the inbound pipeline on it
 * (workers/inbound/process-inbound.ts). A missing object is an error (retried, then
 * dead-lettered): the handler writes the object before it enqueues, so absence means something
 * removed it. A message that can't be parsed is failed on its record and acked.
 */
export const inboundMailConsumer: QueueConsumer<typeof schema> = {
  queue: "inbound-mail",
  schema,
  async handle(body, ctx) {
    if (body.type === "health.ping") return;
    const object = await ctx.env.FILES.get(body.key);
    if (!object) throw new Error(`raw message ${body.key} is not in R2`);
    const raw = new Uint8Array(await object.arrayBuffer());
    await processInbound(ctx.db(), ctx.config, body, raw);
  },
};
