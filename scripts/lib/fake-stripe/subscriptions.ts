import { invalidRequest, noSuch, unsupported } from "./api-error";
import type { FakeContext, RequestRef } from "./context";
import { addInterval, nextPeriodEnd } from "./billing-periods";
import { appliesToRenewal, discountOn } from "./coupons";
import { getCustomer } from "./customers";
import { newId } from "./ids";
import { attemptInvoicePayment, createInvoice } from "./invoices";
import type { Params } from "./params";
import type { Invoice, Metadata, PaymentMethodKind, Price, Subscription, SubscriptionItem } from "./stripe-objects";

/**
 * Subscriptions (https://docs.stripe.com/billing/subscriptions/overview): created by a
 * subscription-mode Checkout Session (`incomplete` while a first ACH payment is pending:
 * https://docs.stripe.com/billing/subscriptions/overview#subscription-statuses), renewed once per period with a `subscription_cycle`
 * invoice, `past_due` while a renewal is unpaid, and `canceled` by DELETE /v1/subscriptions/:id
 * (which emits `customer.subscription.deleted`). Renewals happen when a test or the dashboard
 * asks (/__sim), not on the calendar.
 */

export function createSubscription(
  ctx: FakeContext,
  fields: {
    customer: string;
    items: { price: Price; quantity: number }[];
    metadata: Metadata;
    description: string | null;
    status: Subscription["status"];
  },
): Subscription {
  const now = ctx.now();
  const id = newId("subscription");
  const first = fields.items[0]!.price.recurring!;
  const end = addInterval(now, first.interval, first.interval_count);
  const items: SubscriptionItem[] = fields.items.map(({ price, quantity }) => ({
    id: newId("subscriptionItem"),
    object: "subscription_item",
    created: now,
    current_period_end: end,
    current_period_start: now,
    metadata: {},
    price,
    quantity,
    subscription: id,
  }));
  const subscription: Subscription = {
    id,
    object: "subscription",
    billing_cycle_anchor: now,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, reason: null },
    collection_method: "charge_automatically",
    created: now,
    currency: fields.items[0]!.price.currency,
    customer: fields.customer,
    default_payment_method: null,
    description: fields.description,
    ended_at: null,
    items: { object: "list", data: items, has_more: false, url: `/v1/subscription_items?subscription=${id}` },
    latest_invoice: null,
    livemode: false,
    metadata: fields.metadata,
    start_date: now,
    status: fields.status,
    current_period_start: now,
    current_period_end: end,
  };
  ctx.state.subscriptions[id] = subscription;
  ctx.changed();
  return subscription;
}

export function getSubscription(ctx: FakeContext, id: string, param = "subscription_exposed_id"): Subscription {
  const subscription = ctx.state.subscriptions[id];
  if (!subscription) throw noSuch("subscription", id, param);
  return subscription;
}

export function setSubscriptionStatus(
  ctx: FakeContext,
  subscription: Subscription,
  status: Subscription["status"],
): void {
  if (subscription.status === status) return;
  const previous = subscription.status;
  subscription.status = status;
  ctx.changed();
  ctx.emit("customer.subscription.updated", subscription, { previous: { status: previous } });
}

/** How the subscription has been paying: the kind of its latest charge (card when unknown). */
function paymentKind(ctx: FakeContext, subscription: Subscription): PaymentMethodKind {
  const invoice = subscription.latest_invoice ? ctx.state.invoices[subscription.latest_invoice] : undefined;
  const charge = invoice?.charge ? ctx.state.charges[invoice.charge] : undefined;
  return charge?.payment_method_details.type ?? "card";
}

function openRenewal(ctx: FakeContext, subscription: Subscription): Invoice | undefined {
  const invoice = subscription.latest_invoice ? ctx.state.invoices[subscription.latest_invoice] : undefined;
  return invoice && invoice.status === "open" && invoice.billing_reason === "subscription_cycle" ? invoice : undefined;
}

/**
 * The next period's invoice and a payment attempt on it. An unpaid renewal (past_due) is
 * retried instead: the same invoice, `attempt_count` one higher. Renewal payments settle at
 * once, ACH included (only the first payment models ACH's pending days).
 */
