import { randomBytes } from "node:crypto";
import { chmod, readFile, writeFile } from "node:fs/promises";

/**
 * Secrets the local stack generates once per data directory and keeps (mode 0600), so the
 * admin token a developer copied yesterday still works today. Environment variables of the
 * same config key override them (see dev-vars.ts).
 */
export interface LocalSecrets {
  adminToken: string;
  smtpPassword: string;
}

const token = (prefix: string) => `${prefix}_${randomBytes(24).toString("base64url")}`;

export async function loadOrCreateLocalSecrets(file: string): Promise<LocalSecrets> {
  let stored: Partial<LocalSecrets> = {};
  try {
    stored = JSON.parse(await readFile(file, "utf8")) as Partial<LocalSecrets>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new Error(`${file} is unreadable (${(error as Error).message}); delete it to generate new local secrets`, { cause: error });
    }
  }
  const secrets: LocalSecrets = {
    // 32+ characters, like the production rule, so the same token shape works everywhere.
    adminToken: typeof stored.adminToken === "string" && stored.adminToken ? stored.adminToken : token("dk_admin"),
    smtpPassword: typeof stored.smtpPassword === "string" && stored.smtpPassword ? stored.smtpPassword : token("dk_smtp"),
  };
  if (secrets.adminToken !== stored.adminToken || secrets.smtpPassword !== stored.smtpPassword) {
    await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  await chmod(file, 0o600);
  return secrets;
}
