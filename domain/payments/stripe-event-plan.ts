import { z } from "zod";
import { INITIAL_ATTEMPT, type PaymentEventType } from "../orders/payment-state";

/**
 * What a Stripe event means for Docket, decided from the event alone (pure): which orders it is
 * about, which payment fact it records on them, and what else it asks for (link Stripe ids to
 * the orders, close the checkout, count or release a discount, alert and nudge on a failed
 * invoice). workers/payments/apply-stripe-event.ts carries the plan out.
 *
 * Payloads are read with our own small schemas rather than the SDK's types: webhook payloads
 * are rendered in the API version of the endpoint, not the SDK's
 * (https://docs.stripe.com/webhooks/versioning), so fields Stripe moved between versions are
 * read from both places (an invoice's subscription: `subscription` before 2025-03-31.basil,
 * `parent.subscription_details.subscription` since,
 * https://docs.stripe.com/changelog/basil/2025-03-31/adds-new-parent-field-to-invoicing-objects).
 */

/** The event types Docket acts on; every other type is recorded and ignored. */
export const HANDLED_STRIPE_EVENT_TYPES = [
  "checkout.session.completed",
  "checkout.session.async_payment_succeeded",
  "checkout.session.async_payment_failed",
  "checkout.session.expired",
  "invoice.paid",
  "invoice.payment_failed",
  "customer.subscription.deleted",
  "charge.refunded",
] as const;
export type HandledStripeEventType = (typeof HANDLED_STRIPE_EVENT_TYPES)[number];

/** The envelope every Stripe event has (https://docs.stripe.com/api/events/object). */
export const stripeEventEnvelope = z.object({
  id: z.string().min(1).max(255),
  object: z.literal("event").optional(),
  type: z.string().min(1).max(255),
  created: z.number().int().nonnegative(),
  data: z.object({ object: z.record(z.string(), z.unknown()) }),
});
export type StripeEventEnvelope = z.infer<typeof stripeEventEnvelope>;

/** An id or, when expanded, the object carrying it. */
const expandable = z
  .union([z.string(), z.object({ id: z.string() })])
  .nullish()
  .transform((v) => (v === null || v === undefined ? undefined : typeof v === "string" ? v : v.id));
const metadata = z
  .record(z.string(), z.string())
  .nullish()
  .transform((v) => v ?? {});
const optionalString = z
  .string()
  .nullish()
  .transform((v) => v ?? undefined);
const optionalInt = z
  .number()
  .int()
  .nullish()
  .transform((v) => v ?? undefined);

// https://docs.stripe.com/api/checkout/sessions/object
const checkoutSession = z.object({
  id: z.string().min(1),
  client_reference_id: optionalString,
  metadata,
  payment_status: z.enum(["paid", "unpaid", "no_payment_required"]),
  mode: optionalString,
  subscription: expandable,
  payment_intent: expandable,
  customer: expandable,
  payment_method_types: z.array(z.string()).nullish(),
});

// https://docs.stripe.com/api/invoices/object
const invoice = z.object({
  id: z.string().min(1),
  billing_reason: optionalString,
  attempt_count: optionalInt,
  amount_due: optionalInt,
  amount_paid: optionalInt,
  currency: optionalString,
  customer: expandable,
  hosted_invoice_url: optionalString,
  next_payment_attempt: optionalInt,
  period_start: optionalInt,
  period_end: optionalInt,
  metadata,
  /** Before 2025-03-31.basil. */
  subscription: expandable,
  subscription_details: z.object({ metadata }).nullish(),
  payment_intent: expandable,
  /**
   * Since 2025-03-31.basil the invoice names its PaymentIntents only here
   * (https://docs.stripe.com/api/invoice-payment/object): the top-level field is gone.
   */
  payments: z
    .object({
      data: z.array(
        z.object({ payment: z.object({ type: z.string().optional(), payment_intent: expandable }).nullish() }),
      ),
    })
    .nullish(),
  /** Since 2025-03-31.basil. */
  parent: z
    .object({
      subscription_details: z.object({ subscription: expandable, metadata }).nullish(),
    })
    .nullish(),
});

