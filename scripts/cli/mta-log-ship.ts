// `docket mta-log ship --url URL [FILE|-]`: sends a Postfix log to POST /ingest/mta-log in signed
// chunks (whole lines, at most --max-lines lines and --max-bytes bytes each), one after another.
// The secret is MTA_LOG_HMAC_SECRET from the environment. The endpoint counts each line once, so
// shipping a file again (a rotated log, a run cut short) is safe: nothing is counted twice.
import { createReadStream } from "node:fs";
import { MAX_REPORTED_ERRORS, type MtaLogIngestResult } from "../../domain/mta-log/ingest-result";
import type { Readable } from "node:stream";
import { SIGNATURE_HEADER, signatureHeader } from "../../domain/mta-log/ingest-signature";

export interface ShipOptions {
  /** The endpoint, or the site's base URL (then /ingest/mta-log is appended). */
  url: string;
  secret: string;
  /** A file path; "-" or undefined reads `stdin`. */
  file?: string;
  stdin?: Readable;
  /** Lines per request; the endpoint takes at most 50,000. */
  maxLines?: number;
  /** Bytes per request; keep it under the server's HTTP_MAX_BODY_BYTES (1 MiB by default). */
  maxBytes?: number;
  /** Attempts per chunk on a network error or a 5xx answer (a 4xx is final). */
  attempts?: number;
  retryDelayMs?: number;
  /** Progress and problems, one line each (stderr in the CLI). */
  log?: (line: string) => void;
  fetch?: typeof fetch;
}

/** The ingest endpoint's answers summed over every chunk, line numbers across the whole input. */
export type ShipSummary = MtaLogIngestResult & { chunks: number };

export const DEFAULT_MAX_LINES = 5_000;
export const DEFAULT_MAX_BYTES = 512 * 1024;

export class ShipError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "ShipError";
  }
}

/** A base URL (no path) means the standard endpoint on that site. */
export function ingestUrl(raw: string): string {
  const url = new URL(raw);
  if (url.pathname === "/" || url.pathname === "") url.pathname = "/ingest/mta-log";
  return url.toString();
}

interface Chunk {
  body: Buffer;
  lines: number;
  /** Line number (from 1) of the chunk's first line in the whole input. */
  firstLine: number;
}

/** Whole lines, as bytes (exactly what is signed and sent), grouped into chunks under both limits. */
async function* chunksOf(
  input: AsyncIterable<Buffer | string>,
  maxLines: number,
  maxBytes: number,
): AsyncGenerator<Chunk> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let pendingLines = 0;
  let nextLine = 1;
  let rest: Buffer = Buffer.alloc(0);
  const flush = (): Chunk | undefined => {
    if (pendingLines === 0) return undefined;
    const chunk = { body: Buffer.concat(pending), lines: pendingLines, firstLine: nextLine };
    nextLine += pendingLines;
    pending = [];
    pendingBytes = 0;
    pendingLines = 0;
    return chunk;
  };
  const add = function* (line: Buffer): Generator<Chunk> {
    if (pendingLines > 0 && (pendingLines >= maxLines || pendingBytes + line.byteLength > maxBytes)) {
      const chunk = flush();
      if (chunk) yield chunk;
    }
    // A single line over maxBytes still goes, alone: the server decides (413), not the shipper.
    pending.push(line);
    pendingBytes += line.byteLength;
    pendingLines++;
  };
  for await (const data of input) {
    let buf = rest.byteLength === 0 ? Buffer.from(data) : Buffer.concat([rest, Buffer.from(data)]);
    let nl: number;
    while ((nl = buf.indexOf(0x0a)) >= 0) {
      yield* add(buf.subarray(0, nl + 1));
      buf = buf.subarray(nl + 1);
    }
    rest = Buffer.from(buf);
  }
  if (rest.byteLength > 0) yield* add(Buffer.concat([rest, Buffer.from("\n")]));
  const last = flush();
  if (last) yield last;
}

interface IngestAnswer {
  lines: number;
  deliveries: number;
  counted: number;
  duplicates: number;
  ignored: number;
  malformed?: number;
  errors: { line: number; error: string }[];
}

async function send(url: string, chunk: Chunk, options: ShipOptions): Promise<IngestAnswer> {
  const doFetch = options.fetch ?? fetch;
  const attempts = Math.max(1, options.attempts ?? 3);
  let lastProblem = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await new Promise((r) => setTimeout(r, (options.retryDelayMs ?? 1_000) * 2 ** (attempt - 2)));
    let res: Response;
    try {
      // Signed per attempt: a retry after a slow failure must not carry a stale timestamp.
      res = await doFetch(url, {
        method: "POST",
        headers: {
          "content-type": "text/plain; charset=utf-8",
          [SIGNATURE_HEADER]: await signatureHeader(options.secret, chunk.body),
        },
        body: new Uint8Array(chunk.body),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (error) {
      lastProblem = `network error: ${(error as Error).message}`;
      options.log?.(
        `lines ${chunk.firstLine}-${chunk.firstLine + chunk.lines - 1}: ${lastProblem} (attempt ${attempt}/${attempts})`,
      );
      continue;
    }
    const text = await res.text();
    if (res.ok) return JSON.parse(text) as IngestAnswer;
    let message = text.slice(0, 300);
    try {
      const parsed = JSON.parse(text) as { error?: string; message?: string };
      if (parsed.message) message = `${parsed.error ?? "error"}: ${parsed.message}`;
    } catch {
      // Not our JSON error body (a proxy's page): keep the start of the text.
    }
    lastProblem = `HTTP ${res.status} ${message}`;
    // 4xx will not change by sending again (bad secret, endpoint off, too large).
    if (res.status < 500) throw new ShipError(lastProblem, res.status);
    options.log?.(
      `lines ${chunk.firstLine}-${chunk.firstLine + chunk.lines - 1}: ${lastProblem} (attempt ${attempt}/${attempts})`,
    );
  }
  throw new ShipError(`gave up after ${attempts} attempts: ${lastProblem}`);
}

/** Reads the log and ships it chunk by chunk; resolves with the totals, rejects with ShipError. */
export async function mtaLogShip(options: ShipOptions): Promise<ShipSummary> {
  if (!options.secret) throw new ShipError("MTA_LOG_HMAC_SECRET is not set");
  const url = ingestUrl(options.url);
  const maxLines = options.maxLines ?? DEFAULT_MAX_LINES;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const input: AsyncIterable<Buffer | string> =
    options.file === undefined || options.file === "-"
      ? (options.stdin ?? process.stdin)
      : createReadStream(options.file);

  const total: ShipSummary = {
    chunks: 0,
    lines: 0,
    deliveries: 0,
    counted: 0,
    duplicates: 0,
    ignored: 0,
    malformed: 0,
    errors: [],
  };
  for await (const chunk of chunksOf(input, maxLines, maxBytes)) {
    const answer = await send(url, chunk, options);
    total.chunks++;
    total.lines += answer.lines;
    total.deliveries += answer.deliveries;
    total.counted += answer.counted;
    total.duplicates += answer.duplicates;
    total.ignored += answer.ignored;
    total.malformed += answer.malformed ?? answer.errors.length;
    for (const e of answer.errors) {
      if (total.errors.length < MAX_REPORTED_ERRORS)
        total.errors.push({ line: chunk.firstLine + e.line - 1, error: e.error });
    }
    options.log?.(
      `lines ${chunk.firstLine}-${chunk.firstLine + chunk.lines - 1}: ${answer.counted} counted, ${answer.duplicates} already counted, ${answer.ignored} ignored, ${answer.malformed ?? answer.errors.length} malformed`,
    );
  }
  return total;
}
