import { request as httpRequest } from "node:http";
import pg from "pg";
import { randomBytes } from "node:crypto";
import { ensureDevAdmin } from "../lib/dev-admin";
import type { ConfigKey } from "../lib/dev-vars";
import type { LoadResult } from "./load";

/**
 * Scenario benchmarks: a script against the local stack the harness started (POSTs with
 * bodies, several steps, checks afterwards) instead of one GET under autocannon. Each gives one
 * or more table rows shaped like autocannon's (requests, req/s, latency percentiles, errors),
 * so the ratio column reads them against the baseline measured in the same run, plus notes and
 * pass/fail checks; a failed check makes `npm run bench` exit non-zero.
 */

export interface ScenarioContext {
  workerUrl: string;
  /** The fake Stripe's base URL (API, /__sim). */
  stripeUrl: string;
  /** The SMTP sink's HTTP API (/messages, /stats). */
  smtpHttpUrl: string;
  /** A Postgres URL with its password (the embedded one, or DATABASE_URL's). */
  databaseUrl: string;
  /** --connections: the concurrency of scenarios that take one. */
  connections: number;
  /** --duration: scenarios bound their own time with it. */
  durationSeconds: number;
  log: (line: string) => void;
  /** Rows already measured in this run (the baseline, /health): for notes that compare. */
  measured: readonly { name: string; result: LoadResult }[];
  /** Every further line wrangler dev prints goes to `fn` (undefined: stop). */
  watchWorkerOutput(fn: ((line: string) => void) | undefined): void;
}

export interface ScenarioCheck {
  name: string;
  pass: boolean;
  /** One line; the details go in `notes`. */
  summary: string;
}

export interface ScenarioRow {
  name: string;
  path: string;
  description: string;
  result: LoadResult;
}

export interface ScenarioOutcome {
  name: string;
  rows: ScenarioRow[];
  notes: string[];
  checks: ScenarioCheck[];
  /** Anything else worth keeping in the JSON (plan, counts, samples of what went wrong). */
  detail?: unknown;
}

export interface StackScenario {
  name: string;
  /** What the table's path column shows. */
  path: string;
  description: string;
  /**
   * Worker configuration (app-config keys) this scenario needs on the bench's own stack, set by
   * run.ts when the scenario is selected (never on `npm start`'s): e.g. an intake reminder that
   * falls due seconds after payment instead of a day.
   */
  stackConfig?: Readonly<Partial<Record<ConfigKey, string>>>;
  run(ctx: ScenarioContext): Promise<ScenarioOutcome>;
}

/** Nearest-rank percentile of unsorted values (ms); NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}

const round2 = (ms: number) => Math.round(ms * 100) / 100;

/** A LoadResult from timings taken by a scenario (ms per request, wall time of the phase). */
export function loadResultFrom(options: {
  latenciesMs: readonly number[];
  wallMs: number;
  /** Requests counted for req/s; the number of latencies by default. */
  requests?: number;
  statusCodes: Record<string, number>;
  /** Requests with no answer at all (refused, reset, timed out). */
  connectionErrors: number;
  timeouts?: number;
  check?: LoadResult["check"];
}): LoadResult {
  const requests = options.requests ?? options.latenciesMs.length;
  const non2xx = Object.entries(options.statusCodes)
    .filter(([code]) => !/^2\d\d$/.test(code))
    .reduce((n, [, count]) => n + count, 0);
  const mean = options.latenciesMs.length
    ? options.latenciesMs.reduce((a, b) => a + b, 0) / options.latenciesMs.length
    : Number.NaN;
  return {
    requests,
    durationSeconds: round2(options.wallMs / 1000),
    requestsPerSecond: options.wallMs > 0 ? (requests * 1000) / options.wallMs : 0,
    latencyMs: {
      p50: round2(percentile(options.latenciesMs, 50)),
      p90: round2(percentile(options.latenciesMs, 90)),
      p99: round2(percentile(options.latenciesMs, 99)),
      max: round2(options.latenciesMs.length ? Math.max(...options.latenciesMs) : Number.NaN),
      mean: round2(mean),
    },
    errors: options.connectionErrors + non2xx,
    errorDetail: {
      connection: options.connectionErrors,
      timeouts: options.timeouts ?? 0,
      non2xx,
      statusCodes: options.statusCodes,
    },
    ...(options.check ? { check: options.check } : {}),
  };
}

export interface JsonResponse<T = unknown> {
  status: number;
  body: T;
  text: string;
}

/** A JSON request with fetch (keep-alive); the body parsed when it is JSON. */
export async function requestJson<T = unknown>(
  url: string,
  options: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const res = await fetch(url, {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers: { ...(options.body === undefined ? {} : { "content-type": "application/json" }), ...options.headers },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the text is the body
  }
  return { status: res.status, body: body as T, text };
}

/** Like requestJson but expects `status`; throws with the start of the answer otherwise. */
export async function expectJson<T = unknown>(
  what: string,
  url: string,
  options: { method?: string; body?: unknown; status?: number } = {},
): Promise<T> {
  const res = await requestJson<T>(url, options);
  if (res.status !== (options.status ?? 200)) {
    throw new Error(
      `${what}: ${options.method ?? (options.body === undefined ? "GET" : "POST")} ${url} answered ${res.status}: ${res.text.slice(0, 500)}`,
    );
  }
  return res.body;
}

/**
 * A POST of JSON with node:http and no timeout at all: fetch (undici) gives up on headers after
 * 300 s, and a burst delivered by the fake answers only once every delivery is done.
 */
export function postJsonNoTimeout<T = unknown>(url: string, body: unknown): Promise<JsonResponse<T>> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: "POST", headers: { "content-type": "application/json", "content-length": payload.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T, text });
        });
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** Runs `task` over `items`, at most `concurrency` at a time; results in input order. */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return results;
}

