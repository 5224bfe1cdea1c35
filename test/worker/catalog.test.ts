import { describe, expect, it } from "vitest";
import {
  CATALOG,
  DEFAULT_SURCHARGE_RATES_BPS,
  GOVERNMENT_FEE_DATA,
  MAX_SURCHARGE_BPS,
  STRIPE_PAYMENT_METHOD_TYPES,
  UCR_FEE_SCHEDULE,
  applicableGates,
  checkIntake,
  checkPartialIntake,
  estimateGovernmentFee,
  formatCents,
  getService,
  intakeFieldLabels,
  isValidNpi,
  mcs150DueDate,
  nextDueDate,
  paymentMethodFromStripe,
  paymentOptions,
  priceCheckout,
  priceGovernmentFeePayment,
  priceLabel,
  resolveSurchargeRates,
  surchargeRatesFromConfig,
  ucrFleetBracket,
  validateCatalog,
  type CheckoutErrorCode,
  type Discount,
  type GovernmentFeeData,
  type PriceCheckoutResult,
  type ServiceDefinition,
  type UcrFleetBracket,
} from "../../domain/catalog";
import { loadAppConfig } from "../../domain/config/app-config";

const NOW = new Date("2026-11-22T12:00:00Z");
const RATES = DEFAULT_SURCHARGE_RATES_BPS;

function service(slug: string): ServiceDefinition {
  const s = getService(slug);
  if (!s) throw new Error(`no ${slug} in the catalog`);
  return s;
}

function priced(result: PriceCheckoutResult) {
  if (!result.ok) throw new Error(`expected a price, got ${JSON.stringify(result.errors)}`);
  return result.pricing;
}

function codes(result: PriceCheckoutResult): CheckoutErrorCode[] {
  if (result.ok) throw new Error("expected errors, got a price");
  return result.errors.map((e) => e.code);
}

import { address, INTAKE_EXAMPLES as EXAMPLES } from "../support/intake-examples";

describe("catalog: every service is well formed", () => {
  it("passes the structural rules (kebab-case unique slugs, positive integer prices, methods, gates naming real fields)", () => {
    expect(validateCatalog(CATALOG)).toEqual([]);
  });

  it.each(CATALOG.map((s) => [s.slug, s] as const))("%s: slug, price, methods", (_slug, s) => {
    expect(s.slug).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
    expect(CATALOG.filter((o) => o.slug === s.slug)).toHaveLength(1);
    expect(Number.isSafeInteger(s.priceCents) && s.priceCents > 0).toBe(true);
    expect(s.allowedMethods.length).toBeGreaterThan(0);
    expect(s.displayName.length).toBeGreaterThan(0);
  });

  it.each(CATALOG.map((s) => [s.slug, s] as const))(
    "%s: intake parses a realistic example and rejects a bad one",
    (slug, s) => {
      const example = EXAMPLES[slug];
      expect(example, `add an intake example for ${slug}`).toBeDefined();
      const good = checkIntake(s, example);
      expect(good.complete ? [] : good.problems).toEqual([]);

      // Corrupt the identifier the filing is keyed by.
      const key = ["usdotNumber", "npi", "frn", "legalName"].find((k) => k in (example ?? {})) as string;
      const bad = checkIntake(s, { ...example, [key]: key === "legalName" ? "   " : "12345678901234" });
      expect(bad.complete).toBe(false);
      if (!bad.complete) expect(bad.problems.map((p) => p.field)).toContain(key);

      // Nothing at all: every required field is named by its label.
      const empty = checkIntake(s, {});
      expect(empty.complete).toBe(false);
      if (!empty.complete) {
        const required = intakeFieldLabels(s).filter((f) => f.required);
        expect(empty.problems.map((p) => p.field).sort()).toEqual(required.map((f) => f.field).sort());
        expect(empty.problems.every((p) => p.message.endsWith("is required"))).toBe(true);
      }
    },
  );

  it("seeds every service the commerce issue names, across the four verticals", () => {
    for (const slug of [
      "mcs150-update",
      "ucr-registration",
      "boc-3",
      "ifta-license",
      "irp-registration",
      "intrastate-authority",
      "oig-sam-screening",
      "provider-compliance-bundle",
      "npi-reactivation",
      "medicare-revalidation",
      "fcc-499a",
      "cpni-certification",
      "rmd-filing",
    ]) {
      expect(getService(slug), slug).toBeDefined();
    }
    expect(new Set(CATALOG.map((s) => s.vertical))).toEqual(
      new Set(["trucking", "healthcare", "telecom", "corporate"]),
    );
    expect(getService("nope")).toBeUndefined();
  });

  it("recurring services absorb the surcharge and take card and ACH only", () => {
    for (const s of CATALOG.filter((x) => x.billingInterval !== "none")) {
      expect(s.surchargePolicy.kind, s.slug).toBe("absorbed");
      expect([...s.allowedMethods].sort(), s.slug).toEqual(["ach", "card"]);
    }
  });
});

