// `docket import leie FILE`: loads the HHS-OIG LEIE full list ("UPDATED.csv", downloaded from
// oig.hhs.gov/exclusions) into exclusion_entries, for OIG/SAM screening runs. Rows that are not
// usable exclusions are reported on stderr with their line and skipped. The whole load is one
// transaction: importing the same file again changes nothing, and entries missing from a newer
// file (the LEIE drops reinstated people) are marked removed.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { ExclusionListShrinkError, loadExclusionList } from "../../db/public-data";
import type { ExclusionEntryInput } from "../../domain/screening/exclusion-match";
import { LeieFormatError, parseLeieCsv } from "../../domain/screening/leie-csv";
import { DatabaseUrlError, databaseUrl, withCliDatabase } from "./database-url";

export interface LeieImportOptions {
  file: string;
  env: NodeJS.ProcessEnv;
  /** YYYY-MM-DD the list was current on; the file's modification date when not given. */
  asOf?: string;
  /** Load even when the file lists less than half of what is listed now. */
  allowShrink?: boolean;
  /** One line per skipped row (stderr in the CLI). */
  log: (line: string) => void;
}

export interface LeieImportSummary {
  file: string;
  source: "oig_leie";
  dataAsOf: string;
  /** Data rows read (the header not counted). */
  rows: number;
  invalid: number;
  /** Distinct entries loaded. */
  entries: number;
  duplicates: number;
  inserted: number;
  updated: number;
  removed: number;
}

/** The import cannot be done; nothing was changed. */
export class LeieImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LeieImportError";
  }
}

export function validAsOf(raw: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
  if (!m || new Date(`${raw}T00:00:00Z`).toISOString().slice(0, 10) !== raw)
    throw new LeieImportError(`--as-of needs a date YYYY-MM-DD, got ${raw}`);
  return raw;
}

export async function importLeie(options: LeieImportOptions): Promise<LeieImportSummary> {
  // Checked before reading a large file, not after.
  try {
    databaseUrl(options.env);
  } catch (error) {
    if (error instanceof DatabaseUrlError) throw new LeieImportError(error.message);
    throw error;
  }
  const info = await stat(options.file);
  if (!info.isFile()) throw new LeieImportError(`${options.file} is not a file`);
  const dataAsOf = options.asOf !== undefined ? validAsOf(options.asOf) : info.mtime.toISOString().slice(0, 10);

  const entries: ExclusionEntryInput[] = [];
  let invalid = 0;
  try {
    const input = Readable.toWeb(createReadStream(options.file)) as ReadableStream<Uint8Array>;
    for await (const item of parseLeieCsv(input)) {
      if (item.kind === "entry") entries.push(item.entry);
      else {
        invalid++;
        options.log(`${options.file}:${item.line}: skipped: ${item.reason}`);
      }
    }
  } catch (error) {
    if (error instanceof LeieFormatError) throw new LeieImportError(`${options.file}: ${error.message}`);
    throw error;
  }
  if (entries.length === 0)
    throw new LeieImportError(`${options.file}: no usable LEIE rows (${invalid} skipped); nothing was loaded`);

  try {
    const load = await withCliDatabase(options.env, (db) =>
      loadExclusionList(db, {
        source: "oig_leie",
        entries,
        dataAsOf,
        ...(options.allowShrink ? { allowShrink: true } : {}),
      }),
    );
    return {
      file: options.file,
      source: "oig_leie",
      dataAsOf,
      rows: entries.length + invalid,
      invalid,
      entries: load.dataset.entries,
      duplicates: load.duplicates,
      inserted: load.inserted,
      updated: load.updated,
      removed: load.removed,
    };
  } catch (error) {
    if (error instanceof ExclusionListShrinkError)
      throw new LeieImportError(`${error.message}; pass --allow-shrink if the file is complete`);
    throw error;
  }
}
