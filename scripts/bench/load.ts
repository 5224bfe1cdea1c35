import autocannon from "autocannon";

/** One load run with autocannon: fixed connections, fixed duration, loopback only. */

export interface LoadOptions {
  url: string;
  durationSeconds: number;
  connections: number;
  /** Seconds of unmeasured load first (isolates warm, JIT, connection pools). */
  warmupSeconds?: number;
  headers?: Record<string, string>;
}

export interface LoadResult {
  requests: number;
  durationSeconds: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Connection errors (timeouts included), non-2xx answers and body mismatches together. */
  errors: number;
  errorDetail: { connection: number; timeouts: number; non2xx: number; statusCodes: Record<string, number> };
  /** A scenario's invariant (stack-scenario.ts), shown in the table's check column (`label`, or PASS/FAIL). */
  check?: { pass: boolean; summary: string; label?: string };
}

export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!["127.0.0.1", "localhost", "[::1]", "::1"].includes(host)) {
    throw new Error(`the bench only loads loopback addresses, not ${host}`);
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  assertLoopback(options.url);
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: 10,
    pipelining: 1,
    // Its own thread: the stack's proxy and SMTP sink share this process's event loop, and
    // the load generator must not starve them (the machine's cores are shared regardless).
    workers: 1,
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.warmupSeconds ? { warmup: { connections: options.connections, duration: options.warmupSeconds } } : {}),
  });
  const requests = result.requests.total;
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]),
  );
  return {
    requests,
    durationSeconds: result.duration,
    requestsPerSecond: result.duration > 0 ? requests / result.duration : 0,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.mean,
    },
    errors: result.errors + result.non2xx + result.mismatches,
    errorDetail: { connection: result.errors, timeouts: result.timeouts, non2xx: result.non2xx, statusCodes },
  };
}
