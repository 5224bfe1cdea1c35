import { noSuch } from "./api-error";
import type { FakeContext } from "./context";
import { newId, randomTail } from "./ids";
import type { Charge, Metadata, PaymentError, PaymentIntent, PaymentMethodKind } from "./stripe-objects";

/**
 * PaymentIntents and their Charges (https://docs.stripe.com/payments/paymentintents/lifecycle):
 * a card payment succeeds or is declined at once; an ACH Direct Debit (`us_bank_account`)
 * payment is `processing` (its charge `pending`) until the bank settles it days later, then
 * succeeds or fails (https://docs.stripe.com/payments/ach-direct-debit/accept-a-payment).
 * Each change emits the events Stripe emits for it (`payment_intent.*`, `charge.*`).
 */

export interface NewPaymentIntent {
  amount: number;
  currency: string;
  customer: string | null;
  description: string | null;
  metadata: Metadata;
  receiptEmail: string | null;
  paymentMethodTypes: string[];
}

export function createPaymentIntent(ctx: FakeContext, fields: NewPaymentIntent): PaymentIntent {
  const id = newId("paymentIntent");
  const pi: PaymentIntent = {
    id,
    object: "payment_intent",
    amount: fields.amount,
    amount_capturable: 0,
    amount_received: 0,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: "automatic_async",
    client_secret: `${id}_secret_${randomTail(25)}`,
    confirmation_method: "automatic",
    created: ctx.now(),
    currency: fields.currency,
    customer: fields.customer,
    description: fields.description,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    metadata: fields.metadata,
    payment_method: null,
    payment_method_types: fields.paymentMethodTypes,
    receipt_email: fields.receiptEmail,
    status: "requires_payment_method",
  };
  ctx.state.paymentIntents[id] = pi;
  ctx.changed();
  return pi;
}

export type ChargeOutcome = "succeeded" | "pending" | "failed";

const CARD_DECLINE = {
  code: "card_declined",
  decline_code: "generic_decline",
  message: "Your card was declined.",
  seller: "The bank did not return any further details with this decline.",
};
const ACH_FAILURE = {
  code: "insufficient_funds",
  message: "The customer's account has insufficient funds to cover this payment.",
};

const KLARNA_DECLINE = {
  code: "payment_method_provider_decline",
  message: "The customer's payment was declined by Klarna.",
};

function paymentMethodDetails(method: PaymentMethodKind): Charge["payment_method_details"] {
  switch (method) {
    case "card":
      return {
        type: "card",
        card: {
          brand: "visa",
          country: "US",
          exp_month: 12,
          exp_year: new Date().getUTCFullYear() + 3,
          funding: "credit",
          last4: "4242",
        },
      };
    case "klarna":
      return { type: "klarna", klarna: { payment_method_category: "pay_later", preferred_locale: "en-US" } };
    case "us_bank_account":
      return {
        type: "us_bank_account",
        us_bank_account: {
          account_holder_type: "individual",
          account_type: "checking",
          bank_name: "STRIPE TEST BANK",
          last4: "6789",
          routing_number: "110000000",
        },
      };
  }
}

function failure(method: PaymentMethodKind, chargeId: string): PaymentError {
  switch (method) {
    case "card":
      return {
        type: "card_error",
        code: CARD_DECLINE.code,
        decline_code: CARD_DECLINE.decline_code,
        message: CARD_DECLINE.message,
        charge: chargeId,
      };
    case "klarna":
      return { type: "card_error", code: KLARNA_DECLINE.code, message: KLARNA_DECLINE.message, charge: chargeId };
    case "us_bank_account":
      return { type: "invalid_request_error", code: ACH_FAILURE.code, message: ACH_FAILURE.message, charge: chargeId };
  }
}

