import type Stripe from "stripe";
import type { AppConfig } from "../../domain/config/app-config";
import type { CheckoutPricing, PricedOrder } from "../../domain/catalog/pricing";
import { createStripe } from "./stripe-client";

export interface SessionRequest {
  /** The checkout number (CK-…): the idempotency key of the session. */
  checkoutNumber: string;
  orderNumbers: string[];
  pricing: CheckoutPricing;
  customer: { email: string; stripeCustomerId: string | null };
  successUrl: string;
  cancelUrl: string;
  expiresAt: Date;
}

const lowerInterval = { month: "month", year: "year" } as const;

/**
 * Stripe Checkout line items from catalog pricing. Checkout line items cannot be negative, so an
 * order's discount is folded into its own line (its name says so) and the surcharge is a line of
 * its own: what Stripe charges is exactly our computed total, to the cent.
 * Subscriptions (recurring price_data) charge the renewal amount; a discount on them applies to
 * the first payment only, through a one-off coupon (`duration: "once"`).
 */
function lineItems(pricing: CheckoutPricing): Stripe.Checkout.SessionCreateParams.LineItem[] {
  const items: Stripe.Checkout.SessionCreateParams.LineItem[] = [];
  for (const order of pricing.orders) {
    if (pricing.mode === "subscription") {
      items.push({
        quantity: 1,
        price_data: {
          currency: "usd",
          unit_amount: order.renewalCents ?? order.subtotalCents,
          product_data: { name: order.lines[0]?.label ?? order.displayName },
          recurring: { interval: lowerInterval[order.billingInterval as "month" | "year"] },
        },
      });
      continue;
    }
    const net = order.subtotalCents - order.discountCents;
    items.push({
      quantity: 1,
      price_data: {
        currency: "usd",
        unit_amount: net,
        product_data: { name: feeLineName(order) },
      },
    });
    if (order.surchargeCents > 0) {
      const surcharge = order.lines.find((l) => l.kind === "surcharge");
      items.push({
        quantity: 1,
        price_data: {
          currency: "usd",
          unit_amount: order.surchargeCents,
          product_data: { name: `${surcharge?.label ?? "Surcharge"} (${order.displayName})` },
        },
      });
    }
  }
  return items;
}

function feeLineName(order: PricedOrder): string {
  const fee = order.lines[0]?.label ?? order.displayName;
  const discount = order.lines.find((l) => l.kind === "discount");
  return discount ? `${fee} (${discount.label})` : fee;
}

export async function createCheckoutSession(
  config: AppConfig,
  request: SessionRequest,
): Promise<Stripe.Checkout.Session> {
  const stripe = createStripe(config);
  const { pricing } = request;
  const metadata = { checkout_number: request.checkoutNumber, order_numbers: request.orderNumbers.join(",") };
  let discounts: Stripe.Checkout.SessionCreateParams.Discount[] | undefined;
  if (pricing.mode === "subscription" && pricing.totals.discountCents > 0) {
    const coupon = await stripe.coupons.create(
      {
        amount_off: pricing.totals.discountCents,
        currency: "usd",
        duration: "once",
        max_redemptions: 1,
        name: pricing.discount?.code ?? "Discount",
      },
      { idempotencyKey: `${request.checkoutNumber}:coupon` },
    );
    discounts = [{ coupon: coupon.id }];
  }
  return await stripe.checkout.sessions.create(
    {
      mode: pricing.mode,
      // API 2026-10-28 replaced payment_method_types with this filter; one method per checkout.
      allowed_payment_method_types: pricing.stripePaymentMethodTypes,
      line_items: lineItems(pricing),
      // One order: its number; several: the checkout's, with the orders in metadata.
      client_reference_id: request.orderNumbers.length === 1 ? request.orderNumbers[0] : request.checkoutNumber,
      ...(request.customer.stripeCustomerId
        ? { customer: request.customer.stripeCustomerId }
        : { customer_email: request.customer.email }),
      metadata,
      ...(pricing.mode === "subscription"
        ? { subscription_data: { metadata } }
        : { payment_intent_data: { metadata } }),
      ...(discounts ? { discounts } : {}),
      success_url: request.successUrl,
      cancel_url: request.cancelUrl,
      expires_at: Math.floor(request.expiresAt.getTime() / 1000),
    },
    { idempotencyKey: request.checkoutNumber },
  );
}