describe("catalog: the facts the issues state", () => {
  it("OIG/SAM monitoring is $79 a month, card and ACH only", () => {
    const oig = service("oig-sam-screening");
    expect(oig.priceCents).toBe(7900);
    expect(oig.billingInterval).toBe("month");
    expect([...oig.allowedMethods].sort()).toEqual(["ach", "card"]);
    expect(oig.fulfillment).toEqual({ kind: "screening_run" });
    expect(priceLabel(oig)).toBe("$79 per month");
  });

  it("the Provider Compliance Bundle is $899 a year and includes only the first screening", () => {
    const bundle = service("provider-compliance-bundle");
    expect(bundle.priceCents).toBe(89900);
    expect(bundle.billingInterval).toBe("year");
    expect(bundle.includes).toEqual([{ slug: "oig-sam-screening", quantity: 1, scope: "first_cycle_only" }]);
  });

  it("South Carolina intrastate: the Form E question and the $25 SCDMV fee at cost", () => {
    const isa = service("intrastate-authority");
    const sc = { state: "SC", carrierKind: "property", applicationType: "new" };
    expect(applicableGates(isa, sc).customerQuestion?.id).toBe("sc-form-e");
    expect(isa.customerQuestion?.onNo).toEqual({ action: "hold_with_admin_task", task: "insurance-broker-referral" });
    expect(isa.customerQuestion?.onYes).toEqual({ action: "proceed", billsGovernmentFee: true });
    expect(applicableGates(isa, { ...sc, state: "GA" }).customerQuestion).toBeNull();
    expect(applicableGates(isa, { ...sc, carrierKind: "passenger" }).customerQuestion).toBeNull();
    expect(applicableGates(isa, sc).signature?.document).toBe("power_of_attorney");

    const fee = estimateGovernmentFee(isa, sc);
    expect(fee).toMatchObject({ kind: "itemised", totalCents: 2500, verified: true });
    if (fee.kind === "itemised") expect(fee.items[0]?.agency).toMatch(/SCDMV/);
    expect(estimateGovernmentFee(isa, { ...sc, applicationType: "renewal" })).toMatchObject({
      kind: "itemised",
      totalCents: 0,
    });
    expect(estimateGovernmentFee(isa, { ...sc, state: "GA" })).toMatchObject({
      kind: "agency_invoice",
      agency: "GA PSC/PUC",
    });
    expect(estimateGovernmentFee(isa, { ...sc, carrierKind: "household_goods" })).toMatchObject({
      kind: "agency_invoice",
    });
  });

  it("IRP needs the agency's invoice", () => {
    expect(estimateGovernmentFee(service("irp-registration"), EXAMPLES["irp-registration"] ?? {})).toMatchObject({
      kind: "agency_invoice",
    });
  });

  it("carriers are enriched from the FMCSA census before intake is asked", () => {
    for (const slug of [
      "mcs150-update",
      "ucr-registration",
      "boc-3",
      "ifta-license",
      "irp-registration",
      "intrastate-authority",
    ]) {
      expect(service(slug).enrichment?.source, slug).toBe("fmcsa_census");
    }
    expect(service("ucr-registration").enrichment?.fills).toEqual(
      expect.arrayContaining(["legalName", "baseState", "powerUnits"]),
    );
  });

  it("officer signatures are declared where the rule requires one", () => {
    expect(service("cpni-certification").needsSignature?.basis).toMatch(/64\.2009\(e\)/);
    expect(service("fcc-499a").needsSignature?.basis).toMatch(/54\.711/);
    expect(service("rmd-filing").needsSignature?.signer).toBe("company_officer");
    expect(service("ucr-registration").needsSignature).toBeNull();
  });
});

