import Stripe from "stripe";
import type { Db } from "../../db/client";
import {
  childOrdersOf,
  eventsOf,
  eventsOfMany,
  findOrderWithCustomer,
  insertChildOrder,
  lockOrder,
  openTaskOnce,
  recordOrderEvent,
  settleChildOrder,
  type OrderRow,
  type OrderWithCustomer,
} from "../../db/government-fee-orders";
import { nextNumber } from "../../db/order-numbers";
import { linkExpiry, linkSecret, signLinkToken, signedUrl } from "../../domain/auth/signed-link";
import { formatCents } from "../../domain/catalog/money";
import {
  stripePaymentMethodType,
  surchargeRatesFromConfig,
  type PaymentMethod,
} from "../../domain/catalog/payment-methods";
import { paymentOptions, priceGovernmentFeePayment, type PaymentOption } from "../../domain/catalog/pricing";
import { GOVERNMENT_FEE_PAYMENT, getService } from "../../domain/catalog/services";
import type { AppConfig } from "../../domain/config/app-config";
import { ComposeError } from "../../domain/mail/compose-message";
import {
  breakdownFromLines,
  CHILD_EVENT,
  childOrderLines,
  childPayability,
  feeHold,
  GOVERNMENT_FEE_PAID_EVENT,
  governmentFeeEmail,
  governmentFeeMessageId,
  normaliseBreakdown,
  recordedSessions,
  sameBreakdown,
  sessionIdempotencyKey,
  settledChildLines,
  type FeeItemInput,
  type GovernmentFeeBreakdown,
  type HistoryEvent,
  type Payability,
  type RecordedSession,
} from "../../domain/orders/government-fee-order";
import type { ApplyResult } from "../../durable-objects/order-machine";
import { appConfig, type Env } from "../env";
import { createMailer, type Mailer } from "../mailer/mailer";
import { sendRecorded } from "../mailer/recorded-send";
import { createStripe } from "../payments/stripe-client";

/**
 * Government-fee child orders (commerce issue, item 6): a parent order asks the customer for
 * the agency's fee, at cost, as a child order `CG-…` with its own payment.
 *
 * - `requestGovernmentFee`: creates the child (one open child per parent) and e-mails the
 *   customer once, with a pay link and a "something looks wrong" link. Called by an admin
 *   (POST /api/admin/orders/:number/government-fee) and, in the OrderMachine issue, by the
 *   government-fee gate.
 * - `startGovernmentFeePayment`: the pay page's POST; a Stripe Checkout Session for the child in
 *   the method the customer picked.
 * - `disputeGovernmentFee`: the dispute page's POST; holds the payment and opens an admin task.
 * - `onChildOrderPaid`: the Stripe webhook consumer calls this once a child is paid; it sends
 *   `government_fee_paid` to the parent.
 */

