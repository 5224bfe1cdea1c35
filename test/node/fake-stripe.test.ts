import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Stripe from "stripe";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeStripe, type FakeStripe } from "../../scripts/lib/fake-stripe/server";
import { freePort } from "../../scripts/lib/free-port";

// The fake Stripe over real HTTP, driven by the real Stripe SDK (fetch client, as in workerd),
// with its webhooks received by a local HTTP server and verified by the SDK's constructEvent.

const SECRET = "whsec_fake_stripe_test_secret_0123456789";

interface Received {
  body: string;
  signature: string;
  headers: IncomingHttpHeaders;
  event: Stripe.Event;
}

/** A webhook endpoint: keeps every request raw, answers 200 or the statuses queued. */
class Receiver {
  received: Received[] = [];
  answers: number[] = [];
  url = "";
  private server: Server | undefined;

  async start(): Promise<void> {
    const port = await freePort();
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const signature = String(req.headers["stripe-signature"] ?? "");
        this.received.push({ body, signature, headers: req.headers, event: JSON.parse(body) as Stripe.Event });
        res.writeHead(this.answers.shift() ?? 200).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${port}/webhooks/stripe`;
  }

  reset(): void {
    this.received = [];
    this.answers = [];
  }

  types(): string[] {
    return this.received.map((r) => r.event.type);
  }

  /** The verified events of a type, in arrival order. */
  verified(type?: string): Stripe.Event[] {
    return this.received
      .filter((r) => type === undefined || r.event.type === type)
      .map((r) => stripe.webhooks.constructEvent(r.body, r.signature, SECRET));
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

let fake: FakeStripe;
let stripe: Stripe;
const receiver = new Receiver();

async function sim<T = Record<string, unknown>>(
  path: string,
  body: unknown = {},
  method = "POST",
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${fake.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(method === "GET" ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** With the fetch client, `lastResponse.headers` is the fetch Headers object. */
function responseHeader(resource: { lastResponse: { headers: unknown } }, name: string): string | null | undefined {
  const headers = resource.lastResponse.headers as Headers | Record<string, string>;
  return headers instanceof Headers ? headers.get(name) : headers[name];
}

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

const oneTime = (name: string, unitAmount: number, quantity = 1): Stripe.Checkout.SessionCreateParams.LineItem => ({
  quantity,
  price_data: { currency: "usd", unit_amount: unitAmount, product_data: { name } },
});
const monthly = (name: string, unitAmount: number): Stripe.Checkout.SessionCreateParams.LineItem => ({
  quantity: 1,
  price_data: { currency: "usd", unit_amount: unitAmount, product_data: { name }, recurring: { interval: "month" } },
});

function paymentSession(extra: Partial<Stripe.Checkout.SessionCreateParams> = {}) {
  return stripe.checkout.sessions.create({
    mode: "payment",
    line_items: [oneTime("UCR registration", 14900), oneTime("Card surcharge", 447)],
    allowed_payment_method_types: ["card", "us_bank_account"],
    client_reference_id: "CO-2026-000123",
    customer_email: "buyer@carrier.test",
    metadata: { order_numbers: "CO-2026-000123" },
    success_url: "http://docket.test/checkout/success?session={CHECKOUT_SESSION_ID}",
    cancel_url: "http://docket.test/checkout/cancel",
    ...extra,
  });
}

function subscriptionSession(extra: Partial<Stripe.Checkout.SessionCreateParams> = {}) {
  return stripe.checkout.sessions.create({
    mode: "subscription",
    line_items: [monthly("OIG/SAM exclusion monitoring", 7900)],
    allowed_payment_method_types: ["card", "us_bank_account"],
    client_reference_id: "CO-2026-000200",
    customer_email: "clinic@health.test",
    subscription_data: { metadata: { order_number: "CO-2026-000200" } },
    success_url: "http://docket.test/checkout/success?session={CHECKOUT_SESSION_ID}",
    cancel_url: "http://docket.test/checkout/cancel",
    ...extra,
  });
}

beforeAll(async () => {
  await receiver.start();
  fake = await startFakeStripe({
    port: await freePort(),
    webhookUrl: receiver.url,
    webhookSecret: SECRET,
    webhookRetry: { maxAttempts: 3, baseDelayMs: 30 },
    webhookTimeoutMs: 2000,
  });
  stripe = new Stripe(fake.apiKey, {
    ...fake.sdkOptions,
    httpClient: Stripe.createFetchHttpClient(),
    maxNetworkRetries: 0,
  });
});

afterAll(async () => {
  await fake?.close();
  await receiver.close();
});

beforeEach(async () => {
  receiver.reset();
  await sim("/__sim/config", { webhookUrl: receiver.url, invoiceSubscriptionField: "parent", enabledEvents: null });
});

describe("the API through the Stripe SDK", () => {
  it("creates a Checkout Session, replays it for the same Idempotency-Key, and refuses the key with other params", async () => {
    const params: Stripe.Checkout.SessionCreateParams = {
      mode: "payment",
      line_items: [oneTime("BOC-3 filing", 4900)],
      client_reference_id: "CO-2026-000001",
      customer_email: "a@carrier.test",
      success_url: "http://docket.test/ok",
    };
    const first = await stripe.checkout.sessions.create(params, { idempotencyKey: "order-CO-2026-000001" });
    expect(first.id).toMatch(/^cs_test_[0-9A-Za-z]{58}$/);
    expect(first.url).toBe(`${fake.url}/checkout/${first.id}`);
    expect(first).toMatchObject({
      object: "checkout.session",
      mode: "payment",
      status: "open",
      payment_status: "unpaid",
      amount_total: 4900,
      currency: "usd",
      client_reference_id: "CO-2026-000001",
      customer: null,
      payment_intent: null,
      payment_method_types: ["card", "klarna", "us_bank_account"],
      allowed_payment_method_types: null,
    });
    const again = await stripe.checkout.sessions.create(params, { idempotencyKey: "order-CO-2026-000001" });
    expect(again.id).toBe(first.id);
    expect(responseHeader(again, "idempotent-replayed")).toBe("true");

    const error = await stripe.checkout.sessions
      .create({ ...params, line_items: [oneTime("BOC-3 filing", 1)] }, { idempotencyKey: "order-CO-2026-000001" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect((error as Stripe.errors.StripeError).statusCode).toBe(400);
    expect((error as Stripe.errors.StripeError).message).toMatch(/same parameters/);
  });

  it("answers bad requests with Stripe's error shapes and status codes", async () => {
    const missing = await stripe.checkout.sessions
      .create({ mode: "payment", success_url: "http://docket.test/ok" })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(missing).toMatchObject({ statusCode: 400, code: "parameter_missing", param: "line_items" });

    const unknown = await stripe.checkout.sessions
      .create({
        mode: "payment",
        line_items: [oneTime("x", 100)],
        colour: "red",
      } as Stripe.Checkout.SessionCreateParams)
      .catch((e: unknown) => e);
    expect(unknown).toMatchObject({ statusCode: 400, code: "parameter_unknown", param: "colour" });

    const nested = await stripe.checkout.sessions
      .create({
        mode: "payment",
        line_items: [{ quantity: 1, price_data: { currency: "usd", product_data: { name: "x" } } }],
      })
      .catch((e: unknown) => e);
    expect(nested).toMatchObject({ code: "parameter_missing", param: "line_items[0][price_data][unit_amount]" });

    const recurringInPayment = await stripe.checkout.sessions
      .create({ mode: "payment", line_items: [monthly("Monitoring", 7900)] })
      .catch((e: unknown) => e);
    expect((recurringInPayment as Error).message).toMatch(/`payment` mode but passed a recurring price/);

    const noRecurring = await stripe.checkout.sessions
      .create({ mode: "subscription", line_items: [oneTime("x", 7900)] })
      .catch((e: unknown) => e);
    expect((noRecurring as Error).message).toMatch(/at least one recurring price/);

    const both = await stripe.checkout.sessions
      .create({ mode: "payment", line_items: [oneTime("x", 100)], customer: "cus_nope", customer_email: "a@b.test" })
      .catch((e: unknown) => e);
    expect((both as Error).message).toMatch(/only specify one of these parameters: customer, customer_email/);

    const soon = await stripe.checkout.sessions
      .create({ mode: "payment", line_items: [oneTime("x", 100)], expires_at: Math.floor(Date.now() / 1000) + 60 })
      .catch((e: unknown) => e);
    expect(soon).toMatchObject({ param: "expires_at" });

    const notFound = await stripe.checkout.sessions.retrieve("cs_test_nope").catch((e: unknown) => e);
    expect(notFound).toMatchObject({ statusCode: 404, code: "resource_missing", type: "StripeInvalidRequestError" });

    const badKey = new Stripe("sk_test_wrong_key_123456789", {
      ...fake.sdkOptions,
      httpClient: Stripe.createFetchHttpClient(),
      maxNetworkRetries: 0,
    });
    const unauthorized = await badKey.customers.create({ email: "a@b.test" }).catch((e: unknown) => e);
    expect(unauthorized).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect((unauthorized as Stripe.errors.StripeError).statusCode).toBe(401);

    const raw = await fetch(`${fake.url}/v1/customers/cus_nope`, {
      headers: { authorization: `Bearer ${fake.apiKey}` },
    });
    expect(raw.status).toBe(404);
    expect(await raw.json()).toMatchObject({
      error: {
        type: "invalid_request_error",
        code: "resource_missing",
        param: "id",
        message: "No such customer: 'cus_nope'",
      },
    });
  });

  it("takes allowed_payment_method_types since 2026-09-30.endive, and payment_method_types before it", async () => {
    const allowed = await paymentSession({ allowed_payment_method_types: ["us_bank_account", "paypal"] });
    expect(allowed).toMatchObject({
      allowed_payment_method_types: ["us_bank_account", "paypal"],
      payment_method_types: ["us_bank_account"],
    });
    const removed = await stripe.checkout.sessions
      .create({
        mode: "payment",
        line_items: [oneTime("x", 100)],
        payment_method_types: ["card"],
      } as Stripe.Checkout.SessionCreateParams)
      .catch((e: unknown) => e);
    expect(removed).toMatchObject({ statusCode: 400, code: "parameter_unknown", param: "payment_method_types" });
    const old = await fetch(`${fake.url}/v1/checkout/sessions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${fake.apiKey}`,
        "stripe-version": "2025-03-31.basil",
        "content-type": "application/x-www-form-urlencoded",
      },
      body:
        "mode=payment&line_items[0][quantity]=1&line_items[0][price_data][currency]=usd&line_items[0][price_data][unit_amount]=900" +
        "&line_items[0][price_data][product_data][name]=MCS-150&payment_method_types[0]=card&payment_method_types[1]=klarna",
    });
    expect(old.status).toBe(200);
    expect(await old.json()).toMatchObject({
      payment_method_types: ["card", "klarna"],
      allowed_payment_method_types: null,
    });
  });

  it("retrieves a session with its line items, and expires it with a signed checkout.session.expired", async () => {
    const session = await paymentSession();
    const got = await stripe.checkout.sessions.retrieve(session.id, { expand: ["line_items"] });
    expect(got.line_items?.data.map((i) => [i.description, i.amount_total])).toEqual([
      ["UCR registration", 14900],
      ["Card surcharge", 447],
    ]);
    expect(got.amount_total).toBe(15347);
    const items = await stripe.checkout.sessions.listLineItems(session.id);
    expect(items.data).toHaveLength(2);

    const expired = await stripe.checkout.sessions.expire(session.id);
    expect(expired).toMatchObject({ status: "expired", url: null });
    await waitFor(() => receiver.received.length > 0);
    const [event] = receiver.verified("checkout.session.expired");
    expect(event?.data.object).toMatchObject({
      id: session.id,
      status: "expired",
      client_reference_id: "CO-2026-000123",
    });
    expect(event?.request?.id).toMatch(/^req_/);

    const twice = await stripe.checkout.sessions.expire(session.id).catch((e: unknown) => e);
    expect((twice as Error).message).toMatch(/status of "expired"/);
  });

  it("creates, retrieves and lists customers, and uses one for a session", async () => {
    const customer = await stripe.customers.create({
      email: "owner@fleet.test",
      name: "Fleet Owner",
      metadata: { docket_id: "42" },
    });
    expect(customer).toMatchObject({
      object: "customer",
      email: "owner@fleet.test",
      name: "Fleet Owner",
      metadata: { docket_id: "42" },
    });
    expect((await stripe.customers.retrieve(customer.id)) as Stripe.Customer).toMatchObject({
      id: customer.id,
      email: "owner@fleet.test",
    });
    const listed = await stripe.customers.list({ email: "owner@fleet.test" });
    expect(listed.data.map((c) => c.id)).toEqual([customer.id]);
    const invalid = await stripe.customers.create({ email: "not an email" }).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ code: "email_invalid", param: "email" });

    const session = await paymentSession({ customer: customer.id, customer_email: undefined });
    expect(session.customer).toBe(customer.id);
    const missing = await paymentSession({ customer: "cus_missing", customer_email: undefined }).catch(
      (e: unknown) => e,
    );
    expect(missing).toMatchObject({ statusCode: 400, code: "resource_missing", param: "customer" });
  });
});

describe("one-time payments", () => {
  it("pays by card: checkout.session.completed (paid) signed like Stripe, then partial and full refunds", async () => {
    const session = await paymentSession({ payment_intent_data: { metadata: { order_number: "CO-2026-000123" } } });
    const { body } = await sim<{ events: { type: string; status: string }[] }>(
      `/__sim/checkout/sessions/${session.id}/pay`,
    );
    expect(body.events.map((e) => [e.type, e.status])).toEqual([
      ["charge.succeeded", "not_sent"],
      ["payment_intent.succeeded", "not_sent"],
      ["checkout.session.completed", "delivered"],
    ]);
    expect(receiver.types()).toEqual(["checkout.session.completed"]);
    const delivered = receiver.received[0]!;
    expect(delivered.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(delivered.headers["content-type"]).toBe("application/json; charset=utf-8");
    // Stripe's payload is pretty-printed: verification must use the raw body.
    expect(delivered.body).toContain('\n  "id": "evt_');
    const [completed] = receiver.verified("checkout.session.completed");
    expect(completed).toMatchObject({ object: "event", livemode: false, api_version: Stripe.API_VERSION });
    expect(completed!.id).toMatch(/^evt_/);
    const cs = completed!.data.object as Stripe.Checkout.Session;
    expect(cs).toMatchObject({
      id: session.id,
      mode: "payment",
      status: "complete",
      payment_status: "paid",
      amount_total: 15347,
      client_reference_id: "CO-2026-000123",
      metadata: { order_numbers: "CO-2026-000123" },
      customer: null,
      customer_details: { email: "buyer@carrier.test" },
    });
    expect(() => stripe.webhooks.constructEvent(delivered.body, delivered.signature, "whsec_other")).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
    expect(() =>
      stripe.webhooks.constructEvent(delivered.body.replace("15347", "1"), delivered.signature, SECRET),
    ).toThrow();

    const expanded = await stripe.checkout.sessions.retrieve(session.id, {
      expand: ["payment_intent", "line_items.data.price.product"],
    });
    expect((expanded.payment_intent as Stripe.PaymentIntent).status).toBe("succeeded");
    expect((expanded.line_items!.data[0]!.price!.product as Stripe.Product).name).toBe("UCR registration");
    const badExpand = await stripe.checkout.sessions
      .retrieve(session.id, { expand: ["amount_total"] })
      .catch((e: unknown) => e);
    expect((badExpand as Error).message).toMatch(/cannot be expanded/);

    const pi = await stripe.paymentIntents.retrieve(cs.payment_intent as string);
    expect(pi).toMatchObject({
      status: "succeeded",
      amount: 15347,
      amount_received: 15347,
      metadata: { order_number: "CO-2026-000123" },
    });

    receiver.reset();
    const partial = await stripe.refunds.create({ payment_intent: pi.id, amount: 447 }, { idempotencyKey: "refund-1" });
    expect(partial).toMatchObject({ object: "refund", amount: 447, status: "succeeded", payment_intent: pi.id });
    await waitFor(() => receiver.received.length === 1);
    const [refunded] = receiver.verified("charge.refunded");
    expect(refunded!.data.object).toMatchObject({
      id: pi.latest_charge,
      amount_refunded: 447,
      refunded: false,
      payment_intent: pi.id,
      metadata: { order_number: "CO-2026-000123" },
    });
    expect(refunded!.data.previous_attributes).toEqual({ amount_refunded: 0, refunded: false });
    expect(refunded!.request).toEqual({ id: expect.stringMatching(/^req_/), idempotency_key: "refund-1" });

    const tooMuch = await stripe.refunds
      .create({ charge: pi.latest_charge as string, amount: 20000 })
      .catch((e: unknown) => e);
    expect(tooMuch).toMatchObject({ code: "amount_too_large", param: "amount" });
    const rest = await stripe.refunds.create({ charge: pi.latest_charge as string });
    expect(rest.amount).toBe(14900);
    await waitFor(() => receiver.received.length === 2);
    expect(receiver.verified("charge.refunded")[1]!.data.object).toMatchObject({
      amount_refunded: 15347,
      refunded: true,
    });
    const again = await stripe.refunds.create({ payment_intent: pi.id }).catch((e: unknown) => e);
    expect(again).toMatchObject({ code: "charge_already_refunded" });
  });

  it("ACH: completed with payment_status unpaid, then async_payment_succeeded", async () => {
    const session = await paymentSession();
    await sim(`/__sim/checkout/sessions/${session.id}/ach`);
    const [completed] = receiver.verified("checkout.session.completed");
    expect(completed!.data.object).toMatchObject({ id: session.id, status: "complete", payment_status: "unpaid" });
    const pi = await stripe.paymentIntents.retrieve(
      (completed!.data.object as Stripe.Checkout.Session).payment_intent as string,
    );
    expect(pi.status).toBe("processing");

    await sim(`/__sim/checkout/sessions/${session.id}/ach-succeed`);
    expect(receiver.types()).toEqual(["checkout.session.completed", "checkout.session.async_payment_succeeded"]);
    expect(receiver.verified("checkout.session.async_payment_succeeded")[0]!.data.object).toMatchObject({
      payment_status: "paid",
    });
    expect((await stripe.checkout.sessions.retrieve(session.id)).payment_status).toBe("paid");
    const again = await sim(`/__sim/checkout/sessions/${session.id}/ach-fail`);
    expect(again.status).toBe(400);
  });

  it("ACH: completed (unpaid), then async_payment_failed with payment_intent.payment_failed", async () => {
    const session = await paymentSession();
    await sim(`/__sim/checkout/sessions/${session.id}/ach`);
    await sim(`/__sim/checkout/sessions/${session.id}/ach-fail`);
    expect(receiver.types()).toEqual([
      "checkout.session.completed",
      "payment_intent.payment_failed",
      "checkout.session.async_payment_failed",
    ]);
    expect(receiver.verified("checkout.session.async_payment_failed")[0]!.data.object).toMatchObject({
      payment_status: "unpaid",
    });
    const failed = receiver.verified("payment_intent.payment_failed")[0]!.data.object as Stripe.PaymentIntent;
    expect(failed.last_payment_error).toMatchObject({ code: "insufficient_funds" });
  });

  it("a declined card leaves the session open; paying afterwards completes it", async () => {
    const session = await paymentSession();
    await sim(`/__sim/checkout/sessions/${session.id}/fail`);
    expect(receiver.types()).toEqual(["payment_intent.payment_failed"]);
    expect((receiver.verified()[0]!.data.object as Stripe.PaymentIntent).last_payment_error).toMatchObject({
      code: "card_declined",
      decline_code: "generic_decline",
    });
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe("open");
    await sim(`/__sim/checkout/sessions/${session.id}/pay`);
    expect(receiver.types()).toEqual(["payment_intent.payment_failed", "checkout.session.completed"]);
  });
});

describe("subscriptions", () => {
  it("first invoice (subscription_create), renewals (subscription_cycle), failed renewals 1, 2, a retry, then cancellation", async () => {
    const session = await subscriptionSession();
    await sim(`/__sim/checkout/sessions/${session.id}/pay`);
    expect(receiver.types()).toEqual(["invoice.paid", "checkout.session.completed"]);
    const cs = receiver.verified("checkout.session.completed")[0]!.data.object as Stripe.Checkout.Session;
    expect(cs).toMatchObject({ mode: "subscription", payment_status: "paid", client_reference_id: "CO-2026-000200" });
    expect(cs.subscription).toMatch(/^sub_/);
    expect(cs.customer).toMatch(/^cus_/);
    const subscriptionId = cs.subscription as string;
    const first = receiver.verified("invoice.paid")[0]!.data.object as Stripe.Invoice;
    expect(first).toMatchObject({
      billing_reason: "subscription_create",
      amount_paid: 7900,
      attempt_count: 1,
      status: "paid",
    });
    expect(first.parent?.subscription_details?.subscription).toBe(subscriptionId);
    expect(first.parent?.subscription_details?.metadata).toEqual({ order_number: "CO-2026-000200" });

    const sub = await stripe.subscriptions.retrieve(subscriptionId);
    expect(sub).toMatchObject({ status: "active", metadata: { order_number: "CO-2026-000200" } });
    const periodEnd = sub.items.data[0]!.current_period_end;

    receiver.reset();
    await sim(`/__sim/subscriptions/${subscriptionId}/renew`);
    const renewal = receiver.verified("invoice.paid")[0]!.data.object as Stripe.Invoice;
    expect(renewal).toMatchObject({ billing_reason: "subscription_cycle", amount_paid: 7900, attempt_count: 1 });
    expect(renewal.lines.data[0]!.period.start).toBe(periodEnd);
    expect((await stripe.subscriptions.retrieve(subscriptionId)).items.data[0]!.current_period_start).toBe(periodEnd);

    receiver.reset();
    await sim(`/__sim/subscriptions/${subscriptionId}/fail-renewal`);
    await sim(`/__sim/subscriptions/${subscriptionId}/fail-renewal`);
    const failures = receiver.verified("invoice.payment_failed").map((e) => e.data.object as Stripe.Invoice);
    expect(failures.map((i) => [i.billing_reason, i.attempt_count, i.status])).toEqual([
      ["subscription_cycle", 1, "open"],
      ["subscription_cycle", 2, "open"],
    ]);
    expect(failures[1]!.id).toBe(failures[0]!.id);
    expect((await stripe.subscriptions.retrieve(subscriptionId)).status).toBe("past_due");
    const open = await stripe.invoices.retrieve(failures[0]!.id!);
    expect(open).toMatchObject({ status: "open", attempt_count: 2 });

    await sim(`/__sim/subscriptions/${subscriptionId}/renew`);
    const retried = receiver.verified("invoice.paid")[0]!.data.object as Stripe.Invoice;
    expect(retried).toMatchObject({
      id: failures[0]!.id,
      billing_reason: "subscription_cycle",
      attempt_count: 3,
      status: "paid",
    });
    expect((await stripe.subscriptions.retrieve(subscriptionId)).status).toBe("active");

    receiver.reset();
    const canceled = await stripe.subscriptions.cancel(subscriptionId, {
      cancellation_details: { comment: "closing the clinic" },
    });
    expect(canceled).toMatchObject({
      status: "canceled",
      cancellation_details: { reason: "cancellation_requested", comment: "closing the clinic" },
    });
    await waitFor(() => receiver.received.length === 1);
    const [deleted] = receiver.verified("customer.subscription.deleted");
    expect(deleted!.data.object).toMatchObject({ id: subscriptionId, status: "canceled" });
    const twice = await stripe.subscriptions.cancel(subscriptionId).catch((e: unknown) => e);
    expect(twice).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((await sim(`/__sim/subscriptions/${subscriptionId}/renew`)).status).toBe(400);
  });

  it("carries one-time lines on the first invoice only, and refunds a subscription payment", async () => {
    const session = await subscriptionSession({
      line_items: [monthly("OIG/SAM exclusion monitoring", 7900), oneTime("Card surcharge", 237)],
    });
    await sim(`/__sim/checkout/sessions/${session.id}/pay`);
    const first = receiver.verified("invoice.paid")[0]!.data.object as Stripe.Invoice;
    expect([first.amount_paid, first.lines.data.length]).toEqual([8137, 2]);
    const subscriptionId = (receiver.verified("checkout.session.completed")[0]!.data.object as Stripe.Checkout.Session)
      .subscription as string;
    receiver.reset();
    const { body } = await sim<{ invoice: Stripe.Invoice }>(`/__sim/subscriptions/${subscriptionId}/renew`);
    expect([body.invoice.amount_paid, body.invoice.lines.data.length]).toEqual([7900, 1]);
    receiver.reset();
    await sim(`/__sim/refunds`, { invoice: first.id, amount: 237 });
    expect(receiver.verified("charge.refunded")[0]!.data.object).toMatchObject({ amount: 8137, amount_refunded: 237 });
  });

  it("applies a one-off coupon to the first invoice only, and redeems it once", async () => {
    const coupon = await stripe.coupons.create(
      { amount_off: 2000, currency: "usd", duration: "once", max_redemptions: 1, name: "WELCOME20" },
      { idempotencyKey: "CK-2026-000300:coupon" },
    );
    expect(coupon).toMatchObject({
      object: "coupon",
      amount_off: 2000,
      duration: "once",
      times_redeemed: 0,
      valid: true,
    });
    const session = await subscriptionSession({ discounts: [{ coupon: coupon.id }] });
    expect(session).toMatchObject({
      amount_subtotal: 7900,
      amount_total: 5900,
      total_details: { amount_discount: 2000 },
    });
    await sim(`/__sim/checkout/sessions/${session.id}/pay`);
    const first = receiver.verified("invoice.paid")[0]!.data.object as Stripe.Invoice;
    expect(first).toMatchObject({ subtotal: 7900, total: 5900, amount_paid: 5900 });
    expect(first.total_discount_amounts?.[0]?.amount).toBe(2000);
    expect(await stripe.coupons.retrieve(coupon.id)).toMatchObject({ times_redeemed: 1, valid: false });
    const subscriptionId = (receiver.verified("checkout.session.completed")[0]!.data.object as Stripe.Checkout.Session)
      .subscription as string;
    receiver.reset();
    await sim(`/__sim/subscriptions/${subscriptionId}/renew`);
    expect(receiver.verified("invoice.paid")[0]!.data.object).toMatchObject({
      billing_reason: "subscription_cycle",
      amount_paid: 7900,
    });
    const reused = await subscriptionSession({ discounts: [{ coupon: coupon.id }] }).catch((e: unknown) => e);
    expect(reused).toMatchObject({ statusCode: 400, param: "discounts[0][coupon]" });

    const forever = await stripe.coupons.create({ percent_off: 10, duration: "forever" });
    const discounted = await subscriptionSession({ discounts: [{ coupon: forever.id }] });
    receiver.reset();
    await sim(`/__sim/checkout/sessions/${discounted.id}/pay`);
    const sub = (receiver.verified("checkout.session.completed")[0]!.data.object as Stripe.Checkout.Session)
      .subscription as string;
    await sim(`/__sim/subscriptions/${sub}/renew`);
    expect(receiver.verified("invoice.paid").map((e) => (e.data.object as Stripe.Invoice).amount_paid)).toEqual([
      7110, 7110,
    ]);
  });

  it("ACH first payment: subscription incomplete until it settles; a failed settlement sends invoice.payment_failed", async () => {
    const ok = await subscriptionSession();
    await sim(`/__sim/checkout/sessions/${ok.id}/ach`);
    expect(receiver.types()).toEqual(["checkout.session.completed"]);
    const cs = receiver.verified()[0]!.data.object as Stripe.Checkout.Session;
    expect(cs.payment_status).toBe("unpaid");
    expect((await stripe.subscriptions.retrieve(cs.subscription as string)).status).toBe("incomplete");
    await sim(`/__sim/checkout/sessions/${ok.id}/ach-succeed`);
    expect(receiver.types()).toEqual([
      "checkout.session.completed",
      "invoice.paid",
      "checkout.session.async_payment_succeeded",
    ]);
    expect(receiver.verified("invoice.paid")[0]!.data.object).toMatchObject({
      billing_reason: "subscription_create",
      attempt_count: 1,
    });
    expect((await stripe.subscriptions.retrieve(cs.subscription as string)).status).toBe("active");

    receiver.reset();
    const bad = await subscriptionSession();
    await sim(`/__sim/checkout/sessions/${bad.id}/ach`);
    await sim(`/__sim/checkout/sessions/${bad.id}/ach-fail`);
    expect(receiver.types()).toEqual([
      "checkout.session.completed",
      "payment_intent.payment_failed",
      "invoice.payment_failed",
      "checkout.session.async_payment_failed",
    ]);
    const failedSub = (receiver.verified()[0]!.data.object as Stripe.Checkout.Session).subscription as string;
    expect((await stripe.subscriptions.retrieve(failedSub)).status).toBe("incomplete_expired");
  });

  it("puts the invoice's subscription id where the configured API generation puts it", async () => {
    const idsOf = (invoice: Record<string, unknown>) => ({
      legacy: invoice.subscription,
      parent: (invoice.parent as { subscription_details?: { subscription?: string } } | undefined)?.subscription_details
        ?.subscription,
    });
    const run = async (style: "parent" | "legacy" | "both") => {
      receiver.reset();
      await sim("/__sim/config", { invoiceSubscriptionField: style });
      const session = await subscriptionSession();
      await sim(`/__sim/checkout/sessions/${session.id}/pay`);
      const event = receiver.verified("invoice.paid")[0]!;
      const subscriptionId = (
        receiver.verified("checkout.session.completed")[0]!.data.object as Stripe.Checkout.Session
      ).subscription;
      return { event, subscriptionId, ids: idsOf(event.data.object as unknown as Record<string, unknown>) };
    };
    const parent = await run("parent");
    expect(parent.ids).toEqual({ legacy: undefined, parent: parent.subscriptionId });
    expect(parent.event.api_version).toBe(Stripe.API_VERSION);
    const legacy = await run("legacy");
    expect(legacy.ids).toEqual({ legacy: legacy.subscriptionId, parent: undefined });
    expect(legacy.event.api_version).toBe("2025-02-24.acacia");
    expect((legacy.event.data.object as unknown as Record<string, unknown>).paid).toBe(true);
    const both = await run("both");
    expect(both.ids).toEqual({ legacy: both.subscriptionId, parent: both.subscriptionId });

    // API responses follow the request's Stripe-Version: the pinned SDK gets basil's shape.
    const invoiceId = (legacy.event.data.object as Stripe.Invoice).id!;
    expect(idsOf((await stripe.invoices.retrieve(invoiceId)) as unknown as Record<string, unknown>)).toEqual({
      legacy: undefined,
      parent: legacy.subscriptionId,
    });
    const old = await fetch(`${fake.url}/v1/invoices/${invoiceId}`, {
      headers: { authorization: `Bearer ${fake.apiKey}`, "stripe-version": "2024-06-20" },
    });
    expect(idsOf((await old.json()) as Record<string, unknown>)).toEqual({
      legacy: legacy.subscriptionId,
      parent: undefined,
    });
  });
});

describe("webhook delivery", () => {
  it("retries a failing endpoint with backoff, a bounded number of times", async () => {
    const session = await paymentSession();
    receiver.answers = [500, 503];
    await sim(`/__sim/checkout/sessions/${session.id}/pay`);
    await waitFor(() => receiver.received.length === 3);
    const ids = new Set(receiver.received.map((r) => r.event.id));
    expect(ids.size).toBe(1);
    const [summary] = (
      await sim<{ events: { status: string; deliveries: { status: number }[] }[] }>(
        `/__sim/events?type=checkout.session.completed&related=${session.id}`,
        undefined,
        "GET",
      )
    ).body.events;
    expect(summary!.status).toBe("delivered");
    expect(summary!.deliveries.map((d) => d.status)).toEqual([500, 503, 200]);

    receiver.reset();
    receiver.answers = [500, 500, 500, 500];
    const doomed = await paymentSession();
    await sim(`/__sim/checkout/sessions/${doomed.id}/pay`);
    await waitFor(() => receiver.received.length === 3);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received).toHaveLength(3);
    const record = fake.events().find((e) => e.type === "checkout.session.completed" && e.object === doomed.id)!;
    expect(record.status).toBe("failed");
  });

  it("replays an event (same id and body, signed afresh), and delivers a set shuffled with duplicates", async () => {
    const session = await paymentSession();
    await sim(`/__sim/checkout/sessions/${session.id}/ach`);
    await sim(`/__sim/checkout/sessions/${session.id}/ach-succeed`);
    const [completed] = receiver.received;
    const replay = await sim<{ delivery: { status: number } }>(`/__sim/events/${completed!.event.id}/replay`);
    expect(replay.body.delivery.status).toBe(200);
    const replayed = receiver.received.at(-1)!;
    expect(replayed.body).toBe(completed!.body);
    expect(stripe.webhooks.constructEvent(replayed.body, replayed.signature, SECRET).id).toBe(completed!.event.id);

    receiver.reset();
    const { body } = await sim<{ deliveries: { id: string; status: number }[] }>("/__sim/events/deliver", {
      related: session.id,
      types: ["checkout.session.completed", "checkout.session.async_payment_succeeded"],
      shuffle: true,
      duplicates: 1,
      seed: 7,
      concurrency: 4,
    });
    expect(body.deliveries).toHaveLength(4);
    expect(body.deliveries.every((d) => d.status === 200)).toBe(true);
    expect(
      receiver
        .verified()
        .map((e) => e.type)
        .sort(),
    ).toEqual([
      "checkout.session.async_payment_succeeded",
      "checkout.session.async_payment_succeeded",
      "checkout.session.completed",
      "checkout.session.completed",
    ]);
  });

  it("hands out signed payloads to post yourself (workerd tests), with another secret or an old timestamp on request", async () => {
    await sim("/__sim/config", { webhookUrl: null });
    const session = await paymentSession();
    const { body } = await sim<{ events: { id: string; type: string; status: string }[] }>(
      `/__sim/checkout/sessions/${session.id}/pay`,
    );
    const completed = body.events.find((e) => e.type === "checkout.session.completed")!;
    expect(completed.status).toBe("not_sent");
    const signed = await sim<{ payload: string; signature: string }>(`/__sim/events/${completed.id}/signed`);
    expect(stripe.webhooks.constructEvent(signed.body.payload, signed.body.signature, SECRET).id).toBe(completed.id);
    const stale = await sim<{ payload: string; signature: string }>(`/__sim/events/${completed.id}/signed`, {
      timestamp: 1_000_000_000,
    });
    expect(() => stripe.webhooks.constructEvent(stale.body.payload, stale.body.signature, SECRET)).toThrow(/tolerance/);
    const forged = await sim<{ payload: string; signature: string }>(`/__sim/events/${completed.id}/signed`, {
      secret: "whsec_attacker",
    });
    expect(() => stripe.webhooks.constructEvent(forged.body.payload, forged.body.signature, SECRET)).toThrow();
    expect(receiver.received).toHaveLength(0);
    const event = await stripe.events.retrieve(completed.id);
    expect(event.type).toBe("checkout.session.completed");
  });

  it('sends every type with enabledEvents "*", and custom events', async () => {
    await sim("/__sim/config", { enabledEvents: "*" });
    const session = await paymentSession();
    await sim(`/__sim/checkout/sessions/${session.id}/pay`);
    expect(receiver.types()).toEqual(["charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"]);
    receiver.reset();
    await sim("/__sim/events", { type: "customer.tax_id.created", object: { id: "txi_1", object: "tax_id" } });
    expect(receiver.verified()[0]).toMatchObject({
      type: "customer.tax_id.created",
      data: { object: { id: "txi_1" } },
    });
  });
});

describe("the stand-in checkout page", () => {
  const form = (email = "buyer@carrier.test") => ({
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ email }).toString(),
    redirect: "manual" as const,
  });

  it("renders the line items and total with everything escaped", async () => {
    const session = await stripe.checkout.sessions.create({
      mode: "payment",
      line_items: [oneTime(`<script>alert("x")</script> & "IFTA"`, 12345, 2)],
      allowed_payment_method_types: ["card", "us_bank_account"],
      client_reference_id: `CO-"><img src=x>`,
      cancel_url: `http://docket.test/cancel?a=1&b="2"`,
    });
    const res = await fetch(session.url!);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await res.text();
    expect(html).not.toContain("<script>");
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;IFTA&quot;");
    expect(html).toContain("$246.90");
    expect(html).toContain("http://docket.test/cancel?a=1&amp;b=&quot;2&quot;");
    expect(html).toContain("Pay $246.90 (card)");
    expect(html).toContain("Pay by ACH (pending)");
    expect((await fetch(`${fake.url}/checkout/cs_test_missing`)).status).toBe(404);
  });

  it("Pay: signed checkout.session.completed, then a redirect to success_url with the session id", async () => {
    const session = await paymentSession();
    const res = await fetch(`${fake.url}/checkout/${session.id}/pay`, form("payer@carrier.test"));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`http://docket.test/checkout/success?session=${session.id}`);
    const [completed] = receiver.verified("checkout.session.completed");
    expect(completed!.data.object).toMatchObject({ id: session.id, payment_status: "paid" });
    const page = await (await fetch(session.url!)).text();
    expect(page).toContain("complete (payment paid)");
  });

  it("Fail: payment_intent.payment_failed and a redirect to cancel_url", async () => {
    const session = await paymentSession();
    const res = await fetch(`${fake.url}/checkout/${session.id}/fail`, form());
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("http://docket.test/checkout/cancel");
    expect(receiver.types()).toEqual(["payment_intent.payment_failed"]);
  });

  it("Pay by ACH, then ACH succeeds / ACH fails from the page", async () => {
    const good = await subscriptionSession();
    let res = await fetch(`${fake.url}/checkout/${good.id}/ach`, form());
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`http://docket.test/checkout/success?session=${good.id}`);
    const page = await (await fetch(`${fake.url}/checkout/${good.id}`)).text();
    expect(page).toContain("ACH succeeds");
    expect(page).toContain("ACH fails");
    res = await fetch(`${fake.url}/checkout/${good.id}/ach-succeed`, form());
    expect(res.status).toBe(303);
    expect(receiver.types()).toEqual([
      "checkout.session.completed",
      "invoice.paid",
      "checkout.session.async_payment_succeeded",
    ]);

    receiver.reset();
    const bad = await paymentSession();
    await fetch(`${fake.url}/checkout/${bad.id}/ach`, form());
    await fetch(`${fake.url}/checkout/${bad.id}/ach-fail`, form());
    expect(receiver.types()).toEqual([
      "checkout.session.completed",
      "payment_intent.payment_failed",
      "checkout.session.async_payment_failed",
    ]);
    const again = await fetch(`${fake.url}/checkout/${bad.id}/pay`, form());
    expect(again.status).toBe(409);
  });

  it("the dashboard lists sessions and renews a subscription", async () => {
    const session = await subscriptionSession();
    await sim(`/__sim/checkout/sessions/${session.id}/pay`);
    const html = await (await fetch(`${fake.url}/`)).text();
    expect(html).toContain(session.id.slice(0, 24));
    const subscriptionId = (receiver.verified("checkout.session.completed")[0]!.data.object as Stripe.Checkout.Session)
      .subscription as string;
    receiver.reset();
    const res = await fetch(`${fake.url}/dashboard/subscriptions/${subscriptionId}/renew`, {
      method: "POST",
      redirect: "manual",
    });
    expect(res.status).toBe(303);
    expect(receiver.verified("invoice.paid")[0]!.data.object).toMatchObject({ billing_reason: "subscription_cycle" });
  });
});

