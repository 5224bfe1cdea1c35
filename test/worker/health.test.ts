import { exports } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import pkg from "../../package.json";
import { controlStack } from "../support/control";

const get = (path: string) => exports.default.fetch(new Request(`http://docket.test${path}`));

describe("GET /health", () => {
  it("answers 200 with status and version", async () => {
    const res = await get("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", version: pkg.version });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("GET /health/deep", () => {
  afterAll(async () => {
    // Leave Postgres running for the files after this one, whatever happened here.
    await controlStack("postgres/start").catch(() => {});
  });

  it("checks Postgres, R2, both Durable Objects and a queue, and answers 200 when all pass", async () => {
    const res = await get("/health/deep");
    const body = (await res.json()) as {
      status: string;
      failing: string[];
      checks: Record<string, { ok: boolean; detail?: unknown }>;
    };
    expect(body.failing).toEqual([]);
    expect(res.status).toBe(200);
    expect(body.status).toBe("ok");
    expect(Object.keys(body.checks).sort()).toEqual(["mxThrottle", "orderMachine", "postgres", "queue", "r2"]);
    expect(body.checks.orderMachine?.detail).toMatchObject({ ok: true, object: "OrderMachine" });
    expect(body.checks.mxThrottle?.detail).toMatchObject({ ok: true, object: "MxThrottle" });
  });

  it("answers 503 naming postgres when Postgres is stopped, and recovers when it is back", async () => {
    await controlStack("postgres/stop");
    const res = await get("/health/deep");
    expect(res.status).toBe(503);
    const body = (await res.json()) as {
      status: string;
      failing: string[];
      checks: Record<string, { ok: boolean; error?: string }>;
    };
    expect(body.status).toBe("failing");
    expect(body.failing).toEqual(["postgres"]);
    expect(body.checks.postgres?.error).toBeTruthy();
    expect(body.checks.r2?.ok).toBe(true);

    await controlStack("postgres/start");
    const again = await get("/health/deep");
    expect(again.status).toBe(200);
  });
});
