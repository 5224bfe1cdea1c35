// Bounce classification: messages per second over every file of the bounce corpus's maildir/
// (Sisimai's set-of-emails), through classifyBounce, side by side with Debian's Sisimai
// (libsisimai-perl) on the same files in the same run (scripts/bench/sisimai-classify.pl). Both
// read every file into memory first and time only classification; the ratio is ours ÷ Sisimai's
// throughput. Without Sisimai (and no way to install it) our figure is reported alone.
// `tsx scripts/bench/bounce-classify.bench.ts [passes]` runs it alone.
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { classifyBounce } from "../../domain/bounces/classify-bounce";
import { rowsFrom, runAlone, timePasses, type InProcessBenchmark } from "./passes";

const run = promisify(execFile);
const here = fileURLToPath(new URL(".", import.meta.url));
const root = resolve(here, "../..");
const CORPORA = process.env.DOCKET_CORPORA ?? resolve(root, "../shared/corpora");
export const BOUNCE_MAILDIR = resolve(CORPORA, "bounces/maildir");
const SISIMAI_SCRIPT = join(here, "sisimai-classify.pl");

const OURS = "classifyBounce";
const SISIMAI = "sisimai";

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

async function hasSisimai(): Promise<boolean> {
  try {
    await run("perl", ["-MSisimai", "-e1"]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Sisimai present, or installed now from Debian when this runs as root with apt-get (the bench
 * machine); otherwise the reason it is missing. Never needed by the tests or CI.
 */
async function ensureSisimai(log: (line: string) => void): Promise<string | undefined> {
  if (await hasSisimai()) return undefined;
  const isRoot = process.getuid?.() === 0;
  if (isRoot && process.env.DOCKET_BENCH_NO_INSTALL === undefined) {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    log("bounce-classify: Sisimai (perl -MSisimai) is missing; installing libsisimai-perl with apt-get");
    for (const steps of [
      [["install", "-y", "-q", "libsisimai-perl"]],
      [
        ["update", "-q"],
        ["install", "-y", "-q", "libsisimai-perl"],
      ],
    ]) {
      try {
        for (const args of steps) await run("apt-get", args, { env, maxBuffer: 64 * 1024 * 1024 });
        if (await hasSisimai()) return undefined;
      } catch {
        // The package lists may be stale or absent: the second round updates them first.
      }
    }
    return "Sisimai is missing and apt-get could not install libsisimai-perl";
  }
  return "Sisimai is missing: install it with `apt-get install libsisimai-perl` (Debian) to measure the ratio";
}

interface SisimaiRun {
  sisimai: string;
  perl: string;
  messages: number;
  classified: number;
  results: number;
  passes_ms: number[];
}

export const bounceClassifyBench: InProcessBenchmark = {
  name: "bounce-classify",
  description: "classifyBounce on every message of the bounce corpus, messages/s, against Sisimai on the same files",
  async run({ log, passes = 5 }) {
    const files = await filesUnder(BOUNCE_MAILDIR);
    if (files.length === 0) throw new Error(`no messages under ${BOUNCE_MAILDIR}`);
    const messages = await Promise.all(files.map(async (f) => new Uint8Array(await readFile(f))));
    const bytes = messages.reduce((n, m) => n + m.byteLength, 0);
    const warmup = 2;
    log(
      `bounce-classify: ${files.length} messages (${(bytes / 1024).toFixed(0)} KiB); ${warmup} warm-up + ${passes} passes each (ours half before, half after Sisimai's)`,
    );

    // Installing (when it comes to that) happens before anything is timed.
    const missing = await ensureSisimai(log);
    if (missing !== undefined) log(`bounce-classify: ${missing}`);

    let classified = 0;
    let recipients = 0;
    const ourPass = async () => {
      classified = 0;
      recipients = 0;
      for (const m of messages) {
        const result = await classifyBounce(m);
        if (result.recipients.length > 0) classified++;
        recipients += result.recipients.length;
      }
    };
    // Our passes come half before and half after Sisimai's, so a change in the machine's load
    // during the run falls on both sides of the ratio.
    const before = Math.ceil(passes / 2);
    const ours = await timePasses(ourPass, missing === undefined ? before : passes, warmup);
    let sisimai: SisimaiRun | undefined;
    if (missing === undefined) {
      const args = [SISIMAI_SCRIPT, "--passes", String(passes), "--warmup", String(warmup), ...files];
      sisimai = JSON.parse((await run("perl", args, { maxBuffer: 16 * 1024 * 1024 })).stdout) as SisimaiRun;
      ours.push(...(await timePasses(ourPass, passes - before, 0)));
    }

    const measured = [
      {
        name: OURS,
        description: "domain/bounces/classify-bounce.ts, in this Node process",
        unit: "messages",
        items: files.length,
        passesMs: ours,
      },
    ];
    const notes = [
      `input: ${files.length} files under ${BOUNCE_MAILDIR}`,
      `${OURS}: ${classified}/${files.length} messages with at least one recipient, ${recipients} recipients`,
    ];
    if (sisimai === undefined) {
      notes.push(`${missing}; no ratio`);
      return { name: "bounce-classify", reference: OURS, rows: rowsFrom(measured, OURS), notes };
    }
    measured.push({
      name: SISIMAI,
      description: `Sisimai ${sisimai.sisimai} (Debian libsisimai-perl) on perl ${sisimai.perl}, Sisimai->make(\\$text) per message`,
      unit: "messages",
      items: sisimai.messages,
      passesMs: sisimai.passes_ms,
    });
    notes.push(
      `${SISIMAI} ${sisimai.sisimai}: ${sisimai.classified}/${sisimai.messages} messages with at least one result, ${sisimai.results} results`,
    );
    return { name: "bounce-classify", reference: SISIMAI, rows: rowsFrom(measured, SISIMAI), notes };
  },
};

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href)
  await runAlone(bounceClassifyBench);
