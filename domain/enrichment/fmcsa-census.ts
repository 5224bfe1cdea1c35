import { z } from "zod";
import { ucrFleetBracket } from "../catalog/government-fee-schedules";
import type { ServiceDefinition } from "../catalog/service-definition";

/**
 * Enrichment from the FMCSA Company Census File: what the census says about a carrier, turned
 * into the intake fields a trucking service asks for, before the customer is asked (OrderMachine
 * issue, item 3). Only the fields the service's `enrichment.fills` lists are produced, and only
 * values its own field schema accepts: a census value that would not pass (a foreign address,
 * a ten-character phone typo) is left for the customer rather than stored half-right.
 */

export interface CensusAddress {
  street: string | null;
  city: string | null;
  state: string | null;
  zip: string | null;
  country: string | null;
}

/** One census row (db/public-data.ts maps `fmcsa_carriers` to it). */
export interface CensusCarrier {
  usdotNumber: string;
  legalName: string;
  dbaName: string | null;
  /** CARRIER_OPERATION: A interstate, B intrastate hazmat, C intrastate non-hazmat. */
  carrierOperation: "A" | "B" | "C" | null;
  physicalAddress: CensusAddress;
  mailingAddress: CensusAddress;
  telephone: string | null;
  fax: string | null;
  email: string | null;
  /** YYYY-MM-DD. */
  mcs150Date: string | null;
  mcs150Mileage: number | null;
  mcs150MileageYear: number | null;
  addDate: string | null;
  oicState: string | null;
  powerUnits: number | null;
  drivers: number | null;
  sourceUpdatedAt: Date | null;
}

/**
 * The census's phone as the phone() field takes it. The census writes ten digits, sometimes
 * punctuated; NANP numbers (ITU-T E.164 country code 1) are shown as (NPA) NXX-XXXX and
 * anything else is passed on trimmed, for the field's own check to judge.
 */
export function censusPhone(raw: string | null): string | null {
  if (raw === null) return null;
  const trimmed = raw.trim();
  if (trimmed === "") return null;
  let digits = trimmed.replace(/\D/g, "");
  if (digits.length === 11 && digits.startsWith("1")) digits = digits.slice(1);
  if (digits.length === 10) return `(${digits.slice(0, 3)}) ${digits.slice(3, 6)}-${digits.slice(6)}`;
  return trimmed;
}

/** ZIP+4 written as nine bare digits in the census becomes 12345-6789, as address() expects. */
function censusZip(raw: string | null): string | null {
  const zip = raw?.trim() ?? "";
  if (zip === "") return null;
  return /^\d{9}$/.test(zip) ? `${zip.slice(0, 5)}-${zip.slice(5)}` : zip;
}

/** The census address as address() takes it; none when it is abroad (our filings are US-only). */
function censusAddress(a: CensusAddress): Record<string, unknown> | undefined {
  const country = a.country?.trim().toUpperCase();
  if (country && country !== "US" && country !== "USA") return undefined;
  return { street: a.street, city: a.city, state: a.state, zip: censusZip(a.zip) };
}

/** What the census offers for each intake field a trucking service names in `fills`. */
function censusValue(field: string, carrier: CensusCarrier): unknown {
  switch (field) {
    case "legalName":
      return carrier.legalName;
    case "dbaName":
      return carrier.dbaName;
    case "physicalAddress":
      return censusAddress(carrier.physicalAddress);
    case "mailingAddress":
      return censusAddress(carrier.mailingAddress);
    case "phone":
      return censusPhone(carrier.telephone);
    case "email":
      return carrier.email?.trim().toLowerCase();
    case "powerUnits":
      return carrier.powerUnits;
    case "drivers":
      return carrier.drivers;
    // The base jurisdiction (IFTA, IRP, UCR) and an intrastate carrier's state are where it
    // has its principal place of business: the census's physical state.
    case "baseState":
    case "state":
      return carrier.physicalAddress.state;
    default:
      return undefined;
  }
}

/**
 * The intake values the census gives for this service: the `fills` fields with a value that
 * passes the field's schema (stored as the schema outputs it), plus the UCR fleet-size bracket
 * derived from power units when the service asks for one. Empty when the service is not
 * enriched from the census.
 */
export function intakeFromCensus(service: ServiceDefinition, carrier: CensusCarrier): Record<string, unknown> {
  const enrichment = service.enrichment;
  if (enrichment?.source !== "fmcsa_census") return {};
  const shape = service.intakeFields.shape;
  const intake: Record<string, unknown> = {};
  for (const field of enrichment.fills) {
    const schema = shape[field];
    const value = censusValue(field, carrier);
    if (!schema || value === null || value === undefined) continue;
    const parsed = z.safeParse(schema, value);
    if (parsed.success && parsed.data !== undefined) intake[field] = parsed.data;
  }
  // UCR: the bracket follows from power units (49 U.S.C. 14504a(f)); derived only from a
  // power-unit count the service accepted, and checked against its own field like the rest.
  const bracketSchema = shape.fleetSizeBracket;
  const powerUnits = typeof intake.powerUnits === "number" ? intake.powerUnits : undefined;
  if (bracketSchema && powerUnits !== undefined) {
    const parsed = z.safeParse(bracketSchema, ucrFleetBracket(powerUnits));
    if (parsed.success) intake.fleetSizeBracket = parsed.data;
  }
  return intake;
}
