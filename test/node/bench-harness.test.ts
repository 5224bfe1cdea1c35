import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBenchArgs } from "../../scripts/bench/args";
import { BASELINE, BENCHMARKS, selectBenchmarks } from "../../scripts/bench/benchmarks";
import { assertLoopback, runLoad, type LoadResult } from "../../scripts/bench/load";
import { baselineDrift, formatTable, withRatios } from "../../scripts/bench/report";
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
