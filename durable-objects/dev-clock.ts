/**
 * The development-only clock offset a Durable Object keeps in its SQLite storage
 * (DEV_CLOCK_CONTROL): tests and benchmarks move an object's clock to fire its alarms' work
 * without waiting. One row; real time plus the offset is the object's "now".
 */

export const CLOCK_TABLE =
  "create table if not exists clock (id integer primary key check (id = 1), offset_ms integer not null)";

/** The stored offset in milliseconds (0 when the clock was never moved). */
export function readClockOffset(sql: SqlStorage): number {
  const row = sql.exec<{ offset_ms: number }>("select offset_ms from clock where id = 1").toArray()[0];
  return row?.offset_ms ?? 0;
}

/** Stores the offset that makes the clock read `at`; throws on a value that is not a time. */
export function writeClockOffset(sql: SqlStorage, at: string): number {
  const offset = new Date(at).getTime() - Date.now();
  if (!Number.isFinite(offset)) throw new Error(`not a time: ${at}`);
  sql.exec(
    "insert into clock (id, offset_ms) values (1, ?) on conflict (id) do update set offset_ms = excluded.offset_ms",
    offset,
  );
  return offset;
}
