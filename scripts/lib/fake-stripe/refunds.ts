import { invalidRequest, noSuch } from "./api-error";
import type { FakeContext, RequestRef } from "./context";
import { newId } from "./ids";
import type { Params } from "./params";
import { getCharge, getPaymentIntent } from "./payments";
import type { Charge, Metadata, Refund } from "./stripe-objects";

/**
 * Refunds (https://docs.stripe.com/api/refunds/create): of a charge or of a PaymentIntent's
 * charge, the whole unrefunded amount by default or part of it. The charge's
 * `amount_refunded` grows and `refunded` turns true once all of it is back; `refund.created`
 * and `charge.refunded` (the charge as it now is) are sent.
 */

const REASONS = ["duplicate", "fraudulent", "requested_by_customer"] as const;

function money(amount: number, currency: string): string {
  return currency === "usd" ? `$${(amount / 100).toFixed(2)}` : `${amount} ${currency}`;
}

export function refundCharge(
  ctx: FakeContext,
  charge: Charge,
  opts: { amount?: number; reason?: Refund["reason"]; metadata?: Metadata; request?: RequestRef },
): Refund {
  if (charge.status !== "succeeded") {
    throw invalidRequest(`Charge ${charge.id} cannot be refunded: its status is ${charge.status}.`, {
      code: "charge_not_refundable",
      param: "charge",
    });
  }
  const remaining = charge.amount_captured - charge.amount_refunded;
  if (remaining <= 0) {
    throw invalidRequest(`Charge ${charge.id} has already been refunded.`, {
      code: "charge_already_refunded",
      param: "charge",
    });
  }
  const amount = opts.amount ?? remaining;
  if (amount > remaining) {
    throw invalidRequest(
      `Refund amount (${money(amount, charge.currency)}) is greater than unrefunded amount on charge (${money(remaining, charge.currency)})`,
      { code: "amount_too_large", param: "amount" },
    );
  }
  const refund: Refund = {
    id: newId("refund"),
    object: "refund",
    amount,
    balance_transaction: null,
    charge: charge.id,
    created: ctx.now(),
    currency: charge.currency,
    metadata: opts.metadata ?? {},
    payment_intent: charge.payment_intent,
    reason: opts.reason ?? null,
    status: "succeeded",
  };
  ctx.state.refunds[refund.id] = refund;
  const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
  charge.amount_refunded += amount;
  charge.refunded = charge.amount_refunded === charge.amount_captured;
  ctx.changed();
  const request = opts.request ? { request: opts.request } : {};
  ctx.emit("refund.created", refund, request);
  ctx.emit("charge.refunded", charge, { previous, ...request });
  return refund;
}

/** The charge a PaymentIntent's refund goes to: its latest, which must have succeeded. */
export function chargeOfPaymentIntent(ctx: FakeContext, paymentIntentId: string, param = "payment_intent"): Charge {
  const pi = getPaymentIntent(ctx, paymentIntentId, param, 400);
  if (pi.status !== "succeeded" || !pi.latest_charge) {
    throw invalidRequest(`This PaymentIntent (${pi.id}) does not have a successful charge to refund.`, {
      code: "charge_not_refundable",
      param,
    });
  }
  return getCharge(ctx, pi.latest_charge, param, 400);
}

/** POST /v1/refunds */
export function createRefundFromParams(ctx: FakeContext, p: Params, request: RequestRef): Refund {
  p.allowOnly([
    "amount",
    "charge",
    "expand",
    "instructions_email",
    "metadata",
    "origin",
    "payment_intent",
    "reason",
    "refund_application_fee",
    "reverse_transfer",
  ]);
  const chargeId = p.string("charge");
  const paymentIntentId = p.string("payment_intent");
  if (chargeId !== undefined && paymentIntentId !== undefined) {
    throw invalidRequest(`You may only specify one of these parameters: charge, payment_intent.`, {
      param: "payment_intent",
    });
  }
  if (chargeId === undefined && paymentIntentId === undefined) {
    throw invalidRequest(`One of the following params should be provided for this request: payment_intent or charge.`, {
      param: "charge",
    });
  }
  const amount = p.integer("amount", { min: 1 });
  const reason = p.oneOf("reason", REASONS);
  const metadata = p.metadata("metadata");
  const charge =
    chargeId !== undefined ? getCharge(ctx, chargeId, "charge", 400) : chargeOfPaymentIntent(ctx, paymentIntentId!);
  return refundCharge(ctx, charge, {
    ...(amount !== undefined ? { amount } : {}),
    ...(reason ? { reason } : {}),
    ...(metadata ? { metadata } : {}),
    request,
  });
}

export function getRefund(ctx: FakeContext, id: string): Refund {
  const refund = ctx.state.refunds[id];
  if (!refund) throw noSuch("refund", id, "refund");
  return refund;
}
