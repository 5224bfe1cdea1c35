import type { AppConfig } from "../config/app-config";
import { operatorDailyCap, warmupDay, type RampSettings } from "./warmup-ramp";

/**
 * The send throttle of one receiving mail operator (the state the MxThrottle Durable Object
 * keeps; DESIGN.md "Outreach", issue 6 item 6). Pure: a state, a request and the time in; the
 * next state and the answer out. All times are epoch milliseconds, days are UTC `YYYY-MM-DD`.
 *
 * Three limits, checked in this order by `acquire`:
 *  1. a pause, set by a reputation rejection (a 5xx saying our IP or domain is the problem)
 *     and lifted only by an admin: more mail would only deepen the block;
 *  2. a cool-down after throttling or many deferrals, during which nothing is granted;
 *  3. the day's cap from the warm-up ramp, then a token bucket at the current rate.
 *
 * The bucket holds one minute of mail at the current rate and refills at rate/60 per second, so
 * a batch of ~100 goes out at once when the operator has been idle and long runs average out at
 * the rate. `retryAfterSeconds` says when asking again is worth it: the end of the cool-down,
 * the next UTC midnight when the cap is spent, or when the bucket will hold what was not granted
 * (up to a full bucket), not merely the next token: requeueing a remainder of 80 every second
 * to receive 2 each time would churn the queue for nothing.
 *
 * Backoff (`report`): any throttled answer, or deferrals that are both at least
 * DEFERRAL_BACKOFF_SHARE of the batch's attempts and at least DEFERRAL_BACKOFF_MIN in number,
 * halve the current rate (never below MIN_RATE_PER_MINUTE) and start a cool-down. The minimum
 * count keeps one greylisted address (RFC 6647: a first-time sender is deferred by design) in a
 * small batch from slowing the operator. Reports arriving during a cool-down come from batches
 * granted before it began: they extend the cool-down but do not halve again, so one burst of
 * throttling is one halving. After the cool-down the bucket starts empty, and each clean report
 * (no throttling, deferrals under the threshold, no reputation reject) raises the rate by
 * RECOVERY_STEP_SHARE of the base rate, up to the base.
 *
 * Midnight (`newDay`) resets the day's count and cap only. The rate, a cool-down and a pause
 * carry over: a receiver's view of our reputation does not reset with our calendar, so the rate
 * climbs back only through clean reports.
 */

/** A batch whose deferrals reach this share of its attempts (and DEFERRAL_BACKOFF_MIN) backs off. */
export const DEFERRAL_BACKOFF_SHARE = 0.2;
export const DEFERRAL_BACKOFF_MIN = 3;
/** Each clean report after a cool-down restores this share of the base rate. */
export const RECOVERY_STEP_SHARE = 0.25;
export const MIN_RATE_PER_MINUTE = 1;

/** The throttle of recipients whose domain has no operator label yet. */
export const UNTAGGED_OPERATOR = "untagged";

const DAY_MS = 86_400_000;

export interface ThrottleSettings {
  /** Full speed, messages per minute (OUTREACH_RATE_PER_MINUTE). */
  ratePerMinute: number;
  /** How long nothing is granted after a backoff (OUTREACH_COOLDOWN_SECONDS). */
  cooldownSeconds: number;
}

export function throttleSettings(
  config: Pick<AppConfig, "OUTREACH_RATE_PER_MINUTE" | "OUTREACH_COOLDOWN_SECONDS">,
): ThrottleSettings {
  return { ratePerMinute: config.OUTREACH_RATE_PER_MINUTE, cooldownSeconds: config.OUTREACH_COOLDOWN_SECONDS };
}

export type ThrottleCapSettings = RampSettings & Pick<AppConfig, "OUTREACH_WARMUP_START">;

/**
 * The operator's cap for the UTC day of `now`: the warm-up ramp's value, 0 when no warm-up start
 * is configured (nothing is sent before the warm-up begins). "untagged" is not a big operator,
 * so it gets the ramp's value for the warm-up day, the same as any small operator; the audience
 * build caps untagged recipients separately (OUTREACH_UNTAGGED_CAP) before they reach here.
 */
