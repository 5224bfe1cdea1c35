import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openDb, type DbHandle } from "../../db/client";
import type { AppConfig } from "../../domain/config/app-config";
import { EXCLUSION_REASONS, remainingCaps, untaggedCap } from "../../domain/outreach/audience-rules";
import { catchAllGate, type CatchAllSettings } from "../../domain/outreach/catch-all-gate";
import type { CampaignSendMessage } from "../../domain/queues/queue-messages";
import { audienceReportText } from "../../workers/outreach/audience-report-text";
import { buildAudience, type AudienceReport } from "../../workers/outreach/build-audience";
import { appConfig } from "../../workers/env";
import { testEnv } from "../support/db";
import {
  addCampaign,
  addEarlierSend,
  addProspects,
  addSentHistory,
  excludeDomain,
  prospectsAt,
  resetOutreach,
  suppress,
  tagDomains,
  warmupStartFor,
} from "../support/outreach-fixtures";

// The real clock: rows the build writes get created_at = now() in Postgres, and the cool-off
// compares those with `now`.
const NOW = new Date();
const DAY_MS = 86_400_000;
const BIG = ["google", "microsoft", "yahoo", "apple", "comcast"] as const;
// A small ramp so caps bind with a handful of prospects: day 1 → 2, day 8 → 4, day 29 → 6, day 36 → 9.
const SMALL_RAMP: AppConfig["OUTREACH_RAMP"] = [
  [1, 2],
  [8, 4],
  [29, 6],
  [36, 9],
];

function config(day: number, overrides: Partial<AppConfig> = {}): AppConfig {
  return { ...appConfig(testEnv), OUTREACH_WARMUP_START: warmupStartFor(NOW, day), ...overrides };
}

let handle: DbHandle;
const db = () => handle.db;

beforeAll(() => {
  handle = openDb(testEnv);
});
afterAll(async () => {
  await handle.close();
});
beforeEach(async () => {
  await resetOutreach(db());
});

interface Captured {
  bodies: CampaignSendMessage[];
  enqueue: (bodies: CampaignSendMessage[]) => Promise<void>;
}

function capture(): Captured {
  const bodies: CampaignSendMessage[] = [];
  return {
    bodies,
    enqueue: async (b) => {
      bodies.push(...b);
    },
  };
}

async function build(cfg: AppConfig, options: { campaignId?: number; now?: Date } = {}) {
  const captured = capture();
  const report = await buildAudience(db(), cfg, { now: options.now ?? NOW, ...options, enqueue: captured.enqueue });
  return { report, bodies: captured.bodies };
}

async function dryRun(cfg: AppConfig, options: { campaignId?: number; now?: Date } = {}) {
  return await buildAudience(db(), cfg, { now: options.now ?? NOW, ...options, dryRun: true });
}

async function sends(campaignId?: number) {
  const result = await db().execute<{
    id: string;
    recipient: string;
    prospect_id: string;
    operator: string | null;
    send_day: string;
    status: string;
    kind: string;
    message_id: string;
  }>(sql`
    select id::text, recipient, prospect_id::text, operator, send_day::text, status, kind, message_id
    from mail_sends where send_day is not null ${campaignId === undefined ? sql`` : sql`and campaign_id = ${campaignId}`}
    order by recipient`);
  return result.rows;
}

async function countSends(): Promise<number> {
  const result = await db().execute<{ n: number }>(sql`select count(*)::int as n from mail_sends`);
  return Number(result.rows[0]!.n);
}

function only(report: AudienceReport) {
  expect(report.campaigns).toHaveLength(1);
  return report.campaigns[0]!;
}

const day = NOW.toISOString().slice(0, 10);

