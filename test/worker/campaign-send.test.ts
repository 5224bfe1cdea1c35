import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { reconcileStuckSends, sweepForgottenSends } from "../../db/campaign-sends";
import { appConfig } from "../../workers/env";
import { smtpBulkTransport, type BulkMailTransport } from "../../workers/mailer/bulk-transport";
import { sendCampaignBatch, type CampaignBatchItem } from "../../workers/outreach/send-campaign-batch";
import { adminSession } from "../support/admin-session";
import { testEnv, withTestDb } from "../support/db";
import { buyAndPay, call, json, linkIn, mailFor, rawMail, waitForOrder } from "../support/orders";
import { deliverInbound } from "../support/inbound-email";
import { waitFor } from "../support/wait-for";

/**
 * The outreach pipeline end to end, through the paths production uses: a campaign made and
 * approved through the admin API, today's audience built by POST …/build, the campaign-send
 * queue delivering to the real consumer, MxThrottle grants, SMTP into the sink, tracked links
 * through the Worker, and a checkout paid on the fake Stripe.
 */

const config = appConfig(testEnv);
const today = new Date().toISOString().slice(0, 10);
let auth: Record<string, string>;
let seq = 0;

const campaignHtml = `<p>Hello {{display_name}},</p>
<p>FMCSA's records show the MCS-150 for USDOT {{usdot_number}} was last updated on {{mcs150_date}}.</p>
<p><a href="/order/mcs150-update">Update your MCS-150 with Docket</a></p>
<p>Check your record yourself on <a href="https://safer.fmcsa.dot.gov/CompanySnapshot.aspx">SAFER</a>.</p>`;

async function admin(path: string, init: RequestInit = {}) {
  return await call(`/api/admin${path}`, { ...init, headers: { ...auth, ...(init.headers ?? {}) } });
}

/** Prospects at a tagged small-operator domain, verified, never mailed. */
async function addProspects(
  locals: string[],
  domain = "fleet-small.test",
  operator: string | null = "mx:smallhost.test",
) {
  await withTestDb(async (db) => {
    await db.execute(sql`insert into mail_domains (domain, operator, mx_status, tagged_at)
      values (${domain}, ${operator}, 'ok', now()) on conflict (domain) do nothing`);
    for (const local of locals) {
      const email = `${local}@${domain}`;
      const usdot = String(3_100_000 + ++seq);
      await db.execute(sql`insert into prospects (source, source_key, email, domain, fields, deficiencies)
        values ('fmcsa', ${usdot}, ${email}, ${domain},
          ${JSON.stringify({
            legal_name: `${local.toUpperCase()} TRUCKING LLC`,
            display_name: `${local} Trucking`,
            usdot_number: usdot,
            mcs150_date: "2022-03-01",
            state: "TX",
          })}::jsonb, '{mcs150_overdue}')`);
      await db.execute(sql`insert into email_addresses (address, domain, verification_result)
        values (${email}, ${domain}, 'smtp_valid') on conflict (address) do nothing`);
    }
  });
}

async function createCampaign(name: string, quota = 50): Promise<number> {
  const res = await admin(
    "/campaigns",
    json({
      name,
      subject: "{{display_name}}: your MCS-150",
      html: campaignHtml,
      claims: [{ statement: "Your MCS-150 is overdue", backedBy: "mcs150_overdue" }],
      audience: { source: "fmcsa", states: ["TX"] },
      dailyQuota: quota,
      schedule: { startOn: today },
    }),
  );
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { campaign: { id: number } }).campaign.id;
}

async function sendsOf(campaignId: number) {
  return await withTestDb(async (db) => {
    const result = await db.execute<{ id: string; recipient: string; status: string; attempts: number }>(
      sql`select id::text, recipient, status, attempts from mail_sends where campaign_id = ${campaignId} order by id`,
    );
    return result.rows;
  });
}

beforeAll(async () => {
  auth = { authorization: await adminSession() };
});

