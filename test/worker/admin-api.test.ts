import { createExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { eq, ne } from "drizzle-orm";
import { sign } from "hono/jwt";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureCustomer } from "../../db/customers";
import { adminTasks, adminUsers, orderEvents, orders } from "../../db/schema";
import { adminLoginAttempts } from "../../db/schema";
import { toBase64Url, utf8 } from "../../domain/auth/bytes";
import { hashPassword, parsePasswordHash, PBKDF2_ITERATIONS } from "../../domain/auth/password-hash";
import { createApp } from "../../workers/app";
import { testEnv, withTestDb } from "../support/db";

/**
 * /api/admin end to end against the real Postgres: sign-in (and its limits), the session JWT
 * (and every way a forged one fails), orders with their events, and admin tasks.
 * vitest.config.ts binds ADMIN_JWT_SECRET.
 */

const env = testEnv as typeof testEnv & { ADMIN_JWT_SECRET: string };
const SECRET = env.ADMIN_JWT_SECRET;
if (!SECRET) throw new Error("vitest.config.ts must bind ADMIN_JWT_SECRET for this file");

const call = (path: string, init?: RequestInit) =>
  exports.default.fetch(new Request(`http://docket.test${path}`, init));
const login = (email: string, password: string) =>
  call("/api/admin/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
const authed = (token: string, path: string, init: RequestInit = {}) =>
  call(path, {
    ...init,
    headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` },
  });

const PASSWORD = "a-long-admin-password-for-tests";
let adminId = 0;

async function createAdmin(email: string, password: string, iterations?: number): Promise<number> {
  const passwordHash = await hashPassword(password, iterations);
  const [row] = await withTestDb((db) =>
    db.insert(adminUsers).values({ email, passwordHash }).returning({ id: adminUsers.id }),
  );
  return row!.id;
}

async function tokenFor(email = "ops@docket.test"): Promise<string> {
  const res = await login(email, PASSWORD);
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

const now = Math.floor(Date.now() / 1000);
const claims = (over: Record<string, unknown> = {}) => ({
  sub: String(adminId),
  iss: "docket",
  aud: "docket-admin",
  iat: now,
  exp: now + 3600,
  ...over,
});
const part = (value: unknown) => toBase64Url(utf8(JSON.stringify(value)));

beforeAll(async () => {
  adminId = await createAdmin("ops@docket.test", PASSWORD);
});

describe("POST /api/admin/login", () => {
  it("answers a 12-hour HS256 session for the right password, whatever the address's case", async () => {
    const res = await login("  OPS@Docket.Test ", PASSWORD);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as { token: string; expiresAt: string; admin: { id: number; email: string } };
    expect(body.admin).toEqual({ id: adminId, email: "ops@docket.test" });
    const [header, payload] = body.token
      .split(".")
      .slice(0, 2)
      .map((p) => JSON.parse(atob(p.replaceAll("-", "+").replaceAll("_", "/"))));
    expect(header).toEqual({ alg: "HS256", typ: "JWT" });
    expect(payload).toMatchObject({ sub: String(adminId), iss: "docket", aud: "docket-admin" });
    expect(payload.exp - payload.iat).toBe(12 * 3600);
    expect(Math.abs(payload.iat - Date.now() / 1000)).toBeLessThan(60);
    expect(new Date(body.expiresAt).getTime()).toBe(payload.exp * 1000);
    expect(Object.keys(payload).sort()).toEqual(["aud", "exp", "iat", "iss", "sub"]);
  });

  it("answers the same 401 for a wrong password and an unknown address", async () => {
    const wrong = await login("ops@docket.test", "not-the-password");
    const unknown = await login("nobody@docket.test", "not-the-password");
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const strip = async (res: Response) => {
      const { requestId: _r, ...rest } = (await res.json()) as Record<string, unknown>;
      return rest;
    };
    const [a, b] = [await strip(wrong), await strip(unknown)];
    expect(a).toEqual({ error: "INVALID_CREDENTIALS", message: "Wrong e-mail address or password" });
    expect(b).toEqual(a);
    expect(wrong.headers.get("www-authenticate")).toBe(unknown.headers.get("www-authenticate"));
    await withTestDb((db) => db.delete(adminLoginAttempts));
  });

  it("spends the same password work on an unknown address as on a wrong password", { retry: 2 }, async () => {
    // Rounds of three interleaved sign-ins (so they share the machine's load): a wrong password
    // for a real admin, any password for an unknown address, and a locked-out address, which
    // answers 429 before any password check (the baseline without PBKDF2). The fastest of each
    // is the least disturbed. An unknown address that skipped PBKDF2 would answer in about the
    // baseline's time.
    const timed = async (email: string, password: string, status: number) => {
      const started = performance.now();
      expect((await login(email, password)).status).toBe(status);
      return performance.now() - started;
    };
    for (let i = 0; i < 5; i++) await login("baseline@docket.test", "x");
    const known: number[] = [];
    const unknown: number[] = [];
    const none: number[] = [];
    for (let round = 0; round < 6; round++) {
      await withTestDb((db) =>
        db.delete(adminLoginAttempts).where(ne(adminLoginAttempts.email, "baseline@docket.test")),
      );
      known.push(await timed("ops@docket.test", `wrong-${round}`, 401));
      unknown.push(await timed("ghost@docket.test", `wrong-${round}`, 401));
      none.push(await timed("baseline@docket.test", "x", 429));
    }
    await withTestDb((db) => db.delete(adminLoginAttempts));
    const [k, u, n] = [Math.min(...known), Math.min(...unknown), Math.min(...none)];
    // Both pay the derivation over the baseline; the unknown address does not pay it twice.
    expect(u - n).toBeGreaterThan((k - n) * 0.5);
    expect(u).toBeLessThan(k * 2 + 5);
  });

  it("refuses the 6th attempt in 15 minutes with 429, even with the right password, known address or not", async () => {
    for (const email of ["ops@docket.test", "stranger@docket.test"]) {
      for (let i = 0; i < 5; i++) expect((await login(email, `guess-${i}`)).status).toBe(401);
      const locked = await login(email, PASSWORD);
      expect(locked.status).toBe(429);
      expect(await locked.json()).toMatchObject({ error: "TOO_MANY_ATTEMPTS" });
      const retryAfter = Number(locked.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    }
    // The window passes: the right password works again and the count starts over.
    await withTestDb((db) =>
      db
        .update(adminLoginAttempts)
        .set({ windowStartedAt: new Date(Date.now() - 16 * 60_000) })
        .where(eq(adminLoginAttempts.email, "ops@docket.test")),
    );
    expect((await login("ops@docket.test", PASSWORD)).status).toBe(200);
    const left = await withTestDb((db) =>
      db.select().from(adminLoginAttempts).where(eq(adminLoginAttempts.email, "ops@docket.test")),
    );
    expect(left).toEqual([]);
  });

  it("forgets earlier failures after a successful sign-in", async () => {
    await createAdmin("second@docket.test", PASSWORD);
    for (let i = 0; i < 4; i++) expect((await login("second@docket.test", "nope")).status).toBe(401);
    expect((await login("second@docket.test", PASSWORD)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await login("second@docket.test", "nope")).status).toBe(401);
    expect((await login("second@docket.test", "nope")).status).toBe(429);
  });

  it("counts concurrent guesses exactly: 10 at once, 5 checked and 5 refused", async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => login("burst@docket.test", `burst-${i}`)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
  });

  it("re-hashes a password stored with an older iteration count at sign-in", async () => {
    const id = await createAdmin("legacy@docket.test", PASSWORD, 1_000);
    expect((await login("legacy@docket.test", PASSWORD)).status).toBe(200);
    const [row] = await withTestDb((db) => db.select().from(adminUsers).where(eq(adminUsers.id, id)));
    expect(parsePasswordHash(row!.passwordHash).iterations).toBe(PBKDF2_ITERATIONS);
    expect((await login("legacy@docket.test", PASSWORD)).status).toBe(200);
  });

  it("validates the body like every JSON endpoint", async () => {
    const res = await call("/api/admin/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "not-an-address", password: "" }),
    });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: string; details: { path: string }[] };
    expect(body.error).toBe("VALIDATION_FAILED");
    expect(body.details.map((d) => d.path).sort()).toEqual(["email", "password"]);
    expect((await call("/api/admin/login", { method: "POST", body: "email=a" })).status).toBe(415);
  });

  it("is off, with a clear 503, when ADMIN_JWT_SECRET is not set", async () => {
    const { ADMIN_JWT_SECRET: _s, ...rest } = env;
    const app = createApp();
    const res = await app.fetch(
      new Request("http://docket.test/api/admin/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "ops@docket.test", password: PASSWORD }),
      }),
      rest as unknown as Cloudflare.Env,
      createExecutionContext(),
    );
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: "ADMIN_API_NOT_CONFIGURED" });
  });
});

describe("the admin session", () => {
  it("is required for every other admin route, and the ops ADMIN_TOKEN is not one", async () => {
    for (const [method, path] of [
      ["GET", "/api/admin/orders"],
      ["GET", "/api/admin/orders/CO-2026-000001"],
      ["GET", "/api/admin/tasks"],
      ["POST", "/api/admin/tasks/1/done"],
      ["GET", "/api/admin/anything-else"],
    ] as const) {
      const res = await call(path, { method });
      expect(res.status, path).toBe(401);
      expect(await res.json()).toMatchObject({ error: "UNAUTHORIZED" });
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="docket-admin-api"');
    }
    const ops = await authed(testEnv.ADMIN_TOKEN, "/api/admin/orders");
    expect(ops.status).toBe(401);
    expect(ops.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("refuses tampered, re-signed, unsigned and foreign tokens", async () => {
    const token = await tokenFor();
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const other = await createAdmin("other@docket.test", "irrelevant-password");
    const flipped = signature.slice(0, -2) + (signature.at(-2) === "A" ? "B" : "A") + signature.at(-1);
    const forged = [
      // Another admin's id under the original signature.
      `${header}.${part({ ...JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/"))), sub: String(other) })}.${signature}`,
      `${header}.${payload}.${flipped}`,
      `${header}.${payload}.`,
      // alg "none" (RFC 8725 §2.1): no signature at all.
      `${part({ alg: "none", typ: "JWT" })}.${part(claims())}.`,
      // The right secret but another algorithm: the verifier pins HS256 (RFC 8725 §3.1).
      await sign(claims(), SECRET, "HS512"),
      // The right shape, another key.
      await sign(claims(), "some-other-secret-0123456789abcdef", "HS256"),
      // Our key, but made for another audience or issuer (RFC 8725 §3.10).
      await sign(claims({ aud: "docket-customer" }), SECRET, "HS256"),
      await sign(claims({ iss: "someone-else" }), SECRET, "HS256"),
      // Without an expiry or issue time, or with a subject that is not an admin id.
      await sign(claims({ exp: undefined }), SECRET, "HS256"),
      await sign(claims({ iat: undefined }), SECRET, "HS256"),
      await sign(claims({ sub: "admin" }), SECRET, "HS256"),
      // Issued in the future.
      await sign(claims({ iat: now + 3600, exp: now + 7200 }), SECRET, "HS256"),
    ];
    for (const candidate of forged) {
      const res = await authed(candidate, "/api/admin/orders");
      expect(res.status, candidate).toBe(401);
      expect(await res.json()).toMatchObject({ error: "INVALID_TOKEN" });
    }
    expect((await authed(token, "/api/admin/orders")).status).toBe(200);
    expect((await authed(await sign(claims(), SECRET, "HS256"), "/api/admin/orders")).status).toBe(200);
  });

  it("says when it has expired", async () => {
    const expired = await sign(claims({ iat: now - 13 * 3600, exp: now - 3600 }), SECRET, "HS256");
    const res = await authed(expired, "/api/admin/orders");
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "SESSION_EXPIRED" });
  });

  it("ends when its admin is deleted", async () => {
    const id = await createAdmin("leaver@docket.test", PASSWORD);
    const token = await tokenFor("leaver@docket.test");
    expect((await authed(token, "/api/admin/tasks")).status).toBe(200);
    await withTestDb((db) => db.delete(adminUsers).where(eq(adminUsers.id, id)));
    const res = await authed(token, "/api/admin/tasks");
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "INVALID_TOKEN" });
  });
});

