import Stripe from "stripe";

/**
 * What one API version shows of an object. Stripe renders API responses in the request's
 * `Stripe-Version` and webhook events in the endpoint's API version. The change that matters
 * here is 2025-03-31.basil
 * (https://docs.stripe.com/changelog/basil/2025-03-31/adds-new-parent-field-to-invoicing-objects):
 * the invoice's `subscription`, `subscription_details`, `payment_intent`, `charge` and `paid`
 * went away in favour of `parent.subscription_details.subscription` and `payments`, and the
 * subscription's `current_period_*` moved onto its items.
 *
 * - `parent`: basil and later (what the pinned SDK's version gets);
 * - `legacy`: before basil;
 * - `both`: every field of both, which no real API version sends (for tolerant-reader tests).
 */

export type InvoiceStyle = "parent" | "legacy" | "both";

/** The API version the installed Stripe SDK pins (and sends as Stripe-Version). */
export const CURRENT_API_VERSION: string = Stripe.API_VERSION;
/** The last API version before basil moved the invoice's subscription. */
export const LEGACY_API_VERSION = "2025-02-24.acacia";
const BASIL = "2025-03-31";

export function styleForApiVersion(version: string): "parent" | "legacy" {
  return version.slice(0, 10) < BASIL ? "legacy" : "parent";
}

export function apiVersionForStyle(style: InvoiceStyle): string {
  return style === "legacy" ? LEGACY_API_VERSION : CURRENT_API_VERSION;
}

const LEGACY_ONLY: Record<string, readonly string[]> = {
  invoice: ["subscription", "subscription_details", "payment_intent", "charge", "paid"],
  subscription: ["current_period_start", "current_period_end"],
  line_item: ["price", "subscription", "type", "proration"],
};
const PARENT_ONLY: Record<string, readonly string[]> = {
  invoice: ["parent", "payments"],
  line_item: ["parent", "pricing"],
};

/** A deep copy of `value` with every nested Stripe object cut to what `style` shows. */
export function renderForStyle<T>(value: T, style: InvoiceStyle): T {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== "object") return v;
    const source = v as Record<string, unknown>;
    const kind = typeof source.object === "string" ? source.object : "";
    const drop = style === "parent" ? LEGACY_ONLY[kind] : style === "legacy" ? PARENT_ONLY[kind] : undefined;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(source)) {
      if (drop?.includes(key)) continue;
      out[key] = walk(child);
    }
    return out;
  };
  return walk(value) as T;
}