describe("a campaign from approval to the relay", () => {
  it("sends nothing before an admin approves and starts it", async () => {
    await addProspects(["unapproved-a"], "fleet-unapproved.test", "mx:unapproved.test");
    const id = await createCampaign("Not yet approved");
    const start = await admin(`/campaigns/${id}/start`, { method: "POST" });
    expect(start.status).toBe(409);
    expect(((await start.json()) as { details: { allowed: string[] } }).details.allowed).toEqual(["approve"]);
    expect((await admin(`/campaigns/${id}/build`, { method: "POST" })).status).toBe(409);
    // A dry run shows who would get it, and queues nothing.
    const dry = await admin(`/campaigns/${id}/build?dryRun=1`, { method: "POST" });
    expect(dry.status).toBe(200);
    const report = (await dry.json()) as { dryRun: boolean; campaigns: { selected: number }[] };
    expect(report.dryRun).toBe(true);
    expect(report.campaigns[0]!.selected).toBe(1);
    expect(await sendsOf(id)).toEqual([]);
  });

  it("refuses to approve a template with a price or an untracked foreign link", async () => {
    const res = await admin(
      "/campaigns",
      json({
        name: "Priced",
        subject: "Only $49 this week",
        html: '<p>Go <a href="https://evil.example/x">here</a></p>',
        claims: [],
        audience: { source: "fmcsa" },
        dailyQuota: 10,
        schedule: { startOn: today },
      }),
    );
    const id = ((await res.json()) as { campaign: { id: number } }).campaign.id;
    const approve = await admin(`/campaigns/${id}/approve`, { method: "POST" });
    expect(approve.status).toBe(422);
    const problems = ((await approve.json()) as { details: { problems: string[] } }).details.problems.join("\n");
    expect(problems).toMatch(/no prices/);
    expect(problems).toMatch(/evil\.example/);
  });

  it("builds, queues, throttles, renders and sends once per recipient; a deferral waits", async () => {
    await addProspects(["ana", "ben", "cy", "defer-dee"]);
    const id = await createCampaign("MCS-150 overdue, Texas");
    expect((await admin(`/campaigns/${id}/approve`, { method: "POST" })).status).toBe(200);
    expect((await admin(`/campaigns/${id}/start`, { method: "POST" })).status).toBe(200);
    const build = await admin(`/campaigns/${id}/build`, { method: "POST" });
    expect(build.status).toBe(200);

    const settled = await waitFor(
      async () => {
        // Earlier tests' prospects (also in Texas, never mailed) are in this audience too.
        const rows = (await sendsOf(id)).filter((r) => r.recipient.endsWith("@fleet-small.test"));
        return rows.length === 4 && rows.every((r) => r.status !== "queued" && r.status !== "sending")
          ? rows
          : undefined;
      },
      20_000,
      "the campaign's sends to settle",
    );
    const byRecipient = Object.fromEntries(settled.map((r) => [r.recipient, r]));
    for (const name of ["ana", "ben", "cy"]) {
      expect(byRecipient[`${name}@fleet-small.test`]!.status).toBe("accepted");
      expect(await mailFor(`${name}@fleet-small.test`)).toHaveLength(1);
    }
    const deferred = byRecipient["defer-dee@fleet-small.test"]!;
    expect(deferred.status).toBe("deferred");
    expect(deferred.attempts).toBe(1);
    await withTestDb(async (db) => {
      const { rows } = await db.execute<{ wait: number }>(
        sql`select extract(epoch from next_attempt_at - now())::int as wait from mail_sends where id = ${deferred.id}`,
      );
      expect(rows[0]!.wait).toBeGreaterThan(200);
      const history = await db.execute<{ send_count: number }>(
        sql`select send_count from prospects where email = 'ana@fleet-small.test'`,
      );
      expect(history.rows[0]!.send_count).toBe(1);
    });

    // A second build the same day adds nobody: one row per recipient per campaign.
    const before = (await sendsOf(id)).length;
    await admin(`/campaigns/${id}/build`, { method: "POST" });
    expect(await sendsOf(id)).toHaveLength(before);
    const status = await admin(`/outreach/throttles/${encodeURIComponent("mx:smallhost.test")}`);
    expect(status.status).toBe(200);
    expect(((await status.json()) as { sentToday: number }).sentToday).toBeGreaterThanOrEqual(3);
  });
});

