import { and, eq, gt, gte, lt, lte, or, sql } from "drizzle-orm";
import {
  utcDay,
  type AlertMetricsSnapshot,
  type AlertWindows,
  type DmarcSourceMetrics,
} from "../domain/alerts/alert-snapshot";
import type { Db } from "./client";
import { bounceEvents, dmarcRecords, dmarcReports, mailSends, mtaDailyAggregates } from "./schema";

/**
 * The alert rules' metrics snapshot (domain/alerts/alert-snapshot.ts) over the windows given:
 * a handful of grouped queries, each bounded by an indexed time column.
 */
export async function loadAlertMetrics(db: Db, windows: AlertWindows): Promise<AlertMetricsSnapshot> {
  const dmarc = await loadDmarc(db, windows);
  const mta = await loadMta(db, windows);
  const sends = await loadSends(db, windows);
  return { dmarc, mta, sends };
}

async function loadDmarc(db: Db, w: AlertWindows): Promise<AlertMetricsSnapshot["dmarc"]> {
  // "Claiming our domain": the record's From is the domain the report is about, or below it.
  // Our own IPs count whatever From they carried.
  const fromOurDomain = sql`(lower(${dmarcRecords.headerFrom}) = lower(${dmarcReports.domain})
    or right(lower(${dmarcRecords.headerFrom}), length(${dmarcReports.domain}) + 1) = '.' || lower(${dmarcReports.domain}))`;
  const rows = await db
    .select({
      sourceIp: dmarcRecords.sourceIp,
      ours: dmarcRecords.ours,
      messages: sql<number>`sum(${dmarcRecords.count})::int`,
      passed: sql<number>`coalesce(sum(${dmarcRecords.count}) filter (where ${dmarcRecords.dmarcPass}), 0)::int`,
      reports: sql<number>`count(distinct ${dmarcReports.id})::int`,
      headerFrom: sql<
        string[]
      >`array_agg(distinct lower(${dmarcRecords.headerFrom}) order by lower(${dmarcRecords.headerFrom}))`,
    })
    .from(dmarcRecords)
    .innerJoin(dmarcReports, eq(dmarcRecords.reportId, dmarcReports.id))
    .where(
      and(
        gt(dmarcReports.endAt, w.dmarcSince),
        lt(dmarcReports.beginAt, w.now),
        or(eq(dmarcRecords.ours, true), fromOurDomain),
      ),
    )
    .groupBy(dmarcRecords.sourceIp, dmarcRecords.ours);
  const ours: DmarcSourceMetrics[] = [];
  const external: DmarcSourceMetrics[] = [];
  for (const { ours: isOurs, ...source } of rows) (isOurs ? ours : external).push(source);
  return { ours, external };
}

async function loadMta(db: Db, w: AlertWindows): Promise<AlertMetricsSnapshot["mta"]> {
  return await db
    .select({
      day: mtaDailyAggregates.day,
      operator: mtaDailyAggregates.operator,
      sendingIp: mtaDailyAggregates.sendingIp,
      outcome: mtaDailyAggregates.outcome,
      count: sql<number>`sum(${mtaDailyAggregates.count})::int`,
    })
    .from(mtaDailyAggregates)
    .where(and(gte(mtaDailyAggregates.day, w.operatorFromDay), lte(mtaDailyAggregates.day, utcDay(w.now))))
    .groupBy(
      mtaDailyAggregates.day,
      mtaDailyAggregates.operator,
      mtaDailyAggregates.sendingIp,
      mtaDailyAggregates.outcome,
    );
}

async function loadSends(db: Db, w: AlertWindows): Promise<AlertMetricsSnapshot["sends"]> {
  const since = w.ratesSince.toISOString();
  const until = w.now.toISOString();
  // sent_at is set when the relay accepted; a send it refused has only created_at.
  const handedOver = sql`coalesce(${mailSends.sentAt}, ${mailSends.createdAt})`;
  const [sends] = await db
    .select({
      sent: sql<number>`count(*)::int`,
      refused: sql<number>`(count(*) filter (where ${mailSends.status} = 'rejected' and ${mailSends.outcome} = 'reject_recipient'))::int`,
    })
    .from(mailSends)
    .where(and(sql`${mailSends.status} <> 'sending'`, sql`${handedOver} >= ${since}`, sql`${handedOver} <= ${until}`));
  // One per send (a send can be reported twice), or per address when no send was matched.
  const reported = sql`coalesce('send:' || ${bounceEvents.sendId}::text, 'address:' || lower(${bounceEvents.recipient}))`;
  const [events] = await db
    .select({
      hardBounces: sql<number>`(count(distinct ${reported}) filter (where ${bounceEvents.kind} = 'bounce' and ${bounceEvents.hardBounce}))::int`,
      complaints: sql<number>`(count(distinct ${reported}) filter (where ${bounceEvents.kind} = 'complaint'))::int`,
    })
    .from(bounceEvents)
    .where(and(gte(bounceEvents.occurredAt, w.ratesSince), lte(bounceEvents.occurredAt, w.now)));
  return {
    sent: sends?.sent ?? 0,
    hardBounces: (events?.hardBounces ?? 0) + (sends?.refused ?? 0),
    complaints: events?.complaints ?? 0,
  };
}
