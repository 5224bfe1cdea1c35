import { z } from "zod";
import { UCR_FLEET_BRACKET_IDS, UCR_FEE_SCHEDULE, ucrFleetBracket } from "./government-fee-schedules";
import {
  address,
  choice,
  count,
  defineIntake,
  email,
  fein,
  filer499Id,
  frn,
  isoDate,
  legalName,
  mcNumber,
  npi,
  officer,
  phone,
  ptan,
  text,
  usState,
  usdotNumber,
  vin,
  wholeDollars,
  year,
  yesNo,
} from "./intake-fields";
import type { PaymentMethod } from "./payment-methods";
import type { ServiceDefinition, SurchargePolicy } from "./service-definition";

/**
 * The catalog: every service Docket sells, the single source of truth for its price and billing
 * interval (commerce issue, item 1). Nothing else in the repository writes a price down; a test
 * (test/node/catalog-prices-only-in-catalog.test.ts) fails when one appears elsewhere.
 *
 * Evidence is the old system (DESIGN.md: `seeds/`): its service catalog table, diagrams and
 * commits. Where they give no price, or disagree, the choice is marked ASSUMPTION and waits for
 * the owner to confirm it.
 */

// One-time services take every method and pass the surcharge on; recurring services take card
// and ACH only and absorb it (seeds: the OIG/SAM recurring commit: "card+ACH only", "surcharge
// absorbed for recurring"), since Klarna is an instalment method for single purchases.
const ONE_TIME_METHODS: readonly PaymentMethod[] = ["card", "ach", "klarna"];
const RECURRING_METHODS: readonly PaymentMethod[] = ["card", "ach"];
const PASS_THROUGH: SurchargePolicy = { kind: "pass_through" };
const ABSORBED_RECURRING: SurchargePolicy = {
  kind: "absorbed",
  reason: "recurring: the customer sees one clean price every period",
};

// ---------------------------------------------------------------------------------------------
// Trucking (FMCSA and state)

const FMCSA_CENSUS_KEY = "usdotNumber";

const mcs150Update: ServiceDefinition = {
  slug: "mcs150-update",
  displayName: "MCS-150 Biennial Update",
  vertical: "trucking",
  priceCents: 9_900, // ASSUMPTION: the seeds give no MCS-150 price.
  billingInterval: "none",
  allowedMethods: ONE_TIME_METHODS,
  surchargePolicy: PASS_THROUGH,
  governmentFee: { kind: "none" }, // FMCSA charges nothing for a biennial update.
  ...defineIntake({
    usdotNumber: usdotNumber(),
    legalName: legalName(),
    dbaName: text("DBA name").optional(),
    physicalAddress: address("Principal place of business"),
    mailingAddress: address("Mailing address").optional(),
    phone: phone(),
    email: email(),
    carrierOperation: choice("Carrier operation", ["interstate", "intrastate_hazmat", "intrastate_non_hazmat"]),
    operationClassification: choice("Operation classification", [
      "authorized_for_hire",
      "exempt_for_hire",
      "private_property",
      "private_passenger",
      "migrant",
      "us_mail",
      "government",
      "indian_tribe",
      "other",
    ]),
    powerUnits: count("Power units"),
    // The old intake had no trailer count, so carriers could not update MCS-150 item 26's
    // trailer row (seeds: the intake-wizard link commit).
    trailers: count("Trailers"),
    drivers: count("Drivers"),
    milesTraveledLastYear: count("Vehicle miles traveled last year", 1e9),
    milesYear: year("Year of the mileage"),
    officer: officer(),
  }),
  fulfillment: { kind: "generated_document", template: "mcs-150" },
  adminAssisted: false,
  needsSignature: {
    document: "officer_certification",
    template: "mcs-150-certification",
    title: "MCS-150 certification",
    signer: "company_officer",
    basis: "Form MCS-150 is certified and signed by a company official (49 CFR 390.19)",
  },
  customerQuestion: null,
  approval: "admin",
  enrichment: {
    source: "fmcsa_census",
    keyField: FMCSA_CENSUS_KEY,
    fills: ["legalName", "dbaName", "physicalAddress", "phone", "powerUnits", "drivers"],
  },
  includes: [],
  nextDue: { kind: "mcs150_biennial", usdotField: "usdotNumber" },
  regulation: "49 CFR 390.19 (biennial update every 24 months on the USDOT-number schedule)",
};

