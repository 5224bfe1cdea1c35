import { chmod, stat } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * As root, embedded Postgres runs as the `postgres` user (Postgres refuses to run as root),
 * so that user must be able to enter every directory above its cluster. The data directory
 * is the stack's own: it gets o+x (enter, not list; the secrets in it are files of mode 0600).
 * A directory above it that others cannot enter (a home directory of mode 0700, say) is not
 * changed: the error names it and what to do.
 */
export async function preparePostgresDirAccess(dataDir: string, postgresDir: string): Promise<void> {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return;
  const own = await stat(dataDir);
  if ((own.mode & 0o001) === 0) await chmod(dataDir, (own.mode & 0o7777) | 0o001);
  const blocked: string[] = [];
  for (let dir = dirname(dataDir); ; dir = dirname(dir)) {
    const info = await stat(dir);
    if ((info.mode & 0o001) === 0) blocked.push(`${dir} (mode ${(info.mode & 0o777).toString(8)})`);
    if (dirname(dir) === dir) break;
  }
  if (blocked.length > 0) {
    throw new Error(
      `running as root, Postgres runs as the "postgres" user, which cannot reach ${postgresDir}: ` +
        `it cannot enter ${blocked.join(", ")}. Set DOCKET_DATA_DIR to a directory outside it ` +
        `(e.g. DOCKET_DATA_DIR=/var/tmp/docket), or allow entering it with chmod o+x.`,
    );
  }
}
