import { sql } from "drizzle-orm";
import { bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

/**
 * Operational records the platform keeps about itself: what its cron triggers ran, and what
 * its queues gave up on. Both are read by the operator (admin, CLI) and by alert rules.
 */

/** One row per cron job per scheduled time: a trigger delivered twice runs its job once. */
export const cronRuns = pgTable(
  "cron_runs",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    job: text("job").notNull(),
    cron: text("cron").notNull(),
    scheduledAt: timestamp("scheduled_at", { withTimezone: true }).notNull(),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    outcome: text("outcome", { enum: ["running", "succeeded", "failed"] })
      .notNull()
      .default("running"),
    detail: jsonb("detail"),
    error: text("error"),
  },
  (t) => [uniqueIndex("cron_runs_job_scheduled_at").on(t.job, t.scheduledAt)],
);

/**
 * Messages a queue gave up on after its retries, recorded by the dead-letter consumers under
 * the queue's own message id (a redelivered dead letter is recorded once).
 */
export const deadLetters = pgTable(
  "dead_letters",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    queue: text("queue").notNull(),
    messageId: text("message_id").notNull(),
    body: jsonb("body"),
    attempts: integer("attempts").notNull(),
    firstSeenAt: timestamp("first_seen_at", { withTimezone: true }).notNull().defaultNow(),
    replayedAt: timestamp("replayed_at", { withTimezone: true }),
    resolvedAt: timestamp("resolved_at", { withTimezone: true }),
    note: text("note"),
  },
  (t) => [
    uniqueIndex("dead_letters_queue_message_id").on(t.queue, t.messageId),
    index("dead_letters_open")
      .on(t.firstSeenAt)
      .where(sql`${t.resolvedAt} is null`),
  ],
);
