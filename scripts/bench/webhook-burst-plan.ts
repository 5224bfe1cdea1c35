/**
 * What the webhook burst prepares, and what the orders must look like after it (pure: no I/O).
 *
 * The events are made by the fake Stripe's own flows (checkout paid, subscription renewed,
 * renewal failed then paid on a retry, cancelled, refunded, card declined) with the webhook URL
 * unset, so nothing reaches the Worker until the burst. The fake keeps its newest MAX_EVENTS
 * events (scripts/lib/fake-stripe/state.ts) and /__sim/events/deliver can only send events it
 * still holds; every flow also creates events no endpoint is subscribed to (a renewal makes
 * seven, one of them `invoice.paid`), so the plan is the largest below that fits the window.
 */

export interface BurstPlan {
  name: string;
  /** Recurring orders (subscription checkouts), each paid, then renewed `renewals` times. */
  subscriptions: number;
  renewals: number;
  /** One-time orders. */
  oneTime: number;
}

export const BURST_PLANS: readonly BurstPlan[] = [
  // The shape: subscriptions with a year of renewals, about 2,000 deliverable events.
  { name: "subscriptions × 11 renewals", subscriptions: 150, renewals: 11, oneTime: 0 },
  // What fits a 5,000-event window: fewer renewals, one-time orders (whose events come cheaper)
  // for the rest, to pass 2,000 deliveries with the duplicates.
  { name: "mixed, sized to a 5,000-event window", subscriptions: 60, renewals: 2, oneTime: 630 },
];

/** See subscriptionFlow's `refundFirst`. */
const REFUND_SUBSCRIPTION_PAYMENTS = process.env.DOCKET_BENCH_REFUND_SUBSCRIPTIONS === "1";

/** What happens to subscription `i` besides paying and renewing (deterministic, by index). */
export function subscriptionFlow(i: number) {
  return {
    /** One more cycle whose invoice fails twice (first attempt, one retry), then is paid on a retry. */
    failedCycle: i % 5 === 0,
    /**
     * The first invoice's charge refunded in full. Off: such a refund never reaches its order,
     * even delivered in order (charge.refunded ends `unknown_order`: the charge names only its
     * PaymentIntent, and no event links a subscription's PaymentIntent to the order, since
     * invoices carry it under `payments` from API 2025-03-31 on). DOCKET_BENCH_REFUND_SUBSCRIPTIONS=1
     * turns it on (every 10th subscription), to see the fix.
     */
    refundFirst: REFUND_SUBSCRIPTION_PAYMENTS && i % 10 === 3,
    /** Cancelled at the end (customer.subscription.deleted). */
    cancel: i % 4 === 1,
  };
}

/** What happens to one-time order `j` besides paying. */
export function oneTimeFlow(j: number) {
  return {
    /** A declined card first (payment_intent.payment_failed), then paid. */
    decline: j % 2 === 0,
    refund: j % 4 === 0 ? ("full" as const) : j % 4 === 1 ? ("partial" as const) : undefined,
  };
}

/** Events each fake action creates in all, subscribed types or not (measured on the fake). */
export const EVENTS_PER_ACTION = {
  subscriptionPay: 9,
  renew: 7,
  failRenewalFirst: 7,
  failRenewalRetry: 3,
  renewRetry: 5,
  cancel: 1,
  refund: 2,
  oneTimePay: 3,
  decline: 2,
} as const;

export function estimateEvents(plan: BurstPlan): { total: number; subscribed: number } {
  const e = EVENTS_PER_ACTION;
  let total = 0;
  let subscribed = 0;
  for (let i = 0; i < plan.subscriptions; i++) {
    const f = subscriptionFlow(i);
    total += e.subscriptionPay + plan.renewals * e.renew;
    subscribed += 2 + plan.renewals;
    if (f.failedCycle) {
      total += e.failRenewalFirst + e.failRenewalRetry + e.renewRetry;
      subscribed += 2 + 2 + 1;
    }
    if (f.refundFirst) {
      total += e.refund;
      subscribed += 1;
    }
    if (f.cancel) {
      total += e.cancel;
      subscribed += 1;
    }
  }
  for (let j = 0; j < plan.oneTime; j++) {
    const f = oneTimeFlow(j);
    total += e.oneTimePay;
    subscribed += 1;
    if (f.decline) {
      total += e.decline;
      subscribed += 1;
    }
    if (f.refund) {
      total += e.refund;
      subscribed += 1;
    }
  }
  return { total, subscribed };
}

/** The first plan whose events fit the fake's window, with room to spare. */
export function choosePlan(maxEvents: number): BurstPlan {
  const room = Math.floor(maxEvents * 0.95);
  const plan = BURST_PLANS.find((p) => estimateEvents(p).total <= room);
  if (!plan) throw new Error(`no burst plan fits the fake's ${maxEvents}-event window`);
  return plan;
}

/** Order facts (order_events.type) as the OrderMachine records them. */
export type FactType =
  "payment_succeeded" | "payment_failed" | "renewal_paid" | "cancelled" | "refunded" | "refund_partial";

/** One event the burst delivers, and the one order fact it must leave (or none). */
export interface PlannedEvent {
  id: string;
  type: string;
  /** The fake's creation order. */
  seq: number;
  orderNumber: string;
  /** The fact on the order and its idempotency key; null for types Docket records and ignores. */
  fact: { type: FactType; key: string } | null;
}

export interface PlannedOrder {
  number: string;
  kind: "subscription" | "one-time";
  finalStatus: "paid" | "cancelled" | "refunded";
  /** Renewal invoices whose first attempts failed: exactly one customer nudge each. */
  failedInvoices: string[];
  email: string;
}

export interface OrderExpectation {
  /** Rows per order_events.type. */
  counts: Partial<Record<FactType, number>>;
  keys: Set<string>;
}

/** Per order: the order_events it must end with, from the events planned for it. */
export function expectedOrderEvents(events: readonly PlannedEvent[]): Map<string, OrderExpectation> {
  const byOrder = new Map<string, OrderExpectation>();
  for (const e of events) {
    if (!e.fact) continue;
    const entry = byOrder.get(e.orderNumber) ?? { counts: {}, keys: new Set<string>() };
    // Several events can carry one fact key (a renewal is keyed by its invoice): one row.
    if (!entry.keys.has(e.fact.key)) {
      entry.keys.add(e.fact.key);
      entry.counts[e.fact.type] = (entry.counts[e.fact.type] ?? 0) + 1;
    }
    byOrder.set(e.orderNumber, entry);
  }
  return byOrder;
}
