import PostalMime from "postal-mime";
import { describe, expect, inject, it } from "vitest";
import { loadAppConfig, type AppConfig } from "../../domain/config/app-config";
import { ComposeError, composeMessage, type ComposeInput } from "../../domain/mail/compose-message";
import { ehloCapabilities, outcomeOf, parseReply, SmtpReplyError } from "../../domain/mail/smtp-reply";
import { createMailer, smtpTransport, type OutboundMessage, type SendOutcome } from "../../workers/mailer/mailer";
import { encodeDataBody } from "../../workers/mailer/smtp-client";
import type { HostileBehaviour } from "../../scripts/lib/smtp-sink-types";

// Runs in workerd. The SMTP tests talk to real smtp-server instances started by the global
// setup (scripts/lib/smtp-sink.ts) over cloudflare:sockets; nothing is mocked.

const sink = inject("smtp");

/** A sink variant from the global setup (scripts/lib/smtp-sink.ts startTestSinks). */
function provided<K extends "smtpStarttls" | "smtpStarttlsWrongName" | "smtpImplicitTls" | "smtpHostile">(key: K) {
  const value = inject(key);
  if (value === undefined) {
    throw new Error(`"${key}" was not provided: the global setup must call startTestSinks() and provide its results`);
  }
  return value;
}

function baseConfig(overrides: Record<string, string> = {}): AppConfig {
  const result = loadAppConfig({
    APP_ENV: "test",
    PUBLIC_BASE_URL: "http://docket.test",
    MAIL_FROM: "Docket <noreply@send.docket.test>",
    MAIL_SENDING_DOMAIN: "send.docket.test",
    MAIL_REPLY_TO: "hello@docket.test",
    OPERATOR_EMAIL: "ops@docket.test",
    SMTP_HOST: sink.host,
    SMTP_PORT: String(sink.port),
    SMTP_SECURITY: "none",
    SMTP_USER: sink.user,
    SMTP_PASSWORD: sink.pass,
    SMTP_TIMEOUT_MS: "5000",
    ...overrides,
  });
  if (!result.ok) throw new Error(result.problems.join("; "));
  return result.config;
}

/** A config with an EHLO name of its own, so the sink's session for this test can be found. */
function uniqueConfig(overrides: Record<string, string> = {}): { config: AppConfig; ehloName: string } {
  const ehloName = `t${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}.docket.test`;
  return { config: baseConfig({ MAIL_SENDING_DOMAIN: ehloName, ...overrides }), ehloName };
}

const input = (overrides: Partial<ComposeInput> = {}): ComposeInput => ({
  to: "owner@carrier.example",
  subject: "Your BOC-3 filing",
  html: "<p>Hello</p>",
  ...overrides,
});

async function compose(overrides: Partial<ComposeInput> = {}) {
  const composed = await composeMessage(input(overrides), baseConfig());
  const text = new TextDecoder().decode(composed.raw);
  const headerBlock = text.slice(0, text.indexOf("\r\n\r\n"));
  return { ...composed, text, headerBlock, parsed: await PostalMime.parse(composed.raw) };
}

function headerValues(parsed: { headers: { key: string; value: string }[] }, name: string): string[] {
  return parsed.headers.filter((h) => h.key === name.toLowerCase()).map((h) => h.value);
}

async function composeError(overrides: Partial<ComposeInput>): Promise<ComposeError> {
  try {
    await composeMessage(input(overrides), baseConfig());
  } catch (error) {
    if (error instanceof ComposeError) return error;
    throw error;
  }
  throw new Error("composeMessage was expected to refuse this input");
}

// --- SMTP replies -----------------------------------------------------------------------------

