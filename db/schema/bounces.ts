import { bigint, bigserial, boolean, index, integer, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { inboundMessages } from "./inbound";
import { mailSends } from "./mail";

/**
 * One row per recipient of a delivery status notification or complaint, keyed by the inbound
 * message and the recipient's position in it: reprocessing adds nothing.
 */
export const bounceEvents = pgTable(
  "bounce_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    inboundMessageId: bigint("inbound_message_id", { mode: "number" })
      .notNull()
      .references(() => inboundMessages.id),
    recipientIndex: integer("recipient_index").notNull(),
    sendId: bigint("send_id", { mode: "number" }).references(() => mailSends.id),
    /** How the send was found: header, verp, message_id, or null when it was not. */
    matchedBy: text("matched_by"),
    recipient: text("recipient").notNull(),
    kind: text("kind", { enum: ["bounce", "delay", "delivered", "complaint"] }).notNull(),
    reason: text("reason").notNull(),
    status: text("status"),
    replyCode: integer("reply_code"),
    hardBounce: boolean("hard_bounce").notNull(),
    outcome: text("outcome"),
    diagnostic: text("diagnostic"),
    feedbackType: text("feedback_type"),
    occurredAt: timestamp("occurred_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("bounce_events_message_recipient").on(t.inboundMessageId, t.recipientIndex),
    index("bounce_events_recipient").on(t.recipient),
    index("bounce_events_occurred_at").on(t.occurredAt),
  ],
);