export function renewSubscription(
  ctx: FakeContext,
  subscription: Subscription,
  outcome: "succeeded" | "failed",
): Invoice {
  if (subscription.status !== "active" && subscription.status !== "past_due") {
    throw invalidRequest(
      `Subscription ${subscription.id} is ${subscription.status}; only an active or past_due subscription renews.`,
    );
  }
  const method = paymentKind(ctx, subscription);
  let invoice = openRenewal(ctx, subscription);
  if (!invoice) {
    const previousItems = structuredClone(subscription.items);
    const item = subscription.items.data[0]!;
    const { interval, interval_count } = item.price.recurring!;
    const previousStart = item.current_period_start;
    const start = item.current_period_end;
    const end = nextPeriodEnd(subscription.billing_cycle_anchor, start, interval, interval_count);
    for (const it of subscription.items.data) {
      it.current_period_start = start;
      it.current_period_end = end;
    }
    const previousPeriod = {
      current_period_start: subscription.current_period_start,
      current_period_end: subscription.current_period_end,
    };
    subscription.current_period_start = start;
    subscription.current_period_end = end;
    ctx.emit("customer.subscription.updated", subscription, { previous: { items: previousItems, ...previousPeriod } });
    // Stripe's convention for renewal invoices: the invoice's period is the one that just
    // ended; its lines are for the period beginning.
    invoice = createInvoice(ctx, {
      subscription,
      customer: getCustomer(ctx, subscription.customer),
      billingReason: "subscription_cycle",
      lines: subscription.items.data.map((it) => ({
        price: it.price,
        quantity: it.quantity,
        description: `${it.quantity} × ${productName(ctx, it.price)}`,
        subscriptionItem: it.id,
        period: { start, end },
      })),
      periodStart: previousStart,
      periodEnd: start,
      discount: renewalDiscount(ctx, subscription, start),
    });
  }
  attemptInvoicePayment(ctx, invoice, {
    method,
    outcome,
    ...(subscription.default_payment_method ? { paymentMethod: subscription.default_payment_method } : {}),
  });
  setSubscriptionStatus(ctx, subscription, outcome === "succeeded" ? "active" : "past_due");
  return invoice;
}

/** What the subscription's coupon (forever, or repeating and still running) takes off a renewal. */
function renewalDiscount(ctx: FakeContext, subscription: Subscription, periodStart: number): number {
  const kept = ctx.state.subscriptionDiscounts[subscription.id];
  const coupon = kept ? ctx.state.coupons[kept.coupon] : undefined;
  if (!kept || !coupon || !appliesToRenewal(coupon, kept.start, periodStart)) return 0;
  const amount = subscription.items.data.reduce((sum, it) => sum + it.price.unit_amount * it.quantity, 0);
  return discountOn(coupon, amount);
}

export function productName(ctx: FakeContext, price: Price): string {
  return ctx.state.products[price.product]?.name ?? price.product;
}

export function cancelSubscription(
  ctx: FakeContext,
  subscription: Subscription,
  opts: {
    reason: Subscription["cancellation_details"]["reason"];
    comment?: string | null;
    feedback?: string | null;
    request?: RequestRef;
  },
): Subscription {
  if (subscription.status === "canceled") {
    throw invalidRequest(`This subscription has already been canceled: '${subscription.id}'`, {
      param: "subscription_exposed_id",
    });
  }
  const now = ctx.now();
  const previous = { status: subscription.status };
  subscription.status = "canceled";
  subscription.canceled_at = now;
  subscription.ended_at = now;
  subscription.cancellation_details = {
    comment: opts.comment ?? null,
    feedback: opts.feedback ?? null,
    reason: opts.reason,
  };
  ctx.changed();
  ctx.emit("customer.subscription.deleted", subscription, {
    previous,
    ...(opts.request ? { request: opts.request } : {}),
  });
  return subscription;
}

const FEEDBACK = [
  "customer_service",
  "low_quality",
  "missing_features",
  "other",
  "switched_service",
  "too_complex",
  "too_expensive",
  "unused",
] as const;

/** DELETE /v1/subscriptions/:id (cancel now). */
export function cancelSubscriptionFromParams(
  ctx: FakeContext,
  id: string,
  p: Params,
  request: RequestRef,
): Subscription {
  p.allowOnly(["cancellation_details", "expand", "invoice_now", "prorate"]);
  // A final prorated invoice is not modelled; say so rather than pretend.
  if (p.boolean("invoice_now")) throw unsupported("invoice_now", "final invoices on cancellation");
  if (p.boolean("prorate")) throw unsupported("prorate", "prorations");
  const details = p.object("cancellation_details");
  details?.allowOnly(["comment", "feedback"]);
  const subscription = getSubscription(ctx, id);
  return cancelSubscription(ctx, subscription, {
    reason: "cancellation_requested",
    comment: details?.string("comment", { maxLength: 5000 }) ?? null,
    feedback: details?.oneOf("feedback", FEEDBACK) ?? null,
    request,
  });
}
