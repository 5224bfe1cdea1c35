import { Hono } from "hono";
import { withDb } from "../../db/client";
import { customerOrders } from "../../db/order-listings";
import { linkSecret, orderViewLink, verifyLinkToken } from "../../domain/auth/signed-link";
import { getService } from "../../domain/catalog/services";
import { CustomerOrdersPage } from "../../web/pages/customer-orders-page";
import { MessagePage } from "../../web/pages/message-page";
import type { AppEnv } from "../app-env";
import { customerPageHeaders, refused, render } from "./order-pages";

/**
 * GET /orders?token=<customer-orders link>: the page a customer opens from any of our e-mails to
 * see all their orders, no password needed (the signed, expiring link is the credential).
 */
export const customerOrdersPageRoutes = new Hono<AppEnv>();

customerOrdersPageRoutes.use("*", customerPageHeaders);

customerOrdersPageRoutes.get("/", async (c) => {
  const config = c.get("config");
  const token = c.req.query("token");
  const check = await verifyLinkToken(linkSecret(config), token, { purpose: "customer-orders" });
  if (!check.ok) return refused(c, check.reason === "expired" ? "expired" : "invalid");
  // Only customer ids are ever signed for this purpose.
  if (!/^[1-9]\d{0,17}$/.test(check.subject)) return refused(c, "invalid");
  const found = await withDb(config, (db) => customerOrders(db, Number(check.subject)), c.executionCtx);
  if (!found) {
    return render(
      c,
      <MessagePage title="No orders here">
        <p>There is no longer a customer for this link.</p>
      </MessagePage>,
      404,
    );
  }
  const now = new Date();
  const orders = await Promise.all(
    found.orders.map(async (o) => ({
      number: o.number,
      serviceName: getService(o.serviceSlug)?.displayName ?? o.serviceSlug,
      status: o.status,
      totalCents: o.totalCents,
      createdAt: o.createdAt,
      parentNumber: o.parentNumber,
      url: await orderViewLink(config, o, now),
    })),
  );
  return render(c, <CustomerOrdersPage customer={found.customer} orders={orders} />);
});
