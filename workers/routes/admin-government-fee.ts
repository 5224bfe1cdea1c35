import { Hono, type MiddlewareHandler } from "hono";
import { z } from "zod";
import { withDb } from "../../db/client";
import { findOrderWithCustomer } from "../../db/government-fee-orders";
import { ORDER_NUMBER } from "../../db/order-numbers";
import { strictFeeItemsSchema } from "../../domain/orders/government-fee-order";
import { EVENT_KEYS } from "../../domain/orders/order-events";
import type { ApplyResult } from "../../durable-objects/order-machine";
import { requireAdminSession, type AdminApiEnv } from "./admin-api";
import { ApiError, readJson } from "../http-errors";
import { GovernmentFeeError, governmentFeeLinks, requestGovernmentFee } from "../orders/government-fee";

/**
 * POST /api/admin/orders/:number/government-fee `{ items: [{ label, cents, source? }], totalCents? }`
 *
 * An admin enters a government fee only the agency can compute (IRP's apportioned fee from the
 * base state's invoice, a commission's quote): the order gets a child order `CG-…` for it and
 * the customer an e-mail with a pay link and a "something looks wrong" link. The same items
 * again answer the same child (200); different items while a child is open are refused (409
 * GOVERNMENT_FEE_OPEN); different items while the open child is on hold (the customer disputed
 * it) replace it, which is how an admin corrects a disputed fee. `totalCents`, when sent, must
 * equal the sum of the items: a second figure typed by a person catches a typo in the first.
 *
 * A separate sub-app guarded by the admin API's session (JWT) middleware. Mount it BEFORE `adminApiRoutes` (whose `use("*")` would otherwise answer first); its guard
 * covers its own path only, never the rest of /api/admin.
 */

const PATH = "/orders/:number/government-fee";

const bodySchema = z.strictObject({
  items: strictFeeItemsSchema,
  totalCents: z.number().int().min(0).optional(),
});

export function createAdminGovernmentFeeRoutes(guard: MiddlewareHandler = requireAdminSession()): Hono<AdminApiEnv> {
  const routes = new Hono<AdminApiEnv>();
  routes.post(PATH, guard, async (c) => {
    const number = c.req.param("number");
    if (!ORDER_NUMBER.test(number)) throw new ApiError(404, "ORDER_NOT_FOUND", `No order ${number}`);
    const body = await readJson(c, bodySchema);
    const config = c.get("config");
    const result = await withDb(
      config,
      async (db) => {
        const parent = await findOrderWithCustomer(db, number);
        if (!parent) throw new ApiError(404, "ORDER_NOT_FOUND", `No order ${number}`);
        try {
          return await requestGovernmentFee(db, config, parent.order, body, { env: c.env });
        } catch (error) {
          if (error instanceof GovernmentFeeError)
            throw new ApiError(error.status, error.code, error.message, error.details);
          throw error;
        }
      },
      c.executionCtx,
    );
    // The parent's log records who asked for the fee; the gate moves on when the child is paid.
    const machine = c.env.ORDER_MACHINE.get(c.env.ORDER_MACHINE.idFromName(number));
    const recorded = (await machine.apply(number, {
      type: "government_fee_requested",
      key: EVENT_KEYS.governmentFeeRequested(result.child.number),
      at: new Date().toISOString(),
      payload: {
        childOrder: result.child.number,
        totalCents: result.child.totalCents,
        actor: { kind: "admin", email: c.get("adminEmail") },
      },
    })) as ApplyResult;
    if (recorded.outcome === "rejected") {
      console.warn(
        JSON.stringify({
          level: "warn",
          event: "government_fee_request_not_recorded",
          order: number,
          result: recorded,
        }),
      );
    }
    const links = await governmentFeeLinks(config, result.child);
    c.header("Cache-Control", "no-store");
    return c.json(
      {
        order: {
          number: result.child.number,
          parentNumber: number,
          status: result.child.status,
          totalCents: result.child.totalCents,
          lines: result.child.lines,
          createdAt: result.child.createdAt,
        },
        created: result.created,
        superseded: result.superseded,
        email: result.email,
        // The links the e-mail carries, for an admin to pass on when the e-mail did not arrive.
        payUrl: links.payUrl,
        disputeUrl: links.disputeUrl,
        linksExpireAt: links.expiresAt.toISOString(),
      },
      result.created ? 201 : 200,
    );
  });
  return routes;
}

export const adminGovernmentFeeRoutes = createAdminGovernmentFeeRoutes();
