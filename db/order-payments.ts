import { and, eq, inArray, isNull, notExists, or, sql, type SQL } from "drizzle-orm";
import type { Db } from "./client";
import { adminTasks, checkouts, customers, orderEvents, orders } from "./schema";

/**
 * What the payment side (Stripe webhooks) reads and writes about orders besides their status,
 * which only the OrderMachine writes: finding the orders an event names, recording Stripe's
 * ids on them, closing their checkout, and opening an admin task when nothing matches.
 */

export interface PaymentOrder {
  id: number;
  number: string;
  checkoutId: number | null;
  customerId: number;
  customerEmail: string;
  serviceSlug: string;
  billingInterval: "none" | "month" | "year";
  status: string;
  totalCents: number;
}

export interface OrderLookup {
  orderNumbers: string[];
  clientReferenceId?: string;
  sessionId?: string;
  subscriptionId?: string;
  paymentIntentId?: string;
}

/**
 * Every order any of the references names (their union): order numbers outright, the
 * `client_reference_id` as an order number or as a checkout number (its orders), the checkout
 * by its Stripe session, the Stripe subscription, or the payment intent.
 */
export async function findOrdersForPayment(db: Db, refs: OrderLookup): Promise<PaymentOrder[]> {
  const numbers = [...new Set([...refs.orderNumbers, ...(refs.clientReferenceId ? [refs.clientReferenceId] : [])])];
  const conditions: SQL[] = [];
  if (numbers.length > 0) conditions.push(inArray(orders.number, numbers));
  if (refs.clientReferenceId) conditions.push(eq(checkouts.number, refs.clientReferenceId));
  if (refs.sessionId) conditions.push(eq(checkouts.stripeSessionId, refs.sessionId));
  if (refs.subscriptionId) conditions.push(eq(orders.stripeSubscriptionId, refs.subscriptionId));
  if (refs.paymentIntentId) conditions.push(eq(orders.stripePaymentIntentId, refs.paymentIntentId));
  if (conditions.length === 0) return [];
  return await db
    .select({
      id: orders.id,
      number: orders.number,
      checkoutId: orders.checkoutId,
      customerId: orders.customerId,
      customerEmail: customers.email,
      serviceSlug: orders.serviceSlug,
      billingInterval: orders.billingInterval,
      status: orders.status,
      totalCents: orders.totalCents,
    })
    .from(orders)
    .innerJoin(customers, eq(customers.id, orders.customerId))
    .leftJoin(checkouts, eq(checkouts.id, orders.checkoutId))
    .where(or(...conditions))
    .orderBy(orders.id);
}

/**
 * Records Stripe's ids where none is recorded yet (a replay or a later event never overwrites
 * one): the subscription on recurring orders, the payment intent on all, the Stripe customer
 * on the customer unless another customer already holds it. Says which ids were new.
 */
export async function linkStripeIds(
  db: Db,
  found: PaymentOrder[],
  link: { subscriptionId?: string; paymentIntentId?: string; customerId?: string },
): Promise<{ subscriptionLinked: boolean; paymentIntentLinked: boolean }> {
  const ids = found.map((o) => o.id);
  const recurring = found.filter((o) => o.billingInterval !== "none").map((o) => o.id);
  let subscriptionLinked = false;
  let paymentIntentLinked = false;
  if (link.subscriptionId && recurring.length > 0) {
    const rows = await db
      .update(orders)
      .set({ stripeSubscriptionId: link.subscriptionId })
      .where(and(inArray(orders.id, recurring), isNull(orders.stripeSubscriptionId)))
      .returning({ id: orders.id });
    subscriptionLinked = rows.length > 0;
  }
  if (link.paymentIntentId && ids.length > 0) {
    const rows = await db
      .update(orders)
      .set({ stripePaymentIntentId: link.paymentIntentId })
      .where(and(inArray(orders.id, ids), isNull(orders.stripePaymentIntentId)))
      .returning({ id: orders.id });
    paymentIntentLinked = rows.length > 0;
  }
  const customerIds = [...new Set(found.map((o) => o.customerId))];
  if (link.customerId && customerIds.length === 1) {
    const holder = db
      .select({ id: customers.id })
      .from(customers)
      .where(eq(customers.stripeCustomerId, link.customerId));
    await db
      .update(customers)
      .set({ stripeCustomerId: link.customerId })
      .where(and(eq(customers.id, customerIds[0]!), isNull(customers.stripeCustomerId), notExists(holder)));
  }
  return { subscriptionLinked, paymentIntentLinked };
}

