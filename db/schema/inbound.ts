import { sql } from "drizzle-orm";
import { bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

export const INBOUND_KINDS = [
  "dmarc_report",
  "bounce",
  "delay",
  "delivered",
  "complaint",
  "auto_reply",
  "agency_reply",
  "other",
  "unsubscribe",
] as const;

/**
 * Every message the email handler accepted, keyed by where its raw bytes live in R2. The
 * inbound-mail consumer records it once per R2 key, then processes it once per
 * (Message-ID, SHA-256 of the raw bytes): the same mail delivered twice is stored twice but
 * acted on once (the second copy is marked `duplicate`).
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
    contentHash: text("content_hash"),
    fromHeader: text("from_header"),
    subject: text("subject"),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull(),
    recordedAt: timestamp("recorded_at", { withTimezone: true }).notNull().defaultNow(),
    status: text("status", { enum: ["received", "processed", "duplicate", "failed"] })
      .notNull()
      .default("received"),
    kind: text("kind", { enum: INBOUND_KINDS }),
    /** What processing found or did (report ids, recipients, forward outcome…). */
    detail: jsonb("detail"),
    /** Why processing failed, for the operator: a clear sentence with the parser's error code. */
    error: text("error"),
    processedAt: timestamp("processed_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("inbound_messages_r2_key").on(t.r2Key),
    index("inbound_messages_message_id").on(t.messageId),
    // The processing key: only one copy of a given message is ever processed.
    uniqueIndex("inbound_messages_processed_once")
      .on(sql`coalesce(${t.messageId}, '')`, t.contentHash)
      .where(sql`${t.status} in ('processed', 'failed')`),
  ],
);
