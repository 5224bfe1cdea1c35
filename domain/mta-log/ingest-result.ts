/** What `POST /ingest/mta-log` answers for one body, and what the shipper sums over its chunks. */
export interface MtaLogIngestResult {
  lines: number;
  deliveries: number;
  counted: number;
  duplicates: number;
  ignored: number;
  malformed: number;
  /** The first malformed lines, numbered from 1. */
  errors: { line: number; error: string }[];
}

/** Malformed lines listed in one answer; the count in `malformed` covers the rest. */
export const MAX_REPORTED_ERRORS = 20;
