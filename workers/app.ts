import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { ComposeError } from "../domain/mail/compose-message";
import type { AppEnv } from "./app-env";
import { configResult } from "./env";
import { ApiError, errorBody } from "./http-errors";
import { requestId } from "./request-id";
import { adminRoutes } from "./routes/admin";
import { checkoutRoutes } from "./routes/checkout";
import { customerOrdersPageRoutes } from "./routes/customer-orders-page";
import { adminApiRoutes } from "./routes/admin-api";
import { adminGovernmentFeeRoutes } from "./routes/admin-government-fee";
import { adminOrderActionRoutes } from "./routes/admin-order-actions";
import { adminCampaignRoutes } from "./routes/admin-campaigns";
import { trackingRoutes } from "./routes/tracking";
import { customerApiRoutes } from "./routes/customer-api";
import { healthRoutes } from "./routes/health";
import { ingestRoutes } from "./routes/ingest";
import { answerRoutes } from "./routes/answer-pages";
import { intakeWizardRoutes } from "./routes/intake-wizard";
import { monitoringInvitationRoutes } from "./routes/monitoring-invitation";
import { orderDocumentRoutes } from "./routes/order-documents";
import { orderPageRoutes } from "./routes/order-pages";
import { serviceLandingRoutes } from "./routes/service-landing";
import { signatureRoutes } from "./routes/signature-pages";
import { stripeWebhookRoutes } from "./routes/stripe-webhooks";

/**
 * Builds the HTTP app: request id, production guard, body limit, routes, JSON errors.
 * `extend` mounts extra routes behind the same middleware and error handling (tests use it
 * to exercise the error path with a route that fails the way real code fails).
 */
export function createApp(extend?: (app: Hono<AppEnv>) => void): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  // Bench baseline (scripts/bench): a constant answer ahead of every middleware, so the bench
  // can separate the cost of wrangler dev + workerd + Hono from ours. Development only:
  // elsewhere it falls through to the normal chain (production guard, then 404).
  app.get("/__bench/bare", async (c, next) => {
    if (c.env.APP_ENV !== "development") return await next();
    return c.text("ok");
  });

  app.use("*", requestId());

  // The production guard: with a missing or placeholder secret, or a development-only switch
  // on, every route answers 503 (the problems are logged, one line each, by configResult).
  app.use("*", async (c, next) => {
    const result = configResult(c.env);
    if (!result.ok) {
      const showProblems = result.config?.APP_ENV !== "production" && c.env.APP_ENV !== "production";
      return c.json(
        errorBody(
          "SERVICE_MISCONFIGURED",
          "Docket is not configured correctly and refuses to serve; the operator log names each problem",
          c.get("requestId"),
          showProblems ? result.problems : undefined,
        ),
        503,
      );
    }
    c.set("config", result.config);
    await next();
  });

  app.use("*", async (c, next) =>
    bodyLimit({
      maxSize: c.get("config").HTTP_MAX_BODY_BYTES,
      onError: (c) =>
        c.json(
          errorBody(
            "PAYLOAD_TOO_LARGE",
            `The body is larger than ${c.get("config").HTTP_MAX_BODY_BYTES} bytes`,
            c.get("requestId"),
          ),
          413,
        ),
    })(c, next),
  );

  app.route("/", healthRoutes);
  app.route("/admin", adminRoutes);
  app.route("/ingest", ingestRoutes);
  app.route("/webhooks", stripeWebhookRoutes);
  app.route("/api/admin", adminGovernmentFeeRoutes); // before adminApiRoutes: its use("*") would answer first
  app.route("/api/admin", adminApiRoutes);
  app.route("/api/admin", adminOrderActionRoutes); // after adminApiRoutes: behind its session guard
  app.route("/api/admin", adminCampaignRoutes); // likewise
  app.route("/", trackingRoutes); // /l, /o, /u: campaign mail's tracked links, open pixel, unsubscribe
  // Before orderPageRoutes (which owns /order/:number): the monitoring invitation, the order's
  // documents, the wizard (/order/:slug), the answer and signing pages.
  app.route("/order", monitoringInvitationRoutes);
  app.route("/order", orderDocumentRoutes);
  app.route("/order", serviceLandingRoutes); // before the wizard: /order/:slug without ?token= is the service page
  app.route("/order", intakeWizardRoutes);
  app.route("/order", answerRoutes);
  app.route("/order", signatureRoutes);
  app.route("/order", orderPageRoutes);
  app.route("/api/customer", customerApiRoutes);
  app.route("/api/checkout", checkoutRoutes);
  app.route("/orders", customerOrdersPageRoutes);
  extend?.(app);

  app.notFound((c) =>
    c.json(
      errorBody("NOT_FOUND", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`, c.get("requestId")),
      404,
    ),
  );

  app.onError((error, c) => {
    const id = c.get("requestId") ?? crypto.randomUUID();
    if (error instanceof ApiError) {
      return c.json(errorBody(error.code, error.message, id, error.details), error.status);
    }
    if (error instanceof ComposeError) {
      // A message that must not be sent (bad address, header injection): the caller's input.
      return c.json(errorBody("INVALID_MESSAGE", error.message, id, { code: error.code, field: error.field }), 422);
    }
    if (error instanceof HTTPException) {
      return c.json(errorBody("HTTP_ERROR", error.message || "Request failed", id), error.status);
    }
    console.error(
      JSON.stringify({
        level: "error",
        requestId: id,
        route: c.req.path,
        error: String(error),
        stack: (error as Error).stack,
      }),
    );
    const development = c.env.APP_ENV === "development";
    return c.json(
      {
        ...errorBody("INTERNAL", "Something went wrong on our side; quote the request id when reporting it", id),
        ...(development && error instanceof Error ? { stack: error.stack } : {}),
      },
      500,
    );
  });
  return app;
}

export const app = createApp();
