import { sql } from "drizzle-orm";
import type { Db } from "./client";
import { customers } from "./schema";

export type CustomerRow = typeof customers.$inferSelect;

/**
 * The one customer record for an e-mail address (unique, lower-cased): created on first
 * purchase, its name and company filled in when a later checkout brings them.
 */
export async function ensureCustomer(
  db: Db,
  input: { email: string; name?: string | null; company?: string | null },
): Promise<CustomerRow> {
  const email = input.email.trim().toLowerCase();
  const [row] = await db
    .insert(customers)
    .values({ email, name: input.name ?? null, company: input.company ?? null })
    .onConflictDoUpdate({
      target: customers.email,
      set: {
        name: sql`coalesce(${customers.name}, excluded.name)`,
        company: sql`coalesce(${customers.company}, excluded.company)`,
      },
    })
    .returning();
  if (!row) throw new Error(`customer ${email} was not stored`);
  return row;
}
