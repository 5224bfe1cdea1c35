import { describe, expect, it } from "vitest";
import { aggregateDeliveries, classifyDelivery, deliveryOperator } from "../../domain/mta-log/delivery-aggregates";
import {
  aggregateKey,
  parsePostfixLine,
  parsePostfixLog,
  PostfixLogParseError,
  type PostfixLogOptions,
} from "../../domain/mta-log/postfix-log";

// Sending IPs per Postfix instance / transport (documentation addresses).
const SENDING_IPS = {
  "postfix-out01": "203.0.113.10",
  out02: "203.0.113.11",
  "postfix/hcout": "203.0.113.12",
  postfix: "203.0.113.9",
};
const OPTIONS: PostfixLogOptions = { referenceDate: new Date("2026-11-22T00:00:00Z"), sendingIps: SENDING_IPS };

const L = {
  gmailSent:
    "Nov 21 10:00:01 mta1 postfix-out01/smtp[23817]: 4Bx7Zk1Qz9z9tQ2: to=<dispatch@carrier-one.example>, relay=aspmx.l.google.com[142.250.27.26]:25, delay=1.4, delays=0.05/0.01/0.42/0.92, dsn=2.0.0, status=sent (250 2.0.0 OK  1732183201 a640c23a62f3a-aa4b3c1d2e3si1234567.512 - gsmtp)",
  microsoftBusy:
    "Nov 21 10:00:02 mta1 postfix-out02/smtp[23820]: 4Bx7Zl2XYZz9tQ3: to=<office@fleet-two.example>, relay=fleettwo-example.mail.protection.outlook.com[52.101.40.17]:25, delay=2.1, delays=0.04/0/1.6/0.44, dsn=4.7.500, status=deferred (host fleettwo-example.mail.protection.outlook.com[52.101.40.17] said: 451 4.7.500 Server busy. Please try again later from [203.0.113.11]. (S77714) [BN1PEPF00004689.namprd05.prod.outlook.com 2026-11-21T10:00:02.123Z 08DD0A1B2C3D4E5F] (in reply to MAIL FROM command))",
  yahooSuspended:
    "Nov 21 10:00:03 mta1 postfix-out01/smtp[23818]: 4Bx7Zm3ABCz9tQ4: to=<owner@yahoo.com>, relay=none, delay=31, delays=0.02/0.01/31/0, dsn=4.7.0, status=deferred (delivery temporarily suspended: host mta7.am0.yahoodns.net[67.195.204.79] refused to talk to me: 421 4.7.0 [TSS04] Messages from 203.0.113.10 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes)",
  yahooIso:
    "2026-11-21T10:00:04.123456+00:00 mta1 postfix/hcout/smtp[4242]: 4Bx7Zn4DEFz9tQ5: to=<dispatcher@att.net>, relay=mx-att.mail.am0.yahoodns.net[98.136.96.74]:25, delay=0.9, delays=0.01/0/0.9/0, dsn=4.7.0, status=deferred (host mx-att.mail.am0.yahoodns.net[98.136.96.74] refused to talk to me: 421 4.7.0 [TSS04] Messages from 203.0.113.12 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes)",
  gmailUnknown:
    "Nov 21 10:00:05 mta1 postfix-out01/smtp[23819]: 4Bx7Zp5GHIz9tQ6: to=<nobody-here@gmail.com>, relay=gmail-smtp-in.l.google.com[2a00:1450:400c:c0b::1a]:25, delay=0.8, delays=0.02/0/0.31/0.47, dsn=5.1.1, status=bounced (host gmail-smtp-in.l.google.com[2a00:1450:400c:c0b::1a] said: 550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 unnecessary spaces. For more information, go to 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a640c23a62f3a-aa4b3c1d2e3si1234567.600 - gsmtp (in reply to RCPT TO command))",
  gmailContent:
    "Nov 21 10:00:06 mta1 postfix-out01/smtp[23821]: 4Bx7Zq6JKLz9tQ7: to=<ops@carrier-one.example>, relay=aspmx.l.google.com[142.250.27.26]:25, delay=1.1, delays=0.02/0/0.3/0.78, dsn=5.7.1, status=bounced (host aspmx.l.google.com[142.250.27.26] said: 550-5.7.1 [203.0.113.10      12] Our system has detected that this message is 550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail, 550-5.7.1 this message has been blocked. For more information, go to 550 5.7.1  https://support.google.com/mail/?p=UnsolicitedMessageError a640c23a62f3a-aa4b3c1d2e3si1234567.601 - gsmtp (in reply to end of DATA command))",
  spamassassin:
    "Nov 21 10:00:07 mta1 postfix-out02/smtp[23822]: 4Bx7Zr7MNOz9tQ8: to=<info@small-hauler.example>, relay=mail.small-hauler.example[198.51.100.30]:25, conn_use=2, delay=0.6, delays=0.01/0.01/0.1/0.48, dsn=5.7.1, status=bounced (host mail.small-hauler.example[198.51.100.30] said: 550 5.7.1 Blocked by SpamAssassin (in reply to end of DATA command))",
  outlookBlockList:
    "Nov 21 10:00:08 mta1 postfix-out02/smtp[23823]: 4Bx7Zs8PQRz9tQ9: to=<driver@hotmail.com>, relay=hotmail-com.olc.protection.outlook.com[52.101.8.33]:25, delay=0.7, delays=0.01/0/0.4/0.29, dsn=5.7.1, status=bounced (host hotmail-com.olc.protection.outlook.com[52.101.8.33] said: 550 5.7.1 Unfortunately, messages from [203.0.113.11] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors. [DB3EUR04FT007.eop-eur04.prod.protection.outlook.com] (in reply to MAIL FROM command))",
  microsoftDbeb:
    "Nov 21 10:00:09 mta1 postfix-out02/smtp[23824]: 4Bx7Zt9STUz9tR0: to=<gone@fleet-two.example>, relay=fleettwo-example.mail.protection.outlook.com[52.101.40.17]:25, delay=0.5, delays=0.01/0/0.3/0.19, dsn=5.4.1, status=bounced (host fleettwo-example.mail.protection.outlook.com[52.101.40.17] said: 550 5.4.1 Recipient address rejected: Access denied. For more information see https://aka.ms/EXOSmtpErrors AS(201806281) [BN8NAM12FT034.eop-nam12.prod.protection.outlook.com] (in reply to RCPT TO command))",
  timeout:
    "Nov 21 10:00:10 mta1 postfix-out02/smtp[23830]: 4Bx7Zv0VWXz9tR1: to=<info@dead-domain.example>, relay=none, delay=30, delays=0.01/0.01/30/0, dsn=4.4.1, status=deferred (connect to mx.dead-domain.example[198.51.100.25]:25: Connection timed out)",
  local:
    "Nov 21 10:00:11 mta1 postfix/local[1250]: 4Bx7Zw1YZAz9tR2: to=<root@mta1.docket.test>, orig_to=<root>, relay=local, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)",
  expired:
    "Nov 21 10:00:12 mta1 postfix-out01/smtp[23831]: 4Bx7Zx2BCDz9tR3: to=<ops@fleet-three.example>, relay=none, delay=432001, delays=432000/1/0/0, dsn=4.4.1, status=expired, returned to sender",
  rfc5424:
    "<22>1 2026-11-21T10:00:13.000Z mta1 postfix/smtp 1299 - - 4Bx7Zy3EFGz9tR4: to=<boss@icloud.com>, relay=mx01.mail.icloud.com[17.57.155.23]:25, delay=0.5, delays=0.01/0/0.2/0.29, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 6A1B2C3D4E)",
  gmailDkimRate:
    "Nov 21 10:00:14 mta1 postfix-out01/smtp[23832]: 4Bx7Zz4HIJz9tR5: to=<sales@carrier-one.example>, relay=aspmx.l.google.com[142.250.27.26]:25, delay=0.4, delays=0.01/0/0.2/0.19, dsn=4.7.28, status=deferred (host aspmx.l.google.com[142.250.27.26] said: 421-4.7.28 Gmail has detected an unusual rate of unsolicited email originating from your DKIM domain send.docket.test. 421 4.7.28 To protect our users from spam, email sent from your domain has been temporarily rate limited. - gsmtp (in reply to end of DATA command))",
};

