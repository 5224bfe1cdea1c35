import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { handleApiRequest } from "./api-router";
import { checkoutPageGet, checkoutPagePost } from "./checkout-page";
import { expireDueSessions } from "./checkout-sessions";
import { createContext, DEFAULT_ENABLED_EVENTS, type FakeStripeConfig } from "./context";
import { dashboardGet, dashboardPost } from "./dashboard-page";
import { handleSimRequest, summarize, type EventSummary } from "./sim-router";
import { openStateStore } from "./state";
import type { StripeEvent } from "./stripe-objects";
import type { InvoiceStyle } from "./views";
import { DEFAULT_RETRY_POLICY, WebhookDeliverer, type WebhookRetryPolicy } from "./webhook-delivery";

/**
 * A small fake of Stripe's API for development and tests, started by the test global setup
 * and by `npm start`. Stripe cannot be reached from here, so it is replaced at its HTTP
 * boundary: the Stripe SDK is pointed at this server by configuration
 * (`new Stripe(key, { host, port, protocol: "http", httpClient: Stripe.createFetchHttpClient() })`)
 * and the platform's SDK calls and webhook verification run their production code.
 *
 * On one port:
 * - `/v1/…` the API the platform calls (api-router.ts): Checkout Sessions (create, retrieve,
 *   line items, expire), Customers (create, retrieve, list), Subscriptions (retrieve, cancel),
 *   Refunds (create, retrieve), Invoices (retrieve, list), PaymentIntents, Charges and Events
 *   (retrieve);
 * - `/checkout/:id` the stand-in for the hosted checkout page (checkout-page.ts);
 * - `/` a small dashboard (dashboard-page.ts);
 * - `/__sim/…` JSON endpoints for tests (sim-router.ts).
 *
 * Events go to the configured webhook URL, signed with the configured secret exactly as
 * Stripe signs them (webhook-signature.ts), retried with backoff (webhook-delivery.ts).
 * State is in memory, and in `<dataDir>/fake-stripe.json` when a directory is given.
 */

export interface FakeStripeOptions {
  /** 0 for any free port. */
  port: number;
  host?: string;
  /** Where events are posted (the Worker's /webhooks/stripe); none: events are only recorded. */
  webhookUrl?: string;
  /** The endpoint's signing secret (`whsec_…`). */
  webhookSecret: string;
  /** The only secret key the API accepts. Default DEFAULT_FAKE_STRIPE_API_KEY. */
  apiKey?: string;
  log?: (line: string) => void;
  /** Which invoice fields carry the subscription id in events: "parent" (default, API ≥ 2025-03-31), "legacy", "both". */
  invoiceSubscriptionField?: InvoiceStyle;
  /** Event types sent to the endpoint; default DEFAULT_ENABLED_EVENTS, "*" for all. */
  enabledEvents?: "*" | readonly string[];
  webhookRetry?: Partial<WebhookRetryPolicy>;
  /** Per delivery attempt. Default 10 s. */
  webhookTimeoutMs?: number;
  /** Keep a snapshot here so a restart keeps sessions, subscriptions and events. */
  dataDir?: string;
}

export interface FakeStripeEvent extends EventSummary {
  event: StripeEvent;
}

export interface FakeStripe {
  /** e.g. http://127.0.0.1:12111 */
  url: string;
  host: string;
  port: number;
  apiKey: string;
  webhookSecret: string;
  /** Spread into the Stripe SDK's options (with `httpClient: Stripe.createFetchHttpClient()`). */
  sdkOptions: { host: string; port: number; protocol: "http" };
  setWebhookUrl(url: string | undefined): void;
  /** Every event created, oldest first, with its deliveries. */
  events(): FakeStripeEvent[];
  close(): Promise<void>;
}

/** Not a secret: it only opens this local fake. Shaped like a test-mode key. */
export const DEFAULT_FAKE_STRIPE_API_KEY = "sk_test_docket_fake_stripe_0000000000000000";
const MAX_BODY_BYTES = 1024 * 1024;
const EXPIRY_SWEEP_MS = 1000;

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, { ...headers, "content-length": String(Buffer.byteLength(body)) }).end(body);
}

const json = (res: ServerResponse, status: number, body: unknown) =>
  send(res, status, { "content-type": "application/json", "cache-control": "no-store" }, JSON.stringify(body, null, 2));

