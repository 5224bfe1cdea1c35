import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { bounceClassifyBench } from "./bounce-classify.bench";
import { BENCHMARKS } from "./benchmarks";
import { dmarcParseBench } from "./dmarc-parse.bench";
import { formatInProcessTable, type InProcessBenchmark, type InProcessResult } from "./passes";

/**
 * In-process benchmarks: a parser or classifier timed in this Node process on a corpus file,
 * with no stack and no HTTP. Each measures its own baseline in the same run (a floor such as
 * tokenising alone, or another implementation such as Sisimai) and reports the ratio, so the
 * figure reads against this machine today. Timing: warm-up passes first (JIT), then several
 * measured passes; the median pass is reported (robust to a stray GC or a busy neighbour).
 */

export const IN_PROCESS_BENCHMARKS: readonly InProcessBenchmark[] = [dmarcParseBench, bounceClassifyBench];

/**
 * Splits `--only` between the in-process benchmarks and the HTTP ones. `http` is undefined for
 * "all of them" (no --only), and "none" when --only named in-process benchmarks alone (then the
 * stack is not started at all). Names that are neither are an error listing both kinds.
 */
export function splitOnly(only: readonly string[] | undefined): {
  http: string[] | undefined | "none";
  inProcess: InProcessBenchmark[];
} {
  if (!only || only.length === 0) return { http: undefined, inProcess: [...IN_PROCESS_BENCHMARKS] };
  const known = new Set([...BENCHMARKS.map((b) => b.name), ...IN_PROCESS_BENCHMARKS.map((b) => b.name)]);
  const unknown = only.filter((n) => !known.has(n));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(", ")}; known: ${[...known].join(", ")}`);
  const inProcess = IN_PROCESS_BENCHMARKS.filter((b) => only.includes(b.name));
  const http = only.filter((n) => !inProcess.some((b) => b.name === n));
  return { http: http.length === 0 ? "none" : http, inProcess };
}

/** Runs the given in-process benchmarks one after another, prints each table, writes them as JSON. */
export async function runInProcessBenchmarks(
  benchmarks: readonly InProcessBenchmark[],
  options: { log: (line: string) => void; resultsFile: string; passes?: number },
): Promise<InProcessResult[]> {
  const results: InProcessResult[] = [];
  for (const benchmark of benchmarks) {
    options.log(`${benchmark.name}: ${benchmark.description}`);
    const result = await benchmark.run({ log: options.log, ...(options.passes ? { passes: options.passes } : {}) });
    results.push(result);
    console.log("");
    console.log(formatInProcessTable(result));
    for (const note of result.notes) console.log(`  ${note}`);
    console.log("");
  }
  await mkdir(dirname(options.resultsFile), { recursive: true });
  const tmp = `${options.resultsFile}.${process.pid}.tmp`;
  await writeFile(
    tmp,
    `${JSON.stringify({ finishedAt: new Date().toISOString(), node: process.versions.node, results }, null, 2)}\n`,
  );
  await rename(tmp, options.resultsFile);
  options.log(`in-process results written to ${options.resultsFile}`);
  return results;
}
