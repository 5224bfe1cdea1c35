import { describe, expect, it } from "vitest";
import { ORDER_STATUSES } from "../../db/schema";
import { ORDER_STATUSES as DOMAIN_ORDER_STATUSES } from "../../domain/orders/order-status";
import {
  applyPaymentEvent,
  foldPaymentEvents,
  initialFacts,
  PAYMENT_EVENT_TYPES,
  PAYMENT_STATUSES,
  statusOf,
  type PaymentEventType,
  type PaymentFacts,
  type PaymentStatus,
} from "../../domain/orders/payment-state";

type Ev = { type: PaymentEventType; payload: Record<string, unknown> };

const ev = {
  processing: (attempt = "initial"): Ev => ({ type: "payment_processing", payload: { attempt } }),
  succeeded: (attempt = "initial"): Ev => ({ type: "payment_succeeded", payload: { attempt } }),
  failed: (attempt = "initial"): Ev => ({ type: "payment_failed", payload: { attempt } }),
  renewal: (invoiceId = "in_renewal"): Ev => ({ type: "renewal_paid", payload: { invoiceId } }),
  expired: (): Ev => ({ type: "checkout_expired", payload: {} }),
  cancelled: (): Ev => ({ type: "cancelled", payload: { reason: "subscription_deleted" } }),
  partial: (amountRefundedCents = 500): Ev => ({ type: "refund_partial", payload: { amountRefundedCents } }),
  refunded: (amountRefundedCents = 7900): Ev => ({ type: "refunded", payload: { amountRefundedCents } }),
};

/** One event of each type, about the order's own (initial) payment. */
const ONE_OF_EACH: Record<PaymentEventType, Ev> = {
  payment_processing: ev.processing(),
  payment_succeeded: ev.succeeded(),
  payment_failed: ev.failed(),
  renewal_paid: ev.renewal(),
  checkout_expired: ev.expired(),
  cancelled: ev.cancelled(),
  refund_partial: ev.partial(),
  refunded: ev.refunded(),
};

/** A representative history for each status (two for cancelled: its strong and weak kinds). */
const STATES: { label: string; status: PaymentStatus; history: Ev[] }[] = [
  { label: "pending_payment", status: "pending_payment", history: [] },
  { label: "payment_processing", status: "payment_processing", history: [ev.processing()] },
  { label: "paid", status: "paid", history: [ev.succeeded()] },
  { label: "payment_failed", status: "payment_failed", history: [ev.failed()] },
  { label: "cancelled (subscription)", status: "cancelled", history: [ev.succeeded(), ev.cancelled()] },
  { label: "cancelled (checkout expired)", status: "cancelled", history: [ev.expired()] },
  { label: "refunded", status: "refunded", history: [ev.succeeded(), ev.refunded()] },
];

const R = "REJECT NOT_RECURRING";

/**
 * Every status × event: the status it leads to, or the rejection. Columns in the order of
 * PAYMENT_EVENT_TYPES: processing, succeeded, failed, renewal_paid, checkout_expired,
 * cancelled, refund_partial, refunded.
 */
const RECURRING_TABLE: Record<string, (PaymentStatus | string)[]> = {
  pending_payment: [
    "payment_processing",
    "paid",
    "payment_failed",
    "paid",
    "cancelled",
    "cancelled",
    "pending_payment",
    "refunded",
  ],
  payment_processing: [
    "payment_processing",
    "paid",
    "payment_failed",
    "paid",
    "payment_processing",
    "cancelled",
    "payment_processing",
    "refunded",
  ],
  paid: ["paid", "paid", "paid", "paid", "paid", "cancelled", "paid", "refunded"],
  payment_failed: [
    "payment_failed",
    "paid",
    "payment_failed",
    "payment_failed",
    "payment_failed",
    "cancelled",
    "payment_failed",
    "refunded",
  ],
  "cancelled (subscription)": [
    "cancelled",
    "cancelled",
    "cancelled",
    "cancelled",
    "cancelled",
    "cancelled",
    "cancelled",
    "refunded",
  ],
  "cancelled (checkout expired)": [
    "payment_processing",
    "paid",
    "payment_failed",
    "paid",
    "cancelled",
    "cancelled",
    "cancelled",
    "refunded",
  ],
  refunded: ["refunded", "refunded", "refunded", "refunded", "refunded", "refunded", "refunded", "refunded"],
};

