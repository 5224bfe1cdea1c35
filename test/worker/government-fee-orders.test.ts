import { exports } from "cloudflare:workers";
import { and, eq, inArray } from "drizzle-orm";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { ensureCustomer } from "../../db/customers";
import { adminTasks, mailSends, orderEvents, orders, stripeEvents } from "../../db/schema";
import { signLinkToken, verifyLinkToken } from "../../domain/auth/signed-link";
import { applyBps, formatCents } from "../../domain/catalog/money";
import { DEFAULT_SURCHARGE_RATES_BPS, PAYMENT_METHOD_LABELS } from "../../domain/catalog/payment-methods";
import { estimateGovernmentFee } from "../../domain/catalog/government-fees";
import { GOVERNMENT_FEE_PAYMENT, getService } from "../../domain/catalog/services";
import {
  childPayability,
  DISPUTE_NOTE_MAX,
  sessionIdempotencyKey,
  type HistoryEvent,
} from "../../domain/orders/government-fee-order";
import { appConfig } from "../../workers/env";
import {
  GovernmentFeeError,
  governmentFeeSessionParams,
  onChildOrderPaid,
  requestGovernmentFee,
} from "../../workers/orders/government-fee";
import { testEnv, withTestDb } from "../support/db";
import { relayEvent, simAndRelay, stripeFake, type SimEvent } from "../support/fake-stripe";
import { waitFor } from "../support/wait-for";
import { adminSession } from "../support/admin-session";

/**
 * Government-fee child orders end to end against the real Postgres and SMTP sink: creation
 * (idempotent, one open child per parent), the e-mail (once, with both signed links), the pay
 * page (every method with its surcharge from the catalog's rates), the dispute (one admin task,
 * payment held), refused links, escaping, and the parent hearing that its fee was paid.
 * Stripe is the fake (scripts/lib/fake-stripe) at its HTTP boundary; its webhooks are relayed
 * to the Worker's real /webhooks/stripe route.
 */

const config = appConfig(testEnv);
const SECRET = config.CUSTOMER_LINK_SECRET!;

const HOSTILE_NAME = `<script>alert("name")</script> O'Brien & Sons`;
const HOSTILE_LABEL = `IRP apportioned fee <img src=x onerror=alert(1)>`;
// An amount of our own (not a catalog price): the surcharges round at half a cent.
const FEE_CENTS = 123_456;
const ITEMS = [
  { label: HOSTILE_LABEL, cents: 120_000, source: "Base-state IRP invoice <#A-17>" },
  {
    label: "Agency card processing fee",
    cents: 3_456,
    source: "Agency invoice",
    kind: "agency_processing_fee" as const,
  },
];

const call = (path: string, init?: RequestInit) =>
  exports.default.fetch(new Request(`http://docket.test${path}`, init));
const form = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://docket.test", ...headers },
  body: new URLSearchParams(fields).toString(),
  redirect: "manual" as const,
});
let session = "";
beforeAll(async () => {
  session = await adminSession();
});

const admin = (number: string, body: unknown, authorization: string | null = session) =>
  call(`/api/admin/orders/${number}/government-fee`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(body),
  });

let customerId = 0;
let seq = 900;

/**
 * A parent order (what the fee gate or an admin asks a fee for). "paid" is made the way
 * production makes it: its OrderMachine records the payment and mirrors the status.
 */
async function parentOrder(status: "paid" | "pending_payment" = "paid", serviceSlug = "irp-registration") {
  const number = `CO-2026-${String(++seq).padStart(6, "0")}`;
  const [row] = await withTestDb((db) =>
    db
      .insert(orders)
      .values({
        number,
        customerId,
        serviceSlug,
        billingInterval: "none",
        status: "pending_payment",
        lines: [{ kind: "service_fee", label: "IRP Apportioned Registration", amountCents: 1 }],
        totalCents: 1,
        paymentMethod: "card",
      })
      .returning(),
  );
  if (status === "pending_payment") return row!;
  const stub = testEnv.ORDER_MACHINE.get(testEnv.ORDER_MACHINE.idFromName(number));
  const paid = (await stub.apply(number, {
    type: "payment_succeeded",
    key: `test-paid:${number}`,
    at: new Date().toISOString(),
    payload: {},
  })) as { outcome: string };
  expect(paid.outcome).toBe("applied");
  const [after] = await withTestDb((db) => db.select().from(orders).where(eq(orders.number, number)));
  return after!;
}

async function orderRow(number: string) {
  const [row] = await withTestDb((db) => db.select().from(orders).where(eq(orders.number, number)));
  return row!;
}

