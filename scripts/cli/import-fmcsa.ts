// `docket import fmcsa [--format csv|json] FILE`: streams the FMCSA Company Census File (the bulk
// CSV export, or the open-data API's JSON as an array or NDJSON) into fmcsa_carriers (every public
// field refreshed) and, for carriers with a usable e-mail address, prospects (source "fmcsa",
// keyed by USDOT number), email_addresses and mail_domains. An import only ever adds addresses
// and domains and never touches a prospect's flags, exclusion or send history, nor an address's
// verification result. Rows that fail validation are reported with their line and skipped. The
// whole import is one transaction: a file that turns out broken half-way changes nothing.
import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { extname } from "node:path";
import { createInterface } from "node:readline";
import { parse as parseCsv } from "csv-parse";
import type { CsvError, Info } from "csv-parse";
import pg from "pg";
import { computeDeficiencies, prospectFields } from "../../domain/outreach/deficiencies";
import {
  CENSUS_COLUMNS,
  REQUIRED_CENSUS_COLUMNS,
  parseCensusRow,
  type CensusEmail,
  type FmcsaCarrierRecord,
} from "../../domain/outreach/fmcsa-census-row";
import type { fmcsaCarriers } from "../../db/schema/public-data";
import { DatabaseUrlError, databaseUrl } from "./database-url";

/** A parsed record is a row of the table the enrichment reads (checked by the compiler). */
export const carrierInsert = (c: FmcsaCarrierRecord): typeof fmcsaCarriers.$inferInsert => c;

export const FMCSA_FORMATS = ["csv", "json"] as const;
export type FmcsaFormat = (typeof FMCSA_FORMATS)[number];

/** Rows per statement: four statements of array parameters each, whatever the batch size. */
export const DEFAULT_BATCH_ROWS = 5_000;

export interface FmcsaImportOptions {
  file: string;
  env: NodeJS.ProcessEnv;
  /** csv or json; from the file's extension when not given. */
  format?: FmcsaFormat;
  /** The day deficiencies are judged on (default: now). */
  today?: Date;
  batchRows?: number;
  /** One line per skipped row or unusable address (stderr in the CLI). */
  log: (line: string) => void;
}

export interface FmcsaImportSummary {
  file: string;
  format: FmcsaFormat;
  /** Records read (a CSV header not counted). */
  rows: number;
  /** Records that failed validation. */
  skipped: number;
  /** Records repeating a USDOT number already read in the same batch (the later one was kept). */
  duplicates: number;
  carriersUpserted: number;
  carriersInserted: number;
  carriersUpdated: number;
  prospectsInserted: number;
  /** Prospects whose e-mail, domain, fields or deficiencies changed. */
  prospectsUpdated: number;
  prospectsUnchanged: number;
  /** Carriers loaded without a prospect: no e-mail address in the census. */
  noEmail: number;
  /** Carriers loaded without a prospect: an address we cannot mail (each reported). */
  badEmail: number;
  ms: number;
}

/** The import cannot be done; nothing was changed. */
export class FmcsaImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FmcsaImportError";
  }
}

/** A record read from the file, or why the record at `where` is not one. */
type SourceItem = { where: string; record: Readonly<Record<string, unknown>> } | { where: string; invalid: string };

export function formatFromName(file: string): FmcsaFormat {
  const ext = extname(file).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".json" || ext === ".ndjson" || ext === ".jsonl") return "json";
  throw new FmcsaImportError(`cannot tell the format of ${file} from its name: pass --format csv or --format json`);
}

// ---------------------------------------------------------------------------------------------
// Reading

function isCsvError(error: unknown): error is CsvError {
  return (
    error instanceof Error &&
    typeof (error as { code?: unknown }).code === "string" &&
    (error as CsvError).code.startsWith("CSV_")
  );
}

/** CSV rows with the file's line number (where the record ends, as csv-parse counts). */
async function* csvRecords(file: string): AsyncGenerator<SourceItem> {
  const parser = createReadStream(file).pipe(
    parseCsv({
      bom: true,
      info: true,
      skip_empty_lines: true,
      // A row with the wrong number of fields has clear bounds: reported and skipped. Broken
      // quoting has none (the rest of the file could read as one field): the file is refused.
      relax_column_count: true,
    }),
  );
  let header: string[] | undefined;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: Info }>) {
      if (!header) {
        header = record.map((h) => h.trim().toUpperCase());
        const missing = REQUIRED_CENSUS_COLUMNS.filter((c) => !header!.includes(c));
        if (missing.length > 0)
          throw new FmcsaImportError(
            `${file}: not an FMCSA census file: the header (line 1) lacks ${missing.join(", ")} ` +
              `(expected columns like ${CENSUS_COLUMNS.slice(0, 4).join(",")},…)`,
          );
        continue;
      }
      const where = `line ${info.lines}`;
      if (record.length !== header.length) {
        yield { where, invalid: `has ${record.length} fields, the header has ${header.length}` };
        continue;
      }
      const row: Record<string, string> = {};
      for (let i = 0; i < header.length; i++) row[header[i]!] = record[i]!;
      yield { where, record: row };
    }
  } catch (error) {
    if (isCsvError(error))
      throw new FmcsaImportError(`${file}: malformed CSV at line ${error.lines}: ${error.message}`);
    throw error;
  }
  if (!header) throw new FmcsaImportError(`${file}: not an FMCSA census file: it is empty`);
}