describe("parseReply (RFC 5321 4.2, RFC 3463 / RFC 2034)", () => {
  it("reads the code, the enhanced status code and the text of a one-line reply", () => {
    expect(parseReply("550 5.1.1 <x@carrier.example>: Recipient address rejected\r\n")).toEqual({
      code: 550,
      enhancedCode: "5.1.1",
      text: "<x@carrier.example>: Recipient address rejected",
      lines: ["5.1.1 <x@carrier.example>: Recipient address rejected"],
    });
  });

  it("joins a multi-line reply and takes the enhanced code off every line", () => {
    const reply = parseReply([
      "451-4.7.1 Greylisted, see",
      "451-4.7.1 https://postmaster.example/greylisting",
      "451 4.7.1 try again later",
    ]);
    expect(reply.code).toBe(451);
    expect(reply.enhancedCode).toBe("4.7.1");
    expect(reply.text).toBe("Greylisted, see https://postmaster.example/greylisting try again later");
  });

  it("lists EHLO keywords with their parameters", () => {
    const reply = parseReply(
      "250-smtp.example.com hello\r\n250-SIZE 35882577\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n",
    );
    expect(reply.enhancedCode).toBeNull();
    const capabilities = ehloCapabilities(reply);
    expect(capabilities.get("SIZE")).toEqual(["35882577"]);
    expect(capabilities.get("AUTH")).toEqual(["PLAIN", "LOGIN"]);
    expect(capabilities.has("STARTTLS")).toBe(true);
    expect(capabilities.has("SMTP.EXAMPLE.COM")).toBe(false);
  });

  it("accepts a bare code and ignores an enhanced code whose class contradicts the reply", () => {
    expect(parseReply("250")).toMatchObject({ code: 250, enhancedCode: null, text: "" });
    expect(parseReply("250 5.1.1 odd")).toMatchObject({ enhancedCode: null, text: "5.1.1 odd" });
    expect(parseReply("550 5.1.10 detail")).toMatchObject({ enhancedCode: "5.1.10", text: "detail" });
    expect(parseReply("550 5.01.1 leading zero")).toMatchObject({ enhancedCode: null });
  });

  it.each([
    ["an HTTP status line", "HTTP/1.1 400 Bad Request"],
    ["a short code", "25 ok"],
    ["a code out of range", "600 nope"],
    ["a code glued to text", "250ok"],
    ["an empty reply", ""],
  ])("refuses %s", (_what, line) => {
    expect(() => parseReply(line)).toThrow(SmtpReplyError);
  });

  it("refuses replies whose lines disagree or end wrongly", () => {
    expect(() => parseReply(["250-a", "251 b"])).toThrow(/mixes codes 250 and 251/);
    expect(() => parseReply(["250-a", "250-b"])).toThrow(/ends with a continuation line/);
    expect(() => parseReply(["250 a", "250 b"])).toThrow(/final line before its end/);
  });

  it("maps codes to outcomes: 2xx accepted, 4xx deferred, 5xx rejected, nothing deferred", () => {
    expect([250, 221, 451, 421, 550, 554, 354].map(outcomeOf)).toEqual([
      "accepted",
      "accepted",
      "deferred",
      "deferred",
      "rejected",
      "rejected",
      "deferred",
    ]);
    expect(outcomeOf(null)).toBe("deferred");
  });
});

// --- composing --------------------------------------------------------------------------------

