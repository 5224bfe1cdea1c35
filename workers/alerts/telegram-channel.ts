import type { AlertChannel } from "./channels";
import { postJson } from "./post-json";

// Telegram refuses messages longer than this (Bot API, sendMessage).
const MAX_TEXT = 4096;

/** A Telegram bot posting to one chat: POST {apiBase}/bot{token}/sendMessage {chat_id, text}. */
export function telegramChannel(settings: { apiBase: string; token: string; chatId: string }): AlertChannel {
  const url = `${settings.apiBase.replace(/\/+$/, "")}/bot${settings.token}/sendMessage`;
  return {
    name: "telegram",
    async send(alert) {
      // Plain text (no parse_mode): IPs, domains and percentages need no escaping.
      let text = `${alert.title}\n\n${alert.body}`;
      if (text.length > MAX_TEXT) text = `${text.slice(0, MAX_TEXT - 1)}…`;
      const answer = await postJson(url, { chat_id: settings.chatId, text });
      // The Bot API answers {"ok": false, "description": …} for a refusal it still sends as 200.
      let parsed: { ok?: unknown; description?: unknown } | undefined;
      try {
        parsed = JSON.parse(answer) as typeof parsed;
      } catch {
        parsed = undefined;
      }
      if (parsed?.ok === false) throw new Error(`Telegram refused: ${String(parsed.description ?? "no reason given")}`);
    },
  };
}
