import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, inject, it } from "vitest";
import { alertsSent } from "../../db/schema";
import type { MxThrottle } from "../../durable-objects/mx-throttle";
import {
  acquire,
  emptyOutcomes,
  initialThrottleState,
  newDay,
  report,
  resume,
  throttleDailyCap,
  type ThrottleCapSettings,
  type ThrottleOutcomes,
  type ThrottleSettings,
  type ThrottleState,
  type ThrottleStatus,
} from "../../domain/outreach/throttle-policy";
import { testEnv, withTestDb } from "../support/db";
import { waitFor } from "../support/wait-for";

/**
 * The MxThrottle: its policy as pure functions (rate, cap, backoff, pause, recovery, give-back,
 * midnight), then the real Durable Object through its RPC methods, with its clock moved
 * (DEV_CLOCK_CONTROL), its midnight alarm run, and a pause's alert observed at the capture
 * server (webhook), the SMTP sink (e-mail) and alerts_sent.
 */

const T = Date.parse("2026-03-10T12:00:00Z");
const S = 1000;
const settings: ThrottleSettings = { ratePerMinute: 120, cooldownSeconds: 900 };
const ramp: ThrottleCapSettings = {
  OUTREACH_WARMUP_START: "2026-01-01",
  OUTREACH_RAMP: [
    [1, 50],
    [4, 100],
    [8, 200],
  ],
  OUTREACH_BIG_OPERATOR_DAY: 30,
  OUTREACH_BIG_OPERATORS: [],
};
const outcomes = (o: Partial<ThrottleOutcomes>): ThrottleOutcomes => ({ ...emptyOutcomes(), ...o });
const fresh = (dailyCap = 10_000, at = T): ThrottleState =>
  initialThrottleState("mx:pure.test", dailyCap, at, settings);

describe("throttle policy: the token bucket", () => {
  it("grants up to n while the bucket (one minute at the rate) holds them, then says when the rest fits", () => {
    const first = acquire(fresh(), 100, T, settings);
    expect(first.grant).toEqual({
      granted: 100,
      retryAfterSeconds: 0,
      reason: "ok",
      dailyCap: 10_000,
      sentToday: 100,
      ratePerMinute: 120,
    });
    // 20 left: granted; the other 80 need 40 s at 2 per second.
    const second = acquire(first.state, 100, T, settings);
    expect(second.grant).toMatchObject({ granted: 20, reason: "rate", retryAfterSeconds: 40, sentToday: 120 });
    // Empty: one message needs half a second, rounded up to a whole second.
    const empty = acquire(second.state, 1, T, settings);
    expect(empty.grant).toMatchObject({ granted: 0, reason: "rate", retryAfterSeconds: 1 });
    // 10 s later the bucket holds 20.
    const later = acquire(empty.state, 30, T + 10 * S, settings);
    expect(later.grant).toMatchObject({ granted: 20, reason: "rate", retryAfterSeconds: 5 });
    // It never holds more than a minute's worth, however long it was idle.
    expect(acquire(later.state, 500, T + 3_600 * S, settings).grant).toMatchObject({ granted: 120, reason: "rate" });
    // Asking for nothing grants nothing and costs nothing.
    expect(acquire(fresh(), 0, T, settings).grant).toMatchObject({ granted: 0, reason: "ok", retryAfterSeconds: 0 });
  });

  it("a slower rate waits longer for the next token; bad n is refused", () => {
    const slow = { ratePerMinute: 30, cooldownSeconds: 900 };
    const drained = acquire(initialThrottleState("mx:slow.test", 1_000, T, slow), 30, T, slow).state;
    expect(acquire(drained, 1, T, slow).grant).toMatchObject({ granted: 0, reason: "rate", retryAfterSeconds: 2 });
    expect(() => acquire(fresh(), -1, T, settings)).toThrow(RangeError);
    expect(() => acquire(fresh(), 1.5, T, settings)).toThrow(RangeError);
  });

  it("unused grants go back to the day's count and the bucket", () => {
    const granted = acquire(fresh(), 100, T, settings).state;
    const back = report(granted, outcomes({ accepted: 60, unused: 40 }), T, settings);
    expect(back.state.sentToday).toBe(60);
    expect(back.actions).toEqual([]);
    expect(acquire(back.state, 100, T, settings).grant).toMatchObject({ granted: 60, sentToday: 120 });
  });
});

