import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: wrangler dev runs here (wrangler.toml, workers/). */
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Where the local stack keeps its state. Everything lives under one data directory
 * (`.data/` in the repository, or DOCKET_DATA_DIR) so a second checkout, a test or the bench
 * can run its own stack without touching the developer's data.
 */
export interface StackLayout {
  dataDir: string;
  /** Embedded Postgres cluster, reused from one start to the next. */
  postgresDir: string;
  /** `wrangler dev --persist-to`: Durable Objects, R2, queues. */
  wranglerDir: string;
  /** The env file handed to `wrangler dev --env-file` (mode 0600: it holds secrets). */
  devVarsFile: string;
  /** Secrets generated once for this data directory (admin token, SMTP password). */
  secretsFile: string;
  /** The pid lock that refuses a second start on the same data directory. */
  lockFile: string;
  /** One log file per piece, rewritten on each start. */
  logsDir: string;
}

export function stackLayout(env: NodeJS.ProcessEnv = process.env): StackLayout {
  const configured = env.DOCKET_DATA_DIR?.trim();
  const dataDir = configured ? resolve(configured) : join(REPO_ROOT, ".data");
  return {
    dataDir,
    postgresDir: join(dataDir, "postgres"),
    wranglerDir: join(dataDir, "wrangler"),
    devVarsFile: join(dataDir, "dev.vars"),
    secretsFile: join(dataDir, "local-secrets.json"),
    lockFile: join(dataDir, "start.lock"),
    logsDir: join(dataDir, "logs"),
  };
}