describe("intake fields", () => {
  it("checks the NPI check digit per CMS (Luhn with the 80840 prefix)", () => {
    expect(isValidNpi("1234567893")).toBe(true); // CMS's worked example
    expect(isValidNpi("1234567890")).toBe(false);
    expect(isValidNpi("123456789")).toBe(false);
    expect(isValidNpi("3234567893")).toBe(false);
  });

  it("normalises pasted identifiers and rejects impossible ones", () => {
    const ucr = service("ucr-registration");
    const base = EXAMPLES["ucr-registration"] ?? {};
    const ok = checkIntake(ucr, { ...base, usdotNumber: "USDOT# 3141592" });
    expect(ok.complete && (ok.data as { usdotNumber: string }).usdotNumber).toBe("3141592");
    expect(checkIntake(ucr, { ...base, usdotNumber: "0123" }).complete).toBe(false);
    expect(checkIntake(ucr, { ...base, usdotNumber: "123456789" }).complete).toBe(false);
    const bracket = checkIntake(ucr, { ...base, powerUnits: 40, fleetSizeBracket: "3-5" });
    expect(bracket.complete ? [] : bracket.problems).toEqual([
      {
        field: "fleetSizeBracket",
        label: "Fleet-size bracket",
        message: "40 power units is the 21-100 bracket, not 3-5",
      },
    ]);
    expect(checkIntake(ucr, { ...base, registrationYear: 2031 }).complete).toBe(false);
  });

  it("partial intake: what is given must be valid, nothing is required", () => {
    const mcs = service("mcs150-update");
    expect(checkPartialIntake(mcs, { usdotNumber: "3141592", trailers: "6" }).complete).toBe(true);
    const bad = checkPartialIntake(mcs, { usdotNumber: "31415920000" });
    expect(bad.complete ? [] : bad.problems.map((p) => p.label)).toEqual(["USDOT number"]);
  });

  it("names nested fields by their labels", () => {
    const check = checkIntake(service("mcs150-update"), {
      ...EXAMPLES["mcs150-update"],
      physicalAddress: { ...address, zip: "2920" },
    });
    expect(check.complete ? [] : check.problems.map((p) => [p.field, p.label])).toEqual([
      ["physicalAddress.zip", "Principal place of business: ZIP code"],
    ]);
  });

  it("keeps HTML in text fields as text (escaping is the page's job)", () => {
    const check = checkIntake(service("boc-3"), {
      ...EXAMPLES["boc-3"],
      legalName: "<script>alert(1)</script> Freight",
    });
    expect(check.complete && (check.data as { legalName: string }).legalName).toBe("<script>alert(1)</script> Freight");
  });
});

