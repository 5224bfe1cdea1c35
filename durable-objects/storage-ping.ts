export interface PingResult {
  ok: true;
  object: string;
  id: string;
  /** How many times this object has been pinged, read back from its own SQLite storage. */
  pings: number;
}

/**
 * The health check's RPC answer: a real write and read of the object's SQLite storage, so a
 * green check means the object runs and its storage answers.
 */
export function storagePing(ctx: DurableObjectState, object: string): PingResult {
  const sql = ctx.storage.sql;
  sql.exec(
    "create table if not exists health_pings (id integer primary key check (id = 1), pings integer not null, last_at text not null)",
  );
  sql.exec(
    "insert into health_pings (id, pings, last_at) values (1, 1, ?) on conflict (id) do update set pings = pings + 1, last_at = excluded.last_at",
    new Date().toISOString(),
  );
  const row = sql.exec<{ pings: number }>("select pings from health_pings where id = 1").one();
  return { ok: true, object, id: ctx.id.toString(), pings: row.pings };
}
