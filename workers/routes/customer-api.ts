import { Hono } from "hono";
import { z } from "zod";
import { withDb } from "../../db/client";
import { customerOrders } from "../../db/order-listings";
import {
  linkSecret,
  LinkSecretMissingError,
  orderViewLink,
  verifyLinkToken,
  type LinkFailure,
} from "../../domain/auth/signed-link";
import type { AppEnv } from "../app-env";
import { ApiError } from "../http-errors";
import { readQuery } from "../read-query";

/**
 * The customer's own data, reached through a signed link (domain/auth/signed-link.ts) instead
 * of a password. The HTML pages render from these answers.
 *
 * Answers carry personal data and the token sits in the URL: `Cache-Control: no-store` keeps
 * them out of shared caches, and `Referrer-Policy: no-referrer` keeps the token out of Referer.
 */

const FAILURES: Record<LinkFailure, { status: 401 | 403; code: string; message: string }> = {
  malformed: {
    status: 401,
    code: "LINK_INVALID",
    message: "This link is not valid; use the latest link we e-mailed you",
  },
  bad_signature: {
    status: 401,
    code: "LINK_INVALID",
    message: "This link is not valid; use the latest link we e-mailed you",
  },
  expired: { status: 401, code: "LINK_EXPIRED", message: "This link has expired; ask for a new one" },
  wrong_purpose: { status: 403, code: "LINK_WRONG_PURPOSE", message: "This link is for another page" },
  wrong_subject: { status: 403, code: "LINK_WRONG_SUBJECT", message: "This link is for another customer or order" },
};

const ordersQuery = z.object({ token: z.string().max(512).optional() });

export const customerApiRoutes = new Hono<AppEnv>();

customerApiRoutes.use("*", async (c, next) => {
  c.header("Cache-Control", "private, no-store");
  c.header("Referrer-Policy", "no-referrer");
  await next();
});

/**
 * GET /api/customer/orders?token=<customer-orders link token> → the customer and their orders,
 * newest first, each with a signed link to its own page.
 */
customerApiRoutes.get("/orders", async (c) => {
  const config = c.get("config");
  let secret: string;
  try {
    secret = linkSecret(config);
  } catch (error) {
    if (!(error instanceof LinkSecretMissingError)) throw error;
    throw new ApiError(
      503,
      "CUSTOMER_LINKS_NOT_CONFIGURED",
      "Customer links are off: set CUSTOMER_LINK_SECRET to enable them",
    );
  }
  const { token } = readQuery(c, ordersQuery);
  if (token === undefined || token === "") {
    throw new ApiError(401, "LINK_REQUIRED", "Open this page from the link we e-mailed you (it carries ?token=…)");
  }
  const check = await verifyLinkToken(secret, token, { purpose: "customer-orders" });
  if (!check.ok) {
    const failure = FAILURES[check.reason];
    throw new ApiError(failure.status, failure.code, failure.message);
  }
  // We only ever sign customer ids for this purpose; anything else is not our token.
  if (!/^[1-9]\d{0,17}$/.test(check.subject))
    throw new ApiError(401, FAILURES.malformed.code, FAILURES.malformed.message);

  const found = await withDb(config, (db) => customerOrders(db, Number(check.subject)), c.executionCtx);
  if (!found) throw new ApiError(404, "CUSTOMER_NOT_FOUND", "There is no longer a customer for this link");
  const now = new Date();
  return c.json({
    customer: { email: found.customer.email, name: found.customer.name, company: found.customer.company },
    orders: await Promise.all(
      found.orders.map(async (order) => ({ ...order, url: await orderViewLink(config, order, now) })),
    ),
    linkExpiresAt: check.expiresAt.toISOString(),
  });
});
