import { eq } from "drizzle-orm";
import { inject } from "vitest";
import { beforeAll, describe, expect, it } from "vitest";
import { bounceEvents, dmarcRecords, dmarcReports, emailAddresses, mailSends, suppressions } from "../../db/schema";
import { loadAppConfig, type AppConfig } from "../../domain/config/app-config";
import { composeMessage } from "../../domain/mail/compose-message";
import { createMailer } from "../../workers/mailer/mailer";
import { sendRecorded } from "../../workers/mailer/recorded-send";
import { testEnv, withTestDb } from "../support/db";
import { deliverInbound } from "../support/inbound-email";
import { waitFor } from "../support/wait-for";

let config: AppConfig;
beforeAll(() => {
  const result = loadAppConfig(testEnv as unknown as Record<string, unknown>);
  if (!result.ok) throw new Error(result.problems.join("; "));
  config = result.config;
});

/** Sends a real message through the sink and returns its recorded send (id, message id, recipient). */
async function recordedSend(to: string) {
  const messageId = `<${crypto.randomUUID()}@send.docket.test>`;
  const result = await withTestDb((db) =>
    sendRecorded(
      db,
      config,
      createMailer(config),
      { to, messageId, subject: "Your MCS-150", html: "<p>hello</p>" },
      { kind: "campaign" },
    ),
  );
  if (!result.sent) throw new Error("not sent");
  expect(result.outcome.status).toBe("accepted");
  return result.send;
}

/** An RFC 3464 delivery status notification about one of our sends. */
function dsn(opts: {
  to: string;
  recipient: string;
  action: string;
  status: string;
  diagnostic: string;
  originalMessageId: string;
  sendId?: number;
}) {
  const boundary = "dsn-boundary-1";
  return [
    "From: Mail Delivery System <MAILER-DAEMON@mx.carrier.test>",
    `To: ${opts.to}`,
    `Subject: ${opts.action === "delivered" ? "Successful Mail Delivery Report" : "Undelivered Mail Returned to Sender"}`,
    `Message-ID: <${crypto.randomUUID()}@mx.carrier.test>`,
    "Date: Sat, 21 Nov 2026 10:00:00 +0000",
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    "",
    `--${boundary}`,
    "Content-Type: text/plain",
    "",
    "This is the mail system at host mx.carrier.test.",
    "",
    `--${boundary}`,
    "Content-Type: message/delivery-status",
    "",
    "Reporting-MTA: dns; mx.carrier.test",
    "",
    `Final-Recipient: rfc822; ${opts.recipient}`,
    `Action: ${opts.action}`,
    `Status: ${opts.status}`,
    `Diagnostic-Code: smtp; ${opts.diagnostic}`,
    "",
    `--${boundary}`,
    "Content-Type: text/rfc822-headers",
    "",
    "From: Docket <noreply@send.docket.test>",
    `To: ${opts.recipient}`,
    "Subject: Your MCS-150",
    `Message-ID: ${opts.originalMessageId}`,
    ...(opts.sendId !== undefined ? [`X-Docket-Send: ${opts.sendId}`] : []),
    "",
    `--${boundary}--`,
    "",
  ].join("\r\n");
}

const verp = (id: number) => `bounce+${id}@send.docket.test`;

