import { invalidRequest, missingParam, noSuch, StripeApiError, unsupported } from "./api-error";
import type { FakeContext, RequestRef } from "./context";
import { checkRedeemable, discountOn, getCoupon } from "./coupons";
import { checkEmail, getCustomer } from "./customers";
import { newId } from "./ids";
import type { Params } from "./params";
import type {
  ApiList,
  CheckoutLineItem,
  CheckoutSession,
  Coupon,
  Metadata,
  Price,
  Product,
  RecurringInterval,
} from "./stripe-objects";

/**
 * Checkout Sessions through the API (https://docs.stripe.com/api/checkout/sessions): create,
 * retrieve, list line items, expire. Creation validates what Stripe validates for the
 * parameters the platform sends (line items with `price_data`, the mode against recurring
 * prices, `customer` xor `customer_email`, `expires_at` between 30 minutes and 24 hours,
 * `allowed_payment_method_types` since 2026-09-30.endive, `payment_method_types` before) and
 * refuses, by name, the parameters Stripe knows but the fake does not model. The session's
 * `url` is the fake's stand-in for the hosted page (checkout-page.ts).
 */

/** Parameters that change what the fake does. */
const HANDLED = [
  "allowed_payment_method_types",
  "cancel_url",
  "client_reference_id",
  "customer",
  "customer_creation",
  "customer_email",
  "discounts",
  "excluded_payment_method_types",
  "expand",
  "expires_at",
  "line_items",
  "locale",
  "metadata",
  "mode",
  "payment_intent_data",
  "payment_method_types",
  "subscription_data",
  "success_url",
  "ui_mode",
] as const;

/** Parameters Stripe accepts whose effect (page options, tax, address collection…) the fake has no use for. */
const ACCEPTED_WITHOUT_EFFECT = [
  "adaptive_pricing",
  "after_expiration",
  "allow_promotion_codes",
  "automatic_tax",
  "billing_address_collection",
  "branding_settings",
  "consent_collection",
  "currency",
  "custom_fields",
  "custom_text",
  "customer_update",
  "integration_identifier",
  "invoice_creation",
  "name_collection",
  "origin_context",
  "payment_method_collection",
  "payment_method_configuration",
  "payment_method_data",
  "payment_method_options",
  "phone_number_collection",
  "saved_payment_method_options",
  "shipping_address_collection",
  "submit_type",
  "tax_id_collection",
  "wallet_options",
] as const;

/** Parameters Stripe accepts that would change amounts or flows the fake does not model: refused by name. */
const UNSUPPORTED: Record<string, string> = {
  customer_account: "Accounts v2 customers",
  managed_payments: "managed payments",
  optional_items: "optional items",
  permissions: "custom UI permissions",
  redirect_on_completion: "embedded Checkout redirects",
  return_url: "embedded Checkout (return_url)",
  setup_intent_data: "setup mode",
  shipping_options: "shipping rates",
};

/** Stripe's payment method types (as the pinned SDK lists them); the page completes card, klarna and us_bank_account. */
const PAYMENT_METHOD_TYPES = [
  "acss_debit",
  "affirm",
  "afterpay_clearpay",
  "alipay",
  "alma",
  "amazon_pay",
  "au_becs_debit",
  "bacs_debit",
  "bancontact",
  "billie",
  "bizum",
  "blik",
  "boleto",
  "card",
  "cashapp",
  "crypto",
  "customer_balance",
  "eps",
  "fpx",
  "giropay",
  "grabpay",
  "ideal",
  "kakao_pay",
  "klarna",
  "konbini",
  "kr_card",
  "link",
  "mb_way",
  "mobilepay",
  "multibanco",
  "naver_pay",
  "nz_bank_account",
  "oxxo",
  "p24",
  "pay_by_bank",
  "payco",
  "paynow",
  "paypal",
  "paypay",
  "payto",
  "pix",
  "promptpay",
  "revolut_pay",
  "samsung_pay",
  "satispay",
  "scalapay",
  "sepa_debit",
  "sequra",
  "sofort",
  "sunbit",
  "swish",
  "twint",
  "upi",
  "us_bank_account",
  "wechat_pay",
  "zip",
] as const;

/**
 * The fake account's payment methods "enabled in the Dashboard": the set Stripe computes a
 * session's methods from when the request names none, and that `allowed_payment_method_types`
 * filters. ACH Direct Debit is for USD only.
 */
const ACCOUNT_PAYMENT_METHODS = ["card", "klarna", "us_bank_account"] as const;