export async function startFakeStripe(options: FakeStripeOptions): Promise<FakeStripe> {
  const host = options.host ?? "127.0.0.1";
  const log = options.log ?? (() => undefined);
  const apiKey = options.apiKey ?? DEFAULT_FAKE_STRIPE_API_KEY;
  const store = openStateStore(options.dataDir, log);
  const config: FakeStripeConfig = {
    webhookUrl: options.webhookUrl,
    webhookSecret: options.webhookSecret,
    invoiceStyle: options.invoiceSubscriptionField ?? "parent",
    enabledEvents: options.enabledEvents === "*" ? "*" : [...(options.enabledEvents ?? DEFAULT_ENABLED_EVENTS)],
  };
  const deliverer = new WebhookDeliverer({
    endpoint: () => (config.webhookUrl ? { url: config.webhookUrl, secret: config.webhookSecret } : undefined),
    retry: { ...DEFAULT_RETRY_POLICY, ...options.webhookRetry },
    timeoutMs: options.webhookTimeoutMs ?? 10_000,
    changed: () => store.changed(),
    log,
  });

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const url = `http://${host}:${port}`;
  const ctx = createContext({ store, config, deliverer, baseUrl: url, log });

  const replay = (eventId: string) => {
    const record = ctx.state.events.find((r) => r.event.id === eventId);
    return record ? deliverer.send(record, { retry: false, manual: true }) : Promise.resolve(undefined);
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? "GET";
    const target = new URL(req.url ?? "/", url);
    const path = target.pathname;
    let body: string;
    try {
      body = await readBody(req);
    } catch (error) {
      if (error instanceof BodyTooLarge)
        return json(res, 413, { error: { type: "invalid_request_error", message: "Request body too large." } });
      throw error;
    }

    if (path.startsWith("/v1/")) {
      const result = handleApiRequest(ctx, apiKey, {
        method,
        path,
        query: target.search.slice(1),
        body,
        headers: req.headers,
      });
      send(res, result.status, result.headers, result.body);
      // Like Stripe, events caused by an API call are sent after it has answered.
      void ctx.dispatch();
      return;
    }
    if (path.startsWith("/__sim/")) {
      const result = await handleSimRequest(ctx, deliverer, () => store.reset(), {
        method,
        path,
        query: target.searchParams,
        body,
      });
      return json(res, result.status, result.body);
    }
    let m = /^\/checkout\/([^/]+)$/.exec(path);
    if (m && method === "GET") {
      const page = checkoutPageGet(ctx, decodeURIComponent(m[1]!));
      return send(res, page.status, page.headers, page.body);
    }
    m = /^\/checkout\/([^/]+)\/([a-z-]+)$/.exec(path);
    if (m && method === "POST") {
      const page = await checkoutPagePost(ctx, decodeURIComponent(m[1]!), m[2]!, new URLSearchParams(body));
      return send(res, page.status, page.headers, page.body);
    }
    if (path === "/" && method === "GET") {
      const page = dashboardGet(ctx);
      return send(res, page.status, page.headers, page.body);
    }
    if (path.startsWith("/dashboard/") && method === "POST") {
      const page = await dashboardPost(ctx, path, replay);
      return send(res, page.status, page.headers, page.body);
    }
    send(res, 404, { "content-type": "text/plain; charset=utf-8" }, `Not found: ${method} ${path}\n`);
  };

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((error: unknown) => {
      log(`fake stripe: ${req.method} ${req.url} failed: ${(error as Error).stack ?? String(error)}`);
      if (!res.headersSent) json(res, 500, { error: { type: "api_error", message: (error as Error).message } });
      else res.destroy();
    });
  });

  // Sessions expire on their own when `expires_at` passes, as with Stripe.
  const sweep = setInterval(() => {
    if (expireDueSessions(ctx) > 0) void ctx.dispatch();
  }, EXPIRY_SWEEP_MS);
  sweep.unref();

  let closing: Promise<void> | undefined;
  return {
    url,
    host,
    port,
    apiKey,
    get webhookSecret() {
      return config.webhookSecret;
    },
    sdkOptions: { host, port, protocol: "http" },
    setWebhookUrl(next) {
      config.webhookUrl = next;
    },
    events: () => ctx.state.events.map((r) => ({ ...summarize(r), event: r.event })),
    close() {
      closing ??= (async () => {
        clearInterval(sweep);
        await deliverer.close();
        // The Worker (workerd) keeps connections alive; close them or close() waits for their timeout.
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        store.flush();
      })();
      return closing;
    },
  };
}
