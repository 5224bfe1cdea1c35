// `npm start`: the whole stack on this machine (scripts/lib/local-stack.ts), one banner, and
// Ctrl-C (or SIGTERM) stops it all in reverse order.
import { startLocalStack, type LocalStack } from "./lib/local-stack";
import { formatBanner } from "./lib/stack-banner";
import { StackAlreadyRunningError } from "./lib/stack-lock";

const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.error(
    `docket: Node ${process.versions.node} is too old for wrangler 4 (needs 22 or newer). ` +
      "Put a newer Node first on PATH, e.g. the npm registry's `node` package (`npm install node@24`).",
  );
  process.exit(1);
}

const progress = (line: string) => console.log(`docket: ${line}`);
const controller = new AbortController();
let stack: LocalStack | undefined;
let exiting = false;

async function shutdown(code: number, reason: string): Promise<never> {
  if (!exiting) {
    exiting = true;
    progress(`stopping (${reason})`);
    try {
      await stack?.stop();
      progress("stopped; no process left running");
    } catch (error) {
      console.error(`docket: ${error instanceof Error ? error.message : String(error)}`);
      code = 1;
    }
    process.exit(code);
  }
  // A second signal while stopping changes nothing: the first stop is already under way.
  return await new Promise<never>(() => {});
}

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    // While starting, abort: startLocalStack stops what it has started, then rejects.
    if (!stack) controller.abort(new Error(`interrupted by ${sig}`));
    else void shutdown(0, sig);
  });
}

const timeoutSeconds = Number(process.env.DOCKET_START_TIMEOUT ?? 60);
try {
  stack = await startLocalStack({
    log: progress,
    signal: controller.signal,
    readyTimeoutMs: (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? timeoutSeconds : 60) * 1000,
  });
} catch (error) {
  if (error instanceof StackAlreadyRunningError) {
    console.error(`docket: refusing to start: ${error.message}`);
    process.exit(1);
  }
  if (controller.signal.aborted) {
    progress("start interrupted; everything that had started is stopped");
    process.exit(130);
  }
  console.error(`docket: start failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

console.log(formatBanner(stack.info));
// From here on the terminal shows the Worker's own output (requests, console.log).
stack.forwardWorkerOutput((line) => console.log(line));
void stack.failed.then((error) => {
  console.error(`docket: ${error.message}`);
  void shutdown(1, "a piece of the stack died");
});
