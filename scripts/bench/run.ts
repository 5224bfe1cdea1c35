// `npm run bench`: starts a local stack of its own (free ports, data under .data/bench/stack,
// so it runs beside `npm start`), loads each named benchmark with autocannon, prints one
// table with ratios against the baseline measured in the same run, and writes it as JSON to
// .data/bench/latest.json.
import { cpus, loadavg, platform } from "node:os";
import { join } from "node:path";
import { startLocalStack, type LocalStack } from "../lib/local-stack";
import { stackLayout } from "../lib/stack-layout";
import { PORT_SETTINGS } from "../lib/stack-ports";
import { BARE_ROUTE, BASELINE, selectBenchmarks, type Benchmark } from "./benchmarks";
import { BENCH_USAGE, parseBenchArgs } from "./args";
import { runInProcessBenchmarks, splitOnly } from "./in-process";
import type { InProcessBenchmark } from "./passes";
import { runLoad, type LoadResult } from "./load";
import { baselineDrift, formatTable, withRatios, writeReport } from "./report";
import type { ScenarioOutcome } from "./stack-scenario";
import {
  printScenarioOutcomes,
  runScenario,
  scenarioDatabaseUrl,
  scenarioStackConfig,
  writeScenarioReport,
} from "./stack-scenarios";

const say = (line: string) => console.log(`bench: ${line}`);
const fail = (message: string, code = 1): never => {
  console.error(`bench: ${message}`);
  process.exit(code);
};

let args: ReturnType<typeof parseBenchArgs>;
let selected: Benchmark[];
let inProcess: InProcessBenchmark[];
let stackConfig: Record<string, string>;
try {
  args = parseBenchArgs(process.argv.slice(2));
  const split = splitOnly(args.only);
  inProcess = split.inProcess;
  selected = split.http === "none" ? [] : selectBenchmarks(split.http);
  stackConfig = scenarioStackConfig(selected.flatMap((b) => (b.scenario ? [b.scenario] : [])));
} catch (error) {
  fail((error as Error).message, 2);
}
if (args!.help) {
  console.log(BENCH_USAGE);
  process.exit(0);
}

const layout = stackLayout();
const resultsFile = join(layout.dataDir, "bench", "latest.json");
const env: NodeJS.ProcessEnv = {
  ...process.env,
  DOCKET_DATA_DIR: process.env.DOCKET_BENCH_DATA_DIR ?? join(layout.dataDir, "bench", "stack"),
};
for (const { env: variable } of Object.values(PORT_SETTINGS)) env[variable] = "0";
// What the selected scenarios need of the Worker (an intake reminder due seconds after payment),
// on this stack only; local-stack passes app-config keys through to the Worker's env file.
Object.assign(env, stackConfig!);

// In-process benchmarks (parsers, classifiers; scripts/bench/in-process.ts) first, on a machine
// the stack is not loading yet, and before the signal handlers (nothing to stop on Ctrl-C yet).
// With --only naming only those, the stack is not started at all.
if (inProcess!.length > 0) {
  try {
    await runInProcessBenchmarks(inProcess!, {
      log: say,
      resultsFile: join(layout.dataDir, "bench", "in-process.json"),
    });
  } catch (error) {
    fail(`in-process benchmarks: ${(error as Error).message}`);
  }
}
if (selected!.length === 0) process.exit(0);

const controller = new AbortController();
let stack: LocalStack | undefined;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    if (!stack) return controller.abort(new Error(`interrupted by ${sig}`));
    say(`interrupted by ${sig}; stopping the stack`);
    void stack.stop().finally(() => process.exit(130));
  });
}

/** Each benchmark must answer 200 before it is loaded: a 404 under load measures nothing. */
async function preflight(workerUrl: string, benchmark: Benchmark): Promise<void> {
  const res = await fetch(`${workerUrl}${benchmark.path}`);
  const body = await res.text();
  if (res.status === 200) return;
  if (benchmark.path === BARE_ROUTE && res.status === 404) {
    throw new Error(
      `GET ${BARE_ROUTE} answered 404: the baseline route is missing from workers/app.ts ` +
        `(a constant answer registered before all middleware, served only when APP_ENV is development)`,
    );
  }
  throw new Error(`GET ${benchmark.path} answered ${res.status}, not 200: ${body.slice(0, 400)}`);
}

