import { onChildOrderPaid } from "../orders/government-fee";
import { sendPaymentReceipt } from "./payment-receipt";
import type { Db } from "../../db/client";
import { redeemDiscount, releaseDiscount } from "../../db/discounts";
import {
  closeCheckouts,
  findOrdersForPayment,
  linkStripeIds,
  openAdminTask,
  resolveAdminTask,
  type PaymentOrder,
} from "../../db/order-payments";
import {
  earlierInvoiceFailure,
  finishStripeEvent,
  getStripeEvent,
  reopenOrphanedEvents,
  type StripeEventRow,
} from "../../db/stripe-events";
import { getService } from "../../domain/catalog/services";
import type { StripeEventMessage } from "../../domain/queues/queue-messages";
import { formatCents } from "../../domain/catalog/money";
import type { AppConfig } from "../../domain/config/app-config";
import { ComposeError } from "../../domain/mail/compose-message";
import {
  planStripeEvent,
  type OrderReferences,
  type PaymentFailureDetails,
} from "../../domain/payments/stripe-event-plan";
import type { ApplyResult } from "../../durable-objects/order-machine";
import { raiseAlert } from "../alerts/raise-alert";
import type { Env } from "../env";
import { createMailer } from "../mailer/mailer";
import { sendRecorded } from "../mailer/recorded-send";

/**
 * Applies one recorded Stripe event (the fulfillment consumer's `stripe.event` job). Every step
 * is idempotent, so a redelivered job, or two deliveries racing, change nothing twice:
 *
 * 1. an event already processed is done;
 * 2. the plan (domain/payments/stripe-event-plan.ts) says which orders and which fact;
 * 3. no order found → an admin task (once per event) and an admin alert, outcome
 *    `unknown_order`; unknown event types → outcome `ignored`;
 * 4. one transaction for what belongs to the checkout: Stripe ids recorded where missing, the
 *    checkout completed or expired, its discount counted (once: only a reservation turns into a
 *    redemption) or released;
 * 5. the fact goes to each order's OrderMachine, which dedupes by key and mirrors the status;
 *    an event the machine rejects is recorded as the outcome (and alerted), not thrown;
 *    earlier events recorded as `unknown_order` that name the payment intent or subscription
 *    of these orders are reopened and enqueued again ("adopted"), and their admin task closes
 *    when they match: that is how a `charge.refunded` arriving before its
 *    `checkout.session.completed` ends in the same state as in order;
 * 6. a failed invoice: an admin alert every time (window = the event), and one customer nudge,
 *    on the first failure of that invoice only, with a Message-ID derived from the invoice so it
 *    can never go out twice;
 * 7. the event is marked processed with its outcome.
 *
 * A throw anywhere (Postgres away, the machine unreachable) fails the job, which is retried;
 * the steps already done are no-ops the second time.
 */

export interface StripeEventContext {
  env: Env;
  config: AppConfig;
  db(): Db;
}

export type StripeEventOutcome =
  "applied" | "duplicate" | "rejected" | "ignored" | "unknown_order" | "invalid" | "already_processed";

export interface ProcessedStripeEvent {
  outcome: StripeEventOutcome;
  results?: ApplyResult[];
  nudge?: "sent" | "not_first" | "already_sent" | "failed";
}

