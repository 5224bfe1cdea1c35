// The `docket` command line (bin/docket.js loads this through tsx). Each subcommand is a function
// in its own module that writes through `out`, so tests and other scripts call it directly.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { bounceClassify } from "./bounce-classify";
import { dmarcParse } from "./dmarc-parse";
import { FmcsaGenerateError, generateFmcsa } from "./generate-fmcsa";
import { FMCSA_FORMATS, FmcsaImportError, importFmcsa, type FmcsaFormat } from "./import-fmcsa";
import { importLeie, LeieImportError } from "./import-leie";
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_LINES, mtaLogShip, ShipError } from "./mta-log-ship";
import { scrub, ScrubError } from "./scrub";

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

  docket import fmcsa [--format csv|json] FILE
      Streams the FMCSA company census (the CSV export with upper-case headers, or the open-data
      API's JSON, as an array or one record per line; the format follows the file's extension
      unless given) into Postgres (DATABASE_URL): carriers by USDOT number (public fields
      refreshed), and prospects for carriers with a usable e-mail address (flags, exclusions,
      send history and verification results are never reset). Skipped rows go to stderr as
      "line N: reason"; the totals print as JSON. One transaction: a broken file changes nothing.

  docket generate fmcsa --rows N --seed S [--format csv|json] [--invalid-rate R]
                        [--as-of YYYY-MM-DD] [--zone ZONEFILE] [--out FILE | -]
      Writes a synthetic census (the same bytes for the same options) to FILE or stdout: consumer
      mailboxes, carriers' own domains at Google, Microsoft, Yahoo and smaller hosts, dead ISPs,
      MCS-150 dates over four years before --as-of (default today). --invalid-rate makes that share
      of rows invalid; --zone writes the DNS fixture zone for the local DoH resolver. The totals
      print as JSON (on stderr when the census goes to stdout).

  docket scrub [--dry-run] [--lists DIR]
      Loads the exclusion lists (DIR/*.txt, default data/exclusions; the list is the file's name)
      into Postgres (DATABASE_URL), mirroring the files, and applies them: queued campaign sends to
      a listed domain (or a subdomain of one) are cancelled, prospects there are marked, prospects
      no longer listed are unmarked. --dry-run reports the same counts and changes nothing.

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

function formatOption(raw: string): FmcsaFormat {
  if (!(FMCSA_FORMATS as readonly string[]).includes(raw))
    throw new UsageError(`--format needs ${FMCSA_FORMATS.join(" or ")}, got ${raw}`);
  return raw as FmcsaFormat;
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
    // `docket scrub` has no subcommand: its options follow it directly.
    switch (command === "scrub" ? "scrub" : `${command ?? ""} ${sub ?? ""}`) {
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
      case "import fmcsa": {
        const { values, positionals } = parse(rest, { format: { type: "string" } });
        if (positionals.length !== 1) throw new UsageError("import fmcsa takes one FILE");
        const format = values.format === undefined ? undefined : formatOption(values.format);
        try {
          const summary = await importFmcsa({
            file: positionals[0]!,
            env: io.env,
            ...(format === undefined ? {} : { format }),
            log: (line) => io.err(`import fmcsa: ${line}`),
          });
          io.out(JSON.stringify(summary));
          return 0;
        } catch (error) {
          if (!(error instanceof FmcsaImportError)) throw error;
          io.err(`docket: ${error.message}`);
          return 1;
        }
      }
      case "generate fmcsa": {
        const { values, positionals } = parse(rest, {
          rows: { type: "string" },
          seed: { type: "string" },
          format: { type: "string" },
          "invalid-rate": { type: "string" },
          "as-of": { type: "string" },
          zone: { type: "string" },
          out: { type: "string" },
        });
        if (positionals.length > 0) throw new UsageError("generate fmcsa takes no FILE (use --out FILE)");
        if (values.rows === undefined) throw new UsageError("generate fmcsa needs --rows N");
        if (values.seed === undefined) throw new UsageError("generate fmcsa needs --seed S");
        const rows = Number(values.rows);
        if (!Number.isSafeInteger(rows) || rows < 0)
          throw new UsageError(`--rows needs a whole number, got ${values.rows}`);
        const invalidRate = values["invalid-rate"] === undefined ? 0 : Number(values["invalid-rate"]);
        if (!(invalidRate >= 0 && invalidRate <= 1))
          throw new UsageError(`--invalid-rate needs a number from 0 to 1, got ${values["invalid-rate"]}`);
        const out = values.out ?? "-";
        try {
          const summary = await generateFmcsa({
            rows,
            seed: values.seed,
            format: values.format === undefined ? "csv" : formatOption(values.format),
            invalidRate,
            out,
            ...(values.zone === undefined ? {} : { zone: values.zone }),
            ...(values["as-of"] === undefined ? {} : { asOf: values["as-of"] }),
          });
          (out === "-" ? io.err : io.out)(JSON.stringify(summary));
          return 0;
        } catch (error) {
          if (!(error instanceof FmcsaGenerateError)) throw error;
          io.err(`docket: ${error.message}`);
          return 1;
        }
      }
      case "scrub": {
        const { values, positionals } = parse(argv.slice(1), {
          "dry-run": { type: "boolean" },
          lists: { type: "string" },
        });
        if (positionals.length > 0) throw new UsageError("scrub takes no arguments besides its options");
        try {
          const summary = await scrub({
            env: io.env,
            dryRun: values["dry-run"] === true,
            ...(values.lists === undefined ? {} : { listsDir: values.lists }),
          });
          io.out(JSON.stringify(summary));
          return 0;
        } catch (error) {
          if (!(error instanceof ScrubError)) throw error;
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
