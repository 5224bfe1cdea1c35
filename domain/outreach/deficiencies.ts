import { mcs150DueDate } from "../catalog/next-due";
import type { FmcsaCarrierRecord } from "./fmcsa-census-row";
import type { Deficiency, ProspectField } from "./prospect-fields";

/**
 * What the census says a carrier has not done, and the fields a template may quote, both computed
 * at import from the public record alone: a campaign that claims "your MCS-150 is overdue" goes
 * only to prospects whose record carries `mcs150_overdue` (domain/outreach/prospect-fields.ts).
 */

export type DeficiencyInput = Pick<FmcsaCarrierRecord, "usdotNumber" | "mcs150Date">;

export type ProspectFieldInput = Pick<
  FmcsaCarrierRecord,
  "usdotNumber" | "legalName" | "dbaName" | "phyCity" | "phyState" | "powerUnits" | "drivers" | "mcs150Date"
>;

/** The UTC calendar day of `today`, YYYY-MM-DD. */
function utcDay(today: Date): string {
  if (Number.isNaN(today.getTime())) throw new RangeError("today is not a date");
  return today.toISOString().slice(0, 10);
}

/**
 * 49 CFR 390.19(b): the MCS-150 is due by the end of the scheduled month after the last filing
 * (mcs150DueDate). Null when the census has no filing date.
 */
export function mcs150DueAfterLastFiling(carrier: DeficiencyInput): string | null {
  if (carrier.mcs150Date === null) return null;
  return mcs150DueDate(carrier.usdotNumber, new Date(`${carrier.mcs150Date}T00:00:00Z`));
}

/**
 * The deficiencies the record supports on `today` (a UTC day), in DEFICIENCIES order:
 * - mcs150_overdue: the due date after the last MCS-150 on file is before today (the due date
 *   itself, the month's last day, is still on time);
 * - mcs150_never_filed: the census has no MCS-150 date at all (nothing to compute a due date from,
 *   so such a carrier is never also "overdue").
 */
export function computeDeficiencies(carrier: DeficiencyInput, today: Date): Deficiency[] {
  const day = utcDay(today);
  const due = mcs150DueAfterLastFiling(carrier);
  if (due === null) return ["mcs150_never_filed"];
  return due < day ? ["mcs150_overdue"] : [];
}

/**
 * The placeholder values (PROSPECT_FIELDS) a template may use for this carrier. `mcs150_due_date`
 * is the due date after the last filing, in the past when overdue; null when never filed.
 */
export function prospectFields(carrier: ProspectFieldInput): Record<ProspectField, string | number | null> {
  return {
    legal_name: carrier.legalName,
    dba_name: carrier.dbaName,
    display_name: carrier.dbaName ?? carrier.legalName,
    city: carrier.phyCity,
    state: carrier.phyState,
    usdot_number: carrier.usdotNumber,
    power_units: carrier.powerUnits,
    drivers: carrier.drivers,
    mcs150_date: carrier.mcs150Date,
    mcs150_due_date: mcs150DueAfterLastFiling(carrier),
  };
}
