import { eq } from "drizzle-orm";
import { inboundMessages } from "../../db/schema";
import worker from "../../workers/index";
import { testEnv, withTestDb } from "./db";
import { waitFor } from "./wait-for";

/** An inbound message as Email Routing hands it to the Worker's `email` entry point. */
export function emailMessage(raw: string | Uint8Array, opts: { from?: string; to?: string; rawSize?: number } = {}) {
  const bytes = typeof raw === "string" ? new TextEncoder().encode(raw) : raw;
  let rejected: string | undefined;
  let read = false;
  const message = {
    from: opts.from ?? "mailer-daemon@mx.carrier.test",
    to: opts.to ?? "dmarc@docket.test",
    headers: new Headers(),
    rawSize: opts.rawSize ?? bytes.byteLength,
    get raw() {
      read = true;
      return new Blob([bytes]).stream();
    },
    setReject(reason: string) {
      rejected = reason;
    },
    forward: async () => ({ messageId: "" }),
    reply: async () => ({ messageId: "" }),
  };
  return { message: message as unknown as ForwardableEmailMessage, rejected: () => rejected, wasRead: () => read };
}

/**
 * Delivers a message through the email handler (R2, queue, consumer) and waits until the
 * consumer has finished with it. Returns its inbound_messages row.
 */
export async function deliverInbound(raw: string | Uint8Array, opts: { from?: string; to?: string } = {}) {
  const { message } = emailMessage(raw, opts);
  const before = new Set(
    (await withTestDb((db) => db.select({ id: inboundMessages.id }).from(inboundMessages))).map((r) => r.id),
  );
  await worker.email(message, testEnv, {} as ExecutionContext);
  return await waitFor(
    () =>
      withTestDb(async (db) => {
        const rows = await db.select().from(inboundMessages);
        return rows.find((r) => !before.has(r.id) && r.status !== "received");
      }),
    30_000,
    "the inbound message to be processed",
  );
}

export async function inboundRow(id: number) {
  return await withTestDb(async (db) => (await db.select().from(inboundMessages).where(eq(inboundMessages.id, id)))[0]);
}