const ucrRegistration: ServiceDefinition = {
  slug: "ucr-registration",
  displayName: "UCR Annual Registration",
  vertical: "trucking",
  priceCents: 8_900, // ASSUMPTION: our service fee; the seeds give no UCR service price.
  billingInterval: "none",
  allowedMethods: ONE_TIME_METHODS,
  surchargePolicy: PASS_THROUGH,
  governmentFee: { kind: "published_schedule", schedule: "ucr" },
  ...defineIntake(
    {
      usdotNumber: usdotNumber(),
      legalName: legalName(),
      baseState: usState("Base state"),
      email: email(),
      classification: choice("UCR classification", ["motor_carrier", "broker", "freight_forwarder", "leasing_company"]),
      powerUnits: count("Power units"),
      // Follows from power units (seeds: UCR_FLEET_BRACKETS); when given it must agree.
      fleetSizeBracket: choice("Fleet-size bracket", UCR_FLEET_BRACKET_IDS).optional(),
      registrationYear: year("Registration year", 2025, 2100),
    },
    (v, ctx) => {
      if (
        v.fleetSizeBracket !== undefined &&
        v.classification === "motor_carrier" &&
        v.fleetSizeBracket !== ucrFleetBracket(v.powerUnits)
      ) {
        ctx.addIssue({
          code: "custom",
          path: ["fleetSizeBracket"],
          message: `${v.powerUnits} power units is the ${ucrFleetBracket(v.powerUnits)} bracket, not ${v.fleetSizeBracket}`,
        });
      }
      if (UCR_FEE_SCHEDULE.years[v.registrationYear] === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["registrationYear"],
          message: `no published UCR fee schedule for ${v.registrationYear} yet`,
        });
      }
    },
  ),
  fulfillment: { kind: "browser_filing", script: "ucr-registration" },
  adminAssisted: true,
  needsSignature: null,
  customerQuestion: null,
  approval: "automatic_when_enabled",
  enrichment: {
    source: "fmcsa_census",
    keyField: FMCSA_CENSUS_KEY,
    fills: ["legalName", "baseState", "powerUnits", "email"],
  },
  includes: [],
  // Registration for a year opens October 1 before it and must be done by December 31.
  nextDue: {
    kind: "annual_deadline",
    month: 12,
    day: 31,
    basis: "UCR registration for the next year is due before January 1 (49 U.S.C. 14504a)",
    period: { field: "registrationYear", yearOffset: 0 },
  },
  regulation: "49 U.S.C. 14504a (Unified Carrier Registration Agreement)",
};

const boc3: ServiceDefinition = {
  slug: "boc-3",
  displayName: "BOC-3 Process Agent Filing",
  vertical: "trucking",
  priceCents: 6_900, // ASSUMPTION: the seeds give no BOC-3 price.
  billingInterval: "none",
  allowedMethods: ONE_TIME_METHODS,
  surchargePolicy: PASS_THROUGH,
  governmentFee: { kind: "none" }, // FMCSA charges no fee to file a BOC-3.
  ...defineIntake({
    usdotNumber: usdotNumber(),
    mcNumber: mcNumber(),
    legalName: legalName(),
    entityType: choice("Authority type", ["motor_carrier", "broker", "freight_forwarder"]),
    physicalAddress: address("Principal place of business"),
    phone: phone(),
    email: email(),
  }),
  fulfillment: { kind: "browser_filing", script: "boc3-filing" },
  adminAssisted: true,
  needsSignature: null,
  customerQuestion: null,
  approval: "automatic_when_enabled",
  enrichment: {
    source: "fmcsa_census",
    keyField: FMCSA_CENSUS_KEY,
    fills: ["legalName", "physicalAddress", "phone", "email"],
  },
  includes: [],
  nextDue: { kind: "none" }, // A designation stays on file until changed.
  regulation: "49 CFR 366.4 (designation of process agents, Form BOC-3)",
};