describe("at most once", () => {
  it("a crash between the relay's acceptance and the record is reconciled, never resent", async () => {
    await addProspects(["crash-eve"], "fleet-crash.test", "mx:crashhost.test");
    const id = await createCampaign("Crash test");
    await admin(`/campaigns/${id}/approve`, { method: "POST" });
    // Running without the admin route's enqueue: this test hands the batch to the consumer itself.
    await withTestDb((db) => db.execute(sql`update campaigns set status = 'running' where id = ${id}`));
    const sendId = await withTestDb(async (db) => {
      const { rows } = await db.execute<{ id: string }>(sql`
        insert into mail_sends (message_id, kind, recipient, campaign_id, status, operator, send_day, prospect_id)
        select '<c' || ${id} || '.crash@send.docket.test>', 'campaign', email, ${id}, 'queued', 'mx:crashhost.test',
               current_date, id
        from prospects where email = 'crash-eve@fleet-crash.test'
        returning id::text`);
      return Number(rows[0]!.id);
    });
    const real = smtpBulkTransport(config);
    const crashing: BulkMailTransport = {
      async submitAll(submissions) {
        await real.submitAll(submissions);
        throw new Error("the Worker died after the relay accepted");
      },
    };
    const item = (): CampaignBatchItem => ({
      body: { type: "campaign.send", campaignId: id, operator: "mx:crashhost.test", sendIds: [sendId] },
      attempts: 1,
      ack: () => {},
      retry: () => {},
    });
    await withTestDb(async (db) => {
      await expect(sendCampaignBatch([item()], { env: testEnv, config, db, transport: crashing })).rejects.toThrow(
        /died/,
      );
    });
    expect(await mailFor("crash-eve@fleet-crash.test")).toHaveLength(1);
    expect((await sendsOf(id))[0]!.status).toBe("sending");

    // The queue redelivers the message: the row is claimed already, so nothing goes out again.
    await withTestDb(async (db) => {
      const summary = await sendCampaignBatch([item()], { env: testEnv, config, db });
      expect(summary.claimed).toBe(0);
    });
    expect(await mailFor("crash-eve@fleet-crash.test")).toHaveLength(1);

    // The reconcile job settles it as unknown (only rows older than its threshold).
    await withTestDb(async (db) => {
      expect(await reconcileStuckSends(db, 60)).toBe(0);
      await db.execute(sql`update mail_sends set claimed_at = now() - interval '2 hours' where id = ${sendId}`);
      expect(await reconcileStuckSends(db, 60)).toBe(1);
      const summary = await sendCampaignBatch([item()], { env: testEnv, config, db });
      expect(summary.claimed).toBe(0);
    });
    expect((await sendsOf(id))[0]!.status).toBe("unknown");
    expect(await mailFor("crash-eve@fleet-crash.test")).toHaveLength(1);
  });

  it("withdraws a queued send whose recipient unsubscribed or was suppressed since the build", async () => {
    await addProspects(["gone-fay"], "fleet-gone.test", "mx:gonehost.test");
    const id = await createCampaign("Suppressed after build");
    await admin(`/campaigns/${id}/approve`, { method: "POST" });
    await withTestDb((db) => db.execute(sql`update campaigns set status = 'running' where id = ${id}`));
    const sendId = await withTestDb(async (db) => {
      const { rows } = await db.execute<{ id: string }>(sql`
        insert into mail_sends (message_id, kind, recipient, campaign_id, status, operator, send_day, prospect_id)
        select '<c' || ${id} || '.gone@send.docket.test>', 'campaign', email, ${id}, 'queued', 'mx:gonehost.test',
               current_date, id
        from prospects where email = 'gone-fay@fleet-gone.test'
        returning id::text`);
      await db.execute(
        sql`insert into suppressions (address, reason) values ('gone-fay@fleet-gone.test', 'complaint')`,
      );
      return Number(rows[0]!.id);
    });
    await withTestDb(async (db) => {
      const summary = await sendCampaignBatch(
        [
          {
            body: { type: "campaign.send", campaignId: id, operator: "mx:gonehost.test", sendIds: [sendId] },
            attempts: 1,
            ack: () => {},
            retry: () => {},
          },
        ],
        { env: testEnv, config, db },
      );
      expect(summary).toMatchObject({ cancelled: 1, claimed: 0 });
    });
    expect(await mailFor("gone-fay@fleet-gone.test")).toHaveLength(0);
    const [row] = await withTestDb(
      async (db) =>
        (
          await db.execute<{ status: string; cancel_reason: string }>(
            sql`select status, cancel_reason from mail_sends where id = ${sendId}`,
          )
        ).rows,
    );
    expect(row).toEqual({ status: "cancelled", cancel_reason: "suppressed" });
  });
});

describe("a campaign's funnel", () => {
  it("follows a send to a paid order: sent, opened, clicked, checkout started, paid", async () => {
    await addProspects(["gil"], "fleet-funnel.test", "mx:funnelhost.test");
    const id = await createCampaign("Funnel");
    await admin(`/campaigns/${id}/approve`, { method: "POST" });
    await admin(`/campaigns/${id}/start`, { method: "POST" });
    await admin(`/campaigns/${id}/build`, { method: "POST" });
    const [message] = await waitFor(
      async () => {
        const mail = await mailFor("gil@fleet-funnel.test");
        return mail.length > 0 ? mail : undefined;
      },
      20_000,
      "the campaign message",
    );
    // A hit within seconds of sending is a link scanner's, counted apart; a person comes later.
    await withTestDb((db) =>
      db.execute(
        sql`update mail_sends set sent_at = now() - interval '1 minute' where recipient = 'gil@fleet-funnel.test'`,
      ),
    );
    // The plaintext part shows links as "text (url)": the first match may end in ")".
    const click = new URL((await linkIn(message!.id, "/l/")).replace(/\)$/, ""));
    const open = new URL((await linkIn(message!.id, "/o/")).replace(/\)$/, ""));
    expect((await call(open.pathname, { headers: { "user-agent": "Mozilla/5.0 (Macintosh)" } })).status).toBe(200);
    const landed = await call(click.pathname, {
      redirect: "manual",
      headers: { "user-agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0" },
    });
    expect(landed.status).toBe(302);
    expect(landed.headers.get("location")).toMatch(/\/order\/mcs150-update\?.*utm_campaign=/);
    const cookie = (landed.headers.get("set-cookie") ?? "").split(";")[0]!;
    expect(cookie).toMatch(/^docket_send=/);

    const order = await buyAndPay({
      slug: "mcs150-update",
      email: "gil@fleet-funnel.test",
      headers: { cookie },
    });
    await waitForOrder(order.orderNumber, (o) => o.campaignSendId !== null, "the attribution");

    const funnel = await admin(`/campaigns/${id}/funnel`);
    expect(funnel.status).toBe(200);
    const body = (await funnel.json()) as {
      totals: Record<string, number>;
      byOperator: (Record<string, number> & { operator: string })[];
    };
    expect(body.totals).toMatchObject({ sent: 1, delivered: 1, opened: 1, clicked: 1, checkoutStarted: 1, paid: 1 });
    expect(body.byOperator).toEqual([expect.objectContaining({ operator: "mx:funnelhost.test", sent: 1, paid: 1 })]);
  });
});