/** API 2026-09-30.endive removed `payment_method_types` from session creation for `allowed_payment_method_types`. */
const ENDIVE = "2026-09-30";

const INTERVALS: readonly RecurringInterval[] = ["day", "week", "month", "year"];
/** Stripe's longest billing interval: a year (1 year, 12 months, 52 weeks, 365 days). */
const MAX_INTERVAL_COUNT: Record<RecurringInterval, number> = { day: 365, week: 52, month: 12, year: 1 };
const MIN_EXPIRY_SECONDS = 30 * 60;
const MAX_EXPIRY_SECONDS = 24 * 3600;
const DEFAULT_EXPIRY_SECONDS = 24 * 3600;

function urlParam(p: Params, key: string): string | undefined {
  const value = p.string(key, { maxLength: 5000 });
  if (value === undefined) return undefined;
  // `{CHECKOUT_SESSION_ID}` is a template Stripe fills in on redirect; it must survive parsing.
  try {
    const url = new URL(value.replaceAll("{CHECKOUT_SESSION_ID}", "cs"));
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("scheme");
  } catch {
    throw invalidRequest(`Not a valid URL`, { code: "url_invalid", param: p.name(key) });
  }
  return value;
}

interface ParsedLine {
  product: Product;
  price: Price;
  quantity: number;
}

function parseLineItem(ctx: FakeContext, item: Params, now: number): ParsedLine {
  item.allowOnly(["adjustable_quantity", "dynamic_tax_rates", "price", "price_data", "quantity", "tax_rates"]);
  const priceId = item.string("price");
  if (priceId !== undefined) {
    // No Prices API in the fake: only inline price_data, which is what the catalog sends.
    throw noSuch("price", priceId, item.name("price"), 400);
  }
  if (item.has("adjustable_quantity")) throw unsupported(item.name("adjustable_quantity"), "adjustable quantities");
  const quantity = item.integer("quantity", { required: true, min: 1, max: 999_999 })!;
  const data = item.object("price_data");
  if (!data) throw missingParam(item.name("price_data"));
  data.allowOnly([
    "currency",
    "product",
    "product_data",
    "recurring",
    "tax_behavior",
    "unit_amount",
    "unit_amount_decimal",
  ]);
  const currency = data.string("currency", { required: true })!.toLowerCase();
  if (!/^[a-z]{3}$/.test(currency))
    throw invalidRequest(`Invalid currency: ${currency}`, { param: data.name("currency") });
  let unitAmount = data.integer("unit_amount", { min: 0, max: 99_999_999 });
  if (unitAmount === undefined) {
    const decimal = data.string("unit_amount_decimal");
    if (decimal === undefined) throw missingParam(data.name("unit_amount"));
    if (!/^\d+$/.test(decimal)) throw unsupported(data.name("unit_amount_decimal"), "fractional unit amounts");
    unitAmount = Number(decimal);
  }
  const productId = data.string("product");
  if (productId !== undefined) throw noSuch("product", productId, data.name("product"), 400);
  const productData = data.object("product_data");
  if (!productData) throw missingParam(data.name("product_data"));
  productData.allowOnly(["description", "images", "metadata", "name", "tax_code", "unit_label"]);
  const name = productData.string("name", { required: true, maxLength: 250 })!;
  const recurringParams = data.object("recurring");
  let recurring: Price["recurring"] = null;
  if (recurringParams) {
    recurringParams.allowOnly(["interval", "interval_count"]);
    const interval = recurringParams.oneOf("interval", INTERVALS, { required: true })!;
    const count = recurringParams.integer("interval_count", { min: 1 }) ?? 1;
    if (count > MAX_INTERVAL_COUNT[interval]) {
      throw invalidRequest(`The maximum billing interval is one year (1 year, 12 months, 52 weeks or 365 days).`, {
        param: recurringParams.name("interval_count"),
      });
    }
    recurring = { interval, interval_count: count, usage_type: "licensed", meter: null };
  }
  const product: Product = {
    id: newId("product"),
    object: "product",
    active: true,
    created: now,
    description: productData.string("description") ?? null,
    livemode: false,
    metadata: productData.metadata("metadata") ?? {},
    name,
  };
  // Prices made from price_data are one-off: Stripe creates them inactive.
  const price: Price = {
    id: newId("price"),
    object: "price",
    active: false,
    billing_scheme: "per_unit",
    created: now,
    currency,
    livemode: false,
    lookup_key: null,
    metadata: {},
    nickname: null,
    product: product.id,
    recurring,
    tax_behavior: "unspecified",
    type: recurring ? "recurring" : "one_time",
    unit_amount: unitAmount,
    unit_amount_decimal: String(unitAmount),
  };
  return { product, price, quantity };
}