const powerOfAttorney = (title: string, basis: string) =>
  ({ document: "power_of_attorney", template: "power-of-attorney", title, signer: "company_officer", basis }) as const;

const iftaLicense: ServiceDefinition = {
  slug: "ifta-license",
  displayName: "IFTA License & Decals",
  vertical: "trucking",
  priceCents: 24_900, // ASSUMPTION: the seeds give no IFTA price.
  billingInterval: "none",
  allowedMethods: ONE_TIME_METHODS,
  surchargePolicy: PASS_THROUGH,
  governmentFee: { kind: "estimate", rule: "ifta_decals" },
  ...defineIntake(
    {
      usdotNumber: usdotNumber(),
      legalName: legalName(),
      fein: fein(),
      baseState: usState("Base jurisdiction"),
      physicalAddress: address("Principal place of business"),
      phone: phone(),
      email: email(),
      applicationType: choice("Application type", ["new", "renewal"]),
      licenseYear: year("License year", 2025, 2100),
      qualifiedVehicles: count("Qualified motor vehicles", 10_000),
      fuelTypes: z
        .array(choice("Fuel type", ["diesel", "gasoline", "propane", "lng", "cng", "other"]))
        .min(1, "at least one fuel type")
        .describe("Fuel types"),
      officer: officer(),
    },
    (v, ctx) => {
      if (v.qualifiedVehicles < 1)
        ctx.addIssue({
          code: "custom",
          path: ["qualifiedVehicles"],
          message: "an IFTA license needs at least one qualified motor vehicle",
        });
    },
  ),
  fulfillment: { kind: "admin_assisted", task: "ifta-license-application" },
  adminAssisted: true,
  needsSignature: powerOfAttorney(
    "Power of attorney for the IFTA application",
    "the base jurisdiction acts on a third-party application only with the licensee's power of attorney",
  ),
  customerQuestion: null,
  approval: "admin",
  enrichment: {
    source: "fmcsa_census",
    keyField: FMCSA_CENSUS_KEY,
    fills: ["legalName", "physicalAddress", "phone", "baseState"],
  },
  includes: [],
  nextDue: {
    kind: "annual_deadline",
    month: 12,
    day: 31,
    basis: "IFTA licenses and decals expire December 31 of the license year (IFTA Articles of Agreement)",
    period: { field: "licenseYear", yearOffset: 0 },
  },
  regulation: "International Fuel Tax Agreement (49 U.S.C. 31705)",
};

const irpRegistration: ServiceDefinition = {
  slug: "irp-registration",
  displayName: "IRP Apportioned Registration",
  vertical: "trucking",
  priceCents: 34_900, // ASSUMPTION: the seeds give no IRP price.
  billingInterval: "none",
  allowedMethods: ONE_TIME_METHODS,
  surchargePolicy: PASS_THROUGH,
  // Apportioned fees can't be looked up: only the base state computes them, from its Schedule
  // A/B reply (seeds: irp_filing.py and the invoice poller).
  governmentFee: { kind: "agency_invoice", agency: "Base-jurisdiction IRP office" },
  ...defineIntake({
    usdotNumber: usdotNumber(),
    legalName: legalName(),
    fein: fein(),
    baseState: usState("Base jurisdiction"),
    physicalAddress: address("Principal place of business"),
    phone: phone(),
    email: email(),
    applicationType: choice("Application type", ["new", "renewal"]),
    vehicles: z
      .array(
        z.object({
          vin: vin(),
          unitNumber: text("Unit number", 20).optional(),
          modelYear: year("Model year", 1950, 2100),
          registeredWeightLbs: count("Registered gross weight (lbs)", 200_000),
        }),
      )
      .min(1, "at least one vehicle")
      .max(500)
      .describe("Vehicles"),
    jurisdictions: z
      .array(usState("Jurisdiction"))
      .min(1, "at least one jurisdiction of travel")
      .describe("Jurisdictions of travel"),
    officer: officer(),
  }),
  fulfillment: { kind: "admin_assisted", task: "irp-schedule-request" },
  adminAssisted: true,
  needsSignature: powerOfAttorney(
    "Power of attorney for the IRP application",
    "the base state will not act on a third-party IRP filing without the registrant's signed power of attorney (seeds: IRP submission commit)",
  ),
  customerQuestion: null,
  approval: "admin",
  enrichment: {
    source: "fmcsa_census",
    keyField: FMCSA_CENSUS_KEY,
    fills: ["legalName", "physicalAddress", "phone", "baseState"],
  },
  includes: [],
  nextDue: { kind: "every", months: 12 },
  regulation: "International Registration Plan (49 U.S.C. 31704)",
};

