import { invalidRequest, StripeApiError } from "./api-error";
import { CHECKOUT_ACTIONS, runCheckoutAction, type CheckoutAction } from "./checkout-flows";
import { getCheckoutSession } from "./checkout-sessions";
import { DEFAULT_ENABLED_EVENTS, type FakeContext } from "./context";
import { getInvoice, invoiceCharge } from "./invoices";
import { getCharge } from "./payments";
import { chargeOfPaymentIntent, refundCharge } from "./refunds";
import type { EventRecord } from "./state";
import type { PaymentMethodKind, Refund } from "./stripe-objects";
import { cancelSubscription, getSubscription, renewSubscription } from "./subscriptions";
import type { InvoiceStyle } from "./views";
import type { DeliveryAttempt, WebhookDeliverer } from "./webhook-delivery";
import { stripeSignatureHeader } from "./webhook-signature";

/**
 * The fake's own JSON API under `/__sim`, for tests and scripts to drive what a customer, the
 * bank or the calendar would do, and to inspect and re-send what was delivered:
 *
 *   GET  /__sim/health
 *   GET  /__sim/config                          POST /__sim/config {webhookUrl, webhookSecret, invoiceSubscriptionField, enabledEvents (null: default)}
 *   POST /__sim/reset                           forget every object and event
 *   POST /__sim/checkout/sessions/:id/:action   pay | fail | ach | ach-succeed | ach-fail | expire   {email?, payment_method?}
 *   POST /__sim/subscriptions/:id/renew         invoice.paid (billing_reason subscription_cycle); retries an unpaid renewal
 *   POST /__sim/subscriptions/:id/fail-renewal  invoice.payment_failed, attempt_count 1, 2, 3… on the same invoice
 *   POST /__sim/subscriptions/:id/cancel        customer.subscription.deleted   {reason?: "cancellation_requested" | "payment_failed", comment?}
 *   POST /__sim/refunds                         charge.refunded   {charge | payment_intent | checkout_session | invoice, amount?, reason?}
 *   POST /__sim/events                          a custom event   {type, object}
 *   GET  /__sim/events?type=&related=&since=    events, oldest first, with their deliveries
 *   GET  /__sim/events/:id                      one, with the event as sent
 *   POST /__sim/events/:id/replay               the same event (same id, same body) sent again
 *   POST /__sim/events/:id/signed               {payload, signature} to post yourself   {timestamp?, secret?}
 *   POST /__sim/events/deliver                  a set, shuffled and/or duplicated   {ids? | related? | types?, shuffle?, duplicates?, seed?, concurrency?, retry?}
 *
 * Action endpoints answer after the first delivery attempt of every event they caused, with
 * those events (`events`) and their endpoint's answers.
 */

export interface SimResponse {
  status: number;
  body: unknown;
}

export interface EventSummary {
  id: string;
  seq: number;
  type: string;
  created: number;
  /** The id of the event's `data.object`. */
  object: string | null;
  status: EventRecord["status"];
  notSentReason?: string;
  deliveries: DeliveryAttempt[];
}

export function summarize(record: EventRecord): EventSummary {
  const objectId = record.event.data.object.id;
  return {
    id: record.event.id,
    seq: record.seq,
    type: record.event.type,
    created: record.event.created,
    object: typeof objectId === "string" ? objectId : null,
    status: record.status,
    ...(record.notSentReason ? { notSentReason: record.notSentReason } : {}),
    deliveries: record.deliveries,
  };
}

type Json = Record<string, unknown>;

function parseJson(body: string): Json {
  if (body.trim() === "") return {};
  try {
    const value = JSON.parse(body) as unknown;
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Json;
  } catch {
    // answered below
  }
  throw invalidRequest("The body must be a JSON object.");
}

const str = (body: Json, key: string): string | undefined => {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw invalidRequest(`${key} must be a string`, { param: key });
  return v;
};
const int = (body: Json, key: string): number | undefined => {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) throw invalidRequest(`${key} must be an integer`, { param: key });
  return v;
};

