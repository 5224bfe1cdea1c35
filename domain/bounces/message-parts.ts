/**
 * The pieces of an inbound message a bounce classifier reads, out of postal-mime's parse.
 * Pure: no I/O.
 *
 * postal-mime turns the human-readable parts into `text` (or `html`) and hands every other
 * part over as an attachment: message/delivery-status (RFC 3464), message/feedback-report
 * (RFC 5965), the returned message as message/rfc822 or its headers as text/rfc822-headers
 * (RFC 6522). `forceRfc822Attachments` keeps a returned message out of `text` even outside a
 * multipart/report.
 */

import PostalMime, { type Email } from "postal-mime";
import { decodeText, firstAddress, headerValue, type HeaderField } from "./mail-headers";
import { describeOriginal, headerBlockOf, type OriginalMessage } from "./original-message";

export interface MessageParts {
  headers: HeaderField[];
  subject: string;
  from: string | undefined;
  to: string | undefined;
  /** The human-readable text (the HTML part's text when there is no plain part). */
  text: string;
  /** Bodies of the message/delivery-status parts. */
  deliveryStatus: string[];
  /** Body of the message/feedback-report part. */
  feedbackReport: string | undefined;
  /** The returned original (its header section). */
  original: OriginalMessage | undefined;
  /** The raw attached message, for a bounce that wraps another bounce. */
  originalRaw: string | undefined;
}

/** Old Mac-style files end lines with a lone CR; MIME parsers expect LF or CRLF. */
function normalizeNewlines(raw: Uint8Array | ArrayBuffer | string): Uint8Array | string {
  if (typeof raw === "string") {
    return raw.replace(/^From [^\n]*\n/, "").replace(/\r(?!\n)/g, "\n");
  }
  const bytes = raw instanceof Uint8Array ? raw : new Uint8Array(raw);
  let hasLoneCr = false;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0d && bytes[i + 1] !== 0x0a) {
      hasLoneCr = true;
      break;
    }
  }
  let out = bytes;
  if (hasLoneCr) {
    out = new Uint8Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] === 0x0d && bytes[i + 1] !== 0x0a ? 0x0a : bytes[i]!;
  }
  // An mbox "From " separator line is not a header.
  if (out[0] === 0x46 && out[1] === 0x72 && out[2] === 0x6f && out[3] === 0x6d && out[4] === 0x20) {
    const nl = out.indexOf(0x0a);
    if (nl !== -1) out = out.subarray(nl + 1);
  }
  return out;
}

function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)[\s\S]*?<\/\1>/gi, "")
    .replace(/<br\s*\/?>|<\/(?:p|div|tr|li|h\d|table|blockquote)>/gi, "\n")
    .replace(/<[^>]+>/g, "")
    .replace(/&nbsp;/gi, " ")
    .replace(/&lt;/gi, "<")
    .replace(/&gt;/gi, ">")
    .replace(/&quot;/gi, '"')
    .replace(/&#39;|&apos;/gi, "'")
    .replace(/&amp;/gi, "&")
    .replace(/[ \t]+\n/g, "\n");
}

/** The body of a raw message after its header section, for when MIME parsing found no parts. */
function rawBody(raw: Uint8Array | string): string {
  const text = typeof raw === "string" ? raw : decodeText(raw);
  const m = /\r?\n\r?\n/.exec(text);
  return m ? text.slice(m.index + m[0].length) : "";
}

function collectParts(email: Email, raw: Uint8Array | string): MessageParts {
  const headers = email.headers.map((h) => ({ name: h.key, value: h.value }));
  const textParts: string[] = [];
  if (email.text) textParts.push(email.text);
  else if (email.html) textParts.push(htmlToText(email.html));
  const deliveryStatus: string[] = [];
  let feedbackReport: string | undefined;
  let originalFields: HeaderField[] | undefined;
  let originalRaw: string | undefined;
  for (const a of email.attachments) {
    const type = a.mimeType.toLowerCase();
    const content = decodeText(a.content);
    if (type === "message/delivery-status" || type === "message/global-delivery-status") {
      deliveryStatus.push(content);
    } else if (type === "message/feedback-report") {
      feedbackReport ??= content;
    } else if (
      type === "message/rfc822" ||
      type === "message/global" ||
      type === "text/rfc822-headers" ||
      type === "message/rfc822-headers" ||
      type === "message/global-headers"
    ) {
      if (!originalFields?.length) {
        originalFields = headerBlockOf(content);
        if (type !== "text/rfc822-headers") originalRaw = content;
      }
    } else if (type === "text/plain" && a.disposition !== "attachment" && !email.text) {
      textParts.push(content);
    }
  }
  // A multipart whose boundary the parser could not use leaves nothing: read the raw body.
  if (textParts.length === 0 && email.attachments.length === 0) textParts.push(rawBody(raw));
  return {
    headers,
    subject: email.subject ?? "",
    from: firstAddress(headerValue(headers, "from")),
    to: firstAddress(headerValue(headers, "to")),
    text: textParts.join("\n"),
    deliveryStatus,
    feedbackReport,
    original: originalFields?.length ? describeOriginal(originalFields) : undefined,
    originalRaw,
  };
}

/** Parses a raw message; undefined when it is beyond the parser's limits (nesting, header size). */
export async function readMessage(raw: Uint8Array | ArrayBuffer | string): Promise<MessageParts | undefined> {
  const input = normalizeNewlines(raw);
  let email: Email;
  try {
    email = await PostalMime.parse(input, { forceRfc822Attachments: true, attachmentEncoding: "arraybuffer" });
  } catch {
    return undefined;
  }
  return collectParts(email, input);
}
