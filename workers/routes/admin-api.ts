import { Hono, type MiddlewareHandler } from "hono";
import { sign, verify } from "hono/jwt";
import { z } from "zod";
import { withDb } from "../../db/client";
import {
  clearLoginAttempts,
  countLoginAttempt,
  findAdminByEmail,
  findAdminById,
  normalizeAdminEmail,
  replaceAdminPasswordHash,
} from "../../db/admin-users";
import { ORDER_NUMBER } from "../../db/order-numbers";
import { claimTask, completeTask, listOpenTasks, listOrders, orderDetail } from "../../db/order-listings";
import { hashPassword, UNMATCHABLE_PASSWORD_HASH, verifyPassword } from "../../domain/auth/password-hash";
import type { AppConfig } from "../../domain/config/app-config";
import type { AppEnv } from "../app-env";
import { ApiError, readJson } from "../http-errors";
import { readQuery } from "../read-query";

/**
 * The admin API (`/api/admin`): operators sign in with e-mail and password and get a short-lived
 * JWT (RFC 7519) for everything else. Separate from the ops routes under `/admin`, which take
 * the static ADMIN_TOKEN meant for machines and deploy checks.
 *
 * Tokens follow RFC 8725 (JWT best current practice): HS256 only, and the verifier pins the
 * algorithm instead of reading it from the token (§3.1), so `alg: none` and algorithm
 * substitution are refused; the secret is ≥ 32 characters in production (§3.5, enforced by the
 * config guard); `iss` and `aud` are set and checked (§3.10), so no other JWT signed with a
 * shared key passes; `exp` is required, not optional. Signing out is the token expiring:
 * sessions are short, and deleting an admin ends theirs at the next request (every request
 * checks the admin still exists).
 */

export type AdminApiEnv = {
  Bindings: AppEnv["Bindings"];
  Variables: AppEnv["Variables"] & { adminId: number; adminEmail: string };
};

export const SESSION_TTL_SECONDS = 12 * 60 * 60;
export const JWT_ISSUER = "docket";
export const JWT_AUDIENCE = "docket-admin";
/** Sign-in attempts allowed per address within the window; the next one gets 429. */
export const MAX_LOGIN_ATTEMPTS = 5;
export const LOGIN_WINDOW_SECONDS = 15 * 60;

function jwtSecret(config: AppConfig): string {
  const secret = config.ADMIN_JWT_SECRET;
  if (secret === undefined || secret === "") {
    throw new ApiError(503, "ADMIN_API_NOT_CONFIGURED", "The admin API is off: set ADMIN_JWT_SECRET to enable it");
  }
  return secret;
}

/** RFC 6750 §3: a 401 names the scheme and, when a token was sent, why it failed. */
function unauthorized(
  c: { header(name: string, value: string): void },
  code: string,
  message: string,
  tokenSent: boolean,
): never {
  c.header("WWW-Authenticate", `Bearer realm="docket-admin-api"${tokenSent ? ', error="invalid_token"' : ""}`);
  throw new ApiError(401, code, message);
}

/**
 * Every route but the login: `Authorization: Bearer <jwt from POST /api/admin/login>`. Exported
 * for admin routes that live in other sub-apps; it sets `adminId` on the context.
 */
export function requireAdminSession(): MiddlewareHandler<AdminApiEnv> {
  return async (c, next) => {
    const secret = jwtSecret(c.get("config"));
    const header = c.req.header("authorization");
    const match =
      header === undefined ? null : /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i.exec(header.trim());
    if (!match) {
      return unauthorized(
        c,
        "UNAUTHORIZED",
        "An admin session is required: sign in with POST /api/admin/login and send Authorization: Bearer <token>",
        header !== undefined,
      );
    }
    let payload: Record<string, unknown>;
    try {
      payload = await verify(match[1]!, secret, { alg: "HS256", iss: JWT_ISSUER, aud: JWT_AUDIENCE });
    } catch (error) {
      // hono/jwt's messages quote the token: never echo or log them.
      if ((error as Error).name === "JwtTokenExpired") {
        return unauthorized(c, "SESSION_EXPIRED", "The admin session has expired; sign in again", true);
      }
      return unauthorized(c, "INVALID_TOKEN", "The admin session token is not valid", true);
    }
    // hono/jwt checks exp and iat only when present; ours always carry both, and a subject.
    const { sub, exp, iat } = payload;
    if (typeof exp !== "number" || typeof iat !== "number" || typeof sub !== "string" || !/^[1-9]\d{0,17}$/.test(sub)) {
      return unauthorized(c, "INVALID_TOKEN", "The admin session token is not valid", true);
    }
    const adminId = Number(sub);
    const admin = await withDb(c.get("config"), (db) => findAdminById(db, adminId), c.executionCtx);
    if (!admin)
      return unauthorized(c, "INVALID_TOKEN", "The admin session belongs to an admin who no longer exists", true);
    c.set("adminId", adminId);
    c.set("adminEmail", admin.email);
    await next();
  };
}