/** The invoice's PaymentIntent: the old top-level field, else the first one in `payments`. */
function invoicePaymentIntent(inv: z.infer<typeof invoice>): string | undefined {
  return inv.payment_intent ?? inv.payments?.data.map((p) => p.payment?.payment_intent).find((id) => id !== undefined);
}

// https://docs.stripe.com/api/subscriptions/object
const subscription = z.object({
  id: z.string().min(1),
  metadata,
  customer: expandable,
  status: optionalString,
});

// https://docs.stripe.com/api/charges/object
const charge = z.object({
  id: z.string().min(1),
  amount: z.number().int().nonnegative(),
  amount_refunded: z.number().int().nonnegative(),
  refunded: z.boolean(),
  currency: optionalString,
  payment_intent: expandable,
  customer: expandable,
  metadata,
});

/** How an event names its orders; the adapter looks each up and takes the union. */
export interface OrderReferences {
  /** Order numbers named outright (metadata `order_number` / `order_numbers`). */
  orderNumbers: string[];
  /** A Checkout Session's `client_reference_id`: an order number or a checkout number. */
  clientReferenceId?: string;
  sessionId?: string;
  subscriptionId?: string;
  paymentIntentId?: string;
}

export interface PlannedFact {
  type: PaymentEventType;
  key: string;
  at: string;
  payload: Record<string, unknown>;
}

export interface PaymentFailureDetails {
  invoiceId: string;
  subscriptionId?: string;
  attemptCount?: number;
  amountDueCents?: number;
  currency?: string;
  hostedInvoiceUrl?: string;
  /** Unix seconds of Stripe's next automatic retry, when one is scheduled. */
  nextPaymentAttempt?: number;
  billingReason?: string;
}

export type StripeEventPlan =
  | { kind: "ignored"; reason: string }
  | { kind: "invalid"; reason: string }
  | {
      kind: "act";
      refs: OrderReferences;
      /**
       * Which of the orders found the fact applies to: all of them, or only the recurring ones
       * (a renewal or a subscription's end concerns the subscription, not the one-time items
       * bought in the same checkout).
       */
      scope: "all" | "recurring";
      fact: PlannedFact;
      /** Stripe ids to record on the orders (and the customer) where not yet recorded. */
      link: { subscriptionId?: string; paymentIntentId?: string; customerId?: string };
      /** The checkout's new status, for the checkout behind the orders. */
      checkoutStatus?: "completed" | "expired";
      /** Count the checkout's discount (the payment succeeded) or give its reservation back. */
      discount?: "redeem" | "release";
      paymentFailure?: PaymentFailureDetails;
    };

/**
 * Order numbers from metadata: `order_number`, or `order_numbers` as a comma- or
 * space-separated list or a JSON array (metadata values are strings of at most 500 characters,
 * https://docs.stripe.com/api/metadata).
 */
export function orderNumbersFromMetadata(meta: Record<string, string>): string[] {
  const found: string[] = [];
  const single = meta.order_number?.trim();
  if (single) found.push(single);
  const list = meta.order_numbers?.trim();
  if (list) {
    let items: unknown = undefined;
    if (list.startsWith("[")) {
      try {
        items = JSON.parse(list);
      } catch {
        items = undefined;
      }
    }
    const values = Array.isArray(items)
      ? items.filter((v): v is string => typeof v === "string")
      : list.split(/[\s,;]+/);
    for (const v of values) if (v.trim()) found.push(v.trim());
  }
  return [...new Set(found)];
}

/** The subscription id of an invoice, wherever the payload's API version put it. */
export function invoiceSubscriptionId(inv: z.infer<typeof invoice>): string | undefined {
  return inv.parent?.subscription_details?.subscription ?? inv.subscription;
}