interface ListedOrder {
  number: string;
  status: string;
  serviceSlug: string;
  totalCents: number;
  parentNumber: string | null;
  customer: { email: string };
  createdAt: string;
}

describe("orders and tasks", () => {
  let token = "";
  const numbers: Record<string, string> = {};
  const taskIds: Record<string, number> = {};

  beforeAll(async () => {
    token = await tokenFor();
    await withTestDb(async (db) => {
      const alice = await ensureCustomer(db, { email: "alice@carrier.test", name: "Alice" });
      const bob = await ensureCustomer(db, { email: "bob@clinic.test", company: "Bob Clinic" });
      const base = Date.parse("2026-03-01T10:00:00Z");
      const seed: [string, number, string, string, number][] = [
        // key, customer, service, status, total cents
        ["a1", alice.id, "mcs-150", "paid", 9_900],
        ["a2", alice.id, "ucr-registration", "pending_payment", 14_900],
        ["b1", bob.id, "oig-sam-monitoring", "paid", 7_900],
        ["a3", alice.id, "mcs-150", "payment_failed", 9_900],
        ["b2", bob.id, "mcs-150", "paid", 9_900],
        ["a4", alice.id, "boc-3", "paid", 4_900],
        ["b3", bob.id, "oig-sam-monitoring", "cancelled", 7_900],
      ];
      for (const [i, [key, customerId, serviceSlug, status, totalCents]] of seed.entries()) {
        const number = `CO-2026-${String(900 + i).padStart(6, "0")}`;
        await db.insert(orders).values({
          number,
          customerId,
          serviceSlug,
          status,
          totalCents,
          billingInterval: serviceSlug === "oig-sam-monitoring" ? "month" : "none",
          lines: [{ kind: "service", cents: totalCents }],
          paymentMethod: "card",
          createdAt: new Date(base + i * 3_600_000),
        });
        numbers[key] = number;
      }
      // A government-fee child of a1, created last.
      const [a1] = await db.select().from(orders).where(eq(orders.number, numbers.a1!));
      const [child] = await db
        .insert(orders)
        .values({
          number: "CG-2026-000950",
          customerId: alice.id,
          serviceSlug: "mcs-150",
          status: "pending_payment",
          totalCents: 1_500,
          billingInterval: "none",
          lines: [{ kind: "government_fee", cents: 1_500 }],
          paymentMethod: "ach",
          parentOrderId: a1!.id,
          createdAt: new Date(base + 10 * 3_600_000),
        })
        .returning();
      numbers.child = child!.number;
      // Events recorded out of order: the API lists them by when they happened.
      await db.insert(orderEvents).values([
        {
          orderId: a1!.id,
          type: "payment_succeeded",
          idempotencyKey: "evt_2",
          fromStatus: "pending_payment",
          toStatus: "paid",
          occurredAt: new Date(base + 60_000),
        },
        {
          orderId: a1!.id,
          type: "order_created",
          idempotencyKey: "created",
          fromStatus: null,
          toStatus: "pending_payment",
          occurredAt: new Date(base),
        },
        {
          orderId: a1!.id,
          type: "government_fee_requested",
          idempotencyKey: "fee",
          fromStatus: "paid",
          toStatus: "paid",
          payload: { child: "CG-2026-000950" },
          occurredAt: new Date(base + 120_000),
        },
      ]);
      const tasks = await db
        .insert(adminTasks)
        .values([
          {
            kind: "fee_dispute",
            orderId: child!.id,
            title: "Customer disputes the state fee",
            detail: { note: "looks high" },
            createdAt: new Date(base + 11 * 3_600_000),
          },
          {
            kind: "manual_filing",
            orderId: a1!.id,
            title: "File MCS-150 by hand",
            createdAt: new Date(base + 12 * 3_600_000),
          },
          {
            kind: "manual_filing",
            orderId: a1!.id,
            title: "Already handled",
            status: "done",
            doneAt: new Date(base),
            createdAt: new Date(base + 1),
          },
          {
            kind: "unknown_order_event",
            orderId: null,
            title: "Stripe event for an unknown order",
            createdAt: new Date(base + 13 * 3_600_000),
          },
        ])
        .returning({ id: adminTasks.id, title: adminTasks.title });
      for (const t of tasks) taskIds[t.title] = t.id;
    });
  });

  const listOrders = async (query = "") => {
    const res = await authed(token, `/api/admin/orders${query}`);
    expect(res.status).toBe(200);
    return (await res.json()) as { orders: ListedOrder[]; total: number; nextCursor: string | null };
  };

  it("lists orders newest first with the customer and the totals", async () => {
    const page = await listOrders();
    expect(page.total).toBe(8);
    expect(page.nextCursor).toBeNull();
    expect(page.orders.map((o) => o.number)).toEqual([
      numbers.child,
      numbers.b3,
      numbers.a4,
      numbers.b2,
      numbers.a3,
      numbers.b1,
      numbers.a2,
      numbers.a1,
    ]);
    expect(page.orders[0]).toMatchObject({
      number: "CG-2026-000950",
      status: "pending_payment",
      totalCents: 1_500,
      parentNumber: numbers.a1,
      customer: { email: "alice@carrier.test", name: "Alice" },
    });
    expect(page.orders.find((o) => o.number === numbers.b1)).toMatchObject({
      serviceSlug: "oig-sam-monitoring",
      billingInterval: "month",
      totalCents: 7_900,
      customer: { email: "bob@clinic.test", company: "Bob Clinic" },
      parentNumber: null,
    });
    expect(page.orders[0]).not.toHaveProperty("id");
  });

  it("filters by status, service and customer e-mail, alone and together", async () => {
    expect((await listOrders("?status=paid")).orders.map((o) => o.number)).toEqual([
      numbers.a4,
      numbers.b2,
      numbers.b1,
      numbers.a1,
    ]);
    expect((await listOrders("?service=mcs-150")).orders.map((o) => o.number)).toEqual([
      numbers.child,
      numbers.b2,
      numbers.a3,
      numbers.a1,
    ]);
    const bob = await listOrders("?email=Bob@Clinic.TEST");
    expect(bob.total).toBe(3);
    expect(bob.orders.map((o) => o.number)).toEqual([numbers.b3, numbers.b2, numbers.b1]);
    const combined = await listOrders("?status=paid&service=mcs-150&email=alice%40carrier.test");
    expect(combined.orders.map((o) => o.number)).toEqual([numbers.a1]);
    expect(combined.total).toBe(1);
    expect(await listOrders("?email=nobody%40nowhere.test")).toEqual({ orders: [], total: 0, nextCursor: null });
  });

  it("pages with a cursor until the last page, without gaps or repeats", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await listOrders(`?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.total).toBe(8);
      expect(page.orders.length).toBeLessThanOrEqual(3);
      seen.push(...page.orders.map((o) => o.number));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(seen).toEqual((await listOrders()).orders.map((o) => o.number));
    const filtered = await listOrders("?status=paid&limit=2");
    const next = await listOrders(`?status=paid&limit=2&cursor=${filtered.nextCursor}`);
    expect([...filtered.orders, ...next.orders].map((o) => o.number)).toEqual([
      numbers.a4,
      numbers.b2,
      numbers.b1,
      numbers.a1,
    ]);
    expect(next.nextCursor).toBeNull();
  });

  it("answers 422 naming each bad query parameter", async () => {
    const res = await authed(token, "/api/admin/orders?limit=0&status=DROP%20TABLE&email=nope&cursor=-1");
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: string; details: { path: string }[] };
    expect(body.error).toBe("VALIDATION_FAILED");
    expect(body.details.map((d) => d.path).sort()).toEqual(["cursor", "email", "limit", "status"]);
    expect((await authed(token, "/api/admin/orders?limit=201")).status).toBe(422);
  });

  it("shows one order with its events in the order they happened, its child orders and open tasks", async () => {
    const res = await authed(token, `/api/admin/orders/${numbers.a1}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      order: Record<string, unknown>;
      events: { type: string; idempotencyKey: string; fromStatus: string | null; toStatus: string; payload: unknown }[];
      children: { number: string; status: string; totalCents: number }[];
      tasks: { title: string; orderNumber: string | null; status: string }[];
    };
    expect(body.order).toMatchObject({
      number: numbers.a1,
      status: "paid",
      serviceSlug: "mcs-150",
      totalCents: 9_900,
      lines: [{ kind: "service", cents: 9_900 }],
      customer: { email: "alice@carrier.test" },
      parentNumber: null,
    });
    expect(body.order).not.toHaveProperty("id");
    expect(body.events.map((e) => e.type)).toEqual(["order_created", "payment_succeeded", "government_fee_requested"]);
    expect(body.events[0]).toMatchObject({ idempotencyKey: "created", fromStatus: null, toStatus: "pending_payment" });
    expect(body.events[2]!.payload).toEqual({ child: "CG-2026-000950" });
    expect(body.children).toEqual([
      expect.objectContaining({ number: "CG-2026-000950", status: "pending_payment", totalCents: 1_500 }),
    ]);
    // Open tasks about the order and about its child; the done one is not listed.
    expect(body.tasks.map((t) => [t.title, t.orderNumber])).toEqual([
      ["Customer disputes the state fee", "CG-2026-000950"],
      ["File MCS-150 by hand", numbers.a1],
    ]);

    const child = (await (await authed(token, "/api/admin/orders/CG-2026-000950")).json()) as {
      order: { parentNumber: string };
    };
    expect(child.order.parentNumber).toBe(numbers.a1);
  });

  it("answers 404 for an order that does not exist or cannot be a number", async () => {
    for (const number of ["CO-2026-999999", "not-an-order", "CO-2026-1"]) {
      const res = await authed(token, `/api/admin/orders/${number}`);
      expect(res.status, number).toBe(404);
      expect(await res.json()).toMatchObject({ error: "ORDER_NOT_FOUND" });
    }
  });

  it("lists open tasks oldest first, in pages", async () => {
    const res = await authed(token, "/api/admin/tasks");
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      tasks: { id: number; title: string; kind: string; orderNumber: string | null; detail: unknown }[];
      nextCursor: string | null;
    };
    expect(body.tasks.map((t) => t.title)).toEqual([
      "Customer disputes the state fee",
      "File MCS-150 by hand",
      "Stripe event for an unknown order",
    ]);
    expect(body.tasks[0]).toMatchObject({
      kind: "fee_dispute",
      orderNumber: "CG-2026-000950",
      detail: { note: "looks high" },
      status: "open",
    });
    expect(body.tasks[2]!.orderNumber).toBeNull();
    expect(body.nextCursor).toBeNull();

    const first = (await (await authed(token, "/api/admin/tasks?limit=2")).json()) as {
      tasks: { title: string }[];
      nextCursor: string;
    };
    expect(first.tasks).toHaveLength(2);
    const rest = (await (await authed(token, `/api/admin/tasks?limit=2&cursor=${first.nextCursor}`)).json()) as {
      tasks: { title: string }[];
      nextCursor: null;
    };
    expect(rest.tasks.map((t) => t.title)).toEqual(["Stripe event for an unknown order"]);
    expect(rest.nextCursor).toBeNull();
  });

  it("marks a task done once; doing it again changes nothing", async () => {
    const id = taskIds["File MCS-150 by hand"]!;
    const done = await authed(token, `/api/admin/tasks/${id}/done`, { method: "POST" });
    expect(done.status).toBe(200);
    const { task } = (await done.json()) as { task: { id: number; status: string; doneAt: string } };
    expect(task).toMatchObject({ id, status: "done" });
    expect(Date.now() - Date.parse(task.doneAt)).toBeLessThan(60_000);

    const again = (await (await authed(token, `/api/admin/tasks/${id}/done`, { method: "POST" })).json()) as {
      task: { doneAt: string };
    };
    expect(again.task.doneAt).toBe(task.doneAt);

    const open = (await (await authed(token, "/api/admin/tasks")).json()) as { tasks: { id: number }[] };
    expect(open.tasks.map((t) => t.id)).not.toContain(id);
    const detail = (await (await authed(token, `/api/admin/orders/${numbers.a1}`)).json()) as {
      tasks: { title: string }[];
    };
    expect(detail.tasks.map((t) => t.title)).toEqual(["Customer disputes the state fee"]);

    for (const missing of ["999999", "abc", "0"]) {
      const res = await authed(token, `/api/admin/tasks/${missing}/done`, { method: "POST" });
      expect(res.status, missing).toBe(404);
      expect(await res.json()).toMatchObject({ error: "TASK_NOT_FOUND" });
    }
  });
});