describe("catch-all gate (pure)", () => {
  const settings: CatchAllSettings = {
    OUTREACH_CATCH_ALL: "auto",
    OUTREACH_CATCH_ALL_MIN_DAY: 21,
    OUTREACH_CATCH_ALL_MAX_BOUNCE_PCT: 8,
    OUTREACH_CATCH_ALL_MIN_SENDS: 300,
  };

  it("stays closed before the minimum warm-up day, whatever the history", () => {
    expect(catchAllGate({ day: 20, recentSent: 5_000, recentBounced: 0 }, settings)).toEqual({
      open: false,
      reason: "warm-up day 20 < 21",
    });
  });

  it("opens on day 25 with 400 sends and a 2% bounce rate", () => {
    const gate = catchAllGate({ day: 25, recentSent: 400, recentBounced: 8 }, settings);
    expect(gate.open).toBe(true);
    expect(gate.reason).toContain("bounce rate 2.0% < 8%");
  });

  it("stays closed at a 10% bounce rate, and at exactly the maximum", () => {
    expect(catchAllGate({ day: 25, recentSent: 400, recentBounced: 40 }, settings)).toEqual({
      open: false,
      reason: "bounce rate 10.0% ≥ 8% over 2 days",
    });
    expect(catchAllGate({ day: 25, recentSent: 400, recentBounced: 32 }, settings).open).toBe(false);
    expect(catchAllGate({ day: 25, recentSent: 400, recentBounced: 31 }, settings).open).toBe(true);
  });

  it("stays closed on too few sends for the rate to mean anything", () => {
    expect(catchAllGate({ day: 40, recentSent: 299, recentBounced: 0 }, settings)).toEqual({
      open: false,
      reason: "only 299 sends in 2 days < 300",
    });
    expect(catchAllGate({ day: 40, recentSent: 0, recentBounced: 0 }, settings).open).toBe(false);
  });

  it("is forced either way by the override", () => {
    expect(
      catchAllGate({ day: 1, recentSent: 0, recentBounced: 0 }, { ...settings, OUTREACH_CATCH_ALL: "on" }),
    ).toEqual({ open: true, reason: "forced on" });
    expect(
      catchAllGate({ day: 90, recentSent: 10_000, recentBounced: 0 }, { ...settings, OUTREACH_CATCH_ALL: "off" }),
    ).toEqual({ open: false, reason: "forced off" });
  });
});

describe("caps (pure)", () => {
  it("untagged cap: the larger of the quota and 200, unless configured", () => {
    expect(untaggedCap({ OUTREACH_UNTAGGED_CAP: undefined }, 50)).toBe(200);
    expect(untaggedCap({ OUTREACH_UNTAGGED_CAP: undefined }, 500)).toBe(500);
    expect(untaggedCap({ OUTREACH_UNTAGGED_CAP: 30 }, 500)).toBe(30);
    expect(untaggedCap({ OUTREACH_UNTAGGED_CAP: 0 }, 500)).toBe(0);
  });

  it("remaining caps subtract today's sends and hold out the big operators", () => {
    const settings = {
      OUTREACH_RAMP: SMALL_RAMP,
      OUTREACH_BIG_OPERATOR_DAY: 30,
      OUTREACH_BIG_OPERATORS: [],
      OUTREACH_UNTAGGED_CAP: undefined,
    };
    const used = new Map<string | null, number>([
      ["mx:a.test", 1],
      ["mx:b.test", 5],
      [null, 150],
    ]);
    const day1 = remainingCaps(1, used, 100, settings);
    expect(day1.defaultRemaining).toBe(2);
    expect(day1.byOperator["mx:a.test"]).toBe(1);
    expect(day1.byOperator["mx:b.test"]).toBe(0);
    expect(day1.byOperator.google).toBe(0);
    expect(day1.untaggedRemaining).toBe(50);
    expect(day1.heldOut).toEqual(expect.arrayContaining([...BIG]));
    const day31 = remainingCaps(31, new Map(), 100, settings);
    expect(day31.heldOut).toEqual([]);
    expect(day31.byOperator.google).toBe(2);
    expect(day31.defaultRemaining).toBe(6);
    expect(remainingCaps(0, new Map(), 100, settings)).toMatchObject({ defaultRemaining: 0, untaggedRemaining: 0 });
  });
});