async function stripeGet<T>(path: string): Promise<T> {
  const res = await fetch(`${stripeFake().url}/v1/${path}`, {
    headers: { authorization: `Bearer ${config.STRIPE_SECRET_KEY}` },
  });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

async function simEvents(related: string): Promise<SimEvent[]> {
  const res = await fetch(`${stripeFake().url}/__sim/events?related=${encodeURIComponent(related)}`);
  return ((await res.json()) as { events: SimEvent[] }).events;
}

async function eventsOf(orderId: number) {
  return await withTestDb((db) => db.select().from(orderEvents).where(eq(orderEvents.orderId, orderId)));
}

interface SinkMessage {
  id: string;
  envelope: { to: string[] };
  subject: string | null;
  messageId: string;
}

async function sinkMessagesTo(address: string): Promise<SinkMessage[]> {
  const { httpPort } = inject("smtp");
  const all = (await (await fetch(`http://127.0.0.1:${httpPort}/messages`)).json()) as SinkMessage[];
  return all.filter((m) => m.envelope.to.includes(address));
}

async function sinkText(id: string): Promise<string> {
  const { httpPort } = inject("smtp");
  const raw = new TextDecoder().decode(
    await (await fetch(`http://127.0.0.1:${httpPort}/messages/${id}/raw`)).arrayBuffer(),
  );
  // Quoted-printable soft breaks and escapes, so links read as they were written.
  return raw
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

const EMAIL = "gf-customer@carrier.test";
const inAWeek = () => new Date(Date.now() + 7 * 86_400_000);

beforeAll(async () => {
  customerId = (
    await withTestDb((db) => ensureCustomer(db, { email: EMAIL, name: HOSTILE_NAME, company: "Hauling <b>LLC</b>" }))
  ).id;
});

/** A fresh parent with a child created through the admin API; answers the child number and its e-mailed links. */
async function childThroughAdmin(items: unknown = ITEMS) {
  const parent = await parentOrder();
  const res = await admin(parent.number, { items });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { order: { number: string }; payUrl: string; disputeUrl: string };
  return { parent, child: body.order.number, payUrl: new URL(body.payUrl), disputeUrl: new URL(body.disputeUrl) };
}

const pathOf = (url: URL) => `${url.pathname}${url.search}`;

describe("requestGovernmentFee", () => {
  it("creates one child CG-… with service fee 0 and each fee item as a line, idempotently", async () => {
    const parent = await parentOrder();
    const first = await withTestDb((db) =>
      requestGovernmentFee(db, config, parent, { items: ITEMS, totalCents: FEE_CENTS }),
    );
    expect(first.created).toBe(true);
    expect(first.email).toBe("sent");
    expect(first.child.number).toMatch(/^CG-\d{4}-\d{6}$/);
    expect(first.child).toMatchObject({
      parentOrderId: parent.id,
      customerId,
      status: "pending_payment",
      totalCents: FEE_CENTS,
      billingInterval: "none",
      serviceSlug: "irp-registration",
    });
    expect(first.child.lines).toEqual([
      { kind: "service_fee", label: expect.any(String), amountCents: 0 },
      { kind: "government_fee", label: HOSTILE_LABEL, amountCents: 120_000, source: ITEMS[0]!.source, agency: null },
      {
        kind: "agency_processing_fee",
        label: "Agency card processing fee",
        amountCents: 3_456,
        source: "Agency invoice",
        agency: null,
      },
    ]);
    expect((await eventsOf(first.child.id)).map((e) => e.type)).toEqual(["government_fee_requested"]);

    const again = await withTestDb((db) => requestGovernmentFee(db, config, parent, { items: ITEMS }));
    expect(again).toMatchObject({ created: false, email: "already_sent" });
    expect(again.child.number).toBe(first.child.number);
    const children = await withTestDb((db) => db.select().from(orders).where(eq(orders.parentOrderId, parent.id)));
    expect(children).toHaveLength(1);
  });

  it("takes the catalog's estimate as it is (the fee gate's call), processing fee included", async () => {
    const parent = await parentOrder("paid", "ucr-registration");
    const estimate = estimateGovernmentFee(getService("ucr-registration")!, {
      classification: "motor_carrier",
      powerUnits: 5,
      registrationYear: 2026,
    });
    if (estimate.kind !== "itemised") throw new Error(`expected an itemised UCR fee, got ${estimate.kind}`);
    const { child, created } = await withTestDb((db) =>
      requestGovernmentFee(db, config, parent, { items: estimate.items, totalCents: estimate.totalCents }),
    );
    expect(created).toBe(true);
    expect(child.totalCents).toBe(estimate.totalCents);
    const lines = child.lines as { kind: string; label: string; amountCents: number }[];
    expect(lines.slice(1).map((l) => [l.kind, l.label, l.amountCents])).toEqual(
      estimate.items.map((i) => [i.kind, i.label, i.cents]),
    );
  });

  it("creates exactly one child when requests race", async () => {
    const parent = await parentOrder();
    const results = await Promise.all(
      [1, 2, 3].map(() => withTestDb((db) => requestGovernmentFee(db, config, parent, { items: ITEMS }))),
    );
    expect(new Set(results.map((r) => r.child.number)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it("refuses a different fee while one is open, a parent not yet paid, a child as parent, and bad totals", async () => {
    const parent = await parentOrder();
    const first = await withTestDb((db) => requestGovernmentFee(db, config, parent, { items: ITEMS }));
    const refusal = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e as GovernmentFeeError,
      );
    const open = await refusal(
      withTestDb((db) => requestGovernmentFee(db, config, parent, { items: [{ label: "Other", cents: 5_000 }] })),
    );
    expect(open).toMatchObject({
      code: "GOVERNMENT_FEE_OPEN",
      status: 409,
      details: { openOrder: first.child.number },
    });

    const unpaid = await parentOrder("pending_payment");
    expect(await refusal(withTestDb((db) => requestGovernmentFee(db, config, unpaid, { items: ITEMS })))).toMatchObject(
      { code: "PARENT_NOT_PAID" },
    );
    expect(
      await refusal(withTestDb((db) => requestGovernmentFee(db, config, first.child, { items: ITEMS }))),
    ).toMatchObject({ code: "PARENT_IS_CHILD" });
    expect(
      await refusal(withTestDb((db) => requestGovernmentFee(db, config, parent, { items: ITEMS, totalCents: 1 }))),
    ).toMatchObject({ code: "TOTAL_MISMATCH" });
    expect(
      await refusal(
        withTestDb((db) => requestGovernmentFee(db, config, parent, { items: [{ label: "x", cents: 49 }] })),
      ),
    ).toMatchObject({ code: "FEE_TOO_SMALL" });
  });

  it("e-mails the customer once, with the breakdown, a pay link and a dispute link", async () => {
    const parent = await parentOrder();
    const { child } = await withTestDb((db) => requestGovernmentFee(db, config, parent, { items: ITEMS }));
    await withTestDb((db) => requestGovernmentFee(db, config, parent, { items: ITEMS }));

    const mine = (await sinkMessagesTo(EMAIL)).filter(
      (m) => m.messageId === `<government-fee.${child.number}@send.docket.test>`,
    );
    expect(mine).toHaveLength(1);
    expect(mine[0]!.subject).toContain(parent.number);
    const sends = await withTestDb((db) =>
      db.select().from(mailSends).where(eq(mailSends.messageId, mine[0]!.messageId)),
    );
    expect(sends).toHaveLength(1);

    const text = await sinkText(mine[0]!.id);
    expect(text).toContain(formatCents(FEE_CENTS));
    expect(text).toContain("Agency card processing fee");
    const pay = new URL(/http:\/\/docket\.test\/order\/pay\?[^\s"<]+/.exec(text)![0].replace(/&amp;/g, "&"));
    const dispute = new URL(/http:\/\/docket\.test\/order\/dispute\?[^\s"<]+/.exec(text)![0].replace(/&amp;/g, "&"));
    expect(pay.searchParams.get("order")).toBe(child.number);
    expect(dispute.searchParams.get("order")).toBe(child.number);
    expect(
      await verifyLinkToken(SECRET, pay.searchParams.get("token"), { purpose: "pay", subject: child.number }),
    ).toMatchObject({ ok: true });
    expect(
      await verifyLinkToken(SECRET, dispute.searchParams.get("token"), { purpose: "dispute", subject: child.number }),
    ).toMatchObject({ ok: true });
    // The HTML part escapes the customer's name and the fee label (the plain-text part is text).
    const html = text.slice(text.indexOf("Content-Type: text/html"));
    expect(html).toContain("Hello &lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt; O&#39;Brien &amp; Sons,");
    expect(html).toContain("IRP apportioned fee &lt;img src=x onerror=alert(1)&gt;");
    expect(html).not.toContain("<script>alert");
    expect(html).not.toContain("<img src=x");
  });
});

describe("POST /api/admin/orders/:number/government-fee", () => {
  it("creates the child (201), answers the same child for the same items (200), refuses others (409)", async () => {
    const parent = await parentOrder();
    const res = await admin(parent.number, {
      items: [{ label: "IRP apportioned fees, invoice 5531", cents: 98_765, source: "Invoice 5531" }],
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as {
      order: { number: string; parentNumber: string; totalCents: number };
      created: boolean;
      email: string;
      payUrl: string;
    };
    expect(body).toMatchObject({
      created: true,
      email: "sent",
      order: { parentNumber: parent.number, totalCents: 98_765 },
    });
    expect(new URL(body.payUrl).pathname).toBe("/order/pay");

    const again = await admin(parent.number, {
      items: [{ label: "IRP apportioned fees, invoice 5531", cents: 98_765, source: "Invoice 5531" }],
    });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ created: false, order: { number: body.order.number } });

    const other = await admin(parent.number, { items: [{ label: "IRP apportioned fees", cents: 1_000 }] });
    expect(other.status).toBe(409);
    expect(await other.json()).toMatchObject({
      error: "GOVERNMENT_FEE_OPEN",
      details: { openOrder: body.order.number },
    });
  });

  it("needs an admin, a known order, a valid body and a paid parent", async () => {
    const parent = await parentOrder();
    expect((await admin(parent.number, { items: ITEMS }, null)).status).toBe(401);
    expect((await admin(parent.number, { items: ITEMS }, "Bearer wrong-token")).status).toBe(401);
    expect((await admin("CO-2026-999999", { items: ITEMS })).status).toBe(404);
    expect((await admin("not-an-order", { items: ITEMS })).status).toBe(404);
    for (const body of [
      { items: [] },
      { items: [{ label: "", cents: 100 }] },
      { items: [{ label: "x", cents: -5 }] },
      { items: [{ label: "x", cents: 1.5 }] },
      { items: ITEMS, extra: 1 },
    ]) {
      const res = await admin(parent.number, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
    }
    expect((await admin(parent.number, { items: ITEMS, totalCents: FEE_CENTS + 1 })).status).toBe(422);
    const unpaid = await parentOrder("pending_payment");
    const res = await admin(unpaid.number, { items: ITEMS });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: "PARENT_NOT_PAID" });
  });
});

describe("GET /order/pay", () => {
  it("shows the breakdown and every allowed method with its surcharge from the catalog's rates", async () => {
    const { child, payUrl } = await childThroughAdmin();
    const res = await call(pathOf(payUrl));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const html = await res.text();
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).toContain(child);
    expect(html).toContain(formatCents(120_000));
    expect(html).toContain(formatCents(3_456));

    // ACH 0%, card 3%, Klarna 6% (the catalog's defaults, which the test config does not override).
    expect(GOVERNMENT_FEE_PAYMENT.allowedMethods).toEqual(["card", "ach", "klarna"]);
    for (const method of GOVERNMENT_FEE_PAYMENT.allowedMethods) {
      const bps = DEFAULT_SURCHARGE_RATES_BPS[method];
      const total = FEE_CENTS + applyBps(FEE_CENTS, bps);
      expect(html).toContain(`Pay ${formatCents(total)} by ${PAYMENT_METHOD_LABELS[method]}`);
      expect(html).toContain(`<input type="hidden" name="method" value="${method}"/>`);
    }
    // The figures themselves, rounded half-up: 3% of $1,234.56 is $37.04, 6% is $74.07.
    expect(html).toContain("Pay $1,234.56 by Bank transfer (ACH)");
    expect(html).toContain("3% surcharge ($37.04)");
    expect(html).toContain("Pay $1,271.60 by Card");
    expect(html).toContain("6% surcharge ($74.07)");
    expect(html).toContain("Pay $1,308.63 by Klarna");
    expect(html.match(/<form method="post" action="\/order\/pay">/g)).toHaveLength(3);
    expect(html).toContain(`name="token" value="${payUrl.searchParams.get("token")}"`);
    // A dispute link for the same child.
    const dispute = /href="(\/order\/dispute\?[^"]+)"/.exec(html)![1]!.replace(/&amp;/g, "&");
    expect((await call(dispute)).status).toBe(200);
  });

  it("escapes a hostile customer name, fee label and source", async () => {
    const { payUrl, disputeUrl } = await childThroughAdmin();
    for (const url of [payUrl, disputeUrl]) {
      const html = await (await call(pathOf(url))).text();
      expect(html).not.toContain("<script>alert");
      expect(html).not.toContain("<img src=x");
      expect(html).not.toContain("<b>LLC");
      expect(html).not.toContain("<#A-17>");
      if (url === payUrl)
        expect(html).toContain("&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt; O&#39;Brien &amp; Sons");
      expect(html).toContain("IRP apportioned fee &lt;img src=x onerror=alert(1)&gt;");
    }
  });

  it("answers 403 with how to get a new link for a missing, forged, foreign, expired or wrong-purpose token", async () => {
    const a = await childThroughAdmin();
    const b = await childThroughAdmin();
    const token = a.payUrl.searchParams.get("token")!;
    const cases: [string, RegExp][] = [
      [`/order/pay?order=${a.child}`, /does not work/],
      [`/order/pay?order=${a.child}&token=garbage`, /does not work/],
      [`/order/pay?order=${b.child}&token=${token}`, /does not work/],
      [`/order/pay?order=${a.child}&token=${a.disputeUrl.searchParams.get("token")}`, /does not work/],
      [
        `/order/pay?order=${a.child}&token=${await signLinkToken("another-secret-0123456789abcdef01234", { purpose: "pay", subject: a.child, expiresAt: inAWeek() })}`,
        /does not work/,
      ],
      [
        `/order/pay?order=${a.child}&token=${await signLinkToken(SECRET, { purpose: "pay", subject: a.child, expiresAt: new Date(Date.now() - 1000) })}`,
        /has expired/,
      ],
      [`/order/pay?order=../etc&token=${token}`, /does not work/],
      [`/order/dispute?order=${a.child}&token=${token}`, /does not work/],
    ];
    for (const [path, title] of cases) {
      const res = await call(path);
      expect(res.status, path).toBe(403);
      const html = await res.text();
      expect(html, path).toMatch(title);
      expect(html).toContain("Getting a new link");
      expect(html).toContain("hello@docket.test");
      expect(html).not.toMatch(/at .+\.ts:\d+/);
    }
  });
});

describe("POST /order/pay", () => {
  it("refuses a method that is not offered, a foreign origin and a bad token, opening nothing", async () => {
    const { child, payUrl } = await childThroughAdmin();
    const token = payUrl.searchParams.get("token")!;
    const paypal = await call("/order/pay", form({ order: child, token, method: "paypal" }));
    expect(paypal.status).toBe(422);
    expect(await paypal.text()).toContain("Please choose one of the payment methods below.");
    expect(
      (await call("/order/pay", form({ order: child, token, method: "card" }, { origin: "https://evil.test" }))).status,
    ).toBe(403);
    expect(
      (await call("/order/pay", form({ order: child, token, method: "card" }, { "sec-fetch-site": "cross-site" })))
        .status,
    ).toBe(403);
    expect((await call("/order/pay", form({ order: child, token: "forged", method: "card" }))).status).toBe(403);
    const [row] = await withTestDb((db) => db.select().from(orders).where(eq(orders.number, child)));
    expect((await eventsOf(row!.id)).map((e) => e.type)).toEqual(["government_fee_requested"]);
  });

  it("builds the Checkout Session from the child: one-time, fee lines plus the surcharge line, keyed by child and method", () => {
    const params = governmentFeeSessionParams({
      childNumber: "CG-2026-000777",
      parentNumber: "CO-2026-000776",
      customer: { email: EMAIL, stripeCustomerId: null },
      method: "card",
      lines: [
        { kind: "service_fee", label: "IRP fee", amountCents: 120_000 },
        { kind: "service_fee", label: "Processing", amountCents: 3_456 },
        { kind: "surcharge", label: "Card surcharge (3%)", amountCents: 3_704 },
      ],
      successUrl: "http://docket.test/order/confirm?order=CG-2026-000777&token=t",
      cancelUrl: "http://docket.test/order/pay?order=CG-2026-000777&token=p",
    });
    expect(params).toMatchObject({
      mode: "payment",
      client_reference_id: "CG-2026-000777",
      customer_email: EMAIL,
      allowed_payment_method_types: ["card"],
      metadata: {
        order_number: "CG-2026-000777",
        parent_order_number: "CO-2026-000776",
        kind: "government_fee",
        payment_method: "card",
      },
      payment_intent_data: { metadata: { order_number: "CG-2026-000777" } },
    });
    expect(
      params.line_items?.map((l) => [l.price_data?.product_data?.name, l.price_data?.unit_amount, l.quantity]),
    ).toEqual([
      ["IRP fee", 120_000, 1],
      ["Processing", 3_456, 1],
      ["Card surcharge (3%)", 3_704, 1],
    ]);
    expect(params).not.toHaveProperty("expires_at");
    expect(sessionIdempotencyKey("CG-2026-000777", "card", 1)).toBe("CG-2026-000777:card");
    expect(sessionIdempotencyKey("CG-2026-000777", "card", 2)).toBe("CG-2026-000777:card:2");
  });

  it("creates a Checkout Session and redirects to it (303); a second click gets the same one; another method expires it", async () => {
    const { child, payUrl } = await childThroughAdmin();
    const token = payUrl.searchParams.get("token")!;
    const res = await call("/order/pay", form({ order: child, token, method: "card" }));
    expect(res.status).toBe(303);
    const location = res.headers.get("location")!;
    expect(location.startsWith(stripeFake().url)).toBe(true);
    const again = await call("/order/pay", form({ order: child, token, method: "card" }));
    expect(again.status).toBe(303);
    expect(again.headers.get("location")).toBe(location);
    const row = await orderRow(child);
    const sessions = (await eventsOf(row.id)).filter((e) => e.type === "checkout_session_created");
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.payload).toMatchObject({
      method: "card",
      attempt: 1,
      bps: 300,
      feeCents: FEE_CENTS,
      surchargeCents: 3_704,
      totalCents: FEE_CENTS + 3_704,
    });

    // The session as Stripe (the fake) holds it: the child as client_reference_id, the total to the cent.
    const id = (sessions[0]!.payload as { sessionId: string }).sessionId;
    const session = await stripeGet<{
      client_reference_id: string;
      amount_total: number;
      mode: string;
      status: string;
      metadata: Record<string, string>;
    }>(`checkout/sessions/${id}`);
    expect(session).toMatchObject({
      client_reference_id: child,
      amount_total: FEE_CENTS + 3_704,
      mode: "payment",
      status: "open",
    });
    expect(session.metadata).toMatchObject({ order_number: child, kind: "government_fee" });
    const items = await stripeGet<{ data: { description: string; amount_total: number }[] }>(
      `checkout/sessions/${id}/line_items`,
    );
    expect(items.data.map((l) => l.amount_total)).toEqual([120_000, 3_456, 3_704]);

    // Switching to ACH expires the card session, so the fee cannot be paid twice.
    const ach = await call("/order/pay", form({ order: child, token, method: "ach" }));
    expect(ach.status).toBe(303);
    expect(ach.headers.get("location")).not.toBe(location);
    expect((await stripeGet<{ status: string }>(`checkout/sessions/${id}`)).status).toBe("expired");
  });

  it("is paid through Stripe end to end: webhook, order machine, confirmation page, parent told", async () => {
    const { parent, child, payUrl } = await childThroughAdmin();
    const token = payUrl.searchParams.get("token")!;
    await call("/order/pay", form({ order: child, token, method: "card" }));
    expect((await call("/order/pay", form({ order: child, token, method: "ach" }))).status).toBe(303);
    const row = await orderRow(child);
    const [card, bank] = (await eventsOf(row.id))
      .filter((e) => e.type === "checkout_session_created")
      .map((e) => (e.payload as { sessionId: string }).sessionId);

    // The card session's expiry reaches the webhook: the child is not closed by it.
    const expired = await simEvents(card!);
    for (const e of expired) expect((await relayEvent(e.id)).status).toBe(200);
    await waitFor(
      () =>
        withTestDb(async (db) => {
          const rows = await db
            .select()
            .from(stripeEvents)
            .where(
              inArray(
                stripeEvents.eventId,
                expired.map((e) => e.id),
              ),
            );
          return rows.length === expired.length && rows.every((r) => r.processedAt !== null) ? rows : undefined;
        }),
      20_000,
      "the expiry to be processed",
    );
    expect((await orderRow(child)).status).toBe("pending_payment");
    const stillPayable = await (await call(pathOf(payUrl))).text();
    expect(stillPayable).toContain("Awaiting payment");
    expect(stillPayable).toContain("Choose how to pay");

    // The customer pays by ACH: pending, then succeeded.
    // A pay token does not open the confirmation page; the success URL Stripe holds does.
    expect((await call(`/order/confirm?order=${child}&token=${token}`)).status).toBe(403);
    const session = await stripeGet<{ success_url: string }>(`checkout/sessions/${bank}`);
    const success = new URL(session.success_url);
    expect(await (await call(`${success.pathname}${success.search}`)).text()).toContain("Confirming your payment…");

    await simAndRelay(`checkout/sessions/${bank}/ach`);
    await waitFor(
      async () => ((await orderRow(child)).status === "payment_processing" ? true : undefined),
      20_000,
      "ACH pending",
    );
    expect(await (await call(`${success.pathname}${success.search}`)).text()).toContain(
      "Your bank payment has started",
    );
    await simAndRelay(`checkout/sessions/${bank}/ach-succeed`);
    await waitFor(async () => ((await orderRow(child)).status === "paid" ? true : undefined), 20_000, "ACH succeeded");
    expect(await (await call(`${success.pathname}${success.search}`)).text()).toContain("Payment received");

    // The webhook consumer told the parent; telling it again changes nothing.
    await waitFor(
      async () => ((await eventsOf(parent.id)).some((e) => e.type === "government_fee_paid") ? true : undefined),
      20_000,
      "the parent to hear of the payment",
    );
    const told = await withTestDb((db) => onChildOrderPaid(db, testEnv, { number: child }, { sessionId: bank! }));
    expect(told).toMatchObject({ parentNumber: parent.number });
    expect((await eventsOf(parent.id)).filter((e) => e.type === "government_fee_paid")).toHaveLength(1);
    expect(await orderRow(child)).toMatchObject({ paymentMethod: "ach", totalCents: FEE_CENTS });
    expect(await (await call(pathOf(payUrl))).text()).toContain("This fee is paid.");
  });
});

describe("a failed bank payment", () => {
  it("leaves the fee payable: a new session is opened, never the spent one", async () => {
    const { child, payUrl } = await childThroughAdmin();
    const token = payUrl.searchParams.get("token")!;
    const first = await call("/order/pay", form({ order: child, token, method: "ach" }));
    expect(first.status).toBe(303);
    const [spent] = (await eventsOf((await orderRow(child)).id))
      .filter((e) => e.type === "checkout_session_created")
      .map((e) => (e.payload as { sessionId: string }).sessionId);

    // While the debit is pending the page offers nothing to pay.
    await simAndRelay(`checkout/sessions/${spent}/ach`);
    await waitFor(
      async () => ((await orderRow(child)).status === "payment_processing" ? true : undefined),
      20_000,
      "ACH pending",
    );
    expect(await (await call(pathOf(payUrl))).text()).toContain("Your bank payment has started.");

    await simAndRelay(`checkout/sessions/${spent}/ach-fail`);
    await waitFor(
      async () => ((await orderRow(child)).status === "payment_failed" ? true : undefined),
      20_000,
      "ACH failed",
    );
    const page = await (await call(pathOf(payUrl))).text();
    expect(page).toContain("Payment failed");
    expect(page).toContain("Choose how to pay");

    const retry = await call("/order/pay", form({ order: child, token, method: "ach" }));
    expect(retry.status).toBe(303);
    expect(retry.headers.get("location")).not.toBe(first.headers.get("location"));
    const sessions = (await eventsOf((await orderRow(child)).id)).filter((e) => e.type === "checkout_session_created");
    expect(sessions.map((e) => (e.payload as { attempt: number }).attempt)).toEqual([1, 2]);
  });
});

describe("/order/dispute", () => {
  it("takes the note, opens one admin task with the order and amount, and holds the payment", async () => {
    const { child, parent, payUrl, disputeUrl } = await childThroughAdmin();
    const page = await call(pathOf(disputeUrl));
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<form method="post" action="/order/dispute">');
    expect(html).toContain(`maxlength="${DISPUTE_NOTE_MAX}"`);
    expect(html).toContain('<label for="note">');

    const token = disputeUrl.searchParams.get("token")!;
    const note = "We run 3 trucks, not 12 <b>bold</b>";
    const res = await call("/order/dispute", form({ order: child, token, note }));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("the payment is on hold");

    // A second submit (a double click, or later): one task, one dispute.
    const second = await call("/order/dispute", form({ order: child, token, note: "again" }));
    expect(second.status).toBe(409);
    expect(await second.text()).toContain("We already have your report");

    const [row] = await withTestDb((db) => db.select().from(orders).where(eq(orders.number, child)));
    const tasks = await withTestDb((db) =>
      db
        .select()
        .from(adminTasks)
        .where(and(eq(adminTasks.kind, "fee_dispute"), eq(adminTasks.orderId, row!.id))),
    );
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ status: "open", dedupeKey: `fee_dispute:${child}` });
    expect(tasks[0]!.title).toContain(child);
    expect(tasks[0]!.title).toContain(formatCents(FEE_CENTS));
    expect(tasks[0]!.detail).toMatchObject({
      orderNumber: child,
      parentOrderNumber: parent.number,
      amountCents: FEE_CENTS,
      note,
      customerEmail: EMAIL,
    });
    const disputed = (await eventsOf(row!.id)).filter((e) => e.type === "fee_disputed");
    expect(disputed).toHaveLength(1);
    expect(disputed[0]!.payload).toEqual({ note });

    // The pay page now refuses: on hold, no forms, and a POST opens nothing.
    const pay = await call(pathOf(payUrl));
    const payHtml = await pay.text();
    expect(payHtml).toContain("Payment on hold");
    expect(payHtml).not.toContain("<form");
    const post = await call(
      "/order/pay",
      form({ order: child, token: payUrl.searchParams.get("token")!, method: "ach" }),
    );
    expect(post.status).toBe(409);
    expect(await post.text()).toContain("Payment on hold");
    expect((await eventsOf(row!.id)).some((e) => e.type === "checkout_session_created")).toBe(false);

    // Asking again for the disputed amount returns the held child; a corrected amount replaces it.
    const same = await withTestDb((db) => requestGovernmentFee(db, config, parent, { items: ITEMS }));
    expect(same).toMatchObject({ created: false, child: { number: child } });
    const corrected = await withTestDb((db) =>
      requestGovernmentFee(
        db,
        config,
        parent,
        { items: [{ label: "IRP apportioned fee, 3 trucks", cents: 30_000 }] },
        { env: testEnv },
      ),
    );
    expect(corrected).toMatchObject({ created: true, superseded: [child] });
    const [old] = await withTestDb((db) => db.select().from(orders).where(eq(orders.number, child)));
    expect(old!.status).toBe("cancelled");
    const replaced = await call(pathOf(payUrl));
    expect(await replaced.text()).toContain("Nothing to pay here");
  });

  it("expires a Checkout Session left open, so a tab opened before the dispute cannot pay", async () => {
    const { child, payUrl, disputeUrl } = await childThroughAdmin();
    expect(
      (await call("/order/pay", form({ order: child, token: payUrl.searchParams.get("token")!, method: "klarna" })))
        .status,
    ).toBe(303);
    const row = await orderRow(child);
    const [created] = (await eventsOf(row.id)).filter((e) => e.type === "checkout_session_created");
    const id = (created!.payload as { sessionId: string }).sessionId;
    const session = await stripeGet<{ status: string; cancel_url: string }>(`checkout/sessions/${id}`);
    expect(session.status).toBe("open");
    // Stripe's "back" link returns to the pay page.
    const back = new URL(session.cancel_url);
    expect((await call(`${back.pathname}${back.search}`)).status).toBe(200);

    const res = await call(
      "/order/dispute",
      form({ order: child, token: disputeUrl.searchParams.get("token")!, note: "Wrong state" }),
    );
    expect(res.status).toBe(200);
    expect((await stripeGet<{ status: string }>(`checkout/sessions/${id}`)).status).toBe("expired");
  });

  it("refuses an empty or over-long note (422, the text kept) and a foreign origin (403)", async () => {
    const { child, disputeUrl } = await childThroughAdmin();
    const token = disputeUrl.searchParams.get("token")!;
    const empty = await call("/order/dispute", form({ order: child, token, note: "   " }));
    expect(empty.status).toBe(422);
    expect(await empty.text()).toContain("Please tell us what looks wrong.");
    const long = await call("/order/dispute", form({ order: child, token, note: "x".repeat(DISPUTE_NOTE_MAX + 1) }));
    expect(long.status).toBe(422);
    expect(await long.text()).toContain(`under ${DISPUTE_NOTE_MAX} characters`);
    const foreign = await call("/order/dispute", form({ order: child, token, note: "hi" }, { origin: "null" }));
    expect(foreign.status).toBe(403);
    const [row] = await withTestDb((db) => db.select().from(orders).where(eq(orders.number, child)));
    expect((await eventsOf(row!.id)).some((e) => e.type === "fee_disputed")).toBe(false);
  });
});

describe("childPayability", () => {
  const at = (type: string, minutes = 0, payload?: unknown): HistoryEvent => ({
    type,
    occurredAt: new Date(Date.UTC(2026, 0, 1, 0, minutes)),
    payload,
  });
  it("keeps a child payable after its checkout session merely expired, and closes it when cancelled", () => {
    expect(childPayability("pending_payment", [])).toBe("payable");
    expect(childPayability("payment_failed", [])).toBe("payable");
    expect(childPayability("cancelled", [at("checkout_expired")])).toBe("payable");
    expect(childPayability("cancelled", [at("checkout_expired"), at("cancelled", 1)])).toBe("closed");
    expect(childPayability("pending_payment", [at("fee_disputed")])).toBe("on_hold");
    expect(childPayability("pending_payment", [at("fee_disputed"), at("fee_dispute_resolved", 1)])).toBe("payable");
    expect(childPayability("payment_processing", [])).toBe("processing");
    expect(childPayability("paid", [])).toBe("paid");
    expect(childPayability("refunded", [])).toBe("closed");
    expect(childPayability("pending_payment", [at("government_fee_superseded")])).toBe("closed");
  });
});

describe("onChildOrderPaid", () => {
  it("tells the parent once, keyed by the child, and settles the child's lines to what was paid", async () => {
    const { parent, child } = await childThroughAdmin();
    const [row] = await withTestDb((db) => db.select().from(orders).where(eq(orders.number, child)));
    // The session the customer paid with, as the pay page records it.
    await withTestDb((db) =>
      db.insert(orderEvents).values({
        orderId: row!.id,
        type: "checkout_session_created",
        idempotencyKey: "checkout-session:cs_test_paid",
        toStatus: "pending_payment",
        payload: {
          sessionId: "cs_test_paid",
          method: "klarna",
          attempt: 1,
          bps: 600,
          feeCents: FEE_CENTS,
          surchargeCents: 7_407,
          totalCents: FEE_CENTS + 7_407,
        },
        occurredAt: new Date(),
      }),
    );

    expect(await withTestDb((db) => onChildOrderPaid(db, testEnv, { number: child }))).toEqual({
      outcome: "not_paid",
      status: "pending_payment",
    });
    expect(await withTestDb((db) => onChildOrderPaid(db, testEnv, { number: parent.number }))).toEqual({
      outcome: "not_a_child",
    });

    // What the webhook's OrderMachine does when the payment succeeds.
    await withTestDb((db) => db.update(orders).set({ status: "paid" }).where(eq(orders.id, row!.id)));
    const first = await withTestDb((db) =>
      onChildOrderPaid(db, testEnv, { number: child }, { sessionId: "cs_test_paid" }),
    );
    expect(first).toMatchObject({ outcome: "parent_notified", parentNumber: parent.number, settled: "klarna" });
    const second = await withTestDb((db) =>
      onChildOrderPaid(db, testEnv, { number: child }, { sessionId: "cs_test_paid" }),
    );
    expect(second).toMatchObject({ outcome: "parent_notified" });

    const paidEvents = (await eventsOf(parent.id)).filter((e) => e.type === "government_fee_paid");
    expect(paidEvents).toHaveLength(1);
    expect(paidEvents[0]).toMatchObject({
      idempotencyKey: `government_fee_paid:${child}`,
      payload: { childOrder: child, feeCents: FEE_CENTS },
    });

    const [settled] = await withTestDb((db) => db.select().from(orders).where(eq(orders.id, row!.id)));
    expect(settled).toMatchObject({ paymentMethod: "klarna", totalCents: FEE_CENTS + 7_407 });
    expect((settled!.lines as { kind: string; amountCents: number }[]).at(-1)).toMatchObject({
      kind: "surcharge",
      amountCents: 7_407,
    });
    const lines = settled!.lines as { amountCents: number }[];
    expect(lines.reduce((s, l) => s + l.amountCents, 0)).toBe(settled!.totalCents);
  });
});
