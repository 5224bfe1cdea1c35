import { convert } from "html-to-text";
import addressparser from "nodemailer/lib/addressparser";
import MailComposer from "nodemailer/lib/mail-composer";
import type { AppConfig } from "../config/app-config";

/**
 * Builds one RFC 5322 message and its SMTP envelope. Pure: no bindings, no network, no clock
 * beyond the Date header's default and no randomness beyond the generated Message-ID.
 *
 * Every value that ends up in a header is checked before MailComposer sees it: a CR, LF or NUL
 * anywhere in a header name, value or address is refused (header injection), not folded or
 * silently dropped, so a caller that passes user input through learns about it.
 */

export interface ComposeInput {
  to: string | string[];
  cc?: string | string[];
  bcc?: string | string[];
  from?: string;
  replyTo?: string;
  subject: string;
  html?: string;
  text?: string;
  /** Extra header fields, e.g. List-Unsubscribe, List-Unsubscribe-Post, X-Docket-*. */
  headers?: Record<string, string>;
  /** `<id@domain>`; generated on the sending domain when absent. */
  messageId?: string;
  /**
   * The SMTP reverse-path (MAIL FROM), e.g. a VERP bounce address. Defaults to the From
   * address; "" means the null reverse-path `<>` (RFC 5321 4.5.5).
   */
  envelopeFrom?: string;
  attachments?: { filename: string; content: Uint8Array | string; contentType?: string }[];
  /** The Date header; now when absent. */
  date?: Date;
}

export type ComposeConfig = Pick<AppConfig, "MAIL_FROM" | "MAIL_SENDING_DOMAIN" | "MAIL_REPLY_TO">;

export interface ComposedMessage {
  /** The message with CRLF line ends, 7-bit clean (MailComposer encodes anything else). */
  raw: Uint8Array;
  /** The Message-ID header value, angle brackets included. */
  messageId: string;
  envelope: { from: string; to: string[] };
}

export type ComposeErrorCode =
  | "header_injection"
  | "invalid_header"
  | "invalid_address"
  | "no_recipients"
  | "too_many_recipients"
  | "invalid_message_id"
  | "empty_body"
  | "invalid_attachment"
  | "line_too_long";

export class ComposeError extends Error {
  constructor(
    readonly code: ComposeErrorCode,
    /** The input field at fault, e.g. "to", "headers.List-Unsubscribe". */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "ComposeError";
  }
}

// RFC 5321 4.5.3.1.8 only obliges a server to take 100 recipients per transaction; more is a
// mass mailing that belongs in separate messages anyway.
export const MAX_RECIPIENTS = 100;

// Header fields the composer owns. Setting them through `headers` would duplicate or
// contradict the structured fields (RFC 5322 3.6 allows most of them once), and Return-Path
// is added by the final delivery MTA only (RFC 5321 4.4).
const RESERVED_HEADERS = new Set([
  "from",
  "sender",
  "to",
  "cc",
  "bcc",
  "reply-to",
  "subject",
  "date",
  "message-id",
  "mime-version",
  "return-path",
]);

