import { and, eq, isNull, lt, ne, or, sql } from "drizzle-orm";
import type { Db } from "./client";
import { stripeEvents } from "./schema";

export type StripeEventRow = typeof stripeEvents.$inferSelect;

/**
 * Records a verified event under its own id before anything acts on it. `inserted` is false
 * for a replay; `processed` says whether the earlier delivery was carried out to the end.
 */
export async function recordStripeEvent(
  db: Db,
  event: { id: string; type: string; created: number; payload: unknown },
): Promise<{ inserted: boolean; processed: boolean }> {
  const rows = await db
    .insert(stripeEvents)
    .values({
      eventId: event.id,
      type: event.type,
      stripeCreated: new Date(event.created * 1000),
      payload: event.payload,
    })
    .onConflictDoNothing()
    .returning({ eventId: stripeEvents.eventId });
  if (rows.length > 0) return { inserted: true, processed: false };
  const [existing] = await db
    .select({ processedAt: stripeEvents.processedAt })
    .from(stripeEvents)
    .where(eq(stripeEvents.eventId, event.id));
  return { inserted: false, processed: existing?.processedAt != null };
}

export async function getStripeEvent(db: Db, eventId: string): Promise<StripeEventRow | undefined> {
  const [row] = await db.select().from(stripeEvents).where(eq(stripeEvents.eventId, eventId));
  return row;
}

/** Marks the event processed, once: a second finisher (a concurrent redelivery) changes nothing. */
export async function finishStripeEvent(
  db: Db,
  eventId: string,
  result: { outcome: string; error?: string | null },
): Promise<void> {
  await db
    .update(stripeEvents)
    .set({ processedAt: sql`now()`, outcome: result.outcome, error: result.error?.slice(0, 4000) ?? null })
    .where(and(eq(stripeEvents.eventId, eventId), isNull(stripeEvents.processedAt)));
}

/**
 * Whether another `invoice.payment_failed` for the same invoice happened before this one (by
 * Stripe's `created`, the event id breaking ties), so exactly the earliest recorded failure
 * counts as the first.
 */
export async function earlierInvoiceFailure(
  db: Db,
  event: { eventId: string; stripeCreated: Date },
  invoiceId: string,
): Promise<boolean> {
  const [row] = await db
    .select({ eventId: stripeEvents.eventId })
    .from(stripeEvents)
    .where(
      and(
        eq(stripeEvents.type, "invoice.payment_failed"),
        sql`${stripeEvents.payload} -> 'data' -> 'object' ->> 'id' = ${invoiceId}`,
        ne(stripeEvents.eventId, event.eventId),
        or(
          lt(stripeEvents.stripeCreated, event.stripeCreated),
          and(eq(stripeEvents.stripeCreated, event.stripeCreated), lt(stripeEvents.eventId, event.eventId)),
        ),
      ),
    )
    .limit(1);
  return row !== undefined;
}

/**
 * Reopens events recorded as `unknown_order` that name a Stripe payment intent or subscription
 * just linked to an order: they arrived before the event that links them (Stripe does not
 * guarantee order) and can be applied now. Returns their ids; the caller enqueues them. The
 * outcome stays `unknown_order` until they are processed again, so a retry finds them again.
 */
export async function reopenOrphanedEvents(
  db: Db,
  links: { paymentIntentId?: string; subscriptionId?: string },
  exceptEventId: string,
): Promise<string[]> {
  const object = sql`${stripeEvents.payload} -> 'data' -> 'object'`;
  const conditions = [];
  if (links.paymentIntentId) conditions.push(sql`${object} ->> 'payment_intent' = ${links.paymentIntentId}`);
  if (links.subscriptionId) {
    conditions.push(sql`${object} ->> 'subscription' = ${links.subscriptionId}`);
    conditions.push(sql`${object} #>> '{parent,subscription_details,subscription}' = ${links.subscriptionId}`);
    conditions.push(
      sql`(${stripeEvents.type} like 'customer.subscription.%' and ${object} ->> 'id' = ${links.subscriptionId})`,
    );
  }
  if (conditions.length === 0) return [];
  const rows = await db
    .update(stripeEvents)
    .set({ processedAt: null })
    .where(and(eq(stripeEvents.outcome, "unknown_order"), ne(stripeEvents.eventId, exceptEventId), or(...conditions)))
    .returning({ eventId: stripeEvents.eventId });
  return rows.map((r) => r.eventId);
}