const NOT_DELIVERIES = [
  "Nov 21 10:00:15 mta1 postfix/qmgr[812]: 4Bx7Zk1Qz9z9tQ2: from=<bounce+abc@send.docket.test>, size=18234, nrcpt=1 (queue active)",
  "Nov 21 10:00:15 mta1 postfix/cleanup[1201]: 4Bx7Zk1Qz9z9tQ2: message-id=<20261121100000.abc@send.docket.test>",
  "Nov 21 10:00:15 mta1 postfix/qmgr[812]: 4Bx7Zk1Qz9z9tQ2: removed",
  "Nov 21 10:00:15 mta1 postfix/qmgr[812]: 4Bx7Zx2BCDz9tR3: from=<bounce+abc@send.docket.test>, status=expired, returned to sender",
  "Nov 21 10:00:16 mta1 postfix/smtpd[1300]: connect from unknown[192.0.2.44]",
  "Nov 21 10:00:16 mta1 postfix/smtpd[1300]: disconnect from unknown[192.0.2.44] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4",
  "Nov 21 10:00:16 mta1 postfix/smtpd[1300]: NOQUEUE: reject: RCPT from unknown[192.0.2.44]: 554 5.7.1 <x@docket.test>: Relay access denied; from=<a@b.example> to=<x@docket.test> proto=ESMTP helo=<b.example>",
  "Nov 21 10:00:17 mta1 postfix-out01/smtp[23833]: connect to alt1.aspmx.l.google.com[142.250.153.26]:25: Connection timed out",
  "Nov 21 10:00:17 mta1 postfix-out01/smtp[23833]: 4Bx7ZzAKLMz9tR7: host mta6.am0.yahoodns.net[67.195.228.106] refused to talk to me: 421 4.7.0 [TSS04] Messages from 203.0.113.10 temporarily deferred",
  "Nov 21 10:00:18 mta1 postfix/verify[900]: 4Bx7ZzBNOPz9tR8: to=<probe@carrier-one.example>, relay=aspmx.l.google.com[142.250.27.26]:25, delay=0.3, delays=0/0/0.2/0.1, dsn=2.1.5, status=deliverable (250 2.1.5 OK)",
  "Nov 21 10:00:19 mta1 opendkim[700]: 4Bx7Zk1Qz9z9tQ2: DKIM-Signature field added (s=send, d=send.docket.test)",
  "",
];

