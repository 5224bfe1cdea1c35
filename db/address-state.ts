import { sql } from "drizzle-orm";
import type { Db } from "./client";
import { emailAddresses, suppressions, SUPPRESSION_REASONS } from "./schema";

export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];
type VerificationResult = (typeof emailAddresses.$inferInsert)["verificationResult"];

export function normalizeAddress(address: string): { address: string; domain: string } {
  const a = address.trim().toLowerCase();
  return { address: a, domain: a.slice(a.lastIndexOf("@") + 1) };
}

/** Suppresses an address; the first reason stands (a complaint after a hard bounce keeps "hard_bounce"). */
export async function suppressAddress(
  db: Db,
  address: string,
  reason: SuppressionReason,
  source: string,
): Promise<boolean> {
  const rows = await db
    .insert(suppressions)
    .values({ address: normalizeAddress(address).address, reason, source })
    .onConflictDoNothing()
    .returning({ address: suppressions.address });
  return rows.length > 0;
}

export async function setVerificationResult(
  db: Db,
  address: string,
  result: NonNullable<VerificationResult>,
): Promise<void> {
  const a = normalizeAddress(address);
  await db
    .insert(emailAddresses)
    .values({
      ...a,
      verificationResult: result,
      ...(result === "send_confirmed" ? { lastDeliveredAt: sql`now()` } : {}),
    })
    .onConflictDoUpdate({
      target: emailAddresses.address,
      set: {
        verificationResult: result,
        updatedAt: sql`now()`,
        ...(result === "send_confirmed" ? { lastDeliveredAt: sql`now()`, softBounces: 0 } : {}),
      },
    });
}

/** Counts a soft bounce; returns the address's count of soft bounces since its last delivery. */
export async function countSoftBounce(db: Db, address: string): Promise<number> {
  const a = normalizeAddress(address);
  const [row] = await db
    .insert(emailAddresses)
    .values({ ...a, softBounces: 1, lastBounceAt: sql`now()` })
    .onConflictDoUpdate({
      target: emailAddresses.address,
      set: { softBounces: sql`${emailAddresses.softBounces} + 1`, lastBounceAt: sql`now()`, updatedAt: sql`now()` },
    })
    .returning({ softBounces: emailAddresses.softBounces });
  return row?.softBounces ?? 1;
}

export async function markHardBounced(db: Db, address: string): Promise<void> {
  const a = normalizeAddress(address);
  await db
    .insert(emailAddresses)
    .values({ ...a, verificationResult: "hard_bounced", lastBounceAt: sql`now()` })
    .onConflictDoUpdate({
      target: emailAddresses.address,
      set: { verificationResult: "hard_bounced", lastBounceAt: sql`now()`, updatedAt: sql`now()` },
    });
}
