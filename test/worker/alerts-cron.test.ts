import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import {
  alertsSent,
  bounceEvents,
  cronRuns,
  dmarcRecords,
  dmarcReports,
  inboundMessages,
  mailSends,
  mtaDailyAggregates,
} from "../../db/schema";
import { appConfig } from "../../workers/env";
import { raiseAlert } from "../../workers/alerts/raise-alert";
import worker from "../../workers/index";
import { testEnv, withTestDb } from "../support/db";

/**
 * The alert rules end to end: seeded tables → the hourly cron → alerts_sent, and the channels
 * really receiving them: Telegram and the webhook at the capture server (their HTTP boundary),
 * e-mail at the SMTP sink.
 */

const ALERT_CRON = "5 * * * *";
const T1 = Date.UTC(2026, 10, 22, 12, 5); // 2026-11-22 12:05 UTC
const HOUR = 3_600_000;

interface Captured {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}
interface SinkMessage {
  id: string;
  envelope: { from: string; to: string[] };
  subject: string | null;
  date: string;
}

const captureUrl = () => inject("capture").url;

async function captured(): Promise<Captured[]> {
  return (await (await fetch(`${captureUrl()}/__captured`)).json()) as Captured[];
}

async function sinkMessages(since: number, to = "alerts@docket.test"): Promise<SinkMessage[]> {
  const { httpPort } = inject("smtp");
  const all = (await (await fetch(`http://127.0.0.1:${httpPort}/messages`)).json()) as SinkMessage[];
  return all.filter((m) => m.envelope.to.includes(to) && Date.parse(m.date) >= since);
}

async function sinkRaw(id: string): Promise<string> {
  const { httpPort } = inject("smtp");
  const res = await fetch(`http://127.0.0.1:${httpPort}/messages/${id}/raw`);
  return new TextDecoder().decode(await res.arrayBuffer());
}

async function fire(scheduledTime: number) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: ALERT_CRON, scheduledTime }), testEnv, ctx);
  await waitOnExecutionContext(ctx);
}

const dmarcRecord = (
  reportId: number,
  sourceIp: string,
  ours: boolean,
  count: number,
  pass: boolean,
  headerFrom = "docket.test",
) => ({
  reportId,
  sourceIp,
  ours,
  count,
  disposition: pass ? "none" : "reject",
  dkim: pass ? "pass" : "fail",
  spf: pass ? "pass" : "fail",
  dkimAligned: pass,
  spfAligned: pass,
  dmarcPass: pass,
  headerFrom,
  authResults: { dkim: [], spf: [] },
});

const report = (orgName: string, reportId: string, begin: string, end: string) => ({
  orgName,
  reportId,
  domain: "docket.test",
  beginAt: new Date(begin),
  endAt: new Date(end),
  policyPublished: { domain: "docket.test", p: "none", sp: "none", adkim: "r", aspf: "r", pct: 100 },
});

