import { createWriteStream } from "node:fs";
import { ensureDatabase, startLocalPostgres } from "./embedded-postgres";
import { ensureDatabaseAt, postgresTarget, redactUrl } from "./external-postgres";
import { preparePostgresDirAccess } from "./postgres-dir-access";
import { isAlive, postmasterPid, stopPid, waitUntil } from "./process-control";

/**
 * The local stack's Postgres: the developer's own when DATABASE_URL is set (nothing is
 * started, its database is created if missing), otherwise an embedded one whose cluster lives
 * in the data directory and is reused from one start to the next.
 */

export interface StackDatabase {
  /** The URL the Worker and the scripts use. */
  url: string;
  /** Where the WebSocket proxy sends the Worker's connections. */
  target: { host: string; port: number };
  embedded: boolean;
  /** The embedded postmaster's pid, watched while the stack runs. */
  pid?: number;
  /** Stops the embedded server and checks it is gone; nothing for the developer's own. */
  stop(): Promise<void>;
}

export async function startStackDatabase(options: {
  externalUrl: string | undefined;
  dataDir: string;
  postgresDir: string;
  host: string;
  port: number;
  database: string;
  logFile: string;
  log: (line: string) => void;
}): Promise<StackDatabase> {
  if (options.externalUrl) {
    options.log(`postgres: using DATABASE_URL ${redactUrl(options.externalUrl)}`);
    await ensureDatabaseAt(options.externalUrl);
    return {
      url: options.externalUrl,
      target: postgresTarget(options.externalUrl),
      embedded: false,
      stop: async () => {},
    };
  }

  await preparePostgresDirAccess(options.dataDir, options.postgresDir);
  const pgLog = createWriteStream(options.logFile, { flags: "w" });
  const server = await startLocalPostgres({
    dataDir: options.postgresDir,
    port: options.port,
    log: (l) => pgLog.write(`${l}\n`),
  });
  const pid = await postmasterPid(options.postgresDir);
  const stop = async () => {
    try {
      if (pid === undefined) return await server.stop();
      // Postgres may already be gone: a terminal's Ctrl-C reaches it directly (it shares our
      // process group), and the library's stop() then waits for an exit that already happened.
      if (!isAlive(pid)) return;
      await Promise.race([server.stop(), waitUntil(() => !isAlive(pid), 20_000, 100)]);
      if (isAlive(pid)) await stopPid(pid, "SIGQUIT", 5_000);
    } finally {
      pgLog.end();
    }
  };
  try {
    await ensureDatabase(server, options.database);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: server.url(options.database),
    target: { host: options.host, port: options.port },
    embedded: true,
    ...(pid !== undefined ? { pid } : {}),
    stop,
  };
}
