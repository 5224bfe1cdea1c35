import { z } from "zod";
import { DEFICIENCIES, isDeficiency, isProspectField, PROSPECT_FIELDS } from "./prospect-fields";

/**
 * What an admin writes when creating a campaign (POST /api/admin/campaigns), parsed once at the
 * edge, and the content rules a campaign must pass before it can be approved. Pure.
 */

const day = z.iso.date();

/** Which days the daily build runs for the campaign (UTC). */
export const campaignScheduleSchema = z
  .strictObject({
    startOn: day,
    endOn: day.optional(),
    /** 0 = Sunday … 6 = Saturday; all days when absent. */
    weekdays: z.array(z.number().int().min(0).max(6)).min(1).max(7).optional(),
  })
  .refine((s) => s.endOn === undefined || s.endOn >= s.startOn, "endOn is before startOn");

export type CampaignSchedule = z.infer<typeof campaignScheduleSchema>;

/** Which prospects the campaign is for, before the sending rules. */
export const campaignAudienceSchema = z.strictObject({
  source: z.literal("fmcsa"),
  /** Physical-address states (two-letter codes). */
  states: z
    .array(z.string().regex(/^[A-Z]{2}$/, "a two-letter state code"))
    .min(1)
    .max(60)
    .optional(),
  /** Only prospects with every one of these deficiencies. */
  requireDeficiencies: z.array(z.enum(DEFICIENCIES)).min(1).optional(),
});

export type CampaignAudience = z.infer<typeof campaignAudienceSchema>;

/**
 * A fact the template states about each recipient and the data that backs it: a deficiency
 * computed at import, or a prospect field that must be present.
 */
export const campaignClaimSchema = z.strictObject({
  statement: z.string().trim().min(3).max(300),
  backedBy: z.string().refine((v) => isDeficiency(v) || isProspectField(v), {
    message: `must be a deficiency (${DEFICIENCIES.join(", ")}) or a prospect field (${PROSPECT_FIELDS.join(", ")})`,
  }),
});

export type CampaignClaim = z.infer<typeof campaignClaimSchema>;

export const campaignInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  subject: z.string().trim().min(1).max(200),
  html: z.string().min(1).max(200_000),
  /** Every per-recipient fact the template states; [] when it states none. */
  claims: z.array(campaignClaimSchema).max(20),
  audience: campaignAudienceSchema,
  dailyQuota: z.number().int().min(1).max(100_000),
  schedule: campaignScheduleSchema,
  utmCampaign: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "lower-case letters, digits, - and _")
    .optional(),
});

export type CampaignInput = z.infer<typeof campaignInputSchema>;

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** The placeholder names a text uses, in order of first use. */
export function placeholdersIn(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

/**
 * Prices in campaign mail: a currency sign before digits, or digits before USD or "dollars". Prices live
 * in the catalog and on the order page, where they are current; a price in a mail goes stale.
 */
const PRICE = /(?:[$€£]\s?\d)|(?:\b\d[\d,.]*\s?(?:usd|dollars?|bucks)\b)|(?:\bUS\$)/i;

export function mentionsPrice(text: string): boolean {
  return PRICE.test(text);
}

/**
 * Everything wrong with a campaign's content, as messages for the admin; [] when it may be
 * approved. Links are checked separately (domain/outreach/campaign-links.ts).
 */
export function campaignContentProblems(input: Pick<CampaignInput, "subject" | "html" | "claims">): string[] {
  const problems: string[] = [];
  for (const [where, text] of [
    ["subject", input.subject],
    ["html", input.html],
  ] as const) {
    for (const name of placeholdersIn(text)) {
      if (!isProspectField(name)) {
        problems.push(`${where}: {{${name}}} is not a prospect field (${PROSPECT_FIELDS.join(", ")})`);
      }
    }
    if (mentionsPrice(text)) problems.push(`${where}: campaign mail shows no prices`);
  }
  for (const claim of input.claims) {
    if (mentionsPrice(claim.statement)) problems.push(`claim "${claim.statement}": campaign mail shows no prices`);
  }
  return problems;
}

/** The prospect fields a template needs to render: every placeholder must have a value. */
export function requiredFields(input: Pick<CampaignInput, "subject" | "html" | "claims">): string[] {
  const fields = new Set([...placeholdersIn(input.subject), ...placeholdersIn(input.html)].filter(isProspectField));
  for (const claim of input.claims) if (isProspectField(claim.backedBy)) fields.add(claim.backedBy);
  return [...fields];
}

/** The deficiencies a prospect must have: the claims' and the audience's. */
export function requiredDeficiencies(input: Pick<CampaignInput, "claims" | "audience">): string[] {
  return [
    ...new Set([
      ...input.claims.filter((c) => isDeficiency(c.backedBy)).map((c) => c.backedBy),
      ...(input.audience.requireDeficiencies ?? []),
    ]),
  ];
}

/** Whether the daily build runs for the campaign on `day` (YYYY-MM-DD, UTC). */
export function scheduledOn(schedule: CampaignSchedule, dayIso: string): boolean {
  if (dayIso < schedule.startOn) return false;
  if (schedule.endOn !== undefined && dayIso > schedule.endOn) return false;
  const weekday = new Date(`${dayIso}T00:00:00Z`).getUTCDay();
  return schedule.weekdays === undefined || schedule.weekdays.includes(weekday);
}
