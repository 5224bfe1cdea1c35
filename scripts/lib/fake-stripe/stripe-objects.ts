/**
 * The Stripe objects the fake keeps, as the subset of each object's fields a platform reads
 * (https://docs.stripe.com/api: Customer, Price, Checkout Session, PaymentIntent, Charge,
 * Refund, Subscription, Invoice, Event). Field names, nullability and enum values follow
 * Stripe's; fields the fake does not model are left out rather than invented.
 *
 * Invoices and subscriptions are kept with the fields of both API generations; views.ts cuts
 * them down to what one API version shows (2025-03-31.basil moved the invoice's subscription
 * to `parent.subscription_details.subscription` and the billing period onto subscription items).
 */

export type Metadata = Record<string, string>;

export interface ApiList<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  url: string;
}

export interface Customer {
  id: string;
  object: "customer";
  address: null;
  balance: number;
  created: number;
  currency: string | null;
  default_source: null;
  delinquent: boolean;
  description: string | null;
  email: string | null;
  invoice_prefix: string;
  invoice_settings: {
    custom_fields: null;
    default_payment_method: string | null;
    footer: null;
    rendering_options: null;
  };
  livemode: false;
  metadata: Metadata;
  name: string | null;
  next_invoice_sequence: number;
  phone: string | null;
  preferred_locales: string[];
  shipping: null;
  tax_exempt: "none";
  test_clock: null;
}

export type RecurringInterval = "day" | "week" | "month" | "year";

export interface Product {
  id: string;
  object: "product";
  active: boolean;
  created: number;
  description: string | null;
  livemode: false;
  metadata: Metadata;
  name: string;
}

export interface Price {
  id: string;
  object: "price";
  active: boolean;
  billing_scheme: "per_unit";
  created: number;
  currency: string;
  livemode: false;
  lookup_key: null;
  metadata: Metadata;
  nickname: null;
  product: string;
  recurring: { interval: RecurringInterval; interval_count: number; usage_type: "licensed"; meter: null } | null;
  tax_behavior: "unspecified";
  type: "one_time" | "recurring";
  unit_amount: number;
  unit_amount_decimal: string;
}

export interface Coupon {
  id: string;
  object: "coupon";
  amount_off: number | null;
  created: number;
  currency: string | null;
  duration: "once" | "repeating" | "forever";
  duration_in_months: number | null;
  livemode: false;
  max_redemptions: number | null;
  metadata: Metadata;
  name: string | null;
  percent_off: number | null;
  redeem_by: number | null;
  times_redeemed: number;
  valid: boolean;
}

/** A Checkout Session's line item (`object: "item"`), listed by /v1/checkout/sessions/:id/line_items. */
export interface CheckoutLineItem {
  id: string;
  object: "item";
  amount_discount: number;
  amount_subtotal: number;
  amount_tax: number;
  amount_total: number;
  currency: string;
  description: string;
  price: Price;
  quantity: number;
}

export type CheckoutMode = "payment" | "subscription";
/**
 * The payment method types the stand-in page can complete: card and Klarna settle at once,
 * `us_bank_account` (ACH Direct Debit) days later.
 */
export type PaymentMethodKind = "card" | "klarna" | "us_bank_account";

export interface CustomerDetails {
  address: null;
  email: string | null;
  name: string | null;
  phone: null;
  tax_exempt: "none";
  tax_ids: [];
}

export interface CheckoutSession {
  id: string;
  object: "checkout.session";
  /** What the request allowed (2026-09-30.endive and later); null when it named none. */
  allowed_payment_method_types: string[] | null;
  amount_subtotal: number;
  amount_total: number;
  cancel_url: string | null;
  client_reference_id: string | null;
  created: number;
  currency: string;
  customer: string | null;
  customer_creation: "always" | "if_required" | null;
  customer_details: CustomerDetails | null;
  customer_email: string | null;
  discounts: { coupon: string | null; promotion_code: string | null }[];
  expires_at: number;
  invoice: string | null;
  livemode: false;
  locale: string | null;
  metadata: Metadata;
  mode: CheckoutMode;
  payment_intent: string | null;
  /** The methods the customer is offered. */
  payment_method_types: string[];
  payment_status: "paid" | "unpaid" | "no_payment_required";
  status: "open" | "complete" | "expired";
  subscription: string | null;
  success_url: string | null;
  total_details: { amount_discount: number; amount_shipping: number; amount_tax: number };
  ui_mode: "hosted";
  /** Only while the session is open (Stripe nulls it once the session is complete or expired). */
  url: string | null;
}

/** What the fake remembers about a session beyond Stripe's object. */
export interface SessionExtras {
  lineItems: CheckoutLineItem[];
  paymentIntentData: { metadata: Metadata; description: string | null };
  subscriptionData: { metadata: Metadata; description: string | null };
  /** How the customer paid on the stand-in page (set on completion). */
  paidWith?: PaymentMethodKind;
}

/** A coupon a subscription keeps applying after its first invoice (duration forever or repeating). */
export interface SubscriptionDiscount {
  coupon: string;
  /** When it started applying (the subscription's start). */
  start: number;
}

export interface PaymentError {
  type: "card_error" | "invalid_request_error";
  code: string;
  decline_code?: string;
  message: string;
  charge: string;
}

export interface PaymentIntent {
  id: string;
  object: "payment_intent";
  amount: number;
  amount_capturable: number;
  amount_received: number;
  canceled_at: number | null;
  cancellation_reason: string | null;
  capture_method: "automatic_async";
  client_secret: string;
  confirmation_method: "automatic";
  created: number;
  currency: string;
  customer: string | null;
  description: string | null;
  last_payment_error: PaymentError | null;
  latest_charge: string | null;
  livemode: false;
  metadata: Metadata;
  payment_method: string | null;
  payment_method_types: string[];
  receipt_email: string | null;
  status: "requires_payment_method" | "processing" | "succeeded" | "canceled";
}

