/**
 * Timing for the in-process benchmarks (in-process.ts): warm-up passes first (JIT, lazy
 * loading), then measured passes; the median pass is reported, with min and max beside it.
 */

export interface InProcessRow {
  name: string;
  description: string;
  /** What is counted: "records", "messages". */
  unit: string;
  /** Items per pass. */
  items: number;
  passes: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  perSecond: number;
  /** perSecond ÷ the reference row's perSecond; 1 for the reference itself. */
  ratio: number;
  reference: boolean;
}

export interface InProcessResult {
  name: string;
  /** The row the ratios are relative to. */
  reference: string;
  rows: InProcessRow[];
  notes: string[];
}

export interface InProcessBenchmark {
  name: string;
  description: string;
  run(options: { log: (line: string) => void; passes?: number }): Promise<InProcessResult>;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `pass` `warmup` times unmeasured, then `passes` times; milliseconds per measured pass. */
export async function timePasses(pass: () => unknown, passes: number, warmup: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await pass();
  const ms: number[] = [];
  for (let i = 0; i < passes; i++) {
    const started = performance.now();
    await pass();
    ms.push(performance.now() - started);
  }
  return ms;
}

/**
 * Like timePasses for several contenders, taking turns within each pass (a, b, c, a, b, c, …):
 * when the machine gets busier or quieter mid-run, every contender sees the same change, and
 * the ratios between them stay honest.
 */
export async function timeInterleaved(
  contenders: readonly (() => unknown)[],
  passes: number,
  warmup: number,
): Promise<number[][]> {
  const ms = contenders.map((): number[] => []);
  for (let i = 0; i < warmup + passes; i++) {
    for (const [k, run] of contenders.entries()) {
      const started = performance.now();
      await run();
      if (i >= warmup) ms[k]!.push(performance.now() - started);
    }
  }
  return ms;
}

/** Rows from per-pass timings; ratios against the row named `reference`. */
export function rowsFrom(
  measured: { name: string; description: string; unit: string; items: number; passesMs: readonly number[] }[],
  reference: string,
): InProcessRow[] {
  const base = measured.map((m) => {
    const medianMs = median(m.passesMs);
    return {
      name: m.name,
      description: m.description,
      unit: m.unit,
      items: m.items,
      passes: m.passesMs.length,
      medianMs,
      minMs: Math.min(...m.passesMs),
      maxMs: Math.max(...m.passesMs),
      perSecond: medianMs > 0 ? (m.items * 1000) / medianMs : Number.NaN,
    };
  });
  const ref = base.find((r) => r.name === reference);
  if (!ref) throw new Error(`reference row ${reference} was not measured`);
  return base.map((r) => ({ ...r, ratio: r.perSecond / ref.perSecond, reference: r.name === reference }));
}

const fmt = (value: number, digits: number) =>
  Number.isFinite(value)
    ? value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "n/a";

export function formatInProcessTable(result: InProcessResult): string {
  const header = ["benchmark", "items/pass", "passes", "median ms", "per second", `vs ${result.reference}`];
  const body = result.rows.map((r) => [
    r.name,
    `${r.items.toLocaleString("en-US")} ${r.unit}`,
    String(r.passes),
    fmt(r.medianMs, 1),
    `${fmt(r.perSecond, 0)} ${r.unit}/s`,
    r.reference ? "1.00× (reference)" : `${fmt(r.ratio, 2)}×`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const cell = (text: string, i: number) =>
    i === 0 || i === header.length - 1 ? text.padEnd(widths[i]!) : text.padStart(widths[i]!);
  const line = (cells: string[]) => cells.map(cell).join("  ").trimEnd();
  return [line(header), widths.map((w) => "─".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/** For a bench file run on its own (`tsx scripts/bench/<name>.bench.ts [passes]`): runs it and prints its table. */
export async function runAlone(benchmark: InProcessBenchmark): Promise<void> {
  const passes = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
  const log = (line: string) => console.log(`bench: ${line}`);
  const result = await benchmark.run({ log, ...(passes ? { passes } : {}) });
  console.log("");
  console.log(formatInProcessTable(result));
  for (const note of result.notes) console.log(`  ${note}`);
}
