import type { DmarcAggregateReport } from "../domain/dmarc/parse-aggregate-report";
import { sourceIpLabel } from "../domain/net/cidr";
import type { Db } from "./client";
import { dmarcRecords, dmarcReports } from "./schema";

export interface StoredReport {
  orgName: string;
  reportId: string;
  records: number;
  /** False when (org_name, report_id) was already stored: a re-ingest changes nothing. */
  isNew: boolean;
}

/**
 * Stores a report and its records once per (org_name, report_id). Each source IP is labelled
 * "ours" when it lies in one of our sending networks (CIDR), else external.
 */
export async function storeDmarcReport(
  db: Db,
  report: DmarcAggregateReport,
  ourNetworks: readonly string[],
  inboundMessageId: number | null,
): Promise<StoredReport> {
  const inserted = await db
    .insert(dmarcReports)
    .values({
      orgName: report.orgName,
      reportId: report.reportId,
      email: report.email ?? null,
      domain: report.policyPublished.domain,
      beginAt: report.begin,
      endAt: report.end,
      policyPublished: report.policyPublished,
      inboundMessageId,
      warnings: report.warnings.length > 0 ? report.warnings : null,
    })
    .onConflictDoNothing()
    .returning({ id: dmarcReports.id });
  const id = inserted[0]?.id;
  const summary = { orgName: report.orgName, reportId: report.reportId, records: report.records.length };
  if (id === undefined) return { ...summary, isNew: false };
  // Batches keep each statement's parameter count well under Postgres's 65,535.
  for (let i = 0; i < report.records.length; i += 500) {
    await db.insert(dmarcRecords).values(
      report.records.slice(i, i + 500).map((r) => ({
        reportId: id,
        sourceIp: r.sourceIp,
        ours: sourceIpLabel(r.sourceIp, ourNetworks) === "ours",
        count: r.count,
        disposition: r.disposition,
        dkim: r.dkim,
        spf: r.spf,
        dkimAligned: r.dkimAligned,
        spfAligned: r.spfAligned,
        dmarcPass: r.dmarcPass,
        headerFrom: r.headerFrom,
        envelopeFrom: r.envelopeFrom ?? null,
        authResults: r.authResults,
        reasons: r.reasons.length > 0 ? r.reasons : null,
      })),
    );
  }
  return { ...summary, isNew: true };
}
