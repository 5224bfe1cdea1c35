import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { adminUsers } from "../../db/schema";
import { hashPassword, needsRehash, PasswordHashFormatError, verifyPassword } from "../../domain/auth/password-hash";

/**
 * The development admin of `npm start`: one admin_users row from ADMIN_EMAIL and ADMIN_PASSWORD
 * (or the local defaults), so POST /api/admin/login works on a fresh data directory. The hash is
 * made by the Worker's own domain/auth/password-hash.ts (Web Crypto is global in Node 22+), so
 * what Node stores is exactly what the Worker checks.
 */

/** RFC 6761 reserves `.localhost`: a local address that cannot reach anyone. */
export const DEV_ADMIN_EMAIL = "admin@docket.localhost";

export type DevAdminOutcome = "created" | "password updated" | "unchanged";

export interface DevAdmin {
  id: number;
  email: string;
  outcome: DevAdminOutcome;
}

/** The stored hash is this password's at today's parameters (a corrupt hash is simply replaced). */
async function matchesCurrent(password: string, stored: string): Promise<boolean> {
  try {
    return (await verifyPassword(password, stored)).ok && !needsRehash(stored);
  } catch (error) {
    if (error instanceof PasswordHashFormatError) return false;
    throw error;
  }
}

/**
 * Makes sure an admin with `email` exists and signs in with `password`. Idempotent: a second
 * run with the same values writes nothing; a changed password (ADMIN_PASSWORD edited, or the
 * local secrets file deleted) replaces the stored hash, as does a hash made with an older
 * iteration count.
 */
export async function ensureDevAdmin(databaseUrl: string, email: string, password: string): Promise<DevAdmin> {
  const address = email.trim().toLowerCase();
  if (!/^[^@\s]+@[^@\s]+$/.test(address))
    throw new Error(`ADMIN_EMAIL ${JSON.stringify(email)} is not an e-mail address`);
  if (password === "") throw new Error("ADMIN_PASSWORD is empty");
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const db = drizzle({ client: pool });
    const [inserted] = await db
      .insert(adminUsers)
      .values({ email: address, passwordHash: await hashPassword(password) })
      .onConflictDoNothing({ target: adminUsers.email })
      .returning({ id: adminUsers.id });
    if (inserted) return { id: inserted.id, email: address, outcome: "created" };

    const [row] = await db.select().from(adminUsers).where(eq(adminUsers.email, address));
    if (!row) throw new Error(`admin ${address} vanished while being ensured`);
    if (await matchesCurrent(password, row.passwordHash)) return { id: row.id, email: address, outcome: "unchanged" };
    await db
      .update(adminUsers)
      .set({ passwordHash: await hashPassword(password) })
      .where(eq(adminUsers.id, row.id));
    return { id: row.id, email: address, outcome: "password updated" };
  } finally {
    await pool.end();
  }
}
