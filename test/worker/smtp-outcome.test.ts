import { describe, expect, it } from "vitest";
import {
  classifySmtpOutcome,
  classifySmtpReply,
  DELIVERY_OUTCOMES,
  extractSmtpReply,
  type DeliveryOutcome,
  type SmtpOutcomeInput,
} from "../../domain/mail/smtp-outcome";
import { parseReply } from "../../domain/mail/smtp-reply";

type Case = [source: string, input: SmtpOutcomeInput | string, outcome: DeliveryOutcome, reasonCode: string];

// Reply texts as the operators document them (Google "Gmail SMTP errors and codes", Microsoft
// "Email non-delivery reports and SMTP errors in Exchange Online", Yahoo "SMTP Error Codes",
// Apple iCloud postmaster) or as they appear in real bounces and Postfix logs (many from the
// bounce corpus in /work/shared/corpora/bounces). IPs are documentation addresses.
const CASES: Case[] = [
  // accepted
  ["Gmail 250", "250 2.0.0 OK  1732183201 a640c23a62f3a-aa4b3c1d2e3si1234567.512 - gsmtp", "accepted", "2.0.0"],
  ["Yahoo 250 without enhanced code", "250 ok dirdel", "accepted", "250"],
  [
    "Exchange Online 250 2.6.0",
    "250 2.6.0 <20261121.abc@send.docket.test> [InternalId=12345, Hostname=BN8PR12MB1234.namprd12.prod.outlook.com] 18234 bytes in 0.123, 144.8 KB/sec Queued mail for delivery",
    "accepted",
    "2.6.0",
  ],

  // throttled
  [
    "Microsoft 451 4.7.500 server busy",
    "451 4.7.500 Server busy. Please try again later from [203.0.113.10]. (S77714) [BN1PEPF00004689.namprd05.prod.outlook.com]",
    "throttled",
    "4.7.500",
  ],
  [
    "Outlook.com 451 4.7.650 IP reputation rate limit",
    "451 4.7.650 The mail server [203.0.113.10] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S3113)",
    "throttled",
    "4.7.650:S3113",
  ],
  [
    "Gmail 421 4.7.28 multi-line",
    "421-4.7.28 [203.0.113.10      15] Our system has detected an unusual rate of\r\n421-4.7.28 unsolicited mail originating from your IP address. To protect our\r\n421-4.7.28 users from spam, mail sent from your IP address has been temporarily\r\n421-4.7.28 rate limited. Please visit\r\n421-4.7.28  https://support.google.com/mail/?p=UnsolicitedRateLimitError to\r\n421 4.7.28 review our Bulk Email Senders Guidelines. d75a77b69052e-4634si123 - gsmtp",
    "throttled",
    "4.7.28",
  ],
  [
    "Gmail 421 4.7.28 DKIM domain",
    "421-4.7.28 Gmail has detected an unusual rate of unsolicited email originating from your DKIM domain send.docket.test. To protect our users from spam, email sent from your domain has been temporarily rate limited. - gsmtp",
    "throttled",
    "4.7.28",
  ],
  [
    "Gmail 450 4.2.1 receiving mail at a rate",
    "450-4.2.1 The user you are trying to contact is receiving mail at a rate that\n450-4.2.1 prevents additional messages from being delivered. Please resend your\n450-4.2.1 message at a later time. If the user is able to receive mail at that\n450 4.2.1 time, your message will be delivered. - gsmtp",
    "throttled",
    "4.2.1",
  ],
  [
    "Gmail 421 4.7.0 low IP reputation",
    "421-4.7.0 This message is suspicious due to the very low reputation of the sending IP address. To protect our users from spam, email sent from your IP address has been temporarily rate limited. - gsmtp",
    "throttled",
    "4.7.0",
  ],
  [
    "Yahoo 421 4.7.0 [TSS04]",
    "421 4.7.0 [TSS04] Messages from 203.0.113.10 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
    "throttled",
    "4.7.0:TSS04",
  ],
  [
    "Yahoo [TSS04] as Postfix logs it",
    "host mta7.am0.yahoodns.net[67.195.204.79] refused to talk to me: 421 4.7.0 [TSS04] Messages from 203.0.113.10 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
    "throttled",
    "4.7.0:TSS04",
  ],
  [
    "Yahoo legacy 421 temporarily deferred",
    "421 Message from (203.0.113.10) temporarily deferred - 4.16.50. Please refer to http://postmaster.yahoo.com/errors/421-ts01.html",
    "throttled",
    "421",
  ],
  [
    "Exchange 421 4.3.2 concurrent connections",
    "421 4.3.2 The maximum number of concurrent connections has exceeded a limit, closing transmission channel",
    "throttled",
    "4.3.2",
  ],
  ["Postfix anvil 452 4.3.2", "452 4.3.2 Connection rate limit exceeded.", "throttled", "4.3.2"],
  [
    "too many connections",
    "421 Too many concurrent SMTP connections from this IP address; please try again later.",
    "throttled",
    "421",
  ],
  ["generic rate limited", "450 4.7.1 Rate limited, please try again later", "throttled", "4.7.1"],

  // deferred
  [
    "Postgrey greylisting",
    "450 4.2.0 <dispatch@carrier.example>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/carrier.example.html",
    "deferred",
    "4.2.0",
  ],
  ["Gmail 451 4.3.0", "451 4.3.0 Mail server temporarily rejected message. - gsmtp", "deferred", "4.3.0"],
  [
    "Gmail 421 4.7.27 SPF (rate limited, but auth: slowing down does not help)",
    "421-4.7.27 Your email has been rate limited because SPF authentication didn't pass for this message. Gmail requires all bulk email senders to authenticate their email with SPF. - gsmtp",
    "deferred",
    "4.7.27",
  ],
  [
    "Gmail 421 4.7.30 DKIM",
    "421-4.7.30 Your email has been rate limited because DKIM authentication didn't pass for this message. Gmail requires all email bulk senders to authenticate their email with DKIM. - gsmtp",
    "deferred",
    "4.7.30",
  ],
  [
    "Gmail 421 4.7.0 suspicious content (transient)",
    "421-4.7.0 This message is suspicious due to the nature of the content or the links within. To best protect our users from spam, the message has been blocked. - gsmtp",
    "deferred",
    "4.7.0",
  ],
  [
    "Postfix connect timeout",
    { enhanced: "4.4.1", text: "connect to mx.dead-domain.example[198.51.100.25]:25: Connection timed out" },
    "deferred",
    "4.4.1",
  ],
  [
    "Gmail 452 4.2.2 inbox full",
    "452-4.2.2 The recipient's inbox is out of storage space. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp - gsmtp",
    "deferred",
    "4.2.2",
  ],
  [
    "Postfix unknown reverse hostname (4xx)",
    "450 4.7.1 Client host rejected: cannot find your reverse hostname, [203.0.113.10]",
    "deferred",
    "4.7.1",
  ],

  // reject_reputation
  [
    "Exchange Online Spamhaus",
    "550 5.7.1 Service unavailable, Client host [203.0.113.10] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/203.0.113.10 (AS3130). [BN8NAM12FT003.eop-nam12.prod.protection.outlook.com]",
    "reject_reputation",
    "5.7.1",
  ],
  [
    "Outlook.com S3150 block list",
    "550 5.7.1 Unfortunately, messages from [203.0.113.10] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors. [DB3EUR04FT007.eop-eur04.prod.protection.outlook.com]",
    "reject_reputation",
    "5.7.1:S3150",
  ],
  [
    "Microsoft 5.7.606 banned sending IP",
    "550 5.7.606 Access denied, banned sending IP [203.0.113.10]. To request removal from this list please visit https://sender.office.com/ and follow the directions. For more information please go to  http://go.microsoft.com/fwlink/?LinkID=526655 (AS16012609)",
    "reject_reputation",
    "5.7.606",
  ],
  [
    "Microsoft 5.7.708",
    "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP. For more information please go to http://go.microsoft.com/fwlink/?LinkId=526653 AS(7171)",
    "reject_reputation",
    "5.7.708",
  ],
  [
    "Gmail 550 5.7.1 UnsolicitedIPError",
    "550-5.7.1 [203.0.113.10      12] Our system has detected an unusual rate of\n550-5.7.1 unsolicited mail originating from your IP address. To protect our\n550-5.7.1 users from spam, mail sent from your IP address has been blocked.\n550-5.7.1 Please visit\n550-5.7.1  https://support.google.com/mail/?p=UnsolicitedIPError to review our\n550 5.7.1 Bulk Email Senders Guidelines. k33si11162128pld.22 - gsmtp",
    "reject_reputation",
    "5.7.1",
  ],
  [
    "Gmail 550 5.7.1 low domain reputation",
    "550-5.7.1 This message is likely suspicious due to the very low reputation of the sending domain. To best protect our users from spam, the message has been blocked. - gsmtp",
    "reject_reputation",
    "5.7.1",
  ],
  [
    "Yahoo 553 5.7.1 [BL21] Spamhaus",
    "553 5.7.1 [BL21] Connections will not be accepted from 203.0.113.10, because the ip is in Spamhaus's list; see https://postmaster.yahooinc.com/error-codes",
    "reject_reputation",
    "5.7.1:BL21",
  ],
  [
    "Yahoo 421 [TSS09] permanently deferred",
    "421 4.7.1 [TSS09] All messages from 203.0.113.10 will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes",
    "reject_reputation",
    "4.7.1:TSS09",
  ],
  [
    "Postfix reject_rbl_client",
    "554 5.7.1 Service unavailable; Client host [203.0.113.10] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/203.0.113.10",
    "reject_reputation",
    "5.7.1",
  ],
  [
    "Barracuda reputation (no enhanced code)",
    "554 Service unavailable; Client host [203.0.113.10] blocked using Barracuda Reputation; http://www.barracudanetworks.com/reputation/?r=1&ip=203.0.113.10",
    "reject_reputation",
    "554",
  ],
  [
    "iCloud via Proofpoint dnsbl",
    "550 5.7.0 Blocked - see https://support.proofpoint.com/dnsbl-lookup.cgi?ip=203.0.113.10",
    "reject_reputation",
    "5.7.0",
  ],
  [
    "Cox AUP#CDRBL",
    "550 5.1.0 <bounce@send.docket.test> sender rejected. Refer to Error Codes section at https://www.cox.com/residential/support/email-error-codes.html for more information. AUP#CDRBL",
    "reject_reputation",
    "5.1.0:AUP#CDRBL",
  ],
  [
    "iCloud [CS01] local policy",
    "554 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137",
    "reject_reputation",
    "5.7.1:CS01",
  ],
  [
    "Gmail 550 5.7.1 policy, nothing more specific",
    "550-5.7.1 The user or domain that you are sending to (or from) has a policy that prohibits the email that you sent. - gsmtp",
    "reject_reputation",
    "5.7.1",
  ],
  [
    "GoDaddy 5xx volume limit",
    "550 5.1.1 <dispatch@carrier.example> - 203.0.113.10 has sent to too many recipients this hour. IB607 <http://x.co/rlbounce>",
    "reject_reputation",
    "5.1.1",
  ],

  // reject_recipient
  [
    "Gmail 550 5.1.1 NoSuchUser",
    "550-5.1.1 The email account that you tried to reach does not exist. Please try\n550-5.1.1 double-checking the recipient's email address for typos or\n550-5.1.1 unnecessary spaces. For more information, go to\n550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a640c23a62f3a-aa4b3c1d2e3si1234567.600 - gsmtp",
    "reject_recipient",
    "5.1.1",
  ],
  [
    "Postfix virtual user unknown",
    "550 5.1.1 <dispatch@carrier.example>: Recipient address rejected: User unknown in virtual mailbox table",
    "reject_recipient",
    "5.1.1",
  ],
  [
    "Exchange Online 5.4.1 DBEB",
    "550 5.4.1 Recipient address rejected: Access denied. For more information see https://aka.ms/EXOSmtpErrors AS(201806281) [BN8NAM12FT034.eop-nam12.prod.protection.outlook.com]",
    "reject_recipient",
    "5.4.1",
  ],
  [
    "Exchange Online 5.1.10",
    "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
    "reject_recipient",
    "5.1.10",
  ],
  [
    "Outlook.com 5.5.0 mailbox unavailable",
    "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [BN8NAM12FT012.eop-nam12.prod.protection.outlook.com]",
    "reject_recipient",
    "5.5.0",
  ],
  [
    "Gmail 5.2.1 disabled",
    "550-5.2.1 The email account that you tried to reach is disabled. Learn more at https://support.google.com/mail/?p=DisabledUser - gsmtp",
    "reject_recipient",
    "5.2.1",
  ],
  [
    "Yahoo no such account",
    "554 delivery error: dd This user doesn't have a yahoo.com account (someone@yahoo.com) [0] - mta1234.mail.bf1.yahoo.com",
    "reject_recipient",
    "554",
  ],
  ["sendmail user unknown", "550 <someone@carrier.example>... User unknown", "reject_recipient", "550"],
  ["no such user", "550 No such user (someone@carrier.example)", "reject_recipient", "550"],
  [
    "Postfix relay access denied (stale MX)",
    "554 5.7.1 <someone@carrier.example>: Relay access denied",
    "reject_recipient",
    "5.7.1",
  ],
  ["mailbox full", "552 5.2.2 <someone@carrier.example>: user is over quota", "reject_recipient", "5.2.2"],
  ["Comcast not our customer", "550 5.1.1 <someone@comcast.net> Not our Customer", "reject_recipient", "5.1.1"],

  // reject_content
  [
    "Gmail 550 5.7.1 UnsolicitedMessageError",
    "550-5.7.1 [203.0.113.10      12] Our system has detected that this message is\n550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail,\n550-5.7.1 this message has been blocked. Please visit\n550-5.7.1  https://support.google.com/mail/?p=UnsolicitedMessageError\n550 5.7.1  for more information. r128si5261221lfr.351 - gsmtp",
    "reject_content",
    "5.7.1",
  ],
  ["amavis SPAM", "554 5.7.0 Reject, id=20025-09 - SPAM", "reject_content", "5.7.0"],
  ["Barracuda/amavis UBE", "550 5.7.1 Message content rejected, UBE, id=00000-22-225", "reject_content", "5.7.1"],
  ["spamass-milter", "550 5.7.1 Blocked by SpamAssassin", "reject_content", "5.7.1"],
  ["rejected as spam", "554 5.7.1 Message rejected as spam", "reject_content", "5.7.1"],
  [
    "Microsoft 5.7.350",
    "550 5.7.350 Remote server returned message detected as spam -> 554 5.7.1 Message rejected as spam",
    "reject_content",
    "5.7.350",
  ],
  [
    "Postfix-relayed 5.6.0 spam score",
    "host mta.example.com[192.0.2.225] said: 554 5.6.0 This message has been scored as spam with a probability of more than 90% (in reply to end of DATA command)",
    "reject_content",
    "5.6.0",
  ],
  [
    "Gmail 552 5.7.0 content security",
    "552-5.7.0 This message was blocked because its content presents a potential\n552-5.7.0 security issue. - gsmtp",
    "reject_content",
    "5.7.0",
  ],
  [
    "Yandex suspicion of SPAM",
    "554 5.7.1 Message rejected under suspicion of SPAM; https://ya.cc/1IrBc 1732183201-abcdEFGH",
    "reject_content",
    "5.7.1",
  ],
  [
    "Google Groups spam classification (mentions SPF only as advice)",
    {
      enhanced: "5.0.0",
      text: "Your email to group dispatch@carrier.example was rejected due to spam classification. To address this issue: * Contact the owner of the group. * Set up SPF records.",
    },
    "reject_content",
    "5.0.0",
  ],

  // reject_auth
  [
    "Microsoft 5.7.515",
    "550 5.7.515 Access denied, sending domain send.docket.test does not meet the required authentication level. The sender's domain in the 5322.From address doesn't meet the authentication requirements defined for the sender.",
    "reject_auth",
    "5.7.515",
  ],
  [
    "Gmail 5.7.26 unauthenticated",
    "550-5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM. - gsmtp",
    "reject_auth",
    "5.7.26",
  ],
  [
    "Gmail 5.7.26 DMARC policy",
    "550-5.7.26 Unauthenticated email from send.docket.test is not accepted due to domain's DMARC policy. Please contact the administrator of send.docket.test domain if this was a legitimate mail. - gsmtp",
    "reject_auth",
    "5.7.26",
  ],
  [
    "Gmail 5.7.27 SPF",
    "550-5.7.27 This message was blocked because it didn't pass SPF authentication. Gmail requires bulk email senders to authenticate their email with SPF. - gsmtp",
    "reject_auth",
    "5.7.27",
  ],
  [
    "Gmail 5.7.30 DKIM",
    "550-5.7.30 This message was blocked because it didn't pass DKIM authentication. Gmail requires bulk email senders to authenticate their email with DKIM. - gsmtp",
    "reject_auth",
    "5.7.30",
  ],
  [
    "Microsoft 5.7.509 DMARC reject",
    "550 5.7.509 Access denied, sending domain send.docket.test does not pass DMARC verification and has a DMARC policy of reject.",
    "reject_auth",
    "5.7.509",
  ],
  [
    "iCloud DMARC",
    "554 5.7.1 Your message was rejected due to docket.test's DMARC policy. See https://support.apple.com/en-us/HT204137 for info",
    "reject_auth",
    "5.7.1",
  ],
  [
    "Exim reverse DNS",
    "550 5.7.1 Connections not accepted from servers without a valid sender domain. Fix reverse DNS for 203.0.113.10",
    "reject_auth",
    "5.7.1",
  ],
  [
    "sender domain does not exist",
    "553 5.1.8 <bounce@send.docket.test>... Domain of sender address bounce@send.docket.test does not exist",
    "reject_auth",
    "5.1.8",
  ],

  // reject_other
  [
    "Gmail 5.4.6 loop",
    "554 5.4.6 Message exceeded 50 hops, this may indicate an email loop. - gsmtp",
    "reject_other",
    "5.4.6",
  ],
  ["bare protocol violation", "550 Protocol violation", "reject_other", "550"],
  [
    "Gmail 550 5.2.1 recipient's own rate",
    "550-5.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered. - gsmtp",
    "reject_other",
    "5.2.1",
  ],
];