describe("audience build", () => {
  it("sends only to smtp_valid and send_confirmed addresses", async () => {
    await tagDomains(db(), { "small.test": "mx:mx.small.test" });
    await addProspects(db(), [
      { email: "valid@small.test", result: "smtp_valid" },
      { email: "confirmed@small.test", result: "send_confirmed" },
      { email: "unknown@small.test", result: "unknown" },
      { email: "blocked@small.test", result: "mx_probe_blocked" },
      { email: "bounced@small.test", result: "hard_bounced" },
      { email: "never-checked@small.test", result: null },
      { email: "catchall@small.test", result: "catch_all" },
    ]);
    const id = await addCampaign(db());
    const cfg = config(40, { OUTREACH_CATCH_ALL: "off" });

    const preview = only(await dryRun(cfg));
    expect(preview).toMatchObject({ selected: 2, excluded: { verification: 4, catch_all_gate: 1 } });

    const { report } = await build(cfg);
    expect(only(report)).toMatchObject({ campaignId: id, selected: 2, byOperator: { "mx:mx.small.test": 2 } });
    const rows = await sends(id);
    expect(rows.map((r) => r.recipient)).toEqual(["confirmed@small.test", "valid@small.test"]);
    for (const row of rows) {
      expect(row).toMatchObject({ kind: "campaign", status: "queued", operator: "mx:mx.small.test", send_day: day });
      expect(row.message_id).toMatch(new RegExp(`^<c${id}\\.[0-9a-f]{32}@send\\.docket\\.test>$`));
    }
  });

  it("leaves out each excluded prospect under the first rule it fails", async () => {
    await tagDomains(db(), { "fleet.test": "mx:mx.fleet.test", "gmail.com": "google", "juno.com": null });
    await tagDomains(db(), { "nc.rr.com": "charter" });
    await tagDomains(db(), { "gone.test": null }, "nxdomain");
    // A listed domain covers its subdomains: nc.rr.com is Spectrum's rr.com.
    await excludeDomain(db(), "rr.com", "consumer_mailbox");
    await excludeDomain(db(), "gmail.com", "consumer_mailbox");
    await excludeDomain(db(), "juno.com", "dead_isp");
    const other = await addCampaign(db(), { status: "finished" });
    const fields = (extra: Record<string, string | number | null> = {}) => ({
      legal_name: "Acme Hauling LLC",
      display_name: "Acme Hauling",
      state: "TX",
      usdot_number: "1234567",
      mcs150_date: "2020-01-15",
      ...extra,
    });
    const base = { deficiencies: ["mcs150_overdue"], fields: fields() };
    const ids = await addProspects(db(), [
      { ...base, email: "ok@fleet.test" },
      { ...base, email: "flagged@fleet.test", flags: ["do_not_contact"] },
      // Same address as a flagged prospect: do-not-contact is about the address.
      { ...base, email: "flagged@fleet.test" },
      { ...base, email: "unsubscribed@fleet.test" },
      { ...base, email: "someone@gmail.com" },
      { ...base, email: "someone@juno.com" },
      { ...base, email: "someone@nc.rr.com" },
      { ...base, email: "scrubbed@fleet.test", excludedBy: "consumer_mailbox" },
      { ...base, email: "x@gone.test" },
      { ...base, email: "recent@fleet.test" },
      { ...base, email: "recent-cancelled@fleet.test" },
      { ...base, email: "long-ago@fleet.test" },
      { ...base, email: "last-sent@fleet.test", lastSentAt: new Date(NOW.getTime() - 5 * DAY_MS) },
      { email: "no-deficiency@fleet.test", fields: fields() },
      { ...base, email: "no-mcs150-date@fleet.test", fields: fields({ mcs150_date: null }) },
      { ...base, email: "no-dba@fleet.test", fields: fields({ dba_name: null }) },
      { ...base, email: "california@fleet.test", fields: fields({ state: "CA" }) },
    ]);
    await suppress(db(), "unsubscribed@fleet.test");
    await addEarlierSend(db(), other, "recent@fleet.test", new Date(NOW.getTime() - 10 * DAY_MS));
    await addEarlierSend(
      db(),
      other,
      "recent-cancelled@fleet.test",
      new Date(NOW.getTime() - 10 * DAY_MS),
      "cancelled",
    );
    await addEarlierSend(db(), other, "long-ago@fleet.test", new Date(NOW.getTime() - 40 * DAY_MS));
    const id = await addCampaign(db(), {
      html: "<p>Hello {{display_name}} ({{dba_name}}), your MCS-150 from {{mcs150_date}} is overdue.</p>",
      claims: [
        { statement: "Your MCS-150 is overdue", backedBy: "mcs150_overdue" },
        { statement: "Your last MCS-150 was filed on {{mcs150_date}}", backedBy: "mcs150_date" },
      ],
      audience: { source: "fmcsa", states: ["TX"] },
    });
    // dba_name is required by the template: give it to those meant to pass.
    await db().execute(sql`
      update prospects set fields = fields || '{"dba_name": "Acme"}'::jsonb
      where email <> 'no-dba@fleet.test'`);
    const cfg = config(40, { OUTREACH_COOL_OFF_DAYS: 30 });

    const preview = only(await dryRun(cfg));
    expect(preview.excluded).toEqual({
      flagged: 2,
      suppressed: 1,
      excluded_domain: 4,
      dead_domain: 1,
      cool_off: 2,
      claim_not_backed: 2,
      missing_field: 1,
      audience_filter: 1,
    });
    expect(Object.keys(preview.excluded)).toEqual(EXCLUSION_REASONS.filter((r) => r in preview.excluded));
    expect(preview.selected).toBe(3);

    await build(cfg);
    const rows = await sends(id);
    expect(rows.map((r) => r.recipient)).toEqual([
      "long-ago@fleet.test",
      "ok@fleet.test",
      "recent-cancelled@fleet.test",
    ]);
    expect(rows.find((r) => r.recipient === "ok@fleet.test")!.prospect_id).toBe(String(ids[0]));
  });

  it("adds nobody twice: a second build the same day finds them already in the campaign", async () => {
    await tagDomains(db(), { "fleet.test": "mx:mx.fleet.test" });
    await addProspects(db(), prospectsAt("fleet.test", 5));
    const id = await addCampaign(db(), { dailyQuota: 3 });
    const cfg = config(40, { OUTREACH_COOL_OFF_DAYS: 0 });
    expect(only((await build(cfg)).report).selected).toBe(3);
    // Today's quota is spent: nothing more today.
    expect(only((await build(cfg)).report).selected).toBe(0);
    expect(await countSends()).toBe(3);
    // Tomorrow the other two (no cool-off configured), and nobody twice.
    const tomorrow = new Date(NOW.getTime() + DAY_MS);
    const next = only(await dryRun(cfg, { now: tomorrow }));
    expect(next).toMatchObject({ selected: 2, excluded: { already_in_campaign: 3 } });
    expect(only((await build(cfg, { now: tomorrow })).report).selected).toBe(2);
    const rows = await sends(id);
    expect(new Set(rows.map((r) => r.recipient)).size).toBe(5);
    expect(rows).toHaveLength(5);
  });

  describe("warm-up hold-outs and caps", () => {
    async function operatorsFixture() {
      const domains: Record<string, string> = {
        "small-a.test": "mx:mx.small-a.test",
        "small-b.test": "proofpoint",
      };
      for (const op of BIG) domains[`${op}-hosted.test`] = op;
      await tagDomains(db(), domains);
      await addProspects(
        db(),
        Object.keys(domains).flatMap((domain) => prospectsAt(domain, 12)),
      );
      return await addCampaign(db(), { dailyQuota: 1_000 });
    }
    const ramp = { OUTREACH_RAMP: SMALL_RAMP, OUTREACH_BIG_OPERATOR_DAY: 30 };

    it("day 1: small operators at the ramp's first step, the big ones held out", async () => {
      await operatorsFixture();
      const cfg = config(1, ramp);
      const preview = only(await dryRun(cfg));
      const { report } = await build(cfg);
      expect(report.warmupDay).toBe(1);
      expect(only(report).byOperator).toEqual({ "mx:mx.small-a.test": 2, proofpoint: 2 });
      expect(preview.byOperator).toEqual(only(report).byOperator);
      expect(preview.excluded).toEqual({ held_out: 12 * BIG.length, operator_cap: 20 });
    });

    it("day 1 with the default ramp: 50 per small operator", async () => {
      await tagDomains(db(), { "small-a.test": "mx:mx.small-a.test", "gmail-hosted.test": "google" });
      await addProspects(db(), [...prospectsAt("small-a.test", 60), ...prospectsAt("gmail-hosted.test", 5)]);
      await addCampaign(db());
      const { report } = await build(config(1));
      expect(only(report).byOperator).toEqual({ "mx:mx.small-a.test": 50 });
    });

    it("day 29: the big operators still held out, small ones at the day-29 step", async () => {
      await operatorsFixture();
      const { report } = await build(config(29, ramp));
      expect(report.warmupDay).toBe(29);
      expect(only(report).byOperator).toEqual({ "mx:mx.small-a.test": 6, proofpoint: 6 });
    });

    it("day 31: the big operators let in at the ramp's first step", async () => {
      await operatorsFixture();
      const cfg = config(31, ramp);
      const preview = only(await dryRun(cfg));
      const { report } = await build(cfg);
      const expected: Record<string, number> = { "mx:mx.small-a.test": 6, proofpoint: 6 };
      for (const op of BIG) expected[op] = 2;
      expect(only(report).byOperator).toEqual(expected);
      expect(preview.excluded).toEqual({ operator_cap: (12 - 6) * 2 + (12 - 2) * BIG.length });
    });

    it("counts the rows another campaign already created for today against the operator's cap", async () => {
      await tagDomains(db(), { "small-a.test": "mx:mx.small-a.test", "small-b.test": "mx:mx.small-b.test" });
      await addProspects(db(), [...prospectsAt("small-a.test", 5), ...prospectsAt("small-b.test", 5)]);
      const first = await addCampaign(db());
      const cfg = config(1, ramp);
      await build(cfg, { campaignId: first });
      // Another campaign for other recipients at the same operators: a and b are full for today.
      await addProspects(db(), [...prospectsAt("small-a.test", 5, "q"), ...prospectsAt("small-b.test", 5, "q")]);
      await db().execute(sql`update prospects set fields = fields || '{"state": "OK"}'::jsonb where email like 'q%'`);
      const second = await addCampaign(db(), { audience: { source: "fmcsa", states: ["OK"] } });
      const preview = only(await dryRun(cfg, { campaignId: second }));
      // The first campaign's four are in their cool-off; its other six are in Texas.
      expect(preview).toMatchObject({ selected: 0, excluded: { cool_off: 4, audience_filter: 6, operator_cap: 10 } });
      expect(only((await build(cfg, { campaignId: second })).report).selected).toBe(0);
      // A withdrawn send frees its place.
      await db().execute(sql`
        update mail_sends set status = 'cancelled'
        where id = (select min(id) from mail_sends where operator = 'mx:mx.small-a.test')`);
      expect(only((await build(cfg, { campaignId: second })).report).byOperator).toEqual({ "mx:mx.small-a.test": 1 });
    });
  });

  describe("untagged domains", () => {
    it("are capped by default at the larger of the quota and 200, across the day's campaigns", async () => {
      // No mail_domains row, or one without an operator: both untagged.
      await tagDomains(db(), { "tagged-none.test": null });
      await addProspects(db(), [...prospectsAt("untagged.test", 180), ...prospectsAt("tagged-none.test", 120)]);
      const first = await addCampaign(db(), { dailyQuota: 120 });
      const cfg = config(40);
      const a = only((await build(cfg, { campaignId: first })).report);
      expect(a).toMatchObject({ selected: 120, byOperator: { untagged: 120 } });
      // The second campaign's cap is max(150, 200) = 200, of which 120 were used today.
      const second = await addCampaign(db(), { dailyQuota: 150 });
      const preview = only(await dryRun(cfg, { campaignId: second }));
      expect(preview).toMatchObject({ selected: 80, byOperator: { untagged: 80 } });
      expect(preview.excluded.untagged_cap).toBe(300 - 120 - 80);
      expect(only((await build(cfg, { campaignId: second })).report).selected).toBe(80);
    });

    it("follow a configured cap", async () => {
      await tagDomains(db(), { "small-a.test": "mx:mx.small-a.test" });
      await addProspects(db(), [...prospectsAt("untagged.test", 20), ...prospectsAt("small-a.test", 3)]);
      await addCampaign(db(), { dailyQuota: 100 });
      const { report } = await build(config(40, { OUTREACH_UNTAGGED_CAP: 5 }));
      expect(only(report).byOperator).toEqual({ untagged: 5, "mx:mx.small-a.test": 3 });
    });
  });

  describe("catch-all addresses", () => {
    async function fixture(sent: number, bounced: number) {
      await tagDomains(db(), { "small-a.test": "mx:mx.small-a.test" });
      await addProspects(db(), [
        { email: "valid@small-a.test" },
        { email: "catchall@small-a.test", result: "catch_all" },
      ]);
      const old = await addCampaign(db(), { status: "finished" });
      await addSentHistory(db(), old, sent, bounced, new Date(NOW.getTime() - 20 * 3_600_000));
      // Outside the two days: does not count.
      await addSentHistory(db(), old, 500, 0, new Date(NOW.getTime() - 3 * DAY_MS));
      return await addCampaign(db());
    }
    const recipients = async () => (await sends()).map((r) => r.recipient);

    it("are left out on day 20", async () => {
      await fixture(400, 0);
      const { report } = await build(config(20));
      expect(report.catchAll).toEqual({ open: false, reason: "warm-up day 20 < 21" });
      expect(await recipients()).toEqual(["valid@small-a.test"]);
    });

    it("are let in on day 25 after 400 sends with 2% bounced", async () => {
      await fixture(400, 8);
      const { report } = await build(config(25));
      expect(report.catchAll.open).toBe(true);
      expect(await recipients()).toEqual(["catchall@small-a.test", "valid@small-a.test"]);
    });

    it("are left out on day 25 after 400 sends with 10% bounced", async () => {
      await fixture(400, 40);
      const preview = only(await dryRun(config(25)));
      expect(preview.excluded).toEqual({ catch_all_gate: 1 });
      const { report } = await build(config(25));
      expect(report.catchAll).toEqual({ open: false, reason: "bounce rate 10.0% ≥ 8% over 2 days" });
      expect(await recipients()).toEqual(["valid@small-a.test"]);
    });

    it("are left out on fewer than 300 recent sends", async () => {
      await fixture(250, 0);
      const { report } = await build(config(25));
      expect(report.catchAll).toEqual({ open: false, reason: "only 250 sends in 2 days < 300" });
      expect(await recipients()).toEqual(["valid@small-a.test"]);
    });

    it("follow the override either way", async () => {
      await fixture(1_000, 0);
      const on = await dryRun(config(2, { OUTREACH_CATCH_ALL: "on" }));
      expect(on.catchAll).toEqual({ open: true, reason: "forced on" });
      expect(only(on).selected).toBe(2);
      const off = await dryRun(config(60, { OUTREACH_CATCH_ALL: "off" }));
      expect(off.catchAll).toEqual({ open: false, reason: "forced off" });
      expect(only(off)).toMatchObject({ selected: 1, excluded: { catch_all_gate: 1 } });
    });
  });

  it("stops at the campaign's daily quota", async () => {
    await tagDomains(db(), { "small-a.test": "mx:mx.small-a.test", "small-b.test": "mx:mx.small-b.test" });
    await addProspects(db(), [...prospectsAt("small-a.test", 6), ...prospectsAt("small-b.test", 4)]);
    await addCampaign(db(), { dailyQuota: 3 });
    const preview = only(await dryRun(config(40)));
    expect(preview).toMatchObject({ selected: 3, excluded: { quota: 7 } });
    const { report } = await build(config(40));
    expect(only(report).selected).toBe(3);
    expect(await countSends()).toBe(3);
  });

  it("writes one row per recipient when two prospects share an address", async () => {
    await tagDomains(db(), { "small-a.test": "mx:mx.small-a.test" });
    const [first] = await addProspects(db(), [{ email: "shared@small-a.test" }, { email: "shared@small-a.test" }]);
    const id = await addCampaign(db());
    const preview = only(await dryRun(config(40)));
    expect(preview).toMatchObject({ selected: 1, excluded: { duplicate_recipient: 1 } });
    await build(config(40));
    const rows = await sends(id);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.prospect_id).toBe(String(first));
  });

  it("dry run writes nothing and reports what the real build then does", async () => {
    const domains: Record<string, string | null> = {
      "small-a.test": "mx:mx.small-a.test",
      "small-b.test": "mx:mx.small-b.test",
      "gmail-hosted.test": "google",
      "none.test": null,
    };
    await tagDomains(db(), domains);
    await addProspects(db(), [
      ...prospectsAt("small-a.test", 9),
      ...prospectsAt("small-b.test", 3),
      ...prospectsAt("gmail-hosted.test", 4),
      ...prospectsAt("none.test", 7),
      ...prospectsAt("small-a.test", 3, "u", { result: "unknown" }),
    ]);
    await addCampaign(db(), { dailyQuota: 12 });
    const cfg = config(10, { OUTREACH_RAMP: SMALL_RAMP, OUTREACH_UNTAGGED_CAP: 4 });
    const preview = await dryRun(cfg);
    expect(preview.dryRun).toBe(true);
    expect(await countSends()).toBe(0);
    const real = await build(cfg);
    expect(only(real.report).selected).toBe(only(preview).selected);
    expect(only(real.report).byOperator).toEqual(only(preview).byOperator);
    expect(only(preview).excluded).toMatchObject({ verification: 3, held_out: 4, untagged_cap: 3 });
    expect(await countSends()).toBe(only(preview).selected);

    const text = audienceReportText(preview);
    expect(text).toContain("dry run");
    expect(text).toMatch(/held_out\s+4/);
    expect(text).toMatch(/mx:mx\.small-a\.test\s+4/);
  });

  it("enqueues the new ids grouped by operator, at most OUTREACH_SEND_BATCH per message", async () => {
    await tagDomains(db(), { "small-a.test": "mx:mx.small-a.test", "small-b.test": "mx:mx.small-b.test" });
    await addProspects(db(), [
      ...prospectsAt("small-a.test", 7),
      ...prospectsAt("small-b.test", 2),
      ...prospectsAt("none.test", 1),
    ]);
    const id = await addCampaign(db());
    const { report, bodies } = await build(config(40, { OUTREACH_SEND_BATCH: 3 }));
    expect(only(report).enqueuedMessages).toBe(bodies.length);
    const rows = await sends(id);
    const operatorOf = new Map(rows.map((r) => [Number(r.id), r.operator]));
    expect(bodies.map((b) => [b.operator, b.sendIds.length]).sort()).toEqual(
      [
        ["mx:mx.small-a.test", 3],
        ["mx:mx.small-a.test", 3],
        ["mx:mx.small-a.test", 1],
        ["mx:mx.small-b.test", 2],
        [null, 1],
      ].sort(),
    );
    for (const body of bodies) {
      expect(body).toMatchObject({ type: "campaign.send", campaignId: id });
      for (const sendId of body.sendIds) expect(operatorOf.get(sendId)).toBe(body.operator);
    }
    expect(bodies.flatMap((b) => b.sendIds).sort((a, b) => a - b)).toEqual(
      [...operatorOf.keys()].sort((a, b) => a - b),
    );
  });

  it("sends to a given queue in chunks of at most 100 messages", async () => {
    await tagDomains(db(), { "small-a.test": "mx:mx.small-a.test" });
    await addProspects(db(), prospectsAt("small-a.test", 150));
    await addCampaign(db());
    const calls: number[] = [];
    await buildAudience(db(), config(40, { OUTREACH_SEND_BATCH: 1 }), {
      now: NOW,
      queue: {
        sendBatch: async (messages) => {
          calls.push(messages.length);
        },
      },
    });
    expect(calls).toEqual([100, 50]);
  });

  describe("refuses, changing nothing", () => {
    it("without a warm-up start", async () => {
      await addProspects(db(), prospectsAt("small-a.test", 3));
      await addCampaign(db());
      await expect(
        buildAudience(db(), config(40, { OUTREACH_WARMUP_START: undefined }), { now: NOW, enqueue: async () => {} }),
      ).rejects.toThrow(/OUTREACH_WARMUP_START is not set/);
      expect(await countSends()).toBe(0);
    });

    it("a real build of a campaign that is not running; a dry run previews an approved one", async () => {
      await addProspects(db(), prospectsAt("small-a.test", 3));
      const id = await addCampaign(db(), { status: "approved", schedule: { startOn: "2999-01-01" } });
      await expect(build(config(40), { campaignId: id })).rejects.toThrow(/approved: only a running campaign/);
      const preview = only(await dryRun(config(40), { campaignId: id }));
      expect(preview).toMatchObject({ selected: 3, scheduledToday: false });
      expect(await countSends()).toBe(0);
    });

    it("campaigns not scheduled today or with an invalid definition, building the others", async () => {
      await addProspects(db(), prospectsAt("small-a.test", 3));
      const notToday = await addCampaign(db(), {
        schedule: { startOn: "2020-01-01", weekdays: [(NOW.getUTCDay() + 1) % 7] },
      });
      const broken = await addCampaign(db(), { audience: { source: "fmcsa", states: ["Texas"] } });
      const good = await addCampaign(db());
      const { report } = await build(config(40));
      expect(report.campaigns).toEqual([
        expect.objectContaining({ campaignId: notToday, selected: 0, skipped: `not scheduled on ${day}` }),
        expect.objectContaining({ campaignId: broken, selected: 0, skipped: expect.stringContaining("audience") }),
        expect.objectContaining({ campaignId: good, selected: 3 }),
      ]);
      await expect(build(config(40), { campaignId: broken })).rejects.toThrow(/invalid definition/);
    });
  });
});