function invoiceMetadataNumbers(inv: z.infer<typeof invoice>): string[] {
  return orderNumbersFromMetadata({
    ...inv.metadata,
    ...(inv.subscription_details?.metadata ?? {}),
    ...(inv.parent?.subscription_details?.metadata ?? {}),
  });
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "(object)"}: ${i.message}`).join("; ");
}

function isHandled(type: string): type is HandledStripeEventType {
  return (HANDLED_STRIPE_EVENT_TYPES as readonly string[]).includes(type);
}

/** Decides what one verified Stripe event means. Never throws on a payload's shape. */
export function planStripeEvent(raw: unknown): StripeEventPlan {
  const envelope = stripeEventEnvelope.safeParse(raw);
  if (!envelope.success) return { kind: "invalid", reason: `not a Stripe event: ${describeIssues(envelope.error)}` };
  const event = envelope.data;
  if (!isHandled(event.type)) return { kind: "ignored", reason: `event type ${event.type} is not one Docket acts on` };
  const at = new Date(event.created * 1000).toISOString();
  const key = `stripe:${event.id}`;
  const object = event.data.object;
  const source = { stripeEvent: event.id, stripeType: event.type };

  switch (event.type) {
    case "checkout.session.completed":
    case "checkout.session.async_payment_succeeded":
    case "checkout.session.async_payment_failed":
    case "checkout.session.expired": {
      const parsed = checkoutSession.safeParse(object);
      if (!parsed.success) return { kind: "invalid", reason: `checkout session: ${describeIssues(parsed.error)}` };
      const s = parsed.data;
      const refs: OrderReferences = {
        orderNumbers: orderNumbersFromMetadata(s.metadata),
        clientReferenceId: s.client_reference_id,
        sessionId: s.id,
        subscriptionId: s.subscription,
        paymentIntentId: s.payment_intent,
      };
      const link = { subscriptionId: s.subscription, paymentIntentId: s.payment_intent, customerId: s.customer };
      const base = { kind: "act" as const, refs, scope: "all" as const, link };
      const payload = { ...source, attempt: INITIAL_ATTEMPT, sessionId: s.id };
      if (event.type === "checkout.session.expired") {
        // The session can take no more money: its discount reservation goes back
        // (https://docs.stripe.com/api/checkout/sessions/object#checkout_session_object-expires_at).
        // A government-fee child order keeps waiting: its pay page expires one session when the
        // customer switches method and opens another, so an expiry is not an abandoned order.
        if (s.metadata?.kind === "government_fee") {
          return { kind: "ignored", reason: "a government-fee payment session expired; the child order stays payable" };
        }
        return {
          ...base,
          fact: { type: "checkout_expired", key, at, payload: { stripeEvent: event.id, sessionId: s.id } },
          checkoutStatus: "expired",
          discount: "release",
        };
      }
      if (event.type === "checkout.session.async_payment_failed") {
        return {
          ...base,
          fact: { type: "payment_failed", key, at, payload },
          checkoutStatus: "completed",
          discount: "release",
        };
      }
      // `completed` with payment_status "unpaid" means a delayed-notification method (an ACH
      // debit): the money is not there until async_payment_succeeded or _failed
      // (https://docs.stripe.com/checkout/fulfillment, "Handle delayed notification payment
      // methods"). "no_payment_required" (a 100% discount, a free trial) is as good as paid.
      const paid = event.type === "checkout.session.async_payment_succeeded" || s.payment_status !== "unpaid";
      return {
        ...base,
        fact: {
          type: paid ? "payment_succeeded" : "payment_processing",
          key,
          at,
          payload: { ...payload, paymentStatus: s.payment_status, paymentMethodTypes: s.payment_method_types ?? [] },
        },
        checkoutStatus: "completed",
        ...(paid ? { discount: "redeem" as const } : {}),
      };
    }

    case "invoice.paid":
    case "invoice.payment_failed": {
      const parsed = invoice.safeParse(object);
      if (!parsed.success) return { kind: "invalid", reason: `invoice: ${describeIssues(parsed.error)}` };
      const inv = parsed.data;
      const subscriptionId = invoiceSubscriptionId(inv);
      const refs: OrderReferences = { orderNumbers: invoiceMetadataNumbers(inv), subscriptionId };
      // billing_reason tells the first invoice of a subscription (`subscription_create`: the
      // checkout's own payment) from a renewal (`subscription_cycle`)
      // (https://docs.stripe.com/api/invoices/object#invoice_object-billing_reason).
      const initial = inv.billing_reason === "subscription_create";
      const renewal = inv.billing_reason === "subscription_cycle";
      const attempt = initial ? INITIAL_ATTEMPT : inv.id;
      const invoiceFacts = {
        ...source,
        invoiceId: inv.id,
        billingReason: inv.billing_reason ?? null,
        subscriptionId: subscriptionId ?? null,
      };
      const link = {
        subscriptionId,
        customerId: inv.customer,
        ...(initial ? { paymentIntentId: invoicePaymentIntent(inv) } : {}),
      };
      if (event.type === "invoice.paid") {
        if (renewal) {
          // One renewal cycle per paid invoice, whichever event brings it: keyed by invoice.
          return {
            kind: "act",
            refs,
            scope: "recurring",
            link,
            fact: {
              type: "renewal_paid",
              key: `cycle:${inv.id}`,
              at,
              payload: {
                ...invoiceFacts,
                amountPaidCents: inv.amount_paid ?? null,
                currency: inv.currency ?? null,
                periodStart: inv.period_start === undefined ? null : new Date(inv.period_start * 1000).toISOString(),
                periodEnd: inv.period_end === undefined ? null : new Date(inv.period_end * 1000).toISOString(),
              },
            },
          };
        }
        return {
          kind: "act",
          refs,
          scope: initial ? "all" : "recurring",
          link,
          fact: {
            type: "payment_succeeded",
            key,
            at,
            payload: { ...invoiceFacts, attempt, amountPaidCents: inv.amount_paid ?? null },
          },
          ...(initial ? { discount: "redeem" as const } : {}),
        };
      }
      return {
        kind: "act",
        refs,
        scope: initial ? "all" : "recurring",
        link,
        fact: {
          type: "payment_failed",
          key,
          at,
          payload: { ...invoiceFacts, attempt, attemptCount: inv.attempt_count ?? null },
        },
        paymentFailure: {
          invoiceId: inv.id,
          subscriptionId,
          attemptCount: inv.attempt_count,
          amountDueCents: inv.amount_due,
          currency: inv.currency,
          hostedInvoiceUrl: inv.hosted_invoice_url,
          nextPaymentAttempt: inv.next_payment_attempt,
          billingReason: inv.billing_reason,
        },
      };
    }

    case "customer.subscription.deleted": {
      const parsed = subscription.safeParse(object);
      if (!parsed.success) return { kind: "invalid", reason: `subscription: ${describeIssues(parsed.error)}` };
      const sub = parsed.data;
      return {
        kind: "act",
        refs: { orderNumbers: orderNumbersFromMetadata(sub.metadata), subscriptionId: sub.id },
        scope: "recurring",
        link: { subscriptionId: sub.id, customerId: sub.customer },
        // https://docs.stripe.com/billing/subscriptions/webhooks: sent when a subscription
        // ends, whether cancelled or after failed payments ran out.
        fact: {
          type: "cancelled",
          key,
          at,
          payload: { ...source, reason: "subscription_deleted", subscriptionId: sub.id },
        },
      };
    }

    case "charge.refunded": {
      const parsed = charge.safeParse(object);
      if (!parsed.success) return { kind: "invalid", reason: `charge: ${describeIssues(parsed.error)}` };
      const ch = parsed.data;
      // `refunded` is true only once the whole charge is refunded; `amount_refunded` is
      // cumulative across partial refunds (https://docs.stripe.com/api/charges/object).
      const full = ch.refunded || ch.amount_refunded >= ch.amount;
      return {
        kind: "act",
        refs: { orderNumbers: orderNumbersFromMetadata(ch.metadata), paymentIntentId: ch.payment_intent },
        scope: "all",
        link: {},
        fact: {
          type: full ? "refunded" : "refund_partial",
          key,
          at,
          payload: {
            ...source,
            chargeId: ch.id,
            amountCents: ch.amount,
            amountRefundedCents: ch.amount_refunded,
            currency: ch.currency ?? null,
          },
        },
      };
    }
  }
}
