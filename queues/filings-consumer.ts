import { z } from "zod";
import { EVENT_KEYS } from "../domain/orders/order-events";
import { filingJobMessage, healthPingMessage } from "../domain/queues/queue-messages";
import type { ApplyResult } from "../durable-objects/order-machine";
import type { QueueConsumer } from "./consumer";

const schema = z.discriminatedUnion("type", [filingJobMessage, healthPingMessage]);

/**
 * Portal scripts this Worker can run (DESIGN.md, "Filings": a script per agency portal, run
 * against a puppeteer Page on Browser Rendering). None is installed yet; until one is, every
 * job ends with a person, as any doubt must (never a guess).
 */
const PORTAL_SCRIPTS: ReadonlySet<string> = new Set<string>();

/**
 * The filings queue: one message is one attempt at one cycle of one order. The result goes back
 * to the order's machine under the key (cycle, attempt), so a redelivered job changes nothing
 * twice; a machine that has moved on (an admin filed it meanwhile) answers STALE, which is fine.
 */
export const filingsConsumer: QueueConsumer<typeof schema> = {
  queue: "filings",
  schema,
  async handle(body, ctx) {
    if (body.type === "health.ping") return;
    const machine = ctx.env.ORDER_MACHINE.get(ctx.env.ORDER_MACHINE.idFromName(body.orderNumber));
    if (!PORTAL_SCRIPTS.has(body.script)) {
      const result = (await machine.apply(body.orderNumber, {
        type: "filing_failed",
        key: EVENT_KEYS.filingResult(body.cycle, body.attempt),
        at: new Date().toISOString(),
        payload: {
          cycle: body.cycle,
          attempt: body.attempt,
          reason: `No portal script "${body.script}" is installed: file it on the agency's portal by hand.`,
        },
      })) as ApplyResult;
      console.log(
        JSON.stringify({
          level: result.outcome === "rejected" ? "warn" : "info",
          event: "filing_handed_to_person",
          order: body.orderNumber,
          script: body.script,
          outcome: result.outcome,
          status: result.status,
        }),
      );
    }
  },
};
