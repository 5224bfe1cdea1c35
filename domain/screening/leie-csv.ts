import { parse } from "csv-parse/stream";
import type { CsvError, Info } from "csv-parse";
import type { ExclusionEntryInput } from "./exclusion-match";

/**
 * The HHS-OIG List of Excluded Individuals/Entities as published: the full current list,
 * "UPDATED.csv" (oig.hhs.gov/exclusions/exclusions_list.asp), one exclusion per row. Dates are
 * YYYYMMDD with 00000000 for none; an NPI of zeros or nothing means none. The file has no record
 * id, so a row is identified by a hash of the fields that say who was excluded, and when.
 *
 * Parsed as a stream with csv-parse (RFC 4180 quoting); a row that is not a usable exclusion is
 * reported with its line number and skipped, the rest of the file still loads. Broken quoting
 * refuses the whole file (LeieFormatError).
 */

export const LEIE_COLUMNS = [
  "LASTNAME",
  "FIRSTNAME",
  "MIDNAME",
  "BUSNAME",
  "GENERAL",
  "SPECIALTY",
  "UPIN",
  "NPI",
  "DOB",
  "ADDRESS",
  "CITY",
  "STATE",
  "ZIP",
  "EXCLTYPE",
  "EXCLDATE",
  "REINDATE",
  "WAIVERDATE",
  "WVRSTATE",
] as const;
export type LeieColumn = (typeof LEIE_COLUMNS)[number];
export type LeieRecord = Readonly<Record<LeieColumn, string>>;

/** A row read: an exclusion, or why the row at `line` (where it ends in the file) was skipped. */
export type LeieItem =
  { kind: "entry"; line: number; entry: ExclusionEntryInput } | { kind: "invalid"; line: number; reason: string };

/** The file as a whole is not an LEIE list (nothing of it can be loaded). */
export class LeieFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LeieFormatError";
  }
}

/** One row is not a usable exclusion; the message says why. */
export class LeieRowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LeieRowError";
  }
}

const blank = (s: string) => s.trim() === "";
const orNull = (s: string) => (blank(s) ? null : s.trim());

/** YYYYMMDD → YYYY-MM-DD; 00000000 or nothing → null; anything else is an invalid row. */
function leieDate(column: LeieColumn, raw: string): string | null {
  const s = raw.trim();
  if (s === "" || /^0{8}$/.test(s)) return null;
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (m) {
    const [, y, mo, d] = m as unknown as [string, string, string, string];
    const at = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
    // Date.UTC rolls 20230231 over into March: a real date survives the round trip.
    if (Number(y) >= 1900 && at.toISOString().slice(0, 10) === `${y}-${mo}-${d}`) return `${y}-${mo}-${d}`;
  }
  throw new LeieRowError(`${column} ${JSON.stringify(s)} is not a date (YYYYMMDD)`);
}

