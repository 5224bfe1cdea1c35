import pg from "pg";

/**
 * A Postgres the developer runs (DATABASE_URL set for `npm start`): the stack starts none,
 * creates the URL's database when it is missing, and points the WebSocket proxy at it.
 */

/** Host and port of a postgres:// URL, for the proxy's target. */
export function postgresTarget(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  if (!/^postgres(ql)?:$/.test(parsed.protocol))
    throw new Error(`DATABASE_URL must be a postgres:// URL, got ${parsed.protocol}`);
  // URL keeps IPv6 hosts bracketed; net.connect wants them bare.
  return { host: parsed.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1", port: Number(parsed.port || 5432) };
}

/** The URL without its password, for banners and errors. */
export function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

export async function ensureDatabaseAt(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.end();
    return;
  } catch (error) {
    await client.end().catch(() => {});
    // 3D000: invalid_catalog_name, the database does not exist (the server answered).
    if ((error as { code?: string }).code !== "3D000") {
      throw new Error(`cannot connect to DATABASE_URL ${redactUrl(url)}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  const admin = new URL(url);
  const database = decodeURIComponent(admin.pathname.replace(/^\//, ""));
  admin.pathname = "/postgres";
  const maintenance = new pg.Client({ connectionString: admin.toString() });
  await maintenance.connect();
  try {
    await maintenance.query(`create database ${pg.escapeIdentifier(database)}`);
  } finally {
    await maintenance.end();
  }
}
