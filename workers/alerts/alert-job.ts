import { loadAlertMetrics } from "../../db/alert-metrics";
import type { Db } from "../../db/client";
import { alertThresholds, evaluateAlertRules } from "../../domain/alerts/alert-rules";
import { alertWindows } from "../../domain/alerts/alert-snapshot";
import type { AppConfig } from "../../domain/config/app-config";
import { raiseAlert } from "./raise-alert";

export interface AlertRunSummary {
  /** Alerts whose condition holds, as "rule subject window". */
  firing: string[];
  /** Of those, the ones sent by this run (the rest went out earlier in their window). */
  sent: string[];
  /** Channels that failed, per alert sent. */
  failedDeliveries: Record<string, Record<string, string>>;
}

/**
 * The alert rules' cron job: computes the metrics snapshot as of `now`, evaluates the rules and
 * raises each firing alert (once per rule, subject and window). An alert that fails to raise
 * does not stop the others; the run fails afterwards so cron_runs shows it.
 */
export async function runAlertRules(ctx: { config: AppConfig; db: Db; now: Date }): Promise<AlertRunSummary> {
  const snapshot = await loadAlertMetrics(ctx.db, alertWindows(ctx.now));
  const alerts = evaluateAlertRules(snapshot, alertThresholds(ctx.config), ctx.now);
  const summary: AlertRunSummary = { firing: [], sent: [], failedDeliveries: {} };
  const errors: string[] = [];
  for (const alert of alerts) {
    const key = `${alert.rule} ${alert.subject} ${alert.windowKey}`;
    summary.firing.push(key);
    try {
      const result = await raiseAlert(ctx, alert);
      if (!result.sent) continue;
      summary.sent.push(key);
      const failed = Object.entries(result.deliveries).filter(([, r]) => r !== "sent");
      if (failed.length > 0) summary.failedDeliveries[key] = Object.fromEntries(failed);
    } catch (error) {
      errors.push(`${key}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (errors.length > 0) throw new Error(`alerts not raised: ${errors.join("; ")}`);
  return summary;
}
