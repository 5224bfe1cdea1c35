import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  date,
  index,
  integer,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

/**
 * What we know about whether an address takes mail. Sending is keyed on this value only
 * (DESIGN.md, Outreach): the old system trusted a boolean that the verifier set optimistically
 * and hard-bounced half its list.
 */
export const verificationResult = pgEnum("verification_result", [
  "unknown",
  "smtp_valid",
  "send_confirmed",
  "catch_all",
  "mx_probe_blocked",
  "hard_bounced",
]);

/** One row per address (lower-cased): its verification result and bounce history. */
export const emailAddresses = pgTable(
  "email_addresses",
  {
    address: text("address").primaryKey(),
    domain: text("domain").notNull(),
    verificationResult: verificationResult("verification_result").notNull().default("unknown"),
    softBounces: integer("soft_bounces").notNull().default(0),
    lastBounceAt: timestamp("last_bounce_at", { withTimezone: true }),
    lastDeliveredAt: timestamp("last_delivered_at", { withTimezone: true }),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("email_addresses_domain").on(t.domain)],
);

export const SUPPRESSION_REASONS = ["hard_bounce", "soft_bounce_limit", "complaint", "unsubscribe", "manual"] as const;

/** Addresses we never mail again (campaign mail; transactional mail to a customer is separate). */
export const suppressions = pgTable("suppressions", {
  address: text("address").primaryKey(),
  reason: text("reason", { enum: SUPPRESSION_REASONS }).notNull(),
  /** What caused it: an inbound message id, a send id, an operator's note. */
  source: text("source"),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export const SEND_STATUSES = [
  /** A campaign send chosen by the audience build, waiting for the send consumer. */
  "queued",
  "sending",
  "accepted",
  "deferred",
  "rejected",
  "bounced",
  "delivered",
  "complained",
  /** A queued campaign send withdrawn before it went out (suppressed, scrubbed, campaign ended). */
  "cancelled",
  /**
   * Claimed and handed to the relay, but the relay's answer was never recorded (the Worker died
   * in between). Reconciled to this state, never resent; a later bounce or delivery report
   * still settles it.
   */
  "unknown",
] as const;

/**
 * One row per message per recipient we hand to a relay, written before the hand-off (so a send
 * happens at most once: a row stuck in `sending` is never retried blindly) and updated with the
 * relay's answer and, later, with what bounces, delivery reports and complaints say.
 */
export const mailSends = pgTable(
  "mail_sends",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    messageId: text("message_id").notNull(),
    kind: text("kind", { enum: ["campaign", "transactional", "operator", "test"] }).notNull(),
    recipient: text("recipient").notNull(),
    campaignId: bigint("campaign_id", { mode: "number" }),
    status: text("status", { enum: SEND_STATUSES }).notNull().default("sending"),
    smtpCode: integer("smtp_code"),
    smtpEnhanced: text("smtp_enhanced"),
    smtpText: text("smtp_text"),
    /** classifySmtpOutcome of the relay's answer or of the bounce. */
    outcome: text("outcome"),
    bounceReason: text("bounce_reason"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    sentAt: timestamp("sent_at", { withTimezone: true }),
    bouncedAt: timestamp("bounced_at", { withTimezone: true }),
    deliveredAt: timestamp("delivered_at", { withTimezone: true }),
    complainedAt: timestamp("complained_at", { withTimezone: true }),
    // Campaign sends only: who, where, which day, and the consumer's bookkeeping.
    prospectId: bigint("prospect_id", { mode: "number" }),
    /** The receiving operator at build time (mail_domains.operator), or null when untagged. */
    operator: text("operator"),
    /** The UTC day whose audience build chose it (caps count per day). */
    sendDay: date("send_day", { mode: "string" }),
    /** Times the consumer claimed it (a deferred send is claimed again later). */
    attempts: integer("attempts").notNull().default(0),
    /** A deferred send waits until then. */
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }),
    claimedAt: timestamp("claimed_at", { withTimezone: true }),
    cancelReason: text("cancel_reason"),
  },
  (t) => [
    uniqueIndex("mail_sends_message_recipient").on(t.messageId, t.recipient),
    index("mail_sends_recipient").on(t.recipient),
    index("mail_sends_created_at").on(t.createdAt),
    index("mail_sends_campaign_status")
      .on(t.campaignId, t.status)
      .where(sql`${t.campaignId} is not null`),
    index("mail_sends_claimed")
      .on(t.claimedAt)
      .where(sql`${t.status} = 'sending'`),
    // The catch-all gate's window: campaign mail sent in the last two days.
    index("mail_sends_campaign_sent_at")
      .on(t.sentAt)
      .where(sql`${t.kind} = 'campaign'`),
    index("mail_sends_send_day_operator")
      .on(t.sendDay, t.operator)
      .where(sql`${t.sendDay} is not null`),
    uniqueIndex("mail_sends_campaign_recipient")
      .on(t.campaignId, t.recipient)
      .where(sql`${t.campaignId} is not null`),
  ],
);
