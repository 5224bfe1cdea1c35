import { Hono, type Context } from "hono";
import { getCookie } from "hono/cookie";
import Stripe from "stripe";
import { z } from "zod";
import { attributedProspect, type AttributedProspect } from "../../db/attributed-prospect";
import { withDb } from "../../db/client";
import { checkPartialIntake, intakeFieldLabels } from "../../domain/catalog/intake";
import { formatCents } from "../../domain/catalog/money";
import {
  formatBps,
  PAYMENT_METHOD_LABELS,
  surchargeRatesFromConfig,
  type PaymentMethod,
} from "../../domain/catalog/payment-methods";
import { intervalPhrase, priceCheckout, type CheckoutPricing } from "../../domain/catalog/pricing";
import type { ServiceDefinition } from "../../domain/catalog/service-definition";
import { getService } from "../../domain/catalog/services";
import type { AppConfig } from "../../domain/config/app-config";
import { ATTRIBUTION_COOKIE, attributedSendId } from "../../domain/outreach/tracking-token";
import { linesOf, surchargeText } from "../../web/components";
import {
  ServicePage,
  type ServiceFormValues,
  type ServiceMethodChoice,
  type ServicePageProps,
} from "../../web/pages/service-page";
import type { AppEnv } from "../app-env";
import { createCheckout, type CheckoutRequest } from "../checkout/create-checkout";
import { ApiError } from "../http-errors";
import { StripeNotConfiguredError } from "../payments/stripe-client";
import { crossSite, crossSiteRefused, customerPageError, formFields } from "./customer-form";
import { customerPageHeaders, render } from "./order-pages";

/**
 * The public page of one catalog service, where campaign mail links land (through the tracked
 * redirect /l/<token>, which sets the signed `docket_send` attribution cookie):
 *
 *   GET  /order/:slug   what the service is, its price from the catalog, and the order form;
 *                       a valid attribution cookie prefills the USDOT number and company from
 *                       the prospect that send went to
 *   POST /order/:slug   validates the form, creates the checkout (attributed to the send when
 *                       the cookie is valid) and answers 303 to Stripe Checkout
 *
 * Mounted on /order before the intake wizard. It answers only a catalog slug that can be
 * bought on its own, and only without `?token=`: a signed link is the wizard's, and every
 * other path (/order/CO-…, /order/pay, …) falls through (`next()`) unchanged.
 *
 * The page has no cookie of its own and no session: the checkout is created from what was
 * posted, priced by the catalog. An invalid form creates nothing (422); a bad attribution
 * cookie is ignored, never an error.
 */

export const serviceLandingRoutes = new Hono<AppEnv>();

type PageContext = Context<AppEnv>;

/** The intake field a campaign about a carrier's record can prefill (domain/catalog/intake-fields.ts). */
const USDOT_FIELD = "usdotNumber";

/** utm_* query parameters travel from the landing URL into the checkout's attribution (≤ 20, ≤ 500 chars). */
const UTM_KEY = /^utm_[a-z0-9_]{1,36}$/i;
const MAX_UTM = 10;

interface Landing {
  service: ServiceDefinition;
  /** The service alone, priced for each method it allows, the default (first) method first. */
  priced: { method: PaymentMethod; pricing: CheckoutPricing }[];
}

/** This page's service, or undefined when the request is not this page's (the wizard's, or no buyable service). */
function landingOf(c: PageContext, now: Date): Landing | undefined {
  if (c.req.query("token") !== undefined) return undefined;
  const service = getService(c.req.param("slug") ?? "");
  if (!service) return undefined;
  const rates = surchargeRatesFromConfig(c.get("config"));
  const priced: Landing["priced"] = [];
  for (const method of service.allowedMethods) {
    const result = priceCheckout([{ slug: service.slug }], method, null, rates, now);
    if (result.ok) priced.push({ method, pricing: result.pricing });
  }
  // Bought on its own means the catalog prices it alone, at least for its default method.
  return priced[0]?.method === service.allowedMethods[0] ? { service, priced } : undefined;
}

