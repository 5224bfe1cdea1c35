import { applyBps, assertCents, formatCents } from "./money";
import {
  GOVERNMENT_FEE_DATA,
  ucrFleetBracket,
  type AgencyProcessingFee,
  type GovernmentFeeData,
  type UcrFleetBracket,
} from "./government-fee-schedules";
import type { ServiceDefinition } from "./service-definition";

/**
 * The government-fee estimate for an order: what the agency will charge, itemised with the
 * source of each figure, collected from the customer at cost as a child order (commerce issue,
 * item 6; OrderMachine issue, the government-fee gate). The old system stalled orders because
 * this fee was never billed (seeds: the gov-fee child-order commit).
 */

export interface GovernmentFeeItem {
  label: string;
  cents: number;
  source: string;
  agency: string;
  kind: "government_fee" | "agency_processing_fee";
  /** False when the figure is an assumption not yet confirmed against the agency. */
  verified: boolean;
}

export type GovernmentFeeEstimate =
  /** The service has no government fee (or this intake is exempt from it). */
  | { kind: "none"; reason?: string }
  /**
   * The fee, itemised. `basis` says how firm it is: "published"/"fixed" figures are exact,
   * an "estimate" may be corrected (refund overage, rebill shortfall). A total of 0 (an agency
   * that charges nothing for this intake) needs no child order.
   */
  | {
      kind: "itemised";
      basis: "fixed" | "published" | "estimate";
      items: GovernmentFeeItem[];
      totalCents: number;
      verified: boolean;
    }
  /** Only the agency can compute it (IRP): an admin enters the figure from its invoice. */
  | { kind: "agency_invoice"; agency: string; reason: string }
  /** Not yet computable: intake is missing or there is no schedule for the year. */
  | { kind: "unavailable"; code: "MISSING_INTAKE" | "NO_SCHEDULE_FOR_YEAR"; message: string; fields: string[] };

export interface EstimateOptions {
  /** The year the fee is for: the UCR registration year, the CMS fee's calendar year. */
  registrationYear?: number;
  /** When the year is not given: the UTC year of this instant. */
  asOf?: Date;
  /** The fee tables; the catalog's by default. */
  data?: GovernmentFeeData;
}

export function estimateGovernmentFee(
  service: ServiceDefinition,
  intake: Readonly<Record<string, unknown>>,
  options: EstimateOptions = {},
): GovernmentFeeEstimate {
  const data = options.data ?? GOVERNMENT_FEE_DATA;
  const fee = service.governmentFee;
  const read = fieldReader(service, intake);

  switch (fee.kind) {
    case "none":
      return { kind: "none" };

    case "agency_invoice":
      return {
        kind: "agency_invoice",
        agency: fee.agency,
        reason: `${fee.agency} computes this fee; an admin enters it from the agency's invoice`,
      };

    case "fixed":
      assertCents(fee.cents, `${service.slug} government fee`);
      return itemised(
        "fixed",
        [
          {
            label: fee.label,
            cents: fee.cents,
            source: fee.source,
            agency: fee.agency,
            kind: "government_fee",
            verified: true,
          },
        ],
        data.processingFees[service.slug],
      );

    case "published_schedule":
      if (fee.schedule === "ucr") return estimateUcr(read, options, data);
      return estimateCmsApplicationFee(read, options, data);

    case "estimate":
      if (fee.rule === "ifta_decals") return estimateIfta(read, data);
      return estimateIntrastate(read, data);
  }
}

// ---------------------------------------------------------------------------------------------

function estimateUcr(read: FieldReader, options: EstimateOptions, data: GovernmentFeeData): GovernmentFeeEstimate {
  const schedule = data.ucr;
  const classification = read<string>("classification");
  const yearField = options.registrationYear ?? read<number>("registrationYear");
  const lowest =
    classification !== undefined && (schedule.lowestBracketFor as readonly string[]).includes(classification);
  const powerUnits = lowest ? undefined : read<number>("powerUnits");

  const missing = [
    ...(classification === undefined ? ["classification"] : []),
    ...(!lowest && powerUnits === undefined ? ["powerUnits"] : []),
    ...(yearField === undefined ? ["registrationYear"] : []),
  ];
  if (missing.length > 0) return unavailableIntake(missing);

  const year = yearField as number;
  const yearSchedule = schedule.years[year];
  if (!yearSchedule) {
    return {
      kind: "unavailable",
      code: "NO_SCHEDULE_FOR_YEAR",
      message: `no published UCR fee schedule for registration year ${year}`,
      fields: ["registrationYear"],
    };
  }
  const bracket: UcrFleetBracket = lowest ? "0-2" : ucrFleetBracket(powerUnits as number);
  const who = lowest ? `${(classification as string).replace(/_/g, " ")} (lowest bracket)` : `${bracket} power units`;
  return itemised(
    "published",
    [
      {
        label: `${schedule.label} ${year}, ${who}`,
        cents: yearSchedule.feesCents[bracket],
        source: yearSchedule.source,
        agency: schedule.agency,
        kind: "government_fee",
        verified: yearSchedule.verified,
      },
    ],
    data.processingFees[schedule.id],
  );
}