function jsonObject(text: string): { record: Record<string, unknown> } | { invalid: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { invalid: `not JSON: ${(error as Error).message}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { invalid: "is not a JSON object (one census record)" };
  return { record: value as Record<string, unknown> };
}

/** NDJSON: one record per line (blank lines ignored). */
async function* ndjsonRecords(file: string): AsyncGenerator<SourceItem> {
  const lines = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity });
  let n = 0;
  for await (const raw of lines) {
    n++;
    const text = n === 1 ? raw.replace(/^\uFEFF/, "") : raw;
    if (text.trim() === "") continue;
    yield { where: `line ${n}`, ...jsonObject(text) };
  }
}

const isJsonSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * The elements of a top-level JSON array, one at a time, with the line each begins on: a
 * 1.5-million-record download is never held in memory whole. Only the array's structure (strings,
 * brackets, commas) is tracked here; each element is then read by JSON.parse, so a broken element
 * is one skipped record, while a broken array (unclosed, text after it) refuses the file.
 */
async function* jsonArrayElements(
  file: string,
  chunks: AsyncIterable<string>,
): AsyncGenerator<{ text: string; line: number; index: number }> {
  const fail = (line: number, what: string) => {
    throw new FmcsaImportError(`${file}: malformed JSON array at line ${line}: ${what}`);
  };
  // 0 before "[", 1 inside the array between elements, 2 inside an element, 3 after "]".
  let state = 0;
  let expectElement = true;
  let line = 1;
  let index = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let parts: string[] = [];
  let elementLine = 0;
  let first = true;
  for await (let chunk of chunks) {
    if (first) {
      chunk = chunk.replace(/^\uFEFF/, "");
      first = false;
    }
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (state === 2) {
        if (c === 0x0a) line++;
        let endsAt = -1; // exclusive end of the element within this chunk
        let reread = false;
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 0x5c) escaped = true;
          else if (c === 0x22) {
            inString = false;
            if (depth === 0) endsAt = i + 1;
          }
        } else if (c === 0x22) inString = true;
        else if (c === 0x7b || c === 0x5b) depth++;
        else if ((c === 0x7d || c === 0x5d) && depth > 0) {
          depth--;
          if (depth === 0) endsAt = i + 1;
        } else if (depth === 0 && (c === 0x2c || c === 0x5d || isJsonSpace(c))) {
          // The end of a bare scalar (a number, true, …): the separator is read again below.
          endsAt = i;
          reread = true;
        }
        if (endsAt >= 0) {
          parts.push(chunk.slice(start, endsAt));
          yield { text: parts.join(""), line: elementLine, index: ++index };
          parts = [];
          state = 1;
          expectElement = false;
          if (reread) {
            if (c === 0x0a) line--;
            i--;
          }
        }
        continue;
      }
      if (c === 0x0a) line++;
      if (isJsonSpace(c)) continue;
      if (state === 0) {
        if (c !== 0x5b) fail(line, "expected [");
        state = 1;
      } else if (state === 1) {
        if (c === 0x5d) {
          if (expectElement && index > 0) fail(line, "a comma before ]");
          state = 3;
        } else if (c === 0x2c) {
          if (expectElement) fail(line, "a comma without an element before it");
          expectElement = true;
        } else {
          if (!expectElement) fail(line, "expected , or ] after an element");
          state = 2;
          elementLine = line;
          start = i;
          depth = c === 0x7b || c === 0x5b ? 1 : 0;
          inString = c === 0x22;
          escaped = false;
        }
      } else fail(line, "text after the closing ]");
    }
    if (state === 2) parts.push(chunk.slice(start));
  }
  if (state !== 3) fail(line, "the array is not closed (a truncated download?)");
}

async function* jsonArrayRecords(file: string): AsyncGenerator<SourceItem> {
  const chunks = createReadStream(file, { encoding: "utf8", highWaterMark: 1 << 20 });
  for await (const element of jsonArrayElements(file, chunks as AsyncIterable<string>))
    yield { where: `line ${element.line} (record ${element.index})`, ...jsonObject(element.text) };
}

/** An array ("[" first) or NDJSON ("{" first), told apart by the file's first character. */
async function jsonShape(file: string): Promise<"array" | "ndjson"> {
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.alloc(4096);
    for (let position = 0; ;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) throw new FmcsaImportError(`${file}: not an FMCSA census file: it is empty`);
      const text = buffer
        .subarray(0, bytesRead)
        .toString("utf8")
        .replace(/^\uFEFF/, "");
      const first = /\S/.exec(text)?.[0];
      if (first === "[") return "array";
      if (first === "{") return "ndjson";
      if (first !== undefined)
        throw new FmcsaImportError(`${file}: not census JSON: expected an array of records or one record per line`);
      position += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

async function* censusItems(file: string, format: FmcsaFormat): AsyncGenerator<SourceItem> {
  if (format === "csv") yield* csvRecords(file);
  else if ((await jsonShape(file)) === "array") yield* jsonArrayRecords(file);
  else yield* ndjsonRecords(file);
}

// ---------------------------------------------------------------------------------------------
// Writing

interface PreparedRow {
  carrier: FmcsaCarrierRecord;
  email: CensusEmail | null;
  fields: string;
  deficiencies: string;
}

const CARRIER_COLUMNS: readonly [keyof FmcsaCarrierRecord, string, string][] = [
  ["usdotNumber", "usdot_number", "text"],
  ["legalName", "legal_name", "text"],
  ["dbaName", "dba_name", "text"],
  ["carrierOperation", "carrier_operation", "text"],
  ["hazmatFlag", "hm_flag", "boolean"],
  ["passengerFlag", "pc_flag", "boolean"],
  ["phyStreet", "phy_street", "text"],
  ["phyCity", "phy_city", "text"],
  ["phyState", "phy_state", "text"],
  ["phyZip", "phy_zip", "text"],
  ["phyCountry", "phy_country", "text"],
  ["mailingStreet", "mailing_street", "text"],
  ["mailingCity", "mailing_city", "text"],
  ["mailingState", "mailing_state", "text"],
  ["mailingZip", "mailing_zip", "text"],
  ["mailingCountry", "mailing_country", "text"],
  ["telephone", "telephone", "text"],
  ["fax", "fax", "text"],
  ["emailAddress", "email_address", "text"],
  ["mcs150Date", "mcs150_date", "date"],
  ["mcs150Mileage", "mcs150_mileage", "bigint"],
  ["mcs150MileageYear", "mcs150_mileage_year", "integer"],
  ["addDate", "add_date", "date"],
  ["oicState", "oic_state", "text"],
  ["powerUnits", "nbr_power_unit", "integer"],
  ["drivers", "driver_total", "integer"],
];

const sourceUpdatedParam = `$${CARRIER_COLUMNS.length + 1}::timestamptz`;
const UPSERT_CARRIERS = `
  with written as (
    insert into fmcsa_carriers (${CARRIER_COLUMNS.map(([, c]) => c).join(", ")}, source_updated_at)
    select u.*, ${sourceUpdatedParam}
    from unnest(${CARRIER_COLUMNS.map(([, , t], i) => `$${i + 1}::${t}[]`).join(", ")}) as u
    on conflict (usdot_number) do update set
      ${CARRIER_COLUMNS.slice(1)
        .map(([, c]) => `${c} = excluded.${c}`)
        .join(", ")},
      source_updated_at = excluded.source_updated_at,
      imported_at = now()
    -- xmax is 0 on a freshly inserted row version, the updating transaction's id otherwise.
    returning (xmax = 0) as inserted
  )
  select count(*) filter (where inserted)::int as inserted, count(*) filter (where not inserted)::int as updated
  from written`;

// Only the public-data columns: flags, excluded_by, last_sent_at and send_count are people's and
// the sender's, never the file's. A prospect whose data did not change is not written at all.
const UPSERT_PROSPECTS = `
  with written as (
    insert into prospects (source, source_key, email, domain, fields, deficiencies)
    select 'fmcsa', u.key, u.email, u.domain, u.fields::jsonb, coalesce(string_to_array(nullif(u.deficiencies, ''), ','), '{}')
    from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) as u(key, email, domain, fields, deficiencies)
    on conflict (source, source_key) do update set
      email = excluded.email, domain = excluded.domain, fields = excluded.fields,
      deficiencies = excluded.deficiencies, updated_at = now()
    where (prospects.email, prospects.domain, prospects.fields, prospects.deficiencies)
      is distinct from (excluded.email, excluded.domain, excluded.fields, excluded.deficiencies)
    returning (xmax = 0) as inserted
  )
  select count(*) filter (where inserted)::int as inserted, count(*) filter (where not inserted)::int as updated
  from written`;

// An address's verification result and bounce history are never reset by an import.
const INSERT_ADDRESSES = `
  insert into email_addresses (address, domain)
  select * from unnest($1::text[], $2::text[])
  on conflict (address) do nothing`;

const INSERT_DOMAINS = `
  insert into mail_domains (domain)
  select * from unnest($1::text[])
  on conflict (domain) do nothing`;

async function writeBatch(
  client: pg.Client,
  rows: readonly PreparedRow[],
  sourceUpdatedAt: Date,
  summary: FmcsaImportSummary,
): Promise<void> {
  const carrierParams: unknown[] = CARRIER_COLUMNS.map(([key]) => rows.map((r) => r.carrier[key]));
  const carriers = await client.query<{ inserted: number; updated: number }>(UPSERT_CARRIERS, [
    ...carrierParams,
    sourceUpdatedAt,
  ]);
  summary.carriersInserted += carriers.rows[0]!.inserted;
  summary.carriersUpdated += carriers.rows[0]!.updated;

  const mailable = rows.filter((r): r is PreparedRow & { email: CensusEmail } => r.email !== null);
  if (mailable.length === 0) return;
  const addresses = new Map(mailable.map((r) => [r.email.address, r.email.domain]));
  await client.query(INSERT_ADDRESSES, [[...addresses.keys()], [...addresses.values()]]);
  await client.query(INSERT_DOMAINS, [[...new Set(addresses.values())]]);
  const prospects = await client.query<{ inserted: number; updated: number }>(UPSERT_PROSPECTS, [
    mailable.map((r) => r.carrier.usdotNumber),
    mailable.map((r) => r.email.address),
    mailable.map((r) => r.email.domain),
    mailable.map((r) => r.fields),
    mailable.map((r) => r.deficiencies),
  ]);
  summary.prospectsInserted += prospects.rows[0]!.inserted;
  summary.prospectsUpdated += prospects.rows[0]!.updated;
  summary.prospectsUnchanged += mailable.length - prospects.rows[0]!.inserted - prospects.rows[0]!.updated;
}

export async function importFmcsa(options: FmcsaImportOptions): Promise<FmcsaImportSummary> {
  const started = performance.now();
  let url: string;
  try {
    url = databaseUrl(options.env);
  } catch (error) {
    if (error instanceof DatabaseUrlError) throw new FmcsaImportError(error.message);
    throw error;
  }
  const info = await stat(options.file);
  if (!info.isFile()) throw new FmcsaImportError(`${options.file} is not a file`);
  const format = options.format ?? formatFromName(options.file);
  const today = options.today ?? new Date();
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  const summary: FmcsaImportSummary = {
    file: options.file,
    format,
    rows: 0,
    skipped: 0,
    duplicates: 0,
    carriersUpserted: 0,
    carriersInserted: 0,
    carriersUpdated: 0,
    prospectsInserted: 0,
    prospectsUpdated: 0,
    prospectsUnchanged: 0,
    noEmail: 0,
    badEmail: 0,
    ms: 0,
  };

  const client = new pg.Client({ connectionString: url });
  // A socket error between queries must not crash the command; the next query reports it.
  client.on("error", () => {});
  await client.connect();
  try {
    await client.query("begin");
    // One batch is written while the next is read; a write that fails fails the import.
    let inFlight: Promise<void> = Promise.resolve();
    let batch = new Map<string, PreparedRow>();
    const flush = async () => {
      await inFlight;
      const rows = [...batch.values()];
      batch = new Map();
      inFlight = writeBatch(client, rows, info.mtime, summary);
      inFlight.catch(() => {});
    };
    for await (const item of censusItems(options.file, format)) {
      summary.rows++;
      if ("invalid" in item) {
        summary.skipped++;
        options.log(`${item.where}: ${item.invalid}`);
        continue;
      }
      const parsed = parseCensusRow(item.record);
      if (!parsed.ok) {
        summary.skipped++;
        options.log(`${item.where}: ${parsed.reasons.join("; ")}`);
        continue;
      }
      const { carrier, email, emailProblem } = parsed;
      if (emailProblem !== null) {
        summary.badEmail++;
        options.log(`${item.where}: loaded without a prospect: ${emailProblem}`);
      } else if (email === null) summary.noEmail++;
      // One statement cannot update a row twice: a USDOT number repeated within a batch keeps
      // its last record (as a later batch would overwrite an earlier one).
      if (batch.has(carrier.usdotNumber)) summary.duplicates++;
      batch.set(carrier.usdotNumber, {
        carrier,
        email,
        fields: JSON.stringify(prospectFields(carrier)),
        deficiencies: computeDeficiencies(carrier, today).join(","),
      });
      if (batch.size >= batchRows) await flush();
    }
    if (batch.size > 0) await flush();
    await inFlight;
    await client.query("commit");
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
  summary.carriersUpserted = summary.carriersInserted + summary.carriersUpdated;
  summary.ms = Math.round(performance.now() - started);
  return summary;
}
