import { and, count, desc, eq, getTableColumns, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import type { AnyPgColumn, PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { CensusCarrier } from "../domain/enrichment/fmcsa-census";
import {
  businessNameKey,
  isoDay,
  lastNameKey,
  type ExclusionEntry,
  type ExclusionEntryInput,
  type ExclusionSource,
} from "../domain/screening/exclusion-match";
import type * as schema from "./schema/index";
import { exclusionDatasets as datasetsTable, exclusionEntries, fmcsaCarriers } from "./schema/public-data";

/**
 * Reads and writes of public data: the FMCSA census (enrichment) and the exclusion lists
 * (screening). The Worker calls these with its Neon handle, the `docket import` commands with a
 * node-postgres one: both are drizzle Postgres databases over the same schema.
 */
export type PublicDataDb = PgDatabase<PgQueryResultHKT, typeof schema>;

// ---------------------------------------------------------------------------------------------
// FMCSA census

type CarrierRow = typeof fmcsaCarriers.$inferSelect;

function carrierFromRow(row: CarrierRow): CensusCarrier {
  return {
    usdotNumber: row.usdotNumber,
    legalName: row.legalName,
    dbaName: row.dbaName,
    carrierOperation: row.carrierOperation,
    physicalAddress: {
      street: row.phyStreet,
      city: row.phyCity,
      state: row.phyState,
      zip: row.phyZip,
      country: row.phyCountry,
    },
    mailingAddress: {
      street: row.mailingStreet,
      city: row.mailingCity,
      state: row.mailingState,
      zip: row.mailingZip,
      country: row.mailingCountry,
    },
    telephone: row.telephone,
    fax: row.fax,
    email: row.emailAddress,
    mcs150Date: row.mcs150Date,
    mcs150Mileage: row.mcs150Mileage,
    mcs150MileageYear: row.mcs150MileageYear,
    addDate: row.addDate,
    oicState: row.oicState,
    powerUnits: row.powerUnits,
    drivers: row.drivers,
    sourceUpdatedAt: row.sourceUpdatedAt,
  };
}

/** The census row of a USDOT number ("0123" and " 123 " are not numbers FMCSA issues: none). */
export async function findCarrier(db: PublicDataDb, usdotNumber: string): Promise<CensusCarrier | undefined> {
  const digits = usdotNumber.trim();
  if (!/^[1-9]\d{0,7}$/.test(digits)) return undefined;
  const [row] = await db.select().from(fmcsaCarriers).where(eq(fmcsaCarriers.usdotNumber, digits));
  return row ? carrierFromRow(row) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Exclusion lists

type EntryRow = typeof exclusionEntries.$inferSelect;

function entryFromRow(row: EntryRow): ExclusionEntry {
  return {
    id: row.id,
    source: row.source,
    naturalKey: row.naturalKey,
    lastName: row.lastName,
    firstName: row.firstName,
    middleName: row.middleName,
    businessName: row.businessName,
    npi: row.npi,
    generalCategory: row.generalCategory,
    specialty: row.specialty,
    exclusionType: row.exclusionType,
    exclusionDate: row.exclusionDate,
    reinstatementDate: row.reinstatementDate,
    waiverDate: row.waiverDate,
    waiverState: row.waiverState,
    address: row.address,
    city: row.city,
    state: row.state,
    zip: row.zip,
  };
}

/** Rows per INSERT: 24 columns each keeps a statement well under Postgres's 65,535 parameters. */
const UPSERT_CHUNK = 1_000;

// Every column an import writes is replaced on conflict: all but the identity and the first load.
const KEPT_ON_CONFLICT = new Set(["id", "source", "naturalKey", "loadedAt"]);
const UPSERT_SET = Object.fromEntries(
  Object.entries(getTableColumns(exclusionEntries))
    .filter(([property]) => !KEPT_ON_CONFLICT.has(property))
    .map(([property, column]) => [property, sql.raw(`excluded."${column.name}"`)]),
);

export interface UpsertSummary {
  inserted: number;
  updated: number;
  /** Rows that repeated a natural key already in this batch (the last one was kept). */
  duplicates: number;
}

/**
 * Inserts or updates exclusion records by (source, natural key), one statement per chunk.
 * Loading the same rows again changes nothing but `last_seen_at`; a record listed again after
 * it was removed is live again.
 */
export async function upsertExclusionEntries(
  db: PublicDataDb,
  source: ExclusionSource,
  rows: readonly ExclusionEntryInput[],
  seenAt: Date = new Date(),
): Promise<UpsertSummary> {
  const byKey = new Map<string, ExclusionEntryInput>();
  for (const row of rows) byKey.set(row.naturalKey, row);
  const unique = [...byKey.values()];
  const summary: UpsertSummary = { inserted: 0, updated: 0, duplicates: rows.length - unique.length };
  for (let i = 0; i < unique.length; i += UPSERT_CHUNK) {
    const values = unique.slice(i, i + UPSERT_CHUNK).map((row) => ({
      ...row,
      source,
      lastNameKey: lastNameKey(row.lastName),
      businessNameKey: businessNameKey(row.businessName),
      lastSeenAt: seenAt,
      removedAt: null,
    }));
    const written = await db
      .insert(exclusionEntries)
      .values(values)
      .onConflictDoUpdate({ target: [exclusionEntries.source, exclusionEntries.naturalKey], set: UPSERT_SET })
      // xmax is 0 on a freshly inserted row version, the updating transaction's id otherwise.
      .returning({ inserted: sql<boolean>`(xmax = 0)` });
    for (const w of written) {
      if (w.inserted) summary.inserted++;
      else summary.updated++;
    }
  }
  return summary;
}

/** Marks removed every live record of `source` that no import listed since `listedSince`. */
export async function removeUnlistedExclusionEntries(
  db: PublicDataDb,
  source: ExclusionSource,
  listedSince: Date,
  at: Date = new Date(),
): Promise<number> {
  const removed = await db
    .update(exclusionEntries)
    .set({ removedAt: at })
    .where(
      and(
        eq(exclusionEntries.source, source),
        isNull(exclusionEntries.removedAt),
        lt(exclusionEntries.lastSeenAt, listedSince),
      ),
    )
    .returning({ id: exclusionEntries.id });
  return removed.length;
}

/** Records of `source` not removed by a later import. */
export async function countListedExclusionEntries(db: PublicDataDb, source: ExclusionSource): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(exclusionEntries)
    .where(and(eq(exclusionEntries.source, source), isNull(exclusionEntries.removedAt)));
  return row?.n ?? 0;
}

export interface ExclusionDataset {
  source: ExclusionSource;
  /** YYYY-MM-DD. */
  dataAsOf: string;
  entries: number;
  loadedAt: Date;
}

export async function recordExclusionDataset(
  db: PublicDataDb,
  dataset: { source: ExclusionSource; dataAsOf: string; entries: number; loadedAt?: Date },
): Promise<ExclusionDataset> {
  const [row] = await db
    .insert(datasetsTable)
    .values({
      source: dataset.source,
      dataAsOf: dataset.dataAsOf,
      entries: dataset.entries,
      ...(dataset.loadedAt ? { loadedAt: dataset.loadedAt } : {}),
    })
    .returning();
  if (!row) throw new Error("exclusion dataset insert returned no row");
  return { source: row.source, dataAsOf: row.dataAsOf, entries: row.entries, loadedAt: row.loadedAt };
}

/** The latest load of each source (none for a source never loaded). */
export async function exclusionDatasets(db: PublicDataDb): Promise<ExclusionDataset[]> {
  const rows = await db
    .selectDistinctOn([datasetsTable.source], {
      source: datasetsTable.source,
      dataAsOf: datasetsTable.dataAsOf,
      entries: datasetsTable.entries,
      loadedAt: datasetsTable.loadedAt,
    })
    .from(datasetsTable)
    .orderBy(datasetsTable.source, desc(datasetsTable.loadedAt), desc(datasetsTable.id));
  return rows;
}

export class ExclusionListShrinkError extends Error {
  constructor(
    readonly source: ExclusionSource,
    readonly listed: number,
    readonly loading: number,
  ) {
    super(
      `${source}: the file has ${loading} entries but ${listed} are listed now; a full list that shrinks by more than half is more likely truncated than real (nothing was changed)`,
    );
    this.name = "ExclusionListShrinkError";
  }
}

export interface ExclusionListLoad extends UpsertSummary {
  dataset: ExclusionDataset;
  removed: number;
}

/**
 * Loads a full list in one transaction: upserts its records, removes the ones it no longer
 * lists (the LEIE drops reinstated people from UPDATED.csv) and records the dataset. A list
 * less than half the size of what is listed now is refused unless `allowShrink`: a truncated
 * download would otherwise clear real exclusions.
 */
export async function loadExclusionList(
  db: PublicDataDb,
  load: {
    source: ExclusionSource;
    entries: readonly ExclusionEntryInput[];
    dataAsOf: string;
    at?: Date;
    allowShrink?: boolean;
  },
): Promise<ExclusionListLoad> {
  const at = load.at ?? new Date();
  return await db.transaction(async (tx) => {
    const listed = await countListedExclusionEntries(tx, load.source);
    const loading = new Set(load.entries.map((e) => e.naturalKey)).size;
    if (!load.allowShrink && loading * 2 < listed) throw new ExclusionListShrinkError(load.source, listed, loading);
    const upserted = await upsertExclusionEntries(tx, load.source, load.entries, at);
    const removed = await removeUnlistedExclusionEntries(tx, load.source, at, at);
    const dataset = await recordExclusionDataset(tx, {
      source: load.source,
      dataAsOf: load.dataAsOf,
      entries: loading,
      loadedAt: at,
    });
    return { ...upserted, removed, dataset };
  });
}

export interface ExclusionQuerySubject {
  firstName?: string;
  lastName?: string;
  businessName?: string;
  npi?: string;
}

/**
 * Every live record that could match one of the subjects: same NPI, same normalised last name
 * or same normalised business name. One query for all subjects (arrays bound as parameters);
 * records removed from their list or reinstated on or before `on`'s day are left out. The
 * matcher (domain/screening/exclusion-match.ts) decides which candidates are matches.
 */
export async function findExclusionCandidates(
  db: PublicDataDb,
  subjects: readonly ExclusionQuerySubject[],
  on: Date = new Date(),
): Promise<ExclusionEntry[]> {
  const npis = new Set<string>();
  const lastKeys = new Set<string>();
  const businessKeys = new Set<string>();
  for (const s of subjects) {
    const npi = s.npi?.trim();
    if (npi && /^\d{10}$/.test(npi)) npis.add(npi);
    const last = lastNameKey(s.lastName);
    if (last) lastKeys.add(last);
    const business = businessNameKey(s.businessName);
    if (business) businessKeys.add(business);
  }
  const anyOf = (column: AnyPgColumn, values: Set<string>) =>
    values.size > 0 ? sql`${column} = any(${sql.param([...values])}::text[])` : undefined;
  const lookups = [
    anyOf(exclusionEntries.npi, npis),
    anyOf(exclusionEntries.lastNameKey, lastKeys),
    anyOf(exclusionEntries.businessNameKey, businessKeys),
  ].filter((c): c is SQL => c !== undefined);
  if (lookups.length === 0) return [];
  const rows = await db
    .select()
    .from(exclusionEntries)
    .where(
      and(
        isNull(exclusionEntries.removedAt),
        sql`(${exclusionEntries.reinstatementDate} is null or ${exclusionEntries.reinstatementDate} > ${isoDay(on)}::date)`,
        or(...lookups),
      ),
    )
    .orderBy(exclusionEntries.source, exclusionEntries.id);
  return rows.map(entryFromRow);
}