const intrastateAuthority: ServiceDefinition = {
  slug: "intrastate-authority",
  displayName: "Intrastate Operating Authority",
  vertical: "trucking",
  priceCents: 29_900, // ASSUMPTION: the seeds give no intrastate-authority price.
  billingInterval: "none",
  allowedMethods: ONE_TIME_METHODS,
  surchargePolicy: PASS_THROUGH,
  governmentFee: { kind: "estimate", rule: "intrastate_authority" },
  ...defineIntake({
    usdotNumber: usdotNumber(),
    legalName: legalName(),
    state: usState("State of operation"),
    carrierKind: choice("Carrier type", ["property", "passenger", "household_goods", "hazardous_waste"]),
    applicationType: choice("Application type", ["new", "renewal"]),
    physicalAddress: address("Physical address"),
    mailingAddress: address("Mailing address").optional(),
    phone: phone(),
    email: email(),
    // SCDMV coverage class: E-L for low-value cargo (scrap, dump, aggregate), else E-LC (seeds).
    coverageClass: choice("Insurance coverage class", ["E-L", "E-LC"]).optional(),
    officer: officer(),
  }),
  fulfillment: { kind: "admin_assisted", task: "intrastate-authority-application" },
  adminAssisted: true,
  needsSignature: powerOfAttorney(
    "Power of attorney for the intrastate authority application",
    "the state PSC/PUC or SCDMV acts on a third-party application only with the carrier's signed power of attorney (seeds: intrastate submission commit)",
  ),
  customerQuestion: {
    id: "sc-form-e",
    question: "Can your insurance company file a Form E (South Carolina intrastate liability) with SCDMV for you?",
    guidance:
      "Please call your insurance agent to confirm before answering. The liability required is $750,000 or $300,000 depending on vehicle weight (GVWR).",
    // SC for-hire property carriers use the SCDMV Certificate of Compliance (seeds: SC COC commits).
    when: { field: "state", equals: "SC", and: [{ field: "carrierKind", equals: "property" }] },
    onYes: { action: "proceed", billsGovernmentFee: true },
    onNo: { action: "hold_with_admin_task", task: "insurance-broker-referral" },
  },
  approval: "admin",
  enrichment: {
    source: "fmcsa_census",
    keyField: FMCSA_CENSUS_KEY,
    fills: ["legalName", "physicalAddress", "phone", "state"],
  },
  includes: [],
  nextDue: { kind: "every", months: 12 }, // ASSUMPTION: yearly renewal; states differ.
  regulation:
    "State motor-carrier law (South Carolina: S.C. Code Title 58, Chapter 23; SCDMV Certificate of Compliance)",
};

// ---------------------------------------------------------------------------------------------
// Healthcare (CMS, HHS-OIG, GSA SAM)

const NPPES_KEY = "npi";

const screeningSubject = {
  npi: npi(),
  providerName: text("Provider or organization name", 200),
  state: usState("Practice state"),
  email: email(),
  staff: z
    .array(
      z.object({
        firstName: text("First name", 80),
        lastName: text("Last name", 80),
        npi: npi().optional(),
      }),
    )
    .max(500)
    .default([])
    .describe("Staff to screen"),
};