/** One-time orders: the same, except that a renewal is refused in every status. */
const ONE_TIME_TABLE: Record<string, (PaymentStatus | string)[]> = Object.fromEntries(
  Object.entries(RECURRING_TABLE).map(([label, row]) => [
    label,
    row.map((cell, i) => (PAYMENT_EVENT_TYPES[i] === "renewal_paid" ? R : cell)),
  ]),
);

function build(recurring: boolean, history: Ev[]): PaymentFacts {
  return foldPaymentEvents(recurring, history);
}

function outcome(facts: PaymentFacts, event: Ev): string {
  const result = applyPaymentEvent(facts, event);
  return result.ok ? result.status : `REJECT ${result.rejection.code}`;
}

describe("payment state: the transition table", () => {
  it("its statuses are among the orders table's (the order machine adds the lifecycle's)", () => {
    for (const status of PAYMENT_STATUSES) expect(ORDER_STATUSES).toContain(status);
    expect([...DOMAIN_ORDER_STATUSES]).toEqual([...ORDER_STATUSES]);
  });

  it("every representative history has the status it stands for", () => {
    for (const s of STATES) {
      expect(statusOf(build(true, s.history)), s.label).toBe(s.status);
      expect(statusOf(build(false, s.history)), s.label).toBe(s.status);
    }
    // Every status is represented.
    expect(new Set(STATES.map((s) => s.status))).toEqual(new Set(PAYMENT_STATUSES));
  });

  for (const [recurring, table] of [
    [true, RECURRING_TABLE],
    [false, ONE_TIME_TABLE],
  ] as const) {
    it(`every status × event pair is defined or rejected (${recurring ? "recurring" : "one-time"} order)`, () => {
      for (const s of STATES) {
        const facts = build(recurring, s.history);
        const row = PAYMENT_EVENT_TYPES.map((type) => outcome(facts, ONE_OF_EACH[type]));
        expect(row, s.label).toEqual(table[s.label]);
      }
    });
  }

  it("a rejection leaves the facts alone and names the status and the allowed events", () => {
    const facts = build(false, [ev.succeeded()]);
    const result = applyPaymentEvent(facts, ev.renewal("in_x"));
    expect(result).toEqual({
      ok: false,
      rejection: {
        code: "NOT_RECURRING",
        message: expect.any(String),
        status: "paid",
        allowed: PAYMENT_EVENT_TYPES.filter((t) => t !== "renewal_paid"),
      },
    });
    expect(facts).toEqual(build(false, [ev.succeeded()]));
  });

  it("unknown events and malformed payloads are typed rejections", () => {
    const facts = initialFacts(true);
    const unknown = applyPaymentEvent(facts, { type: "shipped", payload: {} });
    expect(unknown.ok ? undefined : unknown.rejection.code).toBe("UNKNOWN_EVENT");
    const bad = applyPaymentEvent(facts, { type: "refund_partial", payload: { amountRefundedCents: -5 } });
    expect(bad.ok ? undefined : bad.rejection.code).toBe("INVALID_PAYLOAD");
    const missing = applyPaymentEvent(facts, { type: "renewal_paid", payload: {} });
    expect(missing.ok ? undefined : missing.rejection.code).toBe("INVALID_PAYLOAD");
  });

  it("a renewal opens a cycle once per invoice", () => {
    const first = applyPaymentEvent(build(true, [ev.succeeded()]), ev.renewal("in_2"));
    expect(first.ok && first.cycleOpened).toBe("in_2");
    const again = first.ok ? applyPaymentEvent(first.facts, ev.renewal("in_2")) : undefined;
    expect(again?.ok && again.cycleOpened).toBeUndefined();
    expect(again?.ok && again.facts.renewals).toEqual(["in_2"]);
  });

  it("within one attempt: succeeded beats failed beats processing; across attempts an open failure shows", () => {
    expect(statusOf(build(true, [ev.processing(), ev.failed()]))).toBe("payment_failed");
    expect(statusOf(build(true, [ev.processing(), ev.succeeded()]))).toBe("paid");
    expect(statusOf(build(true, [ev.succeeded(), ev.failed("in_3")]))).toBe("payment_failed");
    expect(statusOf(build(true, [ev.succeeded(), ev.failed("in_3"), ev.renewal("in_3")]))).toBe("paid");
  });

  it("partial refunds record the largest cumulative amount and change no status", () => {
    const facts = build(false, [ev.succeeded(), ev.partial(800), ev.partial(300)]);
    expect(facts.refundedCents).toBe(800);
    expect(statusOf(facts)).toBe("paid");
    expect(statusOf(build(false, [ev.succeeded(), ev.partial(800), ev.refunded(7900)]))).toBe("refunded");
  });
});

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  const out: T[][] = [];
  items.forEach((item, i) => {
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) out.push([item, ...rest]);
  });
  return out;
}

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function assertOrderIndependent(recurring: boolean, set: Ev[]): PaymentStatus {
  const reference = build(recurring, set);
  for (const order of permutations(set)) {
    const facts = build(recurring, order);
    expect(facts, JSON.stringify(order.map((e) => [e.type, e.payload]))).toEqual(reference);
  }
  return statusOf(reference);
}