const email = z.string().trim().max(254).toLowerCase().pipe(z.email());

const loginSchema = z.object({
  email,
  // PBKDF2 pre-hashes long keys with HMAC, so the length costs nothing; the cap only bounds input.
  password: z.string().min(1).max(1024),
});

const cursor = z
  .string()
  .regex(/^[1-9]\d{0,17}$/, "a cursor from a previous page")
  .transform(Number)
  .optional();

const listOrdersQuery = z.object({
  status: z
    .string()
    .regex(/^[a-z_]{1,40}$/, "an order status, e.g. paid")
    .optional(),
  service: z
    .string()
    .regex(/^[a-z0-9-]{1,64}$/, "a service slug")
    .optional(),
  email: email.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor,
});

const listTasksQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor,
});

const taskIdParam = z
  .string()
  .regex(/^[1-9]\d{0,17}$/)
  .transform(Number);

export const adminApiRoutes = new Hono<AdminApiEnv>();

/**
 * POST /api/admin/login `{ email, password }` → 200 `{ token, expiresAt, admin }`.
 * Wrong address or wrong password: the same 401, after the same PBKDF2 work (an unknown
 * address is checked against a hash nothing matches). The attempt is counted before the
 * password is checked; past MAX_LOGIN_ATTEMPTS in LOGIN_WINDOW_SECONDS: 429 with Retry-After,
 * whatever the password, for known and unknown addresses alike.
 */
adminApiRoutes.post("/login", async (c) => {
  const config = c.get("config");
  const secret = jwtSecret(config);
  const input = await readJson(c, loginSchema);
  const admin = await withDb(
    config,
    async (db) => {
      const attempt = await countLoginAttempt(db, input.email, LOGIN_WINDOW_SECONDS);
      if (attempt.attempts > MAX_LOGIN_ATTEMPTS) {
        c.header("Retry-After", String(attempt.retryAfterSeconds));
        throw new ApiError(
          429,
          "TOO_MANY_ATTEMPTS",
          `Too many sign-in attempts for this address; try again in ${Math.ceil(attempt.retryAfterSeconds / 60)} minutes`,
        );
      }
      const found = await findAdminByEmail(db, input.email);
      const check = await verifyPassword(input.password, found?.passwordHash ?? UNMATCHABLE_PASSWORD_HASH);
      if (!found || !check.ok) return undefined;
      await clearLoginAttempts(db, input.email);
      // The iteration count changed since this hash was made: store one at today's count.
      if (check.needsRehash) await replaceAdminPasswordHash(db, found.id, await hashPassword(input.password));
      return found;
    },
    c.executionCtx,
  );
  if (!admin) return unauthorized(c, "INVALID_CREDENTIALS", "Wrong e-mail address or password", false);

  const now = Math.floor(Date.now() / 1000);
  const exp = now + SESSION_TTL_SECONDS;
  const token = await sign(
    { sub: String(admin.id), iss: JWT_ISSUER, aud: JWT_AUDIENCE, iat: now, exp },
    secret,
    "HS256",
  );
  c.header("Cache-Control", "no-store");
  return c.json({
    token,
    expiresAt: new Date(exp * 1000).toISOString(),
    admin: { id: admin.id, email: normalizeAdminEmail(admin.email) },
  });
});

// Everything registered after this line needs a session (Hono runs handlers in registration
// order, and the login above answers without calling next).
adminApiRoutes.use("*", requireAdminSession());

/**
 * GET /api/admin/orders?status=&service=&email=&limit=&cursor= → newest first, with the
 * customer and totals; `nextCursor` continues the listing, `total` counts every match.
 */
adminApiRoutes.get("/orders", async (c) => {
  const q = readQuery(c, listOrdersQuery);
  const page = await withDb(
    c.get("config"),
    (db) =>
      listOrders(
        db,
        { status: q.status, serviceSlug: q.service, customerEmail: q.email },
        { limit: q.limit, cursor: q.cursor },
      ),
    c.executionCtx,
  );
  return c.json({
    orders: page.orders.map(({ id: _id, ...order }) => order),
    total: page.total,
    nextCursor: page.nextCursor === null ? null : String(page.nextCursor),
  });
});

