import { and, asc, desc, eq, inArray, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Db } from "./client";
import { adminTasks, checkouts, customers, orderEvents, orders } from "./schema";

/**
 * Read-only views of orders for the admin API and the customer's own page: listing with
 * filters and keyset pagination, one order with its history, open admin tasks. Writers of
 * orders live elsewhere (checkout, webhooks, the order machine).
 */

const parent = alias(orders, "parent_order");

const orderSummary = {
  id: orders.id,
  number: orders.number,
  status: orders.status,
  serviceSlug: orders.serviceSlug,
  quantity: orders.quantity,
  billingInterval: orders.billingInterval,
  paymentMethod: orders.paymentMethod,
  totalCents: orders.totalCents,
  parentNumber: parent.number,
  checkoutNumber: checkouts.number,
  customer: { id: customers.id, email: customers.email, name: customers.name, company: customers.company },
  createdAt: orders.createdAt,
  updatedAt: orders.updatedAt,
};

export interface OrderFilter {
  status?: string | undefined;
  serviceSlug?: string | undefined;
  /** The customer's address, matched exactly (customers are stored lower-cased). */
  customerEmail?: string | undefined;
}

export interface Page {
  limit: number;
  /** The id of the last row of the previous page. */
  cursor?: number | undefined;
}

function orderConditions(filter: OrderFilter): SQL[] {
  const conditions: SQL[] = [];
  if (filter.status !== undefined) conditions.push(eq(orders.status, filter.status));
  if (filter.serviceSlug !== undefined) conditions.push(eq(orders.serviceSlug, filter.serviceSlug));
  if (filter.customerEmail !== undefined)
    conditions.push(eq(customers.email, filter.customerEmail.trim().toLowerCase()));
  return conditions;
}

/**
 * Orders, newest first (created_at, then id), `limit` per page. The cursor is a row id and the
 * page continues strictly after that row's (created_at, id), compared in Postgres so the
 * microsecond timestamps are never rounded through JavaScript dates.
 */
export async function listOrders(db: Db, filter: OrderFilter, page: Page) {
  const conditions = orderConditions(filter);
  const where = conditions.length > 0 ? and(...conditions) : undefined;
  const paged =
    page.cursor === undefined
      ? where
      : and(
          where,
          sql`(${orders.createdAt}, ${orders.id}) < (select o.created_at, o.id from ${orders} o where o.id = ${page.cursor})`,
        );
  const [rows, [count]] = await Promise.all([
    db
      .select(orderSummary)
      .from(orders)
      .innerJoin(customers, eq(customers.id, orders.customerId))
      .leftJoin(parent, eq(parent.id, orders.parentOrderId))
      .leftJoin(checkouts, eq(checkouts.id, orders.checkoutId))
      .where(paged)
      .orderBy(desc(orders.createdAt), desc(orders.id))
      .limit(page.limit + 1),
    db
      .select({ total: sql<number>`count(*)::int` })
      .from(orders)
      .innerJoin(customers, eq(customers.id, orders.customerId))
      .where(where),
  ]);
  const more = rows.length > page.limit;
  const items = more ? rows.slice(0, page.limit) : rows;
  return { orders: items, total: count?.total ?? 0, nextCursor: more ? items[items.length - 1]!.id : null };
}

/** One order with its customer, event log, child orders and the open tasks about it or them. */
export async function orderDetail(db: Db, number: string) {
  const [order] = await db
    .select({
      ...orderSummary,
      lines: orders.lines,
      intake: orders.intake,
      attribution: orders.attribution,
      stripeSubscriptionId: orders.stripeSubscriptionId,
      stripePaymentIntentId: orders.stripePaymentIntentId,
      stripeSessionId: checkouts.stripeSessionId,
    })
    .from(orders)
    .innerJoin(customers, eq(customers.id, orders.customerId))
    .leftJoin(parent, eq(parent.id, orders.parentOrderId))
    .leftJoin(checkouts, eq(checkouts.id, orders.checkoutId))
    .where(eq(orders.number, number));
  if (!order) return undefined;

  const [events, children] = await Promise.all([
    db
      .select({
        id: orderEvents.id,
        type: orderEvents.type,
        fromStatus: orderEvents.fromStatus,
        toStatus: orderEvents.toStatus,
        idempotencyKey: orderEvents.idempotencyKey,
        payload: orderEvents.payload,
        occurredAt: orderEvents.occurredAt,
        recordedAt: orderEvents.recordedAt,
      })
      .from(orderEvents)
      .where(eq(orderEvents.orderId, order.id))
      .orderBy(asc(orderEvents.occurredAt), asc(orderEvents.id)),
    db
      .select({
        id: orders.id,
        number: orders.number,
        status: orders.status,
        serviceSlug: orders.serviceSlug,
        totalCents: orders.totalCents,
        createdAt: orders.createdAt,
      })
      .from(orders)
      .where(eq(orders.parentOrderId, order.id))
      .orderBy(asc(orders.createdAt), asc(orders.id)),
  ]);
  const tasks = await openTasksFor(db, [order.id, ...children.map((c) => c.id)]);
  return { order, events, children, tasks };
}