describe("payment state: arrival order does not matter", () => {
  it("named scenarios end in the same status in every order", () => {
    expect(
      assertOrderIndependent(true, [
        ev.processing(),
        ev.succeeded(),
        ev.renewal("in_2"),
        ev.renewal("in_3"),
        ev.partial(300),
        ev.partial(800),
      ]),
    ).toBe("paid");
    expect(assertOrderIndependent(true, [ev.processing(), ev.failed()])).toBe("payment_failed");
    expect(assertOrderIndependent(true, [ev.succeeded(), ev.failed("in_3"), ev.renewal("in_3")])).toBe("paid");
    expect(assertOrderIndependent(true, [ev.succeeded(), ev.failed("in_3"), ev.cancelled()])).toBe("cancelled");
    expect(assertOrderIndependent(false, [ev.expired(), ev.processing(), ev.succeeded()])).toBe("paid");
    expect(assertOrderIndependent(true, [ev.succeeded(), ev.renewal("in_2"), ev.cancelled(), ev.refunded()])).toBe(
      "refunded",
    );
    // A one-time order's refused renewal is refused in every position.
    expect(assertOrderIndependent(false, [ev.succeeded(), ev.renewal("in_2"), ev.partial(100)])).toBe("paid");
  });

  it("random fact sets of every event type end in the same facts and status in every order", () => {
    const random = prng(20261121);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const attempts = ["initial", "in_1", "in_2"];
    const make = (): Ev => {
      const type = pick(PAYMENT_EVENT_TYPES);
      switch (type) {
        case "payment_processing":
        case "payment_succeeded":
        case "payment_failed":
          return { type, payload: { attempt: pick(attempts) } };
        case "renewal_paid":
          return ev.renewal(pick(["in_1", "in_2", "in_3"]));
        case "refund_partial":
          return ev.partial(Math.floor(random() * 5000));
        case "refunded":
          return ev.refunded(Math.floor(random() * 9000));
        default:
          return ONE_OF_EACH[type];
      }
    };
    const seen = new Set<PaymentStatus>();
    for (let i = 0; i < 150; i++) {
      const size = 2 + Math.floor(random() * 5); // 2..6 events: up to 720 orders each
      const set = Array.from({ length: size }, make);
      seen.add(assertOrderIndependent(random() < 0.7, set));
    }
    // The sets were varied enough to reach every status.
    expect(seen).toEqual(new Set(PAYMENT_STATUSES));
  });
});
