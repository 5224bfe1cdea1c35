import { sql } from "drizzle-orm";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signTrackingToken, type TrackingClaims } from "../../domain/outreach/tracking-token";
import { testEnv, withTestDb } from "../support/db";

/**
 * The tracking endpoints through the whole Worker (issue 6 item 9): a click goes to the link
 * table's target and is recorded (scanners apart), tampered tokens are 404 and record nothing,
 * no open redirect, the pixel, and one-click unsubscribe (RFC 8058) with any body, at once,
 * idempotent. Test data is inserted with SQL.
 */

// vitest.config.ts binds TRACKING_LINK_SECRET.
const SECRET = (testEnv as typeof testEnv & { TRACKING_LINK_SECRET: string }).TRACKING_LINK_SECRET;
const BROWSER =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15";
const TARGET =
  "http://docket.test/services/ucr?utm_source=docket&utm_medium=email&utm_campaign=ucr-2027&utm_content=link-1";

const call = (path: string, init: RequestInit = {}) =>
  exports.default.fetch(new Request(`http://docket.test${path}`, { redirect: "manual", ...init }));

const token = (claims: TrackingClaims) => signTrackingToken(SECRET, claims);

let seq = 0;

/** A campaign with a tracked link (1) and a government link (2), one sent send, and the recipient's queued send in another campaign. */
async function seed() {
  seq += 1;
  const recipient = `owner${seq}@carrier${seq}.example`;
  return await withTestDb(async (db) => {
    const campaign = async (name: string) => {
      const r = await db.execute<{ id: string }>(sql`
        insert into campaigns (name, status, subject, html, claims, audience, daily_quota, schedule, utm_campaign, created_by)
        values (${name}, 'running', 'Hi', '<p><a href="/services/ucr">UCR</a> <a href="https://safer.fmcsa.dot.gov/">SAFER</a></p>',
                '[]'::jsonb, '{}'::jsonb, 100, '{}'::jsonb, 'ucr-2027', 'admin@docket.test')
        returning id::text`);
      return Number(r.rows[0]!.id);
    };
    const campaignId = await campaign(`c${seq}`);
    const otherCampaignId = await campaign(`c${seq}b`);
    await db.execute(sql`
      insert into campaign_links (campaign_id, idx, url, tracked) values
        (${campaignId}, 1, ${TARGET}, true), (${campaignId}, 2, 'https://safer.fmcsa.dot.gov/', false)`);
    const send = await db.execute<{ id: string }>(sql`
      insert into mail_sends (message_id, kind, recipient, campaign_id, status, sent_at, operator)
      values (${`<c${campaignId}.${seq}@send.docket.test>`}, 'campaign', ${recipient}, ${campaignId}, 'accepted',
              now() - interval '1 hour', 'google')
      returning id::text`);
    const queued = await db.execute<{ id: string }>(sql`
      insert into mail_sends (message_id, kind, recipient, campaign_id, status, operator)
      values (${`<c${otherCampaignId}.${seq}@send.docket.test>`}, 'campaign', ${recipient}, ${otherCampaignId}, 'queued', 'google')
      returning id::text`);
    return { campaignId, recipient, sendId: Number(send.rows[0]!.id), queuedId: Number(queued.rows[0]!.id) };
  });
}

async function eventsOf(sendId: number) {
  return await withTestDb(async (db) => {
    const r = await db.execute<{
      kind: string;
      link_idx: number | null;
      automated: boolean;
      user_agent: string | null;
      ip: string | null;
    }>(sql`select kind, link_idx, automated, user_agent, ip from mail_events where send_id = ${sendId} order by id`);
    return r.rows;
  });
}

async function suppressionOf(address: string) {
  return await withTestDb(async (db) => {
    const r = await db.execute<{ reason: string; source: string }>(
      sql`select reason, source from suppressions where address = ${address}`,
    );
    return r.rows;
  });
}