function log(level: "info" | "warn" | "error", event: string, fields: Record<string, unknown>) {
  const line = JSON.stringify({ level, event, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

export type GovernmentFeeErrorCode =
  "INVALID_ITEMS" | "TOTAL_MISMATCH" | "FEE_TOO_SMALL" | "PARENT_IS_CHILD" | "PARENT_NOT_PAID" | "GOVERNMENT_FEE_OPEN";

export class GovernmentFeeError extends Error {
  constructor(
    readonly status: 409 | 422,
    readonly code: GovernmentFeeErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "GovernmentFeeError";
  }
}

/** Parents in these states have not paid for the service: no agency fee is asked for yet. */
const UNPAID_PARENT_STATUSES = new Set([
  "pending_payment",
  "payment_processing",
  "payment_failed",
  "cancelled",
  "refunded",
]);

export interface GovernmentFeeDeps {
  /** For cancelling a superseded child through its OrderMachine; without it only its history says so. */
  env?: Env;
  mailer?: Mailer;
  stripe?: Stripe;
  now?: Date;
}

export type FeeEmailOutcome = "sent" | "already_sent" | "not_accepted" | "refused";

export interface GovernmentFeeRequestResult {
  child: OrderRow;
  /** False when an open child with the same breakdown already existed (idempotent repeat). */
  created: boolean;
  /** Held (disputed) children this request replaced with a corrected fee. */
  superseded: string[];
  email: FeeEmailOutcome;
}

/**
 * Asks the customer of `parentOrder` for a government fee. Idempotent: while the parent has an
 * open child (payable, or an ACH debit under way) the same breakdown returns that child and a
 * different one is refused (GOVERNMENT_FEE_OPEN); a child on hold (disputed) with the same
 * breakdown is returned as it is, and a different breakdown replaces it (the admin's
 * correction). The parent row is locked while this runs, so two concurrent requests create
 * one child. The e-mail goes out after the commit, at most once per child (its Message-ID is
 * derived from the child number), so a repeat after a crash sends what was not sent.
 */
export async function requestGovernmentFee(
  db: Db,
  config: AppConfig,
  parentOrder: Pick<OrderRow, "id" | "number">,
  breakdown: { items: readonly FeeItemInput[]; totalCents?: number },
  deps: GovernmentFeeDeps = {},
): Promise<GovernmentFeeRequestResult> {
  const normal = normaliseBreakdown(breakdown);
  if (!normal.ok) throw new GovernmentFeeError(422, normal.problem.code, normal.problem.message);
  const fee = normal.breakdown;
  const now = deps.now ?? new Date();

  const decided = await db.transaction(async (tx) => {
    const parent = await lockOrder(tx, parentOrder.id);
    if (!parent) throw new Error(`order ${parentOrder.number} does not exist`);
    if (parent.parentOrderId !== null) {
      throw new GovernmentFeeError(422, "PARENT_IS_CHILD", `${parent.number} is itself a government-fee order`);
    }
    if (UNPAID_PARENT_STATUSES.has(parent.status)) {
      throw new GovernmentFeeError(
        409,
        "PARENT_NOT_PAID",
        `${parent.number} is ${parent.status}: its government fee is asked for once it is paid`,
      );
    }
    const children = await childOrdersOf(tx, parent.id);
    const history = await eventsOfMany(
      tx,
      children.map((c) => c.id),
    );
    const held: OrderRow[] = [];
    for (const child of children) {
      const state = childPayability(child.status, history.get(child.id) ?? []);
      const same = sameBreakdown(breakdownFromLines(child.lines), fee);
      if (state === "payable" || state === "processing") {
        if (same) return { parent, child, created: false, superseded: [] as OrderRow[] };
        throw new GovernmentFeeError(
          409,
          "GOVERNMENT_FEE_OPEN",
          `${parent.number} already has an open government fee ${child.number} for ${formatCents(child.totalCents)}`,
          {
            openOrder: child.number,
            totalCents: child.totalCents,
          },
        );
      }
      if (state === "on_hold") {
        // Asking again for the very fee the customer disputed must not get round the hold.
        if (same) return { parent, child, created: false, superseded: [] as OrderRow[] };
        held.push(child);
      }
    }

    const number = await nextNumber(tx, "CG", now);
    const child = await insertChildOrder(tx, {
      number,
      customerId: parent.customerId,
      parentOrderId: parent.id,
      serviceSlug: parent.serviceSlug,
      lines: childOrderLines(fee),
      totalCents: fee.totalCents,
      // The method the customer paid the service with; the one used for the fee is settled on payment.
      paymentMethod: parent.paymentMethod,
    });
    await recordOrderEvent(tx, {
      orderId: child.id,
      type: CHILD_EVENT.requested,
      key: CHILD_EVENT.requested,
      fromStatus: null,
      toStatus: child.status,
      payload: { parentOrder: parent.number, totalCents: fee.totalCents, items: fee.items.length },
      occurredAt: now,
    });
    for (const old of held) {
      await recordOrderEvent(tx, {
        orderId: old.id,
        type: CHILD_EVENT.superseded,
        key: `${CHILD_EVENT.superseded}:${number}`,
        fromStatus: old.status,
        toStatus: old.status,
        payload: { replacedBy: number },
        occurredAt: now,
      });
    }
    return { parent, child, created: true, superseded: held };
  });

  for (const old of decided.superseded) await cancelSuperseded(deps, old, decided.child.number, now);
  const email = await sendGovernmentFeeEmail(db, config, decided.child, deps);
  if (decided.created) {
    log("info", "government_fee_requested", {
      parent: decided.parent.number,
      child: decided.child.number,
      totalCents: decided.child.totalCents,
      superseded: decided.superseded.map((c) => c.number),
      email,
    });
  }
  return { child: decided.child, created: decided.created, superseded: decided.superseded.map((c) => c.number), email };
}

/** A replaced child is cancelled by its own machine (the only writer of its status). */
async function cancelSuperseded(deps: GovernmentFeeDeps, old: OrderRow, replacedBy: string, now: Date): Promise<void> {
  if (!deps.env) return;
  const machine = deps.env.ORDER_MACHINE.get(deps.env.ORDER_MACHINE.idFromName(old.number));
  const result = (await machine.apply(old.number, {
    type: "cancelled",
    key: `superseded:${replacedBy}`,
    at: now.toISOString(),
    payload: { reason: `government fee corrected: replaced by ${replacedBy}` },
  })) as ApplyResult;
  if (result.outcome === "rejected") log("warn", "government_fee_supersede_rejected", { child: old.number, result });
}

// ---------------------------------------------------------------------------------------------
// Links and the e-mail

/** The pay and dispute links of a child, valid CUSTOMER_LINK_TTL_DAYS from its creation. */
export async function governmentFeeLinks(
  config: AppConfig,
  child: Pick<OrderRow, "number" | "createdAt">,
): Promise<{ payUrl: string; disputeUrl: string; expiresAt: Date }> {
  // Signed from the creation time, so a resent e-mail carries the very same links.
  const at = child.createdAt;
  const query = `?order=${encodeURIComponent(child.number)}`;
  return {
    payUrl: await signedUrl(config, `/order/pay${query}`, "pay", child.number, at),
    disputeUrl: await signedUrl(config, `/order/dispute${query}`, "dispute", child.number, at),
    expiresAt: linkExpiry(config, at),
  };
}

/** Every method the fee may be paid with, and what each costs (ACH, card, Klarna from config). */
export function governmentFeeOptions(config: AppConfig, feeCents: number): PaymentOption[] {
  return paymentOptions(
    feeCents,
    GOVERNMENT_FEE_PAYMENT.allowedMethods,
    GOVERNMENT_FEE_PAYMENT.surchargePolicy,
    surchargeRatesFromConfig(config),
  );
}

export function serviceName(slug: string): string {
  return getService(slug)?.displayName ?? slug;
}

/** The request for payment, at most once per child (Message-ID derived from its number). */
export async function sendGovernmentFeeEmail(
  db: Db,
  config: AppConfig,
  child: OrderRow,
  deps: GovernmentFeeDeps = {},
): Promise<FeeEmailOutcome> {
  const found = await findOrderWithCustomer(db, child.number);
  if (!found || found.parentNumber === null) throw new Error(`${child.number} is not a government-fee order`);
  const links = await governmentFeeLinks(config, child);
  const fee = breakdownFromLines(child.lines);
  const content = governmentFeeEmail({
    customerName: found.customer.name,
    childNumber: child.number,
    parentNumber: found.parentNumber,
    serviceName: serviceName(child.serviceSlug),
    breakdown: fee,
    options: governmentFeeOptions(config, fee.totalCents),
    payUrl: links.payUrl,
    disputeUrl: links.disputeUrl,
    linkExpiresAt: links.expiresAt,
  });
  try {
    const result = await sendRecorded(
      db,
      config,
      deps.mailer ?? createMailer(config),
      {
        to: found.customer.email,
        messageId: governmentFeeMessageId(child.number, config.MAIL_SENDING_DOMAIN),
        subject: content.subject,
        text: content.text,
        html: content.html,
        headers: { "X-Docket-Kind": "government-fee" },
      },
      { kind: "transactional" },
    );
    if (!result.sent) return "already_sent";
    if (result.outcome.status !== "accepted") {
      log("warn", "government_fee_email_not_accepted", {
        child: child.number,
        status: result.outcome.status,
        text: result.outcome.text,
      });
      return "not_accepted";
    }
    return "sent";
  } catch (error) {
    if (!(error instanceof ComposeError)) throw error;
    log("error", "government_fee_email_refused", { child: child.number, error: error.message });
    return "refused";
  }
}

// ---------------------------------------------------------------------------------------------
// Paying: a Stripe Checkout Session per child and method

export interface ChildState {
  found: OrderWithCustomer;
  events: HistoryEvent[];
  payability: Payability;
  breakdown: GovernmentFeeBreakdown;
}

/** A child order with everything its pages need; undefined when the number is not a child. */
export async function loadChild(db: Db, number: string): Promise<ChildState | undefined> {
  const found = await findOrderWithCustomer(db, number);
  if (!found || found.order.parentOrderId === null) return undefined;
  const events = await eventsOf(db, found.order.id);
  return {
    found,
    events,
    payability: childPayability(found.order.status, events),
    breakdown: breakdownFromLines(found.order.lines),
  };
}

export interface SessionInput {
  childNumber: string;
  parentNumber: string;
  customer: { email: string; stripeCustomerId: string | null };
  method: PaymentMethod;
  lines: readonly { kind: string; label: string; amountCents: number }[];
  successUrl: string;
  cancelUrl: string;
}

/**
 * The Checkout Session of a child: one-time payment, one line per fee item plus the surcharge
 * line, the child number as `client_reference_id` and `metadata.order_number` (the webhook
 * finds the child by either). No `expires_at`: Stripe's default (24 hours) matches how long it
 * remembers an idempotency key, and every parameter is derived from the child and the link, so
 * a double click replays the same request and gets the same session back.
 */
export function governmentFeeSessionParams(input: SessionInput): Stripe.Checkout.SessionCreateParams {
  const metadata = {
    order_number: input.childNumber,
    parent_order_number: input.parentNumber,
    kind: "government_fee",
    payment_method: input.method,
  };
  return {
    mode: "payment",
    // One method per session; the pinned API version filters with allowed_payment_method_types.
    allowed_payment_method_types: [stripePaymentMethodType(input.method)],
    line_items: input.lines
      .filter((l) => l.amountCents > 0)
      .map((l) => ({
        quantity: 1,
        price_data: { currency: "usd", unit_amount: l.amountCents, product_data: { name: l.label.slice(0, 250) } },
      })),
    client_reference_id: input.childNumber,
    ...(input.customer.stripeCustomerId
      ? { customer: input.customer.stripeCustomerId }
      : { customer_email: input.customer.email }),
    metadata,
    payment_intent_data: { metadata },
    success_url: input.successUrl,
    cancel_url: input.cancelUrl,
  };
}

export type PaymentStart =
  | { kind: "redirect"; url: string; sessionId: string; reused: boolean }
  /** The child cannot be paid now (held, paid, processing, closed). */
  | { kind: "refused"; payability: Payability }
  | { kind: "method_not_allowed"; method: string }
  /** A session of this child is already complete: the payment is in; the webhook will tell. */
  | { kind: "already_paid"; sessionId: string };

/**
 * The pay page's POST: a Checkout Session for the child in `method`, reusing this method's open
 * session when there is one. Another method's open session is expired first, so the fee cannot
 * be paid twice over two tabs; if one of them turns out to be complete, nothing new is opened.
 * `link` is the customer's verified pay link: its token and expiry make the return URLs.
 */
export async function startGovernmentFeePayment(
  db: Db,
  config: AppConfig,
  childNumber: string,
  method: string,
  link: { token: string; expiresAt: Date },
  deps: GovernmentFeeDeps = {},
): Promise<PaymentStart> {
  const state = await loadChild(db, childNumber);
  if (!state) throw new Error(`${childNumber} is not a government-fee order`);
  if (state.payability !== "payable") return { kind: "refused", payability: state.payability };
  if (!(GOVERNMENT_FEE_PAYMENT.allowedMethods as readonly string[]).includes(method))
    return { kind: "method_not_allowed", method };
  const chosen = method as PaymentMethod;
  const rates = surchargeRatesFromConfig(config);
  const priced = priceGovernmentFeePayment(state.breakdown.items, chosen, rates);
  if (!priced.ok) return { kind: "method_not_allowed", method };

  const stripe = deps.stripe ?? createStripe(config);
  const sessions = recordedSessions(state.events);
  const latest = latestPerMethod(sessions);
  const live = await Promise.all(
    latest.map(async (s) => ({ recorded: s, session: await retrieveSession(stripe, s.sessionId) })),
  );
  // A complete session is a payment made or under way (an ACH debit completes the session
  // unpaid), unless the child's status says that attempt failed: then it is spent.
  const retryAfterFailure = state.found.order.status === "payment_failed";
  const complete = live.find(
    (l) => l.session?.status === "complete" && (l.session.payment_status !== "unpaid" || !retryAfterFailure),
  );
  if (complete) return { kind: "already_paid", sessionId: complete.recorded.sessionId };
  for (const other of live.filter((l) => l.recorded.method !== chosen && l.session?.status === "open")) {
    const expired = await expireSession(stripe, other.recorded.sessionId);
    if (expired === "complete") return { kind: "already_paid", sessionId: other.recorded.sessionId };
  }
  const same = live.find((l) => l.recorded.method === chosen && l.session?.status === "open" && l.session.url);
  if (same?.session?.url)
    return { kind: "redirect", url: same.session.url, sessionId: same.recorded.sessionId, reused: true };

  const base = config.PUBLIC_BASE_URL.replace(/\/+$/, "");
  const order = encodeURIComponent(childNumber);
  // The confirmation link expires with the pay link it came from: the same link, the same URLs.
  const viewToken = await signLinkToken(linkSecret(config), {
    purpose: "order-view",
    subject: childNumber,
    expiresAt: link.expiresAt,
  });
  const params = governmentFeeSessionParams({
    childNumber,
    parentNumber: state.found.parentNumber ?? "",
    customer: { email: state.found.customer.email, stripeCustomerId: state.found.customer.stripeCustomerId },
    method: chosen,
    lines: priced.lines,
    successUrl: `${base}/order/confirm?order=${order}&token=${encodeURIComponent(viewToken)}`,
    cancelUrl: `${base}/order/pay?order=${order}&token=${encodeURIComponent(link.token)}`,
  });
  const attempt = sessions.filter((s) => s.method === chosen).length + 1;
  const key = sessionIdempotencyKey(childNumber, chosen, attempt);
  const session = await createSession(stripe, params, key);
  if (!session.url) throw new Error(`Stripe returned session ${session.id} without a URL (status ${session.status})`);
  await recordOrderEvent(db, {
    orderId: state.found.order.id,
    type: CHILD_EVENT.sessionCreated,
    key: `checkout-session:${session.id}`,
    fromStatus: state.found.order.status,
    toStatus: state.found.order.status,
    payload: {
      sessionId: session.id,
      method: chosen,
      attempt,
      bps: rates[chosen],
      feeCents: priced.feeCents,
      surchargeCents: priced.surchargeCents,
      totalCents: priced.totalCents,
    },
  });
  return { kind: "redirect", url: session.url, sessionId: session.id, reused: false };
}

function latestPerMethod(sessions: RecordedSession[]): RecordedSession[] {
  const byMethod = new Map<PaymentMethod, RecordedSession>();
  for (const s of sessions) byMethod.set(s.method, s);
  return [...byMethod.values()];
}

/** A session, or undefined when Stripe no longer knows it. */
async function retrieveSession(stripe: Stripe, id: string): Promise<Stripe.Checkout.Session | undefined> {
  try {
    return await stripe.checkout.sessions.retrieve(id);
  } catch (error) {
    if (error instanceof Stripe.errors.StripeInvalidRequestError && error.code === "resource_missing") return undefined;
    throw error;
  }
}

/** Expires an open session; says what it is when it cannot be expired any more. */
async function expireSession(stripe: Stripe, id: string): Promise<"expired" | "complete" | "gone"> {
  try {
    await stripe.checkout.sessions.expire(id);
    return "expired";
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeInvalidRequestError)) throw error;
    const now = await retrieveSession(stripe, id);
    return now?.status === "complete" ? "complete" : "gone";
  }
}

/**
 * Creates the session under `key`. Stripe refuses a key reused with other parameters (a second
 * link, a changed surcharge rate within 24 hours): then the parameters' fingerprint joins the
 * key, so the new request is a new session rather than an error for the customer.
 */
async function createSession(
  stripe: Stripe,
  params: Stripe.Checkout.SessionCreateParams,
  key: string,
): Promise<Stripe.Checkout.Session> {
  try {
    return await stripe.checkout.sessions.create(params, { idempotencyKey: key });
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeIdempotencyError)) throw error;
    return await stripe.checkout.sessions.create(params, { idempotencyKey: `${key}:${await fingerprint(params)}` });
  }
}

