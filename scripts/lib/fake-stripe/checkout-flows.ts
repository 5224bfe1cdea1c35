import { invalidRequest } from "./api-error";
import { expireCheckoutSession, getCheckoutSession } from "./checkout-sessions";
import type { FakeContext } from "./context";
import { getCoupon, redeem } from "./coupons";
import { checkEmail, createCustomer, getCustomer } from "./customers";
import { attemptInvoicePayment, createInvoice, settleInvoicePayment } from "./invoices";
import { chargePaymentIntent, createPaymentIntent, getCharge, getPaymentIntent, settleCharge } from "./payments";
import type { CheckoutSession, Customer, PaymentMethodKind } from "./stripe-objects";
import { createSubscription, setSubscriptionStatus } from "./subscriptions";

/**
 * What the customer does on the hosted page, and what the bank does afterwards, with the
 * events Stripe sends for each (https://docs.stripe.com/checkout/fulfillment):
 *
 * - pay (card, Klarna): `checkout.session.completed` with `payment_status: "paid"`; in
 *   subscription mode the subscription and its first invoice (`billing_reason:
 *   subscription_create`, `invoice.paid`) come with it;
 * - ach (ACH Direct Debit): `checkout.session.completed` with `payment_status: "unpaid"`, the
 *   PaymentIntent `processing` (a subscription `incomplete`); later
 * - ach-succeed: `checkout.session.async_payment_succeeded` (and `invoice.paid`), or
 * - ach-fail: `checkout.session.async_payment_failed` (and `invoice.payment_failed`);
 * - fail: a declined card; the session stays open for another try
 *   (`payment_intent.payment_failed` in payment mode; a subscription is only created once a
 *   payment succeeds, so nothing is sent in subscription mode);
 * - expire: `checkout.session.expired`.
 */

export const CHECKOUT_ACTIONS = ["pay", "fail", "ach", "ach-succeed", "ach-fail", "expire"] as const;
export type CheckoutAction = (typeof CHECKOUT_ACTIONS)[number];

const DEFAULT_BUYER_EMAIL = "buyer@example.com";

function requireOpen(session: CheckoutSession): void {
  if (session.status !== "open") {
    throw invalidRequest(`This Checkout Session is no longer open (status: ${session.status}).`, { param: "session" });
  }
}

/** The instant method a "Pay" uses: the session's first of card or Klarna. */
export function instantMethod(session: CheckoutSession): PaymentMethodKind | undefined {
  return session.payment_method_types.find((t): t is "card" | "klarna" => t === "card" || t === "klarna");
}

function requireMethod(session: CheckoutSession, method: PaymentMethodKind): void {
  if (!session.payment_method_types.includes(method)) {
    throw invalidRequest(
      `This Checkout Session does not accept ${method} (payment_method_types: ${session.payment_method_types.join(", ")}).`,
      { param: "payment_method_types" },
    );
  }
}

function buyer(
  ctx: FakeContext,
  session: CheckoutSession,
  email: string | undefined,
): { email: string; customer: Customer | null } {
  const existing = session.customer ? getCustomer(ctx, session.customer) : null;
  // An email the platform fixed (customer_email, the customer's) cannot be changed on the page.
  const address = checkEmail(session.customer_email ?? existing?.email ?? email ?? DEFAULT_BUYER_EMAIL, "email");
  if (existing) return { email: address, customer: existing };
  // Payment mode creates a Customer only when asked to (customer_creation: "always").
  if (session.mode === "subscription" || session.customer_creation === "always") {
    const customer = createCustomer(ctx, { email: address });
    ctx.emit("customer.created", customer);
    return { email: address, customer };
  }
  return { email: address, customer: null };
}

export function completeCheckout(
  ctx: FakeContext,
  session: CheckoutSession,
  method: PaymentMethodKind,
  email?: string,
): void {
  requireOpen(session);
  requireMethod(session, method);
  const extras = ctx.state.sessionExtras[session.id]!;
  const { email: address, customer } = buyer(ctx, session, email);
  const outcome = method === "us_bank_account" ? "pending" : "succeeded";
  session.customer = customer?.id ?? null;
  session.customer_details = {
    address: null,
    email: address,
    name: customer?.name ?? null,
    phone: null,
    tax_exempt: "none",
    tax_ids: [],
  };
  extras.paidWith = method;
  const couponId = session.discounts[0]?.coupon;
  const coupon = couponId ? getCoupon(ctx, couponId) : undefined;
  if (coupon) redeem(ctx, coupon);

  if (session.mode === "payment") {
    const reusable = session.payment_intent ? getPaymentIntent(ctx, session.payment_intent) : undefined;
    const pi =
      reusable && reusable.status === "requires_payment_method"
        ? reusable
        : createPaymentIntent(ctx, {
            amount: session.amount_total,
            currency: session.currency,
            customer: session.customer,
            description: extras.paymentIntentData.description,
            metadata: extras.paymentIntentData.metadata,
            receiptEmail: null,
            paymentMethodTypes: session.payment_method_types,
          });
    pi.customer = session.customer;
    session.payment_intent = pi.id;
    chargePaymentIntent(ctx, pi, { method, outcome, email: address });
  } else {
    const now = ctx.now();
    const subscription = createSubscription(ctx, {
      customer: customer!.id,
      items: extras.lineItems
        .filter((item) => item.price.recurring)
        .map((item) => ({ price: item.price, quantity: item.quantity })),
      metadata: extras.subscriptionData.metadata,
      description: extras.subscriptionData.description,
      // Pending first payment: incomplete until it settles.
      status: outcome === "pending" ? "incomplete" : "active",
    });
    ctx.emit("customer.subscription.created", subscription);
    const recurringEnd = subscription.items.data[0]!.current_period_end;
    // The first invoice carries every line, one-time ones (a surcharge, a setup fee) included.
    const invoice = createInvoice(ctx, {
      subscription,
      customer: customer!,
      billingReason: "subscription_create",
      lines: extras.lineItems.map((item) => ({
        price: item.price,
        quantity: item.quantity,
        description: `${item.quantity} × ${item.description}`,
        subscriptionItem: subscription.items.data.find((it) => it.price.id === item.price.id)?.id ?? null,
        period: { start: now, end: item.price.recurring ? recurringEnd : now },
      })),
      periodStart: now,
      periodEnd: now,
      discount: session.total_details.amount_discount,
    });
    // A coupon for more than the first invoice stays with the subscription.
    if (coupon && coupon.duration !== "once")
      ctx.state.subscriptionDiscounts[subscription.id] = { coupon: coupon.id, start: now };
    const charge = attemptInvoicePayment(ctx, invoice, { method, outcome });
    subscription.default_payment_method = charge.payment_method;
    customer!.invoice_settings.default_payment_method = charge.payment_method;
    session.subscription = subscription.id;
    session.invoice = invoice.id;
  }
  session.status = "complete";
  session.payment_status = outcome === "succeeded" ? "paid" : "unpaid";
  session.url = null;
  ctx.changed();
  ctx.emit("checkout.session.completed", session);
}

