import { and, eq, lt, sql } from "drizzle-orm";
import type { Db } from "./client";
import { cronRuns } from "./schema";

/**
 * Claims the run of `job` for `scheduledAt`. Returns the run id, or undefined when that run
 * was already claimed (the same trigger delivered twice runs its job once).
 */
export async function claimCronRun(db: Db, job: string, cron: string, scheduledAt: Date): Promise<number | undefined> {
  const rows = await db
    .insert(cronRuns)
    .values({ job, cron, scheduledAt })
    .onConflictDoNothing()
    .returning({ id: cronRuns.id });
  return rows[0]?.id;
}

export async function finishCronRun(
  db: Db,
  id: number,
  result: { outcome: "succeeded"; detail: unknown } | { outcome: "failed"; error: string },
): Promise<void> {
  await db
    .update(cronRuns)
    .set({
      finishedAt: sql`now()`,
      outcome: result.outcome,
      detail: result.outcome === "succeeded" ? (result.detail ?? null) : null,
      error: result.outcome === "failed" ? result.error : null,
    })
    .where(eq(cronRuns.id, id));
}

/** Deletes finished runs older than `before`; returns how many. */
export async function pruneCronRuns(db: Db, before: Date): Promise<number> {
  const rows = await db
    .delete(cronRuns)
    .where(and(lt(cronRuns.startedAt, before), sql`${cronRuns.finishedAt} is not null`))
    .returning({ id: cronRuns.id });
  return rows.length;
}
