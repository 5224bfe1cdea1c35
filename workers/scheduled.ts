import { claimCronRun, finishCronRun, pruneCronRuns } from "../db/cron-runs";
import { countOpenDeadLetters } from "../db/dead-letters";
import { withDb, type Db } from "../db/client";
import type { AppConfig } from "../domain/config/app-config";
import { runAlertRules } from "./alerts/alert-job";
import { appConfig, type Env } from "./env";

export interface JobContext {
  env: Env;
  config: AppConfig;
  db: Db;
  scheduledAt: Date;
}

export interface CronJob {
  job: string;
  cron: string;
  run(ctx: JobContext): Promise<unknown>;
}

/**
 * The one cron table: each expression in wrangler.toml's [triggers] maps to the jobs it runs.
 * A test checks that both lists agree.
 */
export const CRON_JOBS: readonly CronJob[] = [
  {
    job: "dead-letter-watch",
    cron: "*/15 * * * *",
    // Dead letters are work nobody will do unless someone looks: say so in the log every
    // quarter hour while any are open (alert channels hook in here).
    async run({ db, scheduledAt }) {
      const counts = await countOpenDeadLetters(db, new Date(scheduledAt.getTime() - 15 * 60_000));
      if (counts.open > 0) {
        console.warn(JSON.stringify({ level: "warn", event: "dead_letters_open", ...counts }));
      }
      return counts;
    },
  },
  {
    job: "prune-history",
    cron: "30 3 * * *",
    async run({ db, scheduledAt }) {
      const cronRunsDeleted = await pruneCronRuns(db, new Date(scheduledAt.getTime() - 30 * 86_400_000));
      return { cronRunsDeleted };
    },
  },
  {
    job: "alert-rules",
    cron: "5 * * * *",
    // Deliverability alert rules (workers/alerts/alert-job.ts). Hourly is plenty for rates
    // measured over days, and each alert still goes out once per rule, subject and window.
    run: ({ config, db, scheduledAt }) => runAlertRules({ config, db, now: scheduledAt }),
  },
];

/**
 * The Worker's `scheduled` entry point: runs every job mapped to the trigger's expression,
 * each claimed once per scheduled time in `cron_runs`, each failure recorded and rethrown so
 * the platform marks the invocation failed.
 */
export async function runScheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const config = appConfig(env);
  const jobs = CRON_JOBS.filter((j) => j.cron === controller.cron);
  if (jobs.length === 0) {
    console.error(JSON.stringify({ level: "error", event: "cron_without_job", cron: controller.cron }));
    return;
  }
  const scheduledAt = new Date(controller.scheduledTime);
  const failures: string[] = [];
  await withDb(
    config,
    async (db) => {
      for (const job of jobs) {
        const runId = await claimCronRun(db, job.job, job.cron, scheduledAt);
        if (runId === undefined) continue;
        try {
          const detail = await job.run({ env, config, db, scheduledAt });
          await finishCronRun(db, runId, { outcome: "succeeded", detail: detail ?? null });
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          failures.push(`${job.job}: ${message}`);
          await finishCronRun(db, runId, { outcome: "failed", error: message });
        }
      }
    },
    ctx,
  );
  if (failures.length > 0) throw new Error(`cron ${controller.cron} failed: ${failures.join("; ")}`);
}
