import { Hono } from "hono";
import { openDb } from "../../db/client";
import type { AppEnv } from "../app-env";
import { checkoutRequestSchema, createCheckout } from "../checkout/create-checkout";
import { readJson } from "../http-errors";

export { checkoutRequestSchema, type CheckoutRequest } from "../checkout/create-checkout";

export const checkoutRoutes = new Hono<AppEnv>();

/**
 * POST /api/checkout: validates the request, then createCheckout (workers/checkout/) prices it
 * from the catalog and creates the customer, the checkout, its orders, the discount reservation
 * and the Stripe Checkout Session in one transaction. 201 with the order numbers and where to
 * send the customer.
 */
checkoutRoutes.post("/", async (c) => {
  const input = await readJson(c, checkoutRequestSchema);
  const config = c.get("config");
  const handle = openDb(config);
  try {
    const created = await createCheckout({ config, db: handle.db, env: c.env }, input, new Date());
    return c.json(
      {
        orderNumbers: created.orderNumbers,
        checkoutNumber: created.checkoutNumber,
        checkoutUrl: created.url,
        sessionId: created.sessionId,
        totals: created.totals,
      },
      201,
    );
  } finally {
    c.executionCtx.waitUntil(handle.close());
  }
});
