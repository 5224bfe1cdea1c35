import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { groupAlive, stopGroup } from "./process-control";

/**
 * `wrangler dev` as a child process in its own process group. Wrangler starts a second Node
 * process and two workerd processes; spawning it detached puts all of them in one group that
 * is stopped (and checked to be gone) as a whole. A terminal's Ctrl-C does not reach the
 * group directly: the local stack stops it, in order.
 */

export interface WranglerDevOptions {
  cwd: string;
  ip: string;
  port: number;
  inspectorPort: number;
  persistTo: string;
  envFile: string;
  /** Everything wrangler prints, for after the fact. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
}

export interface WranglerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface WranglerDev {
  /** Process group id (= pid of the spawned wrangler). */
  readonly pgid: number;
  /** Settles when the wrangler process exits, for whatever reason. */
  readonly exited: Promise<WranglerExit>;
  hasExited(): boolean;
  /** The last lines wrangler printed, to explain a failed start. */
  tail(): string;
  /** Forwards each further output line (after the banner, the Worker's own logs). */
  forward(fn: ((line: string) => void) | undefined): void;
  /** Stops the whole group; throws if any of its processes survive. */
  stop(): Promise<void>;
}

const TAIL_LINES = 80;

function wranglerBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
}

export function startWranglerDev(options: WranglerDevOptions): WranglerDev {
  const args = [
    wranglerBin(),
    "dev",
    "--local",
    "--ip",
    options.ip,
    "--port",
    String(options.port),
    "--inspector-port",
    String(options.inspectorPort),
    "--persist-to",
    options.persistTo,
    "--env-file",
    options.envFile,
    "--show-interactive-dev-session=false",
  ];
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...(options.env ?? process.env),
      // The env file is the Worker's whole local configuration: keep the process
      // environment (which may hold production secrets) out of its bindings.
      CLOUDFLARE_INCLUDE_PROCESS_ENV: "false",
      CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV: "true",
      WRANGLER_SEND_METRICS: "false",
    },
  });
  if (child.pid === undefined) throw new Error("wrangler dev could not be spawned");
  const pgid = child.pid;
  const log = createWriteStream(options.logFile, { flags: "w" });
  const tail: string[] = [];
  let forward: ((line: string) => void) | undefined;
  const onLine = (line: string) => {
    log.write(`${line}\n`);
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    forward?.(line);
  };
  createInterface({ input: child.stdout }).on("line", onLine);
  createInterface({ input: child.stderr }).on("line", onLine);

  let exitedFlag = false;
  const exited = new Promise<WranglerExit>((resolve) => {
    child.once("exit", (code, signal) => {
      exitedFlag = true;
      resolve({ code, signal });
    });
    child.once("error", (error) => {
      onLine(`[spawn error] ${error.message}`);
      exitedFlag = true;
      resolve({ code: null, signal: null });
    });
  });
  void exited.then(() => log.end());

  return {
    pgid,
    exited,
    hasExited: () => exitedFlag,
    tail: () => tail.join("\n"),
    forward(fn) {
      forward = fn;
    },
    async stop() {
      // The group outlives its leader when workerd lingers: check the group, not the pid.
      if (!groupAlive(pgid)) return;
      await stopGroup(pgid, 8_000);
    },
  };
}
