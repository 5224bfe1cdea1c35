import type { IncomingHttpHeaders } from "node:http";
import { StripeApiError } from "./api-error";
import {
  createCheckoutSession,
  expireCheckoutSession,
  getCheckoutSession,
  listSessionLineItems,
} from "./checkout-sessions";
import type { FakeContext, RequestRef } from "./context";
import { createCouponFromParams, getCoupon } from "./coupons";
import { createCustomerFromParams, getCustomer, listCustomers } from "./customers";
import { expandObject } from "./expand";
import { parseStripeForm, type FormObject } from "./form-encoding";
import { withIdempotency } from "./idempotency";
import { newId } from "./ids";
import { getInvoice, listInvoices } from "./invoices";
import { Params } from "./params";
import { getCharge, getPaymentIntent } from "./payments";
import { createRefundFromParams, getRefund } from "./refunds";
import { cancelSubscriptionFromParams, getSubscription } from "./subscriptions";
import { CURRENT_API_VERSION, renderForStyle, styleForApiVersion } from "./views";

/**
 * The `/v1` API: authentication (`Authorization: Bearer sk_test_…`, or Basic with the key as
 * user name, as curl -u sends it), Stripe's form encoding, Idempotency-Key, `expand[]`, and
 * responses rendered for the request's `Stripe-Version`
 * (https://docs.stripe.com/api/versioning). Endpoints: the ones the platform calls
 * (README of this directory: see server.ts).
 */

type Handler = (ctx: FakeContext, p: Params, ids: string[], request: RequestRef, apiVersion: string) => object;

/** Raw events are returned as they were sent: rendered once, in the endpoint's version. */
const AS_SENT = Symbol("as sent");

const retrieveOnly = (p: Params) => p.allowOnly(["expand"]);

const ROUTES: { method: string; pattern: RegExp; handler: Handler }[] = [
  {
    method: "POST",
    pattern: /^\/v1\/checkout\/sessions$/,
    handler: (ctx, p, _ids, _request, apiVersion) => createCheckoutSession(ctx, p, apiVersion),
  },
  {
    method: "GET",
    pattern: /^\/v1\/checkout\/sessions\/([^/]+)$/,
    handler: (ctx, p, [id]) => (retrieveOnly(p), getCheckoutSession(ctx, id!)),
  },
  {
    method: "GET",
    pattern: /^\/v1\/checkout\/sessions\/([^/]+)\/line_items$/,
    handler: (ctx, p, [id]) => listSessionLineItems(ctx, id!, p),
  },
  {
    method: "POST",
    pattern: /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/,
    handler: (ctx, p, [id], request) => (
      retrieveOnly(p),
      expireCheckoutSession(ctx, getCheckoutSession(ctx, id!), request)
    ),
  },
  { method: "POST", pattern: /^\/v1\/coupons$/, handler: (ctx, p) => createCouponFromParams(ctx, p) },
  {
    method: "GET",
    pattern: /^\/v1\/coupons\/([^/]+)$/,
    handler: (ctx, p, [id]) => (retrieveOnly(p), getCoupon(ctx, id!)),
  },
  { method: "POST", pattern: /^\/v1\/customers$/, handler: (ctx, p) => createCustomerFromParams(ctx, p) },
  { method: "GET", pattern: /^\/v1\/customers$/, handler: (ctx, p) => listCustomers(ctx, p) },
  {
    method: "GET",
    pattern: /^\/v1\/customers\/([^/]+)$/,
    handler: (ctx, p, [id]) => (retrieveOnly(p), getCustomer(ctx, id!)),
  },
  {
    method: "GET",
    pattern: /^\/v1\/subscriptions\/([^/]+)$/,
    handler: (ctx, p, [id]) => (retrieveOnly(p), getSubscription(ctx, id!)),
  },
  {
    method: "DELETE",
    pattern: /^\/v1\/subscriptions\/([^/]+)$/,
    handler: (ctx, p, [id], request) => cancelSubscriptionFromParams(ctx, id!, p, request),
  },
  {
    method: "POST",
    pattern: /^\/v1\/refunds$/,
    handler: (ctx, p, _ids, request) => createRefundFromParams(ctx, p, request),
  },
  {
    method: "GET",
    pattern: /^\/v1\/refunds\/([^/]+)$/,
    handler: (ctx, p, [id]) => (retrieveOnly(p), getRefund(ctx, id!)),
  },
  { method: "GET", pattern: /^\/v1\/invoices$/, handler: (ctx, p) => listInvoices(ctx, p) },
  {
    method: "GET",
    pattern: /^\/v1\/invoices\/([^/]+)$/,
    handler: (ctx, p, [id]) => (retrieveOnly(p), getInvoice(ctx, id!)),
  },
  {
    method: "GET",
    pattern: /^\/v1\/payment_intents\/([^/]+)$/,
    handler: (ctx, p, [id]) => (retrieveOnly(p), getPaymentIntent(ctx, id!)),
  },
  {
    method: "GET",
    pattern: /^\/v1\/charges\/([^/]+)$/,
    handler: (ctx, p, [id]) => (retrieveOnly(p), getCharge(ctx, id!)),
  },
  {
    method: "GET",
    pattern: /^\/v1\/events\/([^/]+)$/,
    handler: (ctx, p, [id]) => {
      p.allowOnly([]);
      const record = ctx.state.events.find((r) => r.event.id === id);
      if (!record)
        throw new StripeApiError(404, "invalid_request_error", `No such event: '${id}'`, {
          code: "resource_missing",
          param: "id",
        });
      return { [AS_SENT]: record.payload };
    },
  },
];

