import { link, mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { isAlive } from "./process-control";

/**
 * One running stack per data directory: `start.lock` holds the owner's pid and what it
 * started (wrangler's process group, the Postgres pid, the URLs). A second start finds a live
 * pid and refuses; a lock whose pid is dead (the owner was killed) is taken over after
 * `onStale` has cleaned up what the dead owner left running.
 */

export interface LockInfo {
  pid: number;
  startedAt: string;
  dataDir: string;
  /** Process group of `wrangler dev` (it and its workerd processes). */
  wranglerPgid?: number;
  /** The embedded Postgres postmaster, when this stack runs one. */
  postgresPid?: number;
  urls?: Record<string, string>;
}

export class StackAlreadyRunningError extends Error {
  constructor(
    readonly lockFile: string,
    readonly owner: LockInfo,
  ) {
    super(
      `Docket is already running from this data directory (pid ${owner.pid}, started ${owner.startedAt}` +
        `${owner.urls?.worker ? `, ${owner.urls.worker}` : ""}). Stop it first (Ctrl-C in its terminal, or kill ${owner.pid}), ` +
        `or start another stack with DOCKET_DATA_DIR set to a different directory. Lock: ${lockFile}`,
    );
    this.name = "StackAlreadyRunningError";
  }
}

export interface StackLock {
  readonly file: string;
  /** Records more about the running stack (children, URLs) for a later taker or tool. */
  update(patch: Partial<LockInfo>): Promise<void>;
  release(): Promise<void>;
}

async function readLock(file: string): Promise<LockInfo | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as Partial<LockInfo>;
    return typeof parsed.pid === "number" ? (parsed as LockInfo) : undefined;
  } catch {
    return undefined;
  }
}

const isCode = (error: unknown, code: string) => (error as NodeJS.ErrnoException).code === code;

export async function acquireStackLock(
  file: string,
  dataDir: string,
  onStale: (info: LockInfo) => Promise<void>,
): Promise<StackLock> {
  await mkdir(dirname(file), { recursive: true });
  let info: LockInfo = { pid: process.pid, startedAt: new Date().toISOString(), dataDir };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      // `wx`: creation fails if the file exists, so two starts cannot both win.
      const handle = await open(file, "wx", 0o600);
      try {
        await handle.writeFile(JSON.stringify(info, null, 2));
      } finally {
        await handle.close();
      }
      return lockHandle(
        file,
        () => info,
        (next) => (info = next),
      );
    } catch (error) {
      if (!isCode(error, "EEXIST")) throw error;
    }
    const owner = await readLock(file);
    if (owner === undefined) {
      // Just created by a racing start that has not written it yet, or garbage: look again.
      await new Promise((r) => setTimeout(r, 200));
      const again = await readLock(file);
      if (again && isAlive(again.pid) && again.pid !== process.pid) throw new StackAlreadyRunningError(file, again);
      if (!again) await rm(file, { force: true });
      continue;
    }
    if (isAlive(owner.pid) && owner.pid !== process.pid) throw new StackAlreadyRunningError(file, owner);
    // Stale: move it aside atomically, so of two starts taking it over only one proceeds.
    const aside = `${file}.stale-${process.pid}`;
    try {
      await rename(file, aside);
    } catch (error) {
      if (isCode(error, "ENOENT")) continue;
      throw error;
    }
    const taken = await readLock(aside);
    if (taken && isAlive(taken.pid) && taken.pid !== process.pid) {
      // We raced and moved a live lock: put it back (unless a new one already exists) and refuse.
      await link(aside, file).catch(() => {});
      await rm(aside, { force: true });
      throw new StackAlreadyRunningError(file, taken);
    }
    await rm(aside, { force: true });
    if (taken) await onStale(taken);
    info = { ...info, startedAt: new Date().toISOString() };
  }
  throw new Error(`could not take the lock ${file}: it keeps changing; is something else starting Docket?`);
}

function lockHandle(file: string, get: () => LockInfo, set: (info: LockInfo) => void): StackLock {
  let released = false;
  return {
    file,
    async update(patch) {
      if (released) return;
      const next = { ...get(), ...patch };
      set(next);
      // Write aside and rename: a reader never sees half a file.
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(next, null, 2), { mode: 0o600 });
      await rename(tmp, file);
    },
    async release() {
      if (released) return;
      released = true;
      const current = await readLock(file);
      if (current?.pid === process.pid) await rm(file, { force: true });
    },
  };
}
