// The `docket` command line (bin/docket.js loads this through tsx). Each subcommand is a function
// in its own module that writes through `out`, so tests and other scripts call it directly.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { bounceClassify } from "./bounce-classify";
import { dmarcParse } from "./dmarc-parse";
import { importLeie, LeieImportError } from "./import-leie";
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_LINES, mtaLogShip, ShipError } from "./mta-log-ship";

export const USAGE = `usage: docket <command> [options]

  docket dmarc parse FILE…
      DMARC aggregate reports (.xml, .xml.gz, .zip, or an .eml carrying one) → one JSON object
      per report on stdout; a file that fails prints {"file", "error", "code"}.

  docket bounce classify FILE…
      Raw messages (RFC 5322) → one tab-separated line per recipient on stdout:
      file, recipient index, reason, status, hard bounce.

  docket mta-log ship --url URL [--max-lines N] [--max-bytes N] [FILE | -]
      Sends a Postfix log (FILE, or stdin) to POST /ingest/mta-log in signed chunks of whole
      lines, at most ${DEFAULT_MAX_LINES} lines and ${DEFAULT_MAX_BYTES} bytes each by default.
      URL is the endpoint or the site's base URL; the secret is MTA_LOG_HMAC_SECRET from the
      environment. Prints the totals as JSON. Shipping lines again counts nothing twice.

  docket import leie [--as-of YYYY-MM-DD] [--allow-shrink] FILE
      Loads the HHS-OIG LEIE full list (UPDATED.csv) into Postgres (DATABASE_URL) for exclusion
      screening. Skipped rows go to stderr with their line; the totals print as JSON. Entries a
      newer file no longer lists are marked removed; a file under half the listed size is refused
      unless --allow-shrink. --as-of is the list's date (default: the file's modification date).

  docket help
      This text.

Exit status: 0 done, 1 failed, 2 usage error.`;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

const defaultIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
};

class UsageError extends Error {}

function parse<O extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    // node:util's messages name the flag ("Unknown option '--x'"): pass them on.
    throw new UsageError((error as Error).message);
  }
}

function positiveInt(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} needs a whole number above 0, got ${raw}`);
  return n;
}

function needFiles(command: string, files: string[]): string[] {
  if (files.length === 0) throw new UsageError(`${command} needs at least one FILE`);
  return files;
}

/** Runs one command line (without `node` and the script); resolves with the exit status. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [command, sub, ...rest] = argv;
  // `docket help`, and --help anywhere (`docket dmarc parse --help`), print the usage.
  if (command === "help" || argv.includes("--help") || argv.includes("-h")) {
    io.out(USAGE);
    return 0;
  }
  try {
    switch (`${command ?? ""} ${sub ?? ""}`) {
      case "dmarc parse": {
        const { positionals } = parse(rest, {});
        await dmarcParse(needFiles("dmarc parse", positionals), io.out);
        return 0;
      }
      case "bounce classify": {
        const { positionals } = parse(rest, {});
        await bounceClassify(needFiles("bounce classify", positionals), io.out);
        return 0;
      }
      case "mta-log ship": {
        const { values, positionals } = parse(rest, {
          url: { type: "string" },
          "max-lines": { type: "string" },
          "max-bytes": { type: "string" },
        });
        if (!values.url) throw new UsageError("mta-log ship needs --url");
        if (positionals.length > 1) throw new UsageError("mta-log ship takes one FILE (or - for stdin)");
        try {
          new URL(values.url);
        } catch {
          throw new UsageError(`--url is not a URL: ${values.url}`);
        }
        const secret = io.env.MTA_LOG_HMAC_SECRET;
        if (!secret) throw new UsageError("set MTA_LOG_HMAC_SECRET in the environment (the endpoint's shared secret)");
        const summary = await mtaLogShip({
          url: values.url,
          secret,
          ...(positionals[0] === undefined ? {} : { file: positionals[0] }),
          maxLines: positiveInt("--max-lines", values["max-lines"], DEFAULT_MAX_LINES),
          maxBytes: positiveInt("--max-bytes", values["max-bytes"], DEFAULT_MAX_BYTES),
          log: (line) => io.err(`mta-log ship: ${line}`),
        });
        io.out(JSON.stringify(summary));
        return 0;
      }
      case "import leie": {
        const { values, positionals } = parse(rest, {
          "as-of": { type: "string" },
          "allow-shrink": { type: "boolean" },
        });
        if (positionals.length !== 1) throw new UsageError("import leie takes one FILE");
        try {
          const summary = await importLeie({
            file: positionals[0]!,
            env: io.env,
            ...(values["as-of"] === undefined ? {} : { asOf: values["as-of"] }),
            allowShrink: values["allow-shrink"] === true,
            log: (line) => io.err(`import leie: ${line}`),
          });
          io.out(JSON.stringify(summary));
          return 0;
        } catch (error) {
          if (!(error instanceof LeieImportError)) throw error;
          io.err(`docket: ${error.message}`);
          return 1;
        }
      }
      default:
        throw new UsageError(
          command === undefined ? "no command given" : `unknown command: ${argv.slice(0, 2).join(" ")}`,
        );
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`docket: ${error.message}`);
      io.err(USAGE);
      return 2;
    }
    if (error instanceof ShipError || (error as { code?: unknown }).code === "ENOENT") {
      io.err(`docket: ${(error as Error).message}`);
      return 1;
    }
    throw error;
  }
}
