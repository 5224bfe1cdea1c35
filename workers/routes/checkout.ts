import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import { openDb } from "../../db/client";
import { ATTRIBUTION_COOKIE, attributedSendId } from "../../domain/outreach/tracking-token";
import type { AppEnv } from "../app-env";
import { checkoutRequestSchema, createCheckout } from "../checkout/create-checkout";
import { readJson } from "../http-errors";

export { checkoutRequestSchema, type CheckoutRequest } from "../checkout/create-checkout";

export const checkoutRoutes = new Hono<AppEnv>();

/**
 * POST /api/checkout: validates the request, then createCheckout (workers/checkout/) prices it
 * from the catalog and creates the customer, the checkout, its orders, the discount reservation
 * and the Stripe Checkout Session in one transaction. 201 with the order numbers and where to
 * send the customer. A valid `docket_send` cookie (set by a tracked campaign link,
 * workers/routes/tracking.ts) attributes the checkout and its orders to that send; a missing,
 * forged or stale one is ignored: attribution never fails a checkout.
 */
checkoutRoutes.post("/", async (c) => {
  const input = await readJson(c, checkoutRequestSchema);
  const config = c.get("config");
  const now = new Date();
  const campaignSendId = await attributedSendId(config.TRACKING_LINK_SECRET, getCookie(c, ATTRIBUTION_COOKIE), now);
  const handle = openDb(config);
  try {
    const created = await createCheckout({ config, db: handle.db, env: c.env, campaignSendId }, input, now);
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
