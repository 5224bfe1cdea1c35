import { sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { campaigns, emailAddresses, excludedDomains, mailDomains, prospects, suppressions } from "../../db/schema";

/**
 * Rows for audience-build tests, written straight into the tables the build reads: prospects
 * with their addresses' verification results, tagged domains, exclusion lists, suppressions,
 * campaigns and earlier sends.
 */

export type VerificationResult = (typeof emailAddresses.$inferInsert)["verificationResult"];

export interface ProspectSpec {
  email: string;
  /** The address's verification result; null = no email_addresses row at all. Default smtp_valid. */
  result?: VerificationResult | null;
  fields?: Record<string, string | number | null>;
  deficiencies?: string[];
  flags?: string[];
  excludedBy?: string;
  lastSentAt?: Date;
}

let nextKey = 1;

/** Inserts prospects (and their addresses' verification results); returns their ids in order. */
export async function addProspects(db: Db, specs: ProspectSpec[]): Promise<number[]> {
  if (specs.length === 0) return [];
  const rows = await db
    .insert(prospects)
    .values(
      specs.map((s) => {
        const key = nextKey++;
        return {
          source: "fmcsa" as const,
          sourceKey: String(1_000_000 + key),
          email: s.email,
          domain: s.email.split("@")[1]!,
          fields: s.fields ?? {
            legal_name: `Carrier ${key} LLC`,
            display_name: `Carrier ${key}`,
            state: "TX",
            usdot_number: String(1_000_000 + key),
          },
          deficiencies: s.deficiencies ?? [],
          flags: s.flags ?? [],
          excludedBy: s.excludedBy ?? null,
          lastSentAt: s.lastSentAt ?? null,
        };
      }),
    )
    .returning({ id: prospects.id });
  const results = new Map<string, VerificationResult>();
  for (const s of specs) {
    const result = s.result === undefined ? "smtp_valid" : s.result;
    if (result !== null) results.set(s.email, result);
  }
  if (results.size > 0) {
    await db
      .insert(emailAddresses)
      .values(
        [...results].map(([address, verificationResult]) => ({
          address,
          domain: address.split("@")[1]!,
          verificationResult,
        })),
      )
      .onConflictDoUpdate({
        target: emailAddresses.address,
        set: { verificationResult: sql`excluded.verification_result` },
      });
  }
  return rows.map((r) => r.id);
}

/** `n` smtp_valid prospects at `domain` (local parts `${prefix}1` …). */
export function prospectsAt(
  domain: string,
  n: number,
  prefix = "p",
  spec: Omit<ProspectSpec, "email"> = {},
): ProspectSpec[] {
  return Array.from({ length: n }, (_, i) => ({ ...spec, email: `${prefix}${i + 1}@${domain}` }));
}

/** Tags domains with their receiving operator (null = looked up, no operator). */
export async function tagDomains(
  db: Db,
  operators: Record<string, string | null>,
  mxStatus: "ok" | "no_mx" | "nxdomain" | "error" = "ok",
): Promise<void> {
  await db.insert(mailDomains).values(
    Object.entries(operators).map(([domain, operator]) => ({
      domain,
      operator,
      mxHosts: operator ? [`mx.${domain}`] : null,
      mxStatus,
      taggedAt: new Date(),
    })),
  );
}

export async function excludeDomain(db: Db, domain: string, list: string): Promise<void> {
  await db.insert(excludedDomains).values({ domain, list });
}

export async function suppress(db: Db, address: string): Promise<void> {
  await db.insert(suppressions).values({ address, reason: "unsubscribe" });
}

export interface CampaignSpec {
  status?: (typeof campaigns.$inferInsert)["status"];
  dailyQuota?: number;
  subject?: string;
  html?: string;
  claims?: unknown;
  audience?: unknown;
  schedule?: unknown;
}

export async function addCampaign(db: Db, spec: CampaignSpec = {}): Promise<number> {
  const [row] = await db
    .insert(campaigns)
    .values({
      name: "Test campaign",
      status: spec.status ?? "running",
      subject: spec.subject ?? "Your USDOT record",
      html: spec.html ?? "<p>Hello {{display_name}}</p>",
      claims: (spec.claims ?? []) as { statement: string; backedBy: string }[],
      audience: (spec.audience ?? { source: "fmcsa" }) as Record<string, unknown>,
      dailyQuota: spec.dailyQuota ?? 10_000,
      schedule: (spec.schedule ?? { startOn: "2020-01-01" }) as Record<string, unknown>,
      utmCampaign: "test",
      createdBy: "admin@docket.test",
    })
    .returning({ id: campaigns.id });
  return row!.id;
}

/**
 * `count` earlier campaign sends to made-up recipients, sent at `sentAt`, `bounced` of them
 * bounced (the catch-all gate's history).
 */
export async function addSentHistory(
  db: Db,
  campaignId: number,
  count: number,
  bounced: number,
  sentAt: Date,
): Promise<void> {
  const tag = crypto.randomUUID();
  await db.execute(sql`
    insert into mail_sends (message_id, kind, recipient, campaign_id, status, sent_at)
    select '<h' || ${tag}::text || '.' || g || '@send.docket.test>', 'campaign',
           'history-' || ${tag}::text || '-' || g || '@history.test', ${campaignId}::bigint,
           case when g <= ${bounced}::int then 'bounced' else 'delivered' end, ${sentAt.toISOString()}::timestamptz
    from generate_series(1, ${count}::int) g`);
}

/** An earlier campaign send to `recipient`, created at `createdAt`. */
export async function addEarlierSend(
  db: Db,
  campaignId: number,
  recipient: string,
  createdAt: Date,
  status = "delivered",
): Promise<void> {
  await db.execute(sql`
    insert into mail_sends (message_id, kind, recipient, campaign_id, status, created_at)
    values ('<e' || gen_random_uuid() || '@send.docket.test>', 'campaign', ${recipient}, ${campaignId}::bigint,
            ${status}, ${createdAt.toISOString()}::timestamptz)`);
}

/** Empties everything the audience build reads or writes. */
export async function resetOutreach(db: Db): Promise<void> {
  await db.execute(sql`
    truncate mail_sends, prospects, email_addresses, mail_domains, excluded_domains, suppressions,
             campaign_links, mail_events, campaigns restart identity cascade`);
}

/** The warm-up start that makes `now` warm-up day `day`. */
export function warmupStartFor(now: Date, day: number): string {
  const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - (day - 1) * 86_400_000;
  return new Date(start).toISOString().slice(0, 10);
}
