import type { AlertChannel } from "./channels";
import { postJson } from "./post-json";

/**
 * A webhook: Slack's incoming-webhook format (`{text}`, mrkdwn) or a generic JSON document with
 * every field of the alert, for whatever the operator plugs in.
 */
export function webhookChannel(settings: { url: string; format: "slack" | "generic" }): AlertChannel {
  return {
    name: "webhook",
    async send(alert) {
      const payload =
        settings.format === "slack"
          ? { text: `*${slackEscape(alert.title)}*\n${slackEscape(alert.body)}` }
          : {
              rule: alert.rule,
              subject: alert.subject,
              windowKey: alert.windowKey,
              title: alert.title,
              body: alert.body,
              metrics: alert.metrics ?? null,
            };
      await postJson(settings.url, payload);
    },
  };
}

// Slack reads &, < and > as markup (links, mentions); these three are all it asks to escape.
function slackEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
