import { noSuch } from "./api-error";
import type { FakeContext } from "./context";
import { newId } from "./ids";
import type { Params } from "./params";
import { chargePaymentIntent, createPaymentIntent, getPaymentIntent, type ChargeOutcome } from "./payments";
import type {
  ApiList,
  BillingReason,
  Charge,
  Customer,
  Invoice,
  InvoiceLineItem,
  PaymentMethodKind,
  Price,
  Subscription,
} from "./stripe-objects";

/**
 * Subscription invoices (https://docs.stripe.com/api/invoices/object): one per billing
 * period, `billing_reason` telling the first (`subscription_create`) from a renewal
 * (`subscription_cycle`). Each payment attempt raises `attempt_count`; a paid invoice emits
 * `invoice.paid` and `invoice.payment_succeeded`, a failed attempt `invoice.payment_failed`
 * (https://docs.stripe.com/billing/subscriptions/webhooks). The subscription id is kept in both
 * the pre-basil `subscription` field and basil's `parent.subscription_details.subscription`;
 * views.ts shows the ones an API version has.
 */

export interface InvoiceLineInput {
  price: Price;
  quantity: number;
  description: string;
  subscriptionItem: string | null;
  period: { start: number; end: number };
}

export function createInvoice(
  ctx: FakeContext,
  fields: {
    subscription: Subscription;
    customer: Customer;
    billingReason: BillingReason;
    lines: InvoiceLineInput[];
    periodStart: number;
    periodEnd: number;
    /** A coupon's discount on this invoice. */
    discount?: number;
  },
): Invoice {
  const { subscription, customer } = fields;
  const id = newId("invoice");
  const now = ctx.now();
  const lines: InvoiceLineItem[] = fields.lines.map((line) => ({
    id: newId("invoiceLineItem"),
    object: "line_item",
    amount: line.price.unit_amount * line.quantity,
    currency: line.price.currency,
    description: line.description,
    livemode: false,
    metadata: {},
    period: line.period,
    quantity: line.quantity,
    parent: {
      type: "subscription_item_details",
      subscription_item_details: {
        invoice_item: null,
        proration: false,
        subscription: subscription.id,
        subscription_item: line.subscriptionItem,
      },
    },
    pricing: {
      type: "price_details",
      price_details: { price: line.price.id, product: line.price.product },
      unit_amount_decimal: line.price.unit_amount_decimal,
    },
    price: line.price,
    subscription: subscription.id,
    type: "subscription",
    proration: false,
  }));
  const subtotal = lines.reduce((sum, line) => sum + line.amount, 0);
  const discount = Math.min(fields.discount ?? 0, subtotal);
  const total = subtotal - discount;
  const invoice: Invoice = {
    id,
    object: "invoice",
    account_country: "US",
    account_name: "Docket (fake Stripe)",
    amount_due: total,
    amount_paid: 0,
    amount_remaining: total,
    attempt_count: 0,
    attempted: false,
    billing_reason: fields.billingReason,
    collection_method: "charge_automatically",
    created: now,
    currency: subscription.currency,
    customer: customer.id,
    customer_email: customer.email,
    customer_name: customer.name,
    description: null,
    hosted_invoice_url: null,
    lines: { object: "list", data: lines, has_more: false, url: `/v1/invoices/${id}/lines` },
    livemode: false,
    metadata: {},
    next_payment_attempt: null,
    number: `${customer.invoice_prefix}-${String(customer.next_invoice_sequence++).padStart(4, "0")}`,
    period_end: fields.periodEnd,
    period_start: fields.periodStart,
    status: "open",
    status_transitions: { finalized_at: now, marked_uncollectible_at: null, paid_at: null, voided_at: null },
    subtotal,
    total,
    total_discount_amounts: discount > 0 ? [{ amount: discount, discount: newId("discount") }] : [],
    webhooks_delivered_at: now,
    parent: {
      type: "subscription_details",
      quote_details: null,
      subscription_details: { metadata: { ...subscription.metadata }, subscription: subscription.id },
    },
    payments: { object: "list", data: [], has_more: false, url: `/v1/invoice_payments?invoice=${id}` },
    subscription: subscription.id,
    subscription_details: { metadata: { ...subscription.metadata } },
    payment_intent: null,
    charge: null,
    paid: false,
  };
  ctx.state.invoices[id] = invoice;
  subscription.latest_invoice = id;
  ctx.changed();
  ctx.emit("invoice.created", invoice);
  ctx.emit("invoice.finalized", invoice);
  return invoice;
}

/**
 * One payment attempt on an open invoice, through its PaymentIntent (reused after a failed
 * attempt, as Stripe retries the same one). `pending` leaves the invoice open until the bank
 * settles (settleInvoicePayment).
 */
