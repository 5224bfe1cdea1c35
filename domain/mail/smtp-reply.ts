/**
 * SMTP replies (RFC 5321 section 4.2) and their three-way outcome. Pure: no I/O.
 *
 * A reply is one or more lines sharing one three-digit code; every line but the last has a
 * hyphen after the code, the last a space (or nothing):
 *
 *   250-smtp.example.com greets you
 *   250-SIZE 35882577
 *   250 STARTTLS
 *
 * Servers that speak RFC 2034 (ENHANCEDSTATUSCODES) put an RFC 3463 status code `X.Y.Z` at the
 * start of the text of each line, e.g. `550 5.1.1 <x@example.com>: user unknown`.
 */

export type SmtpOutcome = "accepted" | "deferred" | "rejected";

export interface SmtpReply {
  /** The three-digit reply code. */
  code: number;
  /** RFC 3463 enhanced status code (`5.1.1`), or null when the server gave none. */
  enhancedCode: string | null;
  /** The text of every line, joined by a space, with the enhanced code taken off each line. */
  text: string;
  /** The text of each line as sent (after the code and separator), for EHLO keywords. */
  lines: string[];
}

export class SmtpReplyError extends Error {
  constructor(
    message: string,
    readonly line: string,
  ) {
    super(message);
    this.name = "SmtpReplyError";
  }
}

// RFC 5321 4.2: the first digit is 2-5, the second 0-5, the third 0-9. Anything else (a
// banner from something that is not an SMTP server, an HTTP response, garbage) is malformed.
const REPLY_LINE = /^([2-5][0-5][0-9])(?:([ -])(.*))?$/s;

// RFC 3463 section 2: class "." subject "." detail; class is 2, 4 or 5, subject and detail
// are one to three digits without leading zeros beyond "0" itself.
const ENHANCED_CODE = /^([245])\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})(?:\s+|$)/;

export interface ReplyLine {
  code: number;
  /** True for the last line of a reply (space or nothing after the code). */
  final: boolean;
  text: string;
}

/** Parses one reply line (without its CRLF). Throws SmtpReplyError when it is not one. */
export function parseReplyLine(line: string): ReplyLine {
  const match = REPLY_LINE.exec(line);
  if (!match) throw new SmtpReplyError(`malformed SMTP reply line: ${printable(line)}`, line);
  return { code: Number(match[1]), final: match[2] !== "-", text: match[3] ?? "" };
}

/**
 * Parses a whole reply: either its lines, or the raw text with CRLF (or LF) line ends.
 * Every line must carry the same code and only the last may be final (RFC 5321 4.2.1).
 */
export function parseReply(input: string | readonly string[]): SmtpReply {
  const rawLines = typeof input === "string" ? splitLines(input) : [...input];
  if (rawLines.length === 0) throw new SmtpReplyError("empty SMTP reply", "");
  const parsed = rawLines.map(parseReplyLine);
  const first = parsed[0]!;
  parsed.forEach((line, i) => {
    const raw = rawLines[i]!;
    if (line.code !== first.code) {
      throw new SmtpReplyError(`SMTP reply mixes codes ${first.code} and ${line.code}`, raw);
    }
    const last = i === parsed.length - 1;
    if (line.final !== last) {
      throw new SmtpReplyError(
        last ? "SMTP reply ends with a continuation line" : "SMTP reply has a final line before its end",
        raw,
      );
    }
  });

  const enhancedCode = enhancedCodeOf(first.code, first.text);
  const texts = parsed.map((line) => (enhancedCode === null ? line.text : stripEnhanced(first.code, line.text)));
  return {
    code: first.code,
    enhancedCode,
    text: texts
      .map((t) => t.trim())
      .filter((t) => t !== "")
      .join(" "),
    lines: parsed.map((line) => line.text),
  };
}

/**
 * The enhanced status code at the start of a reply text, or null. RFC 2034 section 3 requires
 * its class to equal the first digit of the reply code; one that does not is text, not a code.
 */
export function enhancedCodeOf(code: number, text: string): string | null {
  const match = ENHANCED_CODE.exec(text);
  if (!match) return null;
  if (Number(match[1]) !== Math.floor(code / 100)) return null;
  return `${match[1]}.${match[2]}.${match[3]}`;
}

/**
 * RFC 5321 4.2.1: 2yz is a positive completion, 4yz a transient failure (try again later),
 * 5yz a permanent failure. No reply at all (null), or a 1yz/3yz where a completion was due,
 * says nothing permanent either, so it is treated as transient.
 */
export function outcomeOf(code: number | null): SmtpOutcome {
  if (code === null) return "deferred";
  if (code >= 200 && code < 300) return "accepted";
  if (code >= 500 && code < 600) return "rejected";
  return "deferred";
}

/** EHLO keywords (RFC 5321 4.1.1.1): every line after the greeting, upper-cased keyword first. */
export function ehloCapabilities(reply: SmtpReply): Map<string, string[]> {
  const capabilities = new Map<string, string[]>();
  for (const line of reply.lines.slice(1)) {
    const [keyword, ...params] = line.trim().split(/\s+/);
    if (keyword) capabilities.set(keyword.toUpperCase(), params);
  }
  return capabilities;
}

function stripEnhanced(code: number, text: string): string {
  return enhancedCodeOf(code, text) === null ? text : text.replace(ENHANCED_CODE, "");
}

function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** A line as it may be shown in an error: quoted, control characters escaped, long lines cut. */
function printable(line: string): string {
  const quoted = JSON.stringify(line.length > 200 ? line.slice(0, 200) : line);
  return quoted.length > 120 ? `${quoted.slice(0, 117)}…"` : quoted;
}