/** Shares a session-wide discount out over its line items in proportion to their amounts, to the cent. */
function spreadDiscount(items: CheckoutLineItem[], discount: number): void {
  const subtotal = items.reduce((sum, item) => sum + item.amount_subtotal, 0);
  if (subtotal === 0 || discount === 0) return;
  let left = discount;
  for (const item of items) {
    const share = Math.floor((discount * item.amount_subtotal) / subtotal);
    item.amount_discount = share;
    left -= share;
  }
  for (const item of items) {
    if (left === 0) break;
    if (item.amount_discount < item.amount_subtotal) {
      item.amount_discount += 1;
      left -= 1;
    }
  }
  for (const item of items) item.amount_total = item.amount_subtotal - item.amount_discount;
}

/** Reads the parts of a lenient sub-object (payment_intent_data, subscription_data) the fake uses. */
function metadataAndDescription(p: Params | undefined): { metadata: Metadata; description: string | null } {
  return {
    metadata: p?.metadata("metadata") ?? {},
    description: p?.string("description", { maxLength: 1000 }) ?? null,
  };
}

/** POST /v1/checkout/sessions */
export function createCheckoutSession(ctx: FakeContext, p: Params, apiVersion: string): CheckoutSession {
  p.allowOnly([...HANDLED, ...ACCEPTED_WITHOUT_EFFECT, ...Object.keys(UNSUPPORTED)]);
  for (const [param, what] of Object.entries(UNSUPPORTED)) if (p.has(param)) throw unsupported(param, what);
  const now = ctx.now();
  const uiMode = p.oneOf("ui_mode", ["custom", "embedded", "hosted"] as const);
  if (uiMode !== undefined && uiMode !== "hosted")
    throw unsupported("ui_mode", "embedded or custom Checkout (only the hosted page)");
  const mode = p.oneOf("mode", ["payment", "setup", "subscription"] as const, { required: true })!;
  if (mode === "setup") throw unsupported("mode", "setup mode");
  const discountParams = p.objects("discounts");
  if (discountParams.length > 1) throw invalidRequest(`You may only specify one discount.`, { param: "discounts" });
  if (discountParams.length > 0 && p.boolean("allow_promotion_codes")) {
    throw invalidRequest(`You may only specify one of these parameters: allow_promotion_codes, discounts.`, {
      param: "discounts",
    });
  }
  let coupon: Coupon | undefined;
  const discountParam = discountParams[0];
  if (discountParam) {
    discountParam.allowOnly(["coupon", "promotion_code"]);
    if (discountParam.has("promotion_code")) {
      throw unsupported(discountParam.name("promotion_code"), "promotion codes (pass a coupon)");
    }
    const couponId = discountParam.string("coupon", { required: true })!;
    coupon = getCoupon(ctx, couponId, discountParam.name("coupon"), 400);
  }

  const successUrl = urlParam(p, "success_url");
  const cancelUrl = urlParam(p, "cancel_url");
  const clientReferenceId = p.string("client_reference_id", { maxLength: 200 });
  const customerId = p.string("customer");
  const customerEmail = p.string("customer_email", { maxLength: 800 });
  if (customerId !== undefined && customerEmail !== undefined) {
    throw invalidRequest(`You may only specify one of these parameters: customer, customer_email.`, {
      param: "customer_email",
    });
  }
  if (customerId !== undefined) getCustomer(ctx, customerId, "customer", 400);
  if (customerEmail !== undefined) checkEmail(customerEmail, "customer_email");
  const customerCreation = p.oneOf("customer_creation", ["always", "if_required"] as const);
  if (customerCreation !== undefined && mode !== "payment") {
    throw invalidRequest(`customer_creation can only be used in payment mode.`, { param: "customer_creation" });
  }
  const metadata = p.metadata("metadata") ?? {};
  const locale = p.string("locale") ?? null;

  const methodList = (key: string): string[] => {
    const list = p.strings(key);
    list.forEach((type, i) => {
      if (!(PAYMENT_METHOD_TYPES as readonly string[]).includes(type)) {
        throw invalidRequest(`Invalid ${key}[${i}]: must be one of ${PAYMENT_METHOD_TYPES.join(", ")}`, {
          param: `${key}[${i}]`,
        });
      }
    });
    return [...new Set(list)];
  };
  const endive = apiVersion.slice(0, 10) >= ENDIVE;
  if (endive && p.has("payment_method_types")) {
    throw invalidRequest(
      `Received unknown parameter: payment_method_types (removed in API version 2026-09-30.endive; use allowed_payment_method_types)`,
      { code: "parameter_unknown", param: "payment_method_types" },
    );
  }
  const staticTypes = methodList("payment_method_types");
  const allowed = p.has("allowed_payment_method_types") ? methodList("allowed_payment_method_types") : null;
  const excluded = methodList("excluded_payment_method_types");
  if (allowed && staticTypes.length > 0) {
    throw invalidRequest(
      `You may only specify one of these parameters: allowed_payment_method_types, payment_method_types.`,
      {
        param: "allowed_payment_method_types",
      },
    );
  }
  // An explicit (pre-endive) list is taken as given; otherwise the account's methods, filtered.
  const paymentMethodTypes =
    staticTypes.length > 0
      ? staticTypes
      : (allowed ?? [...ACCOUNT_PAYMENT_METHODS]).filter(
          (t) => (ACCOUNT_PAYMENT_METHODS as readonly string[]).includes(t) && !excluded.includes(t),
        );

  const expiresAt = p.integer("expires_at") ?? now + DEFAULT_EXPIRY_SECONDS;
  if (expiresAt < now + MIN_EXPIRY_SECONDS) {
    throw invalidRequest("The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.", {
      param: "expires_at",
    });
  }
  if (expiresAt > now + MAX_EXPIRY_SECONDS) {
    throw invalidRequest("The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.", {
      param: "expires_at",
    });
  }

  const paymentIntentData = p.object("payment_intent_data");
  if (paymentIntentData && mode !== "payment") {
    throw invalidRequest(`You can not pass \`payment_intent_data\` in \`${mode}\` mode.`, {
      param: "payment_intent_data",
    });
  }
  const subscriptionData = p.object("subscription_data");
  if (subscriptionData) {
    if (mode !== "subscription") {
      throw invalidRequest(`You can not pass \`subscription_data\` in \`${mode}\` mode.`, {
        param: "subscription_data",
      });
    }
    for (const key of ["trial_period_days", "trial_end", "trial_settings", "billing_cycle_anchor"]) {
      if (subscriptionData.has(key)) throw unsupported(subscriptionData.name(key), "trials and billing cycle anchors");
    }
  }

  const itemParams = p.objects("line_items");
  if (itemParams.length === 0) throw missingParam("line_items");
  if (itemParams.length > 100)
    throw invalidRequest(`You may only specify up to 100 line items.`, { param: "line_items" });
  const lines = itemParams.map((item) => parseLineItem(ctx, item, now));
  const currency = lines[0]!.price.currency;
  lines.forEach((line, i) => {
    if (line.price.currency !== currency) {
      throw invalidRequest(
        `All line items must have the same currency; line_items[${i}] is ${line.price.currency}, not ${currency}.`,
        {
          param: `line_items[${i}][price_data][currency]`,
        },
      );
    }
  });
  if (staticTypes.length === 0 && currency !== "usd") {
    const i = paymentMethodTypes.indexOf("us_bank_account");
    if (i >= 0) paymentMethodTypes.splice(i, 1);
  }
  if (paymentMethodTypes.length === 0) {
    throw invalidRequest(
      `No payment method is available for this Checkout Session: the account accepts ${ACCOUNT_PAYMENT_METHODS.join(", ")}.`,
      {
        param: allowed ? "allowed_payment_method_types" : "payment_method_types",
      },
    );
  }
  const recurringLines = lines.filter((line) => line.price.recurring);
  if (mode === "subscription" && recurringLines.length === 0) {
    throw invalidRequest("You must provide at least one recurring price in `subscription` mode when using prices.", {
      param: "line_items",
    });
  }
  if (mode === "payment" && recurringLines.length > 0) {
    throw invalidRequest(
      "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.",
      { param: "mode" },
    );
  }
  const cadence = (price: Price) => `${price.recurring!.interval_count} ${price.recurring!.interval}`;
  if (new Set(recurringLines.map((line) => cadence(line.price))).size > 1) {
    throw invalidRequest("Checkout does not support multiple prices with different billing intervals.", {
      param: "line_items",
    });
  }

  const lineItems: CheckoutLineItem[] = lines.map(({ product, price, quantity }) => ({
    id: newId("lineItem"),
    object: "item",
    amount_discount: 0,
    amount_subtotal: price.unit_amount * quantity,
    amount_tax: 0,
    amount_total: price.unit_amount * quantity,
    currency,
    description: product.name,
    price,
    quantity,
  }));
  const subtotal = lineItems.reduce((sum, item) => sum + item.amount_subtotal, 0);
  let discount = 0;
  if (coupon) {
    checkRedeemable(ctx, coupon, currency, "discounts[0][coupon]");
    discount = discountOn(coupon, subtotal);
    spreadDiscount(lineItems, discount);
  }
  const total = subtotal - discount;
  // Stripe's minimum charge is 50 cents (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
  if (mode === "payment" && total < 50) {
    throw invalidRequest(`The Checkout Session's total amount due must add up to at least $0.50 ${currency}`, {
      param: "line_items",
    });
  }

  for (const { product, price } of lines) {
    ctx.state.products[product.id] = product;
    ctx.state.prices[price.id] = price;
  }
  const id = newId("checkoutSession");
  const session: CheckoutSession = {
    id,
    object: "checkout.session",
    amount_subtotal: subtotal,
    amount_total: total,
    cancel_url: cancelUrl ?? null,
    client_reference_id: clientReferenceId ?? null,
    created: now,
    currency,
    customer: customerId ?? null,
    customer_creation:
      customerId !== undefined ? null : mode === "payment" ? (customerCreation ?? "if_required") : "always",
    customer_details: null,
    customer_email: customerEmail ?? null,
    discounts: coupon ? [{ coupon: coupon.id, promotion_code: null }] : [],
    expires_at: expiresAt,
    invoice: null,
    livemode: false,
    locale,
    metadata,
    mode,
    payment_intent: null,
    allowed_payment_method_types: allowed,
    payment_method_types: paymentMethodTypes,
    payment_status: "unpaid",
    status: "open",
    subscription: null,
    success_url: successUrl ?? null,
    total_details: { amount_discount: discount, amount_shipping: 0, amount_tax: 0 },
    ui_mode: "hosted",
    url: `${ctx.baseUrl}/checkout/${id}`,
  };
  ctx.state.checkoutSessions[id] = session;
  ctx.state.sessionExtras[id] = {
    lineItems,
    paymentIntentData: metadataAndDescription(paymentIntentData),
    subscriptionData: metadataAndDescription(subscriptionData),
  };
  ctx.changed();
  return session;
}

