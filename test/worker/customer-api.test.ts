import { createExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureCustomer } from "../../db/customers";
import { orders } from "../../db/schema";
import { fromBase64Url, toBase64Url, utf8 } from "../../domain/auth/bytes";
import { customerOrdersLink, signLinkToken, verifyLinkToken, type LinkSettings } from "../../domain/auth/signed-link";
import { createApp } from "../../workers/app";
import { testEnv, withTestDb } from "../support/db";

/**
 * GET /api/customer/orders?token=… against the real Postgres: the customer's orders through a
 * signed link, and each way a link fails. vitest.config.ts binds CUSTOMER_LINK_SECRET.
 */

const env = testEnv as typeof testEnv & { CUSTOMER_LINK_SECRET: string; PUBLIC_BASE_URL: string };
const SECRET = env.CUSTOMER_LINK_SECRET;
if (!SECRET) throw new Error("vitest.config.ts must bind CUSTOMER_LINK_SECRET for this file");
const settings: LinkSettings = {
  PUBLIC_BASE_URL: env.PUBLIC_BASE_URL,
  CUSTOMER_LINK_SECRET: SECRET,
  CUSTOMER_LINK_TTL_DAYS: 30,
};

const get = (token?: string) =>
  exports.default.fetch(
    new Request(
      `http://docket.test/api/customer/orders${token === undefined ? "" : `?token=${encodeURIComponent(token)}`}`,
    ),
  );
const inAWeek = () => new Date(Date.now() + 7 * 86_400_000);

let alice = 0;
let bob = 0;

beforeAll(async () => {
  await withTestDb(async (db) => {
    alice = (await ensureCustomer(db, { email: "alice@carrier.test", name: "Alice", company: "Alice Trucking" })).id;
    bob = (await ensureCustomer(db, { email: "bob@clinic.test" })).id;
    const base = Date.parse("2026-05-01T09:00:00Z");
    const row = (
      number: string,
      customerId: number,
      serviceSlug: string,
      status: string,
      totalCents: number,
      hours: number,
    ) => ({
      number,
      customerId,
      serviceSlug,
      status,
      totalCents,
      billingInterval: "none" as const,
      lines: [],
      paymentMethod: "card" as const,
      createdAt: new Date(base + hours * 3_600_000),
    });
    await db
      .insert(orders)
      .values([
        row("CO-2026-000501", alice, "mcs-150", "paid", 9_900, 0),
        row("CO-2026-000502", bob, "npi-reactivation", "paid", 19_900, 1),
        row("CO-2026-000503", alice, "ucr-registration", "pending_payment", 14_900, 2),
      ]);
    const [parent] = await db.select().from(orders).where(eq(orders.number, "CO-2026-000501"));
    await db
      .insert(orders)
      .values({ ...row("CG-2026-000504", alice, "mcs-150", "pending_payment", 1_500, 3), parentOrderId: parent!.id });
  });
});

