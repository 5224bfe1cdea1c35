import { invalidRequest } from "./api-error";
import { sessionLineItems } from "./checkout-sessions";
import type { FakeContext } from "./context";

/**
 * `expand[]` (https://docs.stripe.com/expand): an id field replaced by the object it names,
 * dotted paths for nested ones (`line_items.data.price.product`), `data.` for list items.
 * `line_items` of a Checkout Session is only returned when expanded, as with Stripe.
 */

const MAX_DEPTH = 4;

/** The stored object an id names, found by its prefix. */
export function lookupObject(ctx: FakeContext, id: string): object | undefined {
  const s = ctx.state;
  const prefix = id.slice(0, id.indexOf("_") + 1);
  switch (prefix) {
    case "cs_":
      return s.checkoutSessions[id];
    case "cus_":
      return s.customers[id];
    case "sub_":
      return s.subscriptions[id];
    case "in_":
      return s.invoices[id];
    case "pi_":
      return s.paymentIntents[id];
    case "ch_":
      return s.charges[id];
    case "re_":
      return s.refunds[id];
    case "price_":
      return s.prices[id];
    case "prod_":
      return s.products[id];
    default:
      return undefined;
  }
}

function cannotExpand(path: string): never {
  throw invalidRequest(`This property cannot be expanded (${path}).`, { param: "expand" });
}

function expandAt(ctx: FakeContext, node: Record<string, unknown>, segments: string[], path: string): void {
  const [key, ...rest] = segments;
  if (key === undefined) return;
  let value = node[key];
  if (key === "line_items" && node.object === "checkout.session" && value === undefined) {
    value = structuredClone(sessionLineItems(ctx, ctx.state.checkoutSessions[node.id as string]!));
  } else if (typeof value === "string") {
    const found = lookupObject(ctx, value);
    if (!found) cannotExpand(path);
    value = structuredClone(found);
  }
  // A null reference stays null; anything but an object (a number, a missing field) cannot expand.
  if (value === null) return;
  if (typeof value !== "object" || Array.isArray(value)) cannotExpand(path);
  node[key] = value;
  const child = value as Record<string, unknown>;
  if (rest[0] === "data" && Array.isArray(child.data)) {
    for (const item of child.data as Record<string, unknown>[]) expandAt(ctx, item, rest.slice(1), path);
    return;
  }
  expandAt(ctx, child, rest, path);
}

/** Applies every `expand` path to a copy of `object`. */
export function expandObject(ctx: FakeContext, object: object, paths: string[]): Record<string, unknown> {
  const copy = structuredClone(object) as Record<string, unknown>;
  for (const path of paths) {
    const segments = path.split(".");
    if (segments.length > MAX_DEPTH) {
      throw invalidRequest(`You cannot expand more than ${MAX_DEPTH} levels of a property (${path}).`, {
        param: "expand",
      });
    }
    // Lists: `data.customer` expands each item.
    if (copy.object === "list" && segments[0] === "data" && Array.isArray(copy.data)) {
      for (const item of copy.data as Record<string, unknown>[]) expandAt(ctx, item, segments.slice(1), path);
    } else {
      expandAt(ctx, copy, segments, path);
    }
  }
  return copy;
}
