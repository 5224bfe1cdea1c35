import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { openDb, type Db, type DbHandle } from "../db/client";
import { mirrorOrderMachine, orderIdentity } from "../db/order-payments";
import { loadAppConfig } from "../domain/config/app-config";
import {
  applyPaymentEvent,
  foldPaymentEvents,
  initialFacts,
  PAYMENT_STATUSES,
  statusOf,
  type PaymentEventType,
  type PaymentFacts,
  type PaymentRejectionCode,
  type PaymentStatus,
} from "../domain/orders/payment-state";
import type { Env } from "../workers/env";
import { storagePing, type PingResult } from "./storage-ping";

/**
 * One instance per order, the only writer of that order's state (DESIGN.md, "The order
 * machine"). SQLite-backed (`new_sqlite_classes`); native RPC methods on the prototype.
 *
 * Storage: one `machine` row (which order, its Postgres id, one-time or recurring, current
 * status) and an append-only `events` log, unique by idempotency key. The status is never
 * "whatever the last event said": it is folded from the whole log by the pure transition
 * function (domain/orders/payment-state.ts), so events that arrive out of order end in the
 * same state as in order.
 *
 * After an event is stored, the machine mirrors it to Postgres (`order_events`, unique per
 * order and key, and `orders.status`), the only place that writes an order's status. An event
 * is marked mirrored only after Postgres took it: if Postgres fails, the call throws, the
 * caller retries, and the retry (a duplicate key, so a no-op here) mirrors what is pending.
 *
 * Calls are applied one at a time (an in-memory queue): the mirror awaits Postgres, and two
 * interleaved applies could otherwise write an older status over a newer one.
 */

/** An event as callers hand it over: `at` in ISO 8601, `payload` a JSON object. */
export interface MachineEventInput {
  type: string;
  key: string;
  at: string;
  payload: Record<string, unknown>;
}

export type MachineRejectionCode = PaymentRejectionCode | "ORDER_NOT_FOUND";

export type ApplyResult =
  | {
      outcome: "applied";
      orderNumber: string;
      previousStatus: PaymentStatus;
      status: PaymentStatus;
      changed: boolean;
      seq: number;
      /** The renewal cycle (invoice id) this event opened, when it opened one. */
      cycleOpened?: string;
    }
  /** The key was seen before: nothing changed. */
  | { outcome: "duplicate"; orderNumber: string; status: PaymentStatus }
  /** The event is not allowed for this order: nothing was recorded. */
  | {
      outcome: "rejected";
      orderNumber: string;
      status: PaymentStatus;
      code: MachineRejectionCode;
      message: string;
      allowed: PaymentEventType[];
    };

export interface MachineLogEntry {
  seq: number;
  key: string;
  type: string;
  at: string;
  payload: Record<string, unknown>;
  fromStatus: PaymentStatus;
  toStatus: PaymentStatus;
  recordedAt: string;
  mirrored: boolean;
}

export interface MachineSnapshot {
  orderNumber: string;
  orderId: number;
  recurring: boolean;
  status: PaymentStatus;
  facts: PaymentFacts;
  events: MachineLogEntry[];
}

const eventInput = z.object({
  type: z.string().min(1).max(100),
  key: z.string().min(1).max(255),
  at: z.iso.datetime({ offset: true }),
  payload: z.record(z.string(), z.unknown()),
});

type MachineRow = {
  order_number: string;
  order_id: number;
  recurring: number;
  status: string;
  updated_at: string;
};

type EventRow = {
  seq: number;
  key: string;
  type: string;
  at: string;
  payload: string;
  from_status: string;
  to_status: string;
  recorded_at: string;
  mirrored: number;
};

const SCHEMA = [
  `create table if not exists machine (
     id integer primary key check (id = 1),
     order_number text not null,
     order_id integer not null,
     recurring integer not null,
     status text not null,
     updated_at text not null
   )`,
  `create table if not exists events (
     seq integer primary key autoincrement,
     key text not null unique,
     type text not null,
     at text not null,
     payload text not null,
     from_status text not null,
     to_status text not null,
     recorded_at text not null,
     mirrored integer not null default 0
   )`,
  "create index if not exists events_unmirrored on events (seq) where mirrored = 0",
];

function asStatus(value: string): PaymentStatus {
  if ((PAYMENT_STATUSES as readonly string[]).includes(value)) return value as PaymentStatus;
  throw new Error(`stored status "${value}" is not a payment status`);
}

function logEntry(row: EventRow): MachineLogEntry {
  return {
    seq: row.seq,
    key: row.key,
    type: row.type,
    at: row.at,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    fromStatus: asStatus(row.from_status),
    toStatus: asStatus(row.to_status),
    recordedAt: row.recorded_at,
    mirrored: row.mirrored === 1,
  };
}

export class OrderMachine extends DurableObject<Env> {
  #tail: Promise<unknown> = Promise.resolve();
  #schemaReady = false;

  async ping(): Promise<PingResult> {
    return storagePing(this.ctx, "OrderMachine");
  }

  /**
   * Applies one event to order `orderNumber` (the name this object was addressed by). A key
   * seen before is a no-op that returns the current status; an event the order does not allow
   * is a typed rejection, never a throw. Throws only when Postgres cannot be reached (retry).
   */
  async apply(orderNumber: string, event: MachineEventInput): Promise<ApplyResult> {
    const run = this.#tail.then(() => this.#apply(orderNumber, event));
    this.#tail = run.catch(() => undefined);
    return await run;
  }

