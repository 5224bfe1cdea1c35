import type { Db } from "../../db/client";
import { exclusionDatasets, findExclusionCandidates } from "../../db/public-data";
import { getService } from "../../domain/catalog/services";
import type { ServiceDefinition } from "../../domain/catalog/service-definition";
import { renderScreeningCertificate, SCREENING_CERTIFICATE_TITLE } from "../../domain/documents/screening-certificate";
import {
  EXCLUSION_SOURCE_NAMES,
  isoDay,
  matchExclusions,
  parseScreeningIntake,
  screeningSubjects,
} from "../../domain/screening/exclusion-match";

/**
 * One OIG/SAM screening run (the `run_screening` effect): the order's provider and staff are
 * checked against the exclusion lists as last loaded, and the dated certificate goes to R2.
 * Every monthly cycle runs this again against the data current then (OrderMachine issue, item 7).
 */

/** No exclusion list has ever been loaded: a certificate would certify against nothing. */
export class ScreeningDataMissingError extends Error {
  readonly code = "screening_data_missing";
  constructor() {
    super("no exclusion list (OIG LEIE or SAM) has been loaded: run `docket import leie UPDATED.csv` first");
    this.name = "ScreeningDataMissingError";
  }
}

/** The order's service neither is a screening nor includes one. */
export class NotAScreeningError extends Error {
  constructor(readonly serviceSlug: string) {
    super(`service ${serviceSlug} does not include an exclusion screening`);
    this.name = "NotAScreeningError";
  }
}

const SCREENING_SLUG = "oig-sam-screening";

/** The name the certificate gives the service: the screening itself, or the screening inside a bundle. */
function screeningServiceName(service: ServiceDefinition): string {
  if (service.fulfillment.kind === "screening_run") return service.displayName;
  const included = service.includes.some((i) => i.slug === SCREENING_SLUG) ? getService(SCREENING_SLUG) : undefined;
  if (!included) throw new NotAScreeningError(service.slug);
  return `${included.displayName}, included in ${service.displayName}`;
}

/** orders/<number>/certificates/<cycle>-<YYYY-MM-DD>.pdf: one per cycle and day, so a retry overwrites itself. */
export function certificateKey(orderNumber: string, cycleId: string, at: Date): string {
  if (!/^[A-Z0-9-]+$/.test(orderNumber)) throw new Error(`not an order number: ${JSON.stringify(orderNumber)}`);
  // Stripe invoice ids ("in_1Q…") and any other cycle id become R2-key-safe: letters, digits, dashes.
  const cycle =
    cycleId
      .replace(/[^A-Za-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 100) || "cycle";
  return `orders/${orderNumber}/certificates/${cycle}-${isoDay(at)}.pdf`;
}

export async function runScreening(
  deps: { db: Db; files: R2Bucket; now: Date },
  order: { number: string; serviceSlug: string; intake: Record<string, unknown> },
  cycle: { id: string; label: string },
): Promise<{ documents: { label: string; r2Key: string }[]; matches: number }> {
  const service = getService(order.serviceSlug);
  if (!service) throw new NotAScreeningError(order.serviceSlug);
  const serviceName = screeningServiceName(service);
  const intake = parseScreeningIntake(order.intake);
  const key = certificateKey(order.number, cycle.id, deps.now);

  const datasets = await exclusionDatasets(deps.db);
  if (datasets.length === 0) throw new ScreeningDataMissingError();
  const subjects = screeningSubjects(intake);
  const candidates = await findExclusionCandidates(deps.db, subjects, deps.now);
  const matches = matchExclusions(subjects, candidates, deps.now);

  const pdf = await renderScreeningCertificate({
    orderNumber: order.number,
    serviceName,
    providerName: intake.providerName,
    npi: intake.npi,
    cycleLabel: cycle.label,
    screenedAt: deps.now,
    subjects: subjects.map((s) => ({ name: s.label, ...(s.npi ? { npi: s.npi } : {}) })),
    // Only lists that were loaded: a list never loaded was not screened against.
    sources: datasets.map((d) => ({
      name: EXCLUSION_SOURCE_NAMES[d.source],
      dataAsOf: d.dataAsOf,
      entries: d.entries,
    })),
    matches: matches.map((m) => ({
      subject: m.subject.label,
      source: EXCLUSION_SOURCE_NAMES[m.entry.source],
      reason: m.reason,
    })),
  });
  await deps.files.put(key, pdf, {
    httpMetadata: { contentType: "application/pdf" },
    customMetadata: { orderNumber: order.number, cycle: cycle.id, matches: String(matches.length) },
  });
  return {
    documents: [{ label: `${SCREENING_CERTIFICATE_TITLE}, ${cycle.label}`, r2Key: key }],
    matches: matches.length,
  };
}