/** A fixed list of requests, timed one by one (stack-scenario's rows are built from it). */
export interface TimedRequests {
  latenciesMs: number[];
  statusCodes: Record<string, number>;
  /** Requests with no answer at all (refused, reset, timed out). */
  connectionErrors: number;
  /** From the first request sent to the last answer. */
  wallMs: number;
  /** Not sent: the time budget ran out first. */
  skipped: number;
  /** The first few failures (status and the start of the answer, or the error), for notes. */
  failures: string[];
  /** Per item, in input order: its answer, or null (no answer, or not sent). */
  answers: (JsonResponse | null)[];
  /** Per item, in input order: its latency (ms), or null (no answer, or not sent). */
  itemLatenciesMs: (number | null)[];
}

/**
 * Sends one request per item, at most `concurrency` at a time, timing each (performance.now
 * around the call). Items not started within `budgetMs` are skipped, so a machine far slower
 * than expected bounds the phase instead of stalling the run.
 */
export async function timeRequests<T>(
  items: readonly T[],
  concurrency: number,
  budgetMs: number,
  send: (item: T, index: number) => Promise<JsonResponse>,
): Promise<TimedRequests> {
  const out: TimedRequests = {
    latenciesMs: [],
    statusCodes: {},
    connectionErrors: 0,
    wallMs: 0,
    skipped: 0,
    failures: [],
    answers: new Array<JsonResponse | null>(items.length).fill(null),
    itemLatenciesMs: new Array<number | null>(items.length).fill(null),
  };
  const started = performance.now();
  await pool(items, concurrency, async (item, i) => {
    if (performance.now() - started > budgetMs) {
      out.skipped++;
      return;
    }
    const t0 = performance.now();
    try {
      const res = await send(item, i);
      const ms = performance.now() - t0;
      out.latenciesMs.push(ms);
      out.itemLatenciesMs[i] = ms;
      out.statusCodes[res.status] = (out.statusCodes[res.status] ?? 0) + 1;
      out.answers[i] = res;
      if ((res.status < 200 || res.status > 299) && out.failures.length < 3) {
        out.failures.push(`${res.status} ${res.text.slice(0, 200)}`);
      }
    } catch (error) {
      out.connectionErrors++;
      if (out.failures.length < 3) out.failures.push((error as Error).message);
    }
  });
  out.wallMs = performance.now() - started;
  return out;
}

/** One short-lived Postgres client for a scenario's queries. */
export async function withPostgres<T>(databaseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Counts wrangler dev's reloads while a scenario runs. wrangler dev rebuilds and restarts the
 * Worker whenever a source file in the tree changes (someone editing beside the bench): requests
 * in flight then answer 503 "Your worker restarted mid-request" and queue work in flight is cut
 * short, so a run with a reload measures the restart, not the code.
 */
export function watchReloads(ctx: ScenarioContext): { count(): number; stop(): void } {
  let reloads = 0;
  ctx.watchWorkerOutput((line) => {
    if (/Reloading local server/.test(line)) reloads++;
  });
  return { count: () => reloads, stop: () => ctx.watchWorkerOutput(undefined) };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A tag unique to this run, for e-mail addresses (a new customer per checkout, every run). */
export function runTag(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
}

/** The ratio of a scenario row to a row measured earlier in the run, e.g. "0.42× /health req/s". */
export function versus(result: LoadResult, measured: ScenarioContext["measured"], name: string): string | undefined {
  const other = measured.find((m) => m.name === name)?.result;
  if (!other || other.requestsPerSecond <= 0) return undefined;
  const rps = result.requestsPerSecond / other.requestsPerSecond;
  const p99 = other.latencyMs.p99 > 0 ? result.latencyMs.p99 / other.latencyMs.p99 : Number.NaN;
  return `vs ${name} of this run (${other.requestsPerSecond.toFixed(1)} req/s, p99 ${other.latencyMs.p99} ms): ${rps.toFixed(2)}× the throughput, ${Number.isFinite(p99) ? p99.toFixed(1) : "n/a"}× the p99`;
}

/** A bench admin with a password of this run, signed in through POST /api/admin/login. */
export async function adminAuthorization(ctx: ScenarioContext): Promise<string> {
  const email = "bench@docket.localhost";
  const password = `bench-${randomBytes(18).toString("base64url")}`;
  await ensureDevAdmin(ctx.databaseUrl, email, password);
  const { token } = await expectJson<{ token: string }>("admin login", `${ctx.workerUrl}/api/admin/login`, {
    body: { email, password },
  });
  return `Bearer ${token}`;
}
