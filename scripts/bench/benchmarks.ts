import type { StackScenario } from "./stack-scenario";
import { SCENARIO_BENCHMARKS } from "./stack-scenarios";

/**
 * The named benchmarks. Each is one GET against the local Worker (or a scenario:
 * stack-scenarios.ts); the baseline is measured in every run, so every other result reads as a
 * fraction of it on this machine, today.
 */
export interface Benchmark {
  name: string;
  path: string;
  description: string;
  baseline?: true;
  /** A scenario run on the stack (stack-scenarios.ts) instead of one GET under autocannon. */
  scenario?: StackScenario;
  /** Benchmarks measured in the same run whenever this one is (what its notes compare with). */
  with?: string[];
}

export const BARE_ROUTE = "/__bench/bare";

export const BENCHMARKS: readonly Benchmark[] = [
  {
    name: "bare",
    path: BARE_ROUTE,
    baseline: true,
    description:
      "a constant answer from a Hono route ahead of all middleware: wrangler dev + workerd + Hono, nothing of ours",
  },
  { name: "health", path: "/health", description: "liveness: request id, configuration guard, body limit, JSON" },
  {
    name: "health-deep",
    path: "/health/deep",
    description:
      "readiness: a Postgres round trip (WebSocket proxy), R2 put/get/delete, two Durable Object RPCs, a queue send",
  },
  ...SCENARIO_BENCHMARKS,
];

export const BASELINE: Benchmark = BENCHMARKS.find((b) => b.baseline)!;

/** The baseline plus the named benchmarks, in table order; unknown names are an error. */
export function selectBenchmarks(only: readonly string[] | undefined): Benchmark[] {
  if (!only || only.length === 0) return [...BENCHMARKS];
  const unknown = only.filter((name) => !BENCHMARKS.some((b) => b.name === name));
  if (unknown.length > 0) {
    throw new Error(`unknown benchmark ${unknown.join(", ")}; known: ${BENCHMARKS.map((b) => b.name).join(", ")}`);
  }
  const wanted = new Set(only.flatMap((name) => [name, ...(BENCHMARKS.find((b) => b.name === name)?.with ?? [])]));
  return BENCHMARKS.filter((b) => b.baseline || wanted.has(b.name));
}
