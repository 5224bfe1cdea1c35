import { bigserial, index, integer, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

/**
 * Every message the email handler accepted, keyed by where its raw bytes live in R2. The
 * inbound-mail consumer records it once (a redelivered queue message changes nothing);
 * classification and its effects build on this row.
 */
export const inboundMessages = pgTable(
  "inbound_messages",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    r2Key: text("r2_key").notNull(),
    envelopeFrom: text("envelope_from").notNull(),
    envelopeTo: text("envelope_to").notNull(),
    rawSize: integer("raw_size").notNull(),
    messageId: text("message_id"),
    fromHeader: text("from_header"),
    subject: text("subject"),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull(),
    recordedAt: timestamp("recorded_at", { withTimezone: true }).notNull().defaultNow(),
    status: text("status", { enum: ["received", "processed", "failed"] }).notNull().default("received"),
  },
  (t) => [uniqueIndex("inbound_messages_r2_key").on(t.r2Key), index("inbound_messages_message_id").on(t.messageId)],
);
