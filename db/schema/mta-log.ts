import { date, integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/** Each ingested MTA log line, by the SHA-256 of its text: a line posted twice counts once. */
export const mtaLogLines = pgTable("mta_log_lines", {
  lineHash: text("line_hash").primaryKey(),
  day: date("day").notNull(),
  ingestedAt: timestamp("ingested_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Deliveries per day, sending IP, receiving operator, outcome and reason code. */
export const mtaDailyAggregates = pgTable(
  "mta_daily_aggregates",
  {
    day: date("day").notNull(),
    sendingIp: text("sending_ip").notNull(),
    operator: text("operator").notNull(),
    outcome: text("outcome").notNull(),
    reasonCode: text("reason_code").notNull(),
    count: integer("count").notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.day, t.sendingIp, t.operator, t.outcome, t.reasonCode] })],
);
