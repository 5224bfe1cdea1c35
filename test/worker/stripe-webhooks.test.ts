import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { asc, eq } from "drizzle-orm";
import Stripe from "stripe";
import { describe, expect, inject, it } from "vitest";
import { ensureCustomer } from "../../db/customers";
import {
  adminTasks,
  alertsSent,
  checkouts,
  customers,
  discountRedemptions,
  discounts,
  orderEvents,
  orders,
  stripeEvents,
} from "../../db/schema";
import type { ApplyResult, MachineSnapshot } from "../../durable-objects/order-machine";
import { createApp } from "../../workers/app";
import { stripeCrypto } from "../../workers/payments/stripe-client";
import { testEnv, withTestDb } from "../support/db";
import { waitFor } from "../support/wait-for";

/** A paid order of a service whose intake is not given yet: the machine's first gate. */
const PAID = "awaiting_intake";

/**
 * POST /webhooks/stripe end to end: events shaped like Stripe's, signed with the SDK's test
 * header helper and the test secret, through the Worker's fetch, the fulfillment queue, the
 * consumer, the OrderMachine Durable Objects and the real Postgres; alerts at the capture
 * server, the customer nudge at the SMTP sink. Orders, checkouts and customers are seeded
 * directly (the checkout route is not this file's subject).
 */

const env = testEnv as typeof testEnv & { STRIPE_WEBHOOK_SECRET: string };
const SECRET = env.STRIPE_WEBHOOK_SECRET;
if (!SECRET) throw new Error("vitest.config.ts must bind STRIPE_WEBHOOK_SECRET for this file");

// ---------------------------------------------------------------------------------------------
// Seeding

/** Order numbers far above what the sequences hand out in a fresh database, unique per run. */
let serial = 900_000 + Math.floor(Math.random() * 50_000);
const number = (prefix: "CO" | "CK") => `${prefix}-2026-${String(serial++).padStart(6, "0")}`;
const uid = () => crypto.randomUUID().replace(/-/g, "").slice(0, 20);

interface SeedItem {
  slug: string;
  interval?: "none" | "month" | "year";
  totalCents?: number;
}

interface Seeded {
  email: string;
  customerId: number;
  checkout: typeof checkouts.$inferSelect;
  orders: (typeof orders.$inferSelect)[];
  sessionId: string;
  discountId?: number;
}

async function seed(
  items: SeedItem[],
  opts: { method?: "card" | "ach"; discount?: boolean; email?: string } = {},
): Promise<Seeded> {
  const email = opts.email ?? `buyer-${uid()}@customer.test`;
  const sessionId = `cs_test_${uid()}`;
  const recurring = items.some((i) => (i.interval ?? "none") !== "none");
  return await withTestDb(async (db) => {
    const customer = await ensureCustomer(db, { email, name: "Pat Buyer" });
    let discountId: number | undefined;
    if (opts.discount) {
      const [d] = await db
        .insert(discounts)
        .values({ code: `SAVE${uid().toUpperCase()}`, kind: "percent", value: 10, usageLimit: 5 })
        .returning();
      discountId = d!.id;
    }
    const [checkout] = await db
      .insert(checkouts)
      .values({
        number: number("CK"),
        customerId: customer.id,
        paymentMethod: opts.method ?? "card",
        mode: recurring ? "subscription" : "payment",
        discountId: discountId ?? null,
        totalCents: items.reduce((sum, i) => sum + (i.totalCents ?? 7900), 0),
        stripeSessionId: sessionId,
      })
      .returning();
    const rows = await db
      .insert(orders)
      .values(
        items.map((i) => ({
          number: number("CO"),
          checkoutId: checkout!.id,
          customerId: customer.id,
          serviceSlug: i.slug,
          billingInterval: i.interval ?? "none",
          lines: [{ kind: "service", slug: i.slug, cents: i.totalCents ?? 7900 }],
          totalCents: i.totalCents ?? 7900,
          paymentMethod: opts.method ?? "card",
        })),
      )
      .returning();
    if (discountId !== undefined) {
      await db
        .insert(discountRedemptions)
        .values({ discountId, checkoutId: checkout!.id, reservedUntil: new Date(Date.now() + 3_600_000) });
    }
    return { email, customerId: customer.id, checkout: checkout!, orders: rows, sessionId, discountId };
  });
}

// ---------------------------------------------------------------------------------------------
// Events shaped like Stripe's (https://docs.stripe.com/api/events/object)

/** Stripe's `created`, one second apart, so "earlier" is well defined between events. */
let clock = Math.floor(Date.now() / 1000) - 3600;

