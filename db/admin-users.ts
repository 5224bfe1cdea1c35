import { eq, sql } from "drizzle-orm";
import type { Db } from "./client";
import { adminUsers } from "./schema";
import { adminLoginAttempts } from "./schema/admin-login-attempts";

export type AdminUserRow = typeof adminUsers.$inferSelect;

/** Admin addresses are stored and looked up lower-cased. */
export function normalizeAdminEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function findAdminByEmail(db: Db, email: string): Promise<AdminUserRow | undefined> {
  const [row] = await db
    .select()
    .from(adminUsers)
    .where(eq(adminUsers.email, normalizeAdminEmail(email)));
  return row;
}

export async function findAdminById(db: Db, id: number): Promise<Pick<AdminUserRow, "id" | "email"> | undefined> {
  const [row] = await db
    .select({ id: adminUsers.id, email: adminUsers.email })
    .from(adminUsers)
    .where(eq(adminUsers.id, id));
  return row;
}

export async function replaceAdminPasswordHash(db: Db, id: number, passwordHash: string): Promise<void> {
  await db.update(adminUsers).set({ passwordHash }).where(eq(adminUsers.id, id));
}

export interface LoginAttempt {
  /** Attempts in the current window, this one included. */
  attempts: number;
  /** Seconds until the window ends (at least 1). */
  retryAfterSeconds: number;
}

/**
 * Counts one sign-in attempt for `email` in one statement (so concurrent attempts each get
 * their own number) and answers the count in the current window. A window older than
 * `windowSeconds` starts over at 1.
 */
export async function countLoginAttempt(db: Db, email: string, windowSeconds: number): Promise<LoginAttempt> {
  const t = adminLoginAttempts;
  const expired = sql`${t.windowStartedAt} <= now() - make_interval(secs => ${windowSeconds})`;
  const [row] = await db
    .insert(t)
    .values({ email: normalizeAdminEmail(email), attempts: 1 })
    .onConflictDoUpdate({
      target: t.email,
      set: {
        attempts: sql`case when ${expired} then 1 else ${t.attempts} + 1 end`,
        windowStartedAt: sql`case when ${expired} then now() else ${t.windowStartedAt} end`,
      },
    })
    .returning({
      attempts: t.attempts,
      retryAfterSeconds: sql<number>`greatest(1, ceil(extract(epoch from ${t.windowStartedAt} + make_interval(secs => ${windowSeconds}) - now())))::int`,
    });
  if (!row) throw new Error("login attempt was not counted");
  return row;
}

/** A successful sign-in forgets the address's earlier attempts. */
export async function clearLoginAttempts(db: Db, email: string): Promise<void> {
  await db.delete(adminLoginAttempts).where(eq(adminLoginAttempts.email, normalizeAdminEmail(email)));
}