describe("composeMessage", () => {
  it("builds multipart/alternative with a readable text part derived from the HTML", async () => {
    const m = await compose({
      html: `<table width="100%"><tr><td><h1>Filing received</h1><p>Your <a href="https://docket.test/orders/1042">order 1042</a> is in.</p><table><tr><th>Item</th><th>Fee</th></tr><tr><td>BOC-3</td><td>$99</td></tr></table><p><img src="https://docket.test/o.gif" alt=""></p><p><a href="https://docket.test/u/abc">https://docket.test/u/abc</a></p></td></tr></table>`,
    });
    expect(m.headerBlock).toMatch(/^Content-Type: multipart\/alternative;/m);
    expect(m.parsed.html).toContain('<a href="https://docket.test/orders/1042">');
    expect(m.parsed.text).toContain("Filing received");
    expect(m.parsed.text).toContain("Your order 1042 (https://docket.test/orders/1042) is in.");
    // A link whose text is its URL is not repeated; the tracking pixel is not text.
    expect(m.parsed.text).toContain("https://docket.test/u/abc");
    expect(m.parsed.text).not.toContain("(https://docket.test/u/abc)");
    expect(m.parsed.text).not.toContain("o.gif");
    // Table cells stay apart, inside a layout table too.
    expect(m.parsed.text).toMatch(/^BOC-3 +\$99$/m);
    // text/plain comes first: the least preferred alternative (RFC 2046 5.1.4).
    expect(m.text.indexOf("Content-Type: text/plain")).toBeLessThan(m.text.indexOf("Content-Type: text/html"));
  });

  it("uses CRLF line ends only and stays 7-bit even with non-ASCII text", async () => {
    const m = await compose({ subject: "Relevé — ünïcode ✓", html: "<p>Grüße aus Köln</p>" });
    expect(m.text).not.toMatch(/[^\r]\n/);
    expect(m.text).not.toMatch(/\r(?!\n)/);
    expect(m.raw.every((b) => b < 0x80)).toBe(true);
    expect(m.parsed.subject).toBe("Relevé — ünïcode ✓");
    expect(m.parsed.text).toContain("Grüße aus Köln");
  });

  it("keeps a caller's text part as given, and sends text alone as text/plain", async () => {
    const both = await compose({ text: "Plain words of my own." });
    expect(both.parsed.text?.trim()).toBe("Plain words of my own.");
    const textOnly = await compose({ html: undefined, text: "Only text." });
    expect(textOnly.headerBlock).toMatch(/^Content-Type: text\/plain/m);
    expect(textOnly.headerBlock).not.toContain("multipart");
    expect(textOnly.parsed.html).toBeUndefined();
  });

  it("generates a Message-ID on the sending domain, a new one each time", async () => {
    const a = await compose();
    const b = await compose();
    expect(a.messageId).toMatch(/^<[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}@send\.docket\.test>$/);
    expect(a.messageId).not.toBe(b.messageId);
    expect(a.parsed.messageId).toBe(a.messageId);
  });

  it("keeps a caller's Message-ID, adding the angle brackets if missing, and refuses a malformed one", async () => {
    expect((await compose({ messageId: "<campaign-7.send-42@send.docket.test>" })).parsed.messageId).toBe(
      "<campaign-7.send-42@send.docket.test>",
    );
    expect((await compose({ messageId: "abc@send.docket.test" })).messageId).toBe("<abc@send.docket.test>");
    expect((await composeError({ messageId: "no-at-sign" })).code).toBe("invalid_message_id");
    expect((await composeError({ messageId: "<a b@x.test>" })).code).toBe("invalid_message_id");
  });

  it("defaults From to MAIL_FROM and Reply-To to MAIL_REPLY_TO, and lets the caller override both", async () => {
    const defaults = await compose({ date: new Date("2026-03-04T05:06:07Z") });
    expect(defaults.parsed.from).toEqual({ name: "Docket", address: "noreply@send.docket.test" });
    expect(defaults.parsed.replyTo).toEqual([{ name: "", address: "hello@docket.test" }]);
    expect(headerValues(defaults.parsed, "date")).toEqual(["Wed, 04 Mar 2026 05:06:07 +0000"]);
    const custom = await compose({
      from: "Filings <filings@send.docket.test>",
      replyTo: "Support <support@docket.test>",
    });
    expect(custom.parsed.from).toEqual({ name: "Filings", address: "filings@send.docket.test" });
    expect(custom.parsed.replyTo).toEqual([{ name: "Support", address: "support@docket.test" }]);
    expect(custom.envelope.from).toBe("filings@send.docket.test");
    const noReplyTo = await composeMessage(input(), { ...baseConfig(), MAIL_REPLY_TO: undefined });
    expect(new TextDecoder().decode(noReplyTo.raw)).not.toMatch(/^Reply-To:/im);
  });

  it("adds extra headers such as List-Unsubscribe and List-Unsubscribe-Post verbatim", async () => {
    const m = await compose({
      headers: {
        "List-Unsubscribe": "<https://docket.test/u/tok123>, <mailto:unsubscribe@docket.test?subject=tok123>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "X-Docket-Campaign": "fmcsa-boc3-2026-03",
      },
    });
    expect(headerValues(m.parsed, "list-unsubscribe")).toEqual([
      "<https://docket.test/u/tok123>, <mailto:unsubscribe@docket.test?subject=tok123>",
    ]);
    expect(headerValues(m.parsed, "list-unsubscribe-post")).toEqual(["List-Unsubscribe=One-Click"]);
    expect(headerValues(m.parsed, "x-docket-campaign")).toEqual(["fmcsa-boc3-2026-03"]);
  });

  it("puts Bcc recipients in the envelope only, never in the message", async () => {
    const m = await compose({
      to: ["owner@carrier.example", "Owner Two <two@carrier.example>"],
      cc: "cc@carrier.example",
      bcc: ["audit@docket.test", "owner@carrier.example"],
    });
    expect(m.envelope.to).toEqual([
      "owner@carrier.example",
      "two@carrier.example",
      "cc@carrier.example",
      "audit@docket.test",
    ]);
    expect(m.headerBlock).not.toMatch(/^bcc:/im);
    expect(m.text).not.toContain("audit@docket.test");
    expect(m.parsed.to?.map((a) => a.address)).toEqual(["owner@carrier.example", "two@carrier.example"]);
    expect(m.parsed.cc?.map((a) => a.address)).toEqual(["cc@carrier.example"]);
    const bccOnly = await compose({ to: [], bcc: "audit@docket.test" });
    expect(bccOnly.envelope.to).toEqual(["audit@docket.test"]);
    expect(bccOnly.text).not.toContain("audit@docket.test");
  });

  it("uses the From address as the return path unless the caller sets one (VERP, or <> )", async () => {
    expect((await compose()).envelope.from).toBe("noreply@send.docket.test");
    const verp = await compose({ envelopeFrom: "bounce+send-42=carrier.example@send.docket.test" });
    expect(verp.envelope.from).toBe("bounce+send-42=carrier.example@send.docket.test");
    expect(verp.parsed.from?.address).toBe("noreply@send.docket.test");
    expect((await compose({ envelopeFrom: "" })).envelope.from).toBe("");
  });

  it("turns an internationalised domain into its ASCII form", async () => {
    const m = await compose({ to: "inhaber@bücher.example" });
    expect(m.envelope.to).toEqual(["inhaber@xn--bcher-kva.example"]);
  });

  it.each<[string, Partial<ComposeInput>, string]>([
    ["a CRLF in the subject", { subject: "Hi\r\nBcc: victim@evil.example" }, "subject"],
    ["a LF in the subject", { subject: "Hi\nX-Evil: 1" }, "subject"],
    ["a NUL in the subject", { subject: "Hi\0" }, "subject"],
    [
      "a LF in a header value",
      { headers: { "X-Docket-Campaign": "a\nBcc: victim@evil.example" } },
      "headers.X-Docket-Campaign",
    ],
    ["a CRLF in a header name", { headers: { "X-A\r\nBcc": "victim@evil.example" } }, "headers.X-A\r\nBcc"],
    ["a CRLF in To", { to: "owner@carrier.example\r\nBcc: victim@evil.example" }, "to"],
    ["a CR in a display name", { to: "Owner\rBcc: victim@evil.example <owner@carrier.example>" }, "to"],
    ["a LF in Reply-To", { replyTo: "a@docket.test\nBcc: victim@evil.example" }, "replyTo"],
    ["a LF in From", { from: "a@docket.test\nBcc: victim@evil.example" }, "from"],
    ["a CRLF in the return path", { envelopeFrom: "a@docket.test>\r\nRCPT TO:<victim@evil.example" }, "envelopeFrom"],
    ["a CRLF in the Message-ID", { messageId: "<a@b.test>\r\nBcc: victim@evil.example" }, "messageId"],
    [
      "a CRLF in an attachment name",
      { attachments: [{ filename: "a.pdf\r\nBcc: victim@evil.example", content: "x" }] },
      "attachments[0].filename",
    ],
  ])("refuses header injection: %s", async (_what, overrides, field) => {
    const error = await composeError(overrides);
    expect(error.code).toBe("header_injection");
    expect(error.field).toBe(field);
  });

  it.each([
    "not-an-address",
    "owner@",
    "@carrier.example",
    "owner@localhost",
    "owner@carrier",
    "owner@-carrier.example",
    "owner@carrier..example",
    "owner@carrier.example/path",
    "owner..dots@carrier.example",
    ".owner@carrier.example",
    '"quoted local"@carrier.example',
    "owner@127.0.0.1",
    "Group: a@carrier.example, b@carrier.example;",
    `${"x".repeat(65)}@carrier.example`,
  ])("refuses the invalid address %j", async (address) => {
    expect((await composeError({ to: address })).code).toBe("invalid_address");
  });

  it("refuses a message without recipients, or without a body", async () => {
    expect((await composeError({ to: [] })).code).toBe("no_recipients");
    expect((await composeError({ to: "  " })).code).toBe("no_recipients");
    expect((await composeError({ to: [], cc: [], bcc: [] })).code).toBe("no_recipients");
    expect((await composeError({ html: undefined })).code).toBe("empty_body");
    expect((await composeError({ html: "  ", text: "" })).code).toBe("empty_body");
  });

  it("refuses headers the composer owns, duplicates, bad names and raw control characters", async () => {
    for (const name of ["Bcc", "from", "Message-ID", "Content-Type", "MIME-Version", "Return-Path"]) {
      expect((await composeError({ headers: { [name]: "x" } })).code).toBe("invalid_header");
    }
    expect((await composeError({ headers: { "X-A": "1", "x-a": "2" } })).code).toBe("invalid_header");
    expect((await composeError({ headers: { "X A": "1" } })).code).toBe("invalid_header");
    expect((await composeError({ headers: { "X:A": "1" } })).code).toBe("invalid_header");
    expect((await composeError({ headers: { "X-A": "bell\u0007" } })).code).toBe("invalid_header");
  });

  it("refuses a header that would produce a line over 998 characters (RFC 5322 2.1.1)", async () => {
    const error = await composeError({
      headers: { "List-Unsubscribe": `<https://docket.test/u/${"a".repeat(1200)}>` },
    });
    expect(error.code).toBe("line_too_long");
  });

  it("refuses more than 100 recipients", async () => {
    const to = Array.from({ length: 101 }, (_, i) => `r${i}@carrier.example`);
    expect((await composeError({ to })).code).toBe("too_many_recipients");
  });

  it("attaches binary content as a base64 part of multipart/mixed", async () => {
    const bytes = new Uint8Array(600).map((_, i) => (i * 7) % 256);
    const m = await compose({
      attachments: [{ filename: "receipt.pdf", content: bytes, contentType: "application/pdf" }],
    });
    expect(m.headerBlock).toMatch(/^Content-Type: multipart\/mixed;/m);
    const [attachment] = m.parsed.attachments;
    expect(attachment?.filename).toBe("receipt.pdf");
    expect(attachment?.mimeType).toBe("application/pdf");
    expect(new Uint8Array(attachment!.content as ArrayBuffer)).toEqual(bytes);
  });
});