interface StripeEvent {
  id: string;
  object: "event";
  api_version: string;
  created: number;
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
  data: { object: Record<string, unknown> };
}

function stripeEvent(type: string, object: Record<string, unknown>): StripeEvent {
  return {
    id: `evt_${uid()}`,
    object: "event",
    api_version: "2025-03-31.basil",
    created: clock++,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  };
}

function session(
  s: Seeded,
  opts: {
    paymentStatus?: "paid" | "unpaid" | "no_payment_required";
    subscription?: string;
    paymentIntent?: string;
    customer?: string;
    methods?: string[];
  } = {},
) {
  const several = s.orders.length > 1;
  return {
    id: s.sessionId,
    object: "checkout.session",
    client_reference_id: several ? s.checkout.number : s.orders[0]!.number,
    metadata: several
      ? { order_numbers: s.orders.map((o) => o.number).join(",") }
      : { order_number: s.orders[0]!.number },
    mode: s.checkout.mode,
    status: "complete",
    payment_status: opts.paymentStatus ?? "paid",
    amount_total: s.checkout.totalCents,
    currency: "usd",
    customer: opts.customer ?? null,
    subscription: opts.subscription ?? null,
    payment_intent: opts.paymentIntent ?? null,
    payment_method_types: opts.methods ?? ["card"],
  };
}

/** An invoice in the basil shape (`parent.subscription_details`) or the older one (`subscription`). */
function invoice(opts: {
  id?: string;
  subscription: string;
  billingReason: "subscription_create" | "subscription_cycle";
  shape?: "basil" | "legacy";
  orderNumber?: string;
  attemptCount?: number;
  amount?: number;
  paymentIntent?: string;
}) {
  const id = opts.id ?? `in_${uid()}`;
  const meta = opts.orderNumber ? { order_number: opts.orderNumber } : {};
  const common = {
    id,
    object: "invoice",
    billing_reason: opts.billingReason,
    amount_due: opts.amount ?? 7900,
    amount_paid: opts.attemptCount ? 0 : (opts.amount ?? 7900),
    currency: "usd",
    attempt_count: opts.attemptCount ?? 1,
    customer: "cus_sub",
    hosted_invoice_url: `https://invoice.stripe.test/${id}`,
    next_payment_attempt: opts.attemptCount ? clock + 3 * 86_400 : null,
    period_start: clock - 30 * 86_400,
    period_end: clock,
    metadata: {},
  };
  return opts.shape === "legacy"
    ? {
        ...common,
        subscription: opts.subscription,
        subscription_details: { metadata: meta },
        payment_intent: opts.paymentIntent ?? null,
      }
    : {
        ...common,
        parent: {
          type: "subscription_details",
          subscription_details: { subscription: opts.subscription, metadata: meta },
        },
      };
}

function charge(opts: { paymentIntent: string; amount: number; refunded: number; metadata?: Record<string, string> }) {
  return {
    id: `ch_${uid()}`,
    object: "charge",
    amount: opts.amount,
    amount_refunded: opts.refunded,
    refunded: opts.refunded >= opts.amount,
    currency: "usd",
    payment_intent: opts.paymentIntent,
    metadata: opts.metadata ?? {},
  };
}

// ---------------------------------------------------------------------------------------------
// Delivery and observation

async function sign(payload: string, opts: { secret?: string; timestamp?: number } = {}) {
  return await Stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: opts.secret ?? SECRET,
    cryptoProvider: stripeCrypto,
    ...(opts.timestamp !== undefined ? { timestamp: opts.timestamp } : {}),
  });
}

async function post(body: string, signature: string | null) {
  const headers = new Headers({ "content-type": "application/json; charset=utf-8" });
  if (signature !== null) headers.set("stripe-signature", signature);
  return await exports.default.fetch(
    new Request("http://docket.test/webhooks/stripe", { method: "POST", headers, body }),
  );
}

/** Posts a signed event and waits until the consumer has processed it. */
async function deliver(event: StripeEvent) {
  const body = JSON.stringify(event);
  const res = await post(body, await sign(body));
  expect(res.status, await res.clone().text()).toBe(200);
  return await processed(event.id);
}

async function processed(eventId: string) {
  return await waitFor(
    () =>
      withTestDb(async (db) => {
        const [row] = await db.select().from(stripeEvents).where(eq(stripeEvents.eventId, eventId));
        return row?.processedAt ? row : undefined;
      }),
    20_000,
    `stripe event ${eventId} to be processed`,
  );
}

async function orderRow(orderNumber: string) {
  return await withTestDb(async (db) => (await db.select().from(orders).where(eq(orders.number, orderNumber)))[0]!);
}

