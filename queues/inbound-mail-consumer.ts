import PostalMime from "postal-mime";
import { z } from "zod";
import { recordInboundMessage } from "../db/inbound-messages";
import { healthPingMessage, inboundReceivedMessage } from "../domain/queues/queue-messages";
import type { QueueConsumer } from "./consumer";

const schema = z.discriminatedUnion("type", [inboundReceivedMessage, healthPingMessage]);

// Header values are stored for listing and matching; bound them so a hostile header can't
// bloat a row.
const clip = (v: string | undefined, n: number) => (v === undefined ? null : v.slice(0, n));

/**
 * Takes a raw message the email handler stored in R2, reads its headers and records it once
 * per R2 key. A missing object is an error (retried, then dead-lettered): the handler writes
 * the object before it enqueues, so absence means something removed it.
 */
export const inboundMailConsumer: QueueConsumer<typeof schema> = {
  queue: "inbound-mail",
  schema,
  async handle(body, ctx) {
    if (body.type === "health.ping") return;
    const object = await ctx.env.FILES.get(body.key);
    if (!object) throw new Error(`raw message ${body.key} is not in R2`);
    const raw = await object.arrayBuffer();
    // Headers only: attachments stay in R2 until a later step needs them.
    const parsed = await PostalMime.parse(raw, { attachmentEncoding: "arraybuffer" });
    await recordInboundMessage(ctx.db(), {
      r2Key: body.key,
      envelopeFrom: body.envelopeFrom,
      envelopeTo: body.envelopeTo,
      rawSize: body.rawSize,
      messageId: clip(parsed.messageId, 998),
      fromHeader: clip(parsed.from?.address, 320),
      subject: clip(parsed.subject, 998),
      receivedAt: new Date(body.receivedAt),
    });
  },
};
