import { eq } from "drizzle-orm";
import Stripe from "stripe";
import { z } from "zod";
import type { Db } from "../../db/client";
import { ensureCustomer } from "../../db/customers";
import { attributableSend, recordMailEvent } from "../../db/mail-events";
import { findDiscount, reserveDiscount } from "../../db/discounts";
import { nextNumber } from "../../db/order-numbers";
import { checkouts, customers, orders } from "../../db/schema";
import { linkExpiry, linkSecret, signLinkToken } from "../../domain/auth/signed-link";
import { checkPartialIntake } from "../../domain/catalog/intake";
import { paymentMethodSchema, surchargeRatesFromConfig } from "../../domain/catalog/payment-methods";
import { priceCheckout, type CheckoutPricing, type Discount } from "../../domain/catalog/pricing";
import { getService } from "../../domain/catalog/services";
import type { AppConfig } from "../../domain/config/app-config";
import type { Env } from "../env";
import { ApiError } from "../http-errors";
import { createCheckoutSession } from "../payments/checkout-session";

const attribution = z
  .record(z.string().regex(/^[a-z0-9_]{1,40}$/i), z.string().max(500))
  .refine((r) => Object.keys(r).length <= 20, "at most 20 attribution fields")
  .optional();

/** The body of POST /api/checkout. The client sends no amount: every figure comes from the catalog. */
export const checkoutRequestSchema = z.strictObject({
  items: z
    .array(z.strictObject({ slug: z.string().min(1).max(80), quantity: z.number().int().optional() }))
    .min(1)
    .max(20),
  customer: z.strictObject({
    email: z.email().max(320),
    name: z.string().trim().min(1).max(200).optional(),
    company: z.string().trim().min(1).max(200).optional(),
  }),
  paymentMethod: paymentMethodSchema,
  discountCode: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "letters, digits, - and _ only")
    .optional(),
  /** Intake already known, per service slug; checked against each service's intake fields. */
  intake: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  attribution,
});

export type CheckoutRequest = z.infer<typeof checkoutRequestSchema>;

export interface CheckoutDeps {
  config: AppConfig;
  /** A database or a transaction: inside a caller's transaction the checkout is a savepoint of it. */
  db: Db;
  /** The bindings, for callers that hold them; making a checkout needs none today. */
  env?: Env;
  /**
   * The campaign send whose tracked click brought the customer (the verified `docket_send`
   * cookie). Recorded on the checkout and its orders when it names a campaign send, else ignored.
   */
  campaignSendId?: number | null;
}

export interface CreatedCheckout {
  checkoutNumber: string;
  /** One per service, in the order of the request's items. */
  orderNumbers: string[];
  /** The Stripe Checkout Session. */
  sessionId: string;
  /** Where to send the customer: Stripe's hosted checkout page. */
  url: string;
  totals: CheckoutPricing["totals"];
}

function discountFromRow(row: NonNullable<Awaited<ReturnType<typeof findDiscount>>>): Discount {
  return {
    code: row.code,
    kind: row.kind,
    value: row.value,
    active: row.active,
    startsAt: row.startsAt,
    expiresAt: row.expiresAt,
    appliesTo: row.appliesTo,
    usageLimit: row.usageLimit,
  };
}

/**
 * Prices a checkout from the catalog, creates the customer, the checkout and its orders,
 * reserves the discount, and creates the Stripe Checkout Session, all in one transaction: if
 * Stripe refuses, nothing is left behind. Bad input is an ApiError (422), a refusing or
 * unreachable Stripe a 502 PAYMENT_PROVIDER_ERROR; either way nothing was written.
 */