describe("bounces", () => {
  it("a hard bounce suppresses the address and marks it hard_bounced, once", async () => {
    const send = await recordedSend("gone@carrier.test");
    const raw = dsn({
      to: verp(send.id),
      recipient: "gone@carrier.test",
      action: "failed",
      status: "5.1.1",
      diagnostic: "550 5.1.1 <gone@carrier.test>: Recipient address rejected: User unknown",
      originalMessageId: send.messageId,
    });
    const row = await deliverInbound(raw, { to: verp(send.id) });
    expect(row).toMatchObject({ status: "processed", kind: "bounce" });

    await withTestDb(async (db) => {
      expect(
        (await db.select().from(suppressions).where(eq(suppressions.address, "gone@carrier.test")))[0],
      ).toMatchObject({ reason: "hard_bounce" });
      expect(
        (await db.select().from(emailAddresses).where(eq(emailAddresses.address, "gone@carrier.test")))[0],
      ).toMatchObject({ verificationResult: "hard_bounced" });
      expect((await db.select().from(mailSends).where(eq(mailSends.id, send.id)))[0]).toMatchObject({
        status: "bounced",
        bounceReason: "userunknown",
        outcome: "reject_recipient",
      });
      const events = await db.select().from(bounceEvents).where(eq(bounceEvents.inboundMessageId, row.id));
      expect(events).toEqual([
        expect.objectContaining({
          sendId: send.id,
          matchedBy: "verp",
          reason: "userunknown",
          status: "5.1.1",
          hardBounce: true,
        }),
      ]);
    });

    // The same DSN delivered again is a duplicate: no second event.
    const again = await deliverInbound(raw, { to: verp(send.id) });
    expect(again.status).toBe("duplicate");
    const events = await withTestDb((db) => db.select().from(bounceEvents).where(eq(bounceEvents.sendId, send.id)));
    expect(events).toHaveLength(1);
  });

  it("soft bounces suppress after the configured count; a success report marks send_confirmed", async () => {
    const address = "full@carrier.test";
    for (let i = 1; i <= config.SOFT_BOUNCE_SUPPRESS_AFTER; i++) {
      const send = await recordedSend(address);
      await deliverInbound(
        dsn({
          to: "bounces@docket.test",
          recipient: address,
          action: "failed",
          status: "5.2.2",
          diagnostic: "552 5.2.2 Mailbox full",
          originalMessageId: send.messageId,
          sendId: send.id,
        }),
      );
      const suppressed = await withTestDb((db) =>
        db.select().from(suppressions).where(eq(suppressions.address, address)),
      );
      expect(suppressed.length).toBe(i >= config.SOFT_BOUNCE_SUPPRESS_AFTER ? 1 : 0);
    }
    const confirmed = await recordedSend("works@carrier.test");
    await deliverInbound(
      dsn({
        to: verp(confirmed.id),
        recipient: "works@carrier.test",
        action: "delivered",
        status: "2.0.0",
        diagnostic: "250 2.0.0 OK",
        originalMessageId: confirmed.messageId,
      }),
    );
    await withTestDb(async (db) => {
      expect(
        (await db.select().from(emailAddresses).where(eq(emailAddresses.address, "works@carrier.test")))[0]
          ?.verificationResult,
      ).toBe("send_confirmed");
      expect((await db.select().from(mailSends).where(eq(mailSends.id, confirmed.id)))[0]?.status).toBe("delivered");
      expect(await db.select().from(suppressions).where(eq(suppressions.address, "works@carrier.test"))).toHaveLength(
        0,
      );
    });
  });

  it("a complaint suppresses the address and alerts once", async () => {
    const send = await recordedSend("angry@carrier.test");
    const boundary = "arf-boundary";
    const arf = [
      "From: Yahoo FBL <feedback@arf.mail.yahoo.test>",
      "To: fbl@docket.test",
      "Subject: FW: Your MCS-150",
      `Message-ID: <${crypto.randomUUID()}@arf.mail.yahoo.test>`,
      "MIME-Version: 1.0",
      `Content-Type: multipart/report; report-type=feedback-report; boundary="${boundary}"`,
      "",
      `--${boundary}`,
      "Content-Type: text/plain",
      "",
      "This is an email abuse report for an email message received from IP 203.0.113.9.",
      "",
      `--${boundary}`,
      "Content-Type: message/feedback-report",
      "",
      "Feedback-Type: abuse",
      "User-Agent: Yahoo!-Mail-Feedback/2.0",
      "Version: 1",
      "Source-IP: 203.0.113.9",
      "Original-Rcpt-To: angry@carrier.test",
      "",
      `--${boundary}`,
      "Content-Type: text/rfc822-headers",
      "",
      "From: Docket <noreply@send.docket.test>",
      "To: angry@carrier.test",
      "Subject: Your MCS-150",
      `Message-ID: ${send.messageId}`,
      `X-Docket-Send: ${send.id}`,
      "",
      `--${boundary}--`,
      "",
    ].join("\r\n");
    const { url } = inject("capture");
    await fetch(`${url}/__captured`, { method: "DELETE" });
    const row = await deliverInbound(arf);
    expect(row).toMatchObject({ status: "processed", kind: "complaint" });
    await withTestDb(async (db) => {
      expect(
        (await db.select().from(suppressions).where(eq(suppressions.address, "angry@carrier.test")))[0]?.reason,
      ).toBe("complaint");
      expect((await db.select().from(mailSends).where(eq(mailSends.id, send.id)))[0]?.status).toBe("complained");
    });
    const telegram = await waitFor(
      async () => {
        const captured = (await (await fetch(`${url}/__captured`)).json()) as {
          path: string;
          body: { text?: string };
        }[];
        return captured.find((c) => c.path.includes("/telegram/") && c.body.text?.includes("angry@carrier.test"));
      },
      10_000,
      "the complaint alert",
    );
    expect(telegram.body.text).toMatch(/complaint/i);
  });

  it("an auto-reply changes nothing", async () => {
    const send = await recordedSend("away@carrier.test");
    const row = await deliverInbound(
      [
        "From: Away <away@carrier.test>",
        "To: noreply@send.docket.test",
        "Subject: Out of Office: Your MCS-150",
        "Auto-Submitted: auto-replied",
        `Message-ID: <${crypto.randomUUID()}@carrier.test>`,
        `In-Reply-To: ${send.messageId}`,
        "",
        "I am away until Monday.",
        "",
      ].join("\r\n"),
    );
    expect(row).toMatchObject({ status: "processed", kind: "auto_reply" });
    await withTestDb(async (db) => {
      expect(await db.select().from(suppressions).where(eq(suppressions.address, "away@carrier.test"))).toHaveLength(0);
      expect((await db.select().from(mailSends).where(eq(mailSends.id, send.id)))[0]?.status).toBe("accepted");
    });
  });
});

