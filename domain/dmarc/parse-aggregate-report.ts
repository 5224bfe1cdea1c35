import PostalMime from "postal-mime";
import { DecompressionBudget, extractZipMember, gunzip, isGzip, isZip, listZipMembers } from "./decompress";
import { parseAggregateXml } from "./report-xml";
import {
  DEFAULT_DMARC_LIMITS,
  DmarcParseError,
  type DmarcAggregateReport,
  type DmarcLimits,
  type DmarcParseFailure,
  type DmarcParseOutcome,
} from "./report-types";

export { DMARC_2_NAMESPACE, parseAggregateXml } from "./report-xml";
export * from "./report-types";

// Entry point: whatever a receiver mails to our rua= address (RFC 7489 §7.2.1.1: the report is
// XML, gzip'd or zip'd, usually attached to a message) → the aggregate reports inside it.

export interface DmarcInputOptions {
  /** Attachment or file name; only used for messages and sniffing e-mail, content decides. */
  filename?: string;
  contentType?: string;
  limits?: Partial<DmarcLimits>;
}

/** A message can hold archives that hold documents; nothing legitimate goes deeper. */
const MAX_DEPTH = 4;

interface Walk {
  limits: DmarcLimits;
  budget: DecompressionBudget;
  reports: DmarcAggregateReport[];
  failures: DmarcParseFailure[];
}

function firstNonSpace(b: Uint8Array): number {
  let i = 0;
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) i = 3;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0a || b[i] === 0x0d)) i++;
  return i;
}

function looksLikeEmail(b: Uint8Array, filename?: string, contentType?: string): boolean {
  if (/^message\/rfc822\b/i.test(contentType ?? "") || /\.eml$/i.test(filename ?? "")) return true;
  // RFC 5322 §2.2: a message starts with a header field, "Name: value".
  const head = String.fromCharCode(...b.subarray(0, 200));
  return /^(?:From [^\r\n]*\r?\n)?[!-9;-~]+:/.test(head);
}

/** Report attachments: by type, or by name when the type is generic (octet-stream). */
function isReportAttachment(mimeType: string, filename: string | null): boolean {
  if (/\.json(\.gz)?$/i.test(filename ?? "") || /tlsrpt/i.test(mimeType)) return false; // RFC 8460
  if (/^(application|text)\/(xml|gzip|x-gzip|gzip-compressed|zip|x-zip|x-zip-compressed)$/i.test(mimeType)) return true;
  return /\.(xml|xml\.gz|gz|zip)$/i.test(filename ?? "");
}

async function walkEmail(bytes: Uint8Array, source: string, depth: number, w: Walk): Promise<void> {
  const email = await PostalMime.parse(bytes, { attachmentEncoding: "arraybuffer", forceRfc822Attachments: true });
  const candidates = email.attachments.filter((a) => isReportAttachment(a.mimeType, a.filename));
  for (const a of candidates) {
    const content = typeof a.content === "string" ? new TextEncoder().encode(a.content) : new Uint8Array(a.content);
    const name = a.filename ?? a.mimeType;
    await walk(content, `${source} > ${name}`, depth + 1, w, a.filename ?? undefined, a.mimeType);
  }
  if (candidates.length > 0) return;
  // Some reporters put the XML in the body itself.
  if (email.text && /<(?:[\w.-]+:)?feedback[\s>]/.test(email.text)) {
    await walk(new TextEncoder().encode(email.text), `${source} > body`, depth + 1, w);
    return;
  }
  const types = email.attachments.map((a) => a.mimeType);
  const contentType = email.headers.find((h) => h.key === "content-type")?.value ?? "";
  let what = "no aggregate report attached";
  if (types.includes("message/feedback-report") || /report-type\s*=\s*"?feedback-report/i.test(contentType)) {
    what = "a DMARC failure (forensic) report (RFC 6591 feedback-report), not an aggregate report";
  } else if (/tlsrpt/i.test(contentType) || types.some((t) => /tlsrpt/i.test(t))) {
    what = "an SMTP TLS report (RFC 8460), not a DMARC aggregate report";
  }
  throw new DmarcParseError("not_a_report", `e-mail holds ${what}`);
}