const MALFORMED = [
  // truncated mid-line
  "Nov 21 10:00:20 mta1 postfix-out01/smtp[23834]: 4Bx7ZzCQRSz9tR9: to=<x@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.27.27]:25, delay=0.",
  // dsn is not an RFC 3463 code
  "Nov 21 10:00:21 mta1 postfix-out01/smtp[23835]: 4Bx7ZzDTUVz9tS0: to=<x@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.27.27]:25, delay=0.3, delays=0/0/0.2/0.1, dsn=2.0, status=sent (250 2.0.0 OK)",
  // no relay=
  "Nov 21 10:00:22 mta1 postfix-out01/smtp[23836]: 4Bx7ZzEWXYz9tS1: to=<x@gmail.com>, delay=0.3, delays=0/0/0.2/0.1, dsn=2.0.0, status=sent (250 2.0.0 OK)",
  // status Postfix does not log
  "Nov 21 10:00:23 mta1 postfix-out01/smtp[23837]: 4Bx7ZzFZABz9tS2: to=<x@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.27.27]:25, delay=0.3, delays=0/0/0.2/0.1, dsn=2.0.0, status=delivered (250 2.0.0 OK)",
  // impossible date
  "Nov 31 10:00:24 mta1 postfix-out01/smtp[23838]: 4Bx7ZzGCDEz9tS3: to=<x@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.27.27]:25, delay=0.3, delays=0/0/0.2/0.1, dsn=2.0.0, status=sent (250 2.0.0 OK)",
  // delivery fields behind a mangled syslog header
  "21/Nov/2026 10:00:25 postfix: 4Bx7ZzHFGHz9tS4: to=<x@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.27.27]:25, delay=0.3, delays=0/0/0.2/0.1, dsn=2.0.0, status=sent (250 2.0.0 OK)",
];

