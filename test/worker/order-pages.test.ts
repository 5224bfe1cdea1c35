import { exports } from "cloudflare:workers";
import { inArray } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureCustomer } from "../../db/customers";
import { checkouts, orderEvents, orders } from "../../db/schema";
import { orderViewLink, signLinkToken } from "../../domain/auth/signed-link";
import { formatCents } from "../../domain/catalog/money";
import { appConfig } from "../../workers/env";
import { testEnv, withTestDb } from "../support/db";

/**
 * The customer's order pages against the real Postgres: the checkout success page never trusts
 * the redirect (it waits until the webhook has moved the orders; here the status is updated
 * directly, as the OrderMachine's mirror would), one order's page with its lines, history and
 * government fees, and every refused link as a 403 page.
 */

const config = appConfig(testEnv);
const SECRET = config.CUSTOMER_LINK_SECRET!;
const inAWeek = () => new Date(Date.now() + 7 * 86_400_000);
const get = (path: string) => exports.default.fetch(new Request(`http://docket.test${path}`));
const token = (purpose: "order-view" | "pay" | "dispute", subject: string, expiresAt = inAWeek()) =>
  signLinkToken(SECRET, { purpose, subject, expiresAt });

const CHECKOUT = "CK-2026-000321";
const A = "CO-2026-000322";
const B = "CO-2026-000323";
const SOLO = "CO-2026-000324";
const PARENT = "CO-2026-000325";
const CHILD = "CG-2026-000326";
const ids: Record<string, number> = {};

async function setStatus(numbers: string[], status: string) {
  await withTestDb((db) => db.update(orders).set({ status }).where(inArray(orders.number, numbers)));
}

beforeAll(async () => {
  await withTestDb(async (db) => {
    const customer = await ensureCustomer(db, {
      email: "pages@carrier.test",
      name: "Pat <i>Hostile</i>",
      company: "Q&A Freight",
    });
    const [checkout] = await db
      .insert(checkouts)
      .values({ number: CHECKOUT, customerId: customer.id, paymentMethod: "card", mode: "payment", totalCents: 30_000 })
      .returning();
    const order = (number: string, over: Partial<typeof orders.$inferInsert> = {}) => ({
      number,
      customerId: customer.id,
      serviceSlug: "boc-3",
      billingInterval: "none" as const,
      status: "pending_payment",
      lines: [
        { kind: "service_fee", label: "Service <script>x</script>", amountCents: 10_000 },
        { kind: "discount", label: "Discount SPRING", amountCents: -1_000 },
        { kind: "surcharge", label: "Card surcharge (3%)", amountCents: 270 },
      ],
      totalCents: 9_270,
      paymentMethod: "card" as const,
      ...over,
    });
    const rows = await db
      .insert(orders)
      .values([
        order(A, { checkoutId: checkout!.id }),
        order(B, { checkoutId: checkout!.id, serviceSlug: "ucr-registration" }),
        order(SOLO),
        order(PARENT, { status: "paid", serviceSlug: "irp-registration" }),
      ])
      .returning();
    for (const r of rows) ids[r.number] = r.id;
    const [child] = await db
      .insert(orders)
      .values(
        order(CHILD, {
          parentOrderId: ids[PARENT],
          serviceSlug: "irp-registration",
          lines: [
            { kind: "service_fee", label: "Docket service fee", amountCents: 0 },
            {
              kind: "government_fee",
              label: "IRP apportioned fee",
              amountCents: 45_000,
              source: "Invoice 17",
              agency: null,
            },
          ],
          totalCents: 45_000,
        }),
      )
      .returning();
    ids[CHILD] = child!.id;
    const at = (minutes: number) => new Date(Date.UTC(2026, 4, 1, 9, minutes));
    await db.insert(orderEvents).values([
      {
        orderId: ids[PARENT]!,
        type: "payment_succeeded",
        idempotencyKey: "evt_1",
        fromStatus: "pending_payment",
        toStatus: "paid",
        payload: { attempt: "initial" },
        occurredAt: at(0),
      },
      {
        orderId: ids[PARENT]!,
        type: "some_future_event",
        idempotencyKey: "k2",
        fromStatus: "paid",
        toStatus: "paid",
        payload: { secret: "internal-only" },
        occurredAt: at(5),
      },
      {
        orderId: ids[CHILD]!,
        type: "government_fee_requested",
        idempotencyKey: "government_fee_requested",
        fromStatus: null,
        toStatus: "pending_payment",
        payload: {},
        occurredAt: at(10),
      },
      {
        orderId: ids[CHILD]!,
        type: "checkout_session_created",
        idempotencyKey: "checkout-session:cs_1",
        fromStatus: "pending_payment",
        toStatus: "pending_payment",
        payload: { sessionId: "cs_1", method: "card" },
        occurredAt: at(11),
      },
    ]);
  });
});