export async function createCheckout(deps: CheckoutDeps, input: CheckoutRequest, now: Date): Promise<CreatedCheckout> {
  const { config, db } = deps;
  try {
    const discountRow = input.discountCode ? await findDiscount(db, input.discountCode) : undefined;
    if (input.discountCode && !discountRow) {
      throw new ApiError(422, "DISCOUNT_INVALID", `No discount code "${input.discountCode}"`);
    }
    const priced = priceCheckout(
      input.items,
      input.paymentMethod,
      discountRow ? discountFromRow(discountRow) : null,
      surchargeRatesFromConfig(config),
      now,
    );
    if (!priced.ok) {
      const first = priced.errors[0]!;
      throw new ApiError(422, first.code, first.message, priced.errors);
    }
    const pricing = priced.pricing;

    // Intake sent with the checkout must fit each service's fields (partial is fine: the
    // wizard asks for the rest after payment).
    const intakeProblems: { slug: string; field: string; message: string }[] = [];
    for (const [slug, data] of Object.entries(input.intake ?? {})) {
      const service = getService(slug);
      if (!service || !pricing.orders.some((o) => o.slug === slug)) {
        intakeProblems.push({ slug, field: "(service)", message: "intake for a service not in this checkout" });
        continue;
      }
      const check = checkPartialIntake(service, data);
      if (!check.complete) {
        for (const p of check.problems) intakeProblems.push({ slug, field: p.field, message: p.message });
      }
    }
    if (intakeProblems.length > 0) {
      throw new ApiError(422, "INVALID_INTAKE", "Some intake fields are not valid", intakeProblems);
    }

    const expiresAt = new Date(now.getTime() + config.CHECKOUT_SESSION_TTL_MINUTES * 60_000);
    const result = await db.transaction(async (tx) => {
      const customer = await ensureCustomer(tx, input.customer);
      const campaignSendId = deps.campaignSendId == null ? null : await attributableSend(tx, deps.campaignSendId);
      const checkoutNumber = await nextNumber(tx, "CK", now);
      const [checkout] = await tx
        .insert(checkouts)
        .values({
          number: checkoutNumber,
          customerId: customer.id,
          paymentMethod: input.paymentMethod,
          mode: pricing.mode,
          discountId: discountRow?.id ?? null,
          totalCents: pricing.totals.totalCents,
          campaignSendId,
        })
        .returning();
      if (campaignSendId !== null) await recordMailEvent(tx, { sendId: campaignSendId, kind: "checkout" });
      const orderNumbers: string[] = [];
      for (const order of pricing.orders) {
        const number = await nextNumber(tx, "CO", now);
        orderNumbers.push(number);
        await tx.insert(orders).values({
          number,
          checkoutId: checkout!.id,
          customerId: customer.id,
          serviceSlug: order.slug,
          quantity: order.quantity,
          billingInterval: order.billingInterval,
          status: "pending_payment",
          lines: order.lines,
          totalCents: order.totalCents,
          paymentMethod: input.paymentMethod,
          intake: input.intake?.[order.slug] ?? null,
          attribution: input.attribution ?? null,
          campaignSendId,
        });
      }
      if (discountRow && pricing.totals.discountCents > 0) {
        const reserved = await reserveDiscount(tx, discountRow.id, checkout!.id, expiresAt);
        if (reserved === "exhausted") {
          throw new ApiError(422, "DISCOUNT_EXHAUSTED", `The discount "${discountRow.code}" has no uses left`);
        }
      }
      // The confirmation page is reached by a link only this checkout's customer holds.
      const subject = orderNumbers.length === 1 ? orderNumbers[0]! : checkoutNumber;
      const token = await signLinkToken(linkSecret(config), {
        purpose: "order-view",
        subject,
        expiresAt: linkExpiry(config, now),
      });
      const reference = `${orderNumbers.length === 1 ? "order" : "checkout"}=${subject}&token=${encodeURIComponent(token)}`;
      const session = await createCheckoutSession(config, {
        checkoutNumber,
        orderNumbers,
        pricing,
        customer: { email: customer.email, stripeCustomerId: customer.stripeCustomerId },
        successUrl: `${config.PUBLIC_BASE_URL}/order/confirm?${reference}`,
        cancelUrl: `${config.PUBLIC_BASE_URL}/order/cancelled?${reference}`,
        expiresAt,
      });
      await tx.update(checkouts).set({ stripeSessionId: session.id }).where(eq(checkouts.id, checkout!.id));
      if (typeof session.customer === "string" && !customer.stripeCustomerId) {
        await tx.update(customers).set({ stripeCustomerId: session.customer }).where(eq(customers.id, customer.id));
      }
      return { orderNumbers, checkoutNumber, session };
    });
    if (!result.session.url) throw new ApiError(502, "PAYMENT_PROVIDER_ERROR", "Stripe returned no checkout URL");
    return {
      checkoutNumber: result.checkoutNumber,
      orderNumbers: result.orderNumbers,
      sessionId: result.session.id,
      url: result.session.url,
      totals: pricing.totals,
    };
  } catch (error) {
    // Stripe refused or was unreachable: the transaction rolled back, nothing was kept.
    if (error instanceof Stripe.errors.StripeError) {
      throw new ApiError(502, "PAYMENT_PROVIDER_ERROR", `The payment provider refused the checkout: ${error.message}`);
    }
    throw error;
  }
}