describe("government fees", () => {
  const ucr = () => service("ucr-registration");
  const BRACKETS: [UcrFleetBracket, number, number][] = [
    // bracket, 2025 and 2026 cents, 2027 cents
    ["0-2", 4600, 5500],
    ["3-5", 13800, 16700],
    ["6-20", 27600, 33300],
    ["21-100", 96300, 116300],
    ["101-1000", 459200, 554800],
    ["1001+", 4483600, 5416500],
  ];

  it("the UCR schedule by bracket and registration year is data with its source", () => {
    for (const [bracket, y2025, y2027] of BRACKETS) {
      expect(UCR_FEE_SCHEDULE.years[2025]?.feesCents[bracket]).toBe(y2025);
      expect(UCR_FEE_SCHEDULE.years[2026]?.feesCents[bracket]).toBe(y2025);
      expect(UCR_FEE_SCHEDULE.years[2027]?.feesCents[bracket]).toBe(y2027);
    }
    for (const year of [2025, 2026, 2027]) expect(UCR_FEE_SCHEDULE.years[year]?.source).toMatch(/14504a/);
  });

  it("the fleet bracket follows from power units, at every boundary", () => {
    const cases: [number, UcrFleetBracket][] = [
      [0, "0-2"],
      [2, "0-2"],
      [3, "3-5"],
      [5, "3-5"],
      [6, "6-20"],
      [20, "6-20"],
      [21, "21-100"],
      [100, "21-100"],
      [101, "101-1000"],
      [1000, "101-1000"],
      [1001, "1001+"],
      [250000, "1001+"],
    ];
    for (const [units, bracket] of cases) expect(ucrFleetBracket(units), String(units)).toBe(bracket);
    expect(() => ucrFleetBracket(-1)).toThrow(RangeError);
    expect(() => ucrFleetBracket(2.5)).toThrow(RangeError);
  });

  it("estimates the UCR fee from intake, by bracket and year", () => {
    const samples: [number, number, number][] = [
      [1, 2026, 4600],
      [4, 2026, 13800],
      [12, 2025, 27600],
      [40, 2026, 96300],
      [500, 2026, 459200],
      [5000, 2026, 4483600],
      [1, 2027, 5500],
      [4, 2027, 16700],
      [12, 2027, 33300],
      [40, 2027, 116300],
      [500, 2027, 554800],
      [5000, 2027, 5416500],
    ];
    for (const [powerUnits, registrationYear, cents] of samples) {
      const fee = estimateGovernmentFee(
        ucr(),
        { classification: "motor_carrier", powerUnits: String(powerUnits) },
        { registrationYear },
      );
      expect(fee, `${powerUnits} units, ${registrationYear}`).toMatchObject({
        kind: "itemised",
        basis: "published",
        totalCents: cents,
      });
    }
    const fee = estimateGovernmentFee(ucr(), {
      classification: "motor_carrier",
      powerUnits: 4,
      registrationYear: 2026,
    });
    expect(fee).toEqual({
      kind: "itemised",
      basis: "published",
      items: [
        {
          label: "UCR registration fee 2026, 3-5 power units",
          cents: 13800,
          source: UCR_FEE_SCHEDULE.years[2026]?.source,
          agency: "Unified Carrier Registration Plan",
          kind: "government_fee",
          verified: true,
        },
      ],
      totalCents: 13800,
      verified: true,
    });
  });

  it("brokers pay the lowest bracket; missing intake and unknown years are reported, not guessed", () => {
    expect(estimateGovernmentFee(ucr(), { classification: "broker", registrationYear: 2026 })).toMatchObject({
      totalCents: 4600,
    });
    expect(estimateGovernmentFee(ucr(), { classification: "motor_carrier", registrationYear: 2026 })).toMatchObject({
      kind: "unavailable",
      code: "MISSING_INTAKE",
      fields: ["powerUnits"],
    });
    expect(
      estimateGovernmentFee(ucr(), { classification: "motor_carrier", powerUnits: 3 }, { registrationYear: 2031 }),
    ).toMatchObject({
      kind: "unavailable",
      code: "NO_SCHEDULE_FOR_YEAR",
    });
  });

  it("IFTA decals per qualified vehicle; a state without figures goes to an admin", () => {
    const ifta = service("ifta-license");
    const sc = GOVERNMENT_FEE_DATA.ifta.SC;
    expect(sc?.verified).toBe(false); // an assumption, flagged as such
    const fee = estimateGovernmentFee(ifta, { baseState: "SC", qualifiedVehicles: 3 });
    expect(fee).toMatchObject({
      kind: "itemised",
      basis: "estimate",
      totalCents: 3 * (sc?.decalSetCents ?? 0),
      verified: false,
    });
    expect(estimateGovernmentFee(ifta, { baseState: "WY", qualifiedVehicles: 3 })).toMatchObject({
      kind: "agency_invoice",
    });
    expect(estimateGovernmentFee(ifta, { baseState: "SC" })).toMatchObject({
      kind: "unavailable",
      fields: ["qualifiedVehicles"],
    });
  });

  it("itemises an agency processing fee passed through at cost", () => {
    const data: GovernmentFeeData = {
      ...GOVERNMENT_FEE_DATA,
      processingFees: {
        "ifta:GA": { kind: "percent", bps: 250, label: "Georgia card processing fee", source: "test", verified: true },
        ucr: { kind: "flat", cents: 199, label: "UCR portal fee", source: "test", verified: true },
      },
    };
    const ga = estimateGovernmentFee(service("ifta-license"), { baseState: "GA", qualifiedVehicles: 3 }, { data });
    const decals = 3 * (GOVERNMENT_FEE_DATA.ifta.GA?.decalSetCents ?? 0);
    const processing = Math.floor((decals * 250 * 2 + 10000) / 20000);
    expect(ga).toMatchObject({ kind: "itemised", totalCents: decals + processing });
    if (ga.kind === "itemised")
      expect(ga.items.map((i) => i.kind)).toEqual(["government_fee", "agency_processing_fee"]);
    const u = estimateGovernmentFee(
      ucr(),
      { classification: "motor_carrier", powerUnits: 1 },
      { registrationYear: 2026, data },
    );
    expect(u).toMatchObject({ totalCents: 4600 + 199 });
  });

  it("Medicare application fee for institutional enrollments only; the RMD fee is fixed", () => {
    const reval = service("medicare-revalidation");
    expect(estimateGovernmentFee(reval, { enrollmentForm: "855B" }, { registrationYear: 2025 })).toMatchObject({
      totalCents: 73000,
    });
    expect(estimateGovernmentFee(reval, { enrollmentForm: "855I" }, { asOf: NOW })).toMatchObject({ kind: "none" });
    expect(estimateGovernmentFee(reval, { enrollmentForm: "855A" }, { asOf: new Date("2019-06-01") })).toMatchObject({
      kind: "unavailable",
    });
    expect(estimateGovernmentFee(service("rmd-filing"), {})).toMatchObject({
      kind: "itemised",
      basis: "fixed",
      totalCents: 10000,
    });
    expect(estimateGovernmentFee(service("fcc-499a"), {})).toEqual({ kind: "none" });
  });
});

