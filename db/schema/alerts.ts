import { bigserial, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

/**
 * Alerts sent, one per rule, subject (an IP, an operator…) and window: the claim is written
 * before the channels are called, so an alert goes out once per window.
 */
export const alertsSent = pgTable(
  "alerts_sent",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    rule: text("rule").notNull(),
    subject: text("subject").notNull(),
    windowKey: text("window_key").notNull(),
    title: text("title").notNull(),
    body: text("body").notNull(),
    metrics: jsonb("metrics"),
    /** Per channel: "sent" or the error. */
    deliveries: jsonb("deliveries"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("alerts_sent_once").on(t.rule, t.subject, t.windowKey)],
);