function asInput(input: SmtpOutcomeInput | string): SmtpOutcomeInput {
  return typeof input === "string" ? { text: input } : input;
}

describe("classifySmtpOutcome", () => {
  it("has a table of at least 40 real-world replies covering every outcome", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CASES.map(([, , outcome]) => outcome))).toEqual(new Set(DELIVERY_OUTCOMES));
  });

  it.each(CASES)("%s", (_source, input, outcome, reasonCode) => {
    expect(classifySmtpOutcome(asInput(input))).toEqual({ outcome, reasonCode });
  });

  it("gives the same answer when code and enhanced code come as fields and the text without them", () => {
    expect(
      classifySmtpOutcome({
        code: 451,
        enhanced: "4.7.500",
        text: "Server busy. Please try again later from [203.0.113.10].",
      }),
    ).toEqual({
      outcome: "throttled",
      reasonCode: "4.7.500",
    });
    expect(
      classifySmtpOutcome({
        code: 550,
        enhanced: "5.1.1",
        text: "The email account that you tried to reach does not exist.",
      }),
    ).toEqual({
      outcome: "reject_recipient",
      reasonCode: "5.1.1",
    });
  });

  it("tells a 5.7.1 about spam content from a 5.7.1 about IP reputation", () => {
    const content = classifySmtpOutcome({
      code: 550,
      enhanced: "5.7.1",
      text: "Message rejected as spam by Content Filtering.",
    });
    const reputation = classifySmtpOutcome({
      code: 550,
      enhanced: "5.7.1",
      text: "Service unavailable, Client host [203.0.113.10] blocked using Spamhaus.",
    });
    const bare = classifySmtpOutcome({ code: 550, enhanced: "5.7.1" });
    expect(content.outcome).toBe("reject_content");
    expect(reputation.outcome).toBe("reject_reputation");
    expect(bare.outcome).toBe("reject_reputation");
  });

  it("decides from codes alone when there is no text", () => {
    expect(classifySmtpOutcome({ enhanced: "5.1.1" })).toEqual({ outcome: "reject_recipient", reasonCode: "5.1.1" });
    expect(classifySmtpOutcome({ code: 550 })).toEqual({ outcome: "reject_other", reasonCode: "550" });
    expect(classifySmtpOutcome({ code: 421 })).toEqual({ outcome: "deferred", reasonCode: "421" });
    expect(classifySmtpOutcome({ code: 250, enhanced: "2.0.0" })).toEqual({ outcome: "accepted", reasonCode: "2.0.0" });
    expect(classifySmtpOutcome({ enhanced: "4.7.500" })).toEqual({ outcome: "throttled", reasonCode: "4.7.500" });
    expect(classifySmtpOutcome({ enhanced: "5.7.26" })).toEqual({ outcome: "reject_auth", reasonCode: "5.7.26" });
  });

  it("treats no reply at all, and 1yz/3yz, as deferred (RFC 5321 4.2.1)", () => {
    expect(classifySmtpOutcome({})).toEqual({ outcome: "deferred", reasonCode: "unknown" });
    expect(classifySmtpOutcome({ code: null, enhanced: null, text: null })).toEqual({
      outcome: "deferred",
      reasonCode: "unknown",
    });
    expect(classifySmtpOutcome({ code: 354, text: "Start mail input" }).outcome).toBe("deferred");
  });

  it("lets the reply code decide the class: a 4yz never becomes a reject_*, a 5yz never deferred", () => {
    for (const [source, input] of CASES) {
      const { outcome } = classifySmtpOutcome(asInput(input));
      const klass = outcome === "accepted" ? 2 : outcome === "deferred" || outcome === "throttled" ? 4 : 5;
      const code =
        extractSmtpReply(asInput(input).text ?? "").code ?? Number((asInput(input).enhanced ?? "0")[0]) * 100;
      if (source.includes("permanently deferred")) continue; // Yahoo's documented exception
      expect(Math.floor(code / 100), source).toBe(klass);
    }
    // A mismatched enhanced code (RFC 3463 2 says the classes agree) does not override the reply.
    expect(
      classifySmtpOutcome({
        code: 421,
        enhanced: "5.7.32",
        text: "Your email was blocked because the From: header isn't aligned",
      }).outcome,
    ).toBe("deferred");
  });

  it("uses a DSN's Status class to skip a quoted greeting before the refusal", () => {
    expect(
      classifySmtpOutcome({
        enhanced: "4.2.1",
        text: "220-laposte 421 4.2.1 Service refuse. Veuillez essayer plus tard.",
      }),
    ).toEqual({
      outcome: "deferred",
      reasonCode: "4.2.1",
    });
  });

  it("prefers the remote server's specific code over a DSN's generic X.0.0 Status", () => {
    expect(
      classifySmtpOutcome({
        enhanced: "5.0.0",
        text: "smtp; 550-5.7.26 This mail has been blocked because the sender is unauthenticated. - gsmtp",
      }),
    ).toEqual({ outcome: "reject_auth", reasonCode: "5.7.26" });
    expect(classifySmtpOutcome({ enhanced: "5.0.0", text: "550 User unknown" })).toEqual({
      outcome: "reject_recipient",
      reasonCode: "5.0.0",
    });
  });

  it("reads DSN Diagnostic-Code and Postfix response prefixes", () => {
    expect(
      classifySmtpOutcome({ text: "smtp; 550 5.1.1 <a@carrier.example>: Recipient address rejected: User unknown" })
        .outcome,
    ).toBe("reject_recipient");
    expect(
      classifySmtpOutcome({
        text: "host mx.carrier.example[192.0.2.10] said: 550 5.7.1 Blocked by SpamAssassin (in reply to end of DATA command)",
      }),
    ).toEqual({
      outcome: "reject_content",
      reasonCode: "5.7.1",
    });
  });

  it("classifies a reply parsed by smtp-reply", () => {
    const reply = parseReply([
      "451-4.7.500 Server busy. Please try again later",
      "451 4.7.500 from [203.0.113.10]. (S77714)",
    ]);
    expect(classifySmtpReply(reply)).toEqual({ outcome: "throttled", reasonCode: "4.7.500" });
  });
});

describe("extractSmtpReply", () => {
  it("finds the first reply code and its enhanced code, not IP octets or ports", () => {
    expect(extractSmtpReply("connect to mx.example.com[192.0.2.250]:25: Connection refused")).toEqual({
      code: null,
      enhanced: null,
    });
    expect(extractSmtpReply("host mx[198.51.100.4] said: 550-5.7.1 blocked")).toEqual({ code: 550, enhanced: "5.7.1" });
    expect(extractSmtpReply("smtp;550 5.2.1 <a@b>... User Unknown")).toEqual({ code: 550, enhanced: "5.2.1" });
    expect(extractSmtpReply("421 4.7.0 [TSS04] ... - 4.16.55.1; see")).toEqual({ code: 421, enhanced: "4.7.0" });
    expect(extractSmtpReply("554 delivery error: dd")).toEqual({ code: 554, enhanced: null });
  });
});