export function throttleDailyCap(operator: string, now: number, settings: ThrottleCapSettings): number {
  if (settings.OUTREACH_WARMUP_START === undefined) return 0;
  return operatorDailyCap(operator, warmupDay(settings.OUTREACH_WARMUP_START, new Date(now)), settings);
}

/** What the relay said to one batch's messages for this operator, as the send consumer counts them. */
export interface ThrottleOutcomes {
  accepted: number;
  /** 4xx other than throttling, connection failures, and answers lost after DATA. */
  deferred: number;
  /** The operator asked us to slow down (421/451 rate limiting). */
  throttled: number;
  /** 5xx blaming our IP or domain: pauses the operator. */
  rejectReputation: number;
  /** 5xx about the recipient (no such user): no effect on the rate. */
  rejectRecipient: number;
  rejectOther: number;
  /** Granted but never offered to the relay (withdrawn, not claimed): given back. */
  unused: number;
}

export const OUTCOME_KEYS = [
  "accepted",
  "deferred",
  "throttled",
  "rejectReputation",
  "rejectRecipient",
  "rejectOther",
  "unused",
] as const satisfies readonly (keyof ThrottleOutcomes)[];

export function emptyOutcomes(): ThrottleOutcomes {
  return { accepted: 0, deferred: 0, throttled: 0, rejectReputation: 0, rejectRecipient: 0, rejectOther: 0, unused: 0 };
}

export type GrantReason = "ok" | "daily_cap" | "rate" | "cooldown" | "paused";

export interface ThrottleGrant {
  /** How many of the n asked for may be sent now (0…n). */
  granted: number;
  /** 0 when all n were granted; otherwise when to ask again for the rest (whole seconds, ≥ 1). */
  retryAfterSeconds: number;
  /** "ok" when all n were granted; otherwise what held the rest back. */
  reason: GrantReason;
  dailyCap: number;
  /** Including this grant. */
  sentToday: number;
  ratePerMinute: number;
}

export type ThrottleAction = "halved" | "paused" | "recovered";

export interface ThrottleState {
  operator: string;
  day: string;
  dailyCap: number;
  sentToday: number;
  baseRatePerMinute: number;
  ratePerMinute: number;
  tokens: number;
  /** When `tokens` was last brought up to date; in the future while cooling down (no refill until then). */
  tokensAt: number;
  cooldownUntil: number | null;
  paused: { reason: string; at: number } | null;
  /** The day's reports, summed. */
  today: ThrottleOutcomes;
  lastReportAt: number | null;
}

/** A line of the throttle's history (halvings, pauses, recoveries, resumes), newest first in a status. */
export interface ThrottleEvent {
  at: string;
  kind: ThrottleAction | "resumed";
  detail: string;
}

export interface ThrottleStatus {
  operator: string;
  day: string;
  dailyCap: number;
  sentToday: number;
  remainingToday: number;
  ratePerMinute: number;
  baseRatePerMinute: number;
  /** Whole messages the bucket holds now. */
  tokens: number;
  coolingDownUntil: string | null;
  paused: { reason: string; at: string } | null;
  today: ThrottleOutcomes;
  lastReportAt: string | null;
  /** The throttle's clock (moved in tests and development only). */
  clock: string;
  events: ThrottleEvent[];
}

export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

export function nextUtcMidnight(now: number): number {
  return (Math.floor(now / DAY_MS) + 1) * DAY_MS;
}

export function initialThrottleState(
  operator: string,
  dailyCap: number,
  now: number,
  settings: ThrottleSettings,
): ThrottleState {
  return {
    operator,
    day: utcDay(now),
    dailyCap,
    sentToday: 0,
    baseRatePerMinute: settings.ratePerMinute,
    ratePerMinute: settings.ratePerMinute,
    tokens: settings.ratePerMinute,
    tokensAt: now,
    cooldownUntil: null,
    paused: null,
    today: emptyOutcomes(),
    lastReportAt: null,
  };
}