const taskView = {
  id: adminTasks.id,
  kind: adminTasks.kind,
  title: adminTasks.title,
  detail: adminTasks.detail,
  status: adminTasks.status,
  orderNumber: orders.number,
  claimedBy: adminTasks.claimedBy,
  claimedAt: adminTasks.claimedAt,
  resolvedBy: adminTasks.resolvedBy,
  resolutionNote: adminTasks.resolutionNote,
  createdAt: adminTasks.createdAt,
  doneAt: adminTasks.doneAt,
};

async function openTasksFor(db: Db, orderIds: number[]) {
  return await db
    .select(taskView)
    .from(adminTasks)
    .leftJoin(orders, eq(orders.id, adminTasks.orderId))
    .where(and(eq(adminTasks.status, "open"), inArray(adminTasks.orderId, orderIds)))
    .orderBy(asc(adminTasks.createdAt), asc(adminTasks.id));
}

/** Open admin tasks, oldest first (a work queue); the cursor continues after a task id. */
export async function listOpenTasks(db: Db, page: Page) {
  const open = eq(adminTasks.status, "open");
  const where =
    page.cursor === undefined
      ? open
      : and(
          open,
          sql`(${adminTasks.createdAt}, ${adminTasks.id}) > (select t.created_at, t.id from ${adminTasks} t where t.id = ${page.cursor})`,
        );
  const rows = await db
    .select(taskView)
    .from(adminTasks)
    .leftJoin(orders, eq(orders.id, adminTasks.orderId))
    .where(where)
    .orderBy(asc(adminTasks.createdAt), asc(adminTasks.id))
    .limit(page.limit + 1);
  const more = rows.length > page.limit;
  const items = more ? rows.slice(0, page.limit) : rows;
  return { tasks: items, nextCursor: more ? items[items.length - 1]!.id : null };
}

/**
 * Marks a task done. Idempotent: a task already done is answered as it is (its first doneAt
 * kept). Undefined when there is no such task.
 */
export async function completeTask(db: Db, id: number, resolution: { by: string; note?: string }) {
  await db
    .update(adminTasks)
    .set({ status: "done", doneAt: sql`now()`, resolvedBy: resolution.by, resolutionNote: resolution.note ?? null })
    .where(and(eq(adminTasks.id, id), eq(adminTasks.status, "open")));
  const [task] = await db
    .select(taskView)
    .from(adminTasks)
    .leftJoin(orders, eq(orders.id, adminTasks.orderId))
    .where(eq(adminTasks.id, id));
  return task;
}

export type ClaimOutcome =
  | { outcome: "not_found" }
  | { outcome: "done"; task: TaskView }
  | { outcome: "claimed_by_other"; task: TaskView }
  | { outcome: "claimed"; task: TaskView };

type TaskView = NonNullable<Awaited<ReturnType<typeof taskById>>>;

async function taskById(db: Db, id: number) {
  const [task] = await db
    .select(taskView)
    .from(adminTasks)
    .leftJoin(orders, eq(orders.id, adminTasks.orderId))
    .where(eq(adminTasks.id, id));
  return task;
}

/** Claims an open task for `admin`; one someone else holds only with `force` (one statement, no race). */
export async function claimTask(db: Db, id: number, admin: string, force: boolean): Promise<ClaimOutcome> {
  await db
    .update(adminTasks)
    .set({ claimedBy: admin, claimedAt: sql`now()` })
    .where(
      and(
        eq(adminTasks.id, id),
        eq(adminTasks.status, "open"),
        force ? sql`true` : sql`(${adminTasks.claimedBy} is null or ${adminTasks.claimedBy} = ${admin})`,
      ),
    );
  const task = await taskById(db, id);
  if (!task) return { outcome: "not_found" };
  if (task.status === "done") return { outcome: "done", task };
  if (task.claimedBy !== admin) return { outcome: "claimed_by_other", task };
  return { outcome: "claimed", task };
}

/** Most orders one customer page shows (newest first); a customer has a handful. */
export const CUSTOMER_ORDERS_LIMIT = 200;

/** A customer and their orders, newest first, for the customer's own page. */
export async function customerOrders(db: Db, customerId: number) {
  const [customer] = await db
    .select({ id: customers.id, email: customers.email, name: customers.name, company: customers.company })
    .from(customers)
    .where(eq(customers.id, customerId));
  if (!customer) return undefined;
  const rows = await db
    .select({
      number: orders.number,
      serviceSlug: orders.serviceSlug,
      status: orders.status,
      totalCents: orders.totalCents,
      billingInterval: orders.billingInterval,
      parentNumber: parent.number,
      createdAt: orders.createdAt,
    })
    .from(orders)
    .leftJoin(parent, eq(parent.id, orders.parentOrderId))
    .where(eq(orders.customerId, customerId))
    .orderBy(desc(orders.createdAt), desc(orders.id))
    .limit(CUSTOMER_ORDERS_LIMIT);
  return { customer, orders: rows };
}
