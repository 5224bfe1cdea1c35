import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Benchmark } from "./benchmarks";
import type { LoadResult } from "./load";

/** One table and one JSON file per bench run; ratios against the baseline of the same run. */

export interface BenchRow {
  name: string;
  path: string;
  description: string;
  baseline: boolean;
  result: LoadResult;
  /** Throughput relative to the baseline (1 = as fast as the bare route). */
  throughputRatio: number;
  /** Median latency relative to the baseline (2 = twice as slow). */
  p50Ratio: number;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  settings: { durationSeconds: number; connections: number; warmupSeconds: number };
  machine: { node: string; platform: string; cpus: number; cpuModel: string; loadAverage: number[] };
  baseline: string;
  /** The baseline measured again after the others, when there were others: the run's drift. */
  baselineRecheck?: { result: LoadResult; drift: number };
  rows: BenchRow[];
}

/**
 * Ratios against the baseline. When the baseline was measured again at the end (`recheck`),
 * the reference is the mean of both runs, so a machine that got busier or quieter during the
 * run skews the ratios less; the drift between the two says how much to trust them.
 */
export function withRatios(results: { benchmark: Benchmark; result: LoadResult }[], recheck?: LoadResult): BenchRow[] {
  const base = results.find((r) => r.benchmark.baseline);
  if (!base) throw new Error("the baseline was not measured");
  const mean = (pick: (r: LoadResult) => number) =>
    recheck ? (pick(base.result) + pick(recheck)) / 2 : pick(base.result);
  const baseRps = mean((r) => r.requestsPerSecond);
  const baseP50 = mean((r) => r.latencyMs.p50);
  const ratio = (a: number, b: number) => (b > 0 ? a / b : Number.NaN);
  return results.map(({ benchmark, result }) => ({
    name: benchmark.name,
    path: benchmark.path,
    description: benchmark.description,
    baseline: benchmark.baseline === true,
    result,
    throughputRatio: ratio(result.requestsPerSecond, baseRps),
    p50Ratio: ratio(result.latencyMs.p50, baseP50),
  }));
}

/** Relative change of the baseline's throughput from its first to its second run. */
export function baselineDrift(first: LoadResult, again: LoadResult): number {
  return first.requestsPerSecond > 0 ? again.requestsPerSecond / first.requestsPerSecond - 1 : Number.NaN;
}

const number = (value: number, digits: number, exact = true) =>
  Number.isFinite(value)
    ? value.toLocaleString("en-US", { minimumFractionDigits: exact ? digits : 0, maximumFractionDigits: digits })
    : "n/a";

export function formatTable(rows: readonly BenchRow[], baselineName: string): string {
  const header = ["benchmark", "path", "req/s", "p50 ms", "p99 ms", "errors", `vs ${baselineName}`];
  const body = rows.map((r) => [
    r.name,
    r.path,
    number(r.result.requestsPerSecond, 1),
    // autocannon's histogram keeps whole milliseconds: no made-up decimals.
    number(r.result.latencyMs.p50, 2, false),
    number(r.result.latencyMs.p99, 2, false),
    String(r.result.errors),
    r.baseline ? `${number(r.throughputRatio, 2)}× (baseline)` : `${number(r.throughputRatio, 2)}×`,
  ]);
  // A scenario's invariant (stack-scenarios.ts), when one ran.
  if (rows.some((r) => r.result.check)) {
    header.push("check");
    rows.forEach((r, i) =>
      body[i]!.push(r.result.check ? (r.result.check.label ?? (r.result.check.pass ? "PASS" : "FAIL")) : ""),
    );
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  // Names left, numbers right: columns of figures compare at a glance.
  const cell = (text: string, i: number) => (i < 2 || i >= 6 ? text.padEnd(widths[i]!) : text.padStart(widths[i]!));
  const line = (cells: string[]) => cells.map(cell).join("  ").trimEnd();
  return [line(header), widths.map((w) => "─".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

export async function writeReport(file: string, report: BenchReport): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(report, null, 2)}\n`);
  await rename(tmp, file);
}