const startedAt = new Date();
const warmupSeconds = Math.min(2, args!.durationSeconds);
const results: { benchmark: Benchmark; result: LoadResult }[] = [];
const scenarioOutcomes: ScenarioOutcome[] = [];
let recheck: LoadResult | undefined;
if (Object.keys(stackConfig!).length > 0) {
  say(
    `configuration for the scenarios: ${Object.entries(stackConfig!)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")}`,
  );
}
try {
  stack = await startLocalStack({ env, log: say, signal: controller.signal });
} catch (error) {
  fail(
    controller.signal.aborted
      ? "interrupted while starting; everything stopped"
      : `the stack did not start: ${(error as Error).message}`,
  );
}
try {
  const workerUrl = stack!.info.workerUrl;
  for (const benchmark of selected!) if (!benchmark.scenario) await preflight(workerUrl, benchmark);
  for (const benchmark of selected!) {
    if (benchmark.scenario) {
      // A scenario (stack-scenarios.ts): its own requests and checks; its rows join the table.
      const outcome = await runScenario(benchmark.scenario, {
        workerUrl,
        stripeUrl: stack!.info.stripe.url,
        smtpHttpUrl: stack!.info.smtp.httpUrl,
        databaseUrl: scenarioDatabaseUrl(stack!.info),
        connections: args!.connections,
        durationSeconds: args!.durationSeconds,
        log: say,
        measured: results.map((r) => ({ name: r.benchmark.name, result: r.result })),
        watchWorkerOutput: (fn) => stack!.forwardWorkerOutput(fn),
      });
      scenarioOutcomes.push(outcome);
      for (const row of outcome.rows) {
        results.push({
          benchmark: { name: row.name, path: row.path, description: row.description },
          result: row.result,
        });
      }
      continue;
    }
    say(
      `${benchmark.name}: GET ${benchmark.path}, ${args!.connections} connections, ${warmupSeconds} s warm-up + ${args!.durationSeconds} s`,
    );
    const result = await runLoad({
      url: `${workerUrl}${benchmark.path}`,
      durationSeconds: args!.durationSeconds,
      connections: args!.connections,
      warmupSeconds,
    });
    results.push({ benchmark, result });
  }
  if (selected!.length > 1) {
    // The baseline once more, last: how much the machine's load moved during the run.
    say(`${BASELINE.name} again: GET ${BASELINE.path}, to measure the run's drift`);
    recheck = await runLoad({
      url: `${workerUrl}${BASELINE.path}`,
      durationSeconds: args!.durationSeconds,
      connections: args!.connections,
      warmupSeconds,
    });
  }
} catch (error) {
  await stack!.stop().catch(() => {});
  fail((error as Error).message);
}
await stack!.stop();

const rows = withRatios(results, recheck);
const base = results.find((r) => r.benchmark.baseline)!.result;
const drift = recheck ? baselineDrift(base, recheck) : undefined;
console.log("");
console.log(formatTable(rows, BASELINE.name));
if (recheck && drift !== undefined) {
  const pct = `${drift >= 0 ? "+" : ""}${(drift * 100).toFixed(1)}%`;
  say(
    `${BASELINE.name} measured again at the end: ${recheck.requestsPerSecond.toFixed(1)} req/s (${pct}); ratios use the mean of both runs` +
      (Math.abs(drift) > 0.2 ? ". The machine's load changed during the run: treat the ratios as rough." : ""),
  );
}
const scenariosPassed = printScenarioOutcomes(scenarioOutcomes);
const failing = rows.filter((r) => r.result.errors > 0);
for (const row of failing) say(`${row.name}: ${row.result.errors} errors ${JSON.stringify(row.result.errorDetail)}`);
if (scenarioOutcomes.length > 0)
  await writeScenarioReport(join(layout.dataDir, "bench", "scenarios.json"), scenarioOutcomes);
await writeReport(resultsFile, {
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  settings: { durationSeconds: args!.durationSeconds, connections: args!.connections, warmupSeconds },
  machine: {
    node: process.versions.node,
    platform: platform(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    loadAverage: loadavg(),
  },
  baseline: BASELINE.name,
  ...(recheck && drift !== undefined ? { baselineRecheck: { result: recheck, drift } } : {}),
  rows,
});
say(`results written to ${resultsFile}`);
process.exit(failing.length > 0 || !scenariosPassed ? 1 : 0);