describe("encodeDataBody (RFC 5321 4.5.2)", () => {
  const encode = (s: string) => new TextDecoder().decode(encodeDataBody(new TextEncoder().encode(s)));

  it("turns bare LF and bare CR into CRLF and terminates with CRLF.CRLF", () => {
    expect(encode("a\nb\rc\r\nd")).toBe("a\r\nb\r\nc\r\nd\r\n.\r\n");
    expect(encode("ends with newline\r\n")).toBe("ends with newline\r\n.\r\n");
  });

  it("doubles a dot at the start of a line, and only there", () => {
    expect(encode(".first\r\nmid.dle\r\n.\r\n..two")).toBe("..first\r\nmid.dle\r\n..\r\n...two\r\n.\r\n");
  });
});

// --- sending over SMTP ------------------------------------------------------------------------

interface SinkMessage {
  id: string;
  envelope: { from: string; to: string[] };
  subject: string | null;
  messageId: string | null;
  size: number;
}
interface SinkSession {
  id: string;
  tls: boolean;
  authenticatedAs: string | null;
  transcript: string[];
}

async function sinkMessages(httpPort = sink.httpPort): Promise<SinkMessage[]> {
  return (await (await fetch(`http://${sink.host}:${httpPort}/messages`)).json()) as SinkMessage[];
}