/** Deterministic shuffles for reproducible out-of-order tests (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function related(record: EventRecord, id: string): boolean {
  return record.payload.includes(`"${id}"`);
}

const STYLES: readonly InvoiceStyle[] = ["parent", "legacy", "both"];

export async function handleSimRequest(
  ctx: FakeContext,
  deliverer: WebhookDeliverer,
  reset: () => void,
  req: { method: string; path: string; query: URLSearchParams; body: string },
): Promise<SimResponse> {
  const { method, path } = req;
  const findEvent = (id: string): EventRecord => {
    const record = ctx.state.events.find((r) => r.event.id === id);
    if (!record)
      throw new StripeApiError(404, "invalid_request_error", `No such event: '${id}'`, { code: "resource_missing" });
    return record;
  };
  /** Runs a synchronous action, sends what it emitted, answers with those events. */
  const act = async (run: () => Json): Promise<SimResponse> => {
    const firstSeq = ctx.state.nextEventSeq;
    const result = run();
    await ctx.dispatch();
    const events = ctx.state.events.filter((r) => r.seq >= firstSeq).map(summarize);
    return { status: 200, body: { ...result, events } };
  };

  try {
    if (method === "GET" && path === "/__sim/health") return { status: 200, body: { ok: true } };
    if (path === "/__sim/config") {
      if (method === "POST") {
        const body = parseJson(req.body);
        if ("webhookUrl" in body) {
          const url = body.webhookUrl;
          if (url !== null && typeof url !== "string")
            throw invalidRequest("webhookUrl must be a URL or null", { param: "webhookUrl" });
          ctx.config.webhookUrl = url ?? undefined;
        }
        const secret = str(body, "webhookSecret");
        if (secret !== undefined) ctx.config.webhookSecret = secret;
        const style = str(body, "invoiceSubscriptionField");
        if (style !== undefined) {
          if (!(STYLES as readonly string[]).includes(style))
            throw invalidRequest(`invoiceSubscriptionField must be one of ${STYLES.join(", ")}`);
          ctx.config.invoiceStyle = style as InvoiceStyle;
        }
        const enabled = body.enabledEvents;
        if (enabled !== undefined) {
          if (
            enabled !== "*" &&
            enabled !== null &&
            !(Array.isArray(enabled) && enabled.every((t) => typeof t === "string"))
          ) {
            throw invalidRequest(`enabledEvents must be "*", a list of event types, or null for the default list`);
          }
          ctx.config.enabledEvents =
            enabled === "*" ? "*" : [...((enabled as string[] | null) ?? DEFAULT_ENABLED_EVENTS)];
        }
      } else if (method !== "GET") throw invalidRequest(`${method} ${path} is not supported`);
      const { webhookUrl, invoiceStyle, enabledEvents } = ctx.config;
      return {
        status: 200,
        body: { webhookUrl: webhookUrl ?? null, invoiceSubscriptionField: invoiceStyle, enabledEvents },
      };
    }
    if (method === "POST" && path === "/__sim/reset") {
      reset();
      return { status: 200, body: { ok: true } };
    }

    let m = /^\/__sim\/checkout\/sessions\/([^/]+)\/([a-z-]+)$/.exec(path);
    if (m && method === "POST") {
      const action = m[2]!;
      if (!(CHECKOUT_ACTIONS as readonly string[]).includes(action))
        throw invalidRequest(`Unknown action ${action}; one of ${CHECKOUT_ACTIONS.join(", ")}`);
      const body = parseJson(req.body);
      const email = str(body, "email");
      const paymentMethod = str(body, "payment_method");
      if (paymentMethod !== undefined && !["card", "klarna", "us_bank_account"].includes(paymentMethod)) {
        throw invalidRequest(`payment_method must be card, klarna or us_bank_account`, { param: "payment_method" });
      }
      const id = decodeURIComponent(m[1]!);
      return await act(() => ({
        session: structuredClone(
          runCheckoutAction(ctx, id, action as CheckoutAction, {
            ...(email ? { email } : {}),
            ...(paymentMethod ? { paymentMethod: paymentMethod as PaymentMethodKind } : {}),
          }),
        ),
      }));
    }

    m = /^\/__sim\/subscriptions\/([^/]+)\/(renew|fail-renewal|cancel)$/.exec(path);
    if (m && method === "POST") {
      const subscription = getSubscription(ctx, decodeURIComponent(m[1]!));
      const body = parseJson(req.body);
      if (m[2] === "cancel") {
        const reason = str(body, "reason") ?? "cancellation_requested";
        if (!["cancellation_requested", "payment_failed", "payment_disputed"].includes(reason))
          throw invalidRequest(`Unknown reason ${reason}`, { param: "reason" });
        return await act(() => ({
          subscription: structuredClone(
            cancelSubscription(ctx, subscription, {
              reason: reason as "cancellation_requested",
              comment: str(body, "comment") ?? null,
            }),
          ),
        }));
      }
      return await act(() => {
        const invoice = renewSubscription(ctx, subscription, m![2] === "renew" ? "succeeded" : "failed");
        return { subscription: structuredClone(subscription), invoice: structuredClone(invoice) };
      });
    }

    if (method === "POST" && path === "/__sim/refunds") {
      const body = parseJson(req.body);
      const amount = int(body, "amount");
      const reason = str(body, "reason");
      return await act(() => {
        let chargeId = str(body, "charge");
        const pi = str(body, "payment_intent");
        const sessionId = str(body, "checkout_session");
        const invoiceId = str(body, "invoice");
        if (!chargeId && pi) chargeId = chargeOfPaymentIntent(ctx, pi).id;
        if (!chargeId && sessionId) {
          const session = getCheckoutSession(ctx, sessionId, "checkout_session", 400);
          if (session.payment_intent) chargeId = chargeOfPaymentIntent(ctx, session.payment_intent).id;
          else if (session.invoice) chargeId = invoiceCharge(ctx, getInvoice(ctx, session.invoice)) ?? undefined;
        }
        if (!chargeId && invoiceId) chargeId = invoiceCharge(ctx, getInvoice(ctx, invoiceId)) ?? undefined;
        if (!chargeId)
          throw invalidRequest(
            "Say what to refund: charge, payment_intent, checkout_session or invoice (one that was paid).",
          );
        const refund = refundCharge(ctx, getCharge(ctx, chargeId, "charge", 400), {
          ...(amount !== undefined ? { amount } : {}),
          ...(reason ? { reason: reason as Refund["reason"] } : {}),
        });
        return { refund: structuredClone(refund) };
      });
    }

    if (path === "/__sim/events" && method === "POST") {
      const body = parseJson(req.body);
      const type = str(body, "type");
      const object = body.object;
      if (!type) throw invalidRequest("type is required", { param: "type" });
      if (!object || typeof object !== "object" || Array.isArray(object))
        throw invalidRequest("object must be a JSON object", { param: "object" });
      return await act(() => ({ event: ctx.emit(type, object).event.id }));
    }
    if (path === "/__sim/events" && method === "GET") {
      const type = req.query.get("type");
      const rel = req.query.get("related");
      const since = Number(req.query.get("since") ?? 0);
      const limit = Number(req.query.get("limit") ?? 1000);
      const list = ctx.state.events
        .filter((r) => r.seq > since && (!type || r.event.type === type) && (!rel || related(r, rel)))
        .slice(-limit)
        .map(summarize);
      return { status: 200, body: { events: list } };
    }
    if (path === "/__sim/events/deliver" && method === "POST") {
      const body = parseJson(req.body);
      const ids = body.ids;
      const types = body.types;
      const rel = str(body, "related");
      if (ids !== undefined && !(Array.isArray(ids) && ids.every((i) => typeof i === "string")))
        throw invalidRequest("ids must be a list of event ids", { param: "ids" });
      if (types !== undefined && !(Array.isArray(types) && types.every((i) => typeof i === "string")))
        throw invalidRequest("types must be a list", { param: "types" });
      if (ids === undefined && rel === undefined && types === undefined) {
        throw invalidRequest("Choose the events: ids, or related (an object id) and/or types.");
      }
      let records = ids
        ? (ids as string[]).map(findEvent)
        : ctx.state.events.filter(
            (r) => (!rel || related(r, rel)) && (!types || (types as string[]).includes(r.event.type)),
          );
      const random = seeded(int(body, "seed") ?? Date.now());
      const duplicates = typeof body.duplicates === "number" ? body.duplicates : 0;
      if (duplicates < 0 || duplicates > 1)
        throw invalidRequest("duplicates is the share of events sent twice, 0 to 1", { param: "duplicates" });
      records = records.flatMap((r) => (random() < duplicates ? [r, r] : [r]));
      if (body.shuffle === true) {
        for (let i = records.length - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          [records[i], records[j]] = [records[j]!, records[i]!];
        }
      }
      const attempts = await deliverer.sendMany(records, {
        retry: body.retry === true,
        manual: true,
        concurrency: int(body, "concurrency") ?? 1,
      });
      return {
        status: 200,
        body: {
          deliveries: records.map((r, i) => ({
            id: r.event.id,
            type: r.event.type,
            status: attempts[i]!.status,
            ...(attempts[i]!.error ? { error: attempts[i]!.error } : {}),
          })),
        },
      };
    }
    m = /^\/__sim\/events\/([^/]+)(?:\/(replay|signed))?$/.exec(path);
    if (m) {
      const record = findEvent(decodeURIComponent(m[1]!));
      if (!m[2] && method === "GET")
        return { status: 200, body: { ...summarize(record), event: record.event, payload: record.payload } };
      if (m[2] === "replay" && method === "POST") {
        const attempt = await deliverer.send(record, { retry: false, manual: true });
        return { status: 200, body: { id: record.event.id, delivery: attempt } };
      }
      if (m[2] === "signed" && method === "POST") {
        const body = parseJson(req.body);
        const timestamp = int(body, "timestamp");
        const secret = str(body, "secret") ?? ctx.config.webhookSecret;
        return {
          status: 200,
          body: { payload: record.payload, signature: stripeSignatureHeader(record.payload, secret, timestamp) },
        };
      }
    }
    return {
      status: 404,
      body: { error: { type: "invalid_request_error", message: `Unrecognized simulator URL (${method}: ${path}).` } },
    };
  } catch (error) {
    if (error instanceof StripeApiError) return { status: error.status, body: error.body() };
    throw error;
  }
}
