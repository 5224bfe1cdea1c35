import { claimAlert, recordAlertDeliveries } from "../../db/alerts-sent";
import type { Db } from "../../db/client";
import type { AppConfig } from "../../domain/config/app-config";
import { alertChannels, deliverAlert, type AlertMessage } from "./channels";

/**
 * Sends an alert through every configured channel (Telegram, webhook, e-mail) without any
 * once-per-window bookkeeping. Returns, per channel, "sent" or the error; {} when no channel is
 * configured.
 */
export async function sendAlert(config: AppConfig, alert: AlertMessage): Promise<Record<string, string>> {
  return await deliverAlert(alertChannels(config), alert);
}

/**
 * Raises an alert once per (rule, subject, window): claims it in alerts_sent, then sends it to
 * every configured channel and records what each said. `sent` is false when the alert was
 * already claimed in that window (nothing is sent). Used by the alert rules' cron job and by
 * anything that needs to alert at once (a complaint arriving).
 */
export async function raiseAlert(
  ctx: { config: AppConfig; db: Db },
  alert: { rule: string; subject: string; windowKey: string; title: string; body: string; metrics?: unknown },
): Promise<{ sent: boolean; deliveries: Record<string, string> }> {
  const id = await claimAlert(ctx.db, alert);
  if (id === undefined) return { sent: false, deliveries: {} };
  const deliveries = await sendAlert(ctx.config, alert);
  await recordAlertDeliveries(ctx.db, id, deliveries);
  const failed = Object.entries(deliveries).filter(([, result]) => result !== "sent");
  const channels = Object.keys(deliveries);
  // The log is the alert's last resort: with no channel configured, or every channel failing,
  // it is the only place the alert shows up.
  console[failed.length > 0 || channels.length === 0 ? "error" : "warn"](
    JSON.stringify({
      level: failed.length > 0 || channels.length === 0 ? "error" : "warn",
      event:
        channels.length === 0 ? "alert_without_channel" : failed.length > 0 ? "alert_delivery_failed" : "alert_sent",
      rule: alert.rule,
      subject: alert.subject,
      windowKey: alert.windowKey,
      title: alert.title,
      deliveries,
    }),
  );
  return { sent: true, deliveries };
}
