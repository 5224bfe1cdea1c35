import { invalidRequest, noSuch, unsupported } from "./api-error";
import { addInterval } from "./billing-periods";
import type { FakeContext } from "./context";
import { newId } from "./ids";
import type { Params } from "./params";
import type { Coupon } from "./stripe-objects";

/**
 * Coupons (https://docs.stripe.com/api/coupons), enough for a Checkout Session's `discounts`:
 * an amount or a percentage off, for one invoice (`once`), every invoice (`forever`) or some
 * months (`repeating`), with `max_redemptions` counted when a session using it completes.
 */

export function getCoupon(ctx: FakeContext, id: string, param = "coupon", status = 404): Coupon {
  const coupon = ctx.state.coupons[id];
  if (!coupon) throw noSuch("coupon", id, param, status);
  return coupon;
}

/** POST /v1/coupons */
export function createCouponFromParams(ctx: FakeContext, p: Params): Coupon {
  p.allowOnly([
    "amount_off",
    "applies_to",
    "currency",
    "currency_options",
    "duration",
    "duration_in_months",
    "expand",
    "id",
    "max_redemptions",
    "metadata",
    "name",
    "percent_off",
    "redeem_by",
  ]);
  if (p.has("applies_to")) throw unsupported("applies_to", "coupons limited to products");
  if (p.has("currency_options")) throw unsupported("currency_options", "multi-currency coupons");
  const amountOff = p.integer("amount_off", { min: 1 });
  const percentRaw = p.string("percent_off");
  const percentOff = percentRaw === undefined ? undefined : Number(percentRaw);
  if (percentOff !== undefined && !(Number.isFinite(percentOff) && percentOff > 0 && percentOff <= 100)) {
    throw invalidRequest(`Invalid percent_off: must be greater than 0 and at most 100`, { param: "percent_off" });
  }
  if ((amountOff === undefined) === (percentOff === undefined)) {
    throw invalidRequest(`You must pass exactly one of amount_off or percent_off.`, { param: "amount_off" });
  }
  const currency = p.string("currency")?.toLowerCase();
  if (amountOff !== undefined && currency === undefined) {
    throw invalidRequest(`You must pass currency when passing amount_off.`, {
      code: "parameter_missing",
      param: "currency",
    });
  }
  const duration = p.oneOf("duration", ["forever", "once", "repeating"] as const) ?? "once";
  const months = p.integer("duration_in_months", { min: 1 });
  if (duration === "repeating" && months === undefined) {
    throw invalidRequest(`You must pass duration_in_months when duration is repeating.`, {
      code: "parameter_missing",
      param: "duration_in_months",
    });
  }
  const id = p.string("id", { maxLength: 200 }) ?? newId("coupon");
  if (ctx.state.coupons[id]) {
    throw invalidRequest(`Coupon already exists.`, { code: "resource_already_exists", param: "id" });
  }
  const coupon: Coupon = {
    id,
    object: "coupon",
    amount_off: amountOff ?? null,
    created: ctx.now(),
    currency: amountOff !== undefined ? currency! : null,
    duration,
    duration_in_months: duration === "repeating" ? months! : null,
    livemode: false,
    max_redemptions: p.integer("max_redemptions", { min: 1 }) ?? null,
    metadata: p.metadata("metadata") ?? {},
    name: p.string("name", { maxLength: 40 }) ?? null,
    percent_off: percentOff ?? null,
    redeem_by: p.integer("redeem_by") ?? null,
    times_redeemed: 0,
    valid: true,
  };
  ctx.state.coupons[id] = coupon;
  ctx.changed();
  return coupon;
}

/** A coupon a new Checkout Session may use: still valid, and in the session's currency. */
export function checkRedeemable(ctx: FakeContext, coupon: Coupon, currency: string, param: string): void {
  const exhausted = coupon.max_redemptions !== null && coupon.times_redeemed >= coupon.max_redemptions;
  const expired = coupon.redeem_by !== null && coupon.redeem_by <= ctx.now();
  if (!coupon.valid || exhausted || expired) {
    throw invalidRequest(`Coupon ${coupon.id} is no longer valid.`, { code: "coupon_expired", param });
  }
  if (coupon.currency !== null && coupon.currency !== currency) {
    throw invalidRequest(`The coupon's currency (${coupon.currency}) does not match the session's (${currency}).`, {
      param,
    });
  }
}

/** Counted when a session using it completes; at max_redemptions it stops being valid. */
export function redeem(ctx: FakeContext, coupon: Coupon): void {
  coupon.times_redeemed += 1;
  if (coupon.max_redemptions !== null && coupon.times_redeemed >= coupon.max_redemptions) coupon.valid = false;
  ctx.changed();
}

/** The discount on an amount: the amount off (at most the amount) or the percentage, rounded. */
export function discountOn(coupon: Coupon, amount: number): number {
  if (coupon.amount_off !== null) return Math.min(coupon.amount_off, amount);
  return Math.round((amount * (coupon.percent_off ?? 0)) / 100);
}

/** Whether a coupon still applies to a renewal invoice whose period starts at `periodStart`. */
export function appliesToRenewal(coupon: Coupon, start: number, periodStart: number): boolean {
  if (coupon.duration === "forever") return true;
  if (coupon.duration === "once") return false;
  return periodStart < addInterval(start, "month", coupon.duration_in_months ?? 0);
}