async function fingerprint(value: unknown): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(value)));
  return [...new Uint8Array(digest, 0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Expires every open session of a child, best effort (a dispute, a payment by another session). */
async function expireOpenSessions(
  config: AppConfig,
  sessions: RecordedSession[],
  deps: GovernmentFeeDeps,
  except?: string,
): Promise<void> {
  const targets = sessions.filter((s) => s.sessionId !== except);
  if (targets.length === 0) return;
  let stripe: Stripe;
  try {
    stripe = deps.stripe ?? createStripe(config);
  } catch (error) {
    log("warn", "government_fee_sessions_not_expired", { error: String(error) });
    return;
  }
  await Promise.all(
    targets.map(async (s) => {
      try {
        await stripe.checkout.sessions.expire(s.sessionId);
      } catch (error) {
        // Already expired or complete: nothing to stop.
        if (!(error instanceof Stripe.errors.StripeInvalidRequestError)) {
          log("warn", "government_fee_session_expire_failed", { sessionId: s.sessionId, error: String(error) });
        }
      }
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Disputing

export type DisputeOutcome =
  | { kind: "held"; taskOpened: boolean }
  | { kind: "already_held"; since: Date | undefined }
  | { kind: "not_disputable"; payability: Payability };

/**
 * The dispute page's POST: records `fee_disputed` on the child (the pay page then refuses),
 * opens one admin task per dispute of the child (kind `fee_dispute`, with the order, the
 * amount and the note), then expires its open Checkout Sessions so a tab left open cannot pay.
 * The child row is locked, so a double submit records one dispute.
 */
export async function disputeGovernmentFee(
  db: Db,
  config: AppConfig,
  childNumber: string,
  note: string,
  deps: GovernmentFeeDeps = {},
): Promise<DisputeOutcome> {
  const now = deps.now ?? new Date();
  const decided = await db.transaction(async (tx): Promise<DisputeOutcome & { sessions?: RecordedSession[] }> => {
    const state = await loadChild(tx, childNumber);
    if (!state) throw new Error(`${childNumber} is not a government-fee order`);
    // Locked, then read again: a concurrent dispute or payment is seen, not overwritten.
    const order = (await lockOrder(tx, state.found.order.id)) ?? state.found.order;
    const events = await eventsOf(tx, order.id);
    const payability = childPayability(order.status, events);
    if (payability === "on_hold") return { kind: "already_held", since: feeHold(events).since };
    if (payability !== "payable") return { kind: "not_disputable", payability };

    const nth = events.filter((e) => e.type === CHILD_EVENT.disputed).length + 1;
    await recordOrderEvent(tx, {
      orderId: order.id,
      type: CHILD_EVENT.disputed,
      key: `${CHILD_EVENT.disputed}:${nth}`,
      fromStatus: order.status,
      toStatus: order.status,
      payload: { note },
      occurredAt: now,
    });
    const taskOpened = await openTaskOnce(tx, {
      kind: "fee_dispute",
      orderId: order.id,
      dedupeKey: nth === 1 ? `fee_dispute:${order.number}` : `fee_dispute:${order.number}:${nth}`,
      title: `Government fee disputed: ${order.number} (${formatCents(order.totalCents)}) for ${state.found.parentNumber}`,
      detail: {
        orderNumber: order.number,
        parentOrderNumber: state.found.parentNumber,
        customerEmail: state.found.customer.email,
        amountCents: order.totalCents,
        items: state.breakdown.items.map((i) => ({ label: i.label, cents: i.cents, source: i.source })),
        note,
      },
    });
    return { kind: "held", taskOpened, sessions: recordedSessions(events) };
  });
  if (decided.kind === "held") {
    await expireOpenSessions(config, decided.sessions ?? [], deps);
    log("info", "government_fee_disputed", { child: childNumber, taskOpened: decided.taskOpened });
    return { kind: "held", taskOpened: decided.taskOpened };
  }
  return decided;
}

// ---------------------------------------------------------------------------------------------
// Paid: tell the parent

export type ChildPaidResult =
  | { outcome: "not_a_child" }
  | { outcome: "not_paid"; status: string }
  | {
      outcome: "parent_notified";
      parentNumber: string;
      /** How the parent's machine took it. */
      parent: ApplyResult;
      settled: PaymentMethod | null;
    };

/**
 * Call from the Stripe webhook consumer after a child order's machine reports it `paid` (on
 * "applied" AND on "duplicate": a retried job must still reach the parent; every step here is
 * idempotent). Sends `government_fee_paid` to the parent's OrderMachine, keyed by the child
 * number, so the parent hears it once however often this runs; settles the child's lines to
 * what was paid (the fee plus the chosen method's surcharge); expires the child's other open
 * Checkout Sessions. `paid.sessionId` (the Checkout Session that paid) names the method; without
 * it the recorded sessions are asked.
 */
export async function onChildOrderPaid(
  db: Db,
  env: Env,
  childOrder: { number: string },
  paid: { sessionId?: string; at?: string } = {},
): Promise<ChildPaidResult> {
  const config = appConfig(env);
  const state = await loadChild(db, childOrder.number);
  const parentId = state?.found.order.parentOrderId ?? null;
  if (!state || state.found.parentNumber === null || parentId === null) return { outcome: "not_a_child" };
  const child = state.found.order;
  if (child.status !== "paid") return { outcome: "not_paid", status: child.status };
  const parentNumber = state.found.parentNumber;
  const at = paid.at ?? new Date().toISOString();

  const sessions = recordedSessions(state.events);
  const settled = await settleLines(db, config, state, sessions, paid.sessionId);

  const machine = env.ORDER_MACHINE.get(env.ORDER_MACHINE.idFromName(parentNumber));
  const event = {
    type: GOVERNMENT_FEE_PAID_EVENT,
    key: `${GOVERNMENT_FEE_PAID_EVENT}:${child.number}`,
    at,
    payload: { childOrder: child.number, feeCents: state.breakdown.totalCents, method: settled },
  };
  const parent = (await machine.apply(parentNumber, event)) as ApplyResult;
  if (parent.outcome === "rejected") {
    // The parent ended (cancelled, refunded) before its fee was paid: the money must go back.
    log("error", "government_fee_paid_rejected", { child: child.number, parent: parentNumber, result: parent });
    await openTaskOnce(db, {
      kind: "government_fee_refund",
      title: `Government fee ${child.number} was paid but order ${parentNumber} is ${parent.status}: refund it`,
      detail: { child: child.number, parent: parentNumber, parentStatus: parent.status, code: parent.code },
      orderId: child.id,
      dedupeKey: `government-fee-orphaned:${child.number}`,
    });
  }

  await expireOpenSessions(config, sessions, {}, paid.sessionId);
  log("info", "government_fee_paid", {
    child: child.number,
    parent: parentNumber,
    settled,
    outcome: parent.outcome,
  });
  return { outcome: "parent_notified", parentNumber, parent, settled };
}

/**
 * The child's lines once paid: the fee lines plus the surcharge of the session that paid, as
 * it was priced when that session opened (a rate changed since does not rewrite history).
 */
async function settleLines(
  db: Db,
  config: AppConfig,
  state: ChildState,
  sessions: RecordedSession[],
  paidSessionId: string | undefined,
): Promise<PaymentMethod | null> {
  let paidBy = sessions.find((s) => s.sessionId === paidSessionId);
  if (!paidBy && new Set(sessions.map((s) => s.method)).size === 1) paidBy = sessions[sessions.length - 1];
  if (!paidBy && sessions.length > 0) {
    try {
      const stripe = createStripe(config);
      for (const s of latestPerMethod(sessions)) {
        if ((await retrieveSession(stripe, s.sessionId))?.payment_status === "paid") paidBy = s;
      }
    } catch (error) {
      log("warn", "government_fee_settle_lookup_failed", { child: state.found.order.number, error: String(error) });
    }
  }
  if (!paidBy) return null;
  const recorded = state.events.find(
    (e) =>
      e.type === CHILD_EVENT.sessionCreated &&
      (e.payload as { sessionId?: string } | null)?.sessionId === paidBy.sessionId,
  )?.payload as { surchargeCents?: number; bps?: number } | undefined;
  const feeCents = state.breakdown.totalCents;
  const surchargeCents = recorded?.surchargeCents ?? 0;
  const bps = recorded?.bps ?? 0;
  const option: PaymentOption = { method: paidBy.method, bps, surchargeCents, totalCents: feeCents + surchargeCents };
  await settleChildOrder(db, state.found.order.id, {
    lines: settledChildLines(state.found.order.lines, option),
    totalCents: option.totalCents,
    paymentMethod: paidBy.method,
  });
  return paidBy.method;
}
