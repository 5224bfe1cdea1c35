import { randomBytes } from "node:crypto";

/**
 * Object ids shaped like Stripe's: a type prefix and a random base-62 tail
 * (https://docs.stripe.com/api: `cus_…`, `pi_…`, `evt_…`; Checkout Sessions carry the mode in
 * the prefix, `cs_test_…`). Code that parses ids by prefix (or stores them in a column sized
 * for them) meets the same shapes here as with Stripe.
 */

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export function randomTail(length: number): string {
  // 248 is the largest multiple of 62 below 256: rejecting bytes above it keeps the draw uniform.
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

export const ID_PREFIXES = {
  checkoutSession: "cs_test_",
  coupon: "",
  discount: "di_",
  lineItem: "li_",
  customer: "cus_",
  price: "price_",
  product: "prod_",
  paymentIntent: "pi_",
  paymentMethod: "pm_",
  charge: "ch_",
  refund: "re_",
  subscription: "sub_",
  subscriptionItem: "si_",
  invoice: "in_",
  invoiceLineItem: "il_",
  invoicePayment: "inpay_",
  event: "evt_",
  request: "req_",
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

export function newId(kind: IdKind): string {
  // Test-mode Checkout Session ids are much longer than the others; coupon ids are short and bare.
  const length = kind === "checkoutSession" ? 58 : kind === "coupon" ? 8 : 24;
  return `${ID_PREFIXES[kind]}${randomTail(length)}`;
}
