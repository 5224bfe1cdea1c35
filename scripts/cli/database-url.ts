// Postgres for `docket` commands that write to the database (`docket import …`). The Worker
// reaches Postgres through Neon's WebSocket driver; a command line has TCP, so node-postgres
// speaks to the same DATABASE_URL directly (Neon accepts both).
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import pg from "pg";
import * as schema from "../../db/schema/index";

export class DatabaseUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatabaseUrlError";
  }
}

/** DATABASE_URL from the environment, checked to be a postgres:// URL. */
export function databaseUrl(env: NodeJS.ProcessEnv): string {
  const url = env.DATABASE_URL?.trim();
  if (!url) throw new DatabaseUrlError("set DATABASE_URL in the environment (postgres://user:password@host:port/db)");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatabaseUrlError("DATABASE_URL is not a URL (postgres://user:password@host:port/db)");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:")
    throw new DatabaseUrlError(`DATABASE_URL must be a postgres:// URL, not ${parsed.protocol}//…`);
  return url;
}

/** Runs `fn` with a one-connection pool on DATABASE_URL and closes it afterwards. */
export async function withCliDatabase<T>(
  env: NodeJS.ProcessEnv,
  fn: (db: NodePgDatabase<typeof schema>) => Promise<T>,
): Promise<T> {
  const pool = new pg.Pool({ connectionString: databaseUrl(env), max: 1 });
  // An idle client's socket error must not crash the command; the query in flight reports it.
  pool.on("error", () => {});
  try {
    return await fn(drizzle({ client: pool, schema }));
  } finally {
    await pool.end();
  }
}
