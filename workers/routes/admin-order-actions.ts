import { Hono, type Context } from "hono";
import { z } from "zod";
import { withDb } from "../../db/client";
import { findOrderWithCustomer } from "../../db/government-fee-orders";
import { ORDER_NUMBER } from "../../db/order-numbers";
import { EVENT_KEYS, type Actor } from "../../domain/orders/order-events";
import type { ApplyResult, MachineSnapshot } from "../../durable-objects/order-machine";
import { ApiError, readJson } from "../http-errors";
import type { AdminApiEnv } from "./admin-api";

/**
 * The admin's hands on an order (OrderMachine issue, item 9). Every action is an event in the
 * order's log, sent through its OrderMachine with the admin's e-mail as the actor, so the
 * timeline says who did what. The machine decides: an action the order's state does not allow
 * answers 409 with the state and the events it does allow (an action on a cancelled order,
 * approving an order still waiting for intake).
 *
 * An `Idempotency-Key` header makes a retried request the same event (a double click, a proxy
 * retry); without it each request is a new event, and the state machine still refuses what no
 * longer applies (a second approval is 409: the order is no longer ready_to_file).
 *
 * Mounted on /api/admin after the session guard (adminApiRoutes' `use("*")`).
 */

export const adminOrderActionRoutes = new Hono<AdminApiEnv>();

const idempotencyKey = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{8,100}$/, "8–100 letters, digits and . _ : -")
  .optional();

function orderNumberOf(c: Context<AdminApiEnv>): string {
  const number = c.req.param("number") ?? "";
  if (!ORDER_NUMBER.test(number) || !number.startsWith("CO-")) {
    throw new ApiError(404, "ORDER_NOT_FOUND", `No order ${number}`);
  }
  return number;
}

function machineOf(c: Context<AdminApiEnv>, number: string) {
  return c.env.ORDER_MACHINE.get(c.env.ORDER_MACHINE.idFromName(number));
}

async function requireOrder(c: Context<AdminApiEnv>, number: string): Promise<void> {
  const found = await withDb(c.get("config"), (db) => findOrderWithCustomer(db, number), c.executionCtx);
  if (!found || found.order.parentOrderId !== null) throw new ApiError(404, "ORDER_NOT_FOUND", `No order ${number}`);
}

/** Sends one admin event; maps the machine's answer to HTTP. */
async function act(
  c: Context<AdminApiEnv>,
  type: string,
  payload: (actor: Actor) => Record<string, unknown>,
  keyPrefix: string,
): Promise<Response> {
  const number = orderNumberOf(c);
  const header = idempotencyKey.safeParse(c.req.header("idempotency-key") ?? undefined);
  if (!header.success)
    throw new ApiError(400, "INVALID_IDEMPOTENCY_KEY", "Idempotency-Key: 8–100 letters, digits and . _ : -");
  await requireOrder(c, number);
  const actor: Actor = { kind: "admin", email: c.get("adminEmail") };
  const key = `admin:${keyPrefix}:${header.data ?? crypto.randomUUID()}`;
  const result = (await machineOf(c, number).apply(number, {
    type,
    key,
    at: new Date().toISOString(),
    payload: payload(actor),
  })) as ApplyResult;
  if (result.outcome === "rejected") {
    const status = result.code === "INVALID_INTAKE" || result.code === "INVALID_PAYLOAD" ? 422 : 409;
    throw new ApiError(status, result.code, result.message, {
      status: result.status,
      allowed: result.allowed,
      ...(result.problems ? { problems: result.problems } : {}),
    });
  }
  c.header("Cache-Control", "no-store");
  return c.json({
    order: number,
    outcome: result.outcome,
    status: result.status,
    ...(result.outcome === "applied"
      ? { previousStatus: result.previousStatus, pendingEffects: result.pendingEffects }
      : {}),
  });
}

/** GET /api/admin/orders/:number/machine → the machine's state, log, schedule and outbox. */
adminOrderActionRoutes.get("/orders/:number/machine", async (c) => {
  const number = orderNumberOf(c);
  const snapshot = (await machineOf(c, number).snapshot()) as MachineSnapshot | null;
  if (!snapshot) throw new ApiError(404, "MACHINE_EMPTY", `Order ${number} has no machine events yet`);
  c.header("Cache-Control", "no-store");
  return c.json(snapshot);
});

const noteBody = z.strictObject({ note: z.string().trim().max(2000).optional() });

adminOrderActionRoutes.post("/orders/:number/approve", async (c) => {
  const body = await optionalJson(c, noteBody);
  return act(c, "approved", (actor) => ({ actor, ...(body.note ? { note: body.note } : {}) }), "approve");
});

const filedBody = z.strictObject({
  confirmation: z.string().trim().min(1).max(200),
  note: z.string().trim().max(2000).optional(),
});

/** POST /orders/:number/filed `{ confirmation, note? }`: filed by hand, with the agency's confirmation number. */
adminOrderActionRoutes.post("/orders/:number/filed", async (c) => {
  const body = await readJson(c, filedBody);
  return act(
    c,
    "filed_manually",
    (actor) => ({ actor, confirmation: body.confirmation, ...(body.note ? { note: body.note } : {}) }),
    "filed",
  );
});

const cancelBody = z.strictObject({ reason: z.string().trim().min(1).max(2000) });

adminOrderActionRoutes.post("/orders/:number/cancel", async (c) => {
  const body = await readJson(c, cancelBody);
  return act(c, "admin_cancelled", (actor) => ({ actor, reason: body.reason }), "cancel");
});

adminOrderActionRoutes.post("/orders/:number/intake-link", async (c) => {
  return act(c, "intake_link_resent", (actor) => ({ actor }), "intake-link");
});

adminOrderActionRoutes.post("/orders/:number/reminders/rearm", async (c) => {
  return act(c, "intake_reminders_rearmed", (actor) => ({ actor }), "rearm");
});

const intakeBody = z.strictObject({ fields: z.record(z.string().max(100), z.unknown()) });

/** POST /orders/:number/intake `{ fields }`: intake the customer gave by phone or e-mail. */
adminOrderActionRoutes.post("/orders/:number/intake", async (c) => {
  const body = await readJson(c, intakeBody);
  return act(c, "intake_submitted", (actor) => ({ actor, fields: body.fields }), "intake");
});

const answerBody = z.strictObject({ questionId: z.string().min(1).max(100), answer: z.enum(["yes", "no"]) });

/** POST /orders/:number/answer `{ questionId, answer }`: the customer's answer given another way (the broker found cover). */
adminOrderActionRoutes.post("/orders/:number/answer", async (c) => {
  const body = await readJson(c, answerBody);
  return act(
    c,
    "customer_answered",
    (actor) => ({ actor, questionId: body.questionId, answer: body.answer }),
    `${EVENT_KEYS.answer(body.questionId)}`,
  );
});

const noteEventBody = z.strictObject({ text: z.string().trim().min(1).max(5000) });

adminOrderActionRoutes.post("/orders/:number/notes", async (c) => {
  const body = await readJson(c, noteEventBody);
  return act(c, "note_added", (actor) => ({ actor, text: body.text }), "note");
});

/** An empty body is allowed where every field is optional (a bare POST to approve). */
async function optionalJson<S extends z.ZodType>(c: Context<AdminApiEnv>, schema: S): Promise<z.infer<S>> {
  if ((c.req.header("content-length") ?? "0") === "0" && !c.req.header("content-type")) {
    return schema.parse({}) as z.infer<S>;
  }
  return await readJson(c, schema);
}