// Customer-page headers (no-store, no Referer, CSP, no framing) on this page only.
serviceLandingRoutes.use("/:slug", async (c, next) => {
  if (!landingOf(c, new Date())) return await next();
  return await customerPageHeaders(c, next);
});

serviceLandingRoutes.onError(
  customerPageError({ unavailableTitle: "This page is unavailable", notDone: "Nothing was ordered or charged." }),
);

// ---------------------------------------------------------------------------------------------
// What the page says

function usdotField(service: ServiceDefinition): { label: string; required: boolean } | undefined {
  const field = intakeFieldLabels(service).find((f) => f.field === USDOT_FIELD);
  return field ? { label: field.label, required: field.required } : undefined;
}

/** What we do for the customer, from the catalog definition. */
function aboutService(service: ServiceDefinition): string[] {
  const about: string[] = [];
  if (service.fulfillment.kind === "screening_run") {
    about.push(
      `With ${service.displayName} we check the people you name against the federal exclusion lists and e-mail you a dated certificate each time.`,
    );
  } else {
    const checked = service.approval === "admin" ? ", once our team has checked everything," : "";
    about.push(
      `We prepare your ${service.displayName} from the details you give us and file it for you${checked} then e-mail you the confirmation.`,
    );
  }
  if (service.enrichment) {
    about.push("What the public record already says about you we fill in ourselves, so you only confirm it.");
  }
  if (service.needsSignature) {
    about.push(`When it is needed, we e-mail you the ${service.needsSignature.title} to sign online.`);
  }
  // A recurring service renews by itself; a one-time filing that falls due again gets a reminder.
  if (service.nextDue.kind !== "none" && service.billingInterval === "none") {
    about.push("We remind you before the next one falls due.");
  }
  return about;
}

function priceNotes(landing: Landing): string[] {
  const { service, priced } = landing;
  const first = priced[0]!.pricing;
  const notes: string[] = [];
  if (service.surchargePolicy.kind === "absorbed") {
    notes.push("No payment surcharge, whichever way you pay.");
  } else {
    const rates = priced.map(({ method, pricing }) => {
      const bps = pricing.orders[0]!.surcharge.bps;
      return `${PAYMENT_METHOD_LABELS[method]} ${bps === 0 ? "none" : formatBps(bps)}`;
    });
    notes.push(`Payment surcharge, added to our fee at checkout: ${rates.join(", ")}.`);
  }
  const renewal = first.orders[0]!.renewalCents;
  if (renewal !== null) {
    notes.push(
      `Then ${formatCents(renewal)} ${intervalPhrase(service.billingInterval)}, charged automatically until you cancel.`,
    );
  }
  const fee = service.governmentFee;
  if (fee.kind === "fixed") {
    notes.push(
      `Not included: the ${fee.agency} ${fee.label} (${formatCents(fee.cents)}), which we pass on at cost as a separate payment.`,
    );
  } else if (fee.kind !== "none") {
    notes.push(
      "Not included: the agency's own fee, which we pass on at cost, with no markup, as a separate payment once it is known.",
    );
  }
  return notes;
}

function methodChoices(landing: Landing): ServiceMethodChoice[] {
  return landing.priced.map(({ method, pricing }) => ({
    method,
    label: PAYMENT_METHOD_LABELS[method],
    note: `${surchargeText(pricing.orders[0]!.surcharge.bps, pricing.totals.surchargeCents)}, ${formatCents(pricing.totals.totalCents)} in total`,
  }));
}

/** The utm_* parameters of the landing URL, kept on the form's action so the POST sees them too. */
function utmOf(c: PageContext): Record<string, string> {
  const utm: Record<string, string> = {};
  for (const [key, values] of Object.entries(c.req.queries())) {
    const value = values[0];
    if (Object.keys(utm).length >= MAX_UTM) break;
    if (UTM_KEY.test(key) && value !== undefined && value !== "" && value.length <= 500) utm[key] = value;
  }
  return utm;
}

function actionOf(c: PageContext, service: ServiceDefinition): string {
  const query = new URLSearchParams(utmOf(c)).toString();
  return `/order/${encodeURIComponent(service.slug)}${query ? `?${query}` : ""}`;
}

