import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { openDb, type Db, type DbHandle } from "../db/client";
import { mirrorOrderMachine, orderIdentity } from "../db/order-payments";
import { loadAppConfig, type AppConfig } from "../domain/config/app-config";
import type { OrderEffect, ReminderKind } from "../domain/orders/order-effects";
import { EVENT_KEYS } from "../domain/orders/order-events";
import { initialOrderState, orderStatusOf, type OrderState } from "../domain/orders/order-state";
import type { OrderStatus } from "../domain/orders/order-status";
import { statusOf, type PaymentStatus } from "../domain/orders/payment-state";
import { allowedEvents, decide, type MachinePolicy, type RejectionCode } from "../domain/orders/transition-table";
import type { IntakeProblem } from "../domain/catalog/intake";
import type { Env } from "../workers/env";
import { runOrderEffect } from "../workers/orders/run-order-effect";
import { storagePing, type PingResult } from "./storage-ping";
import { CLOCK_TABLE, readClockOffset, writeClockOffset } from "./dev-clock";

/**
 * One instance per order, the only writer of that order's state (DESIGN.md, "The order
 * machine"). SQLite-backed; native RPC methods on the prototype.
 *
 * Storage (this object's SQLite):
 * - `machine`: the order it is, and its state after the last event (domain/orders/order-state.ts);
 * - `events`: the append-only log, unique by idempotency key: a key seen before is a no-op;
 * - `schedule`: reminders, one row per kind, each turned into an event by the alarm when due;
 * - `outbox`: effects asked for by stored events and not yet done.
 *
 * Applying an event is one SQLite transaction: the log row, the new state, the schedule changes
 * and the effects to run. Then the machine mirrors the status and log to Postgres (`orders`,
 * `order_events`), runs the outbox and arms the one alarm for the earliest of the next reminder
 * and the next effect retry. A crash anywhere after the transaction loses nothing: the mirror is
 * caught up by the next call, the outbox by the alarm, and effects are safe to repeat
 * (workers/orders/run-order-effect.ts). Calls are applied one at a time (an in-memory queue),
 * since the mirror and the effects await I/O.
 */

export interface MachineEventInput {
  type: string;
  key: string;
  at: string;
  payload: Record<string, unknown>;
}

export type MachineRejectionCode = RejectionCode | "ORDER_NOT_FOUND";

export type ApplyResult =
  | {
      outcome: "applied";
      orderNumber: string;
      previousStatus: OrderStatus;
      status: OrderStatus;
      /** The money side alone (payment-state.ts): "paid" however far the lifecycle has gone. */
      previousPaymentStatus: PaymentStatus;
      paymentStatus: PaymentStatus;
      changed: boolean;
      seq: number;
      /** Effects still in the outbox after this call (failed; the alarm retries them). */
      pendingEffects: number;
    }
  /** The key was seen before: nothing changed. */
  | { outcome: "duplicate"; orderNumber: string; status: OrderStatus; paymentStatus: PaymentStatus }
  /** The event is not allowed for this order: nothing was recorded. */
  | {
      outcome: "rejected";
      orderNumber: string;
      status: OrderStatus;
      code: MachineRejectionCode;
      message: string;
      allowed: string[];
      problems?: IntakeProblem[];
    };

export interface MachineLogEntry {
  seq: number;
  key: string;
  type: string;
  at: string;
  payload: Record<string, unknown>;
  fromStatus: OrderStatus;
  toStatus: OrderStatus;
  recordedAt: string;
  mirrored: boolean;
}

export interface ScheduledReminder {
  kind: ReminderKind;
  n: number;
  round: number;
  dueAt: string;
}

export interface PendingEffect {
  id: number;
  seq: number;
  effect: OrderEffect;
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  dead: boolean;
}

export interface MachineSnapshot {
  orderNumber: string;
  orderId: number;
  status: OrderStatus;
  state: OrderState;
  allowed: string[];
  events: MachineLogEntry[];
  schedule: ScheduledReminder[];
  outbox: PendingEffect[];
  alarmAt: string | null;
  clock: string;
}