  /**
   * The machine's state and full log; null before its first event. (Through a typed stub the
   * `unknown` payloads make the result type unusable: callers cast to MachineSnapshot.)
   */
  async snapshot(): Promise<MachineSnapshot | null> {
    this.#ensureSchema();
    const machine = this.#machine();
    if (!machine) return null;
    const events = this.#events();
    const recurring = machine.recurring === 1;
    return {
      orderNumber: machine.order_number,
      orderId: machine.order_id,
      recurring,
      status: asStatus(machine.status),
      facts: foldPaymentEvents(
        recurring,
        events.map((e) => ({ type: e.type, payload: e.payload })),
      ),
      events,
    };
  }

  async #apply(orderNumber: string, input: MachineEventInput): Promise<ApplyResult> {
    this.#ensureSchema();
    let handle: DbHandle | undefined;
    const db = () => (handle ??= openDb(this.#config())).db;
    try {
      let machine = this.#machine();
      if (machine && machine.order_number !== orderNumber) {
        throw new Error(`OrderMachine of ${machine.order_number} was called for ${orderNumber}`);
      }
      const parsed = eventInput.safeParse(input);
      if (!parsed.success) {
        const status = machine ? asStatus(machine.status) : "pending_payment";
        return {
          outcome: "rejected",
          orderNumber,
          status,
          code: "INVALID_PAYLOAD",
          message: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
          allowed: [],
        };
      }
      const event = parsed.data;
      if (!machine) {
        const order = await orderIdentity(db(), orderNumber);
        if (!order) {
          return {
            outcome: "rejected",
            orderNumber,
            status: "pending_payment",
            code: "ORDER_NOT_FOUND",
            message: `no order ${orderNumber} in Postgres`,
            allowed: [],
          };
        }
        const recurring = order.billingInterval !== "none";
        this.ctx.storage.sql.exec(
          "insert into machine (id, order_number, order_id, recurring, status, updated_at) values (1, ?, ?, ?, ?, ?)",
          orderNumber,
          order.id,
          recurring ? 1 : 0,
          statusOf(initialFacts(recurring)),
          new Date().toISOString(),
        );
        machine = this.#machine()!;
      }

      const seen = this.ctx.storage.sql
        .exec<{ seq: number }>("select seq from events where key = ?", event.key)
        .toArray();
      if (seen.length > 0) {
        await this.#mirror(db, machine);
        return { outcome: "duplicate", orderNumber, status: asStatus(machine.status) };
      }

      const recurring = machine.recurring === 1;
      const facts = foldPaymentEvents(
        recurring,
        this.#events().map((e) => ({ type: e.type, payload: e.payload })),
      );
      const result = applyPaymentEvent(facts, event);
      if (!result.ok) return { outcome: "rejected", orderNumber, ...result.rejection };

      const now = new Date().toISOString();
      const seq = this.ctx.storage.transactionSync(() => {
        const row = this.ctx.storage.sql
          .exec<{ seq: number }>(
            "insert into events (key, type, at, payload, from_status, to_status, recorded_at) values (?, ?, ?, ?, ?, ?, ?) returning seq",
            event.key,
            event.type,
            event.at,
            JSON.stringify(event.payload),
            result.previousStatus,
            result.status,
            now,
          )
          .one();
        this.ctx.storage.sql.exec("update machine set status = ?, updated_at = ? where id = 1", result.status, now);
        return row.seq;
      });
      await this.#mirror(db, this.#machine()!);
      return {
        outcome: "applied",
        orderNumber,
        previousStatus: result.previousStatus,
        status: result.status,
        changed: result.status !== result.previousStatus,
        seq,
        ...(result.cycleOpened !== undefined ? { cycleOpened: result.cycleOpened } : {}),
      };
    } finally {
      if (handle) await handle.close();
    }
  }

  /** Writes every event not yet in Postgres, and the current status, then marks them mirrored. */
  async #mirror(db: () => Db, machine: MachineRow): Promise<void> {
    const pending = this.ctx.storage.sql
      .exec<EventRow>("select * from events where mirrored = 0 order by seq")
      .toArray()
      .map(logEntry);
    if (pending.length === 0) return;
    await mirrorOrderMachine(
      db(),
      machine.order_id,
      machine.status,
      pending.map((e) => ({
        type: e.type,
        idempotencyKey: e.key,
        fromStatus: e.fromStatus,
        toStatus: e.toStatus,
        payload: e.payload,
        occurredAt: new Date(e.at),
      })),
    );
    const last = pending[pending.length - 1]!.seq;
    this.ctx.storage.sql.exec("update events set mirrored = 1 where seq <= ? and mirrored = 0", last);
  }

  #ensureSchema(): void {
    if (this.#schemaReady) return;
    for (const statement of SCHEMA) this.ctx.storage.sql.exec(statement);
    this.#schemaReady = true;
  }

  #machine(): MachineRow | undefined {
    return this.ctx.storage.sql
      .exec<MachineRow>("select order_number, order_id, recurring, status, updated_at from machine where id = 1")
      .toArray()[0];
  }

  #events(): MachineLogEntry[] {
    return this.ctx.storage.sql.exec<EventRow>("select * from events order by seq").toArray().map(logEntry);
  }

  #config() {
    const result = loadAppConfig(this.env as unknown as Record<string, unknown>);
    if (!result.ok) throw new Error(`configuration invalid: ${result.problems.join("; ")}`);
    return result.config;
  }
}