/** Builds the message. Throws ComposeError for input that must not be sent. */
export async function composeMessage(input: ComposeInput, config: ComposeConfig): Promise<ComposedMessage> {
  const to = mailboxes(input.to, "to");
  const cc = mailboxes(input.cc, "cc");
  const bcc = mailboxes(input.bcc, "bcc");
  const envelopeTo = unique([...to, ...cc, ...bcc].map((m) => m.address));
  if (envelopeTo.length === 0) throw new ComposeError("no_recipients", "to", "no recipient in to, cc or bcc");
  if (envelopeTo.length > MAX_RECIPIENTS) {
    throw new ComposeError("too_many_recipients", "to", `${envelopeTo.length} recipients, at most ${MAX_RECIPIENTS}`);
  }

  const fromList = mailboxes(input.from ?? config.MAIL_FROM, input.from === undefined ? "MAIL_FROM" : "from");
  // RFC 5322 3.6.2: several From mailboxes would need a Sender field; one is all we send as.
  if (fromList.length !== 1) throw new ComposeError("invalid_address", "from", "exactly one From address is required");
  const from = fromList[0]!;
  const replyToInput = input.replyTo ?? config.MAIL_REPLY_TO;
  const replyTo =
    replyToInput === undefined
      ? []
      : mailboxes(replyToInput, input.replyTo === undefined ? "MAIL_REPLY_TO" : "replyTo");

  const envelopeFrom = input.envelopeFrom === undefined ? from.address : reversePath(input.envelopeFrom);
  const subject = headerText(input.subject, "subject");
  const messageId =
    input.messageId === undefined ? generateMessageId(config.MAIL_SENDING_DOMAIN) : parseMessageId(input.messageId);
  const headers = extraHeaders(input.headers);
  const { text, html } = bodies(input);
  const attachments = (input.attachments ?? []).map(attachment);

  const node = new MailComposer({
    from,
    to: to.length > 0 ? to : undefined,
    cc: cc.length > 0 ? cc : undefined,
    // Bcc recipients are in the envelope only; the composer never sees them, so they cannot
    // leak into a header (RFC 5322 3.6.3 leaves it to the sender; we never disclose them).
    replyTo: replyTo.length > 0 ? replyTo : undefined,
    subject,
    messageId,
    date: input.date ?? new Date(),
    text,
    html,
    headers,
    attachments,
    newline: "\r\n",
    disableFileAccess: true,
    disableUrlAccess: true,
  }).compile();
  const built = await node.build();
  const raw = new Uint8Array(built.buffer, built.byteOffset, built.byteLength);
  checkHeaderLineLengths(raw);
  return { raw, messageId, envelope: { from: envelopeFrom, to: envelopeTo } };
}

/** The plain-text rendering of an HTML body: links as "text (url)", images dropped. */
export function htmlToPlainText(html: string): string {
  return convert(html, {
    // RFC 5322 2.1.1: lines SHOULD stay within 78 characters.
    wordwrap: 78,
    selectors: [
      { selector: "a", options: { linkBrackets: ["(", ")"], hideLinkHrefIfSameAsText: true } },
      // Tracking pixels and decorative images have nothing to say in text.
      { selector: "img", format: "skip" },
      // Cells side by side, not run together ("Fee$12"); layout tables nest into one column.
      { selector: "table", format: "dataTable", options: { uppercaseHeaderCells: false, maxColumnWidth: 78 } },
      ...(["h1", "h2", "h3", "h4", "h5", "h6"] as const).map((selector) => ({
        selector,
        options: { uppercase: false },
      })),
    ],
  });
}

interface Mailbox {
  name: string;
  address: string;
}

function mailboxes(value: string | string[] | undefined, field: string): Mailbox[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  const result: Mailbox[] = [];
  for (const item of list) {
    if (typeof item !== "string") throw new ComposeError("invalid_address", field, "addresses must be strings");
    rejectInjection(item, field);
    if (item.trim() === "") continue;
    for (const parsed of addressparser(item)) {
      if (parsed.group !== undefined) {
        throw new ComposeError("invalid_address", field, `address groups are not supported: ${JSON.stringify(item)}`);
      }
      result.push({ name: parsed.name, address: normaliseAddress(parsed.address, field, item) });
    }
  }
  return result;
}

