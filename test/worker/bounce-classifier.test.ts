import { describe, expect, it } from "vitest";
import { classifyBounce } from "../../domain/bounces/classify-bounce";

// The bounce classifier inside workerd, where the inbound-mail consumer runs it: small reports
// built here, one per kind, read from bytes as Email Routing hands them over.

const CRLF = "\r\n";
const bytes = (lines: string[]) => new TextEncoder().encode(lines.join(CRLF));

/** A multipart/report (RFC 6522) with a human part, a machine part and the returned headers. */
function report(opts: {
  type: string;
  human: string[];
  machine: string[];
  original?: string[];
  subject?: string;
  from?: string;
}) {
  return bytes([
    `From: ${opts.from ?? "Mail Delivery System <MAILER-DAEMON@mx.example.net>"}`,
    "To: bounces@send.docket.test",
    `Subject: ${opts.subject ?? "Undelivered Mail Returned to Sender"}`,
    "Date: Sat, 21 Nov 2026 09:00:00 +0000",
    "Message-ID: <report-1@mx.example.net>",
    "Auto-Submitted: auto-replied",
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type=${opts.type}; boundary="BOUNDARY"`,
    "",
    "--BOUNDARY",
    "Content-Type: text/plain; charset=us-ascii",
    "",
    ...opts.human,
    "",
    "--BOUNDARY",
    `Content-Type: message/${opts.type}`,
    "",
    ...opts.machine,
    "",
    "--BOUNDARY",
    "Content-Type: text/rfc822-headers",
    "",
    ...(opts.original ?? [
      "Return-Path: <bounces@send.docket.test>",
      "Message-ID: <filing-7@send.docket.test>",
      "X-Docket-Send-Id: 7",
      "From: Docket <noreply@send.docket.test>",
      "To: someone@example.org",
      "Subject: Your filing",
    ]),
    "",
    "--BOUNDARY--",
    "",
  ]);
}

describe("classifyBounce in workerd", () => {
  it("reads an RFC 3464 failure: reason from the status and the reply, hard bounce, returned message", async () => {
    const result = await classifyBounce(
      report({
        type: "delivery-status",
        human: [
          "<someone@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1",
          "    <someone@example.org>: Recipient address rejected: User unknown (in reply to RCPT TO command)",
        ],
        machine: [
          "Reporting-MTA: dns; mx.example.net",
          "Original-Envelope-Id: send-7",
          "",
          "Final-Recipient: rfc822; someone@example.org",
          "Original-Recipient: rfc822;someone@example.org",
          "Action: failed",
          "Status: 5.1.1",
          "Remote-MTA: dns; mx.example.org",
          "Diagnostic-Code: smtp; 550 5.1.1 <someone@example.org>: Recipient address",
          "    rejected: User unknown in local recipient table",
        ],
      }),
    );
    expect(result.kind).toBe("bounce");
    expect(result.recipients).toEqual([
      {
        recipient: "someone@example.org",
        reason: "userunknown",
        status: "5.1.1",
        replyCode: 550,
        diagnostic:
          "550 5.1.1 <someone@example.org>: Recipient address rejected: User unknown in local recipient table",
        action: "failed",
        remoteMta: "mx.example.org",
        hardBounce: true,
      },
    ]);
    expect(result.originalMessageId).toBe("<filing-7@send.docket.test>");
    expect(result.originalHeaders).toMatchObject({ "x-docket-send-id": "7", "original-envelope-id": "send-7" });
  });

  it("lets the reply's words refine a loose status: a full mailbox under 4.x is soft", async () => {
    const result = await classifyBounce(
      report({
        type: "delivery-status",
        human: ["Delivery to the following recipient failed."],
        machine: [
          "Reporting-MTA: dns; mx.example.net",
          "",
          "Final-Recipient: rfc822; full@example.org",
          "Action: failed",
          "Status: 5.0.0",
          "Diagnostic-Code: smtp; 552 Requested mail action aborted: mailbox is full",
          "",
          "Final-Recipient: rfc822; moved@example.org",
          "Action: failed",
          "Status: 5.1.6",
          "Diagnostic-Code: smtp; 551 User not local",
        ],
      }),
    );
    expect(result.recipients.map((r) => [r.recipient, r.reason, r.status, r.hardBounce])).toEqual([
      ["full@example.org", "mailboxfull", "5.0.0", false],
      ["moved@example.org", "hasmoved", "5.1.6", true],
    ]);
  });

  it("reads a delay notice as a delay, not a failure", async () => {
    const result = await classifyBounce(
      report({
        type: "delivery-status",
        subject: "Delivery Status Notification (Delay)",
        human: [
          "Delivery to the following recipient has been delayed: slow@example.org",
          "The server will keep trying.",
        ],
        machine: [
          "Reporting-MTA: dns; mx.example.net",
          "",
          "Final-Recipient: rfc822; slow@example.org",
          "Action: delayed",
          "Status: 4.4.1",
          "Diagnostic-Code: smtp; 421 4.4.1 connect to mx.example.org[192.0.2.9]:25: Connection timed out",
          "Will-Retry-Until: Tue, 24 Nov 2026 09:00:00 +0000",
        ],
      }),
    );
    expect(result.kind).toBe("delay");
    expect(result.recipients).toMatchObject([
      { recipient: "slow@example.org", action: "delayed", reason: "expired", status: "4.4.1", hardBounce: false },
    ]);
  });

  it("reads a success DSN as delivered", async () => {
    const result = await classifyBounce(
      report({
        type: "delivery-status",
        subject: "Successful Mail Delivery Report",
        human: ["Your message was successfully delivered to the destination(s) listed below."],
        machine: [
          "Reporting-MTA: dns; mx.example.net",
          "",
          "Final-Recipient: rfc822; happy@example.org",
          "Action: delivered",
          "Status: 2.0.0",
          "Diagnostic-Code: smtp; 250 2.0.0 OK queued as 4XyZ",
        ],
      }),
    );
    expect(result.kind).toBe("delivered");
    expect(result.recipients).toMatchObject([
      { recipient: "happy@example.org", reason: "delivered", status: "2.0.0", hardBounce: false },
    ]);
  });

  it("reads an ARF report (RFC 5965) as a complaint with its feedback type", async () => {
    const result = await classifyBounce(
      report({
        type: "feedback-report",
        from: "Feedback Loop <fbl@isp.example>",
        subject: "FW: Your filing",
        human: ["This is an email abuse report for an email message received from IP 192.0.2.25."],
        machine: [
          "Feedback-Type: abuse",
          "User-Agent: SomeGenerator/1.0",
          "Version: 1",
          "Original-Mail-From: <bounces@send.docket.test>",
          "Original-Rcpt-To: <annoyed@isp.example>",
          "Arrival-Date: Sat, 21 Nov 2026 08:00:00 +0000",
          "Source-IP: 192.0.2.25",
        ],
      }),
    );
    expect(result.kind).toBe("complaint");
    expect(result.recipients).toMatchObject([
      { recipient: "annoyed@isp.example", reason: "feedback", feedbackType: "abuse", hardBounce: false },
    ]);
    expect(result.originalHeaders).toMatchObject({
      "x-docket-send-id": "7",
      "envelope-from": "bounces@send.docket.test",
    });
  });

  it("reads an RFC 3834 auto-reply as an auto-reply, not a bounce", async () => {
    const result = await classifyBounce(
      [
        "From: Person <person@example.org>",
        "To: noreply@send.docket.test",
        "Subject: Out of Office: Your filing",
        "Auto-Submitted: auto-replied",
        "In-Reply-To: <filing-7@send.docket.test>",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "I am away until Monday and will read your message when I am back.",
        "",
      ].join(CRLF),
    );
    expect(result.kind).toBe("auto_reply");
    expect(result.recipients).toMatchObject([
      { recipient: "person@example.org", reason: "vacation", hardBounce: false },
    ]);
  });

  it("reads a qmail text bounce without any report part", async () => {
    const result = await classifyBounce(
      bytes([
        "From: MAILER-DAEMON@mx.example.net",
        "To: bounces@send.docket.test",
        "Subject: failure notice",
        "",
        "Hi. This is the qmail-send program at mx.example.net.",
        "I'm afraid I wasn't able to deliver your message to the following addresses.",
        "This is a permanent error; I've given up. Sorry it didn't work out.",
        "",
        "<nobody@example.org>:",
        "192.0.2.7 does not like recipient.",
        "Remote host said: 550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown",
        "Giving up on 192.0.2.7.",
        "",
        "--- Below this line is a copy of the message.",
        "",
        "Return-Path: <bounces@send.docket.test>",
        "Message-ID: <filing-8@send.docket.test>",
        "X-Docket-Send-Id: 8",
        "From: Docket <noreply@send.docket.test>",
        "To: nobody@example.org",
        "",
        "Hello",
      ]),
    );
    expect(result.kind).toBe("bounce");
    expect(result.recipients).toMatchObject([
      { recipient: "nobody@example.org", reason: "userunknown", status: "5.1.1", replyCode: 550, hardBounce: true },
    ]);
    expect(result.originalHeaders).toMatchObject({
      "x-docket-send-id": "8",
      "message-id": "<filing-8@send.docket.test>",
    });
  });

  it("reads a person's reply as no bounce", async () => {
    const result = await classifyBounce(
      "From: Person <person@example.org>\r\nTo: hello@docket.test\r\nSubject: Re: Your filing\r\n\r\nThanks, got it.\r\n",
    );
    expect(result).toEqual({ kind: "not_bounce", recipients: [] });
  });
});
