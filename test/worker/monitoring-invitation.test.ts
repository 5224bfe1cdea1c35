import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import Stripe from "stripe";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureCustomer } from "../../db/customers";
import { checkouts, customers, orders } from "../../db/schema";
import { signLinkToken, verifyLinkToken, type LinkPurpose } from "../../domain/auth/signed-link";
import { formatCents } from "../../domain/catalog/money";
import { getService } from "../../domain/catalog/services";
import { createApp } from "../../workers/app";
import { appConfig } from "../../workers/env";
import { monitoringLink } from "../../workers/orders/order-links";
import { testEnv, withTestDb } from "../support/db";
import { stripeFake } from "../support/fake-stripe";
import { INTAKE_EXAMPLES } from "../support/intake-examples";
import { buyAndPay } from "../support/orders";

/**
 * The page of the bundle invitation e-mail against the real Postgres and the fake Stripe. The
 * bundles are bought and paid through the real checkout and webhooks (buyAndPay), so their
 * orders, customers and intake are what production stores; the page's POST opens a real Stripe
 * Checkout Session (on the fake) through the same createCheckout as POST /api/checkout.
 *
 * The app is the real one (workers/app.ts), where monitoringInvitationRoutes is mounted on
 * /order before the other order routes.
 */

const app = createApp();
const config = appConfig(testEnv);
const SECRET = config.CUSTOMER_LINK_SECRET!;
const oig = getService("oig-sam-screening")!;
const inAWeek = () => new Date(Date.now() + 7 * 86_400_000);

