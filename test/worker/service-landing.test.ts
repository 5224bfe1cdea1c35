import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { linkExpiry, linkSecret, signLinkToken } from "../../domain/auth/signed-link";
import { formatCents } from "../../domain/catalog/money";
import { surchargeRatesFromConfig } from "../../domain/catalog/payment-methods";
import { priceCheckout } from "../../domain/catalog/pricing";
import { getService } from "../../domain/catalog/services";
import { signTrackingToken } from "../../domain/outreach/tracking-token";
import { configResult } from "../../workers/env";
import { testEnv, withTestDb } from "../support/db";
import { stripeFake } from "../support/fake-stripe";
import { call } from "../support/orders";

/**
 * The public service page (/order/:slug without a link token), where campaign mail lands: the
 * catalog's name and price and an order form; a tracked click's cookie prefills the prospect's
 * USDOT number and legal name and attributes the checkout; signed wizard links, other /order
 * paths and bad input behave as before and create nothing.
 */

const SLUG = "mcs150-update";
const service = getService(SLUG)!;
const config = configResult(testEnv).config!;
// vitest.config.ts binds TRACKING_LINK_SECRET.
const SECRET = config.TRACKING_LINK_SECRET!;
const PAGE = `/order/${SLUG}`;
const ORIGIN = "http://docket.test";
const BROWSER =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";

const priced = (method: "card" | "ach" | "klarna") => {
  const result = priceCheckout([{ slug: SLUG }], method, null, surchargeRatesFromConfig(config), new Date());
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.pricing;
};

function post(fields: Record<string, string>, headers: Record<string, string> = {}, path = PAGE) {
  return call(path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: "manual",
  });
}

/** A campaign whose link 1 goes to the service page, a prospect and a send to it; returns the send id. */
async function campaignSend(name: string, prospect: { usdot: string; legalName: string; email: string }) {
  return await withTestDb(async (db) => {
    const c = await db.execute<{ id: string }>(sql`
      insert into campaigns (name, status, subject, html, claims, audience, daily_quota, schedule, utm_campaign, created_by)
      values (${name}, 'running', 'Hi', '<p><a href="/order/mcs150-update">Update</a></p>', '[]'::jsonb, '{}'::jsonb,
              100, '{}'::jsonb, ${name}, 'admin@docket.test')
      returning id::text`);
    const campaignId = Number(c.rows[0]!.id);
    await db.execute(sql`
      insert into campaign_links (campaign_id, idx, url, tracked)
      values (${campaignId}, 1,
              ${`${ORIGIN}${PAGE}?utm_source=docket&utm_medium=email&utm_campaign=${name}&utm_content=link-1`}, true)`);
    const p = await db.execute<{ id: string }>(sql`
      insert into prospects (source, source_key, email, domain, fields)
      values ('fmcsa', ${prospect.usdot}, ${prospect.email}, ${prospect.email.split("@")[1]!},
              ${JSON.stringify({ usdot_number: prospect.usdot, legal_name: prospect.legalName, city: "Dayton", state: "OH" })}::jsonb)
      returning id::text`);
    const s = await db.execute<{ id: string }>(sql`
      insert into mail_sends (message_id, kind, recipient, campaign_id, prospect_id, status, operator, sent_at)
      values (${`<${crypto.randomUUID()}@send.docket.test>`}, 'campaign', ${prospect.email}, ${campaignId},
              ${Number(p.rows[0]!.id)}, 'accepted', 'google', now() - interval '2 hours')
      returning id::text`);
    return Number(s.rows[0]!.id);
  });
}

/** Follows the send's tracked link 1: where it leads and the cookie it sets (as a request header value). */
async function click(sendId: number): Promise<{ location: string; cookie: string }> {
  const res = await call(`/l/${await signTrackingToken(SECRET, { purpose: "click", sendId, linkIdx: 1 })}`, {
    redirect: "manual",
    headers: { "user-agent": BROWSER },
  });
  expect(res.status).toBe(302);
  return { location: res.headers.get("location")!, cookie: res.headers.get("set-cookie")!.split(";")[0]! };
}

interface CheckoutRows {
  checkout: { number: string; campaign_send_id: string | null; payment_method: string } | undefined;
  orders: { number: string; campaign_send_id: string | null; intake: unknown; attribution: unknown }[];
}