/** A declined card: the PaymentIntent fails, the session stays open. */
export function declineCheckout(ctx: FakeContext, session: CheckoutSession, email?: string): void {
  requireOpen(session);
  if (session.mode !== "payment") return;
  const method = instantMethod(session);
  if (!method)
    throw invalidRequest(`This Checkout Session accepts no card or Klarna payment to decline.`, {
      param: "payment_method_types",
    });
  const extras = ctx.state.sessionExtras[session.id]!;
  const fixed = session.customer_email ?? (session.customer ? ctx.state.customers[session.customer]?.email : undefined);
  const address = checkEmail(fixed ?? email ?? DEFAULT_BUYER_EMAIL, "email");
  const pi = session.payment_intent
    ? getPaymentIntent(ctx, session.payment_intent)
    : createPaymentIntent(ctx, {
        amount: session.amount_total,
        currency: session.currency,
        customer: session.customer,
        description: extras.paymentIntentData.description,
        metadata: extras.paymentIntentData.metadata,
        receiptEmail: null,
        paymentMethodTypes: session.payment_method_types,
      });
  session.payment_intent = pi.id;
  chargePaymentIntent(ctx, pi, { method, outcome: "failed", email: address });
}

/** The bank settles a pending ACH payment of a completed session. */
export function settleCheckout(ctx: FakeContext, session: CheckoutSession, outcome: "succeeded" | "failed"): void {
  const pending = () =>
    invalidRequest(
      `This Checkout Session has no pending ACH payment (status: ${session.status}, payment_status: ${session.payment_status}).`,
    );
  if (session.status !== "complete" || session.payment_status !== "unpaid") throw pending();
  if (session.mode === "payment") {
    const pi = getPaymentIntent(ctx, session.payment_intent!);
    if (pi.status !== "processing" || !pi.latest_charge) throw pending();
    settleCharge(ctx, getCharge(ctx, pi.latest_charge), outcome);
  } else {
    const invoice = ctx.state.invoices[session.invoice!]!;
    const charge = invoice.charge ? getCharge(ctx, invoice.charge) : undefined;
    if (!charge || charge.status !== "pending") throw pending();
    settleCharge(ctx, charge, outcome);
    settleInvoicePayment(ctx, invoice, charge, outcome);
    const subscription = ctx.state.subscriptions[session.subscription!]!;
    // A first payment that fails leaves the subscription incomplete for good.
    setSubscriptionStatus(ctx, subscription, outcome === "succeeded" ? "active" : "incomplete_expired");
  }
  if (outcome === "succeeded") session.payment_status = "paid";
  ctx.changed();
  ctx.emit(
    outcome === "succeeded" ? "checkout.session.async_payment_succeeded" : "checkout.session.async_payment_failed",
    session,
  );
}

/** Runs one action by name (the stand-in page's buttons and /__sim/checkout/sessions/:id/:action). */
export function runCheckoutAction(
  ctx: FakeContext,
  sessionId: string,
  action: CheckoutAction,
  opts: { email?: string; paymentMethod?: PaymentMethodKind } = {},
): CheckoutSession {
  const session = getCheckoutSession(ctx, sessionId);
  switch (action) {
    case "pay": {
      const method = opts.paymentMethod ?? instantMethod(session);
      if (!method)
        throw invalidRequest(`This Checkout Session accepts no card or Klarna payment; use ach.`, {
          param: "payment_method_types",
        });
      completeCheckout(ctx, session, method, opts.email);
      break;
    }
    case "ach":
      completeCheckout(ctx, session, "us_bank_account", opts.email);
      break;
    case "fail":
      declineCheckout(ctx, session, opts.email);
      break;
    case "ach-succeed":
      settleCheckout(ctx, session, "succeeded");
      break;
    case "ach-fail":
      settleCheckout(ctx, session, "failed");
      break;
    case "expire":
      expireCheckoutSession(ctx, session);
      break;
  }
  return session;
}