function parse(line: string, options: PostfixLogOptions = OPTIONS) {
  const delivery = parsePostfixLine(line, options);
  if (!delivery) throw new Error(`not a delivery: ${line}`);
  return delivery;
}

describe("parsePostfixLine", () => {
  it("parses a Gmail acceptance from a multi-instance Postfix", () => {
    const d = parse(L.gmailSent);
    expect(d).toMatchObject({
      at: new Date("2026-11-21T10:00:01Z"),
      host: "mta1",
      instance: "postfix-out01",
      service: "smtp",
      pid: 23817,
      queueId: "4Bx7Zk1Qz9z9tQ2",
      recipient: "dispatch@carrier-one.example",
      recipientDomain: "carrier-one.example",
      originalRecipient: null,
      relayHost: "aspmx.l.google.com",
      relayIp: "142.250.27.26",
      relayPort: 25,
      delay: 1.4,
      delays: [0.05, 0.01, 0.42, 0.92],
      dsn: "2.0.0",
      status: "sent",
      response: "250 2.0.0 OK  1732183201 a640c23a62f3a-aa4b3c1d2e3si1234567.512 - gsmtp",
      replyCode: 250,
      enhanced: "2.0.0",
      sendingIp: "203.0.113.10",
    });
    expect(d.line).toBe(L.gmailSent);
    expect(classifyDelivery(d)).toEqual({ outcome: "accepted", reasonCode: "2.0.0" });
    expect(deliveryOperator(d)).toBe("google");
  });

  it("parses Microsoft's 451 4.7.500 deferral as throttled", () => {
    const d = parse(L.microsoftBusy);
    expect(d).toMatchObject({
      status: "deferred",
      dsn: "4.7.500",
      replyCode: 451,
      enhanced: "4.7.500",
      sendingIp: "203.0.113.11",
    });
    expect(d.response).toMatch(
      /^host fleettwo-example\.mail\.protection\.outlook\.com\[52\.101\.40\.17\] said: 451 4\.7\.500 Server busy.*\(in reply to MAIL FROM command\)$/,
    );
    expect(classifyDelivery(d)).toEqual({ outcome: "throttled", reasonCode: "4.7.500" });
    expect(deliveryOperator(d)).toBe("microsoft");
  });

  it("parses Yahoo's TSS04 whether Postfix names the relay or only the response does", () => {
    const suspended = parse(L.yahooSuspended);
    expect(suspended).toMatchObject({
      relayHost: null,
      relayIp: null,
      relayPort: null,
      replyCode: 421,
      enhanced: "4.7.0",
    });
    expect(classifyDelivery(suspended)).toEqual({ outcome: "throttled", reasonCode: "4.7.0:TSS04" });
    expect(deliveryOperator(suspended)).toBe("yahoo");

    const iso = parse(L.yahooIso);
    expect(iso).toMatchObject({
      at: new Date("2026-11-21T10:00:04.123Z"),
      instance: "postfix/hcout",
      service: "smtp",
      recipientDomain: "att.net",
      relayHost: "mx-att.mail.am0.yahoodns.net",
      sendingIp: "203.0.113.12",
    });
    expect(classifyDelivery(iso)).toEqual({ outcome: "throttled", reasonCode: "4.7.0:TSS04" });
    expect(deliveryOperator(iso)).toBe("yahoo");
  });

  it("parses a bounced 550 5.1.1 over IPv6", () => {
    const d = parse(L.gmailUnknown);
    expect(d).toMatchObject({
      status: "bounced",
      relayIp: "2a00:1450:400c:c0b::1a",
      relayPort: 25,
      replyCode: 550,
      enhanced: "5.1.1",
    });
    expect(classifyDelivery(d)).toEqual({ outcome: "reject_recipient", reasonCode: "5.1.1" });
  });

  it("tells content rejections from reputation rejections on the same 5.7.1", () => {
    expect(classifyDelivery(parse(L.gmailContent))).toEqual({ outcome: "reject_content", reasonCode: "5.7.1" });
    expect(classifyDelivery(parse(L.spamassassin))).toEqual({ outcome: "reject_content", reasonCode: "5.7.1" });
    expect(classifyDelivery(parse(L.outlookBlockList))).toEqual({
      outcome: "reject_reputation",
      reasonCode: "5.7.1:S3150",
    });
    expect(classifyDelivery(parse(L.microsoftDbeb))).toEqual({ outcome: "reject_recipient", reasonCode: "5.4.1" });
    expect(classifyDelivery(parse(L.gmailDkimRate))).toEqual({ outcome: "throttled", reasonCode: "4.7.28" });
  });

  it("reads conn_use= and orig_to=, and local transports", () => {
    expect(parse(L.spamassassin)).toMatchObject({ relayHost: "mail.small-hauler.example", delay: 0.6 });
    const local = parse(L.local);
    expect(local).toMatchObject({
      instance: "postfix",
      service: "local",
      recipient: "root@mta1.docket.test",
      originalRecipient: "root",
      relayHost: "local",
      relayIp: null,
      response: "delivered to mailbox",
      replyCode: null,
      enhanced: null,
      sendingIp: "203.0.113.9",
    });
  });

  it("classifies a connection timeout from Postfix's own dsn and names the operator from the response", () => {
    const d = parse(L.timeout);
    expect(d).toMatchObject({ relayHost: null, replyCode: null, enhanced: null, dsn: "4.4.1" });
    expect(classifyDelivery(d)).toEqual({ outcome: "deferred", reasonCode: "4.4.1" });
    expect(deliveryOperator(d)).toBe("mx:dead-domain.example");
  });

  it("parses status=expired", () => {
    expect(parse(L.expired)).toMatchObject({
      status: "expired",
      response: "returned to sender",
      delay: 432001,
      relayHost: null,
    });
  });

  it("reads soft_bounce's SOFTBOUNCE as a deferral, classified by the server's own reply", () => {
    const d = parse(
      "Oct 14 07:34:03 mta1 postfix-out01/smtp[10837]: 4B6D11E01729: to=<dispatch@carrier-four.example>, relay=mail.carrier-four.example[198.51.100.40]:25, delay=39993, delays=35133/4859/0.58/0.71, dsn=4.7.1, status=SOFTBOUNCE (host mail.carrier-four.example[198.51.100.40] said: 501 5.7.1 <bounce@send.docket.test>... Sender refused by the DNSBL b.barracudacentral.org (in reply to RCPT TO command))",
    );
    expect(d).toMatchObject({ status: "deferred", dsn: "4.7.1", replyCode: 501, enhanced: "5.7.1" });
    expect(classifyDelivery(d)).toEqual({ outcome: "reject_reputation", reasonCode: "5.7.1" });
  });

  it("does not let a softened dsn override the server's 5yz", () => {
    const d = parse(
      "Mar 18 20:49:43 mta1 postfix-out01/smtp[10076]: 4BAF83CC22D: to=<ebenezer@carrier-five.example>, relay=smtp-gate.carrier-five.example[198.51.100.41]:25, delay=10869, delays=10832/36/0.78/0.12, dsn=4.0.0, status=SOFTBOUNCE (host smtp-gate.carrier-five.example[198.51.100.41] said: 553 sorry, this recipient is not in my validrcptto list (#5.7.1) (in reply to RCPT TO command))",
    );
    expect(d).toMatchObject({ status: "deferred", replyCode: 553, enhanced: null });
    expect(classifyDelivery(d)).toEqual({ outcome: "reject_recipient", reasonCode: "5.7.1" });
  });

  it("parses RFC 5424 lines", () => {
    const d = parse(L.rfc5424);
    expect(d).toMatchObject({
      at: new Date("2026-11-21T10:00:13Z"),
      host: "mta1",
      instance: "postfix",
      service: "smtp",
      pid: 1299,
      recipientDomain: "icloud.com",
      sendingIp: "203.0.113.9",
    });
    expect(deliveryOperator(d)).toBe("apple");
  });

  it.each(NOT_DELIVERIES)("ignores a non-delivery line: %s", (line) => {
    expect(parsePostfixLine(line, OPTIONS)).toBeUndefined();
  });

  it.each(MALFORMED)("rejects a malformed delivery line: %s", (line) => {
    expect(() => parsePostfixLine(line, OPTIONS)).toThrow(PostfixLogParseError);
  });

  it("says what was wrong", () => {
    const error = (() => {
      try {
        parsePostfixLine(MALFORMED[1]!, OPTIONS);
      } catch (e) {
        return e as PostfixLogParseError;
      }
      throw new Error("expected a parse error");
    })();
    expect(error.kind).toBe("fields");
    expect(error.line).toBe(MALFORMED[1]);
    expect(error.message).toMatch(/dsn=/);
    expect(() => parsePostfixLine(MALFORMED[4]!, OPTIONS)).toThrow(expect.objectContaining({ kind: "timestamp" }));
    expect(() => parsePostfixLine(MALFORMED[5]!, OPTIONS)).toThrow(expect.objectContaining({ kind: "header" }));
  });
});

