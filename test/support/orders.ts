import { runDurableObjectAlarm } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { and, asc, eq } from "drizzle-orm";
import { inject } from "vitest";
import { adminTasks, orderEvents, orders } from "../../db/schema";
import type { ApplyResult, MachineSnapshot } from "../../durable-objects/order-machine";
import { testEnv, withTestDb } from "./db";
import { simAndRelay } from "./fake-stripe";
import { waitFor } from "./wait-for";

/**
 * Orders the way production makes them: POST /api/checkout (priced from the catalog, a Stripe
 * Checkout Session on the fake Stripe), then the customer pays on the stand-in page and the
 * signed webhooks go through the Worker's real /webhooks/stripe route and fulfillment queue.
 */

export const call = (path: string, init?: RequestInit) =>
  exports.default.fetch(new Request(`http://docket.test${path}`, init));

export const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

export const form = (fields: Record<string, string>): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://docket.test" },
  body: new URLSearchParams(fields).toString(),
  redirect: "manual",
});

export interface PlacedOrder {
  orderNumber: string;
  sessionId: string;
  email: string;
}

/** One service bought and paid by card; resolves once the order's status left pending_payment. */
export async function buyAndPay(opts: {
  slug: string;
  email: string;
  intake?: Record<string, unknown>;
  name?: string;
  /** Extra request headers, e.g. the attribution cookie a tracked click set. */
  headers?: Record<string, string>;
}): Promise<PlacedOrder> {
  const res = await call(
    "/api/checkout",
    json(
      {
        items: [{ slug: opts.slug }],
        customer: { email: opts.email, name: opts.name ?? "Dana Reyes" },
        paymentMethod: "card",
        ...(opts.intake ? { intake: { [opts.slug]: opts.intake } } : {}),
      },
      opts.headers,
    ),
  );
  if (res.status !== 201) throw new Error(`checkout answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { sessionId: string; orderNumbers: string[] };
  const orderNumber = body.orderNumbers[0]!;
  await simAndRelay(`checkout/sessions/${body.sessionId}/pay`, { email: opts.email });
  await waitForOrder(orderNumber, (o) => o.status !== "pending_payment", "the payment to be applied");
  return { orderNumber, sessionId: body.sessionId, email: opts.email };
}

export type OrderRow = typeof orders.$inferSelect;

export async function orderRow(number: string): Promise<OrderRow | undefined> {
  return await withTestDb(async (db) => (await db.select().from(orders).where(eq(orders.number, number)))[0]);
}

export async function waitForOrder(
  number: string,
  predicate: (o: OrderRow) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<OrderRow> {
  return await waitFor(
    async () => {
      const row = await orderRow(number);
      return row && predicate(row) ? row : undefined;
    },
    timeoutMs,
    `${number}: ${what}`,
  );
}

export const waitForStatus = (number: string, status: string, timeoutMs?: number) =>
  waitForOrder(number, (o) => o.status === status, `status ${status}`, timeoutMs);

export async function orderEventsOf(number: string) {
  return await withTestDb(async (db) => {
    const order = (await db.select({ id: orders.id }).from(orders).where(eq(orders.number, number)))[0];
    if (!order) return [];
    return await db.select().from(orderEvents).where(eq(orderEvents.orderId, order.id)).orderBy(asc(orderEvents.id));
  });
}

export async function tasksOf(number: string, status?: "open" | "done") {
  return await withTestDb(async (db) => {
    const order = (await db.select({ id: orders.id }).from(orders).where(eq(orders.number, number)))[0];
    if (!order) return [];
    return await db
      .select()
      .from(adminTasks)
      .where(
        status
          ? and(eq(adminTasks.orderId, order.id), eq(adminTasks.status, status))
          : eq(adminTasks.orderId, order.id),
      )
      .orderBy(asc(adminTasks.id));
  });
}

export function machine(number: string) {
  const stub = testEnv.ORDER_MACHINE.get(testEnv.ORDER_MACHINE.idFromName(number));
  return {
    stub,
    apply: async (...args: Parameters<typeof stub.apply>) => (await stub.apply(...args)) as ApplyResult,
    snapshot: async () => (await stub.snapshot()) as unknown as MachineSnapshot,
    /** Moves the machine's clock (DEV_CLOCK_CONTROL) and runs its alarm as if it fired then. */
    async fireAt(at: Date | string): Promise<boolean> {
      await stub.setClock(typeof at === "string" ? at : at.toISOString());
      return await runDurableObjectAlarm(stub);
    },
  };
}

export interface SinkMessage {
  id: string;
  envelope: { from: string; to: string[] };
  subject: string | null;
  messageId?: string | null;
}

/** Every message the SMTP sink received for `address`, oldest first. */
export async function mailFor(address: string): Promise<SinkMessage[]> {
  const { httpPort } = inject("smtp");
  const all = (await (await fetch(`http://127.0.0.1:${httpPort}/messages`)).json()) as SinkMessage[];
  return all.filter((m) => m.envelope.to.map((t) => t.toLowerCase()).includes(address.toLowerCase())).reverse();
}

export async function rawMail(id: string): Promise<string> {
  const { httpPort } = inject("smtp");
  return await (await fetch(`http://127.0.0.1:${httpPort}/messages/${id}/raw`)).text();
}

/** The first link in a message whose URL contains `fragment` (quoted-printable and HTML undone). */
export async function linkIn(messageId: string, fragment: string): Promise<string> {
  const raw = await rawMail(messageId);
  const decoded = raw
    .replace(/=\r?\n/g, "")
    .replace(/=3D/g, "=")
    .replace(/&amp;/g, "&");
  const url = decoded.match(
    new RegExp(`https?://[^\\s"<>]*${fragment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}[^\\s"<>]*`),
  );
  if (!url) throw new Error(`no link containing ${fragment} in message ${messageId}`);
  return url[0];
}
