import { z } from "zod";

/**
 * The payment side of an order's life: what Stripe told us about its money, as a set of facts,
 * and the one status those facts add up to. Pure: no bindings, no clock, no I/O. The
 * OrderMachine Durable Object (durable-objects/order-machine.ts) is its only caller that
 * writes; the OrderMachine issue extends it with intake, gates and fulfilment.
 *
 * Why facts and not "the last event wins": Stripe does not guarantee that events arrive in the
 * order they happened, and delivers some more than once (https://docs.stripe.com/webhooks,
 * "Event ordering" and "Handle duplicate events"). An `invoice.paid` can arrive before its
 * `checkout.session.completed`, a `charge.refunded` before the payment it refunds. So each
 * event only ADDS to the order's facts (sets a flag, adds a member to a set, raises a maximum),
 * which makes merging commutative, associative and idempotent: the facts after any set of
 * events are the same whatever the order they came in, and the status is a function of the
 * facts alone. The permutation test in test/worker/payment-state.test.ts checks exactly that.
 *
 * Status precedence (first that holds wins):
 *
 *   1. refunded            a full refund was recorded;
 *   2. cancelled           the subscription was deleted (or an admin cancelled);
 *   3. payment_failed      some payment attempt failed and that same attempt never succeeded;
 *   4. paid                some payment attempt succeeded;
 *   5. payment_processing  some payment attempt is pending (ACH debits take days);
 *   6. cancelled           the checkout session expired with nothing paid or pending;
 *   7. pending_payment     nothing yet.
 *
 * Within one payment attempt, succeeded > failed > processing: an ACH debit that was pending
 * and then failed ends failed, whichever of the two events arrives first; a renewal invoice
 * that failed and was then paid on Stripe's retry ends paid. Across attempts, an outstanding
 * failure outranks a success: a monthly subscription whose latest renewal failed is shown as
 * `payment_failed` (Stripe is retrying it) until that invoice is paid.
 *
 * A partial refund changes no status: its amount is recorded (`refundedCents`, the largest
 * cumulative `amount_refunded` seen, so repeated or reordered refund events agree) and the
 * order stays what it was; only a full refund (Stripe's `charge.refunded` with `refunded:
 * true`) makes it `refunded`.
 *
 * An expired checkout session (`checkout.session.expired`) cancels an order that had nothing
 * paid or pending, at the lowest precedence: the session can no longer take money, but if a
 * payment for the same order is recorded anyway (a second session, an ACH debit settling), the
 * payment wins, in either order.
 *
 * Rejections depend only on what the order is (one-time or recurring), never on its current
 * status: a status-dependent rejection would throw away a fact that, had the events arrived in
 * the other order, would have been kept, and the two orders of arrival would disagree.
 */