describe("pricing: priceCheckout", () => {
  it("one-time by card: service fee and a 3% surcharge line", () => {
    const p = priced(priceCheckout([{ slug: "fcc-499a" }], "card", null, RATES, NOW));
    expect(p.mode).toBe("payment");
    expect(p.stripePaymentMethodTypes).toEqual(["card"]);
    expect(p.orders[0]?.lines).toEqual([
      { kind: "service_fee", label: "FCC Form 499-A Filing", amountCents: 49900 },
      { kind: "surcharge", label: "Card surcharge (3%)", amountCents: 1497 },
    ]);
    expect(p.totals).toEqual({ subtotalCents: 49900, discountCents: 0, surchargeCents: 1497, totalCents: 51397 });
  });

  it("Klarna 6%, ACH none (no line at all)", () => {
    expect(
      priced(priceCheckout([{ slug: "cpni-certification" }], "klarna", null, RATES, NOW)).totals.surchargeCents,
    ).toBe(1194);
    const ach = priced(priceCheckout([{ slug: "cpni-certification" }], "ach", null, RATES, NOW));
    expect(ach.orders[0]?.lines.map((l) => l.kind)).toEqual(["service_fee"]);
    expect(ach.stripePaymentMethodTypes).toEqual(["us_bank_account"]);
    expect(ach.totals.totalCents).toBe(19900);
  });

  it("rounds the surcharge half-up to the cent", () => {
    const odd = (priceCents: number): ServiceDefinition => ({ ...service("boc-3"), slug: "odd", priceCents });
    const surcharge = (priceCents: number, method: "card" | "klarna" = "card") =>
      priced(
        priceCheckout([{ slug: "odd" }], method, null, RATES, NOW, (slug) =>
          slug === "odd" ? odd(priceCents) : undefined,
        ),
      ).totals.surchargeCents;
    expect(surcharge(1650)).toBe(50); // 49.5 → 50
    expect(surcharge(1649)).toBe(49); // 49.47 → 49
    expect(surcharge(1617)).toBe(49); // 48.51 → 49
    expect(surcharge(1583)).toBe(47); // 47.49 → 47
    expect(surcharge(1025, "klarna")).toBe(62); // 61.5 → 62
    expect(surcharge(1)).toBe(0); // 0.03 → 0
  });

  it("recurring absorbs the surcharge: no surcharge line, subscription mode, clean renewal", () => {
    const p = priced(priceCheckout([{ slug: "oig-sam-screening" }], "card", null, RATES, NOW));
    expect(p.mode).toBe("subscription");
    expect(p.billingInterval).toBe("month");
    expect(p.orders[0]?.lines).toEqual([
      { kind: "service_fee", label: service("oig-sam-screening").displayName, amountCents: 7900 },
    ]);
    expect(p.orders[0]?.surcharge).toEqual({ bps: 0, absorbed: true });
    expect(p.orders[0]?.renewalCents).toBe(7900);
    expect(p.totals.totalCents).toBe(7900);

    const bundle = priced(priceCheckout([{ slug: "provider-compliance-bundle" }], "ach", null, RATES, NOW));
    expect(bundle.billingInterval).toBe("year");
    expect(bundle.totals.totalCents).toBe(89900);
  });

  it("a discount on a recurring service applies to the first payment only", () => {
    const ten: Discount = {
      code: "WELCOME10",
      kind: "percent",
      value: 10,
      active: true,
      appliesTo: ["oig-sam-screening"],
    };
    const o = priced(priceCheckout([{ slug: "oig-sam-screening" }], "card", ten, RATES, NOW)).orders[0];
    expect(o).toMatchObject({
      subtotalCents: 7900,
      discountCents: 790,
      surchargeCents: 0,
      totalCents: 7110,
      renewalCents: 7900,
    });
  });

  it("refuses a method the service does not allow (METHOD_NOT_ALLOWED), whatever the page sent", () => {
    const r = priceCheckout([{ slug: "oig-sam-screening" }], "klarna", null, RATES, NOW);
    expect(codes(r)).toEqual(["METHOD_NOT_ALLOWED"]);
    if (!r.ok) expect(r.errors[0]).toMatchObject({ slug: "oig-sam-screening" });
    expect(codes(priceCheckout([{ slug: "fcc-499a" }], "paypal" as never, null, RATES, NOW))).toEqual([
      "METHOD_NOT_ALLOWED",
    ]);
  });

  it("one billing interval per checkout (MIXED_INTERVALS)", () => {
    expect(
      codes(priceCheckout([{ slug: "oig-sam-screening" }, { slug: "ucr-registration" }], "card", null, RATES, NOW)),
    ).toEqual(["MIXED_INTERVALS"]);
    expect(
      codes(
        priceCheckout(
          [{ slug: "oig-sam-screening" }, { slug: "provider-compliance-bundle" }],
          "card",
          null,
          RATES,
          NOW,
        ),
      ),
    ).toEqual(["MIXED_INTERVALS"]);
    expect(
      priced(priceCheckout([{ slug: "provider-compliance-bundle" }, { slug: "dc-agent" }], "card", null, RATES, NOW))
        .mode,
    ).toBe("subscription");
  });

  it("validates the items: unknown, duplicate, bad quantity, empty", () => {
    expect(codes(priceCheckout([{ slug: "fcc-499z" }], "card", null, RATES, NOW))).toEqual(["UNKNOWN_SERVICE"]);
    expect(codes(priceCheckout([{ slug: "boc-3" }, { slug: "boc-3" }], "card", null, RATES, NOW))).toEqual([
      "DUPLICATE_SERVICE",
    ]);
    for (const quantity of [0, -1, 1.5, 101]) {
      expect(codes(priceCheckout([{ slug: "boc-3", quantity }], "card", null, RATES, NOW)), String(quantity)).toEqual([
        "INVALID_QUANTITY",
      ]);
    }
    expect(codes(priceCheckout([], "card", null, RATES, NOW))).toEqual(["EMPTY_CHECKOUT"]);
    const q = priced(priceCheckout([{ slug: "boc-3", quantity: 3 }], "ach", null, RATES, NOW)).orders[0];
    expect(q).toMatchObject({
      quantity: 3,
      unitPriceCents: service("boc-3").priceCents,
      subtotalCents: 3 * service("boc-3").priceCents,
    });
  });

  describe("discounts", () => {
    const base: Discount = { code: "SPRING", kind: "percent", value: 15, active: true, appliesTo: "all" };

    it("percent: on the services it applies to only, surcharge on the discounted amount", () => {
      const d: Discount = { ...base, appliesTo: ["fcc-499a"] };
      const p = priced(priceCheckout([{ slug: "fcc-499a" }, { slug: "cpni-certification" }], "card", d, RATES, NOW));
      const [f499, cpni] = p.orders;
      expect(f499).toMatchObject({
        subtotalCents: 49900,
        discountCents: 7485,
        surchargeCents: 1272,
        totalCents: 43687,
      }); // 3% of 42415 = 1272.45
      expect(f499?.lines.map((l) => [l.kind, l.amountCents])).toEqual([
        ["service_fee", 49900],
        ["discount", -7485],
        ["surcharge", 1272],
      ]);
      expect(cpni).toMatchObject({ discountCents: 0, surchargeCents: 597, totalCents: 20497 });
      expect(p.discount).toEqual({ code: "SPRING", kind: "percent", value: 15, appliedCents: 7485 });
      expect(p.totals.totalCents).toBe(43687 + 20497);
    });

    it("percent rounds half-up; fractional percents allowed to two decimals", () => {
      const odd = (priceCents: number): ServiceDefinition => ({ ...service("boc-3"), slug: "odd", priceCents });
      const lookup = (price: number) => (slug: string) => (slug === "odd" ? odd(price) : undefined);
      const d = (value: number): Discount => ({ ...base, value });
      expect(
        priced(priceCheckout([{ slug: "odd" }], "ach", d(12.5), RATES, NOW, lookup(6900))).totals.discountCents,
      ).toBe(863); // 862.5
      expect(
        priced(priceCheckout([{ slug: "odd" }], "ach", d(15), RATES, NOW, lookup(1003))).totals.discountCents,
      ).toBe(150); // 150.45
      expect(codes(priceCheckout([{ slug: "odd" }], "ach", d(12.345), RATES, NOW, lookup(6900)))).toEqual([
        "DISCOUNT_INVALID",
      ]);
    });

    it("amount: never below zero, and no surcharge on nothing", () => {
      const big: Discount = { ...base, kind: "amount", value: 1_000_000 };
      const p = priced(priceCheckout([{ slug: "mcs150-update" }], "card", big, RATES, NOW));
      expect(p.orders[0]).toMatchObject({ discountCents: 9900, surchargeCents: 0, totalCents: 0 });
      expect(p.discount?.appliedCents).toBe(9900);
      const nullScope = priced(
        priceCheckout([{ slug: "mcs150-update" }], "ach", { ...base, appliesTo: null }, RATES, NOW),
      );
      expect(nullScope.totals.discountCents).toBe(1485); // 15% of 9900, as the discounts table's null scope
    });

    it("amount: shared across the orders it applies to, adding up exactly", () => {
      const d: Discount = {
        ...base,
        kind: "amount",
        value: 1001,
        appliesTo: ["ucr-registration", "boc-3", "fcc-499a"],
      };
      const p = priced(
        priceCheckout(
          [{ slug: "ucr-registration" }, { slug: "boc-3", quantity: 2 }, { slug: "mcs150-update" }],
          "ach",
          d,
          RATES,
          NOW,
        ),
      );
      const shares = p.orders.map((o) => o.discountCents);
      expect(shares[2]).toBe(0); // mcs150-update is not covered
      expect((shares[0] ?? 0) + (shares[1] ?? 0)).toBe(1001);
      // In proportion to the fees (8900 : 13800), to the cent.
      expect(Math.abs((shares[0] ?? 0) - (1001 * 8900) / 22700)).toBeLessThan(1);
      expect(p.totals.totalCents).toBe(p.totals.subtotalCents - 1001);
    });

    it("windows and flags: inactive, not started, expired (at the instant), not applicable", () => {
      const one = [{ slug: "fcc-499a" }];
      expect(codes(priceCheckout(one, "card", { ...base, active: false }, RATES, NOW))).toEqual(["DISCOUNT_INACTIVE"]);
      expect(codes(priceCheckout(one, "card", { ...base, startsAt: new Date(NOW.getTime() + 1) }, RATES, NOW))).toEqual(
        ["DISCOUNT_NOT_STARTED"],
      );
      expect(codes(priceCheckout(one, "card", { ...base, expiresAt: NOW }, RATES, NOW))).toEqual(["DISCOUNT_EXPIRED"]);
      expect(
        priceCheckout(one, "card", { ...base, startsAt: NOW, expiresAt: new Date(NOW.getTime() + 1) }, RATES, NOW).ok,
      ).toBe(true);
      expect(codes(priceCheckout(one, "card", { ...base, appliesTo: ["ucr-registration"] }, RATES, NOW))).toEqual([
        "DISCOUNT_NOT_APPLICABLE",
      ]);
      expect(codes(priceCheckout(one, "card", { ...base, kind: "amount", value: 0 }, RATES, NOW))).toEqual([
        "DISCOUNT_INVALID",
      ]);
      expect(codes(priceCheckout(one, "card", { ...base, value: 101 }, RATES, NOW))).toEqual(["DISCOUNT_INVALID"]);
    });
  });

  it("every total is integer cents and the lines add up", () => {
    const d: Discount = { code: "X", kind: "percent", value: 7.25, active: true, appliesTo: "all" };
    for (const method of ["card", "ach", "klarna"] as const) {
      const p = priced(
        priceCheckout(
          CATALOG.filter((s) => s.billingInterval === "none").map((s) => ({ slug: s.slug })),
          method,
          d,
          RATES,
          NOW,
        ),
      );
      for (const o of p.orders) {
        expect(o.lines.reduce((a, l) => a + l.amountCents, 0)).toBe(o.totalCents);
        for (const l of o.lines) expect(Number.isSafeInteger(l.amountCents)).toBe(true);
      }
      expect(p.orders.reduce((a, o) => a + o.totalCents, 0)).toBe(p.totals.totalCents);
    }
  });
});

