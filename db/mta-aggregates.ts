import { sql } from "drizzle-orm";
import { aggregateDeliveries, type DeliveryAggregateIncrement } from "../domain/mta-log/delivery-aggregates";
import type { PostfixDelivery } from "../domain/mta-log/postfix-log";
import type { Db } from "./client";

/**
 * MTA log deliveries → mta_daily_aggregates, idempotently per log line (DESIGN.md,
 * "Deliverability loop"). Both statements run in one interactive transaction: the line hashes
 * are recorded and the counts added together or not at all, so a failed upload can simply be
 * sent again, and a line sent twice (or by two shippers at once) is counted once.
 */

/** A delivery line and its idempotency key (aggregateKey: SHA-256 of the line). */
export interface HashedDelivery {
  hash: string;
  delivery: PostfixDelivery;
}

export interface RecordedDeliveries {
  /** Lines counted by this call. */
  counted: number;
  /** Lines already counted before, or repeated within this batch. */
  duplicates: number;
  /** What was added to the aggregates (empty when everything was a duplicate). */
  increments: DeliveryAggregateIncrement[];
}

/** Delivery agents whose lines count: the SMTP client, the only one that speaks for our reputation. */
export const COUNTED_SERVICES: readonly string[] = ["smtp"];

export async function recordMtaDeliveries(db: Db, lines: readonly HashedDelivery[]): Promise<RecordedDeliveries> {
  // One row per hash, sorted: two uploads that overlap then lock rows in the same order and
  // wait for each other instead of deadlocking.
  const byHash = new Map<string, PostfixDelivery>();
  for (const { hash, delivery } of lines) if (!byHash.has(hash)) byHash.set(hash, delivery);
  const hashes = [...byHash.keys()].sort();
  if (hashes.length === 0) return { counted: 0, duplicates: lines.length, increments: [] };
  const days = hashes.map((h) => byHash.get(h)!.at.toISOString().slice(0, 10));

  return db.transaction(async (tx) => {
    // Set-based: the whole batch is two array parameters (unnest), whatever its size, so no
    // statement per line and no 65,535-parameter limit. RETURNING names only the new lines.
    const inserted = await tx.execute<{ line_hash: string }>(sql`
      insert into mta_log_lines (line_hash, day)
      select * from unnest(${sql.param(hashes)}::text[], ${sql.param(days)}::date[])
      on conflict (line_hash) do nothing
      returning line_hash`);
    const fresh = inserted.rows.map((r) => byHash.get(r.line_hash)!);
    const increments = aggregateDeliveries(fresh, { services: COUNTED_SERVICES });
    if (increments.length > 0) {
      // aggregateDeliveries sorts its buckets by key: the same lock order for every upload.
      const col = <K extends keyof DeliveryAggregateIncrement>(k: K) => sql.param(increments.map((i) => i[k]));
      await tx.execute(sql`
        insert into mta_daily_aggregates (day, sending_ip, operator, outcome, reason_code, count)
        select * from unnest(${col("day")}::date[], ${col("sendingIp")}::text[], ${col("operator")}::text[],
                             ${col("outcome")}::text[], ${col("reasonCode")}::text[], ${col("count")}::int[])
        on conflict (day, sending_ip, operator, outcome, reason_code)
        do update set count = mta_daily_aggregates.count + excluded.count, updated_at = now()`);
    }
    return { counted: fresh.length, duplicates: lines.length - fresh.length, increments };
  });
}
