import { z } from "zod";

/**
 * The intake fields filings ask for, one validated zod field each, shared by the services in
 * the catalog. Every field carries a human label (`.describe`) so the "what is still missing"
 * email and the wizard name it the same way.
 *
 * Values arrive from HTML forms (strings), the FMCSA census (numbers) and stored JSON, so ids
 * accept a number or a string and counts accept "12" as well as 12. Free text is trimmed and
 * length-capped; it is stored as text and escaped on display (OrderMachine issue, "Bad input").
 */

// ---------------------------------------------------------------------------------------------
// Identifiers

const toTrimmedString = (v: unknown) =>
  typeof v === "number" && Number.isFinite(v) ? String(v) : typeof v === "string" ? v.trim() : v;

/** USDOT number: FMCSA assigns 1–8 digit numbers, never with a leading zero. */
export const USDOT_NUMBER_PATTERN = /^[1-9]\d{0,7}$/;

export const usdotNumber = () =>
  z
    .preprocess(
      (v) => {
        const s = toTrimmedString(v);
        // People paste "USDOT 1234567" or "DOT# 1234567"; keep the digits they meant.
        return typeof s === "string" ? s.replace(/^(?:us\s*)?dot\s*(?:#|no\.?|number)?\s*:?\s*/i, "") : s;
      },
      z.string().regex(USDOT_NUMBER_PATTERN, "a USDOT number is 1 to 8 digits"),
    )
    .describe("USDOT number");

/** FMCSA operating-authority docket: MC, FF or MX followed by up to 8 digits. */
export const mcNumber = () =>
  z
    .preprocess(
      toTrimmedString,
      z.string().regex(/^(?:MC|FF|MX)-?\d{1,8}$/i, "an MC/FF/MX docket number such as MC-123456"),
    )
    .transform((v) => v.toUpperCase().replace(/^(MC|FF|MX)-?/, "$1-"))
    .describe("MC docket number");

/**
 * NPI check digit (CMS, "Requirements for NPI check digit", NPS): the Luhn mod-10 formula over
 * the number prefixed with 80840 (the health-industry card issuer prefix, ISO/IEC 7812), which
 * is the same as the plain Luhn sum of the NPI plus the constant 24.
 */
export function isValidNpi(npi: string): boolean {
  if (!/^[12]\d{9}$/.test(npi)) return false;
  let sum = 24;
  for (let i = 0; i < 10; i++) {
    let digit = npi.charCodeAt(9 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** National Provider Identifier: 10 digits starting 1 or 2 (45 CFR 162.406), Luhn-checked. */
export const npi = () =>
  z
    .preprocess(toTrimmedString, z.string().regex(/^\d{10}$/, "an NPI is 10 digits"))
    .refine(isValidNpi, "not a valid NPI (check digit does not match)")
    .describe("NPI");

/** Medicare PTAN: 6 to 10 letters and digits, issued by the MAC. */
export const ptan = () =>
  z
    .preprocess(toTrimmedString, z.string().regex(/^[A-Z0-9]{6,10}$/i, "a PTAN is 6 to 10 letters and digits"))
    .describe("Medicare PTAN");

/** FCC Registration Number (CORES, 47 CFR 1.8002): 10 digits, leading zeros significant. */
export const frn = () =>
  z
    .preprocess(
      (v) => (typeof v === "number" ? String(v).padStart(10, "0") : toTrimmedString(v)),
      z.string().regex(/^\d{10}$/, "an FRN is 10 digits"),
    )
    .describe("FCC Registration Number (FRN)");

/** USAC Form 499 Filer ID: 6 digits (47 CFR 54.711). */
export const filer499Id = () =>
  z
    .preprocess(toTrimmedString, z.string().regex(/^\d{6}$/, "a 499 Filer ID is 6 digits"))
    .describe("Form 499 Filer ID");

/** Federal Employer Identification Number, stored as NN-NNNNNNN. */
export const fein = () =>
  z
    .preprocess(toTrimmedString, z.string().regex(/^\d{2}-?\d{7}$/, "an EIN is 9 digits (NN-NNNNNNN)"))
    .transform((v) => (v.includes("-") ? v : `${v.slice(0, 2)}-${v.slice(2)}`))
    .describe("Federal EIN");

/** Vehicle Identification Number: 17 characters, no I, O or Q (49 CFR 565.15). */
export const vin = () =>
  z
    .preprocess(
      toTrimmedString,
      z.string().regex(/^[A-HJ-NPR-Z0-9]{17}$/i, "a VIN is 17 letters and digits (no I, O or Q)"),
    )
    .transform((v) => v.toUpperCase())
    .describe("VIN");

// ---------------------------------------------------------------------------------------------
// Places and people

/** USPS codes of the 50 states and DC: the jurisdictions our filings are made in. */
export const US_STATES = [
  "AL",
  "AK",
  "AZ",
  "AR",
  "CA",
  "CO",
  "CT",
  "DE",
  "DC",
  "FL",
  "GA",
  "HI",
  "ID",
  "IL",
  "IN",
  "IA",
  "KS",
  "KY",
  "LA",
  "ME",
  "MD",
  "MA",
  "MI",
  "MN",
  "MS",
  "MO",
  "MT",
  "NE",
  "NV",
  "NH",
  "NJ",
  "NM",
  "NY",
  "NC",
  "ND",
  "OH",
  "OK",
  "OR",
  "PA",
  "RI",
  "SC",
  "SD",
  "TN",
  "TX",
  "UT",
  "VT",
  "VA",
  "WA",
  "WV",
  "WI",
  "WY",
] as const;
export type UsState = (typeof US_STATES)[number];

export const usState = (label = "State") =>
  z
    .preprocess(
      (v) => (typeof v === "string" ? v.trim().toUpperCase() : v),
      z.enum(US_STATES, { error: "a two-letter US state code" }),
    )
    .describe(label);

export const text = (label: string, max = 200) =>
  z.string().trim().min(1, `${label} is required`).max(max).describe(label);

export const legalName = () => text("Legal name", 200);

export const email = (label = "Email") => z.preprocess(toTrimmedString, z.email()).describe(label);

export const phone = (label = "Phone") =>
  z.preprocess(toTrimmedString, z.string().regex(/^\+?[\d\s().-]{7,25}$/, "a phone number")).describe(label);

export const address = (label = "Address") =>
  z
    .object({
      street: text("Street", 200),
      city: text("City", 100),
      state: usState(),
      zip: z
        .preprocess(toTrimmedString, z.string().regex(/^\d{5}(?:-\d{4})?$/, "a ZIP code (12345 or 12345-6789)"))
        .describe("ZIP code"),
    })
    .describe(label);

/** The officer who signs: the signature gate addresses its link to this person. */
export const officer = (label = "Signing officer") =>
  z
    .object({
      name: text("Officer name", 120),
      title: text("Officer title", 120),
      email: email("Officer email"),
    })
    .describe(label);

// ---------------------------------------------------------------------------------------------
// Numbers, dates, choices

const toNumber = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? Number(v.trim().replace(/,/g, "")) : v);

export const count = (label: string, max = 1_000_000) =>
  z
    .preprocess(
      toNumber,
      z
        .number({ error: `${label} must be a whole number` })
        .int()
        .min(0)
        .max(max),
    )
    .describe(label);

/** Whole dollars as entered on a revenue form (499-A lines are reported in whole dollars). */
export const wholeDollars = (label: string) =>
  z
    .preprocess(
      toNumber,
      z
        .number({ error: `${label} must be an amount in whole dollars` })
        .int()
        .min(0)
        .max(1e12),
    )
    .describe(label);

export const year = (label: string, min = 2000, max = 2100) =>
  z
    .preprocess(
      toNumber,
      z
        .number({ error: `${label} must be a year` })
        .int()
        .min(min)
        .max(max),
    )
    .describe(label);

export const isoDate = (label: string) => z.iso.date({ error: `${label} must be a date (YYYY-MM-DD)` }).describe(label);

export const choice = <const T extends readonly [string, ...string[]]>(label: string, values: T) =>
  z.enum(values, { error: `${label}: one of ${values.join(", ")}` }).describe(label);

export const yesNo = (label: string) =>
  z
    .preprocess((v) => (v === "yes" || v === "true" ? true : v === "no" || v === "false" ? false : v), z.boolean())
    .describe(label);

// ---------------------------------------------------------------------------------------------
// Declaring a service's intake

/**
 * A service's intake: the complete schema with the cross-field rules the filing needs
 * (`intakeSchema`), and the plain field shape (`intakeFields`) so the wizard can save partial
 * answers with `intakeFields.partial()`, which zod refuses on refined objects.
 */
export interface IntakeDefinition<Shape extends z.ZodRawShape = z.ZodRawShape> {
  intakeSchema: z.ZodType<z.output<z.ZodObject<Shape>>, unknown>;
  intakeFields: z.ZodObject<Shape>;
}

export function defineIntake<Shape extends z.ZodRawShape>(
  shape: Shape,
  refine?: (value: z.output<z.ZodObject<Shape>>, ctx: z.RefinementCtx) => void,
): IntakeDefinition<Shape> {
  const intakeFields = z.object(shape);
  const intakeSchema = refine ? intakeFields.superRefine(refine) : intakeFields;
  return { intakeSchema: intakeSchema as z.ZodType<z.output<z.ZodObject<Shape>>, unknown>, intakeFields };
}