const eventInput = z.object({
  type: z.string().min(1).max(100),
  key: z.string().min(1).max(255),
  at: z.iso.datetime({ offset: true }),
  payload: z.record(z.string(), z.unknown()),
});

type MachineRow = { order_number: string; order_id: number; status: string; state: string };
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
type ScheduleRow = { kind: string; n: number; round: number; due_at: number };
type OutboxRow = {
  id: number;
  seq: number;
  effect: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  dead: number;
};

const SCHEMA = [
  `create table if not exists machine (
     id integer primary key check (id = 1),
     order_number text not null,
     order_id integer not null,
     status text not null,
     state text not null,
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
  `create table if not exists schedule (
     kind text primary key,
     n integer not null,
     round integer not null,
     due_at integer not null
   )`,
  `create table if not exists outbox (
     id integer primary key autoincrement,
     seq integer not null,
     effect text not null,
     attempts integer not null default 0,
     next_attempt_at integer not null,
     last_error text,
     dead integer not null default 0
   )`,
  CLOCK_TABLE,
];

/** An effect that keeps failing is retried with backoff, then left for a person (dead). */
const MAX_EFFECT_ATTEMPTS = 8;
const retryDelayMs = (attempts: number) => Math.min(3_600_000, 15_000 * 2 ** (attempts - 1));

function log(level: "info" | "warn" | "error", event: string, fields: Record<string, unknown>) {
  const line = JSON.stringify({ level, event, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

function policyOf(config: AppConfig): MachinePolicy {
  return {
    autoFilingServices: config.AUTO_FILING_SERVICES,
    intakeReminders: {
      firstCount: config.INTAKE_REMINDER_FIRST_COUNT,
      max: config.INTAKE_REMINDER_MAX,
      firstIntervalSeconds: config.INTAKE_REMINDER_FIRST_INTERVAL_SECONDS,
      laterIntervalSeconds: config.INTAKE_REMINDER_LATER_INTERVAL_SECONDS,
    },
    invitation: { afterDays: config.BUNDLE_INVITATION_AFTER_DAYS, untilDays: config.BUNDLE_INVITATION_UNTIL_DAYS },
  };
}

export class OrderMachine extends DurableObject<Env> {
  #tail: Promise<unknown> = Promise.resolve();
  #schemaReady = false;
  #handle: DbHandle | undefined;

  async ping(): Promise<PingResult> {
    return storagePing(this.ctx, "OrderMachine");
  }

  /**
   * Applies one event to order `orderNumber` (the name this object was addressed by). A key
   * seen before is a no-op that returns the current status; an event the order does not allow
   * is a typed rejection, never a throw. Throws only when Postgres cannot be reached (retry).
   */
  async apply(orderNumber: string, event: MachineEventInput): Promise<ApplyResult> {
    return await this.#serial(async () => {
      const result = await this.#applyOne(orderNumber, event);
      if (result.outcome !== "rejected") await this.#drainOutbox();
      await this.#armAlarm();
      return result.outcome === "applied" ? { ...result, pendingEffects: this.#pendingEffects() } : result;
    });
  }

  /**
   * The machine's state, log, schedule and outbox; null before its first event. Queued behind
   * any call in progress, so it never shows an event applied but its effects not yet run.
   */
  async snapshot(): Promise<MachineSnapshot | null> {
    return await this.#serial(() => this.#snapshot());
  }

  async #snapshot(): Promise<MachineSnapshot | null> {
    this.#ensureSchema();
    const machine = this.#machine();
    if (!machine) return null;
    const state = JSON.parse(machine.state) as OrderState;
    const alarm = await this.ctx.storage.getAlarm();
    return {
      orderNumber: machine.order_number,
      orderId: machine.order_id,
      status: machine.status as OrderStatus,
      state,
      allowed: allowedEvents(state),
      events: this.ctx.storage.sql.exec<EventRow>("select * from events order by seq").toArray().map(logEntry),
      schedule: this.ctx.storage.sql
        .exec<ScheduleRow>("select * from schedule order by due_at")
        .toArray()
        .map((r) => ({
          kind: r.kind as ReminderKind,
          n: r.n,
          round: r.round,
          dueAt: new Date(r.due_at).toISOString(),
        })),
      outbox: this.ctx.storage.sql
        .exec<OutboxRow>("select * from outbox order by id")
        .toArray()
        .map((r) => ({
          id: r.id,
          seq: r.seq,
          effect: JSON.parse(r.effect) as OrderEffect,
          attempts: r.attempts,
          nextAttemptAt: new Date(r.next_attempt_at).toISOString(),
          lastError: r.last_error,
          dead: r.dead === 1,
        })),
      alarmAt: alarm === null ? null : new Date(alarm).toISOString(),
      clock: new Date(this.#now()).toISOString(),
    };
  }

  /**
   * Development and tests only (DEV_CLOCK_CONTROL): moves this machine's clock to `at`, so its
   * reminders can be walked day by day without waiting. Refused everywhere else.
   */
  async setClock(at: string): Promise<{ clock: string }> {
    if (!this.#config().DEV_CLOCK_CONTROL) throw new Error("setClock needs DEV_CLOCK_CONTROL (development only)");
    return await this.#serial(async () => this.#setClock(at));
  }

  #setClock(at: string): { clock: string } {
    this.#ensureSchema();
    writeClockOffset(this.ctx.storage.sql, at);
    return { clock: new Date(this.#now()).toISOString() };
  }

  /** The one alarm: reminders that fell due become events; effects due for a retry run again. */
  override async alarm(): Promise<void> {
    await this.#serial(async () => {
      this.#ensureSchema();
      const machine = this.#machine();
      if (!machine) return;
      const now = this.#now();
      const due = this.ctx.storage.sql
        .exec<ScheduleRow>("select * from schedule where due_at <= ? order by due_at", now)
        .toArray();
      for (const row of due) {
        const dueAt = new Date(row.due_at).toISOString();
        const firedAt = new Date(now).toISOString();
        const event: MachineEventInput =
          row.kind === "intake"
            ? {
                type: "intake_reminder_due",
                key: EVENT_KEYS.intakeReminder(row.round, row.n),
                at: firedAt,
                payload: { n: row.n, dueAt, firedAt },
              }
            : { type: "bundle_invitation_due", key: EVENT_KEYS.bundleInvitation(), at: firedAt, payload: { dueAt } };
        // Applied before the row goes: if this throws, the row stays and the alarm runs again
        // (the event's key makes the second run a no-op if the first got as far as the log).
        const result = await this.#applyOne(machine.order_number, event);
        // The transition may have replaced the row with the next reminder; only this one goes.
        this.ctx.storage.sql.exec(
          "delete from schedule where kind = ? and n = ? and round = ?",
          row.kind,
          row.n,
          row.round,
        );
        if (result.outcome === "rejected") {
          // A reminder the order no longer needs (intake completed meanwhile, order cancelled).
          log("info", "order_reminder_dropped", {
            order: machine.order_number,
            kind: row.kind,
            n: row.n,
            code: result.code,
          });
        }
      }
      await this.#drainOutbox();
      await this.#armAlarm();
    });
  }

  // -------------------------------------------------------------------------------------------

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(work);
    this.#tail = run.catch(() => undefined);
    return run.finally(() => this.#closeDb());
  }

  #db(): Db {
    this.#handle ??= openDb(this.#config());
    return this.#handle.db;
  }

  async #closeDb(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    if (handle) await handle.close();
  }

  #now(): number {
    return Date.now() + readClockOffset(this.ctx.storage.sql);
  }

  async #applyOne(
    orderNumber: string,
    input: MachineEventInput,
  ): Promise<
    Exclude<ApplyResult, { outcome: "applied" }> | Omit<Extract<ApplyResult, { outcome: "applied" }>, "pendingEffects">
  > {
    this.#ensureSchema();
    let machine = this.#machine();
    if (machine && machine.order_number !== orderNumber) {
      throw new Error(`OrderMachine of ${machine.order_number} was called for ${orderNumber}`);
    }
    const parsed = eventInput.safeParse(input);
    if (!parsed.success) {
      return {
        outcome: "rejected",
        orderNumber,
        status: (machine?.status as OrderStatus | undefined) ?? "pending_payment",
        code: "INVALID_PAYLOAD",
        message: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
        allowed: [],
      };
    }
    const event = parsed.data;
    if (!machine) {
      const order = await orderIdentity(this.#db(), orderNumber);
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
      const state = initialOrderState({
        orderNumber,
        slug: order.serviceSlug,
        hasLifecycle: order.parentOrderId === null,
        interval: order.billingInterval,
        intake: (order.intake as Record<string, unknown> | null) ?? null,
      });
      this.ctx.storage.sql.exec(
        "insert into machine (id, order_number, order_id, status, state, updated_at) values (1, ?, ?, ?, ?, ?)",
        orderNumber,
        order.id,
        orderStatusOf(state),
        JSON.stringify(state),
        new Date(this.#now()).toISOString(),
      );
      machine = this.#machine()!;
    }

    if (this.ctx.storage.sql.exec("select 1 from events where key = ?", event.key).toArray().length > 0) {
      await this.#mirror(machine);
      return {
        outcome: "duplicate",
        orderNumber,
        status: machine.status as OrderStatus,
        paymentStatus: statusOf((JSON.parse(machine.state) as OrderState).facts),
      };
    }

    const state = JSON.parse(machine.state) as OrderState;
    const now = this.#now();
    const decision = decide(state, event, {
      now: new Date(now),
      key: event.key,
      policy: policyOf(this.#config()),
    });
    if (!decision.ok) {
      const r = decision.rejection;
      return {
        outcome: "rejected",
        orderNumber,
        status: r.status,
        code: r.code,
        message: r.message,
        allowed: r.allowed,
        ...(r.problems ? { problems: r.problems } : {}),
      };
    }

    const recordedAt = new Date(now).toISOString();
    const seq = this.ctx.storage.transactionSync(() => {
      const row = this.ctx.storage.sql
        .exec<{ seq: number }>(
          "insert into events (key, type, at, payload, from_status, to_status, recorded_at) values (?, ?, ?, ?, ?, ?, ?) returning seq",
          event.key,
          event.type,
          event.at,
          JSON.stringify(event.payload),
          decision.previousStatus,
          decision.status,
          recordedAt,
        )
        .one();
      this.ctx.storage.sql.exec(
        "update machine set status = ?, state = ?, updated_at = ? where id = 1",
        decision.status,
        JSON.stringify(decision.state),
        recordedAt,
      );
      for (const effect of decision.effects) {
        if (effect.kind === "schedule") {
          this.ctx.storage.sql.exec(
            "insert into schedule (kind, n, round, due_at) values (?, ?, ?, ?) on conflict (kind) do update set n = excluded.n, round = excluded.round, due_at = excluded.due_at",
            effect.reminder,
            effect.n,
            effect.round,
            new Date(effect.dueAt).getTime(),
          );
        } else if (effect.kind === "unschedule") {
          this.ctx.storage.sql.exec("delete from schedule where kind = ?", effect.reminder);
        } else {
          this.ctx.storage.sql.exec(
            "insert into outbox (seq, effect, next_attempt_at) values (?, ?, ?)",
            row.seq,
            JSON.stringify(effect),
            now,
          );
        }
      }
      return row.seq;
    });
    await this.#mirror(this.#machine()!);
    return {
      outcome: "applied",
      orderNumber,
      previousStatus: decision.previousStatus,
      status: decision.status,
      previousPaymentStatus: statusOf(state.facts),
      paymentStatus: statusOf(decision.state.facts),
      changed: decision.status !== decision.previousStatus,
      seq,
    };
  }

  /**
   * Runs every effect that is due, oldest first. An effect's follow-up events are applied here
   * (they may add effects, run in the same loop). A failure is kept with its error and retried
   * by the alarm with backoff; after MAX_EFFECT_ATTEMPTS it is left for a person (dead) and the
   * machine says so in the log; the next effects still run.
   */
  async #drainOutbox(): Promise<void> {
    const config = this.#config();
    for (let guard = 0; guard < 100; guard++) {
      const now = this.#now();
      const row = this.ctx.storage.sql
        .exec<OutboxRow>("select * from outbox where dead = 0 and next_attempt_at <= ? order by id limit 1", now)
        .toArray()[0];
      if (!row) return;
      const machine = this.#machine()!;
      const state = JSON.parse(machine.state) as OrderState;
      const effect = JSON.parse(row.effect) as OrderEffect;
      try {
        const outcome = await runOrderEffect(
          { env: this.env, config, db: () => this.#db(), now: new Date(now) },
          state,
          effect,
        );
        this.ctx.storage.sql.exec("delete from outbox where id = ?", row.id);
        log("info", "order_effect_done", {
          order: machine.order_number,
          effect: effect.kind,
          ...(outcome.detail ? { detail: outcome.detail } : {}),
        });
        for (const followUp of outcome.followUps) {
          const result = await this.#applyOne(machine.order_number, followUp);
          if (result.outcome === "rejected") {
            log("warn", "order_follow_up_rejected", { order: machine.order_number, type: followUp.type, result });
          }
        }
      } catch (error) {
        const attempts = row.attempts + 1;
        const dead = attempts >= MAX_EFFECT_ATTEMPTS;
        this.ctx.storage.sql.exec(
          "update outbox set attempts = ?, next_attempt_at = ?, last_error = ?, dead = ? where id = ?",
          attempts,
          now + retryDelayMs(attempts),
          String(error).slice(0, 2000),
          dead ? 1 : 0,
          row.id,
        );
        log(dead ? "error" : "warn", dead ? "order_effect_dead" : "order_effect_failed", {
          order: machine.order_number,
          effect: effect.kind,
          attempts,
          error: String(error),
        });
        await this.#closeDb(); // A broken connection must not poison the next effect.
      }
    }
  }

  #pendingEffects(): number {
    return this.ctx.storage.sql.exec<{ n: number }>("select count(*) as n from outbox where dead = 0").one().n;
  }

  /** One alarm, for the earliest of the next reminder and the next effect retry (clock-adjusted). */
  async #armAlarm(): Promise<void> {
    const next = this.ctx.storage.sql
      .exec<{ t: number | null }>(
        "select min(t) as t from (select min(due_at) as t from schedule union all select min(next_attempt_at) as t from outbox where dead = 0)",
      )
      .one().t;
    if (next === null) {
      await this.ctx.storage.deleteAlarm();
      return;
    }
    const offset = this.#now() - Date.now();
    await this.ctx.storage.setAlarm(Math.max(Date.now(), next - offset));
  }

  /** Writes every event not yet in Postgres and the current status and state, then marks them mirrored. */
  async #mirror(machine: MachineRow): Promise<void> {
    const pending = this.ctx.storage.sql
      .exec<EventRow>("select * from events where mirrored = 0 order by seq")
      .toArray()
      .map(logEntry);
    if (pending.length === 0) return;
    const state = JSON.parse(machine.state) as OrderState;
    await mirrorOrderMachine(
      this.#db(),
      machine.order_id,
      {
        status: machine.status,
        ...(state.hasLifecycle ? { intake: state.intake } : {}),
        nextDueOn: state.nextDueOn,
        completedAt: state.completedAt ? new Date(state.completedAt) : null,
      },
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
      .exec<MachineRow>("select order_number, order_id, status, state from machine where id = 1")
      .toArray()[0];
  }

  #config(): AppConfig {
    const result = loadAppConfig(this.env as unknown as Record<string, unknown>);
    if (!result.ok) throw new Error(`configuration invalid: ${result.problems.join("; ")}`);
    return result.config;
  }
}

function logEntry(row: EventRow): MachineLogEntry {
  return {
    seq: row.seq,
    key: row.key,
    type: row.type,
    at: row.at,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    fromStatus: row.from_status as OrderStatus,
    toStatus: row.to_status as OrderStatus,
    recordedAt: row.recorded_at,
    mirrored: row.mirrored === 1,
  };
}