/**
 * A changed OUTREACH_RATE_PER_MINUTE takes effect at once: a throttle at full speed moves to
 * the new base, a slowed one keeps its rate unless that is now above the base.
 */
function withSettings(state: ThrottleState, settings: ThrottleSettings): ThrottleState {
  if (state.baseRatePerMinute === settings.ratePerMinute) return state;
  const base = settings.ratePerMinute;
  const rate = state.ratePerMinute >= state.baseRatePerMinute ? base : Math.min(state.ratePerMinute, base);
  return { ...state, baseRatePerMinute: base, ratePerMinute: rate, tokens: Math.min(state.tokens, rate) };
}

/** Tokens accrued since `tokensAt` (none before it: a cool-down holds `tokensAt` at its end). */
function refilled(state: ThrottleState, now: number): ThrottleState {
  const capacity = state.ratePerMinute;
  if (now <= state.tokensAt) return { ...state, tokens: Math.min(state.tokens, capacity) };
  const tokens = Math.min(capacity, state.tokens + ((now - state.tokensAt) * state.ratePerMinute) / 60_000);
  const cooldownUntil = state.cooldownUntil !== null && now >= state.cooldownUntil ? null : state.cooldownUntil;
  return { ...state, tokens, tokensAt: now, cooldownUntil };
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

export function acquire(
  state: ThrottleState,
  n: number,
  now: number,
  settings: ThrottleSettings,
): { state: ThrottleState; grant: ThrottleGrant } {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a whole number ≥ 0, not ${n}`);
  const s = refilled(withSettings(state, settings), now);
  const answer = (granted: number, reason: GrantReason, retryAfterSeconds: number, next: ThrottleState) => ({
    state: next,
    grant: {
      granted,
      retryAfterSeconds,
      reason,
      dailyCap: next.dailyCap,
      sentToday: next.sentToday,
      ratePerMinute: next.ratePerMinute,
    },
  });
  if (n === 0) return answer(0, "ok", 0, s);
  // Paused until an admin resumes: look again after a cool-down's time.
  if (s.paused) return answer(0, "paused", settings.cooldownSeconds, s);
  if (s.cooldownUntil !== null && now < s.cooldownUntil)
    return answer(0, "cooldown", seconds(s.cooldownUntil - now), s);

  const remainingToday = Math.max(0, s.dailyCap - s.sentToday);
  const whole = Math.floor(s.tokens);
  const granted = Math.min(n, whole, remainingToday);
  const next = { ...s, tokens: s.tokens - granted, sentToday: s.sentToday + granted };
  if (granted === n) return answer(granted, "ok", 0, next);
  if (granted === remainingToday) return answer(granted, "daily_cap", seconds(nextUtcMidnight(now) - now), next);
  const wanted = Math.min(n - granted, next.ratePerMinute);
  const waitMs = Math.max(0, next.tokensAt - now) + ((wanted - next.tokens) * 60_000) / next.ratePerMinute;
  return answer(granted, "rate", seconds(waitMs), next);
}

function attemptsOf(o: ThrottleOutcomes): number {
  return o.accepted + o.deferred + o.throttled + o.rejectReputation + o.rejectRecipient + o.rejectOther;
}

/** Whether a batch's outcomes call for slowing down (see the file's comment). */
export function needsBackoff(o: ThrottleOutcomes): boolean {
  const attempts = attemptsOf(o);
  return o.throttled > 0 || (o.deferred >= DEFERRAL_BACKOFF_MIN && o.deferred >= DEFERRAL_BACKOFF_SHARE * attempts);
}

export function validateOutcomes(o: ThrottleOutcomes): void {
  for (const key of OUTCOME_KEYS) {
    const v = o[key];
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`outcomes.${key} must be a whole number ≥ 0, not ${v}`);
  }
}

export function report(
  state: ThrottleState,
  outcomes: ThrottleOutcomes,
  now: number,
  settings: ThrottleSettings,
): { state: ThrottleState; actions: ThrottleAction[]; details: Partial<Record<ThrottleAction, string>> } {
  validateOutcomes(outcomes);
  let s = refilled(withSettings(state, settings), now);
  const actions: ThrottleAction[] = [];
  const details: Partial<Record<ThrottleAction, string>> = {};
  const today = { ...s.today };
  for (const key of OUTCOME_KEYS) today[key] += outcomes[key];
  s = {
    ...s,
    today,
    // Unused grants go back to the day and the bucket, so a withdrawn send costs nothing.
    sentToday: Math.max(0, s.sentToday - outcomes.unused),
    tokens: Math.min(s.ratePerMinute, s.tokens + outcomes.unused),
    lastReportAt: now,
  };
  const attempts = attemptsOf(outcomes);
  if (attempts === 0) return { state: s, actions, details };
  const tally = `${outcomes.throttled} throttled, ${outcomes.deferred} deferred, ${outcomes.rejectReputation} reputation rejects of ${attempts}`;

  if (outcomes.rejectReputation > 0 && !s.paused) {
    const reason = `${outcomes.rejectReputation} of ${attempts} rejected for reputation at ${new Date(now).toISOString()}`;
    s = { ...s, paused: { reason, at: now } };
    actions.push("paused");
    details.paused = reason;
  }

  const coolingDown = s.cooldownUntil !== null && now < s.cooldownUntil;
  if (needsBackoff(outcomes)) {
    const until = Math.max(s.cooldownUntil ?? 0, now + settings.cooldownSeconds * 1000);
    if (!coolingDown) {
      const rate = Math.max(MIN_RATE_PER_MINUTE, Math.floor(s.ratePerMinute / 2));
      actions.push("halved");
      details.halved = `${s.ratePerMinute} → ${rate}/min, cooling down until ${new Date(until).toISOString()} (${tally})`;
      s = { ...s, ratePerMinute: rate };
    }
    s = { ...s, cooldownUntil: until, tokens: 0, tokensAt: until };
  } else if (outcomes.rejectReputation === 0 && !coolingDown && s.ratePerMinute < s.baseRatePerMinute) {
    const step = Math.max(1, Math.ceil(s.baseRatePerMinute * RECOVERY_STEP_SHARE));
    const rate = Math.min(s.baseRatePerMinute, s.ratePerMinute + step);
    actions.push("recovered");
    details.recovered = `${s.ratePerMinute} → ${rate}/min of ${s.baseRatePerMinute} after a clean batch of ${attempts}`;
    s = { ...s, ratePerMinute: rate };
  }
  return { state: s, actions, details };
}

/** A new UTC day: the day's count and tallies start over with the day's cap; rate, cool-down and pause carry over. */
export function newDay(state: ThrottleState, dayCap: number, now: number): ThrottleState {
  return { ...state, day: utcDay(now), dailyCap: dayCap, sentToday: 0, today: emptyOutcomes() };
}

/** An admin lifts a pause. The rate and any cool-down stay as they are. */
export function resume(state: ThrottleState): ThrottleState {
  return { ...state, paused: null };
}

export function throttleStatus(state: ThrottleState, now: number, events: ThrottleEvent[]): ThrottleStatus {
  const s = refilled(state, now);
  return {
    operator: s.operator,
    day: s.day,
    dailyCap: s.dailyCap,
    sentToday: s.sentToday,
    remainingToday: Math.max(0, s.dailyCap - s.sentToday),
    ratePerMinute: s.ratePerMinute,
    baseRatePerMinute: s.baseRatePerMinute,
    tokens: Math.floor(s.tokens),
    coolingDownUntil: s.cooldownUntil === null ? null : new Date(s.cooldownUntil).toISOString(),
    paused: s.paused ? { reason: s.paused.reason, at: new Date(s.paused.at).toISOString() } : null,
    today: s.today,
    lastReportAt: s.lastReportAt === null ? null : new Date(s.lastReportAt).toISOString(),
    clock: new Date(now).toISOString(),
    events,
  };
}
