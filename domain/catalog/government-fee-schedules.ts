import type { UsState } from "./intake-fields";

/**
 * Government fees as data: what agencies charge, collected from the customer at cost in a child
 * order (commerce issue, item 6), with where each figure comes from. `verified: false` marks a
 * figure we have not confirmed against the agency's own publication: the filing scripts still
 * check the fee the portal shows before paying (DESIGN.md, "Filings"), and an admin sees the
 * flag on the estimate.
 */

export interface FeeSource {
  source: string;
  verified: boolean;
}

// ---------------------------------------------------------------------------------------------
// UCR (49 U.S.C. 14504a)

/**
 * The six UCR fleet-size brackets: power units (self-propelled commercial motor vehicles,
 * trailers not counted) a carrier operates (49 U.S.C. 14504a(f); 49 CFR part 367).
 */
export const UCR_FLEET_BRACKETS = [
  { id: "0-2", min: 0, max: 2 },
  { id: "3-5", min: 3, max: 5 },
  { id: "6-20", min: 6, max: 20 },
  { id: "21-100", min: 21, max: 100 },
  { id: "101-1000", min: 101, max: 1000 },
  { id: "1001+", min: 1001, max: Number.POSITIVE_INFINITY },
] as const;

export type UcrFleetBracket = (typeof UCR_FLEET_BRACKETS)[number]["id"];
export const UCR_FLEET_BRACKET_IDS = UCR_FLEET_BRACKETS.map((b) => b.id) as unknown as readonly [
  UcrFleetBracket,
  ...UcrFleetBracket[],
];

export interface UcrYearSchedule extends FeeSource {
  /** Fee per bracket, integer cents. */
  feesCents: Readonly<Record<UcrFleetBracket, number>>;
}

export const UCR_FEE_SCHEDULE = {
  id: "ucr",
  agency: "Unified Carrier Registration Plan",
  label: "UCR registration fee",
  /**
   * Brokers, freight forwarders and leasing companies that operate no motor vehicles pay the
   * lowest bracket (49 U.S.C. 14504a(f); the UCR Board's fee schedule).
   */
  lowestBracketFor: ["broker", "freight_forwarder", "leasing_company"] as const,
  years: {
    2025: {
      feesCents: {
        "0-2": 4_600,
        "3-5": 13_800,
        "6-20": 27_600,
        "21-100": 96_300,
        "101-1000": 459_200,
        "1001+": 4_483_600,
      },
      source:
        "UCR Board published fee schedule for registration year 2025 (FMCSA rule under 49 U.S.C. 14504a(f), 49 CFR part 367)",
      verified: true,
    },
    2026: {
      feesCents: {
        "0-2": 4_600,
        "3-5": 13_800,
        "6-20": 27_600,
        "21-100": 96_300,
        "101-1000": 459_200,
        "1001+": 4_483_600,
      },
      source:
        "UCR Board published fee schedule for registration year 2026, unchanged from 2025 (49 U.S.C. 14504a(f), 49 CFR part 367)",
      verified: true,
    },
    2027: {
      feesCents: {
        "0-2": 5_500,
        "3-5": 16_700,
        "6-20": 33_300,
        "21-100": 116_300,
        "101-1000": 554_800,
        "1001+": 5_416_500,
      },
      source:
        "UCR Board published fee schedule for registration year 2027 (49 U.S.C. 14504a(f), 49 CFR part 367); figures from the OrderMachine issue, to confirm against the final rule",
      verified: false,
    },
  } as Readonly<Record<number, UcrYearSchedule>>,
} as const;

// ---------------------------------------------------------------------------------------------
// IFTA decals (IFTA Articles of Agreement: one set of two decals per qualified motor vehicle)

export interface IftaJurisdictionFees extends FeeSource {
  agency: string;
  /** Per set of decals (one set per qualified motor vehicle), cents. */
  decalSetCents: number;
  /** A yearly license fee charged by the base jurisdiction, cents (0 if none). */
  licenseCents: number;
}

/**
 * Base jurisdictions we hold figures for. The seeds say IFTA decal fees are "published/
 * near-exact" but give none: every figure below is an assumption to confirm against the
 * jurisdiction's IFTA procedures manual. A base state not listed here has its fee entered by
 * an admin (agency invoice), never guessed.
 */
export const IFTA_FEES: Readonly<Partial<Record<UsState, IftaJurisdictionFees>>> = {
  SC: {
    agency: "South Carolina Department of Revenue (Motor Fuel)",
    decalSetCents: 1_000,
    licenseCents: 0,
    source: "ASSUMPTION: SCDOR IFTA decal fee, to confirm",
    verified: false,
  },
  GA: {
    agency: "Georgia Department of Revenue (Motor Fuel)",
    decalSetCents: 500,
    licenseCents: 0,
    source: "ASSUMPTION: Georgia DOR IFTA decal fee, to confirm",
    verified: false,
  },
  FL: {
    agency: "Florida DHSMV (Motor Carrier Services)",
    decalSetCents: 400,
    licenseCents: 0,
    source: "ASSUMPTION: Florida DHSMV IFTA decal fee, to confirm",
    verified: false,
  },
  TX: {
    agency: "Texas Comptroller of Public Accounts",
    decalSetCents: 0,
    licenseCents: 0,
    source: "ASSUMPTION: Texas issues IFTA decals at no charge, to confirm",
    verified: false,
  },
};

