import { Hono } from "hono";
import { withDb } from "../../db/client";
import { eventsOf, findOrderWithCustomer } from "../../db/government-fee-orders";
import { ORDER_NUMBER } from "../../db/order-numbers";
import { linkSecret, verifyLinkToken } from "../../domain/auth/signed-link";
import { deliverablesOf } from "../../domain/orders/order-deliverables";
import type { AppEnv } from "../app-env";

/**
 * GET /order/:number/documents/<path>?token=<order-view token>: one of the order's documents
 * from R2 (`orders/<number>/<path>`). Served only if the order's log names that key as a
 * deliverable (order-deliverables.ts), so the path cannot be edited to reach anything else;
 * a forged, expired or other order's token is 403, anything else 404.
 */

export const orderDocumentRoutes = new Hono<AppEnv>();

const plain = (status: 403 | 404, text: string) =>
  new Response(text, {
    status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    },
  });

orderDocumentRoutes.get("/:number/documents/*", async (c) => {
  const number = c.req.param("number");
  if (!ORDER_NUMBER.test(number)) return plain(404, "No such document.");
  const config = c.get("config");
  const check = await verifyLinkToken(linkSecret(config), c.req.query("token") ?? "", {
    purpose: "order-view",
    subject: number,
  });
  if (!check.ok) return plain(403, "This link does not work (it may have expired). Ask us for a new one.");

  const prefix = `/order/${number}/documents/`;
  const rawPath = new URL(c.req.url).pathname;
  if (!rawPath.startsWith(prefix)) return plain(404, "No such document.");
  let rest: string;
  try {
    rest = rawPath
      .slice(prefix.length)
      .split("/")
      .map((s) => decodeURIComponent(s))
      .join("/");
  } catch {
    return plain(404, "No such document.");
  }
  const key = `orders/${number}/${rest}`;

  const listed = await withDb(
    config,
    async (db) => {
      const found = await findOrderWithCustomer(db, number);
      if (!found) return false;
      return deliverablesOf(await eventsOf(db, found.order.id)).documents.some((d) => d.r2Key === key);
    },
    c.executionCtx,
  );
  if (!listed) return plain(404, "No such document.");
  const object = await c.env.FILES.get(key);
  if (!object) return plain(404, "No such document.");
  const filename = key
    .split("/")
    .pop()!
    .replace(/[^A-Za-z0-9._-]/g, "_");
  return new Response(object.body, {
    headers: {
      "content-type": object.httpMetadata?.contentType ?? "application/octet-stream",
      "content-length": String(object.size),
      "content-disposition": `inline; filename="${filename}"`,
      "cache-control": "private, no-store",
      "x-content-type-options": "nosniff",
    },
  });
});