async function call(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(request, testEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const token = (subject: string, purpose: LinkPurpose = "monitoring", expiresAt = inAWeek(), secret = SECRET) =>
  signLinkToken(secret, { purpose, subject, expiresAt });
const path = (number: string, t: string) => `/order/${number}/monitoring?token=${encodeURIComponent(t)}`;
const get = (p: string) => call(new Request(`http://docket.test${p}`));
const post = (
  p: string,
  fields: Record<string, string>,
  headers: Record<string, string> = { origin: "http://docket.test" },
) =>
  call(
    new Request(`http://docket.test${p}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(fields).toString(),
      redirect: "manual",
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

/** Every checkout of a customer, with its orders' services. */
async function checkoutsOf(email: string) {
  return await withTestDb(async (db) =>
    db
      .select({
        number: checkouts.number,
        sessionId: checkouts.stripeSessionId,
        paymentMethod: checkouts.paymentMethod,
        order: orders.number,
        slug: orders.serviceSlug,
        status: orders.status,
        intake: orders.intake,
        attribution: orders.attribution,
      })
      .from(checkouts)
      .innerJoin(customers, eq(customers.id, checkouts.customerId))
      .innerJoin(orders, eq(orders.checkoutId, checkouts.id))
      .where(and(eq(customers.email, email), eq(orders.serviceSlug, "oig-sam-screening")))
      .orderBy(checkouts.id),
  );
}

const HOSTILE_FIRST = `<script>alert("x")</script>`;
const HOSTILE_LAST = `O'Hara & <b>Sons</b>`;
const BUNDLE_INTAKE = {
  ...INTAKE_EXAMPLES["provider-compliance-bundle"],
  staff: [
    { firstName: HOSTILE_FIRST, lastName: HOSTILE_LAST },
    { firstName: "Ana", lastName: "Ortiz", npi: "1987654328" },
  ],
};
const INVITED = "invited@clinic.test";
const HAS_IT = "monitored@clinic.test";
const OTHER = "CO-2026-000901";
/** A bundle row for the concurrency test (only read by the page; its checkout is the page's own). */
const RACED = "CO-2026-000902";
const RACER = "racer@clinic.test";
let bundle: string;
let monitoredBundle: string;
let existingMonitoring: string;

beforeAll(async () => {
  bundle = (await buyAndPay({ slug: "provider-compliance-bundle", email: INVITED, intake: BUNDLE_INTAKE })).orderNumber;
  monitoredBundle = (
    await buyAndPay({
      slug: "provider-compliance-bundle",
      email: HAS_IT,
      intake: INTAKE_EXAMPLES["provider-compliance-bundle"]!,
    })
  ).orderNumber;
  existingMonitoring = (
    await buyAndPay({ slug: "oig-sam-screening", email: HAS_IT, intake: INTAKE_EXAMPLES["oig-sam-screening"]! })
  ).orderNumber;
  // An order that is not a bundle (read only: its page is refused before anything else).
  await withTestDb(async (db) => {
    const customer = await ensureCustomer(db, { email: "carrier@freight.test" });
    await db.insert(orders).values({
      number: OTHER,
      customerId: customer.id,
      serviceSlug: "boc-3",
      billingInterval: "none",
      status: "completed",
      lines: [],
      totalCents: 0,
      paymentMethod: "card",
    });
    const racer = await ensureCustomer(db, { email: RACER, name: "Rae Cer" });
    await db.insert(orders).values({
      number: RACED,
      customerId: racer.id,
      serviceSlug: "provider-compliance-bundle",
      billingInterval: "year",
      status: "needs_manual_filing",
      lines: [],
      totalCents: 89_900,
      paymentMethod: "card",
      intake: INTAKE_EXAMPLES["provider-compliance-bundle"]!,
    });
  });
}, 120_000);

describe("refused links", () => {
  it("a forged, foreign, wrong-purpose or expired token is a 403 page, GET and POST, and opens nothing", async () => {
    const tokens = [
      ["garbage", "not-a-token"],
      ["other secret", await token(bundle, "monitoring", inAWeek(), "another-secret-another-secret-0000")],
      ["wrong purpose", await token(bundle, "order-view")],
      ["other order", await token(monitoredBundle)],
      ["expired", await token(bundle, "monitoring", new Date(Date.now() - 60_000))],
    ] as const;
    for (const [what, t] of tokens) {
      const page = await get(path(bundle, t));
      expect(page.status, what).toBe(403);
      expect(page.headers.get("cache-control")).toBe("private, no-store");
      const html = await page.text();
      expect(html, what).toMatch(what === "expired" ? /This link has expired/ : /This link does not work/);
      const submit = await post(path(bundle, t), { method: "card" });
      expect(submit.status, what).toBe(403);
    }
    expect(await get(`/order/${bundle}/monitoring`).then((r) => r.status)).toBe(403);
    expect(await checkoutsOf(INVITED)).toEqual([]);
  });

  it("an order that is not a bundle is a 404", async () => {
    const res = await get(path(OTHER, await token(OTHER)));
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("no invitation to monthly monitoring");
    expect((await post(path(OTHER, await token(OTHER)), { method: "card" })).status).toBe(404);
  });
});

describe("GET /order/:number/monitoring", () => {
  it("names the service, its monthly price from the catalog, and who will be screened, escaped", async () => {
    const res = await get(path(bundle, await token(bundle)));
    expect(res.status).toBe(200);
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await res.text();
    expect(html).toContain(oig.displayName);
    expect(html).toContain(`${formatCents(oig.priceCents)} per month`);
    expect(html).toContain("42 CFR 1001.1901");
    expect(html).toContain(INTAKE_EXAMPLES["provider-compliance-bundle"]!.providerName as string);
    expect(html).toContain("1456789019");
    // The staff, typed by the customer, as text.
    expect(html).not.toContain(HOSTILE_FIRST);
    expect(html).not.toContain("<b>Sons</b>");
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(html).toContain("O&#39;Hara &amp; &lt;b&gt;Sons&lt;/b&gt;");
    expect(html).toContain("Ortiz");
    // The methods the service allows (card, ACH), and one button.
    expect(html).toMatch(/<input type="radio" name="method" value="card"/);
    expect(html).toMatch(/<input type="radio" name="method" value="ach"/);
    expect(html).not.toContain('value="klarna"');
    expect(html.match(/Start monthly monitoring<\/button>/g)).toHaveLength(1);
  });

  it("the e-mail's link (monitoringLink) opens the page", async () => {
    const url = new URL(await monitoringLink(config, bundle));
    expect(url.pathname).toBe(`/order/${bundle}/monitoring`);
    const check = await verifyLinkToken(SECRET, url.searchParams.get("token"), {
      purpose: "monitoring",
      subject: bundle,
    });
    expect(check.ok).toBe(true);
    expect((await get(`${url.pathname}${url.search}`)).status).toBe(200);
  });
});

describe("POST /order/:number/monitoring", () => {
  it("refuses a cross-site form with 403 and opens nothing", async () => {
    const t = await token(bundle);
    expect((await post(path(bundle, t), { method: "card" }, { origin: "https://evil.test" })).status).toBe(403);
    expect((await post(path(bundle, t), { method: "card" }, { "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect(await checkoutsOf(INVITED)).toEqual([]);
  });

  it("refuses a method the service does not allow with 422", async () => {
    const t = await token(bundle);
    for (const method of ["klarna", "paypal", ""]) {
      const res = await post(path(bundle, t), { method });
      expect(res.status, method).toBe(422);
      expect(await res.text()).toContain("Please choose one of the payment methods below.");
    }
    expect(await checkoutsOf(INVITED)).toEqual([]);
  });

  it("opens one monitoring checkout with the bundle's screening fields, and a second click reuses it", async () => {
    const t = await token(bundle);
    const first = await post(path(bundle, t), { method: "card" });
    expect(first.status).toBe(303);
    const location = first.headers.get("location")!;
    expect(location).toMatch(new RegExp(`^${stripeFake().url}/checkout/cs_`));

    const rows = await checkoutsOf(INVITED);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({ slug: "oig-sam-screening", status: "pending_payment", paymentMethod: "card" });
    expect(row!.attribution).toMatchObject({ utm_campaign: "bundle_invitation", invited_from_order: bundle });
    // Only the monitoring service's own fields, copied from the bundle (no practice address or PTAN).
    const { practiceAddress: _a, ptan: _p, ...screening }: Record<string, unknown> = BUNDLE_INTAKE;
    expect(row!.intake).toEqual(screening);

    const session = await stripe().checkout.sessions.retrieve(row!.sessionId!);
    expect(session.url).toBe(location);
    expect(session).toMatchObject({ mode: "subscription", client_reference_id: row!.order, status: "open" });

    // A double click: the same session, still one checkout.
    const second = await post(path(bundle, t), { method: "card" });
    expect(second.status).toBe(303);
    expect(second.headers.get("location")).toBe(location);
    expect(await checkoutsOf(INVITED)).toHaveLength(1);
  });

  it("two clicks at the same moment open one checkout", async () => {
    const t = await token(RACED);
    const [a, b] = await Promise.all([
      post(path(RACED, t), { method: "card" }),
      post(path(RACED, t), { method: "card" }),
    ]);
    expect([a.status, b.status]).toEqual([303, 303]);
    expect(a.headers.get("location")).toBe(b.headers.get("location"));
    expect(await checkoutsOf(RACER)).toHaveLength(1);
  });

  it("another method closes the open session and opens a new one, so only one can be paid", async () => {
    const [before] = await checkoutsOf(INVITED);
    const res = await post(path(bundle, await token(bundle)), { method: "ach" });
    expect(res.status).toBe(303);
    const rows = await checkoutsOf(INVITED);
    expect(rows).toHaveLength(2);
    expect(rows[1]!.paymentMethod).toBe("ach");
    expect((await stripe().checkout.sessions.retrieve(before!.sessionId!)).status).toBe("expired");
    expect(res.headers.get("location")).toBe((await stripe().checkout.sessions.retrieve(rows[1]!.sessionId!)).url);
  });
});

describe("a customer who already has monitoring", () => {
  it("sees which order, with no button, and a POST is a 409 that opens nothing", async () => {
    const t = await token(monitoredBundle);
    const page = await get(path(monitoredBundle, t));
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`You already have monthly monitoring (order ${existingMonitoring})`);
    expect(html).not.toContain("Start monthly monitoring</button>");

    const before = await checkoutsOf(HAS_IT);
    const res = await post(path(monitoredBundle, t), { method: "card" });
    expect(res.status).toBe(409);
    expect(await res.text()).toContain(`You already have monthly monitoring (order ${existingMonitoring})`);
    expect(await checkoutsOf(HAS_IT)).toEqual(before);
  });
});