describe("surcharge rates are configuration", () => {
  it("defaults ACH 0%, card 3%, Klarna 6%; overrides replace them", () => {
    expect(DEFAULT_SURCHARGE_RATES_BPS).toEqual({ ach: 0, card: 300, klarna: 600 });
    const rates = resolveSurchargeRates({ card: 250 });
    expect(rates).toEqual({ ach: 0, card: 250, klarna: 600 });
    const p = priced(priceCheckout([{ slug: "fcc-499a" }], "card", null, rates, NOW));
    expect(p.orders[0]?.lines[1]).toEqual({ kind: "surcharge", label: "Card surcharge (2.5%)", amountCents: 1248 }); // 1247.5
  });

  it("reads the configured rates and refuses nonsense", () => {
    const config = (vars: Record<string, string>) => {
      const result = loadAppConfig({
        APP_ENV: "test",
        PUBLIC_BASE_URL: "http://docket.test",
        MAIL_FROM: "Docket <noreply@send.docket.test>",
        MAIL_SENDING_DOMAIN: "send.docket.test",
        OPERATOR_EMAIL: "ops@docket.test",
        SMTP_HOST: "127.0.0.1",
        ...vars,
      });
      if (!result.ok) throw new Error(result.problems.join("; "));
      return result.config;
    };
    expect(surchargeRatesFromConfig(config({}))).toEqual(DEFAULT_SURCHARGE_RATES_BPS);
    expect(surchargeRatesFromConfig(config({ SURCHARGE_KLARNA_BPS: "500" }))).toEqual({
      ach: 0,
      card: 300,
      klarna: 500,
    });
    expect(() => resolveSurchargeRates({ card: 3000 })).toThrow();
    expect(() => resolveSurchargeRates({ paypal: 300 } as never)).toThrow();
    expect(() =>
      priceCheckout([{ slug: "fcc-499a" }], "card", null, { ...RATES, card: MAX_SURCHARGE_BPS + 1 }, NOW),
    ).toThrow(RangeError);
  });

  it("maps our methods to Stripe payment method types and back", () => {
    expect(STRIPE_PAYMENT_METHOD_TYPES).toEqual({ card: "card", ach: "us_bank_account", klarna: "klarna" });
    expect(paymentMethodFromStripe("us_bank_account")).toBe("ach");
    expect(paymentMethodFromStripe("paypal")).toBeUndefined();
  });
});

