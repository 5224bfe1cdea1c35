import type { IntakeDefinition } from "./intake-fields";
import type { PaymentMethod } from "./payment-methods";

/**
 * What one sellable service is: its price and how it may be paid (the commerce issue) and what
 * its order pipeline needs (the OrderMachine issue): intake, enrichment, gates, approval,
 * fulfillment and when it next falls due. Everything here is data; `services.ts` holds the
 * seeded catalog and is the only place a price or a billing interval is written down.
 */

export const VERTICALS = ["trucking", "healthcare", "telecom", "corporate"] as const;
export type Vertical = (typeof VERTICALS)[number];

/** "none" is a one-time purchase; "month"/"year" are Stripe recurring intervals. */
export const BILLING_INTERVALS = ["none", "month", "year"] as const;
export type BillingInterval = (typeof BILLING_INTERVALS)[number];

/**
 * Who bears the payment-method surcharge. Recurring services always absorb it: the customer
 * sees a clean recurring price, and a subscription invoice has no per-payment surcharge line
 * (seeds: the OIG/SAM recurring commit, "surcharge absorbed for recurring (clean $/mo)").
 */
export type SurchargePolicy =
  /** The customer pays the configured rate for the method, on the price after any discount. */
  { kind: "pass_through" } | { kind: "absorbed"; reason: string };

/** How the agency's own fee (collected at cost, as a child order) is known. */
export type GovernmentFee =
  | { kind: "none" }
  /** A flat fee set by rule. */
  | { kind: "fixed"; cents: number; agency: string; label: string; source: string }
  /** A published table looked up from intake (UCR by fleet bracket and year). */
  | { kind: "published_schedule"; schedule: PublishedScheduleId }
  /** Computed from intake with per-state data; may still need an agency's confirmation. */
  | { kind: "estimate"; rule: EstimateRuleId }
  /** Only the agency can compute it (IRP apportioned fees): an admin enters the invoice. */
  | { kind: "agency_invoice"; agency: string };

export type PublishedScheduleId = "ucr" | "cms_enrollment_application_fee";
export type EstimateRuleId = "ifta_decals" | "intrastate_authority";

export type Fulfillment =
  /** A portal script from domain/filings/, run by the `filings` queue. */
  | { kind: "browser_filing"; script: string }
  /** A document generated from a template (pdf-lib) and delivered or submitted. */
  | { kind: "generated_document"; template: string }
  /** A person files it: the admin task names the service and says what to do. */
  | { kind: "admin_assisted"; task: string }
  /** An exclusion-list screening producing a dated certificate. */
  | { kind: "screening_run" };

/** A condition on intake that switches a gate on: `{ field: "state", equals: "SC" }`. */
export interface IntakeCondition {
  field: string;
  equals?: string | number | boolean;
  in?: readonly (string | number | boolean)[];
  /** All listed conditions must hold as well. */
  and?: readonly IntakeCondition[];
}

export interface SignatureGate {
  /** The document generated and signed; the template id for the PDF. */
  document: "power_of_attorney" | "officer_certification" | "authorization_letter";
  template: string;
  title: string;
  signer: "company_officer" | "authorized_official" | "provider";
  /** Why a signature is needed, with the rule. */
  basis: string;
  when?: IntakeCondition;
}

export interface CustomerQuestionGate {
  id: string;
  /** Asked once, by email with one-click answers. */
  question: string;
  /** Extra guidance printed above the yes/no links. */
  guidance?: string;
  when: IntakeCondition;
  onYes: { action: "proceed"; billsGovernmentFee: boolean };
  onNo: { action: "hold_with_admin_task"; task: string };
}

export type Approval = "admin" | "automatic_when_enabled";

export interface Enrichment {
  /** Public data already in our database. */
  source: "fmcsa_census" | "nppes_registry" | "fcc_filer_database";
  /** Intake fields it may fill (customer-supplied values win). */
  fills: readonly string[];
  /** The intake field it is keyed by. */
  keyField: string;
}

/** A component another service delivers inside this one. */
export interface Inclusion {
  slug: string;
  quantity: number;
  /**
   * "first_cycle_only": delivered once, with the first paid period, never on renewals. The
   * Provider Compliance Bundle includes the first OIG/SAM screening only; the old system gave
   * away a year of monthly monitoring inside it (seeds: the OIG/SAM recurring commit).
   */
  scope: "first_cycle_only" | "every_cycle";
}

/** When the filing falls due again after completion. */
export type NextDue =
  | { kind: "none" }
  /** 49 CFR 390.19(b): every 24 months, the month and year parity set by the USDOT number. */
  | { kind: "mcs150_biennial"; usdotField: string }
  | { kind: "every"; months: number }
  /**
   * A yearly deadline (month 1–12, day). With `period`, the due year is the intake's period
   * year plus an offset (a CPNI certificate for 2026 is filed by March 1, 2027, so the next is
   * due March 1, 2028); without, the first deadline at least 60 days after completion.
   */
  | {
      kind: "annual_deadline";
      month: number;
      day: number;
      basis: string;
      period?: { field: string; yearOffset: number };
    };

export interface ServiceDefinition {
  slug: string;
  displayName: string;
  vertical: Vertical;
  /** Our service fee, integer cents, per unit and per billing period. */
  priceCents: number;
  billingInterval: BillingInterval;
  allowedMethods: readonly PaymentMethod[];
  surchargePolicy: SurchargePolicy;
  governmentFee: GovernmentFee;
  /** What the filing needs: the complete zod schema; `intakeFields` is its plain shape. */
  intakeSchema: IntakeDefinition["intakeSchema"];
  intakeFields: IntakeDefinition["intakeFields"];
  fulfillment: Fulfillment;
  /** Filed by a person; enriched before intake is asked and never "ready" with half its data. */
  adminAssisted: boolean;
  needsSignature: SignatureGate | null;
  customerQuestion: CustomerQuestionGate | null;
  approval: Approval;
  enrichment: Enrichment | null;
  includes: readonly Inclusion[];
  nextDue: NextDue;
  /** The regulation the filing answers to. */
  regulation: string;
}

/** True when the condition holds for this (possibly partial) intake. */
export function conditionHolds(
  condition: IntakeCondition | undefined,
  intake: Readonly<Record<string, unknown>>,
): boolean {
  if (!condition) return true;
  const value = fieldValue(intake, condition.field);
  if (condition.equals !== undefined && value !== condition.equals) return false;
  if (condition.in !== undefined && !condition.in.includes(value as string | number | boolean)) return false;
  return (condition.and ?? []).every((c) => conditionHolds(c, intake));
}

/** `a.b` paths into nested intake objects. */
export function fieldValue(intake: Readonly<Record<string, unknown>>, path: string): unknown {
  let current: unknown = intake;
  for (const key of path.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
