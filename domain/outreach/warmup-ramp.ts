import { BIG_OPERATORS } from "../mail/mail-operators";
import type { AppConfig } from "../config/app-config";

/**
 * The sending IPs' warm-up: which receiving operators get mail on a given day, and how much.
 * Pure. The old system warmed up by mailing Google and Microsoft first, the two operators that
 * then blocked it; here the big operators wait until OUTREACH_BIG_OPERATOR_DAY, and every
 * operator climbs the same ramp from the day it is let in.
 */

export type RampSettings = Pick<AppConfig, "OUTREACH_RAMP" | "OUTREACH_BIG_OPERATOR_DAY" | "OUTREACH_BIG_OPERATORS">;

const DAY_MS = 86_400_000;

/** Day 1 is the start date itself (UTC); a day before the start is day 0 (nothing is sent). */
export function warmupDay(start: string, now: Date): number {
  const startMs = Date.parse(`${start}T00:00:00Z`);
  if (Number.isNaN(startMs)) throw new RangeError(`not a date: ${start}`);
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Math.max(0, Math.floor((today - startMs) / DAY_MS) + 1);
}

/** The operators held out until OUTREACH_BIG_OPERATOR_DAY: the configured list, or BIG_OPERATORS. */
export function bigOperators(settings: RampSettings): readonly string[] {
  return settings.OUTREACH_BIG_OPERATORS.length > 0 ? settings.OUTREACH_BIG_OPERATORS : BIG_OPERATORS;
}

export function isHeldOut(operator: string, day: number, settings: RampSettings): boolean {
  return bigOperators(settings).includes(operator) && day < settings.OUTREACH_BIG_OPERATOR_DAY;
}

/** The ramp's cap on the n-th day (1-based) an operator receives mail. */
export function rampCap(ramp: RampSettings["OUTREACH_RAMP"], n: number): number {
  let cap = 0;
  for (const [fromDay, stepCap] of ramp) if (n >= fromDay) cap = stepCap;
  return cap;
}

/**
 * How many campaign messages `operator` may receive on warm-up `day`, across all campaigns:
 * 0 before the start or while held out; otherwise the ramp, counted from the day it was let in.
 */
export function operatorDailyCap(operator: string, day: number, settings: RampSettings): number {
  if (day < 1) return 0;
  const big = bigOperators(settings).includes(operator);
  if (!big) return rampCap(settings.OUTREACH_RAMP, day);
  if (day < settings.OUTREACH_BIG_OPERATOR_DAY) return 0;
  return rampCap(settings.OUTREACH_RAMP, day - settings.OUTREACH_BIG_OPERATOR_DAY + 1);
}
