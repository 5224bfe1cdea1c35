import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBenchArgs } from "../../scripts/bench/args";
import { BASELINE, BENCHMARKS, selectBenchmarks } from "../../scripts/bench/benchmarks";
import { assertLoopback, runLoad, type LoadResult } from "../../scripts/bench/load";
import {
  checkReminders,
  orderRemindersScenario,
  REMINDER_INTERVAL_SECONDS,
  type ReminderEventRow,
  type ReminderMailRow,
} from "../../scripts/bench/order-machine.scenario";
import { baselineDrift, formatTable, withRatios } from "../../scripts/bench/report";
import type { StackScenario } from "../../scripts/bench/stack-scenario";
import { scenarioStackConfig } from "../../scripts/bench/stack-scenarios";
import { freePort } from "../../scripts/lib/free-port";

/** The bench harness without the stack: flags, selection, ratios, and real load on a local server. */

const result = (rps: number, p50: number, errors = 0): LoadResult => ({
  requests: rps * 10,
  durationSeconds: 10,
  requestsPerSecond: rps,
  latencyMs: { p50, p90: p50 * 2, p99: p50 * 3, max: p50 * 4, mean: p50 },
  errors,
  errorDetail: { connection: 0, timeouts: 0, non2xx: errors, statusCodes: {} },
});

describe("bench flags", () => {
  it("defaults to every benchmark, 10 s, 10 connections", () => {
    expect(parseBenchArgs([])).toEqual({ durationSeconds: 10, connections: 10, help: false });
    expect(selectBenchmarks(undefined).map((b) => b.name)).toEqual(BENCHMARKS.map((b) => b.name));
  });

  it("--only keeps the baseline, in table order", () => {
    const args = parseBenchArgs(["--only", "health-deep", "--duration=3"]);
    expect(args).toMatchObject({ only: ["health-deep"], durationSeconds: 3 });
    expect(selectBenchmarks(args.only).map((b) => b.name)).toEqual([BASELINE.name, "health-deep"]);
    expect(selectBenchmarks(parseBenchArgs(["--only=health,bare"]).only).map((b) => b.name)).toEqual([
      "bare",
      "health",
    ]);
  });

  it("refuses unknown names, unbounded durations and stray arguments", () => {
    expect(() => selectBenchmarks(["nope"])).toThrow(/unknown benchmark nope; known: bare, health, health-deep/);
    expect(() => parseBenchArgs(["--duration", "0"])).toThrow(/--duration needs a whole number from 1 to 120/);
    expect(() => parseBenchArgs(["--duration", "1000"])).toThrow(/1 to 120/);
    expect(() => parseBenchArgs(["--connections", "x"])).toThrow(/--connections/);
    expect(() => parseBenchArgs(["--fast"])).toThrow(/unknown argument --fast/);
  });
});

describe("bench report", () => {
  it("measures every row against the baseline of the same run", () => {
    const rows = withRatios([
      { benchmark: BENCHMARKS[0]!, result: result(1000, 4) },
      { benchmark: BENCHMARKS[1]!, result: result(500, 8) },
      { benchmark: BENCHMARKS[2]!, result: result(50, 100, 3) },
    ]);
    expect(rows.map((r) => [r.name, r.throughputRatio, r.p50Ratio])).toEqual([
      ["bare", 1, 1],
      ["health", 0.5, 2],
      ["health-deep", 0.05, 25],
    ]);
    const table = formatTable(rows, "bare");
    const lines = table.split("\n");
    expect(lines[0]).toMatch(/^benchmark\s+path\s+req\/s\s+p50 ms\s+p99 ms\s+errors\s+vs bare$/);
    expect(lines).toHaveLength(5);
    expect(lines[2]).toMatch(/^bare\s+\/__bench\/bare\s+1,000\.0\s+4\s+12\s+0\s+1\.00× \(baseline\)$/);
    expect(lines[4]).toMatch(/^health-deep\s+\/health\/deep\s+50\.0\s+100\s+300\s+3\s+0\.05×$/);
  });

  it("with the baseline measured again at the end, compares against the mean of both runs", () => {
    const first = result(1000, 4);
    const again = result(600, 6);
    const rows = withRatios(
      [
        { benchmark: BENCHMARKS[0]!, result: first },
        { benchmark: BENCHMARKS[1]!, result: result(400, 10) },
      ],
      again,
    );
    expect(rows.map((r) => [r.name, r.throughputRatio, r.p50Ratio])).toEqual([
      ["bare", 1.25, 0.8],
      ["health", 0.5, 2],
    ]);
    expect(baselineDrift(first, again)).toBeCloseTo(-0.4);
    expect(formatTable(rows, "bare").split("\n")[2]).toMatch(/1\.25× \(baseline\)$/);
  });

  it("needs the baseline", () => {
    expect(() => withRatios([{ benchmark: BENCHMARKS[1]!, result: result(1, 1) }])).toThrow(
      /baseline was not measured/,
    );
  });
});

