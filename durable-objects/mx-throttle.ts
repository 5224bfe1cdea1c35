import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { withDb } from "../db/client";
import { loadAppConfig, type AppConfig } from "../domain/config/app-config";
import {
  acquire,
  initialThrottleState,
  newDay,
  nextUtcMidnight,
  OUTCOME_KEYS,
  report,
  resume,
  throttleDailyCap,
  throttleSettings,
  throttleStatus,
  utcDay,
  type ThrottleEvent,
  type ThrottleGrant,
  type ThrottleOutcomes,
  type ThrottleState,
  type ThrottleStatus,
} from "../domain/outreach/throttle-policy";
import type { Env } from "../workers/env";
import { raiseAlert } from "../workers/alerts/raise-alert";
import { storagePing, type PingResult } from "./storage-ping";
import { CLOCK_TABLE, readClockOffset, writeClockOffset } from "./dev-clock";

export type { ThrottleGrant, ThrottleOutcomes, ThrottleStatus } from "../domain/outreach/throttle-policy";

/**
 * One instance per receiving mail operator (google, microsoft, mx:<host>, "untagged"): the send
 * throttle the campaign consumer asks once per operator per batch (DESIGN.md, "Outreach"). The
 * rules are domain/outreach/throttle-policy.ts; this object keeps the state and the clock.
 *
 * Storage (this object's SQLite):
 * - `throttle`: one row, the operator and its state (JSON), read and written once per call;
 * - `events`: halvings, pauses, recoveries and resumes with time and reason, the newest
 *   MAX_EVENTS kept;
 * - `clock`: a test-only offset (DEV_CLOCK_CONTROL).
 *
 * Each call's read-decide-write runs without awaiting anything in between, so concurrent batches
 * for one operator are applied one after the other. The one alarm is set for the next UTC
 * midnight and starts the new day (count reset, cap recomputed from the warm-up ramp); a call
 * that finds the day past (an alarm late or lost) starts it too.
 */

const MAX_EVENTS = 200;
/** Events shown in a status. */
const STATUS_EVENTS = 20;

const SCHEMA = [
  `create table if not exists throttle (
     id integer primary key check (id = 1),
     operator text not null,
     state text not null,
     updated_at text not null
   )`,
  `create table if not exists events (
     id integer primary key autoincrement,
     at text not null,
     kind text not null,
     detail text not null
   )`,
  CLOCK_TABLE,
];

const operatorLabel = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[a-z0-9][a-z0-9.:_-]*$/, "an operator label (google, mx:<host>, untagged, …)");
const count = z.number().int().min(0).max(1_000_000);
const acquireRequest = z.object({ operator: operatorLabel, n: count });
const reportRequest = z.object({
  operator: operatorLabel,
  outcomes: z.object(
    Object.fromEntries(OUTCOME_KEYS.map((k) => [k, count])) as Record<keyof ThrottleOutcomes, typeof count>,
  ),
});
const resumeRequest = z.object({ by: z.string().min(1).max(255) });

function parse<T>(schema: z.ZodType<T>, value: unknown, call: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new TypeError(
      `MxThrottle.${call}: ${result.error.issues.map((i) => `${i.path.join(".") || "request"}: ${i.message}`).join("; ")}`,
    );
  }
  return result.data;
}

