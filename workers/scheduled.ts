import { claimCronRun, finishCronRun, pruneCronRuns } from "../db/cron-runs";
import { countOpenDeadLetters } from "../db/dead-letters";
import { withDb, type Db } from "../db/client";
import type { AppConfig } from "../domain/config/app-config";
import { reconcileStuckSends, sweepForgottenSends, type PendingSend } from "../db/campaign-sends";
import { sendMessagesFor } from "../domain/outreach/send-batches";
import { runAlertRules } from "./alerts/alert-job";
import { buildAudience } from "./outreach/build-audience";
import { anyRunningCampaign } from "../db/campaigns";
import { finishEndedCampaigns } from "./outreach/finish-ended-campaigns";
import { tagUntaggedDomains } from "./outreach/mx-tagging";
import { enqueueAll } from "./routes/admin-campaigns";
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
    job: "campaign-send-reconcile",
    cron: "*/15 * * * *",
    // Campaign sends left `sending` by a Worker that stopped mid-send become `unknown`, never
    // queued again (at most once).
    // And sends whose queue message was lost go back on the queue.
    async run({ env, config, db }) {
      const reconciled = await reconcileStuckSends(db, config.OUTREACH_RECONCILE_AFTER_MINUTES);
      const forgotten = await sweepForgottenSends(db, config.OUTREACH_RECONCILE_AFTER_MINUTES, 20_000);
      const byCampaign = new Map<number, PendingSend[]>();
      for (const send of forgotten)
        byCampaign.set(send.campaignId!, [...(byCampaign.get(send.campaignId!) ?? []), send]);
      for (const [campaignId, sends] of byCampaign) {
        await enqueueAll(env, sendMessagesFor(campaignId, sends, config.OUTREACH_SEND_BATCH));
      }
      return { reconciled, requeued: forgotten.length };
    },
  },
  {
    job: "mx-tag",
    cron: "15 2 * * *",
    // Before the audience build, so today's new domains are capped by their real operator.
    run: ({ config, db, scheduledAt }) => tagUntaggedDomains(db, config, { now: scheduledAt }),
  },
  {
    job: "audience-build",
    cron: "0 13 * * *",
    // 13:00 UTC is morning across the continental US, when carriers read mail.
    async run({ env, config, db, scheduledAt }) {
      const finished = await finishEndedCampaigns(db, scheduledAt);
      // A deployment that does no outreach yet has nothing to build; with a campaign running,
      // a missing warm-up start fails the run (buildAudience says so) instead of sending blind.
      if (config.OUTREACH_WARMUP_START === undefined && !(await anyRunningCampaign(db))) {
        return { finished, skipped: "no running campaign and no OUTREACH_WARMUP_START" };
      }
      const report = await buildAudience(db, config, {
        now: scheduledAt,
        enqueue: (bodies) => enqueueAll(env, bodies),
      });
      return { finished, ...report };
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
