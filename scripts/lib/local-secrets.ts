import { randomBytes } from "node:crypto";
import { chmod, readFile, writeFile } from "node:fs/promises";

/**
 * Secrets the local stack generates once per data directory and keeps (mode 0600), so the
 * admin token a developer copied yesterday still works today. Environment variables of the
 * same config key override them (see dev-vars.ts). Each is 32+ characters, like the
 * production rule, so the same shapes work everywhere.
 */
const GENERATED = {
  adminToken: "dk_admin",
  smtpPassword: "dk_smtp",
  /** The fake Stripe signs webhooks with it; the Worker verifies with it (STRIPE_WEBHOOK_SECRET). */
  stripeWebhookSecret: "whsec",
  /** CUSTOMER_LINK_SECRET: signs the links customers open. */
  customerLinkSecret: "dk_link",
  /** TRACKING_LINK_SECRET: signs campaign mail's click, open and unsubscribe tokens. */
  trackingLinkSecret: "dk_track",
  /** ADMIN_JWT_SECRET: signs admin API sessions. */
  adminJwtSecret: "dk_jwt",
  /** The development admin's password (ADMIN_PASSWORD), for POST /api/admin/login. */
  adminPassword: "dk_pw",
} as const;

export type LocalSecrets = Record<keyof typeof GENERATED, string>;

const token = (prefix: string) => `${prefix}_${randomBytes(24).toString("base64url")}`;

export async function loadOrCreateLocalSecrets(file: string): Promise<LocalSecrets> {
  let stored: Partial<Record<string, unknown>> = {};
  try {
    stored = JSON.parse(await readFile(file, "utf8")) as Partial<Record<string, unknown>>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new Error(`${file} is unreadable (${(error as Error).message}); delete it to generate new local secrets`, {
        cause: error,
      });
    }
  }
  let changed = false;
  const secrets = {} as LocalSecrets;
  for (const [key, prefix] of Object.entries(GENERATED) as [keyof LocalSecrets, string][]) {
    const kept = stored[key];
    if (typeof kept === "string" && kept !== "") secrets[key] = kept;
    else {
      secrets[key] = token(prefix);
      changed = true;
    }
  }
  if (changed) await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  await chmod(file, 0o600);
  return secrets;
}
