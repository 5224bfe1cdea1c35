import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { inboundMessages } from "../../db/schema";
import worker from "../../workers/index";
import { testEnv, withTestDb } from "../support/db";
import { waitFor } from "../support/wait-for";
import { emailMessage } from "../support/inbound-email";

const RAW = [
  "From: Google <noreply-dmarc-support@google.com>",
  "To: dmarc@docket.test",
  "Subject: Report domain: docket.test Submitter: google.com Report-ID: 1234",
  "Message-ID: <report-1234@google.com>",
  "Date: Sat, 21 Nov 2026 09:00:00 +0000",
  "MIME-Version: 1.0",
  "Content-Type: text/plain; charset=utf-8",
  "",
  "report body",
  "",
].join("\r\n");

describe("the email handler", () => {
  it("stores the raw message in R2 under inbound/<date>/ and enqueues it for the consumer", async () => {
    const { message, rejected } = emailMessage(RAW, { from: "noreply-dmarc-support@google.com" });
    const before = new Date().toISOString().slice(0, 10);
    await worker.email(message, testEnv, {} as ExecutionContext);
    expect(rejected()).toBeUndefined();

    const listed = await testEnv.FILES.list({ prefix: `inbound/${before}/` });
    const stored = listed.objects.find((o) => o.size === RAW.length);
    expect(stored?.key).toMatch(/^inbound\/\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}\.eml$/);
    const object = await testEnv.FILES.get(stored!.key);
    expect(await object?.text()).toBe(RAW);
    expect(object?.customMetadata).toMatchObject({
      envelopeFrom: "noreply-dmarc-support@google.com",
      envelopeTo: "dmarc@docket.test",
    });

    const row = await waitFor(
      () =>
        withTestDb(
          async (db) => (await db.select().from(inboundMessages).where(eq(inboundMessages.r2Key, stored!.key)))[0],
        ),
      20_000,
      "the queued message to be recorded",
    );
    expect(row).toMatchObject({
      messageId: "<report-1234@google.com>",
      envelopeFrom: "noreply-dmarc-support@google.com",
      rawSize: RAW.length,
    });
  });

  it("rejects mail over the configured size before reading it", async () => {
    const { message, rejected, wasRead } = emailMessage(RAW, { rawSize: 10 * 1024 * 1024 + 1 });
    const before = await testEnv.FILES.list({ prefix: "inbound/" });
    await worker.email(message, testEnv, {} as ExecutionContext);
    expect(rejected()).toMatch(/^552 5\.3\.4 /);
    expect(wasRead()).toBe(false);
    const after = await testEnv.FILES.list({ prefix: "inbound/" });
    expect(after.objects.length).toBe(before.objects.length);
  });
});
