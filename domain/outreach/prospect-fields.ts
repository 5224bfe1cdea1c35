/**
 * What a campaign template may say about a prospect. Placeholders (`{{legal_name}}`) name
 * PROSPECT_FIELDS, values copied from public data at import; a claim ("your MCS-150 is
 * overdue") is backed by a DEFICIENCY computed at import, or by a field that must be present.
 * The audience build sends a template only to prospects whose data backs every claim it makes.
 */

export const PROSPECT_FIELDS = [
  "legal_name",
  "dba_name",
  /** The name to greet: DBA when the carrier has one, else the legal name. */
  "display_name",
  "city",
  "state",
  "usdot_number",
  "power_units",
  "drivers",
  /** YYYY-MM-DD of the last MCS-150 on file. */
  "mcs150_date",
  /** YYYY-MM-DD: the end of the month the next MCS-150 is due by (49 CFR 390.19(b)). */
  "mcs150_due_date",
] as const;

export type ProspectField = (typeof PROSPECT_FIELDS)[number];

/**
 * Deficiencies the FMCSA census supports, computed at import (domain/outreach/deficiencies.ts):
 * - mcs150_overdue: the 49 CFR 390.19(b) month for the USDOT number has passed since the last
 *   MCS-150 on file;
 * - mcs150_never_filed: no MCS-150 date in the census at all.
 */
export const DEFICIENCIES = ["mcs150_overdue", "mcs150_never_filed"] as const;

export type Deficiency = (typeof DEFICIENCIES)[number];

export type ProspectFieldValues = Partial<Record<ProspectField, string | number | null>>;

export function isProspectField(name: string): name is ProspectField {
  return (PROSPECT_FIELDS as readonly string[]).includes(name);
}

export function isDeficiency(name: string): name is Deficiency {
  return (DEFICIENCIES as readonly string[]).includes(name);
}