/** Above every threshold somewhere, and just under it (or under the sample) elsewhere. */
async function seed() {
  await withTestDb(async (db) => {
    // DMARC: 203.0.113.7 (ours) passes 90%; .8 passes 96%; .9 fails but only 10 messages.
    // 198.51.100.23 fails 15 + 10 in two reports; .24 fails 19; .25 passes; .27 fails claiming
    // someone else's domain; .26 failed 500 but twelve days ago.
    const [r1, r2, r3] = await db
      .insert(dmarcReports)
      .values([
        report("google.com", "g-1", "2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z"),
        report("Yahoo", "y-1", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z"),
        report("google.com", "g-old", "2026-11-09T00:00:00Z", "2026-11-10T00:00:00Z"),
      ])
      .returning({ id: dmarcReports.id });
    await db
      .insert(dmarcRecords)
      .values([
        dmarcRecord(r1!.id, "203.0.113.7", true, 90, true),
        dmarcRecord(r1!.id, "203.0.113.7", true, 10, false),
        dmarcRecord(r1!.id, "203.0.113.8", true, 96, true),
        dmarcRecord(r1!.id, "203.0.113.8", true, 4, false),
        dmarcRecord(r1!.id, "203.0.113.9", true, 10, false),
        dmarcRecord(r1!.id, "198.51.100.23", false, 15, false),
        dmarcRecord(r2!.id, "198.51.100.23", false, 10, false, "News.Docket.test"),
        dmarcRecord(r1!.id, "198.51.100.24", false, 19, false),
        dmarcRecord(r1!.id, "198.51.100.25", false, 100, true),
        dmarcRecord(r1!.id, "198.51.100.27", false, 30, false, "notdocket.test"),
        dmarcRecord(r3!.id, "198.51.100.26", false, 500, false),
      ]);

    // MTA aggregates, 2026-11-22: yahoo 20% reputation rejects, google 5%, apple 50% of only 20
    // verdicts, Microsoft throttles 75% of attempts; yahoo's bad day three days ago is old news.
    const agg = (
      day: string,
      operator: string,
      outcome: string,
      count: number,
      reasonCode = "x",
      sendingIp = "203.0.113.7",
    ) => ({
      day,
      sendingIp,
      operator,
      outcome,
      reasonCode,
      count,
    });
    await db
      .insert(mtaDailyAggregates)
      .values([
        agg("2026-11-22", "yahoo", "accepted", 80, "2.0.0"),
        agg("2026-11-22", "yahoo", "reject_reputation", 15, "5.7.1:TSS04"),
        agg("2026-11-22", "yahoo", "reject_reputation", 5, "5.7.1", "203.0.113.8"),
        agg("2026-11-22", "google", "accepted", 95, "2.0.0"),
        agg("2026-11-22", "google", "reject_reputation", 5, "5.7.1"),
        agg("2026-11-22", "apple", "accepted", 10, "2.0.0"),
        agg("2026-11-22", "apple", "reject_reputation", 10, "5.7.1"),
        agg("2026-11-22", "microsoft", "throttled", 75, "4.7.650"),
        agg("2026-11-22", "microsoft", "accepted", 25, "2.0.0"),
        agg("2026-11-19", "yahoo", "reject_reputation", 500, "5.7.1"),
      ]);

    // Sends: 200 in the last 24 hours (12 hard bounces = 6%, 1 complaint = 0.5%), and 100 the
    // day before whose bounces are outside the window.
    const at = (ms: number) => new Date(ms);
    const sends = await db
      .insert(mailSends)
      .values(
        Array.from({ length: 200 }, (_, i) => ({
          messageId: `<m${i}@send.docket.test>`,
          kind: "campaign" as const,
          recipient: `r${i}@carrier.test`,
          status: "accepted" as const,
          createdAt: at(T1 - 2 * HOUR),
          sentAt: at(T1 - 2 * HOUR),
        })),
      )
      .returning({ id: mailSends.id });
    const oldSends = await db
      .insert(mailSends)
      .values(
        Array.from({ length: 100 }, (_, i) => ({
          messageId: `<old${i}@send.docket.test>`,
          kind: "campaign" as const,
          recipient: `old${i}@carrier.test`,
          status: "accepted" as const,
          createdAt: at(T1 - 30 * HOUR),
          sentAt: at(T1 - 30 * HOUR),
        })),
      )
      .returning({ id: mailSends.id });
    const inbound = (n: number) => ({
      r2Key: `inbound/2026-11-22/${n}.eml`,
      envelopeFrom: "",
      envelopeTo: "bounces@send.docket.test",
      rawSize: 1000,
      receivedAt: at(T1 - HOUR),
    });
    const [m1, m2, m3] = await db
      .insert(inboundMessages)
      .values([inbound(1), inbound(2), inbound(3)])
      .returning({ id: inboundMessages.id });
    const event = (
      inboundMessageId: number,
      recipientIndex: number,
      sendId: number | null,
      kind: "bounce" | "complaint",
      hardBounce: boolean,
      occurredAt: Date,
    ) => ({
      inboundMessageId,
      recipientIndex,
      sendId,
      recipient: `r${recipientIndex}@carrier.test`,
      kind,
      reason: kind === "complaint" ? "feedback" : hardBounce ? "userunknown" : "mailboxfull",
      hardBounce,
      occurredAt,
    });
    await db.insert(bounceEvents).values([
      ...sends.slice(0, 12).map((s, i) => event(m1!.id, i, s.id, "bounce", true, at(T1 - HOUR))),
      event(m1!.id, 12, sends[12]!.id, "bounce", false, at(T1 - HOUR)), // soft: not a hard bounce
      event(m2!.id, 0, sends[0]!.id, "bounce", true, at(T1 - HOUR)), // the same send reported twice
      event(m2!.id, 1, sends[20]!.id, "complaint", false, at(T1 - HOUR)),
      ...oldSends.slice(0, 50).map((s, i) => event(m3!.id, i, s.id, "bounce", true, at(T1 - 29 * HOUR))),
    ]);
  });
}

const FIRST_WINDOW = [
  "bounce-rate all 2026-11-22",
  "complaint-rate all 2026-11-22",
  "dmarc-pass-rate 203.0.113.7 2026-11-22",
  "dmarc-spoofing 198.51.100.23 2026-11-22",
  "microsoft-throttling microsoft 2026-11-22",
  "reputation-rejects yahoo 2026-11-22",
];

const RULES = [
  "bounce-rate",
  "complaint-rate",
  "dmarc-pass-rate",
  "dmarc-spoofing",
  "microsoft-throttling",
  "reputation-rejects",
];

async function ruleAlerts() {
  const rows = await withTestDb((db) => db.select().from(alertsSent).orderBy(alertsSent.id));
  return rows.filter((r) => RULES.includes(r.rule));
}
const key = (a: { rule: string; subject: string; windowKey: string }) => `${a.rule} ${a.subject} ${a.windowKey}`;

beforeEach(async () => {
  await fetch(`${captureUrl()}/__captured`, { method: "DELETE" });
});

describe("alert rules on cron", () => {
  beforeAll(seed);

  it("fires every rule whose threshold the seeded data crosses, once, to every channel", async () => {
    const start = Date.now();
    await fire(T1);

    const alerts = await ruleAlerts();
    expect(alerts.map(key).sort()).toEqual(FIRST_WINDOW);
    for (const a of alerts) expect(a.deliveries).toEqual({ telegram: "sent", webhook: "sent", email: "sent" });
    const byRule = Object.fromEntries(alerts.map((a) => [a.rule, a]));
    expect(byRule["dmarc-pass-rate"]?.metrics).toMatchObject({ messages: 100, passed: 90, passRate: 0.9 });
    expect(byRule["dmarc-spoofing"]?.metrics).toMatchObject({
      failing: 25,
      headerFrom: ["docket.test", "news.docket.test"],
      reports: 2,
    });
    expect(byRule["reputation-rejects"]?.metrics).toMatchObject({
      rejects: 20,
      verdicts: 100,
      bySendingIp: { "203.0.113.7": 15, "203.0.113.8": 5 },
    });
    expect(byRule["microsoft-throttling"]?.metrics).toMatchObject({ throttled: 75, attempts: 100 });
    expect(byRule["bounce-rate"]?.metrics).toMatchObject({ hardBounces: 12, sent: 200, rate: 0.06 });
    expect(byRule["complaint-rate"]?.metrics).toMatchObject({ complaints: 1, sent: 200 });

    const [run] = await withTestDb((db) => db.select().from(cronRuns).where(eq(cronRuns.job, "alert-rules")));
    expect(run).toMatchObject({ cron: ALERT_CRON, outcome: "succeeded" });
    expect((run?.detail as { sent: string[] }).sent.sort()).toEqual(FIRST_WINDOW);

    // Telegram: the Bot API's sendMessage, once per alert, to the configured chat.
    const requests = await captured();
    const telegram = requests.filter((r) => r.path === "/telegram/bot123456:test-bot-token/sendMessage");
    expect(telegram).toHaveLength(6);
    for (const r of telegram) {
      expect(r.method).toBe("POST");
      expect(r.headers["content-type"]).toBe("application/json");
      expect(r.body).toMatchObject({ chat_id: "-1001234567890" });
    }
    const texts = telegram.map((r) => (r.body as { text: string }).text);
    for (const a of alerts) expect(texts).toContain(`${a.title}\n\n${a.body}`);
    expect(texts.find((t) => t.startsWith("Microsoft throttled 75%"))).toContain("Slow the ramp");

    // Webhook: the generic JSON document, once per alert.
    const webhook = requests.filter((r) => r.path === "/webhook/alerts");
    expect(webhook.map((r) => key(r.body as { rule: string; subject: string; windowKey: string })).sort()).toEqual(
      FIRST_WINDOW,
    );
    expect(webhook.find((r) => (r.body as { rule: string }).rule === "bounce-rate")?.body).toMatchObject({
      subject: "all",
      windowKey: "2026-11-22",
      title: byRule["bounce-rate"]?.title,
      body: byRule["bounce-rate"]?.body,
      metrics: { hardBounces: 12, sent: 200, threshold: 0.05 },
    });
    expect(requests).toHaveLength(12);

    // E-mail: one message per alert at the SMTP sink.
    const mail = await sinkMessages(start);
    expect(mail.map((m) => m.subject).sort()).toEqual(alerts.map((a) => `[Docket alert] ${a.title}`).sort());
    const spoofMail = mail.find((m) => m.subject?.includes("198.51.100.23"));
    const raw = await sinkRaw(spoofMail!.id);
    expect(raw).toContain("X-Docket-Kind: alert");
    expect(raw).toContain("Rule: dmarc-spoofing");
    expect(raw).toContain("Window: 2026-11-22");
  });

  it("sends nothing more in the same window", async () => {
    const start = Date.now();
    await fire(T1 + HOUR);
    expect((await ruleAlerts()).map(key).sort()).toEqual(FIRST_WINDOW);
    expect(await captured()).toEqual([]);
    expect(await sinkMessages(start)).toEqual([]);
    const runs = await withTestDb((db) => db.select().from(cronRuns).where(eq(cronRuns.job, "alert-rules")));
    expect(runs).toHaveLength(2);
    expect(runs.find((r) => r.scheduledAt.getTime() === T1 + HOUR)?.detail).toMatchObject({ sent: [] });
    expect(
      (runs.find((r) => r.scheduledAt.getTime() === T1 + HOUR)?.detail as { firing: string[] }).firing.sort(),
    ).toEqual(FIRST_WINDOW);
  });

  it("repeats rolling-window alerts the next day while they hold; per-day alerts stay with their day", async () => {
    await fire(Date.UTC(2026, 10, 23, 0, 5));
    const next = (await ruleAlerts()).map(key).filter((k) => k.endsWith("2026-11-23"));
    expect(next.sort()).toEqual([
      "bounce-rate all 2026-11-23",
      "complaint-rate all 2026-11-23",
      "dmarc-pass-rate 203.0.113.7 2026-11-23",
      "dmarc-spoofing 198.51.100.23 2026-11-23",
    ]);
    expect((await captured()).filter((r) => r.path === "/webhook/alerts")).toHaveLength(4);
  });

  it("stays quiet when nothing crosses a threshold", async () => {
    // Eight days after the seeded data: the DMARC reports, aggregates and sends are all outside
    // their windows.
    await fire(Date.UTC(2026, 11, 1, 0, 5));
    expect((await ruleAlerts()).filter((a) => a.windowKey >= "2026-11-24")).toEqual([]);
    expect(await captured()).toEqual([]);
  });
});

describe("raiseAlert", () => {
  const alert = (subject: string) => ({
    rule: "complaint",
    subject,
    windowKey: "2026-11-22T12",
    title: `Complaint from ${subject}`,
    body: "A recipient marked a message as spam <and> it was suppressed & logged.",
    metrics: { feedbackType: "abuse" },
  });

  it("sends once per rule, subject and window", async () => {
    const start = Date.now();
    const config = appConfig(testEnv);
    const first = await withTestDb((db) => raiseAlert({ config, db }, alert("a@carrier.test")));
    expect(first).toEqual({ sent: true, deliveries: { telegram: "sent", webhook: "sent", email: "sent" } });
    const again = await withTestDb((db) => raiseAlert({ config, db }, alert("a@carrier.test")));
    expect(again).toEqual({ sent: false, deliveries: {} });

    const requests = await captured();
    expect(requests.map((r) => r.path).sort()).toEqual([
      "/telegram/bot123456:test-bot-token/sendMessage",
      "/webhook/alerts",
    ]);
    expect(requests.find((r) => r.path === "/webhook/alerts")?.body).toEqual({
      rule: "complaint",
      subject: "a@carrier.test",
      windowKey: "2026-11-22T12",
      title: "Complaint from a@carrier.test",
      body: "A recipient marked a message as spam <and> it was suppressed & logged.",
      metrics: { feedbackType: "abuse" },
    });
    expect((await sinkMessages(start)).map((m) => m.subject)).toEqual(["[Docket alert] Complaint from a@carrier.test"]);
    const [row] = await withTestDb((db) =>
      db.select().from(alertsSent).where(eq(alertsSent.subject, "a@carrier.test")),
    );
    expect(row).toMatchObject({ rule: "complaint", deliveries: { telegram: "sent", webhook: "sent", email: "sent" } });
  });

  it("a failing channel does not stop the others, and each result is recorded", async () => {
    const config = {
      ...appConfig(testEnv),
      ALERT_WEBHOOK_URL: `${captureUrl()}/status/500/webhook`,
      ALERT_EMAIL_TO: "reject-alerts@docket.test",
    };
    const result = await withTestDb((db) => raiseAlert({ config, db }, alert("b@carrier.test")));
    expect(result.sent).toBe(true);
    expect(result.deliveries.telegram).toBe("sent");
    expect(result.deliveries.webhook).toMatch(/^HTTP 500: /);
    expect(result.deliveries.email).toMatch(/^rejected at rcpt \(550 5\.1\.1\)/);
    const [row] = await withTestDb((db) =>
      db.select().from(alertsSent).where(eq(alertsSent.subject, "b@carrier.test")),
    );
    expect(row?.deliveries).toEqual(result.deliveries);
    expect((await captured()).map((r) => r.path).sort()).toEqual([
      "/status/500/webhook",
      "/telegram/bot123456:test-bot-token/sendMessage",
    ]);
  });

  it("speaks Slack's format when configured, escaping its markup characters", async () => {
    const config = {
      ...appConfig(testEnv),
      ALERT_WEBHOOK_FORMAT: "slack" as const,
      ALERT_WEBHOOK_URL: `${captureUrl()}/slack/hook`,
    };
    await withTestDb((db) => raiseAlert({ config, db }, alert("c@carrier.test")));
    const slack = (await captured()).find((r) => r.path === "/slack/hook");
    expect(slack?.body).toEqual({
      text: "*Complaint from c@carrier.test*\nA recipient marked a message as spam &lt;and&gt; it was suppressed &amp; logged.",
    });
  });

  it("with no channel configured, the alert is still claimed and recorded", async () => {
    const config = {
      ...appConfig(testEnv),
      TELEGRAM_BOT_TOKEN: undefined,
      ALERT_WEBHOOK_URL: undefined,
      ALERT_EMAIL_TO: undefined,
    };
    const result = await withTestDb((db) => raiseAlert({ config, db }, alert("d@carrier.test")));
    expect(result).toEqual({ sent: true, deliveries: {} });
    expect(await captured()).toEqual([]);
    const [row] = await withTestDb((db) =>
      db.select().from(alertsSent).where(eq(alertsSent.subject, "d@carrier.test")),
    );
    expect(row?.deliveries).toEqual({});
  });
});