function log(level: "info" | "warn" | "error", event: string, fields: Record<string, unknown>) {
  const line = JSON.stringify({ level, event, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

export async function processStripeEvent(ctx: StripeEventContext, eventId: string): Promise<ProcessedStripeEvent> {
  const db = ctx.db();
  const row = await getStripeEvent(db, eventId);
  // The route records before it enqueues: a job without its record was not sent by us.
  if (!row) throw new Error(`Stripe event ${eventId} is not recorded in stripe_events`);
  if (row.processedAt !== null) return { outcome: "already_processed" };

  const plan = planStripeEvent(row.payload);
  if (plan.kind === "ignored") {
    log("info", "stripe_event_ignored", { eventId, type: row.type, reason: plan.reason });
    await finishStripeEvent(db, eventId, { outcome: "ignored" });
    return { outcome: "ignored" };
  }
  if (plan.kind === "invalid") {
    // A verified event of a type we act on, in a shape we cannot read: an API version change
    // nobody planned for. Money may have moved; a person must look.
    log("error", "stripe_event_invalid", { eventId, type: row.type, reason: plan.reason });
    await raiseAlert(
      { config: ctx.config, db },
      {
        rule: "stripe-event-invalid",
        subject: eventId,
        windowKey: eventId,
        title: `Stripe ${row.type} ${eventId} could not be read`,
        body: `${plan.reason}\n\nThe event is recorded in stripe_events but was not applied to any order. Check the webhook endpoint's API version.`,
      },
    );
    await finishStripeEvent(db, eventId, { outcome: "invalid", error: plan.reason });
    return { outcome: "invalid" };
  }

  const found = await findOrdersForPayment(db, plan.refs);
  if (found.length === 0) {
    await unknownOrder(ctx, db, row, plan.refs);
    await finishStripeEvent(db, eventId, { outcome: "unknown_order" });
    return { outcome: "unknown_order" };
  }
  const recurring = found.filter((o) => o.billingInterval !== "none");
  // A renewal or a subscription's end concerns the recurring orders of a mixed checkout only;
  // when none of the orders recurs, they all get the fact and the machine rejects it.
  const targets = plan.scope === "recurring" && recurring.length > 0 ? recurring : found;
  const checkoutIds = [...new Set(targets.map((o) => o.checkoutId).filter((id): id is number => id !== null))];

  await db.transaction(async (tx) => {
    await linkStripeIds(tx, targets, plan.link);
    if (plan.checkoutStatus) await closeCheckouts(tx, checkoutIds, plan.checkoutStatus);
    for (const checkoutId of checkoutIds) {
      if (plan.discount === "redeem") await redeemDiscount(tx, checkoutId);
      else if (plan.discount === "release") await releaseDiscount(tx, checkoutId);
    }
  });

  if (row.outcome === "unknown_order") {
    // An orphan adopted once the event linking its order arrived (step 5 below, on that event).
    await resolveAdminTask(
      db,
      unknownOrderTaskKey(eventId),
      `matched ${targets.map((o) => o.number).join(", ")} once the linking event arrived`,
    );
  }

  const results = await Promise.all(
    targets.map(async (order) => {
      const machine = ctx.env.ORDER_MACHINE.get(ctx.env.ORDER_MACHINE.idFromName(order.number));
      return (await machine.apply(order.number, plan.fact)) as ApplyResult;
    }),
  );

  // The first time an order is paid, its customer gets a receipt with links to the order and to
  // all their orders (once per order ever; see payment-receipt.ts).
  for (const r of results) {
    if (r.outcome === "applied" && r.paymentStatus === "paid" && r.previousPaymentStatus !== "paid") {
      const order = targets.find((t) => t.number === r.orderNumber);
      if (order) await sendPaymentReceipt(db, ctx.config, order);
    }
  }

  // A paid government-fee child order tells its parent (government_fee_paid). On "duplicate"
  // too: if an earlier attempt applied the payment and then failed, this is the only call left.
  // Every step of it is idempotent.
  for (const r of results) {
    if (r.outcome !== "rejected" && r.orderNumber.startsWith("CG-") && r.paymentStatus === "paid") {
      await onChildOrderPaid(
        db,
        ctx.env,
        { number: r.orderNumber },
        { sessionId: plan.refs.sessionId ?? undefined, at: plan.fact.at },
      );
    }
  }

  // Events that arrived before this one and matched nothing then (a refund before its
  // payment's checkout.session.completed) can be matched by the ids just linked: apply them now.
  const orphans = await reopenOrphanedEvents(
    db,
    { paymentIntentId: plan.link.paymentIntentId, subscriptionId: plan.link.subscriptionId },
    eventId,
  );
  if (orphans.length > 0) {
    await ctx.env.FULFILLMENT_QUEUE.sendBatch(
      orphans.map((id) => ({ body: { type: "stripe.event", eventId: id } satisfies StripeEventMessage })),
    );
    log("info", "stripe_events_adopted", { eventId, orphans });
  }

  let nudge: ProcessedStripeEvent["nudge"];
  if (plan.paymentFailure) {
    await alertPaymentFailure(ctx, db, row, plan.paymentFailure, targets);
    nudge = await nudgeFirstFailure(ctx, db, row, plan.paymentFailure, targets);
  }

  const rejected = results.filter((r): r is Extract<ApplyResult, { outcome: "rejected" }> => r.outcome === "rejected");
  if (rejected.length > 0) await alertRejections(ctx, db, row, rejected);
  const outcome: StripeEventOutcome =
    rejected.length === results.length
      ? "rejected"
      : results.some((r) => r.outcome === "applied")
        ? "applied"
        : "duplicate";
  const error =
    rejected.length > 0 ? rejected.map((r) => `${r.orderNumber}: ${r.code} (${r.message})`).join("; ") : null;
  await finishStripeEvent(db, eventId, { outcome, error });
  log("info", "stripe_event_applied", {
    eventId,
    type: row.type,
    outcome,
    orders: results.map((r) => ({ order: r.orderNumber, outcome: r.outcome, status: r.status })),
    ...(nudge ? { nudge } : {}),
  });
  return { outcome, results, ...(nudge ? { nudge } : {}) };
}

const unknownOrderTaskKey = (eventId: string) => `stripe-event:${eventId}`;

async function unknownOrder(
  ctx: StripeEventContext,
  db: Db,
  row: StripeEventRow,
  refs: OrderReferences,
): Promise<void> {
  const named = describeRefs(refs);
  await openAdminTask(db, {
    kind: "stripe_unknown_order",
    title: `Stripe ${row.type} ${row.eventId} names no known order`,
    detail: { eventId: row.eventId, type: row.type, references: refs },
    dedupeKey: unknownOrderTaskKey(row.eventId),
  });
  await raiseAlert(
    { config: ctx.config, db },
    {
      rule: "stripe-unknown-order",
      subject: row.eventId,
      windowKey: row.eventId,
      title: `Stripe ${row.type} for an unknown order`,
      body: `Stripe event ${row.eventId} (${row.type}) matches no order (${named}). It is recorded and an admin task is open; find the order or refund the payment in Stripe.`,
      metrics: { references: refs },
    },
  );
  log("warn", "stripe_event_unknown_order", { eventId: row.eventId, type: row.type, references: refs });
}

function describeRefs(refs: OrderReferences): string {
  const parts = [
    refs.orderNumbers.length > 0 ? `orders ${refs.orderNumbers.join(", ")}` : undefined,
    refs.clientReferenceId ? `client_reference_id ${refs.clientReferenceId}` : undefined,
    refs.sessionId ? `session ${refs.sessionId}` : undefined,
    refs.subscriptionId ? `subscription ${refs.subscriptionId}` : undefined,
    refs.paymentIntentId ? `payment intent ${refs.paymentIntentId}` : undefined,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join("; ") : "no reference at all";
}

function money(cents: number | undefined, currency: string | undefined): string | undefined {
  if (cents === undefined) return undefined;
  return !currency || currency.toLowerCase() === "usd"
    ? formatCents(cents)
    : `${(cents / 100).toFixed(2)} ${currency.toUpperCase()}`;
}

function serviceNames(orders: PaymentOrder[]): string[] {
  return [...new Set(orders.map((o) => getService(o.serviceSlug)?.displayName ?? o.serviceSlug))];
}

async function alertPaymentFailure(
  ctx: StripeEventContext,
  db: Db,
  row: StripeEventRow,
  failure: PaymentFailureDetails,
  orders: PaymentOrder[],
): Promise<void> {
  const numbers = orders.map((o) => o.number).join(", ");
  const due = money(failure.amountDueCents, failure.currency);
  const next = failure.nextPaymentAttempt ? new Date(failure.nextPaymentAttempt * 1000).toISOString() : undefined;
  await raiseAlert(
    { config: ctx.config, db },
    {
      rule: "stripe-payment-failed",
      subject: failure.invoiceId,
      // Every failure is its own alert: the window is the event.
      windowKey: row.eventId,
      title: `Payment failed for ${numbers}${failure.attemptCount ? ` (attempt ${failure.attemptCount})` : ""}`,
      body: [
        `Invoice ${failure.invoiceId}${failure.subscriptionId ? ` of subscription ${failure.subscriptionId}` : ""} was not paid.`,
        `Orders: ${numbers} (${serviceNames(orders).join(", ")}); customer ${orders[0]?.customerEmail ?? "unknown"}.`,
        ...(due ? [`Amount due: ${due}.`] : []),
        next ? `Stripe retries automatically, next at ${next}.` : "Stripe has no further automatic retry scheduled.",
      ].join("\n"),
      metrics: {
        eventId: row.eventId,
        invoiceId: failure.invoiceId,
        attemptCount: failure.attemptCount ?? null,
        billingReason: failure.billingReason ?? null,
        orders: orders.map((o) => o.number),
      },
    },
  );
}

/**
 * The customer hears about a failed invoice once: on its first failure (Stripe's
 * `attempt_count` is 1, or no earlier failure of the invoice is recorded: the first event may
 * have been lost or may arrive late). `attempt_count` alone is not enough, since a manual
 * retry does not raise it (https://docs.stripe.com/api/invoices/object#invoice_object-attempt_count);
 * the Message-ID derived from the invoice makes a second send of the same nudge impossible
 * (mail_sends is unique per Message-ID and recipient).
 */
async function nudgeFirstFailure(
  ctx: StripeEventContext,
  db: Db,
  row: StripeEventRow,
  failure: PaymentFailureDetails,
  orders: PaymentOrder[],
): Promise<ProcessedStripeEvent["nudge"]> {
  const first = failure.attemptCount === 1 || !(await earlierInvoiceFailure(db, row, failure.invoiceId));
  if (!first) return "not_first";
  const recipient = orders[0]?.customerEmail;
  if (!recipient) return "failed";
  const names = serviceNames(orders).join(", ");
  const due = money(failure.amountDueCents, failure.currency);
  const localPart = `payment-failed.${failure.invoiceId}`.replace(/[^A-Za-z0-9._-]/g, "-");
  const messageId = `<${localPart}@${ctx.config.MAIL_SENDING_DOMAIN}>`;
  const escape = (s: string) =>
    s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  const retry = failure.nextPaymentAttempt
    ? `We will try again on ${new Date(failure.nextPaymentAttempt * 1000).toUTCString().replace(/ \d{2}:\d{2}:\d{2} GMT$/, "")}.`
    : "";
  const pay = failure.hostedInvoiceUrl;
  const text = [
    "Hello,",
    "",
    `We could not collect the payment${due ? ` of ${due}` : ""} for ${names} (order ${orders.map((o) => o.number).join(", ")}).`,
    retry,
    pay
      ? `You can pay it or update your payment method here: ${pay}`
      : "Please reply to this e-mail and we will help you update your payment method.",
    "",
    "Thank you,",
    "Docket",
  ]
    .filter((line, i, all) => line !== "" || all[i - 1] !== "")
    .join("\n");
  const html = [
    "<p>Hello,</p>",
    `<p>We could not collect the payment${due ? ` of <strong>${escape(due)}</strong>` : ""} for ${escape(names)} (order ${escape(orders.map((o) => o.number).join(", "))}).${retry ? ` ${escape(retry)}` : ""}</p>`,
    pay
      ? `<p><a href="${escape(pay)}">Pay the invoice or update your payment method</a>.</p>`
      : "<p>Please reply to this e-mail and we will help you update your payment method.</p>",
    "<p>Thank you,<br>Docket</p>",
  ].join("\n");
  try {
    const result = await sendRecorded(
      db,
      ctx.config,
      createMailer(ctx.config),
      {
        to: recipient,
        messageId,
        subject: `Your payment for ${names} did not go through`,
        text,
        html,
        headers: { "X-Docket-Kind": "payment-failed" },
      },
      { kind: "transactional" },
    );
    if (!result.sent) return "already_sent";
    if (result.outcome.status !== "accepted") {
      log("warn", "payment_nudge_not_accepted", {
        eventId: row.eventId,
        invoiceId: failure.invoiceId,
        status: result.outcome.status,
        text: result.outcome.text,
      });
      return "failed";
    }
    return "sent";
  } catch (error) {
    // A customer address the composer refuses is not a reason to fail the event.
    if (!(error instanceof ComposeError)) throw error;
    log("error", "payment_nudge_refused", { eventId: row.eventId, invoiceId: failure.invoiceId, error: error.message });
    return "failed";
  }
}

async function alertRejections(
  ctx: StripeEventContext,
  db: Db,
  row: StripeEventRow,
  rejected: Extract<ApplyResult, { outcome: "rejected" }>[],
): Promise<void> {
  log("warn", "stripe_event_rejected", { eventId: row.eventId, type: row.type, rejected });
  await raiseAlert(
    { config: ctx.config, db },
    {
      rule: "stripe-event-rejected",
      subject: row.eventId,
      windowKey: row.eventId,
      title: `Stripe ${row.type} does not fit ${rejected.map((r) => r.orderNumber).join(", ")}`,
      body: rejected
        .map(
          (r) => `${r.orderNumber} (${r.status}): ${r.code}: ${r.message}. Allowed: ${r.allowed.join(", ") || "none"}.`,
        )
        .join("\n"),
      metrics: { eventId: row.eventId, rejected: rejected.map((r) => ({ order: r.orderNumber, code: r.code })) },
    },
  );
}
