import { z } from "zod";
import { healthPingMessage, stripeEventMessage } from "../domain/queues/queue-messages";
import { processStripeEvent } from "../workers/payments/apply-stripe-event";
import type { QueueConsumer } from "./consumer";

const schema = z.discriminatedUnion("type", [stripeEventMessage, healthPingMessage]);

/**
 * The fulfillment queue: Stripe events recorded by POST /webhooks/stripe, applied to their
 * orders (workers/payments/apply-stripe-event.ts), and the deep health check's ping. Applying
 * is idempotent, so a redelivered or re-enqueued event changes nothing twice; a throw (Postgres
 * or an OrderMachine unreachable) is retried, then dead-lettered with the event still
 * unprocessed in stripe_events.
 */
export const fulfillmentConsumer: QueueConsumer<typeof schema> = {
  queue: "fulfillment",
  schema,
  async handle(body, ctx) {
    if (body.type === "health.ping") return;
    await processStripeEvent(ctx, body.eventId);
  },
};