function leieNpi(raw: string): string | null {
  const s = raw.trim();
  if (s === "" || /^0+$/.test(s)) return null;
  if (!/^\d{10}$/.test(s)) throw new LeieRowError(`NPI ${JSON.stringify(s)} is not 10 digits`);
  return s;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The fields that say who was excluded and when; REINDATE and the waiver are not (they change the record). */
const IDENTIFYING: readonly LeieColumn[] = LEIE_COLUMNS.filter(
  (c) => c !== "REINDATE" && c !== "WAIVERDATE" && c !== "WVRSTATE",
);

/** The LEIE has no record id: the key is a SHA-256 of the identifying fields, trimmed and upper-cased. */
export async function leieNaturalKey(record: LeieRecord): Promise<string> {
  const fields = IDENTIFYING.map((c) => record[c].trim().toUpperCase().replace(/\s+/g, " "));
  // A zero NPI and an empty one both mean none: the same record either way.
  fields[IDENTIFYING.indexOf("NPI")] = leieNpiOrRaw(record.NPI);
  return `leie:${await sha256Hex(JSON.stringify(fields))}`;
}

function leieNpiOrRaw(raw: string): string {
  const s = raw.trim();
  return /^0*$/.test(s) ? "" : s;
}

/** One row of the file as an exclusion, or an error saying why it is not one. */
export async function leieEntry(record: LeieRecord): Promise<ExclusionEntryInput> {
  if (blank(record.LASTNAME) && blank(record.BUSNAME))
    throw new LeieRowError("no name: LASTNAME and BUSNAME are both empty");
  const exclusionDate = leieDate("EXCLDATE", record.EXCLDATE);
  if (exclusionDate === null) throw new LeieRowError("EXCLDATE is missing");
  return {
    naturalKey: await leieNaturalKey(record),
    lastName: orNull(record.LASTNAME),
    firstName: orNull(record.FIRSTNAME),
    middleName: orNull(record.MIDNAME),
    businessName: orNull(record.BUSNAME),
    npi: leieNpi(record.NPI),
    generalCategory: orNull(record.GENERAL),
    specialty: orNull(record.SPECIALTY),
    exclusionType: orNull(record.EXCLTYPE),
    exclusionDate,
    reinstatementDate: leieDate("REINDATE", record.REINDATE),
    waiverDate: leieDate("WAIVERDATE", record.WAIVERDATE),
    waiverState: orNull(record.WVRSTATE),
    address: orNull(record.ADDRESS),
    city: orNull(record.CITY),
    state: orNull(record.STATE)?.toUpperCase() ?? null,
    zip: orNull(record.ZIP),
  };
}

/** The header's column positions; refuses a file that lacks any LEIE column. */
function columnIndex(header: readonly string[]): Record<LeieColumn, number> {
  const names = header.map((h) => h.trim().toUpperCase());
  const missing = LEIE_COLUMNS.filter((c) => !names.includes(c));
  if (missing.length > 0)
    throw new LeieFormatError(
      `not an LEIE file: the header (line 1) lacks ${missing.join(", ")}; expected ${LEIE_COLUMNS.join(",")}`,
    );
  return Object.fromEntries(LEIE_COLUMNS.map((c) => [c, names.indexOf(c)])) as Record<LeieColumn, number>;
}

/**
 * Reads an LEIE CSV stream row by row. Yields every data row as an entry or an invalid row
 * (with the line it ends on); throws LeieFormatError when the file has no LEIE header.
 */
export async function* parseLeieCsv(input: ReadableStream<Uint8Array>): AsyncGenerator<LeieItem> {
  const parser = parse({
    bom: true,
    info: true,
    skip_empty_lines: true,
    // A row with the wrong number of fields still has clear bounds: it reaches us and is
    // reported. Broken quoting has none (the rest of the file could read as one field), so it
    // fails the whole file rather than load a silently shortened list.
    relax_column_count: true,
  });
  // csv-parse works on Buffers; a Uint8Array view is wrapped without copying.
  const bytes = input.pipeThrough(
    new TransformStream<Uint8Array, Buffer>({
      transform(chunk, controller) {
        controller.enqueue(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      },
    }),
  );
  const records = bytes.pipeThrough(parser) as ReadableStream<{ record: string[]; info: Info }>;

  let columns: Record<LeieColumn, number> | undefined;
  let width = 0;
  try {
    for await (const { record, info } of records) {
      const line = info.lines;
      if (!columns) {
        columns = columnIndex(record);
        width = record.length;
        continue;
      }
      if (record.length !== width) {
        yield { kind: "invalid", line, reason: `has ${record.length} fields, the header has ${width}` };
        continue;
      }
      const index = columns;
      const fields = Object.fromEntries(LEIE_COLUMNS.map((c) => [c, record[index[c]] ?? ""])) as LeieRecord;
      try {
        yield { kind: "entry", line, entry: await leieEntry(fields) };
      } catch (error) {
        if (!(error instanceof LeieRowError)) throw error;
        yield { kind: "invalid", line, reason: error.message };
      }
    }
  } catch (error) {
    if (isCsvError(error)) throw new LeieFormatError(`malformed CSV at line ${error.lines}: ${error.message}`);
    throw error;
  }
  if (!columns) throw new LeieFormatError("not an LEIE file: it is empty");
}

function isCsvError(error: unknown): error is CsvError {
  return (
    error instanceof Error &&
    typeof (error as { code?: unknown }).code === "string" &&
    (error as CsvError).code.startsWith("CSV_")
  );
}