describe("government-fee child orders", () => {
  it("itemises the fee at cost and adds the method's surcharge", () => {
    const fee = estimateGovernmentFee(service("intrastate-authority"), {
      state: "SC",
      carrierKind: "property",
      applicationType: "new",
    });
    if (fee.kind !== "itemised") throw new Error("expected an itemised fee");
    const klarna = priceGovernmentFeePayment(fee.items, "klarna", RATES);
    expect(klarna).toMatchObject({ ok: true, feeCents: 2500, surchargeCents: 150, totalCents: 2650 });
    const ach = priceGovernmentFeePayment(fee.items, "ach", RATES);
    expect(ach.ok && ach.lines.map((l) => l.kind)).toEqual(["service_fee"]);
    expect(priceGovernmentFeePayment(fee.items, "wire" as never, RATES).ok).toBe(false);
  });

  it("shows every allowed method with its surcharge", () => {
    expect(paymentOptions(2500, ["ach", "card", "klarna"], { kind: "pass_through" }, RATES)).toEqual([
      { method: "ach", bps: 0, surchargeCents: 0, totalCents: 2500 },
      { method: "card", bps: 300, surchargeCents: 75, totalCents: 2575 },
      { method: "klarna", bps: 600, surchargeCents: 150, totalCents: 2650 },
    ]);
    expect(paymentOptions(7900, ["card"], { kind: "absorbed", reason: "recurring" }, RATES)[0]?.surchargeCents).toBe(0);
  });
});