/** GET /api/admin/orders/:number → the order, its events (oldest first), child orders, open tasks. */
adminApiRoutes.get("/orders/:number", async (c) => {
  const number = c.req.param("number");
  if (!ORDER_NUMBER.test(number)) throw new ApiError(404, "ORDER_NOT_FOUND", `No order ${number}`);
  const detail = await withDb(c.get("config"), (db) => orderDetail(db, number), c.executionCtx);
  if (!detail) throw new ApiError(404, "ORDER_NOT_FOUND", `No order ${number}`);
  const { id: _id, ...order } = detail.order;
  return c.json({
    order,
    events: detail.events.map(({ id: _eid, ...event }) => event),
    children: detail.children.map(({ id: _cid, ...child }) => child),
    tasks: detail.tasks,
  });
});

/** GET /api/admin/tasks?limit=&cursor= → open admin tasks, oldest first. */
adminApiRoutes.get("/tasks", async (c) => {
  const q = readQuery(c, listTasksQuery);
  const page = await withDb(
    c.get("config"),
    (db) => listOpenTasks(db, { limit: q.limit, cursor: q.cursor }),
    c.executionCtx,
  );
  return c.json({ tasks: page.tasks, nextCursor: page.nextCursor === null ? null : String(page.nextCursor) });
});

const resolveBody = z.strictObject({ note: z.string().trim().min(1).max(2000) });
const claimBody = z.strictObject({ force: z.boolean().optional() });

/**
 * POST /api/admin/tasks/:id/claim `{ force? }` → the task, claimed by the caller. A task someone
 * else holds answers 409 TASK_CLAIMED (with who) unless `force`: two people must not file the
 * same order twice. Claiming a task one already holds is a no-op.
 */
adminApiRoutes.post("/tasks/:id/claim", async (c) => {
  const id = taskIdParam.safeParse(c.req.param("id"));
  if (!id.success) throw new ApiError(404, "TASK_NOT_FOUND", `No task ${c.req.param("id")}`);
  const body = c.req.header("content-type")?.includes("json") ? await readJson(c, claimBody) : {};
  const result = await withDb(
    c.get("config"),
    (db) => claimTask(db, id.data, c.get("adminEmail"), body.force ?? false),
    c.executionCtx,
  );
  if (result.outcome === "not_found") throw new ApiError(404, "TASK_NOT_FOUND", `No task ${id.data}`);
  if (result.outcome === "done") throw new ApiError(409, "TASK_DONE", `Task ${id.data} is already resolved`);
  if (result.outcome === "claimed_by_other") {
    throw new ApiError(409, "TASK_CLAIMED", `Task ${id.data} is claimed by ${result.task.claimedBy}`, {
      claimedBy: result.task.claimedBy,
      claimedAt: result.task.claimedAt,
    });
  }
  return c.json({ task: result.task });
});

/** POST /api/admin/tasks/:id/resolve `{ note }` → the task, done, with the note and who resolved it. */
adminApiRoutes.post("/tasks/:id/resolve", async (c) => {
  const id = taskIdParam.safeParse(c.req.param("id"));
  if (!id.success) throw new ApiError(404, "TASK_NOT_FOUND", `No task ${c.req.param("id")}`);
  const body = await readJson(c, resolveBody);
  const task = await withDb(
    c.get("config"),
    (db) => completeTask(db, id.data, { by: c.get("adminEmail"), note: body.note }),
    c.executionCtx,
  );
  if (!task) throw new ApiError(404, "TASK_NOT_FOUND", `No task ${id.data}`);
  return c.json({ task });
});

/** POST /api/admin/tasks/:id/done → the task, done (again: unchanged, 200). Kept for scripts; prefer /resolve. */
adminApiRoutes.post("/tasks/:id/done", async (c) => {
  const id = taskIdParam.safeParse(c.req.param("id"));
  if (!id.success) throw new ApiError(404, "TASK_NOT_FOUND", `No task ${c.req.param("id")}`);
  const task = await withDb(
    c.get("config"),
    (db) => completeTask(db, id.data, { by: c.get("adminEmail") }),
    c.executionCtx,
  );
  if (!task) throw new ApiError(404, "TASK_NOT_FOUND", `No task ${id.data}`);
  return c.json({ task });
});
