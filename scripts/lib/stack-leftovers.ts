import { groupAlive, groupCommands, stopGroup, stopLeftoverPostgres } from "./process-control";
import type { LockInfo } from "./stack-lock";
import type { StackLayout } from "./stack-layout";

/**
 * Stops what a stack whose owner died (SIGKILL, a crash) left running: wrangler dev's process
 * group and the Postgres on this data directory. Each is checked to still be what it was
 * (wrangler/workerd command lines, a postgres on our postmaster.pid) before it is stopped.
 * Returns a line per thing stopped.
 */
export async function reapLeftovers(info: LockInfo, layout: StackLayout): Promise<string[]> {
  const done: string[] = [];
  const pgid = info.wranglerPgid;
  if (pgid !== undefined && groupAlive(pgid) && groupCommands(pgid).some((c) => /wrangler|workerd/.test(c))) {
    await stopGroup(pgid);
    done.push(`stopped wrangler dev (process group ${pgid}) left by pid ${info.pid}`);
  }
  const postgresPid = await stopLeftoverPostgres(layout.postgresDir);
  if (postgresPid !== undefined)
    done.push(`stopped Postgres (pid ${postgresPid}) left running on ${layout.postgresDir}`);
  return done;
}