// RFC 5321 4.1.2 Dot-string: atoms of atext joined by single dots. Quoted local parts are
// legal but vanishingly rare and hard to carry safely through every relay; we refuse them.
const DOT_STRING = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LDH_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Validates one bare address and returns it with its domain lower-cased and in ASCII (IDNA). */
function normaliseAddress(address: string, field: string, original: string = address): string {
  const invalid = (why: string) => new ComposeError("invalid_address", field, `${JSON.stringify(original)} ${why}`);
  const at = address.lastIndexOf("@");
  if (address === "" || at <= 0 || at === address.length - 1) throw invalid("is not an address");
  const local = address.slice(0, at);
  const domainInput = address.slice(at + 1);
  // RFC 5321 4.5.3.1.1: a local part is at most 64 octets.
  if (!DOT_STRING.test(local) || local.length > 64) throw invalid("has an invalid local part");
  // Letters and digits of any script, dots and hyphens only, before IDNA turns it into ASCII;
  // the URL parser would otherwise read a "/" or "?" as the end of the host.
  if (!/^[\p{L}\p{M}\p{N}.-]+$/u.test(domainInput)) throw invalid("has an invalid domain");
  let domain: string;
  try {
    domain = new URL(`http://${domainInput}`).hostname;
  } catch {
    throw invalid("has an invalid domain");
  }
  const labels = domain.split(".");
  // RFC 5321 4.5.3.1.2: a domain is at most 255 octets; RFC 1035 labels are LDH, 63 at most.
  // A dotless or all-numeric top label is a host name or an IP address, not a mail domain.
  if (
    domain.length > 253 ||
    labels.length < 2 ||
    !labels.every((l) => LDH_LABEL.test(l)) ||
    /^[0-9]+$/.test(labels.at(-1)!)
  ) {
    throw invalid("has an invalid domain");
  }
  const normalised = `${local}@${domain}`;
  // RFC 5321 4.5.3.1.3: a path (the address in angle brackets) is at most 256 octets.
  if (normalised.length > 254) throw invalid("is too long");
  return normalised;
}

function reversePath(value: string): string {
  if (typeof value !== "string") throw new ComposeError("invalid_address", "envelopeFrom", "must be a string");
  rejectInjection(value, "envelopeFrom");
  return value === "" ? "" : normaliseAddress(value, "envelopeFrom");
}

function unique(addresses: string[]): string[] {
  const seen = new Set<string>();
  return addresses.filter((a) => (seen.has(a) ? false : (seen.add(a), true)));
}

function rejectInjection(value: string, field: string): void {
  // A CR or LF would end the header field and start a new one (RFC 5322 2.2); NUL is not
  // allowed anywhere in a message (RFC 5322 3.5, RFC 5321 4.1.1.4 implicitly).
  if (/[\r\n\0]/.test(value)) {
    throw new ComposeError("header_injection", field, "contains CR, LF or NUL");
  }
}

function headerText(value: string, field: string): string {
  if (typeof value !== "string") throw new ComposeError("invalid_header", field, "must be a string");
  rejectInjection(value, field);
  // RFC 5322 3.2.5 unstructured text is VCHAR and WSP; other controls are not allowed.
  // eslint-disable-next-line no-control-regex
  if (/[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(value)) {
    throw new ComposeError("invalid_header", field, "contains a control character");
  }
  return value;
}

// RFC 5322 2.2: a field name is printable US-ASCII (33-126) except the colon.
const FIELD_NAME = /^[!-9;-~]+$/;

function extraHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  if (headers === undefined) return result;
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    const field = `headers.${name}`;
    rejectInjection(name, field);
    if (!FIELD_NAME.test(name)) throw new ComposeError("invalid_header", field, "is not a valid header field name");
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower) || lower.startsWith("content-")) {
      throw new ComposeError("invalid_header", field, "is set by the composer; use the message fields instead");
    }
    if (seen.has(lower)) throw new ComposeError("invalid_header", field, "is given twice");
    seen.add(lower);
    result[name] = headerText(value, field);
  }
  return result;
}

