import { BPS_PER_WHOLE, applyBps, assertCents, formatCents, mulDivHalfUp } from "./money";
import {
  MAX_SURCHARGE_BPS,
  PAYMENT_METHODS,
  PAYMENT_METHOD_LABELS,
  STRIPE_PAYMENT_METHOD_TYPES,
  formatBps,
  type PaymentMethod,
  type StripePaymentMethodType,
  type SurchargeRates,
} from "./payment-methods";
import type { BillingInterval, ServiceDefinition, SurchargePolicy } from "./service-definition";
import { GOVERNMENT_FEE_PAYMENT, getService } from "./services";

/**
 * Checkout pricing: from the items a customer picked, the method and an optional discount to
 * the line items of each order, in integer cents. The client never sends an amount: every
 * figure comes from the catalog, the discount row and the configured surcharge rates.
 *
 * Per order (one per item):
 *   service fee  = unit price × quantity
 *   discount     = percent: half-up(service fee × percent); amount: the code's cents shared
 *                  over the orders it applies to (below); never more than the service fee
 *   surcharge    = half-up((service fee − discount) × the method's rate), unless the service's
 *                  policy absorbs it (every recurring service does): then no surcharge line
 *   total        = service fee − discount + surcharge
 *
 * Rounding: every fraction is rounded half-up to the cent (money.ts), once per order line, so
 * the checkout total is exactly the sum of its orders' totals and the orders can be refunded
 * one by one.
 *
 * One billing interval per checkout (MIXED_INTERVALS): a Stripe Checkout Session is either a
 * one-time payment or a subscription, a subscription's prices must share one interval, and a
 * one-time item inside a subscription session would be billed on its first invoice under the
 * recurring surcharge policy (absorbed), not its own. Keeping each checkout to one interval
 * keeps mode, surcharge and refunds per order unambiguous; the page runs a second checkout for
 * the rest.
 *
 * Discounts on recurring services apply to the first payment only (a Stripe coupon with
 * `duration: "once"`): a code must not become a permanent price cut, the way the old system
 * gave monitoring away. `renewalCents` is what each later period charges.
 */

export interface CheckoutItem {
  slug: string;
  quantity?: number;
}

/** A discount code as plain data; counting uses against `usageLimit` is the database's job. */
export interface Discount {
  code: string;
  kind: "percent" | "amount";
  /** Percent: 0 < value ≤ 100, up to two decimals (12.5 = 12.5%). Amount: integer cents. */
  value: number;
  active: boolean;
  startsAt?: Date | null;
  /** The first instant the code no longer works. */
  expiresAt?: Date | null;
  /** The slugs it covers; "all" (or null, as the discounts table stores it) for every service. */
  appliesTo: readonly string[] | "all" | null;
  usageLimit?: number | null;
}

export const CHECKOUT_ERROR_CODES = [
  "EMPTY_CHECKOUT",
  "UNKNOWN_SERVICE",
  "INVALID_QUANTITY",
  "DUPLICATE_SERVICE",
  "METHOD_NOT_ALLOWED",
  "MIXED_INTERVALS",
  "DISCOUNT_INVALID",
  "DISCOUNT_INACTIVE",
  "DISCOUNT_NOT_STARTED",
  "DISCOUNT_EXPIRED",
  "DISCOUNT_NOT_APPLICABLE",
] as const;
export type CheckoutErrorCode = (typeof CHECKOUT_ERROR_CODES)[number];

export interface CheckoutError {
  code: CheckoutErrorCode;
  message: string;
  slug?: string;
}

/** Most units of one service in one checkout; more is a typo or abuse, not an order. */
export const MAX_QUANTITY = 100;

export interface PriceLine {
  kind: "service_fee" | "discount" | "surcharge";
  label: string;
  /** Signed: a discount is negative, so an order's lines sum to its total. */
  amountCents: number;
}

export interface PricedOrder {
  slug: string;
  displayName: string;
  quantity: number;
  unitPriceCents: number;
  billingInterval: BillingInterval;
  lines: PriceLine[];
  subtotalCents: number;
  discountCents: number;
  surchargeCents: number;
  totalCents: number;
  surcharge: { bps: number; absorbed: boolean };
  /** Recurring: what every later period charges (no discount, no surcharge). */
  renewalCents: number | null;
}