export const PAYMENT_STATUSES = [
  "pending_payment",
  "payment_processing",
  "paid",
  "payment_failed",
  "cancelled",
  "refunded",
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const PAYMENT_EVENT_TYPES = [
  "payment_processing",
  "payment_succeeded",
  "payment_failed",
  "renewal_paid",
  "checkout_expired",
  "cancelled",
  "refund_partial",
  "refunded",
] as const;
export type PaymentEventType = (typeof PAYMENT_EVENT_TYPES)[number];

/** The attempt that pays for the order itself (checkout session, first subscription invoice). */
export const INITIAL_ATTEMPT = "initial";

const attemptKey = z.string().min(1).max(255);
const cents = z.number().int().nonnegative();

/** What each event carries; anything else in the payload is kept in the log but not read. */
export const PAYMENT_EVENT_PAYLOADS = {
  /** `attempt`: which payment: "initial", or a Stripe invoice id for a later invoice. */
  payment_processing: z.object({ attempt: attemptKey.default(INITIAL_ATTEMPT) }).loose(),
  payment_succeeded: z.object({ attempt: attemptKey.default(INITIAL_ATTEMPT) }).loose(),
  payment_failed: z.object({ attempt: attemptKey.default(INITIAL_ATTEMPT) }).loose(),
  /** One renewal cycle per paid `subscription_cycle` invoice. */
  renewal_paid: z.object({ invoiceId: attemptKey }).loose(),
  checkout_expired: z.object({}).loose(),
  cancelled: z.object({ reason: z.string().max(200).optional() }).loose(),
  /** `amountRefundedCents`: Stripe's cumulative `amount_refunded` on the charge. */
  refund_partial: z.object({ amountRefundedCents: cents }).loose(),
  refunded: z.object({ amountRefundedCents: cents.optional() }).loose(),
} satisfies Record<PaymentEventType, z.ZodType>;

export interface PaymentEvent {
  type: PaymentEventType;
  /** Idempotency key: an event whose key was seen is not applied again. */
  key: string;
  /** When it happened (ISO 8601), as the source says; for the log, never for ordering. */
  at: string;
  payload: Record<string, unknown>;
}

export interface AttemptFacts {
  processing: boolean;
  succeeded: boolean;
  failed: boolean;
}

/** Everything known about an order's money. Every field only grows (a join-semilattice). */
export interface PaymentFacts {
  /** Fixed per order: a recurring (subscription) service or a one-time one. */
  recurring: boolean;
  attempts: Record<string, AttemptFacts>;
  /** Paid renewal invoices (Stripe invoice ids), sorted. */
  renewals: string[];
  checkoutExpired: boolean;
  cancelled: boolean;
  refunded: boolean;
  /** Largest cumulative refunded amount seen, in cents. */
  refundedCents: number;
}

export function initialFacts(recurring: boolean): PaymentFacts {
  return {
    recurring,
    attempts: {},
    renewals: [],
    checkoutExpired: false,
    cancelled: false,
    refunded: false,
    refundedCents: 0,
  };
}

export type AttemptResolution = "succeeded" | "failed" | "processing";

export function resolveAttempt(a: AttemptFacts): AttemptResolution | undefined {
  if (a.succeeded) return "succeeded";
  if (a.failed) return "failed";
  if (a.processing) return "processing";
  return undefined;
}

/** The status the facts add up to (precedence in the module comment). */
export function statusOf(facts: PaymentFacts): PaymentStatus {
  if (facts.refunded) return "refunded";
  if (facts.cancelled) return "cancelled";
  const resolutions = Object.values(facts.attempts).map(resolveAttempt);
  if (resolutions.includes("failed")) return "payment_failed";
  if (resolutions.includes("succeeded")) return "paid";
  if (resolutions.includes("processing")) return "payment_processing";
  if (facts.checkoutExpired) return "cancelled";
  return "pending_payment";
}

export type PaymentRejectionCode = "NOT_RECURRING" | "UNKNOWN_EVENT" | "INVALID_PAYLOAD";

export interface PaymentRejection {
  code: PaymentRejectionCode;
  message: string;
  /** The status the order stays in. */
  status: PaymentStatus;
  /** The event types this order accepts. */
  allowed: PaymentEventType[];
}

export type TransitionResult =
  | {
      ok: true;
      facts: PaymentFacts;
      previousStatus: PaymentStatus;
      status: PaymentStatus;
      /** A renewal cycle this event opened (its invoice id); absent when none. */
      cycleOpened?: string;
    }
  | { ok: false; rejection: PaymentRejection };

/** The event types an order accepts: all of them, except renewals on a one-time order. */
export function allowedEvents(facts: PaymentFacts): PaymentEventType[] {
  return PAYMENT_EVENT_TYPES.filter((t) => facts.recurring || t !== "renewal_paid");
}

function isEventType(type: string): type is PaymentEventType {
  return (PAYMENT_EVENT_TYPES as readonly string[]).includes(type);
}

function withAttempt(facts: PaymentFacts, attempt: string, mark: keyof AttemptFacts): PaymentFacts {
  const current = facts.attempts[attempt] ?? { processing: false, succeeded: false, failed: false };
  return { ...facts, attempts: { ...facts.attempts, [attempt]: { ...current, [mark]: true } } };
}

/**
 * Applies one event to the facts: either the new facts and status, or a typed rejection (the
 * facts unchanged). Idempotency by key is the caller's job (the machine's event log); applying
 * the same fact twice is harmless here anyway.
 */
export function applyPaymentEvent(facts: PaymentFacts, event: { type: string; payload: unknown }): TransitionResult {
  const previousStatus = statusOf(facts);
  const reject = (code: PaymentRejectionCode, message: string): TransitionResult => ({
    ok: false,
    rejection: { code, message, status: previousStatus, allowed: allowedEvents(facts) },
  });
  if (!isEventType(event.type)) return reject("UNKNOWN_EVENT", `"${event.type}" is not a payment event`);
  const parsed = PAYMENT_EVENT_PAYLOADS[event.type].safeParse(event.payload ?? {});
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join(".") || "(payload)"}: ${i.message}`).join("; ");
    return reject("INVALID_PAYLOAD", `${event.type}: ${why}`);
  }
  const payload = parsed.data as Record<string, unknown>;
  let next: PaymentFacts;
  let cycleOpened: string | undefined;
  switch (event.type) {
    case "payment_processing":
      next = withAttempt(facts, payload.attempt as string, "processing");
      break;
    case "payment_succeeded":
      next = withAttempt(facts, payload.attempt as string, "succeeded");
      break;
    case "payment_failed":
      next = withAttempt(facts, payload.attempt as string, "failed");
      break;
    case "renewal_paid": {
      if (!facts.recurring) {
        return reject("NOT_RECURRING", "a renewal was paid for an order whose service does not recur");
      }
      const invoiceId = payload.invoiceId as string;
      // A paid renewal invoice is also a succeeded payment attempt: a failure recorded for the
      // same invoice (Stripe retried it) is resolved by it.
      next = withAttempt(facts, invoiceId, "succeeded");
      if (!facts.renewals.includes(invoiceId)) {
        next = { ...next, renewals: [...facts.renewals, invoiceId].sort() };
        cycleOpened = invoiceId;
      }
      break;
    }
    case "checkout_expired":
      next = { ...facts, checkoutExpired: true };
      break;
    case "cancelled":
      next = { ...facts, cancelled: true };
      break;
    case "refund_partial":
      next = { ...facts, refundedCents: Math.max(facts.refundedCents, payload.amountRefundedCents as number) };
      break;
    case "refunded":
      next = {
        ...facts,
        refunded: true,
        refundedCents: Math.max(facts.refundedCents, (payload.amountRefundedCents as number | undefined) ?? 0),
      };
      break;
  }
  return {
    ok: true,
    facts: next,
    previousStatus,
    status: statusOf(next),
    ...(cycleOpened !== undefined ? { cycleOpened } : {}),
  };
}

/**
 * The facts of an event log, folded from the start. Rejected events are never in a log, so
 * this cannot fail on one; an entry that would be rejected now is skipped.
 */
export function foldPaymentEvents(
  recurring: boolean,
  events: Iterable<{ type: string; payload: unknown }>,
): PaymentFacts {
  let facts = initialFacts(recurring);
  for (const event of events) {
    const result = applyPaymentEvent(facts, event);
    if (result.ok) facts = result.facts;
  }
  return facts;
}