interface View {
  values: ServiceFormValues;
  errors?: ServicePageProps["errors"];
  prefilled?: boolean;
  notice?: string;
}

function pageProps(c: PageContext, landing: Landing, view: View): ServicePageProps {
  const { service, priced } = landing;
  const first = priced[0]!;
  const usdot = usdotField(service);
  return {
    serviceName: service.displayName,
    about: aboutService(service),
    regulation: service.regulation,
    price: {
      lines: linesOf(first.pricing.orders[0]!.lines),
      totalCents: first.pricing.totals.totalCents,
      totalLabel: totalLabel(service, first.method),
    },
    priceNotes: priceNotes(landing),
    methods: methodChoices(landing),
    ...(usdot ? { usdot } : {}),
    values: view.values,
    errors: view.errors ?? {},
    prefilled: view.prefilled ?? false,
    ...(view.notice ? { notice: view.notice } : {}),
    action: actionOf(c, service),
  };
}

function totalLabel(service: ServiceDefinition, method: PaymentMethod): string {
  if (service.billingInterval !== "none") return "First payment";
  return service.surchargePolicy.kind === "absorbed" ? "Total" : `Total paying by ${PAYMENT_METHOD_LABELS[method]}`;
}

type Status = 200 | 422 | 502;

function show(c: PageContext, landing: Landing, view: View, status: Status = 200) {
  return render(c, <ServicePage {...pageProps(c, landing, view)} />, status);
}

// ---------------------------------------------------------------------------------------------
// Attribution and prefill

async function attributedSend(c: PageContext, now: Date): Promise<number | null> {
  return await attributedSendId(c.get("config").TRACKING_LINK_SECRET, getCookie(c, ATTRIBUTION_COOKIE), now);
}

/** The prospect's public identifiers, when a valid cookie names a send; a failing look-up only loses the prefill. */
async function prospectOf(c: PageContext, config: AppConfig, sendId: number): Promise<AttributedProspect | undefined> {
  try {
    return await withDb(config, (db) => attributedProspect(db, sendId), c.executionCtx);
  } catch (error) {
    console.error(
      JSON.stringify({
        level: "warn",
        requestId: c.get("requestId"),
        event: "service_page_prefill_failed",
        error: String(error),
      }),
    );
    return undefined;
  }
}

/** The form's starting values: the default method, and what the prospect record says (only if it is valid here). */
function prefillValues(
  service: ServiceDefinition,
  defaultMethod: PaymentMethod,
  prospect: AttributedProspect | undefined,
): { values: ServiceFormValues; prefilled: boolean } {
  const values: ServiceFormValues = { email: "", name: "", company: "", method: defaultMethod, usdotNumber: "" };
  if (!prospect) return { values, prefilled: false };
  let prefilled = false;
  if (prospect.legalName && prospect.legalName.length <= COMPANY_MAX) {
    values.company = prospect.legalName;
    prefilled = true;
  }
  if (
    prospect.usdotNumber &&
    usdotField(service) &&
    checkPartialIntake(service, { [USDOT_FIELD]: prospect.usdotNumber }).complete
  ) {
    values.usdotNumber = prospect.usdotNumber;
    prefilled = true;
  }
  return { values, prefilled };
}

// ---------------------------------------------------------------------------------------------
// The form

const COMPANY_MAX = 200;

const contactSchema = z.object({
  email: z
    .string()
    .trim()
    .min(1, "Enter your e-mail address")
    .max(320, "This e-mail address is too long")
    .pipe(z.email("Enter a valid e-mail address, like name@company.com")),
  name: z.string().trim().min(1, "Enter your name").max(200, "Please shorten your name to 200 characters"),
  company: z.string().trim().max(COMPANY_MAX, `Please shorten the company name to ${COMPANY_MAX} characters`),
});

type Parsed =
  | {
      ok: true;
      customer: CheckoutRequest["customer"];
      method: PaymentMethod;
      intake: Record<string, unknown>;
    }
  | { ok: false; errors: ServicePageProps["errors"] };

function posted(form: Readonly<Record<string, string>>): ServiceFormValues {
  return {
    email: form.email ?? "",
    name: form.name ?? "",
    company: form.company ?? "",
    method: form.method ?? "",
    usdotNumber: form.usdotNumber ?? "",
  };
}