describe("sends whose queue message was lost", () => {
  it("are found by the sweep once they are overdue, and not again until overdue again", async () => {
    await addProspects(["lost-ida"], "fleet-lost.test", "mx:losthost.test");
    const id = await createCampaign("Lost message");
    await admin(`/campaigns/${id}/approve`, { method: "POST" });
    await withTestDb((db) => db.execute(sql`update campaigns set status = 'running' where id = ${id}`));
    await withTestDb(async (db) => {
      await db.execute(sql`
        insert into mail_sends (message_id, kind, recipient, campaign_id, status, operator, send_day, prospect_id, created_at)
        select '<c' || ${id} || '.lost@send.docket.test>', 'campaign', email, ${id}, 'queued', 'mx:losthost.test',
               current_date, id, now() - interval '2 hours'
        from prospects where email = 'lost-ida@fleet-lost.test'`);
      const swept = await sweepForgottenSends(db, 30, 1000);
      expect(swept.filter((s) => s.campaignId === id)).toEqual([
        expect.objectContaining({ operator: "mx:losthost.test", campaignId: id }),
      ]);
      expect((await sweepForgottenSends(db, 30, 1000)).filter((s) => s.campaignId === id)).toEqual([]);
    });
  });
});

describe("unsubscribing by mail", () => {
  it("mail to the List-Unsubscribe mailto address suppresses the recipient; a forged one does nothing", async () => {
    await addProspects(["hal"], "fleet-mailto.test", "mx:mailtohost.test");
    const id = await createCampaign("Mailto unsubscribe");
    await admin(`/campaigns/${id}/approve`, { method: "POST" });
    await admin(`/campaigns/${id}/start`, { method: "POST" });
    await admin(`/campaigns/${id}/build`, { method: "POST" });
    const [message] = await waitFor(
      async () => {
        const mail = await mailFor("hal@fleet-mailto.test");
        return mail.length > 0 ? mail : undefined;
      },
      20_000,
      "the campaign message",
    );
    const header = (await rawMail(message!.id)).replace(/\r?\n[ \t]+/g, " ").match(/^List-Unsubscribe: (.*)$/m)?.[1];
    const mailto = /<mailto:([^?>]+)/.exec(header ?? "")?.[1];
    expect(mailto).toMatch(/^unsubscribe\+[0-9a-f]+@send\.docket\.test$/);
    const suppressed = async () =>
      (
        await withTestDb((db) =>
          db.execute<{ reason: string }>(sql`select reason from suppressions where address = 'hal@fleet-mailto.test'`),
        )
      ).rows;

    const forged = mailto!.replace(/\+([0-9a-f])/, (_, c: string) => `+${c === "0" ? "1" : "0"}`);
    const refused = await deliverInbound(
      `From: hal@fleet-mailto.test\r\nTo: ${forged}\r\nSubject: unsubscribe\r\n\r\nunsubscribe\r\n`,
      { from: "hal@fleet-mailto.test", to: forged },
    );
    expect(refused.kind).toBe("unsubscribe");
    expect(await suppressed()).toEqual([]);

    const row = await deliverInbound(
      `From: hal@fleet-mailto.test\r\nTo: ${mailto}\r\nSubject: unsubscribe\r\n\r\nunsubscribe\r\n`,
      { from: "hal@fleet-mailto.test", to: mailto! },
    );
    expect(row).toMatchObject({ kind: "unsubscribe", status: "processed" });
    expect(await suppressed()).toEqual([{ reason: "unsubscribe" }]);
  });
});
