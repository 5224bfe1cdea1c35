import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { deadLetters, inboundMessages } from "../../db/schema";
import type { InboundReceivedMessage } from "../../domain/queues/queue-messages";
import { inboundKey } from "../../workers/email-handler";
import { testEnv, withTestDb } from "../support/db";
import { waitFor } from "../support/wait-for";

const RAW = [
  "From: Carrier Ops <ops@carrier.test>",
  "To: dmarc@docket.test",
  "Subject: queue delivery test",
  "Message-ID: <queue-test-1@carrier.test>",
  "Date: Sat, 21 Nov 2026 10:00:00 +0000",
  "",
  "hello",
  "",
].join("\r\n");

function inboundMessage(key: string): InboundReceivedMessage {
  return {
    type: "inbound.received",
    key,
    envelopeFrom: "ops@carrier.test",
    envelopeTo: "dmarc@docket.test",
    rawSize: RAW.length,
    receivedAt: new Date().toISOString(),
  };
}

describe("queues", () => {
  it("a message reaches its consumer, which records it once", async () => {
    const key = inboundKey(new Date(), crypto.randomUUID());
    await testEnv.FILES.put(key, RAW);
    await testEnv.INBOUND_MAIL_QUEUE.send(inboundMessage(key));
    // Delivered twice (a redelivery): still one row.
    await testEnv.INBOUND_MAIL_QUEUE.send(inboundMessage(key));
    const row = await waitFor(
      () =>
        withTestDb(async (db) => (await db.select().from(inboundMessages).where(eq(inboundMessages.r2Key, key)))[0]),
      20_000,
      "the inbound-mail consumer to record the message",
    );
    expect(row).toMatchObject({
      messageId: "<queue-test-1@carrier.test>",
      subject: "queue delivery test",
      fromHeader: "ops@carrier.test",
    });
    await new Promise((r) => setTimeout(r, 1500));
    const rows = await withTestDb((db) => db.select().from(inboundMessages).where(eq(inboundMessages.r2Key, key)));
    expect(rows).toHaveLength(1);
  });

  it("a failing message is retried, then lands in the dead-letter queue and is recorded", async () => {
    // The consumer needs the raw message in R2; this one was never stored, so every attempt fails.
    const key = inboundKey(new Date(), crypto.randomUUID());
    await testEnv.INBOUND_MAIL_QUEUE.send(inboundMessage(key));
    const dead = await waitFor(
      () =>
        withTestDb(async (db) =>
          (await db.select().from(deadLetters).where(eq(deadLetters.queue, "inbound-mail"))).find(
            (d) => (d.body as { key?: string }).key === key,
          ),
        ),
      45_000,
      "the message to reach inbound-mail-dlq",
    );
    expect(dead.note).toBe("retries exhausted");
    const recorded = await withTestDb((db) => db.select().from(inboundMessages).where(eq(inboundMessages.r2Key, key)));
    expect(recorded).toHaveLength(0);
  }, 60_000);

  it("a body no consumer can parse is dead-lettered at once, not retried", async () => {
    await testEnv.FILINGS_QUEUE.send({ type: "filing.unknown", order: "CO-2026-000001" });
    const dead = await waitFor(
      () => withTestDb(async (db) => (await db.select().from(deadLetters).where(eq(deadLetters.queue, "filings")))[0]),
      20_000,
      "the invalid body to be dead-lettered",
    );
    expect(dead.note).toMatch(/^invalid body: /);
    expect(dead.attempts).toBe(1);
  });
});