export function attemptInvoicePayment(
  ctx: FakeContext,
  invoice: Invoice,
  opts: { method: PaymentMethodKind; outcome: ChargeOutcome; paymentMethod?: string },
): Charge {
  const reusable = invoice.payment_intent ? ctx.state.paymentIntents[invoice.payment_intent] : undefined;
  const pi =
    reusable && reusable.status === "requires_payment_method"
      ? reusable
      : createPaymentIntent(ctx, {
          amount: invoice.amount_due,
          currency: invoice.currency,
          customer: invoice.customer,
          description:
            invoice.billing_reason === "subscription_create" ? "Subscription creation" : "Subscription update",
          metadata: {},
          receiptEmail: null,
          paymentMethodTypes: [opts.method],
        });
  if (invoice.payment_intent !== pi.id) {
    invoice.payment_intent = pi.id;
    invoice.payments.data.push({
      id: newId("invoicePayment"),
      object: "invoice_payment",
      amount_paid: null,
      amount_requested: invoice.amount_due,
      created: ctx.now(),
      currency: invoice.currency,
      invoice: invoice.id,
      is_default: true,
      livemode: false,
      payment: { type: "payment_intent", payment_intent: pi.id },
      status: "open",
    });
  }
  invoice.attempt_count += 1;
  invoice.attempted = true;
  const charge = chargePaymentIntent(ctx, pi, {
    method: opts.method,
    outcome: opts.outcome,
    email: invoice.customer_email,
    ...(opts.paymentMethod ? { paymentMethod: opts.paymentMethod } : {}),
  });
  invoice.charge = charge.id;
  if (opts.outcome === "succeeded") markPaid(ctx, invoice, charge);
  else if (opts.outcome === "failed") markAttemptFailed(ctx, invoice);
  ctx.changed();
  return charge;
}

/** The bank's answer for an invoice whose (ACH) payment was pending. */
export function settleInvoicePayment(
  ctx: FakeContext,
  invoice: Invoice,
  charge: Charge,
  outcome: "succeeded" | "failed",
): void {
  if (outcome === "succeeded") markPaid(ctx, invoice, charge);
  else markAttemptFailed(ctx, invoice);
}

function markPaid(ctx: FakeContext, invoice: Invoice, charge: Charge): void {
  invoice.status = "paid";
  invoice.paid = true;
  invoice.amount_paid = charge.amount;
  invoice.amount_remaining = 0;
  invoice.next_payment_attempt = null;
  invoice.status_transitions.paid_at = ctx.now();
  for (const payment of invoice.payments.data) {
    if (payment.payment.payment_intent === charge.payment_intent) {
      payment.status = "paid";
      payment.amount_paid = charge.amount;
    }
  }
  ctx.changed();
  ctx.emit("invoice.paid", invoice);
  ctx.emit("invoice.payment_succeeded", invoice);
}

/** Smart Retries try again days later; the fake records when, and retries when told to. */
const RETRY_AFTER_SECONDS = 3 * 24 * 3600;

function markAttemptFailed(ctx: FakeContext, invoice: Invoice): void {
  invoice.next_payment_attempt = ctx.now() + RETRY_AFTER_SECONDS;
  ctx.changed();
  ctx.emit("invoice.payment_failed", invoice);
}

export function getInvoice(ctx: FakeContext, id: string, param = "invoice"): Invoice {
  const invoice = ctx.state.invoices[id];
  if (!invoice) throw noSuch("invoice", id, param);
  return invoice;
}

/** The invoice's charge, for refunds. */
export function invoiceCharge(ctx: FakeContext, invoice: Invoice): string | null {
  if (invoice.charge) return invoice.charge;
  return invoice.payment_intent ? getPaymentIntent(ctx, invoice.payment_intent).latest_charge : null;
}

/** GET /v1/invoices?subscription=…&customer=…&status=… (newest first). */
export function listInvoices(ctx: FakeContext, p: Params): ApiList<Invoice> {
  p.allowOnly([
    "customer",
    "subscription",
    "status",
    "limit",
    "expand",
    "created",
    "starting_after",
    "ending_before",
    "collection_method",
  ]);
  const customer = p.string("customer");
  const subscription = p.string("subscription");
  const status = p.oneOf("status", ["draft", "open", "paid", "uncollectible", "void"] as const);
  const limit = p.integer("limit", { min: 1, max: 100 }) ?? 10;
  const all = Object.values(ctx.state.invoices)
    .filter(
      (i) =>
        (customer === undefined || i.customer === customer) &&
        (subscription === undefined || i.subscription === subscription),
    )
    .filter((i) => status === undefined || i.status === status)
    .reverse()
    .sort((a, b) => b.created - a.created);
  return { object: "list", data: all.slice(0, limit), has_more: all.length > limit, url: "/v1/invoices" };
}