async function eventsOf(orderNumber: string) {
  return await withTestDb(async (db) => {
    const [order] = await db.select({ id: orders.id }).from(orders).where(eq(orders.number, orderNumber));
    return await db.select().from(orderEvents).where(eq(orderEvents.orderId, order!.id)).orderBy(asc(orderEvents.id));
  });
}

const machine = (orderNumber: string) => {
  const stub = testEnv.ORDER_MACHINE.get(testEnv.ORDER_MACHINE.idFromName(orderNumber));
  return {
    apply: async (...args: Parameters<typeof stub.apply>) => (await stub.apply(...args)) as ApplyResult,
    snapshot: async () => (await stub.snapshot()) as unknown as MachineSnapshot | null,
  };
};

/** Lets a little time pass for anything a replay might (wrongly) have set off. */
const settle = () => new Promise((r) => setTimeout(r, 1500));

interface Captured {
  path: string;
  body: unknown;
}
async function alertsAt(rule: string, subject?: string) {
  const all = (await (await fetch(`${inject("capture").url}/__captured`)).json()) as Captured[];
  return all
    .filter((r) => r.path === "/webhook/alerts")
    .map((r) => r.body as { rule: string; subject: string; windowKey: string; title: string; body: string })
    .filter((a) => a.rule === rule && (subject === undefined || a.subject === subject));
}

interface SinkMessage {
  id: string;
  envelope: { from: string; to: string[] };
  subject: string | null;
}
/** Payment-failure nudges sent to `address` (receipts for the first payment are other mail). */
async function mailTo(address: string) {
  const { httpPort } = inject("smtp");
  const all = (await (await fetch(`http://127.0.0.1:${httpPort}/messages`)).json()) as SinkMessage[];
  return all.filter((m) => m.envelope.to.includes(address) && (m.subject ?? "").includes("did not go through"));
}
async function rawMessage(id: string) {
  const { httpPort } = inject("smtp");
  return await (await fetch(`http://127.0.0.1:${httpPort}/messages/${id}/raw`)).text();
}

// ---------------------------------------------------------------------------------------------

describe("POST /webhooks/stripe: verification", () => {
  it("a missing, forged, tampered or stale signature is 400 and nothing is recorded", async () => {
    const s = await seed([{ slug: "mcs150-update" }]);
    const event = stripeEvent("checkout.session.completed", session(s));
    const body = JSON.stringify(event);

    const attempts = [
      await post(body, null),
      await post(body, await sign(body, { secret: "whsec_someone_else_0000000000000000" })),
      await post(body.replace('"paid"', '"unpaid"'), await sign(body)),
      await post(body, await sign(body, { timestamp: Math.floor(Date.now() / 1000) - 600 })),
      await post(body, "t=123,v1=deadbeef"),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: "INVALID_SIGNATURE" });
    }
    await settle();
    const recorded = await withTestDb((db) => db.select().from(stripeEvents).where(eq(stripeEvents.eventId, event.id)));
    expect(recorded).toEqual([]);
    expect((await orderRow(s.orders[0]!.number)).status).toBe("pending_payment");
  });
});

