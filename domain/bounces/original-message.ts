/**
 * The returned original message inside a bounce or complaint: which of our messages it was.
 * Pure: no I/O.
 *
 * It arrives as a message/rfc822 part (RFC 3462 / 6522 third part, RFC 5965 third part), as
 * text/rfc822-headers (headers only), or pasted into the text of a non-standard bounce after a
 * "copy of the message follows" line. Only its header section is read.
 */

import { firstAddress, headerValue, parseHeaderSection, type HeaderField } from "./mail-headers";

/** Headers kept from the original, besides every X-Docket-* header (our own send metadata). */
const KEPT_HEADERS = ["message-id", "return-path", "from", "to", "cc", "subject", "date", "list-id", "feedback-id"];

export interface OriginalMessage {
  fields: HeaderField[];
  messageId: string | undefined;
  /** The envelope sender as the receiving side recorded it (Return-Path, RFC 5321 4.4). */
  returnPath: string | undefined;
  from: string | undefined;
  headers: Record<string, string>;
}

/** The header block at the start of a text (skipping leading blank lines and an mbox "From " line). */
export function headerBlockOf(text: string): HeaderField[] {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length && (lines[i]!.trim() === "" || /^From \S+/.test(lines[i]!))) i++;
  return parseHeaderSection(lines.slice(i).join("\n"));
}

/** Finds a header block anywhere in a text (a bounce that pasted the original after some prose). */
export function findHeaderBlock(text: string): HeaderField[] {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (
      !/^[\s>]*(?:return-path|received|message-id|from|date|to|subject|x-[\w-]+|dkim-signature|mime-version)\s*:/i.test(
        lines[i]!,
      )
    )
      continue;
    // A header section is a few hundred lines at most; looking further is only cost.
    const window = lines.slice(i, i + 500).map((l) => l.replace(/^\s{1,6}(?=[\w-]+:)/, ""));
    const fields = parseHeaderSection(window.join("\n"));
    if (fields.length >= 2) return fields;
  }
  return [];
}

export function describeOriginal(fields: HeaderField[]): OriginalMessage | undefined {
  if (fields.length === 0) return undefined;
  const headers: Record<string, string> = {};
  for (const f of fields) {
    if ((f.name.startsWith("x-docket-") || KEPT_HEADERS.includes(f.name)) && !(f.name in headers))
      headers[f.name] = f.value;
  }
  const messageId = headerValue(fields, "message-id")?.match(/<[^>]+>|\S+/)?.[0];
  return {
    fields,
    messageId,
    returnPath: firstAddress(headerValue(fields, "return-path")),
    from: firstAddress(headerValue(fields, "from")),
    headers,
  };
}
