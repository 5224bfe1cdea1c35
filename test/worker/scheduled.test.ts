import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import wranglerToml from "../../wrangler.toml?raw";
import { cronRuns, deadLetters } from "../../db/schema";
import worker from "../../workers/index";
import { CRON_JOBS } from "../../workers/scheduled";
import { testEnv, withTestDb } from "../support/db";

async function fire(cron: string, scheduledTime: number) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron, scheduledTime }), testEnv, ctx);
  await waitOnExecutionContext(ctx);
}

describe("cron dispatch", () => {
  it("the cron table and wrangler.toml's triggers name the same expressions", () => {
    const declared = JSON.parse(/crons\s*=\s*(\[[^\]]*\])/.exec(wranglerToml)?.[1] ?? "[]") as string[];
    expect([...new Set(CRON_JOBS.map((j) => j.cron))].sort()).toEqual([...declared].sort());
  });

  it("runs the job mapped to the trigger, once per scheduled time", async () => {
    await withTestDb((db) =>
      db.insert(deadLetters).values({ queue: "fulfillment", messageId: "m-1", body: { type: "x" }, attempts: 4 }),
    );
    const at = Math.floor(Date.now() / 60_000) * 60_000;
    await fire("*/15 * * * *", at);
    await fire("*/15 * * * *", at); // the same trigger delivered twice
    const runs = await withTestDb((db) => db.select().from(cronRuns));
    // Two jobs share the quarter-hour trigger; each ran once.
    expect(runs.map((r) => r.job).sort()).toEqual(["campaign-send-reconcile", "dead-letter-watch"]);
    expect(runs.find((r) => r.job === "dead-letter-watch")).toMatchObject({
      outcome: "succeeded",
      detail: { open: 1, recent: 1 },
    });
    expect(runs.find((r) => r.job === "campaign-send-reconcile")).toMatchObject({
      outcome: "succeeded",
      detail: { reconciled: 0, requeued: 0 },
    });
    for (const run of runs) expect(run.scheduledAt.getTime()).toBe(at);

    await fire("30 3 * * *", Date.UTC(2026, 10, 22, 3, 30));
    const jobs = (await withTestDb((db) => db.select().from(cronRuns))).map((r) => r.job).sort();
    expect(jobs).toEqual(["campaign-send-reconcile", "dead-letter-watch", "prune-history"]);
  });

  it("an expression with no job runs nothing", async () => {
    const before = (await withTestDb((db) => db.select().from(cronRuns))).length;
    await fire("0 0 1 1 *", Date.now());
    expect((await withTestDb((db) => db.select().from(cronRuns))).length).toBe(before);
  });

  it("the outreach jobs run from their triggers: MX tagging, then the day's audience", async () => {
    await fire("15 2 * * *", Date.UTC(2026, 10, 23, 2, 15));
    await fire("0 13 * * *", Date.UTC(2026, 10, 23, 13, 0));
    const runs = await withTestDb((db) => db.select().from(cronRuns));
    expect(runs.find((r) => r.job === "mx-tag")).toMatchObject({ outcome: "succeeded", detail: { considered: 0 } });
    // No campaign is running in this file's database: a build with nothing to choose for.
    expect(runs.find((r) => r.job === "audience-build")).toMatchObject({
      outcome: "succeeded",
      detail: { finished: [], campaigns: [], dryRun: false },
    });
  });
});