describe("GET /api/customer/orders", () => {
  it("answers the customer's own orders, newest first, each with a link to its page", async () => {
    const link = new URL(await customerOrdersLink(settings, { id: alice }));
    expect(link.pathname).toBe("/orders");
    const res = await get(link.searchParams.get("token")!);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const body = (await res.json()) as {
      customer: unknown;
      orders: {
        number: string;
        serviceSlug: string;
        status: string;
        totalCents: number;
        createdAt: string;
        parentNumber: string | null;
        url: string;
      }[];
      linkExpiresAt: string;
    };
    expect(body.customer).toEqual({ email: "alice@carrier.test", name: "Alice", company: "Alice Trucking" });
    expect(body.orders.map((o) => o.number)).toEqual(["CG-2026-000504", "CO-2026-000503", "CO-2026-000501"]);
    expect(body.orders[2]).toMatchObject({
      number: "CO-2026-000501",
      serviceSlug: "mcs-150",
      status: "paid",
      totalCents: 9_900,
      createdAt: "2026-05-01T09:00:00.000Z",
      parentNumber: null,
    });
    expect(body.orders[0]!.parentNumber).toBe("CO-2026-000501");
    for (const order of body.orders) {
      const url = new URL(order.url);
      expect(url.pathname).toBe(`/order/${order.number}`);
      const check = await verifyLinkToken(SECRET, url.searchParams.get("token"), {
        purpose: "order-view",
        subject: order.number,
      });
      expect(check.ok).toBe(true);
    }
    expect(Date.parse(body.linkExpiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    // Nothing of Bob's, and no internal ids.
    expect(JSON.stringify(body)).not.toContain("CO-2026-000502");
    expect(body.orders[0]).not.toHaveProperty("id");
  });

  it("answers an empty list for a customer without orders", async () => {
    const carol = await withTestDb((db) => ensureCustomer(db, { email: "carol@telecom.test" }));
    const token = await signLinkToken(SECRET, { purpose: "customer-orders", subject: carol.id, expiresAt: inAWeek() });
    const res = await get(token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ customer: { email: "carol@telecom.test" }, orders: [] });
  });

  it("says 401 LINK_REQUIRED without a token", async () => {
    for (const token of [undefined, ""]) {
      const res = await get(token);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: "LINK_REQUIRED" });
    }
  });

  it("says 401 LINK_INVALID for a malformed, forged or foreign token", async () => {
    const real = await signLinkToken(SECRET, { purpose: "customer-orders", subject: alice, expiresAt: inAWeek() });
    const [payload, tag] = real.split(".") as [string, string];
    // Bob's id under Alice's signature.
    const text = new TextDecoder().decode(fromBase64Url(payload)!).replace(`.${alice}.`, `.${bob}.`);
    const candidates = [
      "garbage",
      `${payload}.`,
      `${toBase64Url(utf8(text))}.${tag}`,
      await signLinkToken("another-secret-0123456789abcdef0123", {
        purpose: "customer-orders",
        subject: bob,
        expiresAt: inAWeek(),
      }),
      "x".repeat(600),
    ];
    for (const token of candidates) {
      const res = await get(token);
      expect(res.status, token).toBe(token.length > 512 ? 422 : 401);
      if (token.length <= 512)
        expect(await res.json()).toMatchObject({
          error: "LINK_INVALID",
          message: expect.stringMatching(/latest link/),
        });
    }
  });

  it("says 401 LINK_EXPIRED for an expired link, so the page can offer a new one", async () => {
    const token = await signLinkToken(SECRET, {
      purpose: "customer-orders",
      subject: alice,
      expiresAt: new Date(Date.now() - 1000),
    });
    const res = await get(token);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "LINK_EXPIRED" });
  });

  it("says 403 LINK_WRONG_PURPOSE for a link made for another page", async () => {
    const token = await signLinkToken(SECRET, {
      purpose: "order-view",
      subject: "CO-2026-000501",
      expiresAt: inAWeek(),
    });
    const res = await get(token);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: "LINK_WRONG_PURPOSE" });
  });

  it("says 404 when the link's customer no longer exists", async () => {
    const token = await signLinkToken(SECRET, { purpose: "customer-orders", subject: 987_654, expiresAt: inAWeek() });
    const res = await get(token);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: "CUSTOMER_NOT_FOUND" });
  });

  it("is off, with a clear 503, when CUSTOMER_LINK_SECRET is not set", async () => {
    const { CUSTOMER_LINK_SECRET: _s, ...rest } = env;
    const token = await signLinkToken(SECRET, { purpose: "customer-orders", subject: alice, expiresAt: inAWeek() });
    const res = await createApp().fetch(
      new Request(`http://docket.test/api/customer/orders?token=${token}`),
      rest as unknown as Cloudflare.Env,
      createExecutionContext(),
    );
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: "CUSTOMER_LINKS_NOT_CONFIGURED" });
  });
});