async function checkoutBySession(sessionId: string): Promise<CheckoutRows> {
  return await withTestDb(async (db) => {
    const k = await db.execute<{ id: string; number: string; campaign_send_id: string | null; payment_method: string }>(
      sql`select id::text, number, campaign_send_id::text, payment_method from checkouts where stripe_session_id = ${sessionId}`,
    );
    const row = k.rows[0];
    if (!row) return { checkout: undefined, orders: [] };
    const o = await db.execute<CheckoutRows["orders"][number]>(
      sql`select number, campaign_send_id::text, intake, attribution from orders where checkout_id = ${row.id}::bigint`,
    );
    return {
      checkout: { number: row.number, campaign_send_id: row.campaign_send_id, payment_method: row.payment_method },
      orders: o.rows,
    };
  });
}

async function countRows(): Promise<{ checkouts: number; customers: number }> {
  return await withTestDb(async (db) => {
    const r = await db.execute<{ k: string; c: string }>(
      sql`select (select count(*) from checkouts)::text as k, (select count(*) from customers)::text as c`,
    );
    return { checkouts: Number(r.rows[0]!.k), customers: Number(r.rows[0]!.c) };
  });
}

/** The session id of a 303 to the fake Stripe's hosted checkout page. */
function stripeSession(res: Response): string {
  expect(res.status).toBe(303);
  const location = res.headers.get("location")!;
  expect(location.startsWith(`${stripeFake().url}/checkout/`)).toBe(true);
  return decodeURIComponent(location.slice(`${stripeFake().url}/checkout/`.length));
}

const valid = (email: string, extra: Record<string, string> = {}) => ({
  email,
  name: "Pat Owner",
  company: "",
  method: "card",
  usdotNumber: "1234567",
  ...extra,
});

describe("GET /order/:slug (no token)", () => {
  it("shows the service's name, its catalog price for the default method with the surcharge, and the form", async () => {
    const res = await call(PAGE);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const html = await res.text();
    expect(html).toContain(`<h1>${service.displayName}</h1>`);
    expect(html).toContain(service.regulation);
    const card = priced("card");
    expect(html).toContain(formatCents(service.priceCents));
    expect(card.totals.surchargeCents).toBeGreaterThan(0);
    expect(html).toContain(formatCents(card.totals.surchargeCents));
    expect(html).toContain(formatCents(card.totals.totalCents));
    expect(html).toContain(formatCents(priced("klarna").totals.totalCents));
    expect(html).toContain(`<form method="post" action="${PAGE}"`);
    for (const field of ["email", "name", "company", "usdotNumber"]) expect(html).toContain(`name="${field}"`);
    for (const method of service.allowedMethods) expect(html).toContain(`value="${method}"`);
    expect(html).toMatch(/value="card" id="method" checked=""/);
  });

  it("leaves signed wizard links to the intake wizard", async () => {
    // An order to open the wizard for, made through this page.
    const sessionId = stripeSession(await post(valid("wizard@landing.example")));
    const { orders } = await checkoutBySession(sessionId);
    const number = orders[0]!.number;
    const token = await signLinkToken(linkSecret(config), {
      purpose: "intake",
      subject: number,
      expiresAt: linkExpiry(config),
    });
    const wizard = await call(`${PAGE}?order=${number}&token=${encodeURIComponent(token)}`);
    expect(wizard.status).toBe(200);
    const html = await wizard.text();
    expect(html).toContain(number);
    expect(html).not.toContain("Continue to payment");

    const forged = await call(`${PAGE}?order=${number}&token=forged`);
    expect(forged.status).toBe(403);
    expect(await forged.text()).not.toContain("Continue to payment");
  });

  it("does not answer a slug that is not in the catalog", async () => {
    const res = await call("/order/no-such-service");
    expect(res.status).not.toBe(200);
    expect(await res.text()).not.toContain("Continue to payment");
    const posted = await post(valid("nobody@landing.example"), {}, "/order/no-such-service");
    expect(posted.status).not.toBe(303);
  });
});