/** The posted form checked: every problem at once, by field, in the customer's words. */
function parseForm(service: ServiceDefinition, values: ServiceFormValues): Parsed {
  const errors: ServicePageProps["errors"] = {};
  const contact = contactSchema.safeParse(values);
  if (!contact.success) {
    for (const issue of contact.error.issues) {
      const field = issue.path[0] as keyof ServiceFormValues;
      errors[field] ??= issue.message;
    }
  }
  const method = (service.allowedMethods as readonly string[]).includes(values.method)
    ? (values.method as PaymentMethod)
    : undefined;
  if (!method) errors.method = "Choose how you want to pay";

  const intake: Record<string, unknown> = {};
  const usdot = usdotField(service);
  const given = values.usdotNumber.trim();
  if (usdot && given !== "") {
    // The service's own field decides what a USDOT number is (and normalises "USDOT 123").
    const check = checkPartialIntake(service, { [USDOT_FIELD]: given });
    if (check.complete) intake[USDOT_FIELD] = (check.data as Record<string, unknown>)[USDOT_FIELD];
    else errors.usdotNumber = `${usdot.label}: ${check.problems[0]?.message ?? "not valid"}`;
  } else if (usdot?.required) {
    errors.usdotNumber = `Enter your ${usdot.label}`;
  }

  if (!contact.success || !method || Object.keys(errors).length > 0) return { ok: false, errors };
  const { email, name, company } = contact.data;
  return { ok: true, customer: { email, name, ...(company ? { company } : {}) }, method, intake };
}

// ---------------------------------------------------------------------------------------------
// Routes

serviceLandingRoutes.get("/:slug", async (c, next) => {
  const now = new Date();
  const landing = landingOf(c, now);
  if (!landing) return await next();
  const sendId = await attributedSend(c, now);
  const prospect = sendId === null ? undefined : await prospectOf(c, c.get("config"), sendId);
  return show(c, landing, prefillValues(landing.service, landing.priced[0]!.method, prospect));
});

serviceLandingRoutes.post("/:slug", async (c, next) => {
  const now = new Date();
  const landing = landingOf(c, now);
  if (!landing) return await next();
  if (crossSite(c)) return crossSiteRefused(c);
  const config = c.get("config");
  const { service } = landing;
  const values = posted(await formFields(c));
  const parsed = parseForm(service, values);
  if (!parsed.ok) return show(c, landing, { values, errors: parsed.errors }, 422);

  const utm = utmOf(c);
  const input: CheckoutRequest = {
    items: [{ slug: service.slug }],
    customer: parsed.customer,
    paymentMethod: parsed.method,
    ...(Object.keys(parsed.intake).length > 0 ? { intake: { [service.slug]: parsed.intake } } : {}),
    ...(Object.keys(utm).length > 0 ? { attribution: utm } : {}),
  };
  // A missing, forged or stale cookie is null: the checkout goes ahead unattributed.
  const campaignSendId = await attributedSend(c, now);

  let url: string;
  try {
    const created = await withDb(
      config,
      (db) => createCheckout({ config, db, env: c.env, campaignSendId }, input, now),
      c.executionCtx,
    );
    url = created.url;
  } catch (error) {
    const unavailable =
      (error instanceof ApiError && error.code === "PAYMENT_PROVIDER_ERROR") ||
      error instanceof Stripe.errors.StripeError ||
      error instanceof StripeNotConfiguredError;
    if (unavailable) {
      console.error(
        JSON.stringify({
          level: "error",
          requestId: c.get("requestId"),
          event: "service_page_checkout_failed",
          service: service.slug,
          error: String(error),
        }),
      );
      return show(
        c,
        landing,
        { values, notice: "Our payment provider did not answer. Nothing was charged; please try again in a minute." },
        502,
      );
    }
    // The catalog refused what the form allowed (a rule this page does not know): say so, create nothing.
    if (error instanceof ApiError && error.status === 422) {
      return show(c, landing, { values, notice: `We could not start this order: ${error.message}.` }, 422);
    }
    throw error;
  }
  return c.redirect(url, 303);
});