// ---------------------------------------------------------------------------------------------
// Intrastate operating authority

export interface IntrastateAuthorityFees extends FeeSource {
  agency: string;
  product: string;
  newCents: number;
  renewalCents: number;
  /** Carrier kinds the product covers; others go to the state's PSC/PUC, fee by invoice. */
  carrierKinds: readonly string[];
}

/**
 * South Carolina for-hire property carriers register intrastate through the SCDMV Certificate
 * of Compliance, not a PSC certificate: $25 for a new application, $0 to renew, billed at cost;
 * the insurer files Form E (liability) and, for E-LC, Form H (cargo) with SCDMV itself (seeds:
 * the SC COC commits; S.C. Code 58-23). Other states' PSC/PUC fees come from the agency's reply.
 */
export const INTRASTATE_AUTHORITY_FEES: Readonly<Partial<Record<UsState, IntrastateAuthorityFees>>> = {
  SC: {
    agency: "South Carolina Department of Motor Vehicles (SCDMV)",
    product: "Certificate of Compliance (Form COC)",
    newCents: 2_500,
    renewalCents: 0,
    carrierKinds: ["property"],
    source:
      "SCDMV Certificate of Compliance application fee (seeds: gov_fee corrected from a $0 placeholder; renewals $0)",
    verified: true,
  },
};

// ---------------------------------------------------------------------------------------------
// Medicare provider enrollment application fee (42 CFR 424.514)

export interface CmsApplicationFeeYear extends FeeSource {
  cents: number;
}

/**
 * Institutional providers and suppliers (CMS-855A, -855B, -855S) pay it at initial enrollment,
 * revalidation and new locations; individual practitioners (CMS-855I) are exempt. CMS adjusts
 * it each calendar year by CPI-U and publishes it in the Federal Register.
 */
export const CMS_APPLICATION_FEE = {
  id: "cms_enrollment_application_fee",
  agency: "Centers for Medicare & Medicaid Services",
  label: "Medicare enrollment application fee",
  feeForms: ["855A", "855B", "855S"] as const,
  years: {
    2025: {
      cents: 73_000,
      source: "CMS CY 2025 provider enrollment application fee (42 CFR 424.514), Federal Register notice",
      verified: true,
    },
    2026: {
      cents: 75_000,
      source:
        "ASSUMPTION: CMS CY 2026 application fee (42 CFR 424.514), to confirm against the Federal Register notice",
      verified: false,
    },
  } as Readonly<Record<number, CmsApplicationFeeYear>>,
} as const;

// ---------------------------------------------------------------------------------------------
// Agency processing fees

/** A card or convenience fee an agency adds, passed through at cost (seeds: AGENCY_PROCESSING_FEE). */
export type AgencyProcessingFee =
  | ({ kind: "flat"; cents: number; label: string } & FeeSource)
  | ({ kind: "percent"; bps: number; label: string } & FeeSource);

/**
 * Keyed by schedule or rule and jurisdiction ("ucr", "ifta:GA", "intrastate:SC"). The seeds
 * name the mechanism without figures, and the agencies above are not known to add one (UCR,
 * SCDMV, CMS via pay.gov), so the table starts empty: entries are added as agencies are
 * confirmed, and estimates itemise them as their own line.
 */
export const AGENCY_PROCESSING_FEES: Readonly<Record<string, AgencyProcessingFee>> = {};

// ---------------------------------------------------------------------------------------------

/** Every table the estimator reads, injectable so an admin override or a test can replace one. */
export interface GovernmentFeeData {
  ucr: typeof UCR_FEE_SCHEDULE;
  ifta: Readonly<Partial<Record<string, IftaJurisdictionFees>>>;
  intrastate: Readonly<Partial<Record<string, IntrastateAuthorityFees>>>;
  cmsApplicationFee: typeof CMS_APPLICATION_FEE;
  processingFees: Readonly<Record<string, AgencyProcessingFee>>;
}

export const GOVERNMENT_FEE_DATA: GovernmentFeeData = {
  ucr: UCR_FEE_SCHEDULE,
  ifta: IFTA_FEES,
  intrastate: INTRASTATE_AUTHORITY_FEES,
  cmsApplicationFee: CMS_APPLICATION_FEE,
  processingFees: AGENCY_PROCESSING_FEES,
};

/** The UCR bracket for a number of power units (the intake's fleet-size bracket follows it). */
export function ucrFleetBracket(powerUnits: number): UcrFleetBracket {
  if (!Number.isInteger(powerUnits) || powerUnits < 0)
    throw new RangeError(`power units must be a non-negative integer, got ${powerUnits}`);
  const bracket = UCR_FLEET_BRACKETS.find((b) => powerUnits >= b.min && powerUnits <= b.max);
  // Unreachable: the brackets cover 0..∞ without gaps.
  if (!bracket) throw new RangeError(`no UCR bracket for ${powerUnits}`);
  return bracket.id;
}
