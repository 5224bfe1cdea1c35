import type { AppConfig } from "../../domain/config/app-config";
import { createMailer } from "../mailer/mailer";
import type { AlertChannel } from "./channels";

/** Alert mail through the platform's own mailer (and relay) to one address. */
export function emailChannel(config: AppConfig, to: string): AlertChannel {
  return {
    name: "email",
    async send(alert) {
      const outcome = await createMailer(config).send({
        to,
        subject: `[Docket alert] ${alert.title}`,
        text: [
          alert.body,
          "",
          `Rule: ${alert.rule}`,
          `Subject: ${alert.subject}`,
          `Window: ${alert.windowKey}`,
          ...(alert.metrics === undefined ? [] : ["", "Measured:", JSON.stringify(alert.metrics, null, 2)]),
        ].join("\n"),
        headers: { "X-Docket-Kind": "alert", "X-Docket-Alert": `${alert.rule} ${alert.subject} ${alert.windowKey}` },
      });
      if (outcome.status !== "accepted") {
        const code = [outcome.code, outcome.enhancedCode].filter((x) => x !== null).join(" ");
        throw new Error(`${outcome.status} at ${outcome.stage}${code ? ` (${code})` : ""}: ${outcome.text}`);
      }
    },
  };
}