const oigSamScreening: ServiceDefinition = {
  slug: "oig-sam-screening",
  displayName: "OIG/SAM Exclusion Screening (Monthly Monitoring)",
  vertical: "healthcare",
  // Was one-time yearly; exclusion screening is a monthly obligation, so it became the first
  // recurring product (seeds: the OIG/SAM recurring commit: 7900c, billing_interval "month").
  priceCents: 7_900,
  billingInterval: "month",
  allowedMethods: RECURRING_METHODS,
  surchargePolicy: ABSORBED_RECURRING,
  governmentFee: { kind: "none" },
  ...defineIntake(screeningSubject),
  fulfillment: { kind: "screening_run" },
  adminAssisted: false,
  needsSignature: null,
  customerQuestion: null,
  approval: "automatic_when_enabled",
  enrichment: { source: "nppes_registry", keyField: NPPES_KEY, fills: ["providerName", "state"] },
  includes: [],
  nextDue: { kind: "every", months: 1 },
  regulation:
    "42 U.S.C. 1320a-7 and 42 CFR 1001.1901 (excluded individuals and entities; HHS-OIG monthly screening guidance); SAM.gov exclusions (2 CFR part 180)",
};

const providerComplianceBundle: ServiceDefinition = {
  slug: "provider-compliance-bundle",
  displayName: "Provider Compliance Bundle",
  vertical: "healthcare",
  priceCents: 89_900, // Seeds: $899 a year (a stale $699 was fixed in the same commit).
  billingInterval: "year",
  allowedMethods: RECURRING_METHODS,
  surchargePolicy: ABSORBED_RECURRING,
  governmentFee: { kind: "none" },
  ...defineIntake({
    ...screeningSubject,
    practiceAddress: address("Practice address"),
    ptan: ptan().optional(),
  }),
  // ASSUMPTION: beyond the first screening the seeds do not list the bundle's contents; the
  // admin task covers the NPPES record review and Medicare revalidation status check.
  fulfillment: { kind: "admin_assisted", task: "provider-compliance-review" },
  adminAssisted: true,
  needsSignature: null,
  customerQuestion: null,
  approval: "admin",
  enrichment: { source: "nppes_registry", keyField: NPPES_KEY, fills: ["providerName", "state", "practiceAddress"] },
  // The first OIG/SAM screening only: monthly monitoring is the separate recurring service the
  // customer is invited to 21–120 days after paying (OrderMachine issue, item 7).
  includes: [{ slug: "oig-sam-screening", quantity: 1, scope: "first_cycle_only" }],
  nextDue: { kind: "every", months: 12 },
  regulation: "45 CFR 162.410 (NPI updates), 42 CFR 424.515 (revalidation), 42 CFR 1001.1901 (exclusions)",
};

const npiReactivation: ServiceDefinition = {
  slug: "npi-reactivation",
  displayName: "NPI Reactivation",
  vertical: "healthcare",
  priceCents: 14_900, // ASSUMPTION: seeds show healthcare prices ending in 49 but lost the leading digit.
  billingInterval: "none",
  allowedMethods: ONE_TIME_METHODS,
  surchargePolicy: PASS_THROUGH,
  governmentFee: { kind: "none" }, // NPPES charges nothing.
  ...defineIntake({
    npi: npi(),
    enumerationType: choice("NPI type", ["NPI-1", "NPI-2"]),
    providerName: text("Provider or organization name", 200),
    practiceAddress: address("Practice location"),
    // NUCC Health Care Provider Taxonomy code: 10 characters ending in X.
    taxonomyCode: z
      .string()
      .trim()
      .regex(/^[0-9A-Z]{9}X$/i, "a 10-character taxonomy code ending in X")
      .describe("Taxonomy code"),
    phone: phone(),
    email: email(),
    deactivationReason: text("Reason for deactivation, if known", 500).optional(),
    authorizedOfficial: officer("Provider or authorized official"),
  }),
  fulfillment: { kind: "admin_assisted", task: "nppes-reactivation" },
  adminAssisted: true,
  needsSignature: {
    document: "authorization_letter",
    template: "nppes-authorization",
    title: "Authorization to update the NPPES record",
    signer: "provider",
    basis:
      "the provider is responsible for its NPPES data (45 CFR 162.410(a)); we act as its surrogate only with written authorization",
  },
  customerQuestion: null,
  approval: "admin",
  enrichment: {
    source: "nppes_registry",
    keyField: NPPES_KEY,
    fills: ["providerName", "enumerationType", "practiceAddress", "taxonomyCode"],
  },
  includes: [],
  nextDue: { kind: "none" },
  regulation: "45 CFR 162.408–162.410 (National Provider System)",
};