describe("a tracked campaign click", () => {
  it("prefills the prospect's USDOT number and legal name, escaped, and never the recipient's address", async () => {
    const recipient = "dispatch@oneil-freight.example";
    const sendId = await campaignSend("landing-prefill", {
      usdot: "3141592",
      legalName: "O'Neil & Sons <Freight> LLC",
      email: recipient,
    });
    const { location, cookie } = await click(sendId);
    expect(location.startsWith(`${ORIGIN}${PAGE}?`)).toBe(true);
    const res = await call(location.slice(ORIGIN.length), { headers: { cookie } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/name="usdotNumber" value="3141592"/);
    expect(html).toContain('name="company" value="O&#39;Neil &amp; Sons &lt;Freight&gt; LLC"');
    expect(html).not.toContain("<Freight>");
    expect(html).not.toContain(recipient);
    expect(html).not.toContain("Dayton");
    // The utm parameters stay on the form so the POST records them.
    expect(html).toContain("utm_campaign=landing-prefill");

    // Without the cookie, nothing is prefilled.
    const plain = await (await call(location.slice(ORIGIN.length))).text();
    expect(plain).toMatch(/name="usdotNumber" value=""/);
    expect(plain).not.toContain("O&#39;Neil");
  });

  it("POST with the cookie: 303 to Stripe Checkout; the checkout and its order carry the send, the USDOT and the utm", async () => {
    const sendId = await campaignSend("landing-post", {
      usdot: "2718281",
      legalName: "Euler Hauling Inc",
      email: "ops@euler-hauling.example",
    });
    const { location, cookie } = await click(sendId);
    const res = await post(
      valid("Buyer@Landing.example", { company: "Euler Hauling Inc", usdotNumber: "USDOT 2718281", method: "ach" }),
      { cookie },
      location.slice(ORIGIN.length),
    );
    const rows = await checkoutBySession(stripeSession(res));
    expect(rows.checkout).toMatchObject({ campaign_send_id: String(sendId), payment_method: "ach" });
    expect(rows.orders).toHaveLength(1);
    expect(rows.orders[0]).toMatchObject({
      campaign_send_id: String(sendId),
      intake: { usdotNumber: "2718281" },
      attribution: { utm_source: "docket", utm_medium: "email", utm_campaign: "landing-post", utm_content: "link-1" },
    });
    const events = await withTestDb((db) =>
      db.execute<{ n: string }>(
        sql`select count(*)::text as n from mail_events where send_id = ${sendId} and kind = 'checkout'`,
      ),
    );
    expect(events.rows[0]!.n).toBe("1");
    const customer = await withTestDb((db) =>
      db.execute<{ name: string; company: string }>(
        sql`select name, company from customers where email = 'buyer@landing.example'`,
      ),
    );
    expect(customer.rows).toEqual([{ name: "Pat Owner", company: "Euler Hauling Inc" }]);
  });

  it("POST without a cookie, or with a forged one, checks out unattributed", async () => {
    const sendId = await campaignSend("landing-forged", {
      usdot: "1414213",
      legalName: "Root Carriers",
      email: "ops@root-carriers.example",
    });
    const genuine = (await click(sendId)).cookie.slice("docket_send=".length);
    const forged = genuine.slice(0, 3) + (genuine[3] === "A" ? "B" : "A") + genuine.slice(4);
    const otherSecret = await signTrackingToken("another-secret-of-at-least-32-characters", {
      purpose: "attribution",
      sendId,
      issuedAt: new Date(),
    });
    const cases: [string, Record<string, string>][] = [
      ["none", {}],
      ["forged", { cookie: `docket_send=${forged}` }],
      ["other-secret", { cookie: `docket_send=${otherSecret}` }],
      ["garbage", { cookie: "docket_send=not-a-token%%" }],
    ];
    for (const [label, headers] of cases) {
      const rows = await checkoutBySession(stripeSession(await post(valid(`${label}@landing.example`), headers)));
      expect(rows.checkout?.campaign_send_id, label).toBeNull();
      expect(
        rows.orders.map((o) => o.campaign_send_id),
        label,
      ).toEqual([null]);
      expect(rows.orders[0]!.intake, label).toEqual({ usdotNumber: "1234567" });
    }
  });
});

describe("POST /order/:slug refusals", () => {
  it("refuses a cross-site post and creates nothing", async () => {
    const before = await countRows();
    const attempts: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: ORIGIN, "sec-fetch-site": "cross-site" },
    ];
    for (const headers of attempts) {
      const res = await post(valid("crosssite@landing.example"), headers);
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("This form must be sent from our site");
    }
    expect(await countRows()).toEqual(before);
  });

  it("answers 422 with each problem next to its field and creates nothing", async () => {
    const before = await countRows();
    const res = await post(valid("not-an-address", { usdotNumber: "012345", method: "paypal", name: " " }));
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain("Enter a valid e-mail address");
    expect(html).toContain("a USDOT number is 1 to 8 digits");
    expect(html).toContain("Choose how you want to pay");
    expect(html).toContain("Enter your name");
    expect(html).toContain('aria-invalid="true"');
    // What was typed stays in the form.
    expect(html).toContain('value="not-an-address"');
    expect(await countRows()).toEqual(before);

    // The MCS-150's intake requires the USDOT number, so the form does too.
    const missing = await post(valid("missing-usdot@landing.example", { usdotNumber: " " }));
    expect(missing.status).toBe(422);
    expect(await missing.text()).toContain("Enter your USDOT number");
    expect(await countRows()).toEqual(before);

    const bodyless = await call(PAGE, { method: "POST", headers: { origin: ORIGIN }, redirect: "manual" });
    expect(bodyless.status).toBe(422);
    expect(await countRows()).toEqual(before);
  });
});
