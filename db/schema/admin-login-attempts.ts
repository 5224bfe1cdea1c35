import { integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Admin sign-in attempts per e-mail address, for the login throttle of POST /api/admin/login.
 * Keyed by the address as typed (lower-cased), whether or not an admin has it, so a lockout
 * looks the same for an unknown address and a real one. An attempt is counted before the
 * password is checked (concurrent guesses cannot slip past the limit); a successful sign-in
 * deletes the row. The window is fixed from the first attempt in it.
 */
export const adminLoginAttempts = pgTable("admin_login_attempts", {
  email: text("email").primaryKey(),
  attempts: integer("attempts").notNull().default(0),
  windowStartedAt: timestamp("window_started_at", { withTimezone: true }).notNull().defaultNow(),
});