describe("persistence", () => {
  let dir: string;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("keeps objects and events across a restart when given a directory", async () => {
    dir = await mkdtemp(join(tmpdir(), "docket-fake-stripe-"));
    const port = await freePort();
    const first = await startFakeStripe({ port, webhookSecret: SECRET, dataDir: dir });
    // Retries: the restart closes the connection the client keeps alive.
    const client = new Stripe(first.apiKey, {
      ...first.sdkOptions,
      httpClient: Stripe.createFetchHttpClient(),
      maxNetworkRetries: 2,
    });
    const customer = await client.customers.create({ email: "kept@carrier.test" });
    await client.checkout.sessions.create(
      { mode: "payment", line_items: [oneTime("x", 100)] },
      { idempotencyKey: "kept" },
    );
    await first.close();

    const second = await startFakeStripe({ port, webhookSecret: SECRET, dataDir: dir });
    try {
      expect(((await client.customers.retrieve(customer.id)) as Stripe.Customer).email).toBe("kept@carrier.test");
      const replayed = await client.checkout.sessions.create(
        { mode: "payment", line_items: [oneTime("x", 100)] },
        { idempotencyKey: "kept" },
      );
      expect(responseHeader(replayed, "idempotent-replayed")).toBe("true");
    } finally {
      await second.close();
    }
  });
});
