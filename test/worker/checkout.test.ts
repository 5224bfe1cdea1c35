import { eq, inArray } from "drizzle-orm";
import { exports } from "cloudflare:workers";
import Stripe from "stripe";
import { describe, expect, inject, it } from "vitest";
import { checkouts, customers, discounts, orders } from "../../db/schema";
import { getService } from "../../domain/catalog/services";
import { testEnv, withTestDb } from "../support/db";
import { relayEvent, simAndRelay, stripeFake } from "../support/fake-stripe";
import { waitFor } from "../support/wait-for";
import { isPaidStatus } from "../../domain/orders/order-status";

const checkout = (body: unknown) =>
  exports.default.fetch(
    new Request("http://docket.test/api/checkout", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );

const stripe = () => {
  const base = new URL(stripeFake().url);
  return new Stripe(stripeFake().secretKey, {
    httpClient: Stripe.createFetchHttpClient(),
    host: base.hostname,
    port: Number(base.port),
    protocol: "http",
  });
};

interface Created {
  orderNumbers: string[];
  checkoutNumber: string;
  checkoutUrl: string;
  sessionId: string;
  totals: { subtotalCents: number; discountCents: number; surchargeCents: number; totalCents: number };
}

const ucr = getService("ucr-registration")!;
const oig = getService("oig-sam-screening")!;

describe("POST /api/checkout", () => {
  it("creates the customer, the order and a payment-mode session priced from the catalog, with a card surcharge line", async () => {
    const res = await checkout({
      items: [{ slug: "ucr-registration" }],
      customer: { email: "Owner@Carrier.test", name: "Pat Owner", company: "Carrier LLC" },
      paymentMethod: "card",
      attribution: { utm_source: "newsletter", utm_campaign: "ucr-2027" },
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Created;
    expect(body.orderNumbers).toHaveLength(1);
    expect(body.orderNumbers[0]).toMatch(/^CO-\d{4}-\d{6}$/);
    expect(body.checkoutUrl).toMatch(/\/checkout\/cs_test_/);
    const surcharge = Math.floor((ucr.priceCents * testEnv_bps("card") + 5000) / 10000);
    expect(body.totals).toEqual({
      subtotalCents: ucr.priceCents,
      discountCents: 0,
      surchargeCents: surcharge,
      totalCents: ucr.priceCents + surcharge,
    });

    const session = await stripe().checkout.sessions.retrieve(body.sessionId, { expand: ["line_items"] });
    expect(session).toMatchObject({
      mode: "payment",
      client_reference_id: body.orderNumbers[0],
      customer_email: "owner@carrier.test",
      amount_total: ucr.priceCents + surcharge,
      metadata: { checkout_number: body.checkoutNumber, order_numbers: body.orderNumbers[0] },
    });
    expect(session.allowed_payment_method_types).toEqual(["card"]);
    expect(session.line_items?.data.map((l) => l.amount_total)).toEqual([ucr.priceCents, surcharge]);

    const [order] = await withTestDb((db) => db.select().from(orders).where(eq(orders.number, body.orderNumbers[0]!)));
    expect(order).toMatchObject({
      serviceSlug: "ucr-registration",
      status: "pending_payment",
      totalCents: ucr.priceCents + surcharge,
      paymentMethod: "card",
      attribution: { utm_source: "newsletter" },
    });
    const [customer] = await withTestDb((db) =>
      db.select().from(customers).where(eq(customers.email, "owner@carrier.test")),
    );
    expect(customer).toMatchObject({ name: "Pat Owner", company: "Carrier LLC" });
  });

  it("a monthly service is a subscription with recurring price data and no surcharge", async () => {
    const res = await checkout({
      items: [{ slug: "oig-sam-screening" }],
      customer: { email: "clinic@provider.test" },
      paymentMethod: "card",
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Created;
    expect(body.totals).toMatchObject({ surchargeCents: 0, totalCents: oig.priceCents });
    const session = await stripe().checkout.sessions.retrieve(body.sessionId, { expand: ["line_items"] });
    expect(session.mode).toBe("subscription");
    expect(session.line_items?.data[0]?.price?.recurring?.interval).toBe("month");
    expect(session.line_items?.data[0]?.price?.unit_amount).toBe(oig.priceCents);
  });

  it("several items: one order each, the checkout number as the reference", async () => {
    const res = await checkout({
      items: [{ slug: "ucr-registration" }, { slug: "boc-3", quantity: 2 }],
      customer: { email: "fleet@carrier.test" },
      paymentMethod: "ach",
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Created;
    expect(body.orderNumbers).toHaveLength(2);
    const session = await stripe().checkout.sessions.retrieve(body.sessionId);
    expect(session.client_reference_id).toBe(body.checkoutNumber);
    expect(session.metadata?.order_numbers).toBe(body.orderNumbers.join(","));
    expect(body.totals.surchargeCents).toBe(0);
  });

  it.each([
    [{ items: [{ slug: "oig-sam-screening" }], paymentMethod: "klarna" }, "METHOD_NOT_ALLOWED"],
    [{ items: [{ slug: "no-such-service" }], paymentMethod: "card" }, "UNKNOWN_SERVICE"],
    [{ items: [{ slug: "ucr-registration" }], paymentMethod: "card", discountCode: "NOPE" }, "DISCOUNT_INVALID"],
    [
      { items: [{ slug: "ucr-registration" }, { slug: "oig-sam-screening" }], paymentMethod: "card" },
      "MIXED_INTERVALS",
    ],
    [
      {
        items: [{ slug: "ucr-registration" }],
        paymentMethod: "card",
        intake: { "ucr-registration": { usdotNumber: "abc" } },
      },
      "INVALID_INTAKE",
    ],
  ])("refuses %j with 422 %s and keeps nothing", async (partial, code) => {
    const before = await withTestDb((db) => db.select().from(orders));
    const res = await checkout({ customer: { email: "bad@input.test" }, ...partial });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ error: code });
    expect(await withTestDb((db) => db.select().from(orders))).toHaveLength(before.length);
  });

  it("a client cannot send an amount", async () => {
    const res = await checkout({
      items: [{ slug: "ucr-registration" }],
      customer: { email: "a@b.test" },
      paymentMethod: "card",
      totalCents: 1,
    });
    expect(res.status).toBe(422);
  });

  it("a discount is applied from its row, reserved, and counted once when payment succeeds", async () => {
    await withTestDb((db) =>
      db
        .insert(discounts)
        .values({ code: "SPRING10", kind: "percent", value: 10, usageLimit: 5, appliesTo: ["ucr-registration"] }),
    );
    const res = await checkout({
      items: [{ slug: "ucr-registration" }],
      customer: { email: "promo@carrier.test" },
      paymentMethod: "ach",
      discountCode: "spring10",
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Created;
    expect(body.totals.discountCents).toBe(Math.floor((ucr.priceCents * 10 + 50) / 100));

    await simAndRelay(`checkout/sessions/${body.sessionId}/pay`, { payment_method: "us_bank_account" });
    await simAndRelay(`checkout/sessions/${body.sessionId}/ach-succeed`);
    await waitFor(
      () =>
        withTestDb(async (db) =>
          (await db.select().from(orders).where(eq(orders.number, body.orderNumbers[0]!)))[0]?.status ===
          "awaiting_intake"
            ? true
            : undefined,
        ),
      15_000,
      "the order to be paid",
    );
    const [discount] = await withTestDb((db) => db.select().from(discounts).where(eq(discounts.code, "SPRING10")));
    expect(discount?.uses).toBe(1);
  });

  it("expired discount windows are refused", async () => {
    await withTestDb((db) =>
      db
        .insert(discounts)
        .values({ code: "OLDPROMO", kind: "amount", value: 2000, expiresAt: new Date(Date.now() - 1000) }),
    );
    const res = await checkout({
      items: [{ slug: "boc-3" }],
      customer: { email: "late@carrier.test" },
      paymentMethod: "card",
      discountCode: "OLDPROMO",
    });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ error: "DISCOUNT_EXPIRED" });
  });

  it("the customer pays on the stand-in page: the webhook moves the order to paid", async () => {
    const res = await checkout({
      items: [{ slug: "boc-3" }],
      customer: { email: "payer@carrier.test" },
      paymentMethod: "card",
    });
    const body = (await res.json()) as Created;
    const events = await simAndRelay(`checkout/sessions/${body.sessionId}/pay`);
    const paid = await waitFor(
      () =>
        withTestDb(async (db) => {
          const rows = await db.select().from(orders).where(inArray(orders.number, body.orderNumbers));
          return rows.every((r) => isPaidStatus(r.status)) ? rows : undefined;
        }),
      15_000,
      "the order to be paid",
    );
    // Paid, and waiting for the intake the checkout did not carry (the machine's first gate).
    expect(paid[0]?.status).toBe("awaiting_intake");
    const [row] = await withTestDb((db) =>
      db.select().from(checkouts).where(eq(checkouts.number, body.checkoutNumber)),
    );
    expect(row?.status).toBe("completed");

    // One receipt, with signed links to the order and to all the customer's orders, even when
    // Stripe delivers the event again.
    const subject = `Payment received: ${getService("boc-3")!.displayName} (order ${body.orderNumbers[0]})`;
    const receipts = async () =>
      (
        (await (await fetch(`http://127.0.0.1:${inject("smtp").httpPort}/messages`)).json()) as {
          id: string;
          subject: string;
        }[]
      ).filter((m) => m.subject === subject);
    const [receipt] = await waitFor(
      async () => ((await receipts()).length > 0 ? await receipts() : undefined),
      10_000,
      "the receipt",
    );
    for (const e of events) expect((await relayEvent(e.id)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await receipts()).toHaveLength(1);
    const raw = await (await fetch(`http://127.0.0.1:${inject("smtp").httpPort}/messages/${receipt!.id}/raw`)).text();
    expect(raw.replace(/=\r?\n/g, "")).toMatch(/\/orders\?token=/);
  });
});

describe("a refunded subscription payment", () => {
  it("reaches its order: the invoice's PaymentIntent is read from invoice.payments (API 2025-03-31 and later)", async () => {
    const res = await checkout({
      items: [{ slug: "oig-sam-screening" }],
      customer: { email: "refund@clinic.test" },
      paymentMethod: "card",
    });
    const body = (await res.json()) as Created;
    await simAndRelay(`checkout/sessions/${body.sessionId}/pay`);
    const orderIs = (status: string) =>
      waitFor(
        () =>
          withTestDb(async (db) =>
            (await db.select().from(orders).where(eq(orders.number, body.orderNumbers[0]!)))[0]?.status === status
              ? true
              : undefined,
          ),
        15_000,
        `the order to be ${status}`,
      );
    await orderIs("awaiting_intake");
    await simAndRelay("refunds", { checkout_session: body.sessionId });
    await orderIs("refunded");
  });
});

function testEnv_bps(method: "card" | "klarna" | "ach"): number {
  const key = { card: "SURCHARGE_CARD_BPS", klarna: "SURCHARGE_KLARNA_BPS", ach: "SURCHARGE_ACH_BPS" }[method];
  const raw = (testEnv as unknown as Record<string, string | undefined>)[key];
  return raw ? Number(raw) : { card: 300, klarna: 600, ach: 0 }[method];
}
