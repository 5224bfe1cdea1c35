import { createHmac } from "node:crypto";

/**
 * The `Stripe-Signature` header exactly as Stripe builds it
 * (https://docs.stripe.com/webhooks#verify-manually): `t=<unix seconds>,v1=<hex>`, where v1 is
 * the HMAC-SHA256, keyed with the endpoint's signing secret (`whsec_…`, used as is), of
 * `${t}.${raw body}`. A new timestamp and signature are made for every delivery attempt, so a
 * retried or replayed event is signed afresh, as with Stripe.
 */
export function stripeSignatureHeader(
  payload: string,
  secret: string,
  timestamp = Math.floor(Date.now() / 1000),
): string {
  const v1 = createHmac("sha256", secret).update(`${timestamp}.${payload}`, "utf8").digest("hex");
  return `t=${timestamp},v1=${v1}`;
}