describe("next due dates", () => {
  it("MCS-150 every 24 months by USDOT number (49 CFR 390.19)", () => {
    // Last digit 7 → July; next-to-last 6 (even) → even years.
    expect(mcs150DueDate("3141567", new Date("2026-03-01T00:00:00Z"))).toBe("2026-07-31");
    // Filed in its own month: the next is two years on.
    expect(mcs150DueDate("3141567", new Date("2026-07-15T00:00:00Z"))).toBe("2028-07-31");
    // Last digit 2 → February (a leap year's end of month).
    expect(mcs150DueDate("3141562", new Date("2026-03-01T00:00:00Z"))).toBe("2028-02-29");
    // Last digit 0 → October; next-to-last 1 (odd) → odd years.
    expect(mcs150DueDate("3141510", new Date("2026-03-01T00:00:00Z"))).toBe("2027-10-31");
    // One digit: the next-to-last digit is 0 (even); 9 → September.
    expect(mcs150DueDate("9", new Date("2027-01-10T00:00:00Z"))).toBe("2028-09-30");
    expect(nextDueDate(service("mcs150-update"), { usdotNumber: "3141592" }, new Date("2026-11-22T00:00:00Z"))).toBe(
      "2027-02-28",
    );
  });

  it("UCR yearly by registration year, monitoring monthly, CPNI by March 1", () => {
    expect(nextDueDate(service("ucr-registration"), { registrationYear: 2027 }, NOW)).toBe("2027-12-31");
    expect(nextDueDate(service("oig-sam-screening"), {}, new Date("2026-01-31T10:00:00Z"))).toBe("2026-02-28");
    expect(
      nextDueDate(service("cpni-certification"), { certificationYear: 2026 }, new Date("2027-02-10T00:00:00Z")),
    ).toBe("2028-03-01");
    expect(nextDueDate(service("rmd-filing"), {}, new Date("2027-02-10T00:00:00Z"))).toBe("2028-03-01");
    expect(nextDueDate(service("rmd-filing"), {}, new Date("2026-11-22T00:00:00Z"))).toBe("2027-03-01");
    expect(nextDueDate(service("boc-3"), {}, NOW)).toBeNull();
  });
});

it("formats cents for display", () => {
  expect(formatCents(4483600)).toBe("$44,836");
  expect(formatCents(1497)).toBe("$14.97");
  expect(formatCents(5)).toBe("$0.05");
});