describe("throttle policy: the daily cap from the warm-up ramp", () => {
  const day = (d: string) => Date.parse(`${d}T09:00:00Z`);

  it("holds a big operator out until its day, then starts it on the ramp's first step", () => {
    expect(throttleDailyCap("google", day("2026-01-01"), ramp)).toBe(0); // warm-up day 1
    expect(throttleDailyCap("google", day("2026-01-29"), ramp)).toBe(0); // day 29
    expect(throttleDailyCap("google", day("2026-01-30"), ramp)).toBe(50); // day 30: let in
    expect(throttleDailyCap("google", day("2026-01-31"), ramp)).toBe(50); // day 31
    expect(throttleDailyCap("google", day("2026-02-02"), ramp)).toBe(100); // its 4th day
    // A small operator and the untagged throttle climb from day 1.
    expect(throttleDailyCap("mx:small.test", day("2026-01-01"), ramp)).toBe(50);
    expect(throttleDailyCap("untagged", day("2026-01-04"), ramp)).toBe(100);
    expect(throttleDailyCap("mx:small.test", day("2025-12-31"), ramp)).toBe(0); // before the start
    // No warm-up start configured: nothing is sent.
    expect(throttleDailyCap("mx:small.test", day("2026-01-31"), { ...ramp, OUTREACH_WARMUP_START: undefined })).toBe(0);
  });

  it("never grants beyond the cap, and asks to come back at the next UTC midnight", () => {
    const capped = acquire(fresh(50), 100, T, settings);
    const toMidnight = (Date.parse("2026-03-11T00:00:00Z") - T) / S;
    expect(capped.grant).toMatchObject({
      granted: 50,
      reason: "daily_cap",
      retryAfterSeconds: toMidnight,
      sentToday: 50,
    });
    expect(acquire(capped.state, 1, T + 60 * S, settings).grant).toMatchObject({
      granted: 0,
      reason: "daily_cap",
      retryAfterSeconds: toMidnight - 60,
    });
    expect(acquire(fresh(0), 1, T, settings).grant).toMatchObject({ granted: 0, reason: "daily_cap" });
  });

  it("a new day resets the count and sets the day's cap; the rate, cool-down and pause carry over", () => {
    const used = acquire(fresh(50), 50, T, settings).state;
    const slowed = report(used, outcomes({ throttled: 1, accepted: 49 }), T, settings).state;
    const paused = report(slowed, outcomes({ rejectReputation: 1 }), T, settings).state;
    const next = newDay(paused, 100, Date.parse("2026-03-11T00:00:01Z"));
    expect(next).toMatchObject({ day: "2026-03-11", dailyCap: 100, sentToday: 0, ratePerMinute: 60 });
    expect(next.today).toEqual(emptyOutcomes());
    expect(next.paused).not.toBeNull();
    expect(next.cooldownUntil).toBe(T + 900 * S);
  });
});