function applyOutcome(
  ctx: FakeContext,
  pi: PaymentIntent,
  charge: Charge,
  method: PaymentMethodKind,
  outcome: ChargeOutcome,
): void {
  charge.status = outcome;
  charge.paid = outcome === "succeeded";
  charge.captured = outcome === "succeeded";
  charge.amount_captured = outcome === "succeeded" ? charge.amount : 0;
  if (outcome === "failed") {
    const error = failure(method, charge.id);
    charge.failure_code = error.code;
    charge.failure_message = error.message;
    charge.outcome = {
      network_status: "declined_by_network",
      reason: error.decline_code ?? null,
      risk_level: "normal",
      seller_message: method === "card" ? CARD_DECLINE.seller : error.message,
      type: "issuer_declined",
    };
    // A failed attempt sends the PaymentIntent back for another payment method.
    pi.status = "requires_payment_method";
    pi.last_payment_error = error;
  } else {
    charge.outcome = {
      network_status: "approved_by_network",
      reason: null,
      risk_level: "normal",
      seller_message: "Payment complete.",
      type: "authorized",
    };
    pi.status = outcome === "succeeded" ? "succeeded" : "processing";
    pi.last_payment_error = null;
    if (outcome === "succeeded") pi.amount_received = pi.amount;
  }
  ctx.changed();
  const chargeEvent =
    outcome === "succeeded" ? "charge.succeeded" : outcome === "pending" ? "charge.pending" : "charge.failed";
  const piEvent =
    outcome === "succeeded"
      ? "payment_intent.succeeded"
      : outcome === "pending"
        ? "payment_intent.processing"
        : "payment_intent.payment_failed";
  ctx.emit(chargeEvent, charge);
  ctx.emit(piEvent, pi);
}

/** A payment attempt on `pi`: a new Charge with the outcome given (pending only for ACH). */
export function chargePaymentIntent(
  ctx: FakeContext,
  pi: PaymentIntent,
  opts: { method: PaymentMethodKind; outcome: ChargeOutcome; email: string | null; paymentMethod?: string },
): Charge {
  const paymentMethod = opts.paymentMethod ?? newId("paymentMethod");
  const charge: Charge = {
    id: newId("charge"),
    object: "charge",
    amount: pi.amount,
    amount_captured: 0,
    amount_refunded: 0,
    balance_transaction: null,
    billing_details: { address: null, email: opts.email, name: null, phone: null },
    captured: false,
    created: ctx.now(),
    currency: pi.currency,
    customer: pi.customer,
    description: pi.description,
    disputed: false,
    failure_code: null,
    failure_message: null,
    livemode: false,
    // A Charge starts with its PaymentIntent's metadata (later changes to either are not synced).
    metadata: { ...pi.metadata },
    outcome: null,
    paid: false,
    payment_intent: pi.id,
    payment_method: paymentMethod,
    payment_method_details: paymentMethodDetails(opts.method),
    receipt_email: pi.receipt_email,
    receipt_url: null,
    refunded: false,
    status: "pending",
  };
  ctx.state.charges[charge.id] = charge;
  pi.latest_charge = charge.id;
  pi.payment_method = paymentMethod;
  applyOutcome(ctx, pi, charge, opts.method, opts.outcome);
  return charge;
}

/** The bank's answer on a pending (ACH) charge. */
export function settleCharge(ctx: FakeContext, charge: Charge, outcome: "succeeded" | "failed"): void {
  const pi = getPaymentIntent(ctx, charge.payment_intent);
  applyOutcome(ctx, pi, charge, charge.payment_method_details.type, outcome);
}

export function getPaymentIntent(ctx: FakeContext, id: string, param = "intent", status = 404): PaymentIntent {
  const pi = ctx.state.paymentIntents[id];
  if (!pi) throw noSuch("payment_intent", id, param, status);
  return pi;
}

export function getCharge(ctx: FakeContext, id: string, param = "charge", status = 404): Charge {
  const charge = ctx.state.charges[id];
  if (!charge) throw noSuch("charge", id, param, status);
  return charge;
}