describe("timestamps", () => {
  const line = (stamp: string) =>
    `${stamp} mta1 postfix-out01/smtp[1]: 4Bx7Zk1Qz9z9tQ2: to=<a@b.example>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to mx.b.example[192.0.2.1]:25: Connection refused)`;

  it("infers the year of classic syslog lines from the reference date", () => {
    const newYear = { referenceDate: new Date("2027-01-01T00:10:00Z") };
    expect(parse(line("Dec 31 23:59:59"), newYear).at).toEqual(new Date("2026-12-31T23:59:59Z"));
    expect(parse(line("Jan  1 00:00:05"), newYear).at).toEqual(new Date("2027-01-01T00:00:05Z"));
    // A day of slack for clock skew, not more.
    expect(parse(line("Jan  1 12:00:00"), newYear).at).toEqual(new Date("2027-01-01T12:00:00Z"));
    expect(parse(line("Jan  3 12:00:00"), newYear).at).toEqual(new Date("2026-01-03T12:00:00Z"));
    // Feb 29 belongs to the last leap year.
    expect(parse(line("Feb 29 08:00:00"), { referenceDate: new Date("2029-03-10T00:00:00Z") }).at).toEqual(
      new Date("2028-02-29T08:00:00Z"),
    );
  });

  it("applies the host's UTC offset to timestamps that carry none", () => {
    const options = { referenceDate: new Date("2026-11-22T00:00:00Z"), utcOffsetMinutes: -300 };
    expect(parse(line("Nov 21 10:00:01"), options).at).toEqual(new Date("2026-11-21T15:00:01Z"));
    expect(parse(line("2026-11-21T10:00:01"), options).at).toEqual(new Date("2026-11-21T15:00:01Z"));
    expect(parse(line("2026-11-21T10:00:01-0500"), OPTIONS).at).toEqual(new Date("2026-11-21T15:00:01Z"));
    expect(parse(line("<22>Nov 21 10:00:01"), OPTIONS).at).toEqual(new Date("2026-11-21T10:00:01Z"));
  });
});

