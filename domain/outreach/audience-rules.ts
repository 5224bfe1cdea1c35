import type { AppConfig } from "../config/app-config";
import { bigOperators, isHeldOut, operatorDailyCap, rampCap, type RampSettings } from "./warmup-ramp";

/**
 * The rules of the daily audience build (issue 6 items 2 and 5), as data the SQL in
 * workers/outreach/build-audience.ts is generated from, so the real build and its dry run apply
 * the same rules in the same order. Pure.
 */

/**
 * Verification results that may receive campaign mail. Sending is keyed on this value only:
 * the old system trusted a boolean the verifier set optimistically and hard-bounced half its
 * list. `catch_all` joins only while the catch-all gate is open (catch-all-gate.ts); never
 * `mx_probe_blocked` (we could not ask), `hard_bounced`, or `unknown`.
 */
export const SENDABLE_RESULTS = ["smtp_valid", "send_confirmed"] as const;

export const CATCH_ALL_RESULT = "catch_all";

export function allowedResults(catchAllOpen: boolean): string[] {
  return catchAllOpen ? [...SENDABLE_RESULTS, CATCH_ALL_RESULT] : [...SENDABLE_RESULTS];
}

/** A prospect flag people set; the address is not mailed while any prospect at it carries it. */
export const DO_NOT_CONTACT = "do_not_contact";

/**
 * Why a candidate prospect is not in today's audience, in the order the rules are checked: a
 * dry run reports each prospect under the first rule it fails.
 */
export const EXCLUSION_REASONS = [
  "flagged",
  "verification",
  "catch_all_gate",
  "suppressed",
  "excluded_domain",
  "dead_domain",
  "cool_off",
  "already_in_campaign",
  "claim_not_backed",
  "missing_field",
  "audience_filter",
  "held_out",
  "duplicate_recipient",
  "operator_cap",
  "untagged_cap",
  "quota",
] as const;

export type ExclusionReason = (typeof EXCLUSION_REASONS)[number];

export const EXCLUSION_DESCRIPTIONS: Record<ExclusionReason, string> = {
  flagged: "a prospect at the address is flagged do_not_contact",
  verification: "verification result not sendable (unknown, mx_probe_blocked, hard_bounced)",
  catch_all_gate: "catch-all address while the catch-all gate is closed",
  suppressed: "address on the suppression list",
  excluded_domain: "domain on an exclusion list (consumer mailbox, dead ISP)",
  dead_domain: "domain does not exist (NXDOMAIN at MX tagging)",
  cool_off: "mailed by a campaign within the cool-off",
  already_in_campaign: "already has a send in this campaign",
  claim_not_backed: "the prospect's data does not back a claim the template makes",
  missing_field: "a placeholder the template uses has no value",
  audience_filter: "outside the campaign's audience (states, required deficiencies)",
  held_out: "big operator held out until its warm-up day",
  duplicate_recipient: "another prospect at the same address was chosen",
  operator_cap: "over the operator's daily cap",
  untagged_cap: "over the daily cap for untagged domains",
  quota: "over the campaign's daily quota",
};

/**
 * Daily cap on recipients at untagged domains (operator unknown, so no ramp applies): the
 * configured OUTREACH_UNTAGGED_CAP, or the larger of the campaign's quota and 200.
 */
export function untaggedCap(settings: Pick<AppConfig, "OUTREACH_UNTAGGED_CAP">, quota: number): number {
  return settings.OUTREACH_UNTAGGED_CAP ?? Math.max(quota, 200);
}

export interface RemainingCaps {
  /** Remaining today for an operator not named in `byOperator` (a small operator nobody mailed yet). */
  defaultRemaining: number;
  /** Remaining today per operator: every big operator, and every operator already mailed today. */
  byOperator: Record<string, number>;
  /** Remaining today for untagged domains. */
  untaggedRemaining: number;
  /** Operators with no mail at all today because of the hold-out. */
  heldOut: string[];
}

/**
 * How many more recipients each operator may get today: its cap on warm-up `day` minus the
 * sends already created for today (`usedToday`, by operator; null = untagged), across campaigns.
 * Nothing is sent before warm-up day 1, untagged domains included.
 */
export function remainingCaps(
  day: number,
  usedToday: ReadonlyMap<string | null, number>,
  quota: number,
  settings: RampSettings & Pick<AppConfig, "OUTREACH_UNTAGGED_CAP">,
): RemainingCaps {
  const byOperator: Record<string, number> = {};
  const remaining = (operator: string) =>
    Math.max(0, operatorDailyCap(operator, day, settings) - (usedToday.get(operator) ?? 0));
  for (const operator of bigOperators(settings)) byOperator[operator] = remaining(operator);
  for (const operator of usedToday.keys()) if (operator !== null) byOperator[operator] = remaining(operator);
  // Any label that is not a big operator climbs the ramp from day 1.
  const defaultRemaining = day < 1 ? 0 : rampCap(settings.OUTREACH_RAMP, day);
  const untaggedRemaining = day < 1 ? 0 : Math.max(0, untaggedCap(settings, quota) - (usedToday.get(null) ?? 0));
  const heldOut = bigOperators(settings).filter((operator) => isHeldOut(operator, day, settings));
  return { defaultRemaining, byOperator, untaggedRemaining, heldOut };
}