const medicareRevalidation: ServiceDefinition = {
  slug: "medicare-revalidation",
  displayName: "Medicare Revalidation",
  vertical: "healthcare",
  priceCents: 29_900, // ASSUMPTION: seeds show a healthcare price ending in 99 but lost the leading digit.
  billingInterval: "none",
  allowedMethods: ONE_TIME_METHODS,
  surchargePolicy: PASS_THROUGH,
  governmentFee: { kind: "published_schedule", schedule: "cms_enrollment_application_fee" },
  ...defineIntake({
    npi: npi(),
    ptan: ptan(),
    providerName: text("Provider or organization name", 200),
    enrollmentForm: choice("CMS-855 form", ["855I", "855A", "855B", "855S"]),
    state: usState("Practice state"),
    practiceAddress: address("Practice location"),
    revalidationDueDate: isoDate("Revalidation due date").optional(),
    phone: phone(),
    email: email(),
    authorizedOfficial: officer("Authorized official"),
  }),
  fulfillment: { kind: "admin_assisted", task: "pecos-revalidation" },
  adminAssisted: true,
  needsSignature: {
    document: "officer_certification",
    template: "cms-855-certification",
    title: "CMS-855 certification statement",
    signer: "authorized_official",
    basis: "the enrollment application is signed by the provider or its authorized official (42 CFR 424.510(d)(3))",
  },
  customerQuestion: null,
  approval: "admin",
  enrichment: { source: "nppes_registry", keyField: NPPES_KEY, fills: ["providerName", "state", "practiceAddress"] },
  includes: [],
  nextDue: { kind: "every", months: 60 }, // Every five years (DMEPOS suppliers: three).
  regulation: "42 CFR 424.515 (revalidation), 42 CFR 424.514 (application fee)",
};

// ---------------------------------------------------------------------------------------------
// Telecom (FCC, USAC)

const FCC_FILER_KEY = "frn";

const fcc499a: ServiceDefinition = {
  slug: "fcc-499a",
  displayName: "FCC Form 499-A Filing",
  vertical: "telecom",
  priceCents: 49_900, // Seeds: catalog table and service diagram agree.
  billingInterval: "none",
  allowedMethods: ONE_TIME_METHODS,
  surchargePolicy: PASS_THROUGH,
  governmentFee: { kind: "none" }, // USF contributions are invoiced by USAC, not part of the filing.
  ...defineIntake(
    {
      frn: frn(),
      filer499Id: filer499Id(),
      legalName: legalName(),
      revenueYear: year("Calendar year of revenue", 2000, 2100),
      totalRevenueDollars: wholeDollars("Total telecommunications revenue"),
      interstateRevenueDollars: wholeDollars("Interstate revenue"),
      internationalRevenueDollars: wholeDollars("International revenue"),
      email: email(),
      officer: officer(),
    },
    (v, ctx) => {
      if (v.interstateRevenueDollars + v.internationalRevenueDollars > v.totalRevenueDollars) {
        ctx.addIssue({
          code: "custom",
          path: ["totalRevenueDollars"],
          message: "interstate plus international revenue cannot exceed total revenue",
        });
      }
    },
  ),
  fulfillment: { kind: "browser_filing", script: "usac-499a" },
  adminAssisted: false,
  needsSignature: {
    document: "officer_certification",
    template: "fcc-499a-certification",
    title: "Form 499-A officer certification",
    signer: "company_officer",
    basis: "an officer of the filer certifies the worksheet (47 CFR 54.711(a))",
  },
  customerQuestion: null,
  approval: "automatic_when_enabled",
  enrichment: { source: "fcc_filer_database", keyField: FCC_FILER_KEY, fills: ["legalName", "filer499Id"] },
  includes: [],
  nextDue: {
    kind: "annual_deadline",
    month: 4,
    day: 1,
    basis: "Form 499-A reporting a calendar year's revenue is due April 1 of the next (47 CFR 54.711)",
    period: { field: "revenueYear", yearOffset: 2 },
  },
  regulation: "47 CFR 54.711 (Telecommunications Reporting Worksheet)",
};