describe("POST /webhooks/stripe: checkout sessions", () => {
  it("a paid session pays the order, records Stripe's ids, completes the checkout; a replay does nothing", async () => {
    const s = await seed([{ slug: "mcs150-update" }]);
    const orderNumber = s.orders[0]!.number;
    const event = stripeEvent(
      "checkout.session.completed",
      session(s, { paymentIntent: `pi_${uid()}`, customer: `cus_${uid()}` }),
    );
    const row = await deliver(event);
    expect(row).toMatchObject({ type: "checkout.session.completed", outcome: "applied", error: null });

    const order = await orderRow(orderNumber);
    expect(order.status).toBe(PAID);
    expect(order.stripePaymentIntentId).toBe(event.data.object.payment_intent);
    await withTestDb(async (db) => {
      expect((await db.select().from(checkouts).where(eq(checkouts.id, s.checkout.id)))[0]?.status).toBe("completed");
      expect((await db.select().from(customers).where(eq(customers.id, s.customerId)))[0]?.stripeCustomerId).toBe(
        event.data.object.customer,
      );
    });
    const events = await eventsOf(orderNumber);
    expect(events).toEqual([
      expect.objectContaining({
        type: "payment_succeeded",
        idempotencyKey: `stripe:${event.id}`,
        fromStatus: "pending_payment",
        toStatus: PAID,
        occurredAt: new Date(event.created * 1000),
      }),
    ]);

    // The same delivery again: 200, recognised, and no second transition anywhere.
    const body = JSON.stringify(event);
    const replay = await post(body, await sign(body));
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ received: true, eventId: event.id, duplicate: true });
    await settle();
    expect(await eventsOf(orderNumber)).toHaveLength(1);
    expect((await machine(orderNumber).snapshot())?.events).toHaveLength(1);
    // And the machine itself treats a seen key as a no-op returning the current status.
    expect(
      await machine(orderNumber).apply(orderNumber, {
        type: "payment_failed",
        key: `stripe:${event.id}`,
        at: new Date().toISOString(),
        payload: {},
      }),
    ).toEqual({ outcome: "duplicate", orderNumber, status: PAID, paymentStatus: "paid" });
  });

  it("a checkout of several orders (client_reference_id = checkout number) pays each of them", async () => {
    const s = await seed([{ slug: "ucr-registration" }, { slug: "boc-3" }, { slug: "mcs150-update" }]);
    await deliver(stripeEvent("checkout.session.completed", session(s, { paymentIntent: `pi_${uid()}` })));
    for (const o of s.orders) {
      expect((await orderRow(o.number)).status).toBe(PAID);
      expect(await eventsOf(o.number)).toHaveLength(1);
    }
  });

  it("ACH: pending, then succeeded", async () => {
    const s = await seed([{ slug: "ucr-registration" }], { method: "ach", discount: true });
    const orderNumber = s.orders[0]!.number;
    const pending = await deliver(
      stripeEvent(
        "checkout.session.completed",
        session(s, { paymentStatus: "unpaid", paymentIntent: `pi_${uid()}`, methods: ["us_bank_account"] }),
      ),
    );
    expect(pending.outcome).toBe("applied");
    expect((await orderRow(orderNumber)).status).toBe("payment_processing");
    // Not paid yet: the discount is still only reserved.
    await withTestDb(async (db) => {
      expect((await db.select().from(discounts).where(eq(discounts.id, s.discountId!)))[0]?.uses).toBe(0);
    });

    await deliver(
      stripeEvent("checkout.session.async_payment_succeeded", session(s, { methods: ["us_bank_account"] })),
    );
    expect((await orderRow(orderNumber)).status).toBe(PAID);
    expect((await eventsOf(orderNumber)).map((e) => [e.type, e.fromStatus, e.toStatus])).toEqual([
      ["payment_processing", "pending_payment", "payment_processing"],
      ["payment_succeeded", "payment_processing", PAID],
    ]);
    await withTestDb(async (db) => {
      expect((await db.select().from(discounts).where(eq(discounts.id, s.discountId!)))[0]?.uses).toBe(1);
    });
  });

  it("ACH: pending, then failed; the discount reservation is given back", async () => {
    const s = await seed([{ slug: "ucr-registration" }], { method: "ach", discount: true });
    const orderNumber = s.orders[0]!.number;
    await deliver(
      stripeEvent("checkout.session.completed", session(s, { paymentStatus: "unpaid", methods: ["us_bank_account"] })),
    );
    await deliver(
      stripeEvent(
        "checkout.session.async_payment_failed",
        session(s, { paymentStatus: "unpaid", methods: ["us_bank_account"] }),
      ),
    );
    expect((await orderRow(orderNumber)).status).toBe("payment_failed");
    expect((await eventsOf(orderNumber)).map((e) => e.toStatus)).toEqual(["payment_processing", "payment_failed"]);
    await withTestDb(async (db) => {
      expect(
        (await db.select().from(discountRedemptions).where(eq(discountRedemptions.checkoutId, s.checkout.id)))[0]
          ?.status,
      ).toBe("released");
      expect((await db.select().from(discounts).where(eq(discounts.id, s.discountId!)))[0]?.uses).toBe(0);
    });
  });

  it("an expired session cancels the unpaid order, expires the checkout and releases the discount", async () => {
    const s = await seed([{ slug: "boc-3" }], { discount: true });
    const orderNumber = s.orders[0]!.number;
    const row = await deliver(
      stripeEvent("checkout.session.expired", { ...session(s, { paymentStatus: "unpaid" }), status: "expired" }),
    );
    expect(row.outcome).toBe("applied");
    expect((await orderRow(orderNumber)).status).toBe("cancelled");
    await withTestDb(async (db) => {
      expect((await db.select().from(checkouts).where(eq(checkouts.id, s.checkout.id)))[0]?.status).toBe("expired");
      expect(
        (await db.select().from(discountRedemptions).where(eq(discountRedemptions.checkoutId, s.checkout.id)))[0]
          ?.status,
      ).toBe("released");
    });
    expect((await eventsOf(orderNumber)).map((e) => [e.type, e.toStatus])).toEqual([["checkout_expired", "cancelled"]]);
  });

  it("the discount is counted once, however often and by however many events the payment is reported", async () => {
    const s = await seed([{ slug: "oig-sam-screening", interval: "month" }], { discount: true });
    const subscription = `sub_${uid()}`;
    const completed = stripeEvent("checkout.session.completed", session(s, { subscription }));
    await deliver(completed);
    // The same event replayed, and then the first invoice reporting the same payment.
    const body = JSON.stringify(completed);
    expect((await post(body, await sign(body))).status).toBe(200);
    await deliver(stripeEvent("invoice.paid", invoice({ subscription, billingReason: "subscription_create" })));
    await settle();
    await withTestDb(async (db) => {
      expect((await db.select().from(discounts).where(eq(discounts.id, s.discountId!)))[0]?.uses).toBe(1);
      const [redemption] = await db
        .select()
        .from(discountRedemptions)
        .where(eq(discountRedemptions.checkoutId, s.checkout.id));
      expect(redemption).toMatchObject({ status: "redeemed", redeemedAt: expect.any(Date) });
    });
  });
});

