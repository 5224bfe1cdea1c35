import { Pool, neonConfig } from "@neondatabase/serverless";
import { drizzle, type NeonDatabase } from "drizzle-orm/neon-serverless";
import * as schema from "./schema/index";

/**
 * The one place the Worker opens Postgres. Neon's serverless driver speaks the Postgres wire
 * protocol over a WebSocket (workerd has no raw TCP for pg), so a `Pool` is created per
 * request or job and closed when it is done (the caller passes the close to `waitUntil`).
 * Keeping the driver here means Hyperdrive plus node-postgres could replace it later
 * without touching a query.
 */

export type Db = NeonDatabase<typeof schema>;

export interface DbSettings {
  DATABASE_URL: string | undefined;
  /** Local stack only: `host:port/path` of the WebSocket-to-TCP proxy in front of Postgres. */
  NEON_WS_PROXY: string | undefined;
}

export interface DbHandle {
  db: Db;
  pool: Pool;
  /** Ends the pool; never throws (a closing pool has nothing left to report). */
  close(): Promise<void>;
}

export class DatabaseNotConfiguredError extends Error {
  constructor() {
    super("DATABASE_URL is not set");
    this.name = "DatabaseNotConfiguredError";
  }
}

function configureDriver(settings: DbSettings): void {
  const proxy = settings.NEON_WS_PROXY;
  if (proxy) {
    // A plain Postgres behind our local proxy: no TLS inside the WebSocket, and no
    // pipelining (Neon's pipelining assumes its own proxy's behaviour).
    neonConfig.wsProxy = () => proxy;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
}

export function openDb(settings: DbSettings): DbHandle {
  if (!settings.DATABASE_URL) throw new DatabaseNotConfiguredError();
  configureDriver(settings);
  // A small pool: a request rarely needs more than one connection at a time, and an
  // interactive transaction holds exactly one.
  const pool = new Pool({ connectionString: settings.DATABASE_URL, max: 4, connectionTimeoutMillis: 5_000 });
  // An idle client's socket error must not become an unhandled rejection in the isolate.
  pool.on("error", () => {});
  const db = drizzle({ client: pool, schema });
  let closed = false;
  return {
    db,
    pool,
    async close() {
      if (closed) return;
      closed = true;
      await pool.end().catch(() => {});
    },
  };
}

/** Runs `fn` with a fresh pool and closes it afterwards, in `waitUntil` when a context is given. */
export async function withDb<T>(
  settings: DbSettings,
  fn: (db: Db) => Promise<T>,
  ctx?: { waitUntil(p: Promise<unknown>): void },
): Promise<T> {
  const handle = openDb(settings);
  try {
    return await fn(handle.db);
  } finally {
    if (ctx) ctx.waitUntil(handle.close());
    else await handle.close();
  }
}
