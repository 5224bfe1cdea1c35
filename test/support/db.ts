import { env } from "cloudflare:workers";
import { openDb, type Db } from "../../db/client";

/** The test run's bindings, with the secrets and test-only values vitest.config.ts sets. */
export const testEnv = env as Cloudflare.Env & {
  DATABASE_URL: string;
  NEON_WS_PROXY: string;
  TEST_PG_ADMIN_URL: string;
  ADMIN_TOKEN: string;
};

/** A database handle for assertions, over the same driver and settings the Worker uses. */
export async function withTestDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const handle = openDb(testEnv);
  try {
    return await fn(handle.db);
  } finally {
    await handle.close();
  }
}
