import { z } from "zod";

/**
 * The bodies our queues carry, one zod schema per message type. Producers build them with
 * these types; consumers parse with them, so a malformed body is caught at the edge of the
 * consumer and dead-lettered instead of retried forever.
 */

/** Sent by GET /health/deep to prove a queue accepts messages; every consumer acks it. */
export const healthPingMessage = z.object({
  type: z.literal("health.ping"),
  probe: z.string().min(1).max(100),
  at: z.iso.datetime(),
});

/** The email handler stored a raw message in R2; the inbound-mail consumer takes it from there. */
export const inboundReceivedMessage = z.object({
  type: z.literal("inbound.received"),
  key: z.string().regex(/^inbound\/\d{4}-\d{2}-\d{2}\/[A-Za-z0-9-]+\.eml$/),
  envelopeFrom: z.string().max(512),
  envelopeTo: z.string().max(512),
  rawSize: z.number().int().nonnegative(),
  receivedAt: z.iso.datetime(),
});

/**
 * POST /webhooks/stripe recorded a verified event in stripe_events; the fulfillment consumer
 * applies it. Only the id travels: the payload is read back from the record, so a replayed or
 * re-enqueued message can never carry something other than what was verified.
 */
export const stripeEventMessage = z.object({
  type: z.literal("stripe.event"),
  eventId: z.string().min(1).max(255),
});

/**
 * One browser-filing attempt for one cycle of an order (the OrderMachine's `dispatch_filing`).
 * The consumer reports the result back to the machine under the key (cycle, attempt), so a
 * redelivered job is applied once.
 */
export const filingJobMessage = z.object({
  type: z.literal("filing.run"),
  orderNumber: z.string().regex(/^CO-\d{4}-\d{6,}$/),
  script: z.string().regex(/^[a-z0-9-]{1,60}$/),
  cycle: z.string().min(1).max(255),
  attempt: z.number().int().positive(),
});

/**
 * Campaign sends chosen by the audience build, all for one campaign and one receiving operator
 * (null: untagged domain), so the consumer asks that operator's MxThrottle once for the lot.
 * Only ids travel: the consumer claims the rows and reads everything else from them.
 */
export const campaignSendMessage = z.object({
  type: z.literal("campaign.send"),
  campaignId: z.number().int().positive(),
  operator: z.string().min(1).max(255).nullable(),
  sendIds: z.array(z.number().int().positive()).min(1).max(500),
});

export type CampaignSendMessage = z.infer<typeof campaignSendMessage>;
export type FilingJobMessage = z.infer<typeof filingJobMessage>;
export type HealthPingMessage = z.infer<typeof healthPingMessage>;
export type StripeEventMessage = z.infer<typeof stripeEventMessage>;
export type InboundReceivedMessage = z.infer<typeof inboundReceivedMessage>;

export const QUEUE_NAMES = ["campaign-send", "fulfillment", "filings", "inbound-mail"] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export const DEAD_LETTER_SUFFIX = "-dlq";

/** `fulfillment-dlq` → `fulfillment`; undefined for a queue that is not a dead-letter queue. */
export function deadLetterSource(queue: string): QueueName | undefined {
  if (!queue.endsWith(DEAD_LETTER_SUFFIX)) return undefined;
  const source = queue.slice(0, -DEAD_LETTER_SUFFIX.length);
  return (QUEUE_NAMES as readonly string[]).includes(source) ? (source as QueueName) : undefined;
}

/**
 * Delay before the next attempt: exponential from `baseSeconds`, capped at 15 minutes
 * (Cloudflare Queues accepts up to 12 hours; a quarter hour keeps a stuck job visible).
 * A base of 0 means "the queue's configured retry_delay".
 */
export function retryDelaySeconds(attempts: number, baseSeconds: number): number | undefined {
  if (baseSeconds <= 0) return undefined;
  return Math.min(baseSeconds * 2 ** Math.max(0, attempts - 1), 900);
}