async function walk(
  bytes: Uint8Array,
  source: string,
  depth: number,
  w: Walk,
  filename?: string,
  contentType?: string,
): Promise<void> {
  try {
    if (depth > MAX_DEPTH) throw new DmarcParseError("not_a_report", "archives nested too deeply");
    const start = firstNonSpace(bytes);
    if (start >= bytes.length) throw new DmarcParseError("not_a_report", "empty input");
    if (isGzip(bytes)) {
      await walk(gunzip(bytes, w.budget), source, depth + 1, w, filename?.replace(/\.gz$/i, ""));
      return;
    }
    if (isZip(bytes)) {
      const members = listZipMembers(bytes, w.limits).filter((m) => !/(^|\/)(__MACOSX\/|\._)/.test(m.name));
      if (members.length === 0) throw new DmarcParseError("not_a_report", "zip holds no files");
      for (const m of members) {
        // Decompression limits are shared by all members: once spent, every member fails.
        await walk(extractZipMember(bytes, m, w.budget), `${source} > ${m.name}`, depth + 1, w, m.name);
      }
      return;
    }
    const first = bytes[start];
    // "<" (or a UTF-16 BOM / "<" in UTF-16) starts an XML document.
    if (
      first === 0x3c ||
      (bytes[0] === 0xff && bytes[1] === 0xfe) ||
      (bytes[0] === 0xfe && bytes[1] === 0xff) ||
      (bytes[0] === 0 && bytes[1] === 0x3c)
    ) {
      w.reports.push(...parseAggregateXml(bytes));
      return;
    }
    if (first === 0x7b || first === 0x5b) {
      throw new DmarcParseError("not_a_report", "JSON (an SMTP TLS report, RFC 8460?), not a DMARC aggregate report");
    }
    if (depth === 0 && looksLikeEmail(bytes, filename, contentType)) {
      await walkEmail(bytes, source, depth, w);
      return;
    }
    throw new DmarcParseError("not_a_report", "neither XML, gzip, zip nor an e-mail");
  } catch (e) {
    if (!(e instanceof DmarcParseError)) throw e;
    // A spent budget means the input is a bomb: stop everything rather than try other parts.
    if (e.code === "too_large" || e.code === "too_many_members") throw e;
    w.failures.push({ source, error: e });
  }
}

/**
 * Parses bare XML, .xml.gz, .zip, or an e-mail carrying any of those (several attachments or
 * zip members give several reports). Resolves with every report found and the parts that
 * failed; rejects with a DmarcParseError when no report could be read at all, or at once when
 * a decompression limit is hit.
 */
export async function parseDmarcInput(
  input: Uint8Array | ArrayBuffer,
  options: DmarcInputOptions = {},
): Promise<DmarcParseOutcome> {
  const limits: DmarcLimits = { ...DEFAULT_DMARC_LIMITS, ...options.limits };
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (bytes.length > limits.maxInputBytes) {
    throw new DmarcParseError("too_large", `input is ${bytes.length} bytes; at most ${limits.maxInputBytes} accepted`);
  }
  const w: Walk = { limits, budget: new DecompressionBudget(limits), reports: [], failures: [] };
  const source = options.filename ?? "input";
  await walk(bytes, source, 0, w, options.filename, options.contentType);
  if (w.reports.length === 0) {
    const worst = w.failures.find((f) => f.error.code !== "not_a_report") ?? w.failures[0];
    if (!worst) throw new DmarcParseError("not_a_report", "no DMARC aggregate report found");
    if (w.failures.length === 1) throw worst.error;
    const e = worst.error;
    throw new DmarcParseError(e.code, `${worst.source}: ${e.message}`, e.inflatedBytes);
  }
  return { reports: w.reports, failures: w.failures };
}
