import { z } from "zod";

/**
 * How a customer may pay, and what each way costs them on top of the price.
 *
 * Our three methods map one-to-one onto Stripe Checkout `payment_method_types`; the old system
 * also took PayPal and crypto, which Docket does not (seeds: architecture.md, "Payment Gateway
 * Architecture"). Surcharge rates are data with defaults from that table and the commerce issue
 * (ACH 0%, card 3%, Klarna 6%), overridable by configuration: pricing functions always take the
 * rates as an argument and never read these defaults themselves.
 */

export const PAYMENT_METHODS = ["card", "ach", "klarna"] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

export const paymentMethodSchema = z.enum(PAYMENT_METHODS);

/** Stripe Checkout `payment_method_types` for each of our methods. */
export const STRIPE_PAYMENT_METHOD_TYPES = {
  card: "card",
  ach: "us_bank_account",
  klarna: "klarna",
} as const satisfies Record<PaymentMethod, string>;

export type StripePaymentMethodType = (typeof STRIPE_PAYMENT_METHOD_TYPES)[PaymentMethod];

export function stripePaymentMethodType(method: PaymentMethod): StripePaymentMethodType {
  return STRIPE_PAYMENT_METHOD_TYPES[method];
}

/** Our method for a Stripe payment method type (a webhook's `payment_method_types[0]`). */
export function paymentMethodFromStripe(type: string): PaymentMethod | undefined {
  return PAYMENT_METHODS.find((m) => STRIPE_PAYMENT_METHOD_TYPES[m] === type);
}

export const PAYMENT_METHOD_LABELS = {
  card: "Card",
  ach: "Bank transfer (ACH)",
  klarna: "Klarna",
} as const satisfies Record<PaymentMethod, string>;

/** Surcharge rate per method in basis points (300 = 3%). */
export type SurchargeRates = Readonly<Record<PaymentMethod, number>>;

/**
 * Defaults: ACH 0% (Stripe's ACH fee, 0.8% capped, is absorbed), card 3%, Klarna 6% (seeds:
 * the government-fee commit and architecture.md's gateway table; the commerce issue, item 6).
 * 3% is also the most a card network lets a US merchant surcharge a credit card (Visa/Mastercard
 * surcharging rules), so configuration may lower the card rate but should not raise it.
 */
export const DEFAULT_SURCHARGE_RATES_BPS: SurchargeRates = Object.freeze({ ach: 0, card: 300, klarna: 600 });

/** Highest rate configuration may set for any method: 10%. A typo like 3000 must not bill 30%. */
export const MAX_SURCHARGE_BPS = 1_000;

const rateSchema = z.number().int().min(0).max(MAX_SURCHARGE_BPS);

export const surchargeOverridesSchema = z.strictObject({
  card: rateSchema.optional(),
  ach: rateSchema.optional(),
  klarna: rateSchema.optional(),
});

export type SurchargeOverrides = z.infer<typeof surchargeOverridesSchema>;

/** The defaults with configured overrides applied. Throws on an invalid override. */
export function resolveSurchargeRates(overrides: SurchargeOverrides = {}, defaults: SurchargeRates = DEFAULT_SURCHARGE_RATES_BPS): SurchargeRates {
  const parsed = surchargeOverridesSchema.parse(overrides);
  return Object.freeze({
    card: parsed.card ?? defaults.card,
    ach: parsed.ach ?? defaults.ach,
    klarna: parsed.klarna ?? defaults.klarna,
  });
}

/**
 * Parse a configuration value such as `{"card":250,"klarna":600}` (basis points, JSON, like the
 * other structured settings). Empty or absent: the defaults.
 */
export function parseSurchargeRates(
  text: string | undefined,
): { ok: true; rates: SurchargeRates } | { ok: false; problem: string } {
  if (text === undefined || text.trim() === "") return { ok: true, rates: DEFAULT_SURCHARGE_RATES_BPS };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'surcharge rates must be JSON, e.g. {"card":300,"klarna":600,"ach":0}' };
  }
  const parsed = surchargeOverridesSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      problem: `surcharge rates: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")} (basis points, 0–${MAX_SURCHARGE_BPS})`,
    };
  }
  return { ok: true, rates: resolveSurchargeRates(parsed.data) };
}

/** "3%", "0%", "2.5%": a rate for display next to a method. */
export function formatBps(bps: number): string {
  const whole = Math.trunc(bps / 100);
  const rest = bps % 100;
  return rest === 0 ? `${whole}%` : `${whole}.${String(rest).padStart(2, "0").replace(/0$/, "")}%`;
}