describe("sending IPs", () => {
  it("looks up the program, then the syslog_name, then the name without its postfix prefix", () => {
    const options = (sendingIps: Record<string, string>) => ({ referenceDate: OPTIONS.referenceDate, sendingIps });
    expect(
      parse(L.yahooIso, options({ "postfix/hcout/smtp": "198.51.100.1", "postfix/hcout": "198.51.100.2" })).sendingIp,
    ).toBe("198.51.100.1");
    expect(parse(L.yahooIso, options({ hcout: "198.51.100.3" })).sendingIp).toBe("198.51.100.3");
    expect(parse(L.microsoftBusy, options({ out01: "198.51.100.4" })).sendingIp).toBeUndefined();
    expect(parse(L.microsoftBusy, { referenceDate: OPTIONS.referenceDate }).sendingIp).toBeUndefined();
  });
});

describe("parsePostfixLog", () => {
  it("collects deliveries, errors and ignored lines from a whole log", () => {
    const text = [...Object.values(L), ...NOT_DELIVERIES, ...MALFORMED].join("\r\n");
    const result = parsePostfixLog(text, OPTIONS);
    expect(result.deliveries).toHaveLength(Object.keys(L).length);
    expect(result.errors).toHaveLength(MALFORMED.length);
    expect(result.errors.every((e) => e instanceof PostfixLogParseError)).toBe(true);
    expect(result.ignored).toBe(NOT_DELIVERIES.length);
    expect(result.deliveries.every((d) => !d.line.endsWith("\r"))).toBe(true);
  });
});