describe("DMARC reports", () => {
  async function reportEmail(reportId: string, gzipped: boolean) {
    const xml = `<?xml version="1.0"?><feedback><report_metadata><org_name>google.com</org_name><email>noreply-dmarc-support@google.com</email><report_id>${reportId}</report_id><date_range><begin>1795219200</begin><end>1795305599</end></date_range></report_metadata><policy_published><domain>docket.test</domain><p>reject</p></policy_published>
      <record><row><source_ip>203.0.113.9</source_ip><count>40</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers><header_from>docket.test</header_from></identifiers><auth_results><dkim><domain>docket.test</domain><result>pass</result></dkim><spf><domain>send.docket.test</domain><result>pass</result></spf></auth_results></record>
      <record><row><source_ip>198.51.100.77</source_ip><count>25</count><policy_evaluated><disposition>reject</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>docket.test</header_from></identifiers><auth_results><spf><domain>spoof.test</domain><result>fail</result></spf></auth_results></record>
    </feedback>`;
    let content: Uint8Array = new TextEncoder().encode(xml);
    if (gzipped)
      content = new Uint8Array(
        await new Response(new Blob([content]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
      );
    const composed = await composeMessage(
      {
        to: "dmarc@docket.test",
        from: "noreply-dmarc-support@google.com",
        subject: `Report domain: docket.test Submitter: google.com Report-ID: ${reportId}`,
        text: "This is an aggregate report from google.com.",
        attachments: [
          {
            filename: `google.com!docket.test!1795219200!1795305599.xml${gzipped ? ".gz" : ""}`,
            content,
            contentType: gzipped ? "application/gzip" : "text/xml",
          },
        ],
      },
      config,
    );
    return composed.raw;
  }

  it("stores the report once, with one row per record labelled ours or external", async () => {
    const row = await deliverInbound(await reportEmail("rep-1", true), { from: "noreply-dmarc-support@google.com" });
    expect(row).toMatchObject({ status: "processed", kind: "dmarc_report" });
    const [report] = await withTestDb((db) => db.select().from(dmarcReports).where(eq(dmarcReports.reportId, "rep-1")));
    expect(report).toMatchObject({ orgName: "google.com", domain: "docket.test", inboundMessageId: row.id });
    const records = await withTestDb((db) =>
      db.select().from(dmarcRecords).where(eq(dmarcRecords.reportId, report!.id)),
    );
    expect(records.map((r) => [r.sourceIp, r.count, r.ours, r.dmarcPass]).sort()).toEqual([
      ["198.51.100.77", 25, false, false],
      ["203.0.113.9", 40, true, true],
    ]);

    // The same report again, in a new e-mail (new Message-ID, bare XML): nothing changes.
    const again = await deliverInbound(await reportEmail("rep-1", false));
    expect(again.status).toBe("processed");
    expect((again.detail as { reports: { isNew: boolean }[] }).reports[0]?.isNew).toBe(false);
    expect(
      await withTestDb((db) => db.select().from(dmarcReports).where(eq(dmarcReports.reportId, "rep-1"))),
    ).toHaveLength(1);
  });

  it("a zip bomb fails its message record with a clear error, keeps the raw mail, and is not retried", async () => {
    const zeros = new Uint8Array(16 * 1024 * 1024);
    const gz = new Uint8Array(
      await new Response(new Blob([zeros]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
    );
    const composed = await composeMessage(
      {
        to: "dmarc@docket.test",
        from: "reports@evil.test",
        subject: "Report domain: docket.test Submitter: evil.test Report-ID: bomb",
        text: "report",
        attachments: [{ filename: "bomb.xml.gz", content: gz, contentType: "application/gzip" }],
      },
      config,
    );
    const row = await deliverInbound(composed.raw);
    expect(row.status).toBe("failed");
    expect(row.error).toMatch(/^DMARC report refused \((ratio|too_large)\): /);
    expect(await testEnv.FILES.head(row.r2Key)).not.toBeNull();
  });
});

describe("messages for people", () => {
  it("an agency reply and anything else are forwarded to the operator once", async () => {
    const row = await deliverInbound(
      [
        "From: IRP Unit <irp@dmv.state.test>",
        "To: filings@docket.test",
        "Subject: RE: [DK-IRP CO-2026-000123] Schedule A/B request",
        `Message-ID: <${crypto.randomUUID()}@dmv.state.test>`,
        "",
        "The apportioned fee is $1,234.56.",
        "",
      ].join("\r\n"),
    );
    expect(row).toMatchObject({
      status: "processed",
      kind: "agency_reply",
      detail: { agency: { kind: "IRP", orderNumber: "CO-2026-000123" } },
    });
    // The forward leaves after the transaction commits: wait for the relay to have it.
    const { httpPort } = inject("smtp");
    const subject = "Fwd: RE: [DK-IRP CO-2026-000123] Schedule A/B request";
    const listForwards = async () =>
      (
        (await (await fetch(`http://127.0.0.1:${httpPort}/messages`)).json()) as {
          subject: string;
          envelope: { to: string[] };
        }[]
      ).filter((m) => m.subject === subject);
    const forwards = await waitFor(
      async () => ((await listForwards()).length > 0 ? await listForwards() : undefined),
      10_000,
      "the forward",
    );
    expect(forwards).toHaveLength(1);
    expect(forwards[0]?.envelope.to).toEqual(["ops@docket.test"]);
  });
});
