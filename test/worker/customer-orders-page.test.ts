import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ensureCustomer } from "../../db/customers";
import { nextNumber } from "../../db/order-numbers";
import { orders } from "../../db/schema";
import { customerOrdersLink, signLinkToken } from "../../domain/auth/signed-link";
import { appConfig } from "../../workers/env";
import { testEnv, withTestDb } from "../support/db";

const get = (url: string) =>
  exports.default.fetch(new Request(new URL(new URL(url).pathname + new URL(url).search, "http://docket.test")));

describe("GET /orders: all of a customer's orders by signed link", () => {
  it("lists the customer's orders, each linking to its page, escaped, and nobody else's", async () => {
    const { customer, number } = await withTestDb(async (db) => {
      const customer = await ensureCustomer(db, {
        email: "owner@fleet.test",
        name: "<b>Pat</b>",
        company: "Fleet & Sons",
      });
      const other = await ensureCustomer(db, { email: "other@fleet.test" });
      const number = await nextNumber(db, "CO");
      const base = {
        serviceSlug: "ucr-registration",
        billingInterval: "none" as const,
        lines: [],
        totalCents: 8900,
        paymentMethod: "card" as const,
      };
      await db.insert(orders).values({ ...base, number, customerId: customer.id, status: "paid" });
      await db.insert(orders).values({ ...base, number: await nextNumber(db, "CO"), customerId: other.id });
      return { customer, number };
    });
    const config = appConfig(testEnv);
    const res = await get(await customerOrdersLink(config, customer));
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toContain("no-store");
    const html = await res.text();
    expect(html).toContain(number);
    expect(html).toContain("&lt;b&gt;Pat&lt;/b&gt;");
    expect(html).not.toContain("<b>Pat</b>");
    expect(html.match(/CO-\d{4}-\d{6}/g)?.filter((n) => n !== number) ?? []).toEqual([]);
    expect(html).toMatch(/href="[^"]*\/order\/CO-[^"]*token=/);
  });

  it("refuses a forged, foreign-purpose or expired link with 403", async () => {
    const config = appConfig(testEnv);
    const secret = config.CUSTOMER_LINK_SECRET!;
    const expired = await signLinkToken(secret, {
      purpose: "customer-orders",
      subject: 1,
      expiresAt: new Date(Date.now() - 1000),
    });
    const otherPurpose = await signLinkToken(secret, {
      purpose: "order-view",
      subject: 1,
      expiresAt: new Date(Date.now() + 60_000),
    });
    for (const token of ["", "garbage", expired, otherPurpose]) {
      const res = await exports.default.fetch(
        new Request(`http://docket.test/orders?token=${encodeURIComponent(token)}`),
      );
      expect(res.status).toBe(403);
    }
  });
});
