import type { AppConfig } from "../config/app-config";

/**
 * Whether today's audience may include catch-all addresses (a domain that accepts every
 * RCPT TO, so the address itself was never confirmed). They bounce more than verified
 * addresses, so they wait until the IPs are warm (OUTREACH_CATCH_ALL_MIN_DAY) and the last two
 * days of campaign mail bounced little (under OUTREACH_CATCH_ALL_MAX_BOUNCE_PCT) on enough
 * sends (OUTREACH_CATCH_ALL_MIN_SENDS) for the rate to mean something. OUTREACH_CATCH_ALL
 * "on"/"off" overrides the gate either way. Pure.
 */

export type CatchAllSettings = Pick<
  AppConfig,
  | "OUTREACH_CATCH_ALL"
  | "OUTREACH_CATCH_ALL_MIN_DAY"
  | "OUTREACH_CATCH_ALL_MAX_BOUNCE_PCT"
  | "OUTREACH_CATCH_ALL_MIN_SENDS"
>;

export interface CatchAllInput {
  /** The warm-up day (domain/outreach/warmup-ramp.ts warmupDay). */
  day: number;
  /** Campaign messages sent in the last 48 hours, and how many of them bounced. */
  recentSent: number;
  recentBounced: number;
}

export interface CatchAllGate {
  open: boolean;
  reason: string;
}

/** The window the bounce rate is measured over, in days (the "last two days"). */
export const CATCH_ALL_WINDOW_DAYS = 2;

export function catchAllGate(input: CatchAllInput, settings: CatchAllSettings): CatchAllGate {
  if (settings.OUTREACH_CATCH_ALL === "on") return { open: true, reason: "forced on" };
  if (settings.OUTREACH_CATCH_ALL === "off") return { open: false, reason: "forced off" };
  const window = `${CATCH_ALL_WINDOW_DAYS} days`;
  if (input.day < settings.OUTREACH_CATCH_ALL_MIN_DAY) {
    return { open: false, reason: `warm-up day ${input.day} < ${settings.OUTREACH_CATCH_ALL_MIN_DAY}` };
  }
  if (input.recentSent < settings.OUTREACH_CATCH_ALL_MIN_SENDS) {
    return {
      open: false,
      reason: `only ${input.recentSent} sends in ${window} < ${settings.OUTREACH_CATCH_ALL_MIN_SENDS}`,
    };
  }
  const pct = (100 * input.recentBounced) / input.recentSent;
  const shown = `${pct.toFixed(1)}%`;
  if (pct >= settings.OUTREACH_CATCH_ALL_MAX_BOUNCE_PCT) {
    return {
      open: false,
      reason: `bounce rate ${shown} ≥ ${settings.OUTREACH_CATCH_ALL_MAX_BOUNCE_PCT}% over ${window}`,
    };
  }
  return {
    open: true,
    reason:
      `warm-up day ${input.day} ≥ ${settings.OUTREACH_CATCH_ALL_MIN_DAY}, bounce rate ${shown} < ` +
      `${settings.OUTREACH_CATCH_ALL_MAX_BOUNCE_PCT}% over ${input.recentSent} sends in ${window}`,
  };
}
