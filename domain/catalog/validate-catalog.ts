import { PAYMENT_METHODS } from "./payment-methods";
import { BILLING_INTERVALS, VERTICALS, type IntakeCondition, type ServiceDefinition } from "./service-definition";

/**
 * Structural rules every catalog entry must keep; the test suite runs this over the seeded
 * catalog, and an admin-edited catalog could be checked the same way before use.
 */
export function validateCatalog(catalog: readonly ServiceDefinition[]): string[] {
  const problems: string[] = [];
  const slugs = new Set<string>();
  const all = new Set(catalog.map((s) => s.slug));

  for (const s of catalog) {
    const at = (m: string) => problems.push(`${s.slug}: ${m}`);
    if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(s.slug)) at("slug must be kebab-case");
    if (slugs.has(s.slug)) at("slug is not unique");
    slugs.add(s.slug);
    if (s.displayName.trim() === "") at("display name is empty");
    if (!VERTICALS.includes(s.vertical)) at(`unknown vertical ${s.vertical}`);
    if (!Number.isSafeInteger(s.priceCents) || s.priceCents <= 0)
      at("price must be a positive integer number of cents");
    if (!BILLING_INTERVALS.includes(s.billingInterval)) at(`unknown billing interval ${s.billingInterval}`);

    if (s.allowedMethods.length === 0) at("no payment method allowed");
    if (new Set(s.allowedMethods).size !== s.allowedMethods.length) at("a payment method is listed twice");
    for (const m of s.allowedMethods) if (!PAYMENT_METHODS.includes(m)) at(`unknown payment method ${m}`);
    if (s.billingInterval !== "none") {
      // Recurring: one clean price per period, and methods that can be charged every period.
      if (s.surchargePolicy.kind !== "absorbed") at("a recurring service must absorb the surcharge");
      if (s.allowedMethods.includes("klarna")) at("a recurring service cannot take Klarna");
    }

    const fee = s.governmentFee;
    if (fee.kind === "fixed" && (!Number.isSafeInteger(fee.cents) || fee.cents <= 0))
      at("a fixed government fee must be a positive integer number of cents");

    const fields = new Set(Object.keys(s.intakeFields.shape));
    const needField = (field: string, what: string) => {
      if (!fields.has(field.split(".")[0] ?? field)) at(`${what} names "${field}", which is not an intake field`);
    };
    const needCondition = (c: IntakeCondition | undefined, what: string) => {
      if (!c) return;
      needField(c.field, what);
      for (const nested of c.and ?? []) needCondition(nested, what);
    };
    if (s.enrichment) {
      needField(s.enrichment.keyField, "enrichment key");
      for (const f of s.enrichment.fills) needField(f, "enrichment");
    }
    needCondition(s.needsSignature?.when, "signature condition");
    needCondition(s.customerQuestion?.when, "customer question condition");
    if (s.nextDue.kind === "mcs150_biennial") needField(s.nextDue.usdotField, "next-due rule");
    if (s.nextDue.kind === "annual_deadline" && s.nextDue.period) needField(s.nextDue.period.field, "next-due rule");
    if (s.nextDue.kind === "every" && (!Number.isInteger(s.nextDue.months) || s.nextDue.months < 1))
      at("next-due interval must be whole months");

    for (const inc of s.includes) {
      if (!all.has(inc.slug)) at(`includes unknown service ${inc.slug}`);
      if (inc.slug === s.slug) at("includes itself");
      if (!Number.isInteger(inc.quantity) || inc.quantity < 1) at(`includes ${inc.slug} with a bad quantity`);
    }

    const f = s.fulfillment;
    if (
      (f.kind === "browser_filing" && !f.script) ||
      (f.kind === "generated_document" && !f.template) ||
      (f.kind === "admin_assisted" && !f.task)
    ) {
      at("fulfillment names no script, template or task");
    }
  }
  return problems;
}