async function sendStatus(id: number) {
  return await withTestDb(async (db) => {
    const r = await db.execute<{ status: string; cancel_reason: string | null }>(
      sql`select status, cancel_reason from mail_sends where id = ${id}`,
    );
    return r.rows[0];
  });
}

describe("GET /l/<token>", () => {
  it("answers 302 to the link table's target with its UTM parameters, records the click and sets the attribution cookie", async () => {
    const { sendId } = await seed();
    const res = await call(`/l/${await token({ purpose: "click", sendId, linkIdx: 1 })}`, {
      headers: { "user-agent": BROWSER, "cf-connecting-ip": "203.0.113.7" },
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(TARGET);
    expect(res.headers.get("cache-control")).toContain("no-store");
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^docket_send=[A-Za-z0-9_-]+;/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");
    expect(cookie).toContain("Path=/");
    expect(cookie).toContain("Max-Age=2592000");
    expect(cookie).not.toContain("Secure"); // the test site is http
    expect(await eventsOf(sendId)).toEqual([
      { kind: "click", link_idx: 1, automated: false, user_agent: BROWSER, ip: "203.0.113.7" },
    ]);
  });

  it("counts a security scanner's, a HEAD request's and an agent-less click as automated", async () => {
    const { sendId } = await seed();
    const path = `/l/${await token({ purpose: "click", sendId, linkIdx: 1 })}`;
    expect((await call(path, { headers: { "user-agent": "Mozilla/5.0 (compatible; BingPreview/1.0b)" } })).status).toBe(
      302,
    );
    expect((await call(path, { method: "HEAD", headers: { "user-agent": BROWSER } })).status).toBe(302);
    expect((await call(path)).status).toBe(302);
    expect((await eventsOf(sendId)).map((e) => [e.kind, e.automated])).toEqual([
      ["click", true],
      ["click", true],
      ["click", true],
    ]);
  });

  it("is not an open redirect: a url parameter changes nothing", async () => {
    const { sendId } = await seed();
    const t = await token({ purpose: "click", sendId, linkIdx: 1 });
    for (const query of ["?url=https://evil.example/", "?redirect=https%3A%2F%2Fevil.example&next=//evil.example"]) {
      const res = await call(`/l/${t}${query}`, { headers: { "user-agent": BROWSER } });
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toBe(TARGET);
    }
  });

  it("answers 404 and records nothing for a changed character, a wrong purpose, another send, an untracked link", async () => {
    const { sendId } = await seed();
    const good = await token({ purpose: "click", sendId, linkIdx: 1 });
    const flip = (t: string, i: number) => t.slice(0, i) + (t[i] === "A" ? "B" : "A") + t.slice(i + 1);
    const bad = [
      flip(good, 0),
      flip(good, Math.floor(good.length / 2)),
      flip(good, good.length - 1),
      good.slice(0, -1),
      `${good}A`,
      await token({ purpose: "open", sendId }),
      await token({ purpose: "unsubscribe", sendId }),
      await token({ purpose: "click", sendId: sendId + 1000, linkIdx: 1 }),
      await token({ purpose: "click", sendId, linkIdx: 2 }), // the untracked government link
      await token({ purpose: "click", sendId, linkIdx: 9 }),
      await signTrackingToken("another-secret-of-at-least-32-characters", { purpose: "click", sendId, linkIdx: 1 }),
    ];
    const answers = new Set<string>();
    for (const t of bad) {
      const res = await call(`/l/${t}`, { headers: { "user-agent": BROWSER } });
      expect(res.status, t).toBe(404);
      expect(res.headers.get("location")).toBeNull();
      expect(res.headers.get("set-cookie")).toBeNull();
      answers.add(await res.text());
    }
    // Bad signature and unknown send look the same.
    expect(answers.size).toBe(1);
    expect(await eventsOf(sendId)).toEqual([]);
  });
});

describe("GET /o/<token>", () => {
  it("records an open and answers an uncacheable 1×1 transparent GIF", async () => {
    const { sendId } = await seed();
    const res = await call(`/o/${await token({ purpose: "open", sendId })}`, { headers: { "user-agent": BROWSER } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/gif");
    expect(res.headers.get("cache-control")).toContain("no-store");
    const body = new Uint8Array(await res.arrayBuffer());
    expect(new TextDecoder().decode(body.subarray(0, 6))).toBe("GIF89a");
    expect([body[6], body[8]]).toEqual([1, 1]); // width and height
    expect(await eventsOf(sendId)).toEqual([
      { kind: "open", link_idx: null, automated: false, user_agent: BROWSER, ip: null },
    ]);
    expect((await call(`/o/${await token({ purpose: "click", sendId, linkIdx: 1 })}`)).status).toBe(404);
    expect(await eventsOf(sendId)).toHaveLength(1);
  });
});

describe("/u/<token>", () => {
  it("GET shows a confirmation form and records nothing", async () => {
    const { sendId, recipient, queuedId } = await seed();
    const t = await token({ purpose: "unsubscribe", sendId });
    const res = await call(`/u/${t}`, { headers: { "user-agent": BROWSER } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<form method="post"');
    expect(html).toContain(`action="${t}"`);
    expect(html).toContain(recipient);
    expect(await suppressionOf(recipient)).toEqual([]);
    expect(await eventsOf(sendId)).toEqual([]);
    expect(await sendStatus(queuedId)).toEqual({ status: "queued", cancel_reason: null });
  });

  it("POST with RFC 8058's body unsubscribes at once: 200, no redirect, suppressed, waiting sends cancelled", async () => {
    const { sendId, recipient, queuedId } = await seed();
    const res = await call(`/u/${await token({ purpose: "unsubscribe", sendId })}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": "Gmail one-click" },
      body: "List-Unsubscribe=One-Click",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("location")).toBeNull();
    expect(await res.text()).toContain("You are unsubscribed");
    expect(await suppressionOf(recipient)).toEqual([{ reason: "unsubscribe", source: `send:${sendId}` }]);
    expect(await sendStatus(queuedId)).toEqual({ status: "cancelled", cancel_reason: "unsubscribed" });
    // The send that carried the link is left as it was.
    expect((await sendStatus(sendId))!.status).toBe("accepted");
    expect((await eventsOf(sendId)).map((e) => e.kind)).toEqual(["unsubscribe"]);
  });

  it("POST with an empty body works too, and repeating it changes nothing more", async () => {
    const { sendId, recipient, queuedId } = await seed();
    const path = `/u/${await token({ purpose: "unsubscribe", sendId })}`;
    for (let i = 0; i < 3; i++) {
      const res = await call(path, { method: "POST" });
      expect(res.status).toBe(200);
      expect(res.headers.get("location")).toBeNull();
    }
    expect(await suppressionOf(recipient)).toEqual([{ reason: "unsubscribe", source: `send:${sendId}` }]);
    expect(await sendStatus(queuedId)).toEqual({ status: "cancelled", cancel_reason: "unsubscribed" });
    expect((await eventsOf(sendId)).map((e) => e.kind)).toEqual(["unsubscribe"]);
  });

  it("a tampered or foreign token is 404 on GET and POST and unsubscribes no one", async () => {
    const { sendId, recipient, queuedId } = await seed();
    const good = await token({ purpose: "unsubscribe", sendId });
    for (const t of [
      good.slice(0, 5) + (good[5] === "A" ? "B" : "A") + good.slice(6),
      await token({ purpose: "open", sendId }),
      await token({ purpose: "unsubscribe", sendId: sendId + 1000 }),
    ]) {
      expect((await call(`/u/${t}`)).status).toBe(404);
      expect((await call(`/u/${t}`, { method: "POST", body: "List-Unsubscribe=One-Click" })).status).toBe(404);
    }
    expect(await suppressionOf(recipient)).toEqual([]);
    expect(await sendStatus(queuedId)).toEqual({ status: "queued", cancel_reason: null });
    expect(await eventsOf(sendId)).toEqual([]);
  });
});