const cpniCertification: ServiceDefinition = {
  slug: "cpni-certification",
  displayName: "CPNI Annual Certification",
  vertical: "telecom",
  // ASSUMPTION: the seeds disagree (catalog table $149, the later service diagram $199); the
  // later figure is used.
  priceCents: 19_900,
  billingInterval: "none",
  allowedMethods: ONE_TIME_METHODS,
  surchargePolicy: PASS_THROUGH,
  governmentFee: { kind: "none" },
  ...defineIntake({
    frn: frn(),
    filer499Id: filer499Id().optional(),
    legalName: legalName(),
    certificationYear: year("Calendar year certified", 2000, 2100),
    customerComplaints: count("CPNI complaints received in the year"),
    actionsAgainstDataBrokers: yesNo("Actions taken against data brokers"),
    email: email(),
    officer: officer(),
  }),
  fulfillment: { kind: "browser_filing", script: "fcc-ecfs-cpni" },
  adminAssisted: false,
  needsSignature: {
    document: "officer_certification",
    template: "cpni-certification",
    title: "CPNI annual compliance certificate",
    signer: "company_officer",
    basis: "an officer signs the annual CPNI compliance certificate, filed in EB Docket 06-36 (47 CFR 64.2009(e))",
  },
  customerQuestion: null,
  approval: "automatic_when_enabled",
  enrichment: { source: "fcc_filer_database", keyField: FCC_FILER_KEY, fills: ["legalName", "filer499Id"] },
  includes: [],
  nextDue: {
    kind: "annual_deadline",
    month: 3,
    day: 1,
    basis: "due March 1 for the prior calendar year (47 CFR 64.2009(e))",
    period: { field: "certificationYear", yearOffset: 2 },
  },
  regulation: "47 CFR 64.2009(e) (CPNI annual certification)",
};

const rmdFiling: ServiceDefinition = {
  slug: "rmd-filing",
  displayName: "Robocall Mitigation Database Filing",
  vertical: "telecom",
  // ASSUMPTION: the seeds disagree (catalog table $219, the later service diagram $249); the
  // later figure is used.
  priceCents: 24_900,
  billingInterval: "none",
  allowedMethods: ONE_TIME_METHODS,
  surchargePolicy: PASS_THROUGH,
  governmentFee: {
    kind: "fixed",
    cents: 10_000,
    agency: "Federal Communications Commission",
    label: "FCC Robocall Mitigation Database filing fee",
    // Seeds: the service diagram's "+ FCC fee" under RMD. ASSUMPTION: confirm the amount and
    // its effective date against FCC 24-135 and the FCC fee schedule (47 CFR 1.1166).
    source: "FCC 24-135 (RMD filing fee, paid through CORES); amount to confirm",
  },
  ...defineIntake({
    frn: frn(),
    legalName: legalName(),
    providerRoles: z
      .array(choice("Provider role", ["voice_service_provider", "gateway_provider", "intermediate_provider"]))
      .min(1, "at least one role")
      .describe("Provider roles"),
    stirShakenStatus: choice("STIR/SHAKEN implementation", ["complete", "partial", "none"]),
    mitigationPlan: text("Robocall mitigation plan", 20_000),
    email: email(),
    phone: phone(),
    officer: officer(),
  }),
  fulfillment: { kind: "browser_filing", script: "fcc-rmd-certification" },
  adminAssisted: false,
  needsSignature: {
    document: "officer_certification",
    template: "rmd-certification",
    title: "Robocall Mitigation Database certification",
    signer: "company_officer",
    basis: "an officer certifies the RMD filing under penalty of perjury (47 CFR 64.6305)",
  },
  customerQuestion: null,
  approval: "automatic_when_enabled",
  enrichment: { source: "fcc_filer_database", keyField: FCC_FILER_KEY, fills: ["legalName"] },
  includes: [],
  nextDue: {
    kind: "annual_deadline",
    month: 3,
    day: 1,
    basis: "annual recertification by March 1 (47 CFR 64.6305; FCC 24-135)",
  },
  regulation: "47 CFR 64.6305 (Robocall Mitigation Database)",
};

