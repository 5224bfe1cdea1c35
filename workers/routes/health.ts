import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { openDb } from "../../db/client";
import pkg from "../../package.json";
import { isAdminRequest } from "../admin-auth";
import type { AppEnv } from "../app-env";
import { ApiError } from "../http-errors";

export const VERSION: string = pkg.version;

type CheckResult = { ok: true; ms: number; detail?: unknown } | { ok: false; ms: number; error: string };

const CHECK_TIMEOUT_MS = 5_000;

async function timed(run: () => Promise<unknown>): Promise<CheckResult> {
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined = undefined;
  try {
    const detail = await Promise.race([
      run(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return detail === undefined
      ? { ok: true, ms: Date.now() - started }
      : { ok: true, ms: Date.now() - started, detail };
  } catch (error) {
    return { ok: false, ms: Date.now() - started, error: error instanceof Error ? error.message : String(error) };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

export const healthRoutes = new Hono<AppEnv>();

/** Liveness: the Worker runs and its configuration is valid (the guard answers 503 otherwise). */
healthRoutes.get("/health", (c) => c.json({ status: "ok", version: VERSION }));

/**
 * Readiness: one real round trip to every dependency, in parallel. 503 names each failing
 * check. It writes (R2, a queue message), so in production it needs the admin token.
 */
healthRoutes.get("/health/deep", async (c) => {
  const config = c.get("config");
  if (config.APP_ENV === "production" && !isAdminRequest(c.req.header("authorization"), config)) {
    throw new ApiError(401, "UNAUTHORIZED", "The deep health check needs the admin bearer token in production");
  }
  const env = c.env;
  const probe = crypto.randomUUID();
  const entries = await Promise.all([
    [
      "postgres",
      timed(async () => {
        const handle = openDb(config);
        try {
          const result = await handle.db.execute<{ ok: number }>(sql`select 1 as ok`);
          if (result.rows[0]?.ok !== 1) throw new Error("unexpected answer to select 1");
        } finally {
          c.executionCtx.waitUntil(handle.close());
        }
      }),
    ],
    [
      "r2",
      timed(async () => {
        const key = `health/${probe}`;
        await env.FILES.put(key, probe);
        try {
          const back = await env.FILES.get(key);
          if ((await back?.text()) !== probe) throw new Error("object read back differs from what was written");
        } finally {
          await env.FILES.delete(key);
        }
      }),
    ],
    ["orderMachine", timed(async () => await env.ORDER_MACHINE.get(env.ORDER_MACHINE.idFromName("health")).ping())],
    ["mxThrottle", timed(async () => await env.MX_THROTTLE.get(env.MX_THROTTLE.idFromName("health")).ping())],
    [
      "queue",
      timed(async () => {
        await env.FULFILLMENT_QUEUE.send({ type: "health.ping", probe, at: new Date().toISOString() });
      }),
    ],
  ] as const).then((pairs) => Promise.all(pairs.map(async ([name, p]) => [name, await p] as const)));
  const checks = Object.fromEntries(entries);
  const failing = entries.filter(([, r]) => !r.ok).map(([name]) => name);
  const body = { status: failing.length === 0 ? "ok" : "failing", version: VERSION, failing, checks };
  return c.json(body, failing.length === 0 ? 200 : 503);
});
