import { sql } from "drizzle-orm";
import type { Db } from "./client";

/**
 * Human order numbers: `CO-2026-000123` (order), `CG-2026-000124` (government-fee child order),
 * `CK-2026-000045` (a checkout paying several orders). The digits come from Postgres sequences,
 * so two checkouts can never get the same number; the year is the year of creation.
 */
export type NumberPrefix = "CO" | "CG" | "CK";

export async function nextNumber(db: Db, prefix: NumberPrefix, now = new Date()): Promise<string> {
  const sequence = prefix === "CK" ? sql`'checkout_number_seq'` : sql`'order_number_seq'`;
  const result = await db.execute<{ n: string }>(sql`select nextval(${sequence})::text as n`);
  const n = result.rows[0]?.n;
  if (!n) throw new Error("sequence returned nothing");
  return `${prefix}-${now.getUTCFullYear()}-${n.padStart(6, "0")}`;
}

export const ORDER_NUMBER = /^(CO|CG)-\d{4}-\d{6,}$/;
export const CHECKOUT_NUMBER = /^CK-\d{4}-\d{6,}$/;
