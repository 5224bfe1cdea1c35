import { asc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "./client";
import { adminTasks, checkouts, customers, orderEvents, orders } from "./schema";

/**
 * Reads and writes for government-fee child orders (workers/orders/government-fee.ts) and the
 * customer's order pages. Status is never written here: the OrderMachine owns it. What is
 * written: the child order row when it is created, its priced lines once it is paid, history
 * entries that are not status transitions (requested, checkout opened, disputed), and the
 * admin task of a dispute.
 */

export type OrderRow = typeof orders.$inferSelect;

export interface OrderWithCustomer {
  order: OrderRow;
  customer: { id: number; email: string; name: string | null; company: string | null; stripeCustomerId: string | null };
  parentNumber: string | null;
}

const customerColumns = {
  id: customers.id,
  email: customers.email,
  name: customers.name,
  company: customers.company,
  stripeCustomerId: customers.stripeCustomerId,
};

/** An order by number, with its customer and its parent's number. */
export async function findOrderWithCustomer(db: Db, number: string): Promise<OrderWithCustomer | undefined> {
  const [row] = await db
    .select({ order: orders, customer: customerColumns })
    .from(orders)
    .innerJoin(customers, eq(customers.id, orders.customerId))
    .where(eq(orders.number, number));
  if (!row) return undefined;
  let parentNumber: string | null = null;
  if (row.order.parentOrderId !== null) {
    const [parent] = await db
      .select({ number: orders.number })
      .from(orders)
      .where(eq(orders.id, row.order.parentOrderId));
    parentNumber = parent?.number ?? null;
  }
  return { ...row, parentNumber };
}

export async function findOrderById(db: Db, orderId: number): Promise<OrderRow | undefined> {
  const [row] = await db.select().from(orders).where(eq(orders.id, orderId));
  return row;
}

/** Locks an order row for the rest of the caller's transaction (serialises fee requests per parent). */
export async function lockOrder(tx: Db, orderId: number): Promise<OrderRow | undefined> {
  const [row] = await tx.select().from(orders).where(eq(orders.id, orderId)).for("update");
  return row;
}

export async function childOrdersOf(db: Db, parentId: number): Promise<OrderRow[]> {
  return await db
    .select()
    .from(orders)
    .where(eq(orders.parentOrderId, parentId))
    .orderBy(asc(orders.createdAt), asc(orders.id));
}

export interface NewChildOrder {
  number: string;
  customerId: number;
  parentOrderId: number;
  serviceSlug: string;
  lines: unknown;
  totalCents: number;
  /** The method the child will most likely be paid with; the one really used is settled on payment. */
  paymentMethod: OrderRow["paymentMethod"];
}

export async function insertChildOrder(tx: Db, child: NewChildOrder): Promise<OrderRow> {
  const [row] = await tx
    .insert(orders)
    .values({
      number: child.number,
      customerId: child.customerId,
      parentOrderId: child.parentOrderId,
      serviceSlug: child.serviceSlug,
      quantity: 1,
      billingInterval: "none",
      status: "pending_payment",
      lines: child.lines,
      totalCents: child.totalCents,
      paymentMethod: child.paymentMethod,
    })
    .returning();
  if (!row) throw new Error(`child order ${child.number} was not stored`);
  return row;
}

export interface HistoryEntry {
  orderId: number;
  type: string;
  key: string;
  fromStatus: string | null;
  toStatus: string;
  payload?: unknown;
  occurredAt?: Date;
}

/** Appends a history entry once per (order, key). Returns whether this call added it. */
export async function recordOrderEvent(db: Db, entry: HistoryEntry): Promise<boolean> {
  const rows = await db
    .insert(orderEvents)
    .values({
      orderId: entry.orderId,
      type: entry.type,
      idempotencyKey: entry.key,
      fromStatus: entry.fromStatus,
      toStatus: entry.toStatus,
      payload: entry.payload ?? null,
      occurredAt: entry.occurredAt ?? new Date(),
    })
    .onConflictDoNothing({ target: [orderEvents.orderId, orderEvents.idempotencyKey] })
    .returning({ id: orderEvents.id });
  return rows.length > 0;
}

export interface EventView {
  type: string;
  fromStatus: string | null;
  toStatus: string;
  payload: unknown;
  occurredAt: Date;
}

/** An order's history, oldest first. */
export async function eventsOf(db: Db, orderId: number): Promise<EventView[]> {
  return await db
    .select({
      type: orderEvents.type,
      fromStatus: orderEvents.fromStatus,
      toStatus: orderEvents.toStatus,
      payload: orderEvents.payload,
      occurredAt: orderEvents.occurredAt,
    })
    .from(orderEvents)
    .where(eq(orderEvents.orderId, orderId))
    .orderBy(asc(orderEvents.occurredAt), asc(orderEvents.id));
}

/** History of several orders at once (a parent's children), keyed by order id. */
export async function eventsOfMany(db: Db, orderIds: number[]): Promise<Map<number, EventView[]>> {
  const byOrder = new Map<number, EventView[]>(orderIds.map((id) => [id, []]));
  if (orderIds.length === 0) return byOrder;
  const rows = await db
    .select({
      orderId: orderEvents.orderId,
      type: orderEvents.type,
      fromStatus: orderEvents.fromStatus,
      toStatus: orderEvents.toStatus,
      payload: orderEvents.payload,
      occurredAt: orderEvents.occurredAt,
    })
    .from(orderEvents)
    .where(inArray(orderEvents.orderId, orderIds))
    .orderBy(asc(orderEvents.occurredAt), asc(orderEvents.id));
  for (const { orderId, ...event } of rows) byOrder.get(orderId)?.push(event);
  return byOrder;
}

/** The child's lines, total and method once it is paid (what the customer really paid). */
export async function settleChildOrder(
  db: Db,
  orderId: number,
  settled: { lines: unknown; totalCents: number; paymentMethod: OrderRow["paymentMethod"] },
): Promise<void> {
  await db
    .update(orders)
    .set({
      lines: settled.lines,
      totalCents: settled.totalCents,
      paymentMethod: settled.paymentMethod,
      updatedAt: sql`now()`,
    })
    .where(eq(orders.id, orderId));
}

/** Opens an admin task once per dedupe key; returns whether this call opened it. */
export async function openTaskOnce(
  db: Db,
  task: { kind: string; title: string; detail: unknown; orderId: number; dedupeKey: string },
): Promise<boolean> {
  const rows = await db
    .insert(adminTasks)
    .values({
      kind: task.kind,
      title: task.title.slice(0, 500),
      detail: task.detail,
      orderId: task.orderId,
      dedupeKey: task.dedupeKey,
    })
    .onConflictDoNothing({ target: adminTasks.dedupeKey })
    .returning({ id: adminTasks.id });
  return rows.length > 0;
}

/** A checkout (CK-…) with its orders, for the confirmation page. */
export async function checkoutOrders(db: Db, checkoutNumber: string): Promise<OrderRow[] | undefined> {
  const [checkout] = await db.select({ id: checkouts.id }).from(checkouts).where(eq(checkouts.number, checkoutNumber));
  if (!checkout) return undefined;
  return await db.select().from(orders).where(eq(orders.checkoutId, checkout.id)).orderBy(asc(orders.id));
}