describe("POST /webhooks/stripe: subscriptions", () => {
  it("the first invoice opens no cycle; each renewal invoice opens exactly one, in either field shape", async () => {
    const s = await seed([{ slug: "oig-sam-screening", interval: "month" }]);
    const orderNumber = s.orders[0]!.number;
    const subscription = `sub_${uid()}`;
    await deliver(stripeEvent("checkout.session.completed", session(s, { subscription, customer: `cus_${uid()}` })));
    expect((await orderRow(orderNumber)).stripeSubscriptionId).toBe(subscription);

    // The first invoice, in the pre-basil shape (`invoice.subscription`): the checkout's payment.
    const first = await deliver(
      stripeEvent("invoice.paid", invoice({ subscription, billingReason: "subscription_create", shape: "legacy" })),
    );
    expect(first.outcome).toBe("applied");
    // Two renewals, one in each shape.
    const renewal2 = stripeEvent(
      "invoice.paid",
      invoice({ subscription, billingReason: "subscription_cycle", shape: "basil" }),
    );
    const renewal3 = stripeEvent(
      "invoice.paid",
      invoice({ subscription, billingReason: "subscription_cycle", shape: "legacy" }),
    );
    await deliver(renewal2);
    await deliver(renewal3);
    // The same renewal again, under the same event id and under a new one: no further cycle.
    const body = JSON.stringify(renewal3);
    expect((await post(body, await sign(body))).status).toBe(200);
    const again = await deliver(stripeEvent("invoice.paid", renewal3.data.object));
    expect(again.outcome).toBe("duplicate");

    const events = await eventsOf(orderNumber);
    expect(events.map((e) => e.type)).toEqual([
      "payment_succeeded",
      "payment_succeeded",
      "renewal_paid",
      "renewal_paid",
    ]);
    const cycles = events.filter((e) => e.type === "renewal_paid");
    expect(cycles.map((e) => e.idempotencyKey)).toEqual([
      `cycle:${renewal2.data.object.id}`,
      `cycle:${renewal3.data.object.id}`,
    ]);
    expect(cycles[0]?.payload).toMatchObject({
      invoiceId: renewal2.data.object.id,
      subscriptionId: subscription,
      amountPaidCents: 7900,
    });
    expect((await orderRow(orderNumber)).status).toBe(PAID);
    expect((await machine(orderNumber).snapshot())?.state.facts.renewals.sort()).toEqual(
      [renewal2.data.object.id as string, renewal3.data.object.id as string].sort(),
    );
  });

  it("a renewal of a one-time order is rejected by the machine and recorded as the outcome, not a crash", async () => {
    const s = await seed([{ slug: "boc-3" }]);
    const orderNumber = s.orders[0]!.number;
    await deliver(stripeEvent("checkout.session.completed", session(s)));
    const event = stripeEvent(
      "invoice.paid",
      invoice({ subscription: `sub_${uid()}`, billingReason: "subscription_cycle", orderNumber }),
    );
    const row = await deliver(event);
    expect(row.outcome).toBe("rejected");
    expect(row.error).toContain(`${orderNumber}: NOT_RECURRING`);
    expect((await orderRow(orderNumber)).status).toBe(PAID);
    expect((await eventsOf(orderNumber)).map((e) => e.type)).toEqual(["payment_succeeded"]);
    expect(await alertsAt("stripe-event-rejected", event.id)).toHaveLength(1);
  });

  it("repeated invoice.payment_failed: an alert every time, one customer nudge; paying the invoice restores paid", async () => {
    const s = await seed([{ slug: "oig-sam-screening", interval: "month" }]);
    const orderNumber = s.orders[0]!.number;
    const subscription = `sub_${uid()}`;
    await deliver(stripeEvent("checkout.session.completed", session(s, { subscription })));

    const invoiceId = `in_${uid()}`;
    const failures = [1, 2, 3].map((attemptCount) =>
      stripeEvent(
        "invoice.payment_failed",
        invoice({ id: invoiceId, subscription, billingReason: "subscription_cycle", attemptCount }),
      ),
    );
    for (const f of failures) await deliver(f);
    // A replayed failure is not a new failure.
    const body = JSON.stringify(failures[1]);
    expect((await post(body, await sign(body))).status).toBe(200);
    await settle();

    expect((await orderRow(orderNumber)).status).toBe("payment_failed");
    const alerts = await alertsAt("stripe-payment-failed", invoiceId);
    expect(alerts.map((a) => a.windowKey).sort()).toEqual(failures.map((f) => f.id).sort());
    expect(alerts.find((a) => a.windowKey === failures[2]!.id)?.title).toBe(
      `Payment failed for ${orderNumber} (attempt 3)`,
    );

    const nudges = await mailTo(s.email);
    expect(nudges).toHaveLength(1);
    expect(nudges[0]?.subject).toBe(
      "Your payment for OIG/SAM Exclusion Screening (Monthly Monitoring) did not go through",
    );
    const raw = await rawMessage(nudges[0]!.id);
    expect(raw).toMatch(new RegExp(`Message-ID: <payment-failed\\.${invoiceId}@send\\.docket\\.test>`, "i"));
    expect(raw).toContain(`https://invoice.stripe.test/${invoiceId}`);
    expect(raw).toContain("Content-Type: text/plain");

    // Stripe's retry succeeds: the same invoice paid resolves the failure.
    await deliver(
      stripeEvent("invoice.paid", invoice({ id: invoiceId, subscription, billingReason: "subscription_cycle" })),
    );
    expect((await orderRow(orderNumber)).status).toBe(PAID);
    expect((await eventsOf(orderNumber)).map((e) => e.toStatus)).toEqual([
      PAID,
      "payment_failed",
      "payment_failed",
      "payment_failed",
      PAID,
    ]);
  });

  it("when the first failure's event never came, the earliest one that did nudges, and only it", async () => {
    const s = await seed([{ slug: "oig-sam-screening", interval: "month" }]);
    const subscription = `sub_${uid()}`;
    await deliver(stripeEvent("checkout.session.completed", session(s, { subscription })));
    const invoiceId = `in_${uid()}`;
    for (const attemptCount of [2, 3]) {
      await deliver(
        stripeEvent(
          "invoice.payment_failed",
          invoice({ id: invoiceId, subscription, billingReason: "subscription_cycle", attemptCount }),
        ),
      );
    }
    expect(await mailTo(s.email)).toHaveLength(1);
    expect(await alertsAt("stripe-payment-failed", invoiceId)).toHaveLength(2);
  });

  it("customer.subscription.deleted cancels the subscription's order", async () => {
    const s = await seed([{ slug: "oig-sam-screening", interval: "month" }]);
    const orderNumber = s.orders[0]!.number;
    const subscription = `sub_${uid()}`;
    await deliver(stripeEvent("checkout.session.completed", session(s, { subscription })));
    await deliver(
      stripeEvent("customer.subscription.deleted", {
        id: subscription,
        object: "subscription",
        status: "canceled",
        customer: "cus_x",
        metadata: {},
      }),
    );
    expect((await orderRow(orderNumber)).status).toBe("cancelled");
    expect((await eventsOf(orderNumber)).at(-1)).toMatchObject({
      type: "cancelled",
      fromStatus: PAID,
      toStatus: "cancelled",
    });
  });
});

