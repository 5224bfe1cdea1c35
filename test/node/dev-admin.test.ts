import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parsePasswordHash, PBKDF2_ITERATIONS, verifyPassword } from "../../domain/auth/password-hash";
import { DEV_ADMIN_EMAIL, ensureDevAdmin } from "../../scripts/lib/dev-admin";
import { applyMigrations } from "../../scripts/lib/migrations";

/**
 * `npm start`'s development admin, in Node against the test run's real Postgres (a database of
 * its own, migrated here): created once, left alone, updated when the password changes, and
 * hashed exactly as the Worker checks it.
 */

const database = `docket_dev_admin_${randomBytes(4).toString("hex")}`;
let url = "";

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: inject("pg").adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function storedHash(email: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ password_hash: string }>(
      "select password_hash from admin_users where email = $1",
      [email],
    );
    return result.rows[0]!.password_hash;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await admin(`create database ${database}`);
  const adminUrl = new URL(inject("pg").adminUrl);
  adminUrl.pathname = `/${database}`;
  url = adminUrl.toString();
  await applyMigrations(url);
});

afterAll(async () => {
  await admin(`drop database if exists ${database} with (force)`);
});

describe("ensureDevAdmin", () => {
  it("creates the admin once, then leaves it alone", async () => {
    const first = await ensureDevAdmin(url, "Admin@Docket.Localhost", "first-password-0123");
    expect(first).toMatchObject({ email: DEV_ADMIN_EMAIL, outcome: "created" });
    const hash = await storedHash(DEV_ADMIN_EMAIL);
    expect(parsePasswordHash(hash).iterations).toBe(PBKDF2_ITERATIONS);
    expect((await verifyPassword("first-password-0123", hash)).ok).toBe(true);

    const second = await ensureDevAdmin(url, DEV_ADMIN_EMAIL, "first-password-0123");
    expect(second).toEqual({ id: first.id, email: DEV_ADMIN_EMAIL, outcome: "unchanged" });
    expect(await storedHash(DEV_ADMIN_EMAIL)).toBe(hash);
  });

  it("replaces the hash when the password changes", async () => {
    const changed = await ensureDevAdmin(url, DEV_ADMIN_EMAIL, "second-password-4567");
    expect(changed.outcome).toBe("password updated");
    const hash = await storedHash(DEV_ADMIN_EMAIL);
    expect((await verifyPassword("second-password-4567", hash)).ok).toBe(true);
    expect((await verifyPassword("first-password-0123", hash)).ok).toBe(false);
  });

  it("refuses an address or password that cannot sign in", async () => {
    await expect(ensureDevAdmin(url, "not an address", "x")).rejects.toThrow(/ADMIN_EMAIL/);
    await expect(ensureDevAdmin(url, DEV_ADMIN_EMAIL, "")).rejects.toThrow(/ADMIN_PASSWORD/);
  });
});