describe("aggregateKey", () => {
  it("is the SHA-256 of the line, hex", async () => {
    expect(await aggregateKey("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const a = await aggregateKey(L.gmailSent);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await aggregateKey(L.gmailSent)).toBe(a);
    expect(await aggregateKey(`${L.gmailSent} `)).not.toBe(a);
  });
});

describe("aggregateDeliveries", () => {
  it("counts smtp deliveries per day, sending IP, operator, outcome and reason", () => {
    const { deliveries } = parsePostfixLog(Object.values(L), OPTIONS);
    const again = parse(L.microsoftBusy);
    expect(aggregateDeliveries([...deliveries, again])).toEqual([
      {
        day: "2026-11-21",
        sendingIp: "203.0.113.10",
        operator: "google",
        outcome: "accepted",
        reasonCode: "2.0.0",
        count: 1,
      },
      {
        day: "2026-11-21",
        sendingIp: "203.0.113.10",
        operator: "google",
        outcome: "reject_content",
        reasonCode: "5.7.1",
        count: 1,
      },
      {
        day: "2026-11-21",
        sendingIp: "203.0.113.10",
        operator: "google",
        outcome: "reject_recipient",
        reasonCode: "5.1.1",
        count: 1,
      },
      {
        day: "2026-11-21",
        sendingIp: "203.0.113.10",
        operator: "google",
        outcome: "throttled",
        reasonCode: "4.7.28",
        count: 1,
      },
      // status=expired with relay=none: no host to name, Postfix's last dsn.
      {
        day: "2026-11-21",
        sendingIp: "203.0.113.10",
        operator: "unknown",
        outcome: "deferred",
        reasonCode: "4.4.1",
        count: 1,
      },
      {
        day: "2026-11-21",
        sendingIp: "203.0.113.10",
        operator: "yahoo",
        outcome: "throttled",
        reasonCode: "4.7.0:TSS04",
        count: 1,
      },
      {
        day: "2026-11-21",
        sendingIp: "203.0.113.11",
        operator: "microsoft",
        outcome: "reject_recipient",
        reasonCode: "5.4.1",
        count: 1,
      },
      {
        day: "2026-11-21",
        sendingIp: "203.0.113.11",
        operator: "microsoft",
        outcome: "reject_reputation",
        reasonCode: "5.7.1:S3150",
        count: 1,
      },
      {
        day: "2026-11-21",
        sendingIp: "203.0.113.11",
        operator: "microsoft",
        outcome: "throttled",
        reasonCode: "4.7.500",
        count: 2,
      },
      {
        day: "2026-11-21",
        sendingIp: "203.0.113.11",
        operator: "mx:dead-domain.example",
        outcome: "deferred",
        reasonCode: "4.4.1",
        count: 1,
      },
      {
        day: "2026-11-21",
        sendingIp: "203.0.113.11",
        operator: "mx:small-hauler.example",
        outcome: "reject_content",
        reasonCode: "5.7.1",
        count: 1,
      },
      {
        day: "2026-11-21",
        sendingIp: "203.0.113.12",
        operator: "yahoo",
        outcome: "throttled",
        reasonCode: "4.7.0:TSS04",
        count: 1,
      },
      {
        day: "2026-11-21",
        sendingIp: "203.0.113.9",
        operator: "apple",
        outcome: "accepted",
        reasonCode: "2.0.0",
        count: 1,
      },
    ]);
  });

  it("can count other delivery agents when asked", () => {
    const local = parse(L.local);
    expect(aggregateDeliveries([local])).toEqual([]);
    expect(aggregateDeliveries([local], { services: ["local"] })).toEqual([
      {
        day: "2026-11-21",
        sendingIp: "203.0.113.9",
        operator: "unknown",
        outcome: "accepted",
        reasonCode: "2.0.0",
        count: 1,
      },
    ]);
  });
});
