import { Hono } from "hono";
import Stripe from "stripe";
import { withDb } from "../../db/client";
import { recordStripeEvent } from "../../db/stripe-events";
import { stripeEventEnvelope } from "../../domain/payments/stripe-event-plan";
import type { StripeEventMessage } from "../../domain/queues/queue-messages";
import type { AppEnv } from "../app-env";
import { ApiError } from "../http-errors";
import { stripeCrypto } from "../payments/stripe-client";

/**
 * POST /webhooks/stripe: Stripe's events in, verified, recorded once, applied in the queue.
 *
 * 1. The signature is checked on the raw body, exactly as sent, with the SDK's async
 *    verification over WebCrypto (workerd has no synchronous HMAC): `Stripe-Signature` carries
 *    a timestamp and an HMAC-SHA256 of "timestamp.body" under the endpoint's secret, and a
 *    timestamp more than five minutes old is refused (https://docs.stripe.com/webhooks#verify-events).
 *    Missing or wrong → 400 INVALID_SIGNATURE, and nothing is stored.
 * 2. The event is recorded in `stripe_events` under its own id (insert, on conflict nothing), so
 *    a redelivery is recognised: Stripe may send the same event more than once
 *    (https://docs.stripe.com/webhooks#handle-duplicate-events).
 * 3. New, or recorded but never processed (the enqueue failed last time): its id goes on the
 *    fulfillment queue and the answer is 200 at once; Stripe wants a quick 2xx and retries
 *    anything else (https://docs.stripe.com/webhooks#acknowledge-events-immediately). Already
 *    processed: 200 and nothing else.
 * 4. The enqueue failing → 500, so Stripe retries the delivery and step 3 enqueues it then.
 */

export const stripeWebhookRoutes = new Hono<AppEnv>();

function log(level: "info" | "warn" | "error", event: string, fields: Record<string, unknown>) {
  const line = JSON.stringify({ level, event, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

stripeWebhookRoutes.post("/stripe", async (c) => {
  const config = c.get("config");
  const secret = config.STRIPE_WEBHOOK_SECRET;
  if (secret === undefined) {
    // Not a 4xx: Stripe retries 5xx for days, so nothing is lost while the secret is being set.
    throw new ApiError(503, "STRIPE_NOT_CONFIGURED", "Stripe webhooks are off: set STRIPE_WEBHOOK_SECRET");
  }
  const body = await c.req.text();
  const signature = c.req.header("stripe-signature");
  if (!signature) throw new ApiError(400, "INVALID_SIGNATURE", "The Stripe-Signature header is missing");

  let verified: unknown;
  try {
    verified = await Stripe.webhooks.constructEventAsync(body, signature, secret, undefined, stripeCrypto);
  } catch (error) {
    if (error instanceof Stripe.errors.StripeSignatureVerificationError) {
      log("warn", "stripe_webhook_rejected", { requestId: c.get("requestId"), reason: error.message });
      throw new ApiError(
        400,
        "INVALID_SIGNATURE",
        "The Stripe-Signature header does not match the body, or its timestamp is more than five minutes old",
      );
    }
    // Signed by our secret but not JSON: nothing Stripe sends.
    throw new ApiError(400, "INVALID_EVENT", "The signed body is not a JSON event");
  }
  const envelope = stripeEventEnvelope.safeParse(verified);
  if (!envelope.success)
    throw new ApiError(400, "INVALID_EVENT", "The signed body is not a Stripe event (id, type, created, data.object)");
  const event = envelope.data;

  const recorded = await withDb(
    config,
    (db) => recordStripeEvent(db, { id: event.id, type: event.type, created: event.created, payload: verified }),
    c.executionCtx,
  );
  if (recorded.processed) {
    return c.json({ received: true, eventId: event.id, duplicate: true }, 200);
  }
  const message: StripeEventMessage = { type: "stripe.event", eventId: event.id };
  try {
    await c.env.FULFILLMENT_QUEUE.send(message);
  } catch (error) {
    log("error", "stripe_event_enqueue_failed", {
      requestId: c.get("requestId"),
      eventId: event.id,
      type: event.type,
      error: error instanceof Error ? error.message : String(error),
    });
    throw new ApiError(
      500,
      "ENQUEUE_FAILED",
      "The event is recorded but could not be queued; Stripe will deliver it again",
    );
  }
  return c.json(
    { received: true, eventId: event.id, ...(recorded.inserted ? {} : { duplicate: true, requeued: true }) },
    200,
  );
});