function estimateCmsApplicationFee(
  read: FieldReader,
  options: EstimateOptions,
  data: GovernmentFeeData,
): GovernmentFeeEstimate {
  const table = data.cmsApplicationFee;
  const form = read<string>("enrollmentForm");
  if (form === undefined) return unavailableIntake(["enrollmentForm"]);
  if (!(table.feeForms as readonly string[]).includes(form)) {
    return {
      kind: "none",
      reason: `CMS-${form} enrollments pay no application fee (42 CFR 424.514 applies to institutional providers)`,
    };
  }
  const year = options.registrationYear ?? options.asOf?.getUTCFullYear();
  if (year === undefined)
    return {
      kind: "unavailable",
      code: "NO_SCHEDULE_FOR_YEAR",
      message: "the fee year is needed (registrationYear or asOf)",
      fields: [],
    };
  const entry = table.years[year];
  if (!entry)
    return {
      kind: "unavailable",
      code: "NO_SCHEDULE_FOR_YEAR",
      message: `no published CMS application fee for ${year}`,
      fields: [],
    };
  return itemised(
    "published",
    [
      {
        label: `${table.label} ${year}`,
        cents: entry.cents,
        source: entry.source,
        agency: table.agency,
        kind: "government_fee",
        verified: entry.verified,
      },
    ],
    data.processingFees[table.id],
  );
}

function estimateIfta(read: FieldReader, data: GovernmentFeeData): GovernmentFeeEstimate {
  const state = read<string>("baseState");
  const vehicles = read<number>("qualifiedVehicles");
  const missing = [
    ...(state === undefined ? ["baseState"] : []),
    ...(vehicles === undefined ? ["qualifiedVehicles"] : []),
  ];
  if (missing.length > 0) return unavailableIntake(missing);
  const fees = data.ifta[state as string];
  if (!fees) {
    return {
      kind: "agency_invoice",
      agency: `${state} IFTA office`,
      reason: `no IFTA decal fee on file for ${state}; an admin enters the figure the jurisdiction quotes`,
    };
  }
  const n = vehicles as number;
  const items: GovernmentFeeItem[] = [];
  if (fees.licenseCents > 0) {
    items.push({
      label: `IFTA license (${state})`,
      cents: fees.licenseCents,
      source: fees.source,
      agency: fees.agency,
      kind: "government_fee",
      verified: fees.verified,
    });
  }
  items.push({
    label: `IFTA decals (${state}): ${n} ${n === 1 ? "set" : "sets"} × ${formatCents(fees.decalSetCents)}`,
    cents: n * fees.decalSetCents,
    source: fees.source,
    agency: fees.agency,
    kind: "government_fee",
    verified: fees.verified,
  });
  return itemised("estimate", items, data.processingFees[`ifta:${state}`]);
}

function estimateIntrastate(read: FieldReader, data: GovernmentFeeData): GovernmentFeeEstimate {
  const state = read<string>("state");
  const kind = read<string>("carrierKind");
  const application = read<string>("applicationType");
  const missing = [
    ...(state === undefined ? ["state"] : []),
    ...(kind === undefined ? ["carrierKind"] : []),
    ...(application === undefined ? ["applicationType"] : []),
  ];
  if (missing.length > 0) return unavailableIntake(missing);
  const fees = data.intrastate[state as string];
  if (!fees || !fees.carrierKinds.includes(kind as string)) {
    return {
      kind: "agency_invoice",
      agency: `${state} PSC/PUC`,
      reason: `the ${state} commission quotes this fee on the application; an admin enters it from its reply`,
    };
  }
  const renewal = application === "renewal";
  return itemised(
    "estimate",
    [
      {
        label: `${fees.product}, ${renewal ? "renewal" : "new application"} (${state})`,
        cents: renewal ? fees.renewalCents : fees.newCents,
        source: fees.source,
        agency: fees.agency,
        kind: "government_fee",
        verified: fees.verified,
      },
    ],
    data.processingFees[`intrastate:${state}`],
  );
}

// ---------------------------------------------------------------------------------------------

function itemised(
  basis: "fixed" | "published" | "estimate",
  items: GovernmentFeeItem[],
  processing: AgencyProcessingFee | undefined,
): GovernmentFeeEstimate {
  const feeCents = items.reduce((sum, i) => sum + i.cents, 0);
  if (processing) {
    const cents = processing.kind === "flat" ? processing.cents : applyBps(feeCents, processing.bps);
    if (cents > 0) {
      const agency = items[0]?.agency ?? "agency";
      items.push({
        label: processing.label,
        cents,
        source: processing.source,
        agency,
        kind: "agency_processing_fee",
        verified: processing.verified,
      });
    }
  }
  for (const item of items) assertCents(item.cents, item.label);
  return {
    kind: "itemised",
    basis,
    items,
    totalCents: items.reduce((sum, i) => sum + i.cents, 0),
    verified: items.every((i) => i.verified),
  };
}

function unavailableIntake(fields: string[]): GovernmentFeeEstimate {
  return { kind: "unavailable", code: "MISSING_INTAKE", message: `intake is missing ${fields.join(", ")}`, fields };
}

type FieldReader = <T>(field: string) => T | undefined;

/** Reads one intake field through the service's own field schema ("12" → 12, "sc" → "SC"). */
function fieldReader(service: ServiceDefinition, intake: Readonly<Record<string, unknown>>): FieldReader {
  const shape = service.intakeFields.shape as unknown as Record<
    string,
    { safeParse(v: unknown): { success: boolean; data?: unknown } }
  >;
  return <T>(field: string): T | undefined => {
    const raw = intake[field];
    if (raw === undefined || raw === null || raw === "") return undefined;
    const schema = shape[field];
    if (!schema) return undefined;
    const parsed = schema.safeParse(raw);
    return parsed.success ? (parsed.data as T) : undefined;
  };
}