// RFC 5322 3.6.4: msg-id = "<" id-left "@" id-right ">", both sides dot-atom-text (or a
// no-fold-literal on the right, which we do not generate or accept).
const MSG_ID = /^<([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+)@([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+)>$/;

function parseMessageId(value: string): string {
  if (typeof value !== "string") throw new ComposeError("invalid_message_id", "messageId", "must be a string");
  rejectInjection(value, "messageId");
  const bracketed = value.startsWith("<") ? value : `<${value}>`;
  if (!MSG_ID.test(bracketed) || bracketed.length > 250) {
    throw new ComposeError("invalid_message_id", "messageId", `${JSON.stringify(value)} is not <id@domain>`);
  }
  return bracketed;
}

export function generateMessageId(domain: string): string {
  // A random UUID on our own sending domain: unique (RFC 5322 3.6.4) and it names us, not
  // the relay, which is what receivers expect of a bulk sender.
  return `<${crypto.randomUUID()}@${domain.toLowerCase()}>`;
}

function bodies(input: ComposeInput): { text: string | undefined; html: string | undefined } {
  const html = input.html;
  const text = input.text;
  if (html !== undefined && typeof html !== "string") throw new ComposeError("empty_body", "html", "must be a string");
  if (text !== undefined && typeof text !== "string") throw new ComposeError("empty_body", "text", "must be a string");
  const hasHtml = html !== undefined && html.trim() !== "";
  const hasText = text !== undefined && text.trim() !== "";
  if (!hasHtml && !hasText) throw new ComposeError("empty_body", "html", "the message needs an html or a text body");
  if (hasHtml) {
    // multipart/alternative, plain text first (RFC 2046 5.1.4: least preferred first).
    return { html, text: hasText ? text : htmlToPlainText(html) };
  }
  return { html: undefined, text };
}

function attachment(
  item: { filename: string; content: Uint8Array | string; contentType?: string },
  index: number,
): { filename: string; content: string; encoding?: "base64"; contentType?: string } {
  const field = `attachments[${index}]`;
  if (typeof item.filename !== "string" || item.filename.trim() === "" || item.filename.length > 255) {
    throw new ComposeError(
      "invalid_attachment",
      `${field}.filename`,
      "must be a non-empty name of at most 255 characters",
    );
  }
  rejectInjection(item.filename, `${field}.filename`);
  headerText(item.filename, `${field}.filename`);
  let contentType: string | undefined;
  if (item.contentType !== undefined) {
    rejectInjection(item.contentType, `${field}.contentType`);
    // RFC 6838 4.2 type/subtype names, optionally followed by parameters.
    if (!/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;.*)?$/.test(item.contentType)) {
      throw new ComposeError("invalid_attachment", `${field}.contentType`, "is not a media type");
    }
    contentType = item.contentType;
  }
  let content: string;
  let encoding: "base64" | undefined;
  if (typeof item.content === "string") content = item.content;
  else if (item.content instanceof Uint8Array) {
    // Handed over as base64 so this module needs no Buffer (node:buffer) of its own.
    content = bytesToBase64(item.content);
    encoding = "base64";
  } else throw new ComposeError("invalid_attachment", `${field}.content`, "must be a string or a Uint8Array");
  return {
    filename: item.filename,
    content,
    ...(encoding === undefined ? {} : { encoding }),
    ...(contentType === undefined ? {} : { contentType }),
  };
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  // Chunks keep String.fromCharCode's argument list short.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * RFC 5322 2.1.1: a line is at most 998 characters. MailComposer folds header fields at
 * whitespace, so only a value with a long unbroken run (a huge URL) can exceed it; refuse it
 * rather than send a message receivers may truncate or reject.
 */
function checkHeaderLineLengths(raw: Uint8Array): void {
  let lineStart = 0;
  for (let i = 0; i + 1 < raw.length; i++) {
    if (raw[i] !== 0x0d || raw[i + 1] !== 0x0a) continue;
    if (i === lineStart) return; // the empty line ending the header section
    if (i - lineStart > 998) {
      const name = new TextDecoder().decode(raw.subarray(lineStart, Math.min(i, lineStart + 60))).split(":")[0];
      throw new ComposeError("line_too_long", `headers.${name}`, "yields a header line over 998 characters");
    }
    lineStart = i + 2;
  }
}
