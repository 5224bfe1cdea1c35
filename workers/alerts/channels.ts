import type { AlertMessage } from "../../domain/alerts/alert-message";
import type { AppConfig } from "../../domain/config/app-config";
import { emailChannel } from "./email-channel";
import { telegramChannel } from "./telegram-channel";
import { webhookChannel } from "./webhook-channel";
import { errorText } from "./alert-errors";

export type { AlertMessage };

/** One place alerts go. `send` resolves when the channel took the alert and throws when it did not. */
export interface AlertChannel {
  name: string;
  send(alert: AlertMessage): Promise<void>;
}

/** The channels the configuration turns on: each needs its own settings and nothing else. */
export function alertChannels(config: AppConfig): AlertChannel[] {
  const channels: AlertChannel[] = [];
  if (config.TELEGRAM_BOT_TOKEN && config.TELEGRAM_CHAT_ID) {
    channels.push(
      telegramChannel({
        apiBase: config.TELEGRAM_API_BASE,
        token: config.TELEGRAM_BOT_TOKEN,
        chatId: config.TELEGRAM_CHAT_ID,
      }),
    );
  }
  if (config.ALERT_WEBHOOK_URL)
    channels.push(webhookChannel({ url: config.ALERT_WEBHOOK_URL, format: config.ALERT_WEBHOOK_FORMAT }));
  // Alerts mail only an address set for them: OPERATOR_EMAIL gets operator mail (replies,
  // forwards) and may well be a shared inbox nobody watches for pages.
  if (config.ALERT_EMAIL_TO) channels.push(emailChannel(config, config.ALERT_EMAIL_TO));
  return channels;
}

/**
 * Sends to every channel at once; one failing does not stop the others. Returns, per channel,
 * "sent" or the error.
 */
export async function deliverAlert(channels: AlertChannel[], alert: AlertMessage): Promise<Record<string, string>> {
  const results = await Promise.allSettled(channels.map((c) => c.send(alert)));
  const deliveries: Record<string, string> = {};
  channels.forEach((c, i) => {
    const r = results[i]!;
    deliveries[c.name] = r.status === "fulfilled" ? "sent" : errorText(r.reason);
  });
  return deliveries;
}
