import { EXCLUSION_DESCRIPTIONS, EXCLUSION_REASONS } from "../../domain/outreach/audience-rules";
import type { AudienceReport } from "./build-audience";

/**
 * A plain-text rendering of an audience build's report for the admin and the CLI: the day and
 * the gates, then per campaign the recipients per receiving operator and, for a dry run, how
 * many candidates each rule left out (in the order the rules are checked).
 */
export function audienceReportText(report: AudienceReport): string {
  const lines = [
    `Audience ${report.dryRun ? "dry run" : "build"} for ${report.day} (warm-up day ${report.warmupDay}, ${report.ms} ms)`,
    `Catch-all addresses: ${report.catchAll.open ? "included" : "excluded"} (${report.catchAll.reason})`,
  ];
  if (report.campaigns.length === 0) lines.push("", "No campaign to build.");
  for (const campaign of report.campaigns) {
    lines.push("", `Campaign ${campaign.campaignId}: ${campaign.selected} ${report.dryRun ? "would be " : ""}selected`);
    if (campaign.skipped !== undefined) lines.push(`  skipped: ${campaign.skipped}`);
    else if (!campaign.scheduledToday) lines.push(`  note: not scheduled on ${report.day}`);
    const operators = Object.entries(campaign.byOperator).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    if (operators.length > 0) {
      lines.push("  per operator:");
      const width = Math.max(...operators.map(([name]) => name.length));
      for (const [name, n] of operators) lines.push(`    ${name.padEnd(width)}  ${String(n).padStart(7)}`);
    }
    const excluded = EXCLUSION_REASONS.filter((reason) => (campaign.excluded[reason] ?? 0) > 0);
    if (excluded.length > 0) {
      lines.push("  excluded:");
      const width = Math.max(...excluded.map((reason) => reason.length));
      for (const reason of excluded) {
        const n = String(campaign.excluded[reason]).padStart(7);
        lines.push(`    ${reason.padEnd(width)}  ${n}  ${EXCLUSION_DESCRIPTIONS[reason]}`);
      }
    }
    if (!report.dryRun) lines.push(`  queue messages: ${campaign.enqueuedMessages}`);
  }
  return `${lines.join("\n")}\n`;
}
