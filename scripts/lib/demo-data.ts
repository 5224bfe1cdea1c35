import { getTableColumns, getTableName, sql } from "drizzle-orm";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import pg from "pg";

/**
 * Demo data for the local stack, loaded by `npm start` on every start and by `npm run
 * db:seed`. Each set of rows is upserted on the table's natural key (a unique index), so a
 * second load changes nothing and a changed demo row is updated in place. Only the columns a
 * demo row names are written on conflict: state the app added to a row (send state,
 * verification results) survives a reseed.
 *
 * Empty for now, on purpose: the schema holds only operational records the platform writes
 * about itself (cron runs, dead letters, inbound messages), and fabricated ones would mislead
 * (a demo dead letter raises the dead-letter alert; an inbound row would point at an R2
 * object that does not exist). Catalog and prospect rows join DEMO_DATA when those tables do.
 */

type Insert<T extends PgTable> = T["$inferInsert"];

export interface DemoRows {
  table: PgTable;
  /** Property names of the columns of a unique index: the rows' natural key. */
  key: readonly string[];
  rows: readonly Record<string, unknown>[];
}

/** The way to declare demo rows: the key and the rows are type-checked against the table. */
export function demoRows<T extends PgTable>(
  table: T,
  key: readonly (keyof Insert<T> & string)[],
  rows: readonly Insert<T>[],
): DemoRows {
  return { table, key, rows };
}

/** What `npm start` loads. */
export const DEMO_DATA: readonly DemoRows[] = [];

export interface SeedReport {
  /** Rows upserted per table. */
  tables: Record<string, number>;
  total: number;
}

/** Upserts one set of rows on its natural key; returns how many rows it wrote. */
export async function upsertDemoRows(db: NodePgDatabase, set: DemoRows): Promise<number> {
  if (set.rows.length === 0) return 0;
  const columns = getTableColumns(set.table) as Record<string, PgColumn>;
  const target = set.key.map((name) => {
    const column = columns[name];
    if (!column) throw new Error(`demo data for ${getTableName(set.table)}: no column ${name}`);
    return column;
  });
  // Update only what the demo rows name, never the key, never columns they leave out.
  const named = new Set(set.rows.flatMap((row) => Object.keys(row)));
  const update = Object.fromEntries(
    [...named]
      .filter((name) => !set.key.includes(name) && columns[name])
      .map((name) => [name, sql.raw(`excluded.${pg.escapeIdentifier(columns[name]!.name)}`)]),
  );
  const insert = db.insert(set.table).values(set.rows as Insert<PgTable>[]);
  const written =
    Object.keys(update).length === 0
      ? await insert.onConflictDoNothing({ target }).returning()
      : await insert.onConflictDoUpdate({ target, set: update }).returning();
  return written.length;
}

/** Loads `data` (DEMO_DATA by default) in one transaction: all of it or none. */
export async function seedDemoData(databaseUrl: string, data: readonly DemoRows[] = DEMO_DATA): Promise<SeedReport> {
  const report: SeedReport = { tables: {}, total: 0 };
  if (data.length === 0) return report;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    await drizzle({ client: pool }).transaction(async (tx) => {
      for (const set of data) {
        const count = await upsertDemoRows(tx as unknown as NodePgDatabase, set);
        const name = getTableName(set.table);
        report.tables[name] = (report.tables[name] ?? 0) + count;
        report.total += count;
      }
    });
  } finally {
    await pool.end();
  }
  return report;
}
