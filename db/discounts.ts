import { and, eq, gt, inArray, sql } from "drizzle-orm";
import type { Db } from "./client";
import { discountRedemptions, discounts } from "./schema";

export type DiscountRow = typeof discounts.$inferSelect;

export async function findDiscount(db: Db, code: string): Promise<DiscountRow | undefined> {
  const [row] = await db.select().from(discounts).where(eq(discounts.code, code.trim().toUpperCase()));
  return row;
}

/**
 * Reserves one use of a discount for a checkout, inside the caller's transaction. The
 * discount row is locked, so two customers racing for the last use are serialised: uses
 * already redeemed plus live reservations must stay under the limit, and exactly one of them
 * gets it. The use is counted (`uses`) only when the payment succeeds; an expired or failed
 * checkout releases its reservation.
 */
export async function reserveDiscount(
  tx: Db,
  discountId: number,
  checkoutId: number,
  reservedUntil: Date,
): Promise<"reserved" | "exhausted"> {
  const [discount] = await tx.select().from(discounts).where(eq(discounts.id, discountId)).for("update");
  if (!discount) return "exhausted";
  if (discount.usageLimit !== null) {
    const [held] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(discountRedemptions)
      .where(
        and(
          eq(discountRedemptions.discountId, discountId),
          eq(discountRedemptions.status, "reserved"),
          gt(discountRedemptions.reservedUntil, sql`now()`),
        ),
      );
    if (discount.uses + (held?.n ?? 0) >= discount.usageLimit) return "exhausted";
  }
  await tx.insert(discountRedemptions).values({ discountId, checkoutId, reservedUntil });
  return "reserved";
}

/** Gives back a checkout's reservation (its session expired or its payment failed). */
export async function releaseDiscount(db: Db, checkoutId: number): Promise<void> {
  await db
    .update(discountRedemptions)
    .set({ status: "released" })
    .where(and(eq(discountRedemptions.checkoutId, checkoutId), eq(discountRedemptions.status, "reserved")));
}

/**
 * Counts the use once, when the checkout's payment succeeds: a reservation turns into a
 * redemption once, so a replayed success counts nothing. A released one counts too: the
 * customer paid the discounted price (an ACH payment can settle after its session expired),
 * and the count must say how many were really given.
 */
export async function redeemDiscount(tx: Db, checkoutId: number): Promise<boolean> {
  const [redeemed] = await tx
    .update(discountRedemptions)
    .set({ status: "redeemed", redeemedAt: sql`now()` })
    .where(
      and(
        eq(discountRedemptions.checkoutId, checkoutId),
        inArray(discountRedemptions.status, ["reserved", "released"]),
      ),
    )
    .returning({ discountId: discountRedemptions.discountId });
  if (!redeemed) return false;
  await tx
    .update(discounts)
    .set({ uses: sql`${discounts.uses} + 1` })
    .where(eq(discounts.id, redeemed.discountId));
  return true;
}