describe("throttle policy: backoff, cool-down and recovery", () => {
  it("throttling halves the rate and cools down; nothing is granted until the cool-down ends", () => {
    const sent = acquire(fresh(), 100, T, settings).state;
    const hit = report(sent, outcomes({ accepted: 99, throttled: 1 }), T + 5 * S, settings);
    expect(hit.actions).toEqual(["halved"]);
    expect(hit.details.halved).toMatch(/120 → 60\/min/);
    expect(hit.state).toMatchObject({ ratePerMinute: 60, cooldownUntil: T + 905 * S });

    const during = acquire(hit.state, 10, T + 6 * S, settings);
    expect(during.grant).toMatchObject({ granted: 0, reason: "cooldown", retryAfterSeconds: 899, ratePerMinute: 60 });

    // A late report of an earlier batch extends the cool-down without halving again.
    const late = report(during.state, outcomes({ throttled: 3 }), T + 10 * S, settings);
    expect(late.actions).toEqual([]);
    expect(late.state).toMatchObject({ ratePerMinute: 60, cooldownUntil: T + 910 * S });

    // After it, the bucket starts empty and fills at the halved rate: 30 s → 30 messages.
    const after = acquire(late.state, 100, T + 940 * S, settings);
    expect(after.grant).toMatchObject({ granted: 30, reason: "rate", ratePerMinute: 60 });

    // Clean batches bring the rate back by a quarter of the base each, up to the base.
    const r1 = report(after.state, outcomes({ accepted: 30 }), T + 941 * S, settings);
    expect(r1.actions).toEqual(["recovered"]);
    expect(r1.state.ratePerMinute).toBe(90);
    const r2 = report(r1.state, outcomes({ accepted: 10, rejectRecipient: 2 }), T + 950 * S, settings);
    expect(r2.state.ratePerMinute).toBe(120);
    const r3 = report(r2.state, outcomes({ accepted: 10 }), T + 960 * S, settings);
    expect(r3.actions).toEqual([]);
    expect(r3.state.ratePerMinute).toBe(120);
  });

  it("deferrals back off at 20% of a batch with at least 3; one greylisted address does not", () => {
    const base = fresh();
    expect(report(base, outcomes({ accepted: 3, deferred: 1 }), T, settings).actions).toEqual([]);
    expect(report(base, outcomes({ accepted: 17, deferred: 3 }), T, settings).actions).toEqual([]); // 15%
    expect(report(base, outcomes({ accepted: 12, deferred: 3 }), T, settings).actions).toEqual(["halved"]); // 20%
    expect(report(base, outcomes({ deferred: 3 }), T, settings).state.ratePerMinute).toBe(60);
  });

  it("halving never goes below one a minute", () => {
    let state = fresh();
    for (let i = 0; i < 10; i++) {
      state = report(state, outcomes({ throttled: 1 }), T + i * 1_000 * S, settings).state;
    }
    expect(state.ratePerMinute).toBe(1);
  });

  it("a reputation reject pauses until resumed; a pause is not a halving", () => {
    const hit = report(
      acquire(fresh(), 10, T, settings).state,
      outcomes({ accepted: 9, rejectReputation: 1 }),
      T,
      settings,
    );
    expect(hit.actions).toEqual(["paused"]);
    expect(hit.state.paused).toEqual({ reason: expect.stringMatching(/1 of 10 rejected for reputation/), at: T });
    expect(hit.state.ratePerMinute).toBe(120);
    // Paused whatever the time: look again after a cool-down's length.
    const tomorrow = newDay(hit.state, 50, T + 86_400 * S);
    expect(acquire(tomorrow, 5, T + 86_400 * S, settings).grant).toMatchObject({
      granted: 0,
      reason: "paused",
      retryAfterSeconds: 900,
    });
    // A second reject while paused changes nothing.
    expect(report(hit.state, outcomes({ rejectReputation: 2 }), T + S, settings).actions).toEqual([]);
    expect(acquire(resume(tomorrow), 5, T + 86_400 * S, settings).grant).toMatchObject({ granted: 5, reason: "ok" });
  });

  it("refuses impossible outcomes", () => {
    expect(() => report(fresh(), outcomes({ accepted: -1 }), T, settings)).toThrow(/outcomes.accepted/);
  });
});

// ---------------------------------------------------------------------------------------------

interface Captured {
  path: string;
  body: unknown;
}
interface SinkMessage {
  envelope: { to: string[] };
  subject: string | null;
}

const throttle = (name: string) => testEnv.MX_THROTTLE.get(testEnv.MX_THROTTLE.idFromName(name));
const status = async (name: string) => (await throttle(name).status()) as ThrottleStatus | null;