describe("POST /webhooks/stripe: refunds", () => {
  it("a partial refund records the amount and keeps the order paid; the full refund makes it refunded", async () => {
    const s = await seed([{ slug: "ucr-registration", totalCents: 14_900 }]);
    const orderNumber = s.orders[0]!.number;
    const paymentIntent = `pi_${uid()}`;
    await deliver(stripeEvent("checkout.session.completed", session(s, { paymentIntent })));

    await deliver(stripeEvent("charge.refunded", charge({ paymentIntent, amount: 14_900, refunded: 5_000 })));
    expect((await orderRow(orderNumber)).status).toBe(PAID);
    expect((await eventsOf(orderNumber)).at(-1)).toMatchObject({
      type: "refund_partial",
      fromStatus: PAID,
      toStatus: PAID,
      payload: expect.objectContaining({ amountRefundedCents: 5_000, amountCents: 14_900 }),
    });
    expect((await machine(orderNumber).snapshot())?.state.facts.refundedCents).toBe(5_000);

    await deliver(stripeEvent("charge.refunded", charge({ paymentIntent, amount: 14_900, refunded: 14_900 })));
    expect((await orderRow(orderNumber)).status).toBe("refunded");
    expect((await machine(orderNumber).snapshot())?.state.facts.refundedCents).toBe(14_900);
  });
});

