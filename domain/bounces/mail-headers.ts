/**
 * Small helpers for header blocks and addresses found inside bounces. Pure: no I/O.
 *
 * The MIME structure itself is parsed by postal-mime; these helpers only read the pieces it
 * hands back as opaque text: an RFC 3464 delivery-status body, an RFC 5965 feedback report, a
 * `text/rfc822-headers` part, or the headers of the returned message pasted into a text
 * bounce after a "copy of the message follows" line.
 */

export interface HeaderField {
  /** Lower-case field name. */
  name: string;
  value: string;
}

// RFC 5322 2.2: a field name is printable ASCII except ":" and space. DSN and ARF bodies use
// the same syntax (RFC 3464 2.1, RFC 5965 3.1).
const FIELD_LINE = /^([!-9;-~]+)[ \t]*:[ \t]*(.*)$/;

/**
 * Parses a block of header fields, unfolding continuation lines (RFC 5322 2.2.3). Stops at the
 * first line that is neither a field nor a continuation; a blank line is returned as a field
 * named "" so callers that need RFC 3464 groups can see the separators.
 */
export function parseFieldLines(text: string, opts: { keepBlankLines?: boolean } = {}): HeaderField[] {
  const out: HeaderField[] = [];
  let current: HeaderField | undefined;
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      current = undefined;
      if (opts.keepBlankLines) out.push({ name: "", value: "" });
      continue;
    }
    if (/^[ \t]/.test(line) && current) {
      current.value = `${current.value} ${line.trim()}`.trim();
      continue;
    }
    const m = FIELD_LINE.exec(line);
    if (!m) {
      current = undefined;
      continue;
    }
    current = { name: m[1]!.toLowerCase(), value: m[2]!.trim() };
    out.push(current);
  }
  return out;
}

/** The header section of a message (everything before the first blank line), parsed. */
export function parseHeaderSection(text: string): HeaderField[] {
  const normalized = text.replace(/\r\n?/g, "\n").replace(/^\n+/, "");
  const end = normalized.indexOf("\n\n");
  return parseFieldLines(end === -1 ? normalized : normalized.slice(0, end));
}

export function headerValue(fields: HeaderField[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return fields.find((f) => f.name === lower)?.value;
}

// Deliberately loose: bounces quote addresses that were never valid (that is often the point).
// Dots are allowed inside the local part but not at either end, so "user@example.com." keeps
// its sentence full stop out of the address.
// Non-ASCII characters are allowed on both sides (RFC 6531 SMTPUTF8 addresses, IDNs).
const ATOM = String.raw`A-Za-z0-9!#$%&'*+/=?^_\x60{|}~\u00A0-\uFFFF-`;
const LABEL = String.raw`A-Za-z0-9\u00A0-\uFFFF`;
const ADDRESS_SOURCE = String.raw`[${ATOM}](?:[${ATOM}.]*[${ATOM}])?@(?:[${LABEL}](?:[${LABEL}-]*[${LABEL}])?\.)+[${LABEL}-]*[A-Za-z\u00A0-\uFFFF]|[A-Za-z0-9._%+-]+@\[[0-9.]+\]`;

export function addressPattern(flags = "g"): RegExp {
  return new RegExp(ADDRESS_SOURCE, flags);
}

/** The first address in a field value such as `rfc822; <user@example.com>` or `Name <a@b>`. */
export function firstAddress(value: string | undefined): string | undefined {
  if (!value) return undefined;
  return addressPattern("").exec(value)?.[0];
}

/** Every address in a header value, in order. */
export function allAddresses(value: string | undefined): string[] {
  if (!value) return [];
  return [...value.matchAll(addressPattern())].map((m) => m[0]);
}

/** Addresses compare case-insensitively for our purposes (the domain is; local parts nearly always are). */
export function sameAddress(a: string | undefined, b: string | undefined): boolean {
  return !!a && !!b && a.toLowerCase() === b.toLowerCase();
}

/** Decodes bytes as UTF-8, falling back to Latin-1 when they are not valid UTF-8. */
export function decodeText(content: ArrayBuffer | Uint8Array | string): string {
  if (typeof content === "string") return content;
  const bytes = content instanceof Uint8Array ? content : new Uint8Array(content);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    let s = "";
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
    return s;
  }
}