describe("GET /order/confirm (Stripe's success URL)", () => {
  it("says 'Confirming your payment…' and refreshes itself until the webhook has moved the order, then shows it", async () => {
    const path = `/order/confirm?order=${SOLO}&token=${await token("order-view", SOLO)}`;
    const before = await get(path);
    expect(before.status).toBe(200);
    expect(before.headers.get("cache-control")).toBe("private, no-store");
    const waiting = await before.text();
    expect(waiting).toContain("Confirming your payment…");
    expect(waiting).toContain('role="status"');
    const refresh = /<meta http-equiv="refresh" content="3; url=([^"]+)"/.exec(waiting);
    expect(refresh).not.toBeNull();
    // The refresh goes to the same page, counting attempts.
    const next = refresh![1]!.replace(/&amp;/g, "&");
    expect(next).toContain(`order=${SOLO}`);
    expect(next).toContain("&n=1");
    expect((await get(next)).status).toBe(200);

    await setStatus([SOLO], "paid");
    const after = await (await get(path)).text();
    expect(after).toContain("Payment received");
    expect(after).not.toContain('http-equiv="refresh"');
    expect(after).toContain(`/order/${SOLO}?token=`);
  });

  it("waits for every order of a checkout, and tells processing and failure apart", async () => {
    const path = `/order/confirm?checkout=${CHECKOUT}&token=${await token("order-view", CHECKOUT)}`;
    expect(await (await get(path)).text()).toContain("Confirming your payment…");
    await setStatus([A], "paid");
    const half = await (await get(path)).text();
    expect(half).toContain("Confirming your payment…");
    expect(half).toContain(A);
    expect(half).toContain(B);

    await setStatus([B], "paid");
    expect(await (await get(path)).text()).toContain("Payment received");
    await setStatus([A, B], "payment_processing");
    expect(await (await get(path)).text()).toContain("Your bank payment has started");
    await setStatus([B], "payment_failed");
    expect(await (await get(path)).text()).toContain("The payment did not go through");
  });

  it("slows down after two minutes of waiting and says so", async () => {
    await setStatus([A, B], "pending_payment");
    const html = await (
      await get(`/order/confirm?checkout=${CHECKOUT}&token=${await token("order-view", CHECKOUT)}&n=40`)
    ).text();
    expect(html).toContain('content="15; url=');
    expect(html).toContain("taking longer than usual");
  });

  it("refuses a link for another order, another page, an expired one, or none (403)", async () => {
    const cases = [
      `/order/confirm?order=${SOLO}&token=${await token("order-view", A)}`,
      `/order/confirm?order=${SOLO}&token=${await token("pay", SOLO)}`,
      `/order/confirm?order=${SOLO}&token=${await token("order-view", SOLO, new Date(Date.now() - 1000))}`,
      `/order/confirm?order=${SOLO}`,
      `/order/confirm?checkout=${CHECKOUT}&order=${A}&token=${await token("order-view", A)}`,
      `/order/confirm?checkout=${CHECKOUT}&token=${await token("order-view", SOLO)}`,
    ];
    for (const path of cases) {
      const res = await get(path);
      expect(res.status, path).toBe(403);
      expect(await res.text()).toContain("Getting a new link");
    }
  });
});

describe("GET /order/:number", () => {
  it("shows status, priced lines, history and government fees", async () => {
    const link = new URL(await orderViewLink(config, { number: PARENT }));
    const res = await get(`${link.pathname}${link.search}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`Order ${PARENT}: IRP Apportioned Registration`);
    expect(html).toContain(">Paid<");
    expect(html).toContain(formatCents(10_000));
    expect(html).toContain(formatCents(-1_000));
    expect(html).toContain(formatCents(9_270));
    expect(html).toContain("Service &lt;script&gt;x&lt;/script&gt;");
    expect(html).not.toContain("<script>x");
    expect(html).toContain("Pat &lt;i&gt;Hostile&lt;/i&gt;, Q&amp;A Freight");
    // History: known events in words, unknown ones by name, never their payloads.
    expect(html).toContain("2026-05-01 09:00 UTC</time>: Payment received");
    expect(html).toContain("Some future event");
    expect(html).not.toContain("internal-only");
    // Its government fee, with its own page and a pay link while it can be paid.
    expect(html).toContain(`>${CHILD}</a>: ${formatCents(45_000)}`);
    const payLink = /href="(\/order\/pay\?order=CG-[^"]+)"/.exec(html)![1]!.replace(/&amp;/g, "&");
    expect((await get(payLink)).status).toBe(200);
    const childLink = new RegExp(`href="(/order/${CHILD}\\?token=[^"]+)"`).exec(html)![1]!;
    const child = await (await get(childLink)).text();
    expect(child).toContain("Government fee for IRP Apportioned Registration");
    expect(child).toContain("Government fee requested");
    expect(child).not.toContain("cs_1");
    expect(child).toContain(`order ${PARENT}`);
  });

  it("answers 403 for a missing, foreign, wrong-purpose or expired token, and 404 for a vanished order", async () => {
    for (const path of [
      `/order/${PARENT}`,
      `/order/${PARENT}?token=${await token("order-view", SOLO)}`,
      `/order/${PARENT}?token=${await token("pay", PARENT)}`,
      `/order/${PARENT}?token=${await token("order-view", PARENT, new Date(Date.now() - 1000))}`,
      `/order/not-a-number?token=${await token("order-view", PARENT)}`,
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(403);
      const html = await res.text();
      expect(html).toContain("Getting a new link");
      expect(html).not.toContain("Error:");
    }
    const gone = await get(`/order/CO-2026-999998?token=${await token("order-view", "CO-2026-999998")}`);
    expect(gone.status).toBe(404);
    expect(await gone.text()).toContain("We cannot find this order");
  });
});

describe("GET /order/cancelled (Stripe's cancel URL)", () => {
  it("says nothing was charged and links back to the order", async () => {
    const res = await get(`/order/cancelled?order=${A}&token=${await token("order-view", A)}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("nothing was charged");
    expect(html).toContain(`/order/${A}?token=`);
  });
});
