import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { openDb } from "../../db/client";
import { ensureCustomer } from "../../db/customers";
import { redeemDiscount, releaseDiscount, reserveDiscount } from "../../db/discounts";
import { nextNumber } from "../../db/order-numbers";
import { checkouts, discountRedemptions, discounts } from "../../db/schema";
import { testEnv, withTestDb } from "../support/db";

async function newCheckout(email: string) {
  return await withTestDb(async (db) => {
    const customer = await ensureCustomer(db, { email });
    const [row] = await db
      .insert(checkouts)
      .values({
        number: await nextNumber(db, "CK"),
        customerId: customer.id,
        paymentMethod: "card",
        mode: "payment",
        totalCents: 1000,
      })
      .returning();
    return row!;
  });
}

describe("discount reservations", () => {
  it("two customers racing for the last use: exactly one gets it", async () => {
    const [discount] = await withTestDb((db) =>
      db.insert(discounts).values({ code: "LASTONE", kind: "percent", value: 10, usageLimit: 1 }).returning(),
    );
    const a = await newCheckout("a@racer.test");
    const b = await newCheckout("b@racer.test");
    const until = new Date(Date.now() + 3_600_000);
    // Two pools: two connections, two transactions truly in flight at once.
    const [ha, hb] = [openDb(testEnv), openDb(testEnv)];
    try {
      const results = await Promise.all([
        ha.db.transaction((tx) => reserveDiscount(tx, discount!.id, a.id, until)),
        hb.db.transaction((tx) => reserveDiscount(tx, discount!.id, b.id, until)),
      ]);
      expect(results.sort()).toEqual(["exhausted", "reserved"]);
    } finally {
      await Promise.all([ha.close(), hb.close()]);
    }
  });

  it("a use is counted once, when payment succeeds; a released reservation frees the use", async () => {
    const [discount] = await withTestDb((db) =>
      db.insert(discounts).values({ code: "TWICE", kind: "amount", value: 500, usageLimit: 1 }).returning(),
    );
    const first = await newCheckout("first@buyer.test");
    const second = await newCheckout("second@buyer.test");
    const until = new Date(Date.now() + 3_600_000);
    expect(await withTestDb((db) => db.transaction((tx) => reserveDiscount(tx, discount!.id, first.id, until)))).toBe(
      "reserved",
    );
    expect(await withTestDb((db) => db.transaction((tx) => reserveDiscount(tx, discount!.id, second.id, until)))).toBe(
      "exhausted",
    );
    // The first checkout's session expires: its reservation is given back.
    await withTestDb((db) => releaseDiscount(db, first.id));
    expect(await withTestDb((db) => db.transaction((tx) => reserveDiscount(tx, discount!.id, second.id, until)))).toBe(
      "reserved",
    );
    // Payment succeeds, and its event is replayed: counted once.
    expect(await withTestDb((db) => db.transaction((tx) => redeemDiscount(tx, second.id)))).toBe(true);
    expect(await withTestDb((db) => db.transaction((tx) => redeemDiscount(tx, second.id)))).toBe(false);
    const [after] = await withTestDb((db) => db.select().from(discounts).where(eq(discounts.id, discount!.id)));
    expect(after?.uses).toBe(1);
    const rows = await withTestDb((db) =>
      db.select().from(discountRedemptions).where(eq(discountRedemptions.discountId, discount!.id)),
    );
    expect(rows.map((r) => r.status).sort()).toEqual(["redeemed", "released"]);
  });

  it("a lapsed reservation no longer holds the use", async () => {
    const [discount] = await withTestDb((db) =>
      db.insert(discounts).values({ code: "LAPSED", kind: "percent", value: 5, usageLimit: 1 }).returning(),
    );
    const old = await newCheckout("old@buyer.test");
    const fresh = await newCheckout("fresh@buyer.test");
    await withTestDb((db) =>
      db.transaction((tx) => reserveDiscount(tx, discount!.id, old.id, new Date(Date.now() - 1000))),
    );
    expect(
      await withTestDb((db) =>
        db.transaction((tx) => reserveDiscount(tx, discount!.id, fresh.id, new Date(Date.now() + 60_000))),
      ),
    ).toBe("reserved");
  });
});