async function sinkMessage(messageId: string, httpPort = sink.httpPort): Promise<SinkMessage | undefined> {
  return (await sinkMessages(httpPort)).find((m) => m.messageId === messageId);
}

async function sinkRaw(id: string, httpPort = sink.httpPort): Promise<Uint8Array> {
  return new Uint8Array(await (await fetch(`http://${sink.host}:${httpPort}/messages/${id}/raw`)).arrayBuffer());
}

/** The sink's record of the connection that said EHLO/HELO with this name. */
async function sinkSession(ehloName: string, httpPort = sink.httpPort): Promise<SinkSession> {
  const sessions = (await (await fetch(`http://${sink.host}:${httpPort}/sessions`)).json()) as SinkSession[];
  const matching = sessions.filter((s) =>
    s.transcript.some((l) => l === `C: EHLO ${ehloName}` || l === `C: HELO ${ehloName}`),
  );
  expect(matching).toHaveLength(1);
  return matching[0]!;
}

const clientCommands = (session: SinkSession) =>
  session.transcript.filter((l) => l.startsWith("C: ")).map((l) => l.slice(3));

const message = (overrides: Partial<OutboundMessage> = {}): OutboundMessage => ({
  to: "owner@carrier.example",
  subject: "Your BOC-3 filing",
  html: "<p>Hello</p>",
  ...overrides,
});

function expectNoReply(outcome: SendOutcome, stage: SendOutcome["stage"], text: RegExp) {
  expect(outcome).toMatchObject({ status: "deferred", code: null, enhancedCode: null, stage });
  expect(outcome.text).toMatch(text);
  for (const r of outcome.recipients) expect(r).toMatchObject({ status: "deferred", code: null, text: outcome.text });
}

