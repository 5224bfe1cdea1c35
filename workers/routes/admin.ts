import { Hono } from "hono";
import { z } from "zod";
import { requireAdmin } from "../admin-auth";
import type { AppEnv } from "../app-env";
import { readJson } from "../http-errors";
import { createMailer } from "../mailer/mailer";

export const adminRoutes = new Hono<AppEnv>();

adminRoutes.use("*", requireAdmin());

const testMailSchema = z.object({
  to: z.email(),
  subject: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^\r\n]*$/, "one line")
    .default("Docket test message"),
});

/**
 * Sends one message through the configured relay and answers with the SMTP outcome, so the
 * operator can check relay, credentials and sending domain after a deploy.
 */
adminRoutes.post("/mail/test", async (c) => {
  const input = await readJson(c, testMailSchema);
  const config = c.get("config");
  const outcome = await createMailer(config).send({
    to: input.to,
    subject: input.subject,
    html: `<p>This is a test message from Docket (${config.APP_ENV}).</p><p>If you can read it, outbound mail through <strong>${config.SMTP_HOST}</strong> works.</p>`,
    headers: { "X-Docket-Kind": "test" },
  });
  return c.json(outcome, outcome.status === "accepted" ? 200 : 502);
});
