import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  date,
  index,
  integer,
  jsonb,
  pgSequence,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

/**
 * Commerce: customers, checkouts, orders and what Stripe told us about them. Money is integer
 * cents. Every Stripe event is recorded under its own id before anything acts on it.
 */

/** Order numbers CO-<year>-<6 digits>, government-fee child orders CG-…, checkouts CK-…. */
export const orderNumberSeq = pgSequence("order_number_seq", { startWith: 1 });
export const checkoutNumberSeq = pgSequence("checkout_number_seq", { startWith: 1 });

/** One customer per e-mail address (lower-cased): every payment path ends here. */
export const customers = pgTable("customers", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  email: text("email").notNull().unique(),
  name: text("name"),
  company: text("company"),
  stripeCustomerId: text("stripe_customer_id").unique(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export const PAYMENT_METHODS = ["card", "ach", "klarna"] as const;

/** One checkout: the Stripe Checkout Session and the orders it pays for. */
export const checkouts = pgTable(
  "checkouts",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    number: text("number").notNull().unique(),
    customerId: bigint("customer_id", { mode: "number" })
      .notNull()
      .references(() => customers.id),
    paymentMethod: text("payment_method", { enum: PAYMENT_METHODS }).notNull(),
    mode: text("mode", { enum: ["payment", "subscription"] }).notNull(),
    discountId: bigint("discount_id", { mode: "number" }),
    totalCents: integer("total_cents").notNull(),
    stripeSessionId: text("stripe_session_id").unique(),
    /** The campaign send whose tracked click led here (workers/routes/tracking.ts sets the cookie). */
    campaignSendId: bigint("campaign_send_id", { mode: "number" }),
    status: text("status", { enum: ["open", "completed", "expired"] })
      .notNull()
      .default("open"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("checkouts_customer").on(t.customerId)],
);

/** Every status the order machine can mirror (domain/orders/order-status.ts says what each means). */
export { ORDER_STATUSES } from "../../domain/orders/order-status";

/**
 * One order per service bought. `status` mirrors the order machine (durable-objects/), the only
 * writer of an order's state; this table is for listing and joins.
 */
export const orders = pgTable(
  "orders",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    number: text("number").notNull().unique(),
    checkoutId: bigint("checkout_id", { mode: "number" }).references(() => checkouts.id),
    customerId: bigint("customer_id", { mode: "number" })
      .notNull()
      .references(() => customers.id),
    serviceSlug: text("service_slug").notNull(),
    quantity: integer("quantity").notNull().default(1),
    billingInterval: text("billing_interval", { enum: ["none", "month", "year"] }).notNull(),
    status: text("status").notNull().default("pending_payment"),
    /** The priced lines (service fee, discount, surcharge, government fee items), from the catalog. */
    lines: jsonb("lines").notNull(),
    totalCents: integer("total_cents").notNull(),
    paymentMethod: text("payment_method", { enum: PAYMENT_METHODS }).notNull(),
    parentOrderId: bigint("parent_order_id", { mode: "number" }),
    stripeSubscriptionId: text("stripe_subscription_id"),
    stripePaymentIntentId: text("stripe_payment_intent_id"),
    intake: jsonb("intake"),
    attribution: jsonb("attribution"),
    /** Copied from the checkout: the campaign send that led to this order. */
    campaignSendId: bigint("campaign_send_id", { mode: "number" }),
    /** When the filing falls due again (UCR yearly, MCS-150 by USDOT digits, monthly monitoring). */
    nextDueOn: date("next_due_on", { mode: "string" }),
    /** The last time a cycle of this order completed. */
    completedAt: timestamp("completed_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("orders_customer").on(t.customerId),
    index("orders_checkout").on(t.checkoutId),
    index("orders_subscription").on(t.stripeSubscriptionId),
    index("orders_payment_intent").on(t.stripePaymentIntentId),
    index("orders_parent").on(t.parentOrderId),
    index("orders_next_due")
      .on(t.nextDueOn)
      .where(sql`${t.nextDueOn} is not null`),
  ],
);

/** The order machine's event log, mirrored for listing; one row per idempotency key. */
export const orderEvents = pgTable(
  "order_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    orderId: bigint("order_id", { mode: "number" })
      .notNull()
      .references(() => orders.id),
    type: text("type").notNull(),
    idempotencyKey: text("idempotency_key").notNull(),
    fromStatus: text("from_status"),
    toStatus: text("to_status").notNull(),
    payload: jsonb("payload"),
    occurredAt: timestamp("occurred_at", { withTimezone: true }).notNull(),
    recordedAt: timestamp("recorded_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("order_events_order_key").on(t.orderId, t.idempotencyKey),
    index("order_events_order").on(t.orderId),
  ],
);

/** Every Stripe event, recorded under its own id before it acts: a replay finds it and stops. */
export const stripeEvents = pgTable(
  "stripe_events",
  {
    eventId: text("event_id").primaryKey(),
    type: text("type").notNull(),
    /** Stripe's `created` (seconds): for reading, never for ordering decisions. */
    stripeCreated: timestamp("stripe_created", { withTimezone: true }).notNull(),
    payload: jsonb("payload").notNull(),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
    processedAt: timestamp("processed_at", { withTimezone: true }),
    outcome: text("outcome"),
    error: text("error"),
  },
  (t) => [
    index("stripe_events_unprocessed")
      .on(t.receivedAt)
      .where(sql`${t.processedAt} is null`),
  ],
);

/** Discount codes: counted once per paid checkout; reserved at checkout so the last use goes to one. */
export const discounts = pgTable("discounts", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  /** Stored upper-case; matched case-insensitively. */
  code: text("code").notNull().unique(),
  kind: text("kind", { enum: ["percent", "amount"] }).notNull(),
  /** Percent (1–100) or cents. */
  value: integer("value").notNull(),
  active: boolean("active").notNull().default(true),
  startsAt: timestamp("starts_at", { withTimezone: true }),
  expiresAt: timestamp("expires_at", { withTimezone: true }),
  usageLimit: integer("usage_limit"),
  /** Slugs it applies to; null = every service. */
  appliesTo: text("applies_to").array(),
  uses: integer("uses").notNull().default(0),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export const discountRedemptions = pgTable(
  "discount_redemptions",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    discountId: bigint("discount_id", { mode: "number" })
      .notNull()
      .references(() => discounts.id),
    checkoutId: bigint("checkout_id", { mode: "number" })
      .notNull()
      .references(() => checkouts.id),
    status: text("status", { enum: ["reserved", "redeemed", "released"] })
      .notNull()
      .default("reserved"),
    /** A reservation lapses with its checkout session. */
    reservedUntil: timestamp("reserved_until", { withTimezone: true }).notNull(),
    redeemedAt: timestamp("redeemed_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("discount_redemptions_checkout").on(t.checkoutId),
    index("discount_redemptions_discount").on(t.discountId),
  ],
);

/** Work for a person: a fee dispute, an event for an unknown order, a filing to do by hand. */
export const adminTasks = pgTable(
  "admin_tasks",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    kind: text("kind").notNull(),
    orderId: bigint("order_id", { mode: "number" }).references(() => orders.id),
    title: text("title").notNull(),
    detail: jsonb("detail"),
    status: text("status", { enum: ["open", "done"] })
      .notNull()
      .default("open"),
    /** Makes opening the same task twice a no-op (e.g. one task per disputed child order). */
    dedupeKey: text("dedupe_key").unique(),
    /** The admin working on it (e-mail), so two people do not file the same order twice. */
    claimedBy: text("claimed_by"),
    claimedAt: timestamp("claimed_at", { withTimezone: true }),
    resolvedBy: text("resolved_by"),
    resolutionNote: text("resolution_note"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    doneAt: timestamp("done_at", { withTimezone: true }),
  },
  (t) => [
    index("admin_tasks_open")
      .on(t.createdAt)
      .where(sql`${t.status} = 'open'`),
  ],
);

/** Operators who sign in to the admin API. Passwords: PBKDF2-SHA256 (WebCrypto), never plain. */
export const adminUsers = pgTable("admin_users", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  email: text("email").notNull().unique(),
  passwordHash: text("password_hash").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});
