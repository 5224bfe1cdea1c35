import { exports } from "cloudflare:workers";
import { adminUsers } from "../../db/schema";
import { hashPassword } from "../../domain/auth/password-hash";
import { withTestDb } from "./db";

/**
 * An admin API session the way an operator gets one: an admin row (hashed password) and
 * POST /api/admin/login. Returns the `Authorization` header value.
 */
export async function adminSession(
  email = "ops-session@docket.test",
  password = "correct horse battery staple",
): Promise<string> {
  const passwordHash = await hashPassword(password);
  await withTestDb((db) =>
    db
      .insert(adminUsers)
      .values({ email, passwordHash })
      .onConflictDoUpdate({ target: adminUsers.email, set: { passwordHash } }),
  );
  const res = await exports.default.fetch(
    new Request("http://docket.test/api/admin/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password }),
    }),
  );
  if (res.status !== 200) throw new Error(`admin login failed: ${res.status} ${await res.text()}`);
  return `Bearer ${((await res.json()) as { token: string }).token}`;
}