export interface CheckoutPricing {
  method: PaymentMethod;
  stripePaymentMethodTypes: StripePaymentMethodType[];
  /** Stripe Checkout mode. */
  mode: "payment" | "subscription";
  billingInterval: BillingInterval;
  orders: PricedOrder[];
  discount: { code: string; kind: Discount["kind"]; value: number; appliedCents: number } | null;
  totals: { subtotalCents: number; discountCents: number; surchargeCents: number; totalCents: number };
}

export type PriceCheckoutResult = { ok: true; pricing: CheckoutPricing } | { ok: false; errors: CheckoutError[] };

export type ServiceLookup = (slug: string) => ServiceDefinition | undefined;

export function priceCheckout(
  items: readonly CheckoutItem[],
  method: PaymentMethod,
  discount: Discount | null | undefined,
  rates: SurchargeRates,
  now: Date,
  lookup: ServiceLookup = getService,
): PriceCheckoutResult {
  assertRates(rates);
  const errors: CheckoutError[] = [];
  const knownMethod = (PAYMENT_METHODS as readonly string[]).includes(method);
  if (!knownMethod)
    errors.push({ code: "METHOD_NOT_ALLOWED", message: `"${String(method)}" is not a payment method we accept` });
  if (items.length === 0) errors.push({ code: "EMPTY_CHECKOUT", message: "choose at least one service" });

  const lines: { service: ServiceDefinition; quantity: number }[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    const service = lookup(item.slug);
    if (!service) {
      errors.push({ code: "UNKNOWN_SERVICE", message: `no service "${item.slug}"`, slug: item.slug });
      continue;
    }
    if (seen.has(service.slug)) {
      errors.push({
        code: "DUPLICATE_SERVICE",
        message: `${service.displayName} is listed twice; set its quantity instead`,
        slug: service.slug,
      });
      continue;
    }
    seen.add(service.slug);
    const quantity = item.quantity ?? 1;
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) {
      errors.push({
        code: "INVALID_QUANTITY",
        message: `quantity of ${service.displayName} must be a whole number from 1 to ${MAX_QUANTITY}`,
        slug: service.slug,
      });
      continue;
    }
    if (knownMethod && !service.allowedMethods.includes(method)) {
      errors.push({
        code: "METHOD_NOT_ALLOWED",
        message: `${service.displayName} can be paid by ${service.allowedMethods.map((m) => PAYMENT_METHOD_LABELS[m]).join(" or ")}, not ${PAYMENT_METHOD_LABELS[method]}`,
        slug: service.slug,
      });
    }
    lines.push({ service, quantity });
  }

  const intervals = [...new Set(lines.map((l) => l.service.billingInterval))];
  if (intervals.length > 1) {
    errors.push({
      code: "MIXED_INTERVALS",
      message: `one checkout is one billing interval; these mix ${intervals.map(intervalName).join(" and ")}: check them out separately`,
    });
  }

  if (discount)
    errors.push(
      ...discountErrors(
        discount,
        lines.map((l) => l.service.slug),
        now,
      ),
    );
  if (errors.length > 0) return { ok: false, errors };

  // Discount per order.
  const subtotals = lines.map((l) => l.service.priceCents * l.quantity);
  subtotals.forEach((s, i) => assertCents(s, `${lines[i]?.service.slug} subtotal`));
  const eligible = lines.map((l) => (discount ? discountApplies(discount, l.service.slug) : false));
  const discounts = discount ? discountShares(discount, subtotals, eligible) : subtotals.map(() => 0);

  const orders: PricedOrder[] = lines.map(({ service, quantity }, i) => {
    const subtotal = subtotals[i] ?? 0;
    const discountCents = discounts[i] ?? 0;
    const absorbed = service.surchargePolicy.kind === "absorbed";
    const bps = absorbed ? 0 : rates[method];
    const surchargeCents = applyBps(subtotal - discountCents, bps);
    const priced: PriceLine[] = [
      {
        kind: "service_fee",
        label: quantity === 1 ? service.displayName : `${service.displayName} × ${quantity}`,
        amountCents: subtotal,
      },
    ];
    if (discountCents > 0 && discount)
      priced.push({ kind: "discount", label: `Discount ${discount.code}`, amountCents: -discountCents });
    if (surchargeCents > 0)
      priced.push({ kind: "surcharge", label: surchargeLabel(method, bps), amountCents: surchargeCents });
    return {
      slug: service.slug,
      displayName: service.displayName,
      quantity,
      unitPriceCents: service.priceCents,
      billingInterval: service.billingInterval,
      lines: priced,
      subtotalCents: subtotal,
      discountCents,
      surchargeCents,
      totalCents: subtotal - discountCents + surchargeCents,
      surcharge: { bps, absorbed },
      renewalCents: service.billingInterval === "none" ? null : subtotal,
    };
  });

  const sum = (pick: (o: PricedOrder) => number) => orders.reduce((acc, o) => acc + pick(o), 0);
  const interval = intervals[0] ?? "none";
  const appliedCents = sum((o) => o.discountCents);
  return {
    ok: true,
    pricing: {
      method,
      stripePaymentMethodTypes: [STRIPE_PAYMENT_METHOD_TYPES[method]],
      mode: interval === "none" ? "payment" : "subscription",
      billingInterval: interval,
      orders,
      discount: discount ? { code: discount.code, kind: discount.kind, value: discount.value, appliedCents } : null,
      totals: {
        subtotalCents: sum((o) => o.subtotalCents),
        discountCents: appliedCents,
        surchargeCents: sum((o) => o.surchargeCents),
        totalCents: sum((o) => o.totalCents),
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Discounts

export function discountApplies(discount: Discount, slug: string): boolean {
  return discount.appliesTo === "all" || discount.appliesTo === null || discount.appliesTo.includes(slug);
}

/** Everything wrong with using this discount now on these services; empty when it applies. */
export function discountErrors(discount: Discount, slugs: readonly string[], now: Date): CheckoutError[] {
  const invalid = discountValueProblem(discount);
  if (invalid) return [{ code: "DISCOUNT_INVALID", message: `discount ${discount.code}: ${invalid}` }];
  if (!discount.active) return [{ code: "DISCOUNT_INACTIVE", message: `discount ${discount.code} is not active` }];
  if (discount.startsAt && now.getTime() < discount.startsAt.getTime()) {
    return [
      { code: "DISCOUNT_NOT_STARTED", message: `discount ${discount.code} starts ${discount.startsAt.toISOString()}` },
    ];
  }
  if (discount.expiresAt && now.getTime() >= discount.expiresAt.getTime()) {
    return [
      { code: "DISCOUNT_EXPIRED", message: `discount ${discount.code} expired ${discount.expiresAt.toISOString()}` },
    ];
  }
  if (slugs.length > 0 && !slugs.some((s) => discountApplies(discount, s))) {
    return [
      {
        code: "DISCOUNT_NOT_APPLICABLE",
        message: `discount ${discount.code} does not apply to ${slugs.length === 1 ? "this service" : "these services"}`,
      },
    ];
  }
  return [];
}

function discountValueProblem(discount: Discount): string | undefined {
  if (discount.kind === "amount") {
    return Number.isSafeInteger(discount.value) && discount.value > 0
      ? undefined
      : "an amount discount is a positive whole number of cents";
  }
  const bps = discount.value * 100;
  if (!(discount.value > 0 && discount.value <= 100) || Math.abs(bps - Math.round(bps)) > 1e-9) {
    return "a percent discount is more than 0 and at most 100, to two decimals";
  }
  return undefined;
}

/**
 * Each order's share of the discount. Percent: per order, half-up. Amount: the code's value
 * (at most the eligible orders' combined fee) split in proportion to each eligible order's
 * fee, floored, with the cents left over going to the largest remainders (earlier orders on a
 * tie), so the shares add up exactly and none exceeds its order's fee.
 */
function discountShares(discount: Discount, subtotals: readonly number[], eligible: readonly boolean[]): number[] {
  if (discount.kind === "percent") {
    const bps = Math.round(discount.value * 100);
    return subtotals.map((s, i) => (eligible[i] ? Math.min(s, mulDivHalfUp(s, bps, BPS_PER_WHOLE)) : 0));
  }
  const base = subtotals.reduce((acc, s, i) => acc + (eligible[i] ? s : 0), 0);
  const total = Math.min(discount.value, base);
  if (base === 0) return subtotals.map(() => 0);
  const shares = subtotals.map((s, i) => {
    if (!eligible[i]) return { floor: 0, remainder: 0n };
    const product = BigInt(total) * BigInt(s);
    return { floor: Number(product / BigInt(base)), remainder: product % BigInt(base) };
  });
  let left = total - shares.reduce((acc, s) => acc + s.floor, 0);
  const order = shares
    .map((s, i) => ({ i, remainder: s.remainder }))
    .filter(({ i }) => eligible[i])
    .sort((a, b) => (a.remainder === b.remainder ? a.i - b.i : a.remainder > b.remainder ? -1 : 1));
  const result = shares.map((s) => s.floor);
  for (const { i } of order) {
    if (left === 0) break;
    result[i] = (result[i] ?? 0) + 1;
    left--;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Government-fee child orders and the pay page

export interface PaymentOption {
  method: PaymentMethod;
  bps: number;
  surchargeCents: number;
  totalCents: number;
}

/** Every allowed method with what it would cost, for a page that offers a choice. */
export function paymentOptions(
  amountCents: number,
  allowedMethods: readonly PaymentMethod[],
  policy: SurchargePolicy,
  rates: SurchargeRates,
): PaymentOption[] {
  assertCents(amountCents, "amount");
  assertRates(rates);
  return allowedMethods.map((method) => {
    const bps = policy.kind === "absorbed" ? 0 : rates[method];
    const surchargeCents = applyBps(amountCents, bps);
    return { method, bps, surchargeCents, totalCents: amountCents + surchargeCents };
  });
}

export type GovernmentFeePaymentResult =
  | {
      ok: true;
      lines: PriceLine[];
      feeCents: number;
      surchargeCents: number;
      totalCents: number;
      stripePaymentMethodTypes: StripePaymentMethodType[];
    }
  | { ok: false; errors: CheckoutError[] };

/**
 * A government-fee child order: service fee 0, each fee item as its own line (passed through at
 * cost), then the method's surcharge on their total (commerce issue, item 6).
 */
export function priceGovernmentFeePayment(
  items: readonly { label: string; cents: number }[],
  method: PaymentMethod,
  rates: SurchargeRates,
): GovernmentFeePaymentResult {
  assertRates(rates);
  if (!(GOVERNMENT_FEE_PAYMENT.allowedMethods as readonly string[]).includes(method)) {
    return {
      ok: false,
      errors: [{ code: "METHOD_NOT_ALLOWED", message: `"${String(method)}" is not a payment method we accept` }],
    };
  }
  for (const item of items) assertCents(item.cents, item.label);
  const feeCents = items.reduce((acc, i) => acc + i.cents, 0);
  const bps = rates[method];
  const surchargeCents = applyBps(feeCents, bps);
  const lines: PriceLine[] = items.map((i) => ({ kind: "service_fee", label: i.label, amountCents: i.cents }));
  if (surchargeCents > 0)
    lines.push({ kind: "surcharge", label: surchargeLabel(method, bps), amountCents: surchargeCents });
  return {
    ok: true,
    lines,
    feeCents,
    surchargeCents,
    totalCents: feeCents + surchargeCents,
    stripePaymentMethodTypes: [STRIPE_PAYMENT_METHOD_TYPES[method]],
  };
}

// ---------------------------------------------------------------------------------------------
// Display

/** "per month", "per year", "" (one-time): pages derive the interval from here, never write it. */
export function intervalPhrase(interval: BillingInterval): string {
  return interval === "none" ? "" : `per ${interval}`;
}

function intervalName(interval: BillingInterval): string {
  return interval === "none" ? "one-time" : `${interval}ly`;
}

/** "$79 per month", "$499": a service's price as the pages show it. */
export function priceLabel(service: Pick<ServiceDefinition, "priceCents" | "billingInterval">): string {
  const phrase = intervalPhrase(service.billingInterval);
  return phrase ? `${formatCents(service.priceCents)} ${phrase}` : formatCents(service.priceCents);
}

function surchargeLabel(method: PaymentMethod, bps: number): string {
  return `${PAYMENT_METHOD_LABELS[method]} surcharge (${formatBps(bps)})`;
}

function assertRates(rates: SurchargeRates): void {
  for (const method of PAYMENT_METHODS) {
    const bps = rates[method];
    if (!Number.isInteger(bps) || bps < 0 || bps > MAX_SURCHARGE_BPS)
      throw new RangeError(`surcharge rate for ${method} must be 0–${MAX_SURCHARGE_BPS} bps, got ${bps}`);
  }
}