describe("createMailer over SMTP (the sink, plaintext with AUTH)", () => {
  it("delivers: the sink receives exactly the composed bytes, with dot-stuffing undone", async () => {
    const { config, ehloName } = uniqueConfig();
    let submitted: Uint8Array | undefined;
    const relay = smtpTransport(config);
    const mailer = createMailer(config, {
      submit: async (submission) => {
        submitted = submission.raw;
        return await relay.submit(submission);
      },
    });
    const outcome = await mailer.send(
      message({
        to: "owner@carrier.example",
        bcc: "audit@docket.test",
        text: "Line one.\n.A line that starts with a dot\n..and two dots\n.\nend",
        headers: { "X-Docket-Kind": "test" },
      }),
    );
    expect(outcome).toMatchObject({ status: "accepted", code: 250, enhancedCode: "2.0.0", stage: "done" });
    expect(outcome.text).toMatch(/^Ok: queued as [0-9a-f-]{36}$/);
    expect(outcome.recipients).toEqual([
      { address: "owner@carrier.example", status: "accepted", code: 250, enhancedCode: "2.0.0", text: outcome.text },
      { address: "audit@docket.test", status: "accepted", code: 250, enhancedCode: "2.0.0", text: outcome.text },
    ]);

    const stored = await sinkMessage(outcome.messageId);
    expect(stored?.envelope).toEqual({
      from: "noreply@send.docket.test",
      to: ["owner@carrier.example", "audit@docket.test"],
    });
    expect(outcome.text).toContain(stored!.id);
    const raw = await sinkRaw(stored!.id);
    // The body really had lines starting with "." (so stuffing was exercised) and they
    // arrive intact.
    expect(new TextDecoder().decode(submitted)).toContain(
      "\r\n.A line that starts with a dot\r\n..and two dots\r\n.\r\nend",
    );
    expect(raw).toEqual(submitted);

    const session = await sinkSession(ehloName);
    expect(session.authenticatedAs).toBe(sink.user);
    expect(clientCommands(session)).toEqual([
      `EHLO ${ehloName}`,
      "AUTH PLAIN /* secured */",
      `MAIL FROM:<noreply@send.docket.test> SIZE=${raw.length}`,
      "RCPT TO:<owner@carrier.example>",
      "RCPT TO:<audit@docket.test>",
      "DATA",
      "QUIT",
    ]);
  });

  it("reports each recipient: accepted overall when DATA is accepted, refused ones listed", async () => {
    const outcome = await createMailer(baseConfig()).send(
      message({ to: ["ok@carrier.example", "reject-1@carrier.example"] }),
    );
    expect(outcome).toMatchObject({ status: "accepted", code: 250, stage: "done" });
    expect(outcome.recipients).toEqual([
      expect.objectContaining({ address: "ok@carrier.example", status: "accepted", code: 250 }),
      {
        address: "reject-1@carrier.example",
        status: "rejected",
        code: 550,
        enhancedCode: "5.1.1",
        text: "No such user here (sink: reject… recipient)",
      },
    ]);
    expect((await sinkMessage(outcome.messageId))?.envelope.to).toEqual(["ok@carrier.example"]);
  });

  it("defers on a 4xx at RCPT (451 4.7.1) and sends nothing", async () => {
    const outcome = await createMailer(baseConfig()).send(message({ to: "defer-1@carrier.example" }));
    expect(outcome).toMatchObject({ status: "deferred", code: 451, enhancedCode: "4.7.1", stage: "rcpt" });
    expect(outcome.text).toBe("Try again later (sink: defer… recipient)");
    expect(outcome.recipients).toEqual([
      { address: "defer-1@carrier.example", status: "deferred", code: 451, enhancedCode: "4.7.1", text: outcome.text },
    ]);
    expect(await sinkMessage(outcome.messageId)).toBeUndefined();
  });

  it("rejects on a 5xx at RCPT (550 5.1.1)", async () => {
    const outcome = await createMailer(baseConfig()).send(message({ to: "reject-2@carrier.example" }));
    expect(outcome).toMatchObject({ status: "rejected", code: 550, enhancedCode: "5.1.1", stage: "rcpt" });
    expect(await sinkMessage(outcome.messageId)).toBeUndefined();
  });

  it("takes the last refused RCPT when every recipient is refused, and abandons with RSET", async () => {
    const { config, ehloName } = uniqueConfig();
    const lastRejected = await createMailer(config).send(
      message({ to: ["defer-2@carrier.example", "reject-3@carrier.example"] }),
    );
    expect(lastRejected).toMatchObject({ status: "rejected", code: 550, stage: "rcpt" });
    expect(lastRejected.recipients.map((r) => [r.status, r.code])).toEqual([
      ["deferred", 451],
      ["rejected", 550],
    ]);
    expect(clientCommands(await sinkSession(ehloName)).slice(-2)).toEqual(["RSET", "QUIT"]);
    const lastDeferred = await createMailer(baseConfig()).send(
      message({ to: ["reject-4@carrier.example", "defer-3@carrier.example"] }),
    );
    expect(lastDeferred).toMatchObject({ status: "deferred", code: 451, stage: "rcpt" });
  });

  it("rejects on a 5xx at the end of DATA (554 5.7.1), for every recipient accepted at RCPT", async () => {
    const outcome = await createMailer(baseConfig()).send(
      message({ to: ["ok@carrier.example", "blocked-1@carrier.example"] }),
    );
    expect(outcome).toMatchObject({ status: "rejected", code: 554, enhancedCode: "5.7.1", stage: "data" });
    expect(outcome.recipients.map((r) => [r.address, r.status, r.code])).toEqual([
      ["ok@carrier.example", "rejected", 554],
      ["blocked-1@carrier.example", "rejected", 554],
    ]);
    expect(await sinkMessage(outcome.messageId)).toBeUndefined();
  });

  it("defers with no code when the connection is refused (stage connect)", async () => {
    const closed = provided("smtpHostile").closedPort;
    const outcome = await createMailer(baseConfig({ SMTP_PORT: String(closed) })).send(message());
    expectNoReply(outcome, "connect", new RegExp(`^connecting to 127\\.0\\.0\\.1:${closed} failed: `));
  });

  it("defers with no code when a reply takes longer than SMTP_TIMEOUT_MS", async () => {
    const started = Date.now();
    const outcome = await createMailer(baseConfig({ SMTP_TIMEOUT_MS: "300" })).send(
      message({ to: "slow-1@carrier.example" }),
    );
    expectNoReply(
      outcome,
      "rcpt",
      /^timed out after 300 ms waiting for the RCPT TO reply for slow-1@carrier\.example$/,
    );
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("is refused with 530 at MAIL when the relay requires AUTH and no credentials are configured", async () => {
    const { config, ehloName } = uniqueConfig({ SMTP_USER: "", SMTP_PASSWORD: "" });
    const outcome = await createMailer(config).send(message());
    expect(outcome).toMatchObject({ status: "rejected", code: 530, enhancedCode: "5.7.0", stage: "mail" });
    expect(clientCommands(await sinkSession(ehloName)).some((c) => c.startsWith("AUTH"))).toBe(false);
  });

  it("is rejected with 535 5.7.8 at AUTH when the password is wrong, and sends no mail", async () => {
    const { config, ehloName } = uniqueConfig({ SMTP_PASSWORD: "not-the-password" });
    const outcome = await createMailer(config).send(message());
    expect(outcome).toMatchObject({ status: "rejected", code: 535, enhancedCode: "5.7.8", stage: "auth" });
    expect(outcome.recipients).toEqual([
      { address: "owner@carrier.example", status: "rejected", code: 535, enhancedCode: "5.7.8", text: outcome.text },
    ]);
    const session = await sinkSession(ehloName);
    expect(session.authenticatedAs).toBeNull();
    expect(clientCommands(session).some((c) => c.startsWith("MAIL"))).toBe(false);
  });

  it("with SMTP_SECURITY=starttls, refuses a relay that does not offer STARTTLS before sending AUTH or mail", async () => {
    const { config, ehloName } = uniqueConfig({ SMTP_SECURITY: "starttls" });
    const outcome = await createMailer(config).send(message());
    expectNoReply(outcome, "starttls", /did not offer STARTTLS; refusing to authenticate or send without TLS/);
    // The sink saw the EHLO (so it was this connection) and nothing after it but QUIT.
    expect(clientCommands(await sinkSession(ehloName))).toEqual([`EHLO ${ehloName}`, "QUIT"]);
    expect(await sinkMessage(outcome.messageId)).toBeUndefined();
  });

  it("with SMTP_SECURITY=tls, does not fall back to plaintext against a plaintext relay", async () => {
    const outcome = await createMailer(baseConfig({ SMTP_SECURITY: "tls", SMTP_TIMEOUT_MS: "1000" })).send(message());
    // workerd's `opened` includes the TLS handshake, which a plaintext server cannot finish.
    expectNoReply(outcome, "connect", new RegExp(`^connecting to 127\\.0\\.0\\.1:${sink.port} with TLS failed: `));
    expect(await sinkMessage(outcome.messageId)).toBeUndefined();
  });

  it("throws for a message that must not be sent, before connecting", async () => {
    const { config, ehloName } = uniqueConfig();
    await expect(
      createMailer(config).send(message({ subject: "x\r\nBcc: victim@evil.example" })),
    ).rejects.toMatchObject({
      name: "ComposeError",
      code: "header_injection",
    });
    const sessions = (await (await fetch(`http://${sink.host}:${sink.httpPort}/sessions`)).json()) as SinkSession[];
    expect(sessions.some((s) => s.transcript.some((l) => l.includes(ehloName)))).toBe(false);
  });
});

describe("createMailer over TLS (certificates from test/fixtures/smtp-tls, CA trusted by workerd)", () => {
  it("upgrades with STARTTLS, says EHLO again, authenticates with AUTH LOGIN over TLS, and delivers", async () => {
    const tlsSink = provided("smtpStarttls");
    const { config, ehloName } = uniqueConfig({ SMTP_PORT: String(tlsSink.port), SMTP_SECURITY: "starttls" });
    const outcome = await createMailer(config).send(message());
    expect(outcome.status, `${outcome.text} (is the test CA trusted? see trustTestCertificateAuthority)`).toBe(
      "accepted",
    );
    expect(outcome).toMatchObject({ code: 250, stage: "done" });
    const session = await sinkSession(ehloName, tlsSink.httpPort);
    expect(session.tls).toBe(true);
    expect(session.authenticatedAs).toBe(tlsSink.user);
    expect(clientCommands(session)).toEqual([
      `EHLO ${ehloName}`,
      "STARTTLS",
      `EHLO ${ehloName}`,
      "AUTH LOGIN",
      "/* secured */",
      "/* secured */",
      expect.stringMatching(/^MAIL FROM:<noreply@send\.docket\.test> SIZE=\d+$/),
      "RCPT TO:<owner@carrier.example>",
      "DATA",
      "QUIT",
    ]);
    expect(await sinkMessage(outcome.messageId, tlsSink.httpPort)).toBeDefined();
  });

  it("refuses a certificate that is not valid for SMTP_HOST, before AUTH or mail", async () => {
    const wrong = provided("smtpStarttlsWrongName");
    const { config, ehloName } = uniqueConfig({ SMTP_PORT: String(wrong.port), SMTP_SECURITY: "starttls" });
    const outcome = await createMailer(config).send(message());
    expectNoReply(outcome, "starttls", /^the TLS handshake with 127\.0\.0\.1 failed/);
    expect(clientCommands(await sinkSession(ehloName, wrong.httpPort))).toEqual([`EHLO ${ehloName}`, "STARTTLS"]);
    expect(await sinkMessages(wrong.httpPort)).toEqual([]);
  });

  it("speaks implicit TLS (SMTP_SECURITY=tls) and delivers", async () => {
    const implicit = provided("smtpImplicitTls");
    const { config, ehloName } = uniqueConfig({ SMTP_PORT: String(implicit.port), SMTP_SECURITY: "tls" });
    const outcome = await createMailer(config).send(message());
    expect(outcome.status, `${outcome.text} (is the test CA trusted? see trustTestCertificateAuthority)`).toBe(
      "accepted",
    );
    expect(outcome).toMatchObject({ code: 250, stage: "done" });
    const session = await sinkSession(ehloName, implicit.httpPort);
    expect(session.tls).toBe(true);
    expect(clientCommands(session)[1]).toBe("AUTH PLAIN /* secured */");
  });
});

describe("createMailer against misbehaving servers", () => {
  const send = (
    behaviour: HostileBehaviour,
    overrides: Record<string, string> = {},
    to: string | string[] = "owner@carrier.example",
  ) =>
    createMailer(
      baseConfig({ SMTP_PORT: String(provided("smtpHostile").ports[behaviour]), SMTP_TIMEOUT_MS: "500", ...overrides }),
    ).send(message({ to }));

  it("takes a 554 greeting as the server's refusal (RFC 5321 3.1)", async () => {
    const outcome = await send("refuse-greeting");
    expect(outcome).toMatchObject({ status: "rejected", code: 554, enhancedCode: "5.7.1", stage: "greeting" });
    expect(outcome.text).toBe("hostile.test: no SMTP service for you");
    expect(outcome.recipients[0]).toMatchObject({ status: "rejected", code: 554 });
  });

  it("stops at a 421 during RCPT and defers every recipient, asked or not (RFC 5321 3.8)", async () => {
    const outcome = await send("closing-at-rcpt", {}, ["first@carrier.example", "second@carrier.example"]);
    expect(outcome).toMatchObject({ status: "deferred", code: 421, enhancedCode: "4.7.0", stage: "rcpt" });
    expect(outcome.recipients.map((r) => [r.address, r.status, r.code])).toEqual([
      ["first@carrier.example", "deferred", 421],
      ["second@carrier.example", "deferred", 421],
    ]);
  });

  it("gives up on a server that never greets", async () => {
    expectNoReply(await send("silent"), "greeting", /^timed out after 500 ms waiting for the greeting$/);
  });

  it("stops buffering a line that never ends", async () => {
    expectNoReply(await send("huge-line"), "greeting", /^the server sent a reply line longer than 4096 bytes$/);
  });

  it("stops buffering a multi-line reply that never ends", async () => {
    expectNoReply(await send("endless-reply"), "greeting", /^the server's reply exceeded 65536 bytes$/);
  });

  it("refuses a reply that is not SMTP", async () => {
    expectNoReply(
      await send("garbage"),
      "greeting",
      /^the server sent a malformed SMTP reply line: "HTTP\/1\.1 400 Bad Request"$/,
    );
  });

  it("reports a connection dropped mid-dialogue", async () => {
    expectNoReply(await send("drop-after-ehlo"), "ehlo", /closed the connection|failed/);
  });

  it("refuses a plaintext reply injected after the STARTTLS 220", async () => {
    expectNoReply(
      await send("starttls-injection", { SMTP_SECURITY: "starttls" }),
      "starttls",
      /sent data after its STARTTLS reply; refusing to continue \(possible response injection\)/,
    );
  });
});