describe("POST /webhooks/stripe: out of order", () => {
  async function timeline(orderNumber: string) {
    const snapshot = await machine(orderNumber).snapshot();
    const events = await eventsOf(orderNumber);
    return {
      status: (await orderRow(orderNumber)).status,
      machineStatus: snapshot?.status,
      types: events.map((e) => e.type).sort(),
      facts: snapshot?.state.facts,
    };
  }

  it("a renewal invoice before its checkout.session.completed ends as in order", async () => {
    const inOrder = await seed([{ slug: "oig-sam-screening", interval: "month" }]);
    const reversed = await seed([{ slug: "oig-sam-screening", interval: "month" }]);
    const events = (s: Seeded) => {
      const subscription = `sub_${uid()}`;
      return [
        stripeEvent("checkout.session.completed", session(s, { subscription })),
        // The invoice names its order through the subscription's metadata (subscription_data.metadata).
        stripeEvent(
          "invoice.paid",
          invoice({
            id: "in_renewal_1",
            subscription,
            billingReason: "subscription_cycle",
            orderNumber: s.orders[0]!.number,
          }),
        ),
      ];
    };
    for (const e of events(inOrder)) await deliver(e);
    for (const e of events(reversed).reverse()) await deliver(e);

    const a = await timeline(inOrder.orders[0]!.number);
    const b = await timeline(reversed.orders[0]!.number);
    expect(a).toMatchObject({ status: PAID, machineStatus: PAID, types: ["payment_succeeded", "renewal_paid"] });
    expect(b).toEqual(a);
    expect((await orderRow(reversed.orders[0]!.number)).stripeSubscriptionId).not.toBeNull();
  });

  it("a refund before its checkout.session.completed ends as in order (the early refund is adopted)", async () => {
    const inOrder = await seed([{ slug: "mcs150-update" }]);
    const reversed = await seed([{ slug: "mcs150-update" }]);
    const events = (s: Seeded) => {
      const paymentIntent = `pi_${uid()}`;
      return [
        stripeEvent("checkout.session.completed", session(s, { paymentIntent })),
        stripeEvent("charge.refunded", charge({ paymentIntent, amount: 7900, refunded: 7900 })),
      ];
    };
    for (const e of events(inOrder)) await deliver(e);
    const [completed, refund] = events(reversed);
    // The refund first names a payment intent no order carries yet: unknown for now.
    expect((await deliver(refund!)).outcome).toBe("unknown_order");
    await deliver(completed!);
    // The session links the payment intent; the waiting refund is applied and its task closed.
    const adopted = await waitFor(
      () =>
        withTestDb(async (db) => {
          const [row] = await db.select().from(stripeEvents).where(eq(stripeEvents.eventId, refund!.id));
          return row?.processedAt && row.outcome === "applied" ? row : undefined;
        }),
      20_000,
      "the early refund to be adopted",
    );
    expect(adopted.outcome).toBe("applied");
    const [task] = await withTestDb((db) =>
      db
        .select()
        .from(adminTasks)
        .where(eq(adminTasks.dedupeKey, `stripe-event:${refund!.id}`)),
    );
    expect(task).toMatchObject({ status: "done", doneAt: expect.any(Date) });

    const a = await timeline(inOrder.orders[0]!.number);
    const b = await timeline(reversed.orders[0]!.number);
    expect(a).toMatchObject({ status: "refunded", types: ["payment_succeeded", "refunded"] });
    expect(b).toEqual(a);
  });

  it("ACH failure before its pending notice ends as in order", async () => {
    const inOrder = await seed([{ slug: "ucr-registration" }], { method: "ach" });
    const reversed = await seed([{ slug: "ucr-registration" }], { method: "ach" });
    const events = (s: Seeded) => [
      stripeEvent("checkout.session.completed", session(s, { paymentStatus: "unpaid", methods: ["us_bank_account"] })),
      stripeEvent(
        "checkout.session.async_payment_failed",
        session(s, { paymentStatus: "unpaid", methods: ["us_bank_account"] }),
      ),
    ];
    for (const e of events(inOrder)) await deliver(e);
    for (const e of events(reversed).reverse()) await deliver(e);
    const a = await timeline(inOrder.orders[0]!.number);
    expect(a.status).toBe("payment_failed");
    expect(await timeline(reversed.orders[0]!.number)).toEqual(a);
  });
});

