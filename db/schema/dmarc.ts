import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { inboundMessages } from "./inbound";

/** One row per aggregate report, keyed (org_name, report_id): a re-ingested report changes nothing. */
export const dmarcReports = pgTable(
  "dmarc_reports",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    orgName: text("org_name").notNull(),
    reportId: text("report_id").notNull(),
    email: text("email"),
    domain: text("domain").notNull(),
    beginAt: timestamp("begin_at", { withTimezone: true }).notNull(),
    endAt: timestamp("end_at", { withTimezone: true }).notNull(),
    policyPublished: jsonb("policy_published").notNull(),
    inboundMessageId: bigint("inbound_message_id", { mode: "number" }).references(() => inboundMessages.id),
    warnings: jsonb("warnings"),
    recordedAt: timestamp("recorded_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("dmarc_reports_org_report").on(t.orgName, t.reportId), index("dmarc_reports_end_at").on(t.endAt)],
);

/** One row per report record (source IP and its results), labelled ours or external by CIDR. */
export const dmarcRecords = pgTable(
  "dmarc_records",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    reportId: bigint("report_id", { mode: "number" })
      .notNull()
      .references(() => dmarcReports.id, { onDelete: "cascade" }),
    sourceIp: text("source_ip").notNull(),
    ours: boolean("ours").notNull(),
    count: integer("count").notNull(),
    disposition: text("disposition").notNull(),
    dkim: text("dkim").notNull(),
    spf: text("spf").notNull(),
    dkimAligned: boolean("dkim_aligned").notNull(),
    spfAligned: boolean("spf_aligned").notNull(),
    dmarcPass: boolean("dmarc_pass").notNull(),
    headerFrom: text("header_from").notNull(),
    envelopeFrom: text("envelope_from"),
    authResults: jsonb("auth_results").notNull(),
    reasons: jsonb("reasons"),
  },
  (t) => [index("dmarc_records_report").on(t.reportId), index("dmarc_records_source_ip").on(t.sourceIp)],
);