describe("the MxThrottle Durable Object", () => {
  it("follows the ramp from a big operator's hold-out, and its midnight alarm starts each day", async () => {
    const google = throttle("google");
    // Warm-up day 29 (start 2026-01-01), half a minute before midnight: held out.
    await google.setClock("2026-01-29T23:59:30Z");
    const held = await google.acquire({ operator: "google", n: 10 });
    expect(held).toMatchObject({ granted: 0, reason: "daily_cap", dailyCap: 0, retryAfterSeconds: 30 });

    // Day 30: the alarm starts the day with the ramp's first step.
    await google.setClock("2026-01-30T00:00:02Z");
    expect((await status("google"))!.day).toBe("2026-01-29"); // the stored day, until the alarm
    expect(await runDurableObjectAlarm(google)).toBe(true);
    expect(await status("google")).toMatchObject({ day: "2026-01-30", dailyCap: 50, sentToday: 0 });
    const first = await google.acquire({ operator: "google", n: 100 });
    expect(first).toMatchObject({ granted: 50, reason: "daily_cap", dailyCap: 50, sentToday: 50 });
    await google.report({ operator: "google", outcomes: outcomes({ accepted: 50 }) });

    // The next midnight resets the count; the alarm is there again.
    await google.setClock("2026-01-31T00:00:05Z");
    expect(await status("google")).toMatchObject({ day: "2026-01-30", sentToday: 50 });
    expect(await runDurableObjectAlarm(google)).toBe(true);
    const day31 = (await status("google"))!;
    expect(day31).toMatchObject({ day: "2026-01-31", dailyCap: 50, sentToday: 0, remainingToday: 50 });
    expect(day31.today).toEqual(emptyOutcomes());
    expect(await runDurableObjectAlarm(google)).toBe(true); // re-armed for the following midnight
  });

  it("keeps its state in SQLite, and refuses bad requests without changing it", async () => {
    const name = "mx:state.test";
    const stub = throttle(name);
    await stub.setClock("2026-03-10T12:00:00Z");
    expect(await stub.status()).toBeNull();
    expect(await stub.acquire({ operator: name, n: 30 })).toMatchObject({ granted: 30, reason: "ok", dailyCap: 6000 });

    const stored = await runInDurableObject(stub, (_instance, state) =>
      state.storage.sql.exec<{ operator: string; state: string }>("select operator, state from throttle").toArray(),
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]!.operator).toBe(name);
    expect(JSON.parse(stored[0]!.state)).toMatchObject({ operator: name, day: "2026-03-10", sentToday: 30 });

    // Called on the instance: a DO RPC that rejects leaks an unhandled rejection in the test
    // pool (cloudflare/workers-sdk#14736), however the test handles it.
    await runInDurableObject(stub, async (instance: MxThrottle) => {
      await expect(instance.acquire({ operator: name, n: -5 })).rejects.toThrow(/n:/);
      await expect(instance.acquire({ operator: "Not An Operator", n: 1 })).rejects.toThrow(/operator/);
      await expect(instance.acquire({ operator: "mx:other.test", n: 1 })).rejects.toThrow(/called for mx:other.test/);
      await expect(instance.report({ operator: name, outcomes: { ...outcomes({}), accepted: 1.5 } })).rejects.toThrow(
        /outcomes.accepted/,
      );
    });
    expect(await status(name)).toMatchObject({ sentToday: 30, today: emptyOutcomes() });

    // Unused grants come back.
    const back = await stub.report({ operator: name, outcomes: outcomes({ accepted: 10, unused: 20 }) });
    expect(back).toMatchObject({ sentToday: 10, today: { accepted: 10, unused: 20 } });
    await runInDurableObject(throttle("mx:never.test"), async (instance: MxThrottle) => {
      await expect(instance.resume({ by: "ops@docket.test" })).rejects.toThrow(/no state/);
    });
  });

  it("halves and cools down on throttling, refuses during the cool-down, and recovers after", async () => {
    const name = "mx:backoff.test";
    const stub = throttle(name);
    await stub.setClock("2026-03-10T12:00:00Z");
    expect(await stub.acquire({ operator: name, n: 100 })).toMatchObject({ granted: 100 });
    const hit = await stub.report({ operator: name, outcomes: outcomes({ accepted: 80, throttled: 20 }) });
    expect(hit).toMatchObject({ ratePerMinute: 60, baseRatePerMinute: 120 });
    const until = Date.parse(hit.coolingDownUntil!);
    expect(until - Date.parse(hit.clock)).toBeGreaterThanOrEqual(899_000);
    expect(hit.events[0]).toMatchObject({ kind: "halved", detail: expect.stringMatching(/120 → 60\/min/) });

    const refused = await stub.acquire({ operator: name, n: 10 });
    expect(refused).toMatchObject({ granted: 0, reason: "cooldown" });
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(895);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(900);

    // A minute after the cool-down: a bucket of 60 at the halved rate.
    await stub.setClock(new Date(until + 60_000).toISOString());
    expect(await stub.acquire({ operator: name, n: 100 })).toMatchObject({ granted: 60, reason: "rate" });
    const recovered = await stub.report({ operator: name, outcomes: outcomes({ accepted: 60 }) });
    expect(recovered.ratePerMinute).toBe(90);
    expect(recovered.coolingDownUntil).toBeNull();
    expect(recovered.events.map((e) => e.kind)).toEqual(["recovered", "halved"]);
  });

  it("pauses on a reputation reject with an alert, and an admin resumes it", async () => {
    const name = "mx:reputation.test";
    const stub = throttle(name);
    const since = Date.now();
    await stub.setClock("2026-03-10T12:00:00Z");
    expect(await stub.acquire({ operator: name, n: 10 })).toMatchObject({ granted: 10 });
    const paused = await stub.report({ operator: name, outcomes: outcomes({ accepted: 9, rejectReputation: 1 }) });
    expect(paused.paused).toEqual({
      reason: expect.stringMatching(/1 of 10 rejected for reputation/),
      at: paused.clock,
    });
    expect(paused.events[0]).toMatchObject({ kind: "paused" });
    expect(await stub.acquire({ operator: name, n: 5 })).toMatchObject({ granted: 0, reason: "paused" });

    // The alert reached every channel: the webhook at the capture server, e-mail at the sink.
    const [row] = await withTestDb((db) =>
      db
        .select()
        .from(alertsSent)
        .where(and(eq(alertsSent.rule, "mx_operator_paused"), eq(alertsSent.subject, name))),
    );
    expect(row).toMatchObject({
      title: `Campaign mail to ${name} paused: reputation rejection`,
      deliveries: { telegram: "sent", webhook: "sent", email: "sent" },
    });
    expect(row!.windowKey.startsWith("2026-03-10")).toBe(true);
    const hooks = (await (await fetch(`${inject("capture").url}/__captured`)).json()) as Captured[];
    expect(hooks.some((h) => h.path === "/webhook/alerts" && (h.body as { subject?: string }).subject === name)).toBe(
      true,
    );
    const { httpPort } = inject("smtp");
    await waitFor(
      async () => {
        const all = (await (await fetch(`http://127.0.0.1:${httpPort}/messages`)).json()) as (SinkMessage & {
          date: string;
        })[];
        return all.find(
          (m) =>
            m.envelope.to.includes("alerts@docket.test") &&
            Date.parse(m.date) >= since - 1000 &&
            (m.subject ?? "").includes(name),
        );
      },
      10_000,
      "the pause alert at the SMTP sink",
    );

    const resumed = await stub.resume({ by: "ops@docket.test" });
    expect(resumed.paused).toBeNull();
    expect(resumed.events[0]).toMatchObject({ kind: "resumed", detail: expect.stringMatching(/^by ops@docket.test/) });
    expect(await stub.acquire({ operator: name, n: 5 })).toMatchObject({ granted: 5, reason: "ok" });

    // A second pause the same day is a second alert.
    await stub.setClock("2026-03-10T15:00:00Z");
    await stub.report({ operator: name, outcomes: outcomes({ accepted: 4, rejectReputation: 1 }) });
    const rows = await withTestDb((db) =>
      db
        .select()
        .from(alertsSent)
        .where(and(eq(alertsSent.rule, "mx_operator_paused"), eq(alertsSent.subject, name))),
    );
    expect(rows).toHaveLength(2);
  });

  it("keeps a pause when its alert cannot be raised", async () => {
    const name = "mx:alert-fails.test";
    const stub = throttle(name);
    await runInDurableObject(stub, async (instance: MxThrottle) => {
      // This instance's configuration has no database, so raiseAlert cannot claim the alert.
      (instance as unknown as { env: Record<string, unknown> }).env = { ...testEnv, DATABASE_URL: "" };
      await instance.acquire({ operator: name, n: 5 });
      const paused = await instance.report({ operator: name, outcomes: outcomes({ rejectReputation: 5 }) });
      expect(paused.paused?.reason).toMatch(/5 of 5 rejected for reputation/);
    });
    expect((await status(name))!.paused).not.toBeNull();
    expect(await stub.acquire({ operator: name, n: 1 })).toMatchObject({ granted: 0, reason: "paused" });
    const rows = await withTestDb((db) => db.select().from(alertsSent).where(eq(alertsSent.subject, name)));
    expect(rows).toEqual([]);
  });
});
