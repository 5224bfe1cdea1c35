import { eq } from "drizzle-orm";
import type { AlertMessage } from "../domain/alerts/alert-message";
import type { Db } from "./client";
import { alertsSent } from "./schema";

/**
 * Claims an alert for its (rule, subject, window). Returns the row id, or undefined when that
 * alert was already claimed: the caller must not send it again. Claimed before any channel is
 * called, so a crash after the claim loses one alert rather than repeating it every run.
 */
export async function claimAlert(db: Db, alert: AlertMessage): Promise<number | undefined> {
  const rows = await db
    .insert(alertsSent)
    .values({
      rule: alert.rule,
      subject: alert.subject,
      windowKey: alert.windowKey,
      title: alert.title,
      body: alert.body,
      metrics: alert.metrics ?? null,
    })
    .onConflictDoNothing()
    .returning({ id: alertsSent.id });
  return rows[0]?.id;
}

/** Records what each channel said: "sent" or the error. */
export async function recordAlertDeliveries(db: Db, id: number, deliveries: Record<string, string>): Promise<void> {
  await db.update(alertsSent).set({ deliveries }).where(eq(alertsSent.id, id));
}