export interface Charge {
  id: string;
  object: "charge";
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  balance_transaction: null;
  billing_details: { address: null; email: string | null; name: string | null; phone: null };
  captured: boolean;
  created: number;
  currency: string;
  customer: string | null;
  description: string | null;
  disputed: boolean;
  failure_code: string | null;
  failure_message: string | null;
  livemode: false;
  metadata: Metadata;
  outcome: {
    network_status: "approved_by_network" | "declined_by_network";
    reason: string | null;
    risk_level: "normal";
    seller_message: string;
    type: "authorized" | "issuer_declined";
  } | null;
  paid: boolean;
  payment_intent: string;
  payment_method: string;
  payment_method_details:
    | {
        type: "card";
        card: { brand: string; country: string; exp_month: number; exp_year: number; funding: string; last4: string };
      }
    | { type: "klarna"; klarna: { payment_method_category: string; preferred_locale: string } }
    | {
        type: "us_bank_account";
        us_bank_account: {
          account_holder_type: string;
          account_type: string;
          bank_name: string;
          last4: string;
          routing_number: string;
        };
      };
  receipt_email: string | null;
  receipt_url: string | null;
  refunded: boolean;
  status: "succeeded" | "pending" | "failed";
}

export interface Refund {
  id: string;
  object: "refund";
  amount: number;
  balance_transaction: null;
  charge: string;
  created: number;
  currency: string;
  metadata: Metadata;
  payment_intent: string;
  reason: "duplicate" | "fraudulent" | "requested_by_customer" | null;
  status: "succeeded";
}

export interface SubscriptionItem {
  id: string;
  object: "subscription_item";
  created: number;
  current_period_end: number;
  current_period_start: number;
  metadata: Metadata;
  price: Price;
  quantity: number;
  subscription: string;
}

export type SubscriptionStatus = "active" | "past_due" | "canceled" | "incomplete" | "incomplete_expired" | "unpaid";

export interface Subscription {
  id: string;
  object: "subscription";
  billing_cycle_anchor: number;
  cancel_at: number | null;
  cancel_at_period_end: boolean;
  canceled_at: number | null;
  cancellation_details: {
    comment: string | null;
    feedback: string | null;
    reason: "cancellation_requested" | "payment_failed" | "payment_disputed" | null;
  };
  collection_method: "charge_automatically";
  created: number;
  currency: string;
  customer: string;
  default_payment_method: string | null;
  description: string | null;
  ended_at: number | null;
  items: ApiList<SubscriptionItem>;
  latest_invoice: string | null;
  livemode: false;
  metadata: Metadata;
  start_date: number;
  status: SubscriptionStatus;
  /** Before 2025-03-31.basil only (views.ts); since then the period lives on each item. */
  current_period_start: number;
  current_period_end: number;
}

export interface InvoiceLineItem {
  id: string;
  object: "line_item";
  amount: number;
  currency: string;
  description: string;
  livemode: false;
  metadata: Metadata;
  period: { start: number; end: number };
  quantity: number;
  /** basil and later. */
  parent: {
    type: "subscription_item_details";
    subscription_item_details: {
      invoice_item: null;
      proration: false;
      subscription: string;
      subscription_item: string | null;
    };
  };
  pricing: { type: "price_details"; price_details: { price: string; product: string }; unit_amount_decimal: string };
  /** Before basil. */
  price: Price;
  subscription: string;
  type: "subscription";
  proration: false;
}

export interface InvoicePayment {
  id: string;
  object: "invoice_payment";
  amount_paid: number | null;
  amount_requested: number;
  created: number;
  currency: string;
  invoice: string;
  is_default: boolean;
  livemode: false;
  payment: { type: "payment_intent"; payment_intent: string };
  status: "open" | "paid" | "canceled";
}

export type BillingReason = "subscription_create" | "subscription_cycle" | "subscription_update" | "manual";

export interface Invoice {
  id: string;
  object: "invoice";
  account_country: string;
  account_name: string;
  amount_due: number;
  amount_paid: number;
  amount_remaining: number;
  attempt_count: number;
  attempted: boolean;
  billing_reason: BillingReason;
  collection_method: "charge_automatically";
  created: number;
  currency: string;
  customer: string;
  customer_email: string | null;
  customer_name: string | null;
  description: string | null;
  hosted_invoice_url: string | null;
  lines: ApiList<InvoiceLineItem>;
  livemode: false;
  metadata: Metadata;
  next_payment_attempt: number | null;
  number: string;
  period_end: number;
  period_start: number;
  status: "draft" | "open" | "paid" | "uncollectible" | "void";
  status_transitions: {
    finalized_at: number | null;
    marked_uncollectible_at: null;
    paid_at: number | null;
    voided_at: null;
  };
  subtotal: number;
  total: number;
  total_discount_amounts: { amount: number; discount: string }[];
  webhooks_delivered_at: number | null;
  /** basil and later: where the invoice came from. */
  parent: {
    type: "subscription_details";
    quote_details: null;
    subscription_details: { metadata: Metadata; subscription: string };
  };
  payments: ApiList<InvoicePayment>;
  /** Before basil. */
  subscription: string;
  subscription_details: { metadata: Metadata };
  payment_intent: string | null;
  charge: string | null;
  paid: boolean;
}

export interface StripeEvent {
  id: string;
  object: "event";
  api_version: string;
  created: number;
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  /** The API request that caused the event; both null for automatic ones (renewals, the page). */
  request: { id: string | null; idempotency_key: string | null };
  type: string;
}