export interface ApiRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: string;
  body: string;
  headers: IncomingHttpHeaders;
}

export interface ApiResult {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function apiKeyOf(headers: IncomingHttpHeaders): string | undefined {
  const auth = header(headers, "authorization");
  if (!auth) return undefined;
  const [scheme, credentials] = auth.split(/\s+/, 2);
  if (scheme?.toLowerCase() === "bearer") return credentials;
  if (scheme?.toLowerCase() === "basic" && credentials)
    return Buffer.from(credentials, "base64").toString("utf8").split(":")[0];
  return undefined;
}

function masked(key: string): string {
  return key.length > 12 ? `${key.slice(0, 8)}${"*".repeat(4)}${key.slice(-4)}` : "****";
}

export function handleApiRequest(ctx: FakeContext, apiKey: string, req: ApiRequest): ApiResult {
  const requestId = newId("request");
  const version = header(req.headers, "stripe-version") ?? CURRENT_API_VERSION;
  const idempotencyKey = header(req.headers, "idempotency-key");
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "request-id": requestId,
    "stripe-version": version,
    ...(idempotencyKey !== undefined ? { "idempotency-key": idempotencyKey } : {}),
  };
  const answer = (status: number, body: unknown): ApiResult => ({
    status,
    headers,
    body: JSON.stringify(body, null, 2),
  });
  try {
    const given = apiKeyOf(req.headers);
    if (!given) {
      throw new StripeApiError(
        401,
        "invalid_request_error",
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth " +
          "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details.",
      );
    }
    if (given !== apiKey)
      throw new StripeApiError(401, "invalid_request_error", `Invalid API Key provided: ${masked(given)}`);

    const route = ROUTES.map((r) => ({ r, m: r.pattern.exec(req.path) })).find(
      ({ r, m }) => m && r.method === req.method,
    );
    if (!route?.m) {
      throw new StripeApiError(
        404,
        "invalid_request_error",
        `Unrecognized request URL (${req.method}: ${req.path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
      );
    }
    const values: FormObject = parseStripeForm(req.method === "POST" ? req.body : req.query);
    const ids = route.m.slice(1).map((s) => decodeURIComponent(s));
    const request: RequestRef = { id: requestId, idempotency_key: idempotencyKey ?? null };
    const result = withIdempotency(
      ctx.state,
      { apiKey, key: idempotencyKey, method: req.method, path: req.path, params: values, now: ctx.now() },
      () => {
        const p = new Params(values);
        const object = route.r.handler(ctx, p, ids, request, version) as Record<string | symbol, unknown>;
        if (typeof object[AS_SENT] === "string") return { status: 200, body: object[AS_SENT] };
        const shown = renderForStyle(expandObject(ctx, object, p.strings("expand")), styleForApiVersion(version));
        return { status: 200, body: JSON.stringify(shown, null, 2) };
      },
    );
    ctx.changed();
    if (result.replayed) headers["idempotent-replayed"] = "true";
    return { status: result.status, headers, body: result.body };
  } catch (error) {
    if (error instanceof StripeApiError) return answer(error.status, error.body());
    ctx.log(`fake stripe: ${req.method} ${req.path} failed: ${(error as Error).stack ?? String(error)}`);
    return answer(500, {
      error: { type: "api_error", message: `The fake Stripe API failed: ${(error as Error).message}` },
    });
  }
}