function log(level: "info" | "warn" | "error", event: string, fields: Record<string, unknown>) {
  const line = JSON.stringify({ level, event, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

export class MxThrottle extends DurableObject<Env> {
  #schemaReady = false;
  #configCache: AppConfig | undefined;
  #clockOffset: number | undefined;

  async ping(): Promise<PingResult> {
    return storagePing(this.ctx, "MxThrottle");
  }

  /** Up to `n` messages for `operator` now; the rest with a retry-after (throttle-policy.ts). */
  async acquire(request: { operator: string; n: number }): Promise<ThrottleGrant> {
    const { operator, n } = parse(acquireRequest, request, "acquire");
    const now = this.#now();
    const { state, dayStarted } = this.#current(operator, now);
    const result = acquire(state, n, now, throttleSettings(this.#config()));
    this.#save(result.state, now);
    if (dayStarted) await this.#armAlarm(now);
    return result.grant;
  }

  /**
   * What the relay said to a batch's messages. Throttling or many deferrals halve the rate and
   * cool down; a reputation rejection pauses the operator and raises an alert (the pause is
   * stored before the alert is tried, and a failed alert is logged, never undone).
   */
  async report(request: { operator: string; outcomes: ThrottleOutcomes }): Promise<ThrottleStatus> {
    const { operator, outcomes } = parse(reportRequest, request, "report");
    const now = this.#now();
    const { state, dayStarted } = this.#current(operator, now);
    const result = report(state, outcomes, now, throttleSettings(this.#config()));
    this.ctx.storage.transactionSync(() => {
      this.#save(result.state, now);
      for (const action of result.actions) this.#logEvent(now, action, result.details[action] ?? "");
    });
    if (dayStarted) await this.#armAlarm(now);
    for (const action of result.actions) {
      log(action === "paused" ? "error" : "warn", `mx_throttle_${action}`, {
        operator,
        detail: result.details[action],
      });
    }
    if (result.actions.includes("paused")) await this.#alertPaused(result.state, now);
    return this.#status(result.state, now);
  }

  /** The stored state as it stands (the day moves on at the alarm or the next acquire/report); null before the first call. */
  async status(): Promise<ThrottleStatus | null> {
    this.#ensureSchema();
    const state = this.#load();
    return state ? this.#status(state, this.#now()) : null;
  }

  /** An admin lifts a pause; logged with who did it. A throttle that was never used has nothing to resume. */
  async resume(request: { by: string }): Promise<ThrottleStatus> {
    const { by } = parse(resumeRequest, request, "resume");
    this.#ensureSchema();
    const state = this.#load();
    if (!state) throw new Error("MxThrottle.resume: this throttle has no state yet (nothing was ever sent to it)");
    const now = this.#now();
    if (!state.paused) return this.#status(state, now);
    const next = resume(state);
    this.ctx.storage.transactionSync(() => {
      this.#save(next, now);
      this.#logEvent(
        now,
        "resumed",
        `by ${by}; paused since ${new Date(state.paused!.at).toISOString()}: ${state.paused!.reason}`,
      );
    });
    log("warn", "mx_throttle_resumed", { operator: state.operator, by });
    return this.#status(next, now);
  }

  /**
   * Development and tests only (DEV_CLOCK_CONTROL): moves this throttle's clock to `at`, so
   * days, cool-downs and refills can be walked without waiting. Refused everywhere else.
   */
  async setClock(at: string): Promise<{ clock: string }> {
    if (!this.#config().DEV_CLOCK_CONTROL) throw new Error("setClock needs DEV_CLOCK_CONTROL (development only)");
    this.#ensureSchema();
    const offset = writeClockOffset(this.ctx.storage.sql, at);
    this.#clockOffset = offset;
    const now = this.#now();
    // Midnight on the moved clock is another real time.
    if (this.#load()) await this.#armAlarm(now);
    return { clock: new Date(now).toISOString() };
  }

  /** Midnight (UTC): the new day's count and cap, then the next midnight's alarm. */
  override async alarm(): Promise<void> {
    this.#ensureSchema();
    const state = this.#load();
    if (!state) return;
    const now = this.#now();
    if (state.day !== utcDay(now)) {
      const next = newDay(state, throttleDailyCap(state.operator, now, this.#config()), now);
      this.#save(next, now);
      log("info", "mx_throttle_new_day", { operator: state.operator, day: next.day, dailyCap: next.dailyCap });
    }
    await this.#armAlarm(now);
  }

  // -------------------------------------------------------------------------------------------

  /**
   * The state to decide on: created on the first call, moved to today when the day is past,
   * and with today's cap recomputed (a changed ramp applies at once). Synchronous on purpose.
   */
  #current(operator: string, now: number): { state: ThrottleState; dayStarted: boolean } {
    this.#ensureSchema();
    const config = this.#config();
    const stored = this.#load();
    const cap = throttleDailyCap(operator, now, config);
    if (!stored) return { state: initialThrottleState(operator, cap, now, throttleSettings(config)), dayStarted: true };
    if (stored.operator !== operator) {
      throw new Error(`MxThrottle of ${stored.operator} was called for ${operator}`);
    }
    if (stored.day !== utcDay(now)) return { state: newDay(stored, cap, now), dayStarted: true };
    return { state: stored.dailyCap === cap ? stored : { ...stored, dailyCap: cap }, dayStarted: false };
  }

  #load(): ThrottleState | undefined {
    const row = this.ctx.storage.sql.exec<{ state: string }>("select state from throttle where id = 1").toArray()[0];
    return row ? (JSON.parse(row.state) as ThrottleState) : undefined;
  }

  #save(state: ThrottleState, now: number): void {
    this.ctx.storage.sql.exec(
      "insert into throttle (id, operator, state, updated_at) values (1, ?, ?, ?) on conflict (id) do update set state = excluded.state, updated_at = excluded.updated_at",
      state.operator,
      JSON.stringify(state),
      new Date(now).toISOString(),
    );
  }

  #logEvent(now: number, kind: ThrottleEvent["kind"], detail: string): void {
    const { id } = this.ctx.storage.sql
      .exec<{ id: number }>(
        "insert into events (at, kind, detail) values (?, ?, ?) returning id",
        new Date(now).toISOString(),
        kind,
        detail,
      )
      .one();
    this.ctx.storage.sql.exec("delete from events where id <= ?", id - MAX_EVENTS);
  }

  #status(state: ThrottleState, now: number): ThrottleStatus {
    const events = this.ctx.storage.sql
      .exec<{ at: string; kind: string; detail: string }>(
        "select at, kind, detail from events order by id desc limit ?",
        STATUS_EVENTS,
      )
      .toArray()
      .map((e) => ({ at: e.at, kind: e.kind as ThrottleEvent["kind"], detail: e.detail }));
    return throttleStatus(state, now, events);
  }

  async #alertPaused(state: ThrottleState, now: number): Promise<void> {
    const config = this.#config();
    const paused = state.paused!;
    const at = new Date(paused.at).toISOString();
    try {
      await withDb(config, (db) =>
        raiseAlert(
          { config, db },
          {
            rule: "mx_operator_paused",
            subject: state.operator,
            // One alert per pause: a second pause the same day (after a resume) is news too.
            windowKey: `${utcDay(now)} ${at}`,
            title: `Campaign mail to ${state.operator} paused: reputation rejection`,
            body:
              `The receiving operator ${state.operator} rejected campaign mail for reputation (${paused.reason}). ` +
              "Nothing more is sent to it until an admin resumes it. Check the sending IPs and domain on the " +
              "operator's postmaster tools and the public blocklists, fix the cause, then resume with " +
              `POST /api/admin/outreach/throttles/${encodeURIComponent(state.operator)}/resume.`,
            metrics: { operator: state.operator, pausedAt: at, today: state.today, ratePerMinute: state.ratePerMinute },
          },
        ),
      );
    } catch (error) {
      log("error", "mx_throttle_alert_failed", { operator: state.operator, error: String(error) });
    }
  }

  /** The one alarm: the next UTC midnight on this throttle's clock, in real time. */
  async #armAlarm(now: number): Promise<void> {
    const offset = now - Date.now();
    await this.ctx.storage.setAlarm(Math.max(Date.now(), nextUtcMidnight(now) - offset));
  }

  /** Real time plus the test clock's offset (read once, then kept: only setClock changes it). */
  #now(): number {
    if (this.#clockOffset === undefined) {
      this.#ensureSchema();
      this.#clockOffset = readClockOffset(this.ctx.storage.sql);
    }
    return Date.now() + this.#clockOffset;
  }

  #ensureSchema(): void {
    if (this.#schemaReady) return;
    for (const statement of SCHEMA) this.ctx.storage.sql.exec(statement);
    this.#schemaReady = true;
  }

  #config(): AppConfig {
    if (this.#configCache) return this.#configCache;
    const result = loadAppConfig(this.env as unknown as Record<string, unknown>);
    if (!result.ok) throw new Error(`configuration invalid: ${result.problems.join("; ")}`);
    this.#configCache = result.config;
    return result.config;
  }
}