/** Moves open checkouts to completed or expired; a checkout that left `open` stays where it is. */
export async function closeCheckouts(db: Db, checkoutIds: number[], status: "completed" | "expired"): Promise<void> {
  if (checkoutIds.length === 0) return;
  await db
    .update(checkouts)
    .set({ status })
    .where(and(inArray(checkouts.id, checkoutIds), eq(checkouts.status, "open")));
}

/** Opens an admin task once per dedupe key. Returns whether this call opened it. */
export async function openAdminTask(
  db: Db,
  task: { kind: string; title: string; detail?: unknown; orderId?: number | null; dedupeKey: string },
): Promise<boolean> {
  const rows = await db
    .insert(adminTasks)
    .values({
      kind: task.kind,
      title: task.title.slice(0, 500),
      detail: task.detail ?? null,
      orderId: task.orderId ?? null,
      dedupeKey: task.dedupeKey,
    })
    .onConflictDoNothing()
    .returning({ id: adminTasks.id });
  return rows.length > 0;
}

/** Closes an open admin task (it resolved itself), keeping a note of how. */
export async function resolveAdminTask(db: Db, dedupeKey: string, note: string): Promise<boolean> {
  const rows = await db
    .update(adminTasks)
    .set({
      status: "done",
      doneAt: sql`now()`,
      detail: sql`coalesce(${adminTasks.detail}, '{}'::jsonb) || jsonb_build_object('resolution', ${note}::text)`,
    })
    .where(and(eq(adminTasks.dedupeKey, dedupeKey), eq(adminTasks.status, "open")))
    .returning({ id: adminTasks.id });
  return rows.length > 0;
}

/** The order row by number, for the OrderMachine's first event. */
export async function orderIdentity(
  db: Db,
  number: string,
): Promise<
  | {
      id: number;
      serviceSlug: string;
      billingInterval: "none" | "month" | "year";
      parentOrderId: number | null;
      intake: unknown;
    }
  | undefined
> {
  const [row] = await db
    .select({
      id: orders.id,
      serviceSlug: orders.serviceSlug,
      billingInterval: orders.billingInterval,
      parentOrderId: orders.parentOrderId,
      intake: orders.intake,
    })
    .from(orders)
    .where(eq(orders.number, number));
  return row;
}

export interface MirroredEvent {
  type: string;
  idempotencyKey: string;
  fromStatus: string | null;
  toStatus: string;
  payload: unknown;
  occurredAt: Date;
}

export interface MirroredState {
  status: string;
  /** Absent for orders without a lifecycle (government-fee children keep what they were given). */
  intake?: Record<string, unknown>;
  nextDueOn: string | null;
  completedAt: Date | null;
}

/**
 * The OrderMachine's mirror: its events (once each, by idempotency key) and its current status,
 * intake and due date, in one transaction. Only the machine calls this; it is the only writer of
 * `orders.status` and `orders.intake` once the order exists.
 */
export async function mirrorOrderMachine(
  db: Db,
  orderId: number,
  state: MirroredState,
  events: MirroredEvent[],
): Promise<void> {
  await db.transaction(async (tx) => {
    if (events.length > 0) {
      await tx
        .insert(orderEvents)
        .values(events.map((e) => ({ orderId, ...e })))
        .onConflictDoNothing({ target: [orderEvents.orderId, orderEvents.idempotencyKey] });
    }
    await tx
      .update(orders)
      .set({
        status: state.status,
        ...(state.intake !== undefined ? { intake: state.intake } : {}),
        nextDueOn: state.nextDueOn,
        completedAt: state.completedAt,
        updatedAt: sql`now()`,
      })
      .where(eq(orders.id, orderId));
  });
}