describe("POST /webhooks/stripe: the unexpected", () => {
  it("an event for an unknown order: 200, recorded, an admin task and an alert", async () => {
    const event = stripeEvent("checkout.session.completed", {
      id: `cs_test_${uid()}`,
      object: "checkout.session",
      client_reference_id: "CO-2026-999999999",
      metadata: {},
      payment_status: "paid",
      payment_intent: `pi_${uid()}`,
    });
    const row = await deliver(event);
    expect(row.outcome).toBe("unknown_order");
    const [task] = await withTestDb((db) =>
      db
        .select()
        .from(adminTasks)
        .where(eq(adminTasks.dedupeKey, `stripe-event:${event.id}`)),
    );
    expect(task).toMatchObject({ kind: "stripe_unknown_order", status: "open" });
    expect(task?.detail).toMatchObject({ eventId: event.id, type: "checkout.session.completed" });
    const alerts = await alertsAt("stripe-unknown-order", event.id);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.body).toContain("client_reference_id CO-2026-999999999");
    const [claimed] = await withTestDb((db) => db.select().from(alertsSent).where(eq(alertsSent.subject, event.id)));
    expect(claimed?.deliveries).toMatchObject({ webhook: "sent" });
  });

  it("an event type Docket does not act on: 200, recorded as ignored", async () => {
    const event = stripeEvent("customer.created", { id: `cus_${uid()}`, object: "customer" });
    const row = await deliver(event);
    expect(row).toMatchObject({ type: "customer.created", outcome: "ignored" });
  });

  it("a handled event in a shape Docket cannot read: 200, recorded as invalid, alerted, no order touched", async () => {
    const s = await seed([{ slug: "boc-3" }]);
    const event = stripeEvent("checkout.session.completed", { ...session(s), payment_status: "settled_somehow" });
    const row = await deliver(event);
    expect(row.outcome).toBe("invalid");
    expect(row.error).toContain("payment_status");
    expect(await alertsAt("stripe-event-invalid", event.id)).toHaveLength(1);
    expect((await orderRow(s.orders[0]!.number)).status).toBe("pending_payment");
    expect(await eventsOf(s.orders[0]!.number)).toEqual([]);
  });

  it("an event whose enqueue fails answers 500; Stripe's redelivery enqueues it again and it is applied", async () => {
    const s = await seed([{ slug: "boc-3" }]);
    const event = stripeEvent("checkout.session.completed", session(s));
    const body = JSON.stringify(event);
    const broken = {
      ...testEnv,
      FULFILLMENT_QUEUE: {
        send: () => Promise.reject(new Error("queue unavailable")),
        sendBatch: () => Promise.reject(new Error("queue unavailable")),
      },
    } as unknown as typeof testEnv;
    const ctx = createExecutionContext();
    const res = await createApp().fetch(
      new Request("http://docket.test/webhooks/stripe", {
        method: "POST",
        headers: { "content-type": "application/json", "stripe-signature": await sign(body) },
        body,
      }),
      broken,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: "ENQUEUE_FAILED" });
    const [recorded] = await withTestDb((db) =>
      db.select().from(stripeEvents).where(eq(stripeEvents.eventId, event.id)),
    );
    expect(recorded).toMatchObject({ processedAt: null, outcome: null });

    const again = await post(body, await sign(body));
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ received: true, eventId: event.id, duplicate: true, requeued: true });
    expect((await processed(event.id)).outcome).toBe("applied");
    expect((await orderRow(s.orders[0]!.number)).status).toBe(PAID);
  });

  it("after everything above: one order_event per order and key, every event processed", async () => {
    const dupes = await withTestDb(async (db) => {
      const rows = await db.select({ orderId: orderEvents.orderId, key: orderEvents.idempotencyKey }).from(orderEvents);
      const seen = new Set<string>();
      return rows.filter((r) => {
        const k = `${r.orderId} ${r.key}`;
        if (seen.has(k)) return true;
        seen.add(k);
        return false;
      });
    });
    expect(dupes).toEqual([]);
    // Every Stripe event delivered in this file ended processed, with one of the known outcomes.
    const rows = await withTestDb((db) => db.select().from(stripeEvents));
    expect(rows.filter((r) => r.processedAt === null)).toEqual([]);
    expect(new Set(rows.map((r) => r.outcome))).toEqual(
      new Set(["applied", "duplicate", "rejected", "ignored", "unknown_order", "invalid"]),
    );
  });
});
