import { z } from "zod";
import type { AppConfig } from "../config/app-config";

/**
 * How a customer may pay, and what each way costs them on top of the price.
 *
 * Our three methods map one-to-one onto Stripe Checkout `payment_method_types`; the old system
 * also took PayPal and crypto, which Docket does not (seeds: architecture.md, "Payment Gateway
 * Architecture"). Surcharge rates are data with defaults from that table and the commerce issue
 * (ACH 0%, card 3%, Klarna 6%), overridden by configuration (`surchargeRatesFromConfig`):
 * pricing functions always take the rates as an argument and never read these defaults.
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
 * the government-fee commit and architecture.md's gateway table; the commerce issue, item 6),
 * the same defaults as domain/config's SURCHARGE_*_BPS. 3% is also the most card-network rules
 * let a US merchant surcharge a credit card, so configuration may lower the card rate but should
 * not raise it.
 */
export const DEFAULT_SURCHARGE_RATES_BPS: SurchargeRates = Object.freeze({ ach: 0, card: 300, klarna: 600 });

/**
 * Highest rate pricing accepts for any method: 15%, the ceiling domain/config allows for Klarna
 * (SURCHARGE_KLARNA_BPS). A rate above it is a configuration bug, and pricing refuses to bill it.
 */
export const MAX_SURCHARGE_BPS = 1_500;

const rateSchema = z.number().int().min(0).max(MAX_SURCHARGE_BPS);

export const surchargeOverridesSchema = z.strictObject({
  card: rateSchema.optional(),
  ach: rateSchema.optional(),
  klarna: rateSchema.optional(),
});

export type SurchargeOverrides = z.infer<typeof surchargeOverridesSchema>;

/** The defaults with overrides applied. Throws on an invalid override. */
export function resolveSurchargeRates(
  overrides: SurchargeOverrides = {},
  defaults: SurchargeRates = DEFAULT_SURCHARGE_RATES_BPS,
): SurchargeRates {
  const parsed = surchargeOverridesSchema.parse(overrides);
  return Object.freeze({
    card: parsed.card ?? defaults.card,
    ach: parsed.ach ?? defaults.ach,
    klarna: parsed.klarna ?? defaults.klarna,
  });
}

/** The configured rates (SURCHARGE_CARD_BPS, SURCHARGE_KLARNA_BPS, SURCHARGE_ACH_BPS). */
export function surchargeRatesFromConfig(
  config: Pick<AppConfig, "SURCHARGE_CARD_BPS" | "SURCHARGE_KLARNA_BPS" | "SURCHARGE_ACH_BPS">,
): SurchargeRates {
  return resolveSurchargeRates({
    card: config.SURCHARGE_CARD_BPS,
    klarna: config.SURCHARGE_KLARNA_BPS,
    ach: config.SURCHARGE_ACH_BPS,
  });
}

/** "3%", "0%", "2.5%": a rate for display next to a method. */
export function formatBps(bps: number): string {
  const whole = Math.trunc(bps / 100);
  const rest = bps % 100;
  return rest === 0 ? `${whole}%` : `${whole}.${String(rest).padStart(2, "0").replace(/0$/, "")}%`;
}
