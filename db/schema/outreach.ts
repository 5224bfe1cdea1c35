import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { CAMPAIGN_STATUSES } from "../../domain/outreach/campaign-status";

/**
 * Outreach (DESIGN.md, "Outreach"): prospects drawn from public data, the domains their mail
 * goes to, the exclusion lists, campaigns and what recipients did with them. The sends
 * themselves are `mail_sends` rows (kind "campaign"), so bounces, complaints and MTA log lines
 * find them the same way as every other message.
 */

/**
 * One prospect per public record (FMCSA: per USDOT number) that has an e-mail address. An import
 * refreshes `email`, `domain`, `fields` and `deficiencies` from the file; it never touches
 * `flags` or the send history, and an address's verification result lives in `email_addresses`,
 * which an import only ever adds to.
 */
export const prospects = pgTable(
  "prospects",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** The dataset: "fmcsa" (the company census). */
    source: text("source", { enum: ["fmcsa"] }).notNull(),
    /** The record's key within its source: the USDOT number. */
    sourceKey: text("source_key").notNull(),
    /** Lower-cased. */
    email: text("email").notNull(),
    /** The address's domain, lower-cased and in ASCII. */
    domain: text("domain").notNull(),
    /**
     * The public fields a template may use, by placeholder name (domain/outreach/prospect-fields.ts):
     * legal_name, dba_name, city, state, usdot_number, power_units, drivers, mcs150_date, …
     */
    fields: jsonb("fields").$type<Record<string, string | number | null>>().notNull(),
    /** Computed from the public data at each import (domain/outreach/deficiencies.ts). */
    deficiencies: text("deficiencies")
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** Set by people (e.g. do_not_contact); an import never resets them. */
    flags: text("flags")
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** Set by `docket scrub` when the prospect's domain is on an exclusion list (which list). */
    excludedBy: text("excluded_by"),
    lastSentAt: timestamp("last_sent_at", { withTimezone: true }),
    sendCount: integer("send_count").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("prospects_source_key").on(t.source, t.sourceKey),
    index("prospects_email").on(t.email),
    index("prospects_domain").on(t.domain),
    // The audience build's do_not_contact check, without scanning every prospect.
    index("prospects_do_not_contact")
      .on(t.email)
      .where(sql`${t.flags} @> '{do_not_contact}'::text[]`),
  ],
);

export const MX_STATUSES = ["ok", "no_mx", "nxdomain", "error"] as const;

/**
 * Every domain a prospect's address is at, with its receiving mail operator once tagged from
 * its MX records (domain/mail/mail-operators.ts): "google", "microsoft", … or `mx:<host>`.
 * `operator` is null until tagged, and stays null for a domain without working MX.
 */
export const mailDomains = pgTable(
  "mail_domains",
  {
    domain: text("domain").primaryKey(),
    operator: text("operator"),
    mxHosts: text("mx_hosts").array(),
    mxStatus: text("mx_status", { enum: MX_STATUSES }),
    taggedAt: timestamp("tagged_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("mail_domains_operator").on(t.operator),
    index("mail_domains_untagged")
      .on(t.domain)
      .where(sql`${t.taggedAt} is null`),
  ],
);

/**
 * Domains we never send campaign mail to, by list: consumer mailboxes (a person's private
 * address, not a business's), dead ISPs (domains that no longer take mail). Loaded from
 * data/exclusions/*.txt by `docket scrub`, which also applies a grown list to queued sends.
 */
export const excludedDomains = pgTable("excluded_domains", {
  domain: text("domain").primaryKey(),
  list: text("list").notNull(),
  note: text("note"),
  addedAt: timestamp("added_at", { withTimezone: true }).notNull().defaultNow(),
});

export { CAMPAIGN_STATUSES };

/**
 * A campaign: its template, the claims it makes, its audience, quota and schedule. Only an admin
 * moves it out of draft (domain/outreach/campaign-status.ts).
 */
export const campaigns = pgTable(
  "campaigns",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    name: text("name").notNull(),
    status: text("status", { enum: CAMPAIGN_STATUSES }).notNull().default("draft"),
    subject: text("subject").notNull(),
    html: text("html").notNull(),
    /** [{ statement, backedBy }]: each per-recipient fact and the prospect field that backs it. */
    claims: jsonb("claims").$type<{ statement: string; backedBy: string }[]>().notNull(),
    /** Which prospects: source, states, required deficiencies (domain/outreach/campaign-definition.ts). */
    audience: jsonb("audience").$type<Record<string, unknown>>().notNull(),
    dailyQuota: integer("daily_quota").notNull(),
    /** { startOn, endOn?, weekdays } in UTC days. */
    schedule: jsonb("schedule").$type<Record<string, unknown>>().notNull(),
    /** utm_campaign on every tracked link. */
    utmCampaign: text("utm_campaign").notNull(),
    createdBy: text("created_by").notNull(),
    approvedBy: text("approved_by"),
    approvedAt: timestamp("approved_at", { withTimezone: true }),
    pausedReason: text("paused_reason"),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check("campaigns_quota", sql`${t.dailyQuota} > 0`), index("campaigns_status").on(t.status)],
);

/**
 * The links of a campaign's template, numbered in document order when it is approved. A tracked
 * click goes to `url` of the row its token names, never to anything the request carries.
 */
export const campaignLinks = pgTable(
  "campaign_links",
  {
    campaignId: bigint("campaign_id", { mode: "number" })
      .notNull()
      .references(() => campaigns.id),
    idx: integer("idx").notNull(),
    /** Where the click lands, UTM parameters included. */
    url: text("url").notNull(),
    /** False for allowlisted government self-service pages, which are linked directly. */
    tracked: boolean("tracked").notNull(),
  },
  (t) => [primaryKey({ columns: [t.campaignId, t.idx] })],
);

export const MAIL_EVENT_KINDS = ["open", "click", "unsubscribe", "checkout"] as const;

/**
 * What a recipient (or a machine on their behalf) did with a campaign message. `automated` marks
 * link scanners and prefetches (domain/outreach/automated-clicks.ts): recorded, counted apart.
 */
export const mailEvents = pgTable(
  "mail_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    sendId: bigint("send_id", { mode: "number" }).notNull(),
    kind: text("kind", { enum: MAIL_EVENT_KINDS }).notNull(),
    linkIdx: integer("link_idx"),
    automated: boolean("automated").notNull().default(false),
    userAgent: text("user_agent"),
    ip: text("ip"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("mail_events_send").on(t.sendId, t.kind)],
);
