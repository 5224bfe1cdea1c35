import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Small, explicit process helpers for the local stack: liveness by pid or process group,
 * stopping with a grace period before SIGKILL, and finding a Postgres left running in a data
 * directory. Stopping verifies: it throws when something is still alive at the end.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function probe(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else (e.g. Postgres running as `postgres`).
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function isAlive(pid: number): boolean {
  return Number.isInteger(pid) && pid > 0 && probe(pid);
}

/** True while any process of group `pgid` exists. */
export function groupAlive(pgid: number): boolean {
  return Number.isInteger(pgid) && pgid > 1 && probe(-pgid);
}

/** Polls `done` until it is true or `timeoutMs` passes; says which. */
export async function waitUntil(done: () => boolean, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
  return true;
}

function signal(target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/**
 * Stops every process of group `pgid` (wrangler dev and the workerd processes it spawns):
 * SIGTERM, then SIGKILL after `graceMs`. Throws if the group survives even that.
 */
export async function stopGroup(pgid: number, graceMs = 5_000): Promise<void> {
  if (!groupAlive(pgid)) return;
  signal(-pgid, "SIGTERM");
  if (await waitUntil(() => !groupAlive(pgid), graceMs)) return;
  signal(-pgid, "SIGKILL");
  if (!(await waitUntil(() => !groupAlive(pgid), 5_000))) {
    throw new Error(`process group ${pgid} is still alive after SIGKILL`);
  }
}

/** Sends `sig` to `pid`, then SIGKILL after `graceMs`; throws if it survives. */
export async function stopPid(pid: number, sig: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!isAlive(pid)) return;
  signal(pid, sig);
  if (await waitUntil(() => !isAlive(pid), graceMs)) return;
  signal(pid, "SIGKILL");
  if (!(await waitUntil(() => !isAlive(pid), 5_000))) throw new Error(`process ${pid} is still alive after SIGKILL`);
}

/** The command line of `pid` (empty when it is gone), to check what a recorded pid now is. */
export function commandOf(pid: number): string {
  try {
    return execFileSync("ps", ["-o", "args=", "-p", String(pid)], { encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

/** The postmaster pid Postgres recorded in its data directory, if the file is there. */
export async function postmasterPid(postgresDir: string): Promise<number | undefined> {
  try {
    const first = (await readFile(join(postgresDir, "postmaster.pid"), "utf8")).split("\n", 1)[0];
    const pid = Number(first);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stops a Postgres still running on `postgresDir` (left behind by a start that was killed):
 * fast shutdown (SIGINT), then SIGKILL. The pid is checked to be a postgres process first,
 * since a stale postmaster.pid may name a pid reused by something else.
 */
export async function stopLeftoverPostgres(postgresDir: string): Promise<number | undefined> {
  const pid = await postmasterPid(postgresDir);
  if (pid === undefined || !isAlive(pid) || !/postgres/.test(commandOf(pid))) return undefined;
  await stopPid(pid, "SIGINT", 15_000);
  return pid;
}

/** Command lines of the processes in group `pgid`, to check what a recorded group now is. */
export function groupCommands(pgid: number): string[] {
  try {
    const out = execFileSync("ps", ["-eo", "pgid=,args="], { encoding: "utf8" });
    return out
      .split("\n")
      .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null && Number(m[1]) === pgid)
      .map((m) => m[2] ?? "");
  } catch {
    return [];
  }
}