const dcAgent: ServiceDefinition = {
  slug: "dc-agent",
  displayName: "DC Agent for Service of Process",
  vertical: "telecom",
  priceCents: 9_900, // Seeds: catalog table, "$/yr".
  billingInterval: "year",
  allowedMethods: RECURRING_METHODS,
  surchargePolicy: ABSORBED_RECURRING,
  governmentFee: { kind: "none" },
  ...defineIntake({
    frn: frn(),
    legalName: legalName(),
    principalAddress: address("Principal business address"),
    phone: phone(),
    email: email(),
  }),
  fulfillment: { kind: "admin_assisted", task: "dc-agent-designation" },
  adminAssisted: true,
  needsSignature: null,
  customerQuestion: null,
  approval: "admin",
  enrichment: { source: "fcc_filer_database", keyField: FCC_FILER_KEY, fills: ["legalName"] },
  includes: [],
  nextDue: { kind: "every", months: 12 },
  regulation: "47 CFR 1.47(h) (common carriers designate an agent in the District of Columbia)",
};

// ---------------------------------------------------------------------------------------------
// Corporate

const foreignQualification: ServiceDefinition = {
  slug: "foreign-qualification",
  displayName: "Foreign Qualification (Certificate of Authority)",
  vertical: "corporate",
  priceCents: 14_900, // Seeds: catalog table, "+ state fees".
  billingInterval: "none",
  allowedMethods: ONE_TIME_METHODS,
  surchargePolicy: PASS_THROUGH,
  // Each Secretary of State sets its own fee; until the jurisdiction table is data here an
  // admin enters the exact figure.
  governmentFee: { kind: "agency_invoice", agency: "Secretary of State of the target state" },
  ...defineIntake({
    legalName: legalName(),
    entityType: choice("Entity type", ["llc", "corporation"]),
    homeState: usState("State of formation"),
    targetState: usState("State to qualify in"),
    principalAddress: address("Principal office"),
    email: email(),
    officer: officer(),
  }),
  fulfillment: { kind: "admin_assisted", task: "foreign-qualification-filing" },
  adminAssisted: true,
  needsSignature: {
    document: "officer_certification",
    template: "certificate-of-authority-application",
    title: "Application for Certificate of Authority",
    signer: "company_officer",
    basis: "the application is executed by an officer or manager of the entity (state business-entity statutes)",
  },
  customerQuestion: null,
  approval: "admin",
  enrichment: null,
  includes: [],
  nextDue: { kind: "none" },
  regulation: "State business-entity statutes (foreign entity registration)",
};

export const CATALOG: readonly ServiceDefinition[] = Object.freeze([
  mcs150Update,
  ucrRegistration,
  boc3,
  iftaLicense,
  irpRegistration,
  intrastateAuthority,
  oigSamScreening,
  providerComplianceBundle,
  npiReactivation,
  medicareRevalidation,
  fcc499a,
  cpniCertification,
  rmdFiling,
  dcAgent,
  foreignQualification,
]);

const BY_SLUG: ReadonlyMap<string, ServiceDefinition> = new Map(CATALOG.map((s) => [s.slug, s]));

export function getService(slug: string): ServiceDefinition | undefined {
  return BY_SLUG.get(slug);
}

export function servicesInVertical(vertical: ServiceDefinition["vertical"]): ServiceDefinition[] {
  return CATALOG.filter((s) => s.vertical === vertical);
}

/**
 * How government fees themselves are paid (the child order of commerce issue item 6): every
 * method, each with its surcharge shown, on the fee passed through at cost.
 */
export const GOVERNMENT_FEE_PAYMENT = {
  allowedMethods: ONE_TIME_METHODS,
  surchargePolicy: PASS_THROUGH,
} as const;