export function getCheckoutSession(ctx: FakeContext, id: string, param = "session", status = 404): CheckoutSession {
  const session = ctx.state.checkoutSessions[id];
  if (!session) throw noSuch("checkout.session", id, param, status);
  return session;
}

export function sessionLineItems(ctx: FakeContext, session: CheckoutSession): ApiList<CheckoutLineItem> {
  const items = ctx.state.sessionExtras[session.id]?.lineItems ?? [];
  return { object: "list", data: items, has_more: false, url: `/v1/checkout/sessions/${session.id}/line_items` };
}

/** GET /v1/checkout/sessions/:id/line_items */
export function listSessionLineItems(ctx: FakeContext, id: string, p: Params): ApiList<CheckoutLineItem> {
  p.allowOnly(["ending_before", "expand", "limit", "starting_after"]);
  const limit = p.integer("limit", { min: 1, max: 100 }) ?? 10;
  const all = sessionLineItems(ctx, getCheckoutSession(ctx, id));
  return { ...all, data: all.data.slice(0, limit), has_more: all.data.length > limit };
}

/**
 * Expires an open session (POST /v1/checkout/sessions/:id/expire, or its `expires_at` passing):
 * the customer can no longer pay and `checkout.session.expired` is sent.
 */
export function expireCheckoutSession(
  ctx: FakeContext,
  session: CheckoutSession,
  request?: RequestRef,
): CheckoutSession {
  if (session.status !== "open") {
    throw new StripeApiError(
      400,
      "invalid_request_error",
      `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`,
      { param: "session" },
    );
  }
  session.status = "expired";
  session.url = null;
  const pi = session.payment_intent ? ctx.state.paymentIntents[session.payment_intent] : undefined;
  if (pi && pi.status === "requires_payment_method") {
    pi.status = "canceled";
    pi.canceled_at = ctx.now();
    pi.cancellation_reason = "abandoned";
  }
  ctx.changed();
  ctx.emit("checkout.session.expired", session, request ? { request } : {});
  return session;
}

/** Expires every open session whose `expires_at` has passed (run every second). */
export function expireDueSessions(ctx: FakeContext): number {
  const now = ctx.now();
  let expired = 0;
  for (const session of Object.values(ctx.state.checkoutSessions)) {
    if (session.status === "open" && session.expires_at <= now) {
      expireCheckoutSession(ctx, session);
      expired++;
    }
  }
  return expired;
}