describe("scenario configuration of the bench's stack", () => {
  const scenario = (name: string, stackConfig?: StackScenario["stackConfig"]): StackScenario => ({
    name,
    path: "-",
    description: "-",
    ...(stackConfig ? { stackConfig } : {}),
    run: () => Promise.reject(new Error("not run here")),
  });

  it("the OrderMachine scenarios are selectable, and only the reminders one changes the Worker's config", () => {
    expect(selectBenchmarks(["order-events", "order-reminders"]).map((b) => b.name)).toEqual([
      "bare",
      "health",
      "order-events",
      "order-reminders",
    ]);
    const config = (names: string[]) =>
      scenarioStackConfig(selectBenchmarks(names).flatMap((b) => (b.scenario ? [b.scenario] : [])));
    expect(config(["order-events"])).toEqual({});
    expect(config(["order-reminders"])).toMatchObject({
      INTAKE_REMINDER_FIRST_INTERVAL_SECONDS: String(REMINDER_INTERVAL_SECONDS),
      INTAKE_REMINDER_FIRST_COUNT: "1",
    });
    expect(orderRemindersScenario.stackConfig).toBeDefined();
  });

  it("merges what the selected scenarios need, and refuses two that disagree", () => {
    expect(
      scenarioStackConfig([
        scenario("a", { INTAKE_REMINDER_MAX: "5" }),
        scenario("b"),
        scenario("c", { INTAKE_REMINDER_MAX: "5", INTAKE_REMINDER_FIRST_COUNT: "1" }),
      ]),
    ).toEqual({ INTAKE_REMINDER_MAX: "5", INTAKE_REMINDER_FIRST_COUNT: "1" });
    expect(() =>
      scenarioStackConfig([scenario("a", { INTAKE_REMINDER_MAX: "5" }), scenario("b", { INTAKE_REMINDER_MAX: "6" })]),
    ).toThrow(/scenarios a and b need different INTAKE_REMINDER_MAX \(5 and 6\)/);
  });
});

describe("the reminder invariant (order-reminders)", () => {
  const due = (s: number) => new Date(Date.UTC(2026, 10, 21, 12, 0, s)).toISOString();
  const fired = (number: string, dueS: number, delayMs: number, n = 1): ReminderEventRow => ({
    number,
    n,
    dueAt: due(dueS),
    firedAt: new Date(Date.parse(due(dueS)) + delayMs).toISOString(),
  });
  const mailed = (number: string, dueS: number, delayMs: number | null, status = "accepted"): ReminderMailRow => ({
    number,
    round: 1,
    n: 1,
    status,
    sentMs: delayMs === null ? null : Date.parse(due(dueS)) + delayMs,
  });

  it("passes when every order has one reminder 1, fired and mailed after its due time, and measures the delays", () => {
    const report = checkReminders(
      ["CO-1", "CO-2"],
      [fired("CO-1", 0, 40), fired("CO-2", 1, 120), fired("CO-9", 0, 5, 1)],
      [mailed("CO-1", 0, 90), mailed("CO-2", 1, 300)],
    );
    expect(report.problems).toEqual([]);
    expect(report.pass).toBe(true);
    expect(report.dueToFiredMs).toEqual([40, 120]);
    expect(report.dueToSentMs).toEqual([90, 300]);
    expect(report.window).toEqual({
      firstDue: Date.parse(due(0)),
      lastFired: Date.parse(due(1)) + 120,
      lastSent: Date.parse(due(1)) + 300,
    });
  });

  it("fails on a lost, doubled, early or premature reminder, and on a missing, doubled or refused e-mail", () => {
    const report = checkReminders(
      ["CO-1", "CO-2", "CO-3", "CO-4", "CO-5", "CO-6", "CO-7"],
      [
        // CO-1: none fired.
        fired("CO-2", 0, 10),
        fired("CO-2", 0, 20),
        fired("CO-3", 5, -250),
        fired("CO-4", 0, 10),
        fired("CO-4", 3, 10, 2),
        fired("CO-5", 0, 10),
        fired("CO-6", 0, 10),
        fired("CO-7", 0, 10),
      ],
      [
        mailed("CO-2", 0, 30),
        mailed("CO-3", 5, 30),
        mailed("CO-4", 0, 30),
        // CO-5: no e-mail.
        mailed("CO-6", 0, 30),
        mailed("CO-6", 0, 35),
        mailed("CO-7", 0, null, "deferred"),
      ],
    );
    expect(report.pass).toBe(false);
    expect(report.problems).toEqual([
      "CO-1: no reminder 1 fired",
      "CO-1: no reminder 1 e-mail",
      "CO-2: reminder 1 fired 2×",
      "CO-3: reminder 1 fired 250 ms before it was due",
      "CO-4: reminder 2 already fired (the next is a week away)",
      "CO-5: no reminder 1 e-mail",
      "CO-6: 2 reminder 1 e-mails",
      "CO-7: the reminder e-mail is deferred, not accepted by the relay",
    ]);
    expect(report.summary).toMatch(
      /^7 orders: 5 with exactly one reminder 1 \(1 without, 1 doubled, 1 early, 1 with a later one/,
    );
  });
});

describe("bench load (autocannon against a real local server)", () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.statusCode = req.url === "/fail" ? 500 : 200;
      res.end("ok");
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("counts requests and latency, and no errors on 200s", async () => {
    const r = await runLoad({ url: `${base}/ok`, durationSeconds: 1, connections: 2 });
    expect(r.requests).toBeGreaterThan(0);
    expect(r.requestsPerSecond).toBeGreaterThan(0);
    expect(r.latencyMs.p99).toBeGreaterThanOrEqual(r.latencyMs.p50);
    expect(r.errors).toBe(0);
  });

  it("counts non-2xx answers as errors", async () => {
    const r = await runLoad({ url: `${base}/fail`, durationSeconds: 1, connections: 1 });
    expect(r.errors).toBeGreaterThan(0);
    expect(r.errorDetail.non2xx).toBe(r.errors);
    expect(Object.keys(r.errorDetail.statusCodes)).toEqual(["500"]);
  });

  it("loads loopback addresses only", () => {
    expect(() => assertLoopback("http://example.com/")).toThrow(/only loads loopback/);
    expect(() => assertLoopback("http://127.0.0.1:8787/health")).not.toThrow();
  });
});
