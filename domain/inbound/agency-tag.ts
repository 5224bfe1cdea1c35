/**
 * The tag we put in the subject of a request sent to an agency (IRP schedule request,
 * intrastate authority application), so its reply finds the order: `[DK-IRP CO-2026-000123]`.
 * Agencies reply with "RE:" and often mangle spacing or case; the match tolerates both.
 */

export const AGENCY_REQUEST_KINDS = ["IRP", "ISA"] as const;
export type AgencyRequestKind = (typeof AGENCY_REQUEST_KINDS)[number];

export interface AgencyTag {
  kind: AgencyRequestKind;
  orderNumber: string;
}

const TAG = /\[\s*DK-(IRP|ISA)\s+((?:CO|CG)-\d{4}-\d{6})\s*\]/i;

export function formatAgencyTag(tag: AgencyTag): string {
  return `[DK-${tag.kind} ${tag.orderNumber}]`;
}

export function parseAgencyTag(subject: string | undefined | null): AgencyTag | undefined {
  const m = subject ? TAG.exec(subject) : null;
  if (!m?.[1] || !m[2]) return undefined;
  return { kind: m[1].toUpperCase() as AgencyRequestKind, orderNumber: m[2].toUpperCase() };
}
