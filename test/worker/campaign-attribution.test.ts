import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { campaignFunnel } from "../../db/campaign-funnel";
import { signTrackingToken } from "../../domain/outreach/tracking-token";
import { testEnv, withTestDb } from "../support/db";
import { buyAndPay, call, json, waitForOrder } from "../support/orders";

/**
 * Attribution (issue 6 item 10): a tracked click's cookie carried into POST /api/checkout records
 * the send on the checkout and its orders, a forged or stale cookie is ignored without failing
 * the checkout, and a campaign's funnel counts every stage, in total and per receiving operator,
 * up to a paid order.
 */

// vitest.config.ts binds TRACKING_LINK_SECRET.
const SECRET = (testEnv as typeof testEnv & { TRACKING_LINK_SECRET: string }).TRACKING_LINK_SECRET;
const BROWSER =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";
const SCANNER = "Mozilla/5.0 (compatible; BingPreview/1.0b)";

async function createCampaign(name: string): Promise<number> {
  return await withTestDb(async (db) => {
    const r = await db.execute<{ id: string }>(sql`
      insert into campaigns (name, status, subject, html, claims, audience, daily_quota, schedule, utm_campaign, created_by)
      values (${name}, 'running', 'Hi', '<p><a href="/services/ucr">UCR</a></p>', '[]'::jsonb, '{}'::jsonb, 100,
              '{}'::jsonb, ${name}, 'admin@docket.test')
      returning id::text`);
    const id = Number(r.rows[0]!.id);
    await db.execute(sql`
      insert into campaign_links (campaign_id, idx, url, tracked)
      values (${id}, 1, ${`http://docket.test/services/ucr?utm_source=docket&utm_medium=email&utm_campaign=${name}&utm_content=link-1`}, true)`);
    return id;
  });
}

async function addSend(
  campaignId: number,
  recipient: string,
  status: string,
  operator: string | null,
): Promise<number> {
  return await withTestDb(async (db) => {
    const r = await db.execute<{ id: string }>(sql`
      insert into mail_sends (message_id, kind, recipient, campaign_id, status, operator, sent_at)
      values (${`<${crypto.randomUUID()}@send.docket.test>`}, 'campaign', ${recipient}, ${campaignId}, ${status}, ${operator},
              case when ${status} in ('queued', 'deferred') then null else now() - interval '2 hours' end)
      returning id::text`);
    return Number(r.rows[0]!.id);
  });
}

/** Clicks the send's link 1 as `userAgent`; the cookie the answer sets, as a request header value. */
async function click(sendId: number, userAgent = BROWSER): Promise<string> {
  const res = await call(`/l/${await signTrackingToken(SECRET, { purpose: "click", sendId, linkIdx: 1 })}`, {
    redirect: "manual",
    headers: { "user-agent": userAgent },
  });
  expect(res.status).toBe(302);
  return res.headers.get("set-cookie")!.split(";")[0]!;
}

async function open(sendId: number, userAgent = BROWSER): Promise<void> {
  const res = await call(`/o/${await signTrackingToken(SECRET, { purpose: "open", sendId })}`, {
    headers: { "user-agent": userAgent },
  });
  expect(res.status).toBe(200);
}

async function checkout(email: string, cookie?: string) {
  const res = await call(
    "/api/checkout",
    json(
      { items: [{ slug: "ucr-registration" }], customer: { email, name: "Pat Owner" }, paymentMethod: "card" },
      cookie === undefined ? {} : { cookie },
    ),
  );
  expect(res.status).toBe(201);
  const body = (await res.json()) as { orderNumbers: string[]; checkoutNumber: string };
  return await withTestDb(async (db) => {
    const k = await db.execute<{ campaign_send_id: string | null }>(
      sql`select campaign_send_id::text from checkouts where number = ${body.checkoutNumber}`,
    );
    const o = await db.execute<{ campaign_send_id: string | null }>(
      sql`select campaign_send_id::text from orders where number = any(${sql.param(body.orderNumbers)}::text[])`,
    );
    return {
      checkout: k.rows[0]!.campaign_send_id,
      orders: o.rows.map((r) => r.campaign_send_id),
    };
  });
}

async function checkoutEvents(sendId: number): Promise<number> {
  return await withTestDb(async (db) => {
    const r = await db.execute<{ n: string }>(
      sql`select count(*)::text as n from mail_events where send_id = ${sendId} and kind = 'checkout'`,
    );
    return Number(r.rows[0]!.n);
  });
}

describe("checkout attribution", () => {
  it("a tracked click's cookie carried into POST /api/checkout records the send on the checkout and its orders", async () => {
    const campaignId = await createCampaign("attr-1");
    const sendId = await addSend(campaignId, "fleet@attr1.example", "accepted", "google");
    const cookie = await click(sendId);
    expect(await checkout("buyer1@attr.example", cookie)).toEqual({
      checkout: String(sendId),
      orders: [String(sendId)],
    });
    expect(await checkoutEvents(sendId)).toBe(1);
  });

  it("ignores a forged, foreign-purpose, stale or unknown-send cookie without failing the checkout", async () => {
    const campaignId = await createCampaign("attr-2");
    const sendId = await addSend(campaignId, "fleet@attr2.example", "accepted", "google");
    const genuine = (await click(sendId)).slice("docket_send=".length);
    const day = 86_400_000;
    const cookies = [
      genuine.slice(0, 3) + (genuine[3] === "A" ? "B" : "A") + genuine.slice(4),
      await signTrackingToken(SECRET, { purpose: "click", sendId, linkIdx: 1 }),
      await signTrackingToken(SECRET, { purpose: "open", sendId }),
      await signTrackingToken(SECRET, { purpose: "attribution", sendId, issuedAt: new Date(Date.now() - 31 * day) }),
      await signTrackingToken(SECRET, { purpose: "attribution", sendId: sendId + 1000, issuedAt: new Date() }),
      await signTrackingToken("another-secret-of-at-least-32-characters", {
        purpose: "attribution",
        sendId,
        issuedAt: new Date(),
      }),
      "not-a-token%%",
    ];
    for (const [i, value] of cookies.entries()) {
      expect(await checkout(`buyer2-${i}@attr.example`, `docket_send=${value}`), value).toEqual({
        checkout: null,
        orders: [null],
      });
    }
    expect(await checkoutEvents(sendId)).toBe(0);
  });
});

describe("campaign funnel", () => {
  it("counts sent, delivered, opened, clicked, checkout started and paid, in total and per operator", async () => {
    const campaignId = await createCampaign("funnel");
    const other = await createCampaign("funnel-other");
    const g1 = await addSend(campaignId, "a@g1.example", "delivered", "google");
    const g2 = await addSend(campaignId, "b@g2.example", "accepted", "google");
    await addSend(campaignId, "c@g3.example", "bounced", "google");
    const m1 = await addSend(campaignId, "d@m1.example", "accepted", "microsoft");
    const m2 = await addSend(campaignId, "e@m2.example", "unknown", "microsoft");
    await addSend(campaignId, "f@m3.example", "queued", "microsoft");
    await addSend(campaignId, "g@u1.example", "accepted", null);
    await addSend(campaignId, "h@u2.example", "cancelled", null);
    const elsewhere = await addSend(other, "a@g1.example", "accepted", "google");

    // g1: opened (pixel), clicked, checked out and paid.
    await open(g1);
    const cookie = await click(g1);
    const paid = await buyAndPay({
      slug: "ucr-registration",
      email: "payer@funnel.example",
      intake: { usdotNumber: "3141592" },
      headers: { cookie },
    });
    await waitForOrder(paid.orderNumber, (o) => o.campaignSendId === g1, "the attribution");
    // g2: a click with no open recorded (images blocked) counts as opened; a second click changes nothing.
    await click(g2);
    await click(g2);
    // m1: only a scanner clicked, twice: neither opened nor clicked.
    await click(m1, SCANNER);
    await click(m1, SCANNER);
    // m2: opened, started a checkout, never paid, then unsubscribed.
    await open(m2);
    await checkout("m2@funnel.example", await click(m2));
    const unsub = await call(`/u/${await signTrackingToken(SECRET, { purpose: "unsubscribe", sendId: m2 })}`, {
      method: "POST",
      body: "List-Unsubscribe=One-Click",
    });
    expect(unsub.status).toBe(200);
    // u1: nothing. The other campaign's send is not counted here.
    await click(elsewhere);

    const funnel = await withTestDb((db) => campaignFunnel(db, campaignId));
    expect(funnel.totals).toEqual({
      queued: 1,
      sent: 6,
      delivered: 5,
      opened: 3,
      clicked: 3,
      automatedClicks: 2,
      checkoutStarted: 2,
      paid: 1,
      unsubscribed: 1,
      bounced: 1,
    });
    const zero = {
      queued: 0,
      sent: 0,
      delivered: 0,
      opened: 0,
      clicked: 0,
      automatedClicks: 0,
      checkoutStarted: 0,
      paid: 0,
      unsubscribed: 0,
      bounced: 0,
    };
    expect(funnel.byOperator).toEqual([
      {
        ...zero,
        operator: "google",
        sent: 3,
        delivered: 2,
        opened: 2,
        clicked: 2,
        checkoutStarted: 1,
        paid: 1,
        bounced: 1,
      },
      {
        ...zero,
        operator: "microsoft",
        queued: 1,
        sent: 2,
        delivered: 2,
        opened: 1,
        clicked: 1,
        automatedClicks: 2,
        checkoutStarted: 1,
        unsubscribed: 1,
      },
      { ...zero, operator: "untagged", sent: 1, delivered: 1 },
    ]);
  });
});
