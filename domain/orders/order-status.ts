import type { PaymentStatus } from "./payment-state";

/**
 * The one status an order shows, everywhere (order page, admin list, `orders.status`). It is
 * made of two parts the machine keeps separately:
 *
 * - the payment status (payment-state.ts): folded from Stripe's facts, so events that arrive
 *   out of order agree;
 * - the lifecycle stage: where the paid order is on its way to a filed result, moved forward one
 *   event at a time by the transition table (transition-table.ts).
 *
 * While money is not settled the payment status is what matters and is shown; once paid, the
 * stage is. A refund or a cancellation ends the order whatever its stage; a failed renewal of a
 * subscription shows `payment_failed` until Stripe's retry pays it, while the stage underneath
 * stays where it was.
 */

export const LIFECYCLE_STAGES = [
  /** Paid, and nothing has happened yet (only for the instant before the first gate). */
  "not_started",
  "awaiting_intake",
  "awaiting_signature",
  "awaiting_customer_answer",
  "awaiting_government_fee",
  "ready_to_file",
  "filing",
  "needs_manual_filing",
  "completed",
] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

/** A paid order's stages, as statuses (everything but the instant before the first gate). */
const STAGE_STATUSES = LIFECYCLE_STAGES.filter((s): s is Exclude<LifecycleStage, "not_started"> => s !== "not_started");

export const ORDER_STATUSES = [
  "pending_payment",
  "payment_processing",
  /** Paid, with no lifecycle: government-fee child orders (CG-…), which only carry money. */
  "paid",
  ...STAGE_STATUSES,
  "payment_failed",
  "cancelled",
  "refunded",
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Statuses no event moves out of, except the payment facts that are always recorded. */
export const TERMINAL_STATUSES: readonly OrderStatus[] = ["cancelled", "refunded"];

/** What a customer reads for each status (order page, e-mails). */
export const STATUS_LABELS: Record<OrderStatus, string> = {
  pending_payment: "Waiting for payment",
  payment_processing: "Payment processing",
  paid: "Paid",
  awaiting_intake: "Waiting for your details",
  awaiting_signature: "Waiting for your signature",
  awaiting_customer_answer: "Waiting for your answer",
  awaiting_government_fee: "Waiting for the government fee",
  ready_to_file: "Ready to file",
  filing: "Filing in progress",
  needs_manual_filing: "Being filed by our team",
  completed: "Completed",
  payment_failed: "Payment failed",
  cancelled: "Cancelled",
  refunded: "Refunded",
};

export function isOrderStatus(value: string): value is OrderStatus {
  return (ORDER_STATUSES as readonly string[]).includes(value);
}

/** The status of an order: payment status until paid, then its stage (see the module comment). */
export function combineStatus(payment: PaymentStatus, stage: LifecycleStage, hasLifecycle: boolean): OrderStatus {
  if (payment !== "paid" || !hasLifecycle) return payment;
  return stage === "not_started" ? "paid" : stage;
}

/** Statuses of an order whose money is in: plain `paid` (a child order) and every lifecycle stage. */
export const PAID_STATUSES: readonly OrderStatus[] = ["paid", ...STAGE_STATUSES];

export function isPaidStatus(status: string): boolean {
  return (PAID_STATUSES as readonly string[]).includes(status);
}

/**
 * Statuses in which a customer does not "have" the service: not paid yet (an ACH debit still
 * clearing counts as not yet) or ended. The bundle's invitation and the monitoring page use it.
 */
export const NOT_LIVE_STATUSES: readonly OrderStatus[] = [
  "pending_payment",
  "payment_processing",
  "cancelled",
  "refunded",
];
