import { extractSmtpReply } from "../mail/smtp-outcome";

/**
 * Postfix delivery lines from syslog, parsed. Pure apart from aggregateKey's hashing.
 *
 * A delivery line is what a Postfix delivery agent logs per recipient and attempt
 * (postfix/smtp, lmtp, local, virtual, pipe, error):
 *
 *   Nov 21 10:00:01 mx1 postfix/smtp[1234]: 4BxYz1ab: to=<a@example.com>, relay=mx.example.com[192.0.2.10]:25,
 *     delay=1.2, delays=0.1/0.01/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 OK)
 *
 * The syslog header may be classic BSD (RFC 3164, no year), an ISO 8601 timestamp (rsyslog's
 * high-precision file format, journald's short-iso), or RFC 5424. The program is
 * `<syslog_name>/<service>`: `postfix/smtp`, a multi-instance `postfix-out01/smtp`, or a
 * master.cf transport with its own syslog_name, `postfix/hcout/smtp`.
 */

export type PostfixStatus = "sent" | "deferred" | "bounced" | "expired";

export interface PostfixDelivery {
  /** The line as given. */
  line: string;
  at: Date;
  /** The syslog host name. */
  host: string;
  /** The syslog_name: `postfix`, `postfix-out01`, `postfix/hcout`. */
  instance: string;
  /** The delivery agent: `smtp`, `lmtp`, `local`, `virtual`, `pipe`, `error`. */
  service: string;
  pid: number | null;
  queueId: string;
  recipient: string;
  /** Lower-cased domain of the recipient; "" for a bare local name. */
  recipientDomain: string;
  /** `orig_to=`, when an alias or virtual map rewrote the recipient. */
  originalRecipient: string | null;
  /** The relay host name; null for `relay=none`; `local`, `virtual`, ... for local transports. */
  relayHost: string | null;
  relayIp: string | null;
  relayPort: number | null;
  /** Seconds from arrival to this attempt. */
  delay: number;
  /** Postfix's delays= breakdown (before qmgr, in qmgr, connection setup, transmission), if logged. */
  delays: [number, number, number, number] | null;
  /** Postfix's RFC 3463 status code for this attempt (its own when the server gave none). */
  dsn: string;
  status: PostfixStatus;
  /** The text after status=, without its parentheses. */
  response: string;
  /** The remote server's reply code in the response, if any. */
  replyCode: number | null;
  /** The remote server's enhanced status code in the response, if any. */
  enhanced: string | null;
  /** From the configured map of instance or transport name to sending IP; undefined when unmapped. */
  sendingIp: string | undefined;
}

export type PostfixLogErrorKind = "header" | "timestamp" | "fields";

/** A line that looks like a delivery line but is not a well-formed one. */
export class PostfixLogParseError extends Error {
  constructor(
    message: string,
    readonly line: string,
    readonly kind: PostfixLogErrorKind,
  ) {
    super(message);
    this.name = "PostfixLogParseError";
  }
}

export interface PostfixLogOptions {
  /**
   * Classic syslog timestamps carry no year: each gets the year that puts it at or before this
   * instant (a day of slack allows for clock skew), so December lines read in January land in
   * the previous year. The caller's "now", or the log file's modification time.
   */
  referenceDate: Date;
  /** The logging host's offset from UTC in minutes, for timestamps that carry none. Default 0. */
  utcOffsetMinutes?: number;
  /**
   * Sending IP per Postfix instance or transport. Looked up by the full program
   * (`postfix/hcout/smtp`), then the syslog_name (`postfix/hcout`, `postfix-out01`, `postfix`),
   * then the syslog_name without its `postfix-`/`postfix/` prefix (`hcout`, `out01`).
   */
  sendingIps?: Readonly<Record<string, string>>;
}

const STATUSES: ReadonlySet<string> = new Set<PostfixStatus>(["sent", "deferred", "bounced", "expired"]);
// Address-verification probes (verify(8)) log to=... status=deliverable|undeliverable: nothing was sent.
const PROBE_STATUSES: ReadonlySet<string> = new Set(["deliverable", "undeliverable"]);

/**
 * Parses one log line (without its line terminator). Returns the delivery, or undefined for any
 * other line (connect, disconnect, qmgr, cleanup, smtpd, other programs). Throws
 * PostfixLogParseError for a line that carries `to=<...>` and `status=` but is malformed.
 */
export function parsePostfixLine(line: string, options: PostfixLogOptions): PostfixDelivery | undefined {
  const header = parseSyslogHeader(line, options);
  const message = header?.message ?? line;
  if (!looksLikeDelivery(message)) return undefined;
  if (header === null)
    throw new PostfixLogParseError("delivery line without a recognisable syslog header", line, "header");
  if (header.at === null) throw new PostfixLogParseError(`delivery line with an invalid timestamp`, line, "timestamp");

  const fields = parseDeliveryFields(message, line);
  if (fields === undefined) return undefined;
  const reply = extractReply(fields.response);
  return {
    line,
    at: header.at,
    host: header.host,
    instance: header.instance,
    service: header.service,
    pid: header.pid,
    ...fields,
    replyCode: reply.code,
    enhanced: reply.enhanced,
    sendingIp: sendingIpFor(header.instance, header.service, options.sendingIps),
  };
}

// A per-recipient line: "<queue id>: to=<" at the start of the message (no other Postfix line
// starts so), or to=<...> together with status= anywhere (a line whose header is damaged).
function looksLikeDelivery(message: string): boolean {
  return /^[0-9A-Za-z]{5,}: to=</.test(message) || (/\bto=</.test(message) && /\bstatus=/.test(message));
}

export interface PostfixLogParseResult {
  deliveries: PostfixDelivery[];
  errors: PostfixLogParseError[];
  /** Lines that are not delivery lines (including blank ones). */
  ignored: number;
}

/** Parses a whole log (text with LF or CRLF line ends, or lines), collecting errors instead of throwing. */
export function parsePostfixLog(input: string | Iterable<string>, options: PostfixLogOptions): PostfixLogParseResult {
  const lines = typeof input === "string" ? input.split(/\r?\n/) : input;
  const result: PostfixLogParseResult = { deliveries: [], errors: [], ignored: 0 };
  for (const raw of lines) {
    const line = raw.replace(/\r?\n$/, "").replace(/\r$/, "");
    if (line.trim() === "") {
      result.ignored++;
      continue;
    }
    try {
      const delivery = parsePostfixLine(line, options);
      if (delivery) result.deliveries.push(delivery);
      else result.ignored++;
    } catch (error) {
      if (error instanceof PostfixLogParseError) result.errors.push(error);
      else throw error;
    }
  }
  return result;
}

/**
 * A stable idempotency key for a log line: the SHA-256 of its UTF-8 bytes, hex. Recording it
 * under a unique constraint before counting makes re-posting the same log (or an overlapping
 * rotated file) a no-op. Pass the line exactly as parsed, without its terminator.
 */
export async function aggregateKey(line: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(line));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

interface SyslogHeader {
  at: Date | null;
  host: string;
  instance: string;
  service: string;
  pid: number | null;
  message: string;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// RFC 3164 4.1.2: "Mmm dd hh:mm:ss" (day space-padded), then HOSTNAME; some daemons add fractions.
const CLASSIC = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})? (\S+) (.*)$/s;
// ISO 8601 / RFC 3339: rsyslog RSYSLOG_FileFormat ("2026-11-21T10:00:01.123456+00:00"),
// journalctl -o short-iso ("2026-11-21T10:00:01+0000").
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)? (\S+) (.*)$/is;
// RFC 5424 6: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG].
const RFC5424 =
  /^<\d{1,3}>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]"\\]|\\.|"(?:[^"\\]|\\.)*")*\])+)(?: (.*))?$/s;
// The BSD TAG with an optional [pid], then ": " (RFC 3164 4.1.3).
const TAG = /^([^\s[\]:]+)(?:\[(\d+)\])?: (.*)$/s;

function parseSyslogHeader(line: string, options: PostfixLogOptions): SyslogHeader | null {
  const rfc5424 = RFC5424.exec(line);
  if (rfc5424) {
    const [, stamp, host, app, procid, , , msg] = rfc5424;
    const iso = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(stamp!);
    const at = iso ? isoDate(iso.slice(1, 9), options) : null;
    return withProgram(host!, app!, procid === "-" ? null : Number(procid), (msg ?? "").replace(/^\uFEFF/, ""), at);
  }

  const body = line.replace(/^<\d{1,3}>/, "");
  const iso = ISO.exec(body);
  if (iso) {
    const tag = TAG.exec(iso[10]!);
    if (!tag) return null;
    return withProgram(
      iso[9]!,
      tag[1]!,
      tag[2] === undefined ? null : Number(tag[2]),
      tag[3]!,
      isoDate(iso.slice(1, 9), options),
    );
  }

  const classic = CLASSIC.exec(body);
  if (classic) {
    const tag = TAG.exec(classic[7]!);
    if (!tag) return null;
    const [, mon, day, hh, mm, ss] = classic;
    const at = classicDate(MONTHS.indexOf(mon!), Number(day), Number(hh), Number(mm), Number(ss), options);
    return withProgram(classic[6]!, tag[1]!, tag[2] === undefined ? null : Number(tag[2]), tag[3]!, at);
  }
  return null;
}

function withProgram(
  host: string,
  program: string,
  pid: number | null,
  message: string,
  at: Date | null,
): SyslogHeader {
  const slash = program.lastIndexOf("/");
  const instance = slash < 0 ? program : program.slice(0, slash);
  const service = slash < 0 ? program : program.slice(slash + 1);
  return { at, host, instance, service, pid: pid !== null && Number.isSafeInteger(pid) ? pid : null, message };
}

/** [year, month, day, hour, minute, second, fraction?, zone?] as strings. */
function isoDate(parts: (string | undefined)[], options: PostfixLogOptions): Date | null {
  const [year, month, day, hour, minute, second, fraction, zone] = parts;
  const ms = fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1000);
  const offset = zone === undefined ? (options.utcOffsetMinutes ?? 0) : zoneOffsetMinutes(zone);
  return utcFromLocal(
    Number(year),
    Number(month) - 1,
    Number(day),
    Number(hour),
    Number(minute),
    Number(second),
    ms,
    offset,
  );
}

function zoneOffsetMinutes(zone: string): number {
  if (zone.toUpperCase() === "Z") return 0;
  const match = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
  const minutes = Number(match[2]) * 60 + Number(match[3] ?? 0);
  return match[1] === "-" ? -minutes : minutes;
}

const DAY_MS = 86_400_000;

function classicDate(
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  options: PostfixLogOptions,
): Date | null {
  if (month < 0) return null;
  const offsetMinutes = options.utcOffsetMinutes ?? 0;
  // The reference instant as the logging host's wall clock, held in UTC fields.
  const referenceLocal = options.referenceDate.getTime() + offsetMinutes * 60_000;
  if (!Number.isFinite(referenceLocal)) return null;
  let year = new Date(referenceLocal).getUTCFullYear();
  if (Date.UTC(year, month, day, hour, minute, second) > referenceLocal + DAY_MS) year -= 1;
  // Feb 29 in a year without one: the line is from the last leap year.
  if (month === 1 && day === 29) while (!isLeapYear(year)) year -= 1;
  return utcFromLocal(year, month, day, hour, minute, second, 0, offsetMinutes);
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** The instant for a wall-clock time at a UTC offset, or null if the fields are not a real time. */
function utcFromLocal(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
  offsetMinutes: number,
): Date | null {
  if (hour > 23 || minute > 59 || second > 60) return null;
  const local = new Date(Date.UTC(year, month, day, hour, minute, Math.min(second, 59), ms));
  if (local.getUTCFullYear() !== year || local.getUTCMonth() !== month || local.getUTCDate() !== day) return null;
  return new Date(local.getTime() - offsetMinutes * 60_000);
}

type DeliveryFields = Pick<
  PostfixDelivery,
  | "queueId"
  | "recipient"
  | "recipientDomain"
  | "originalRecipient"
  | "relayHost"
  | "relayIp"
  | "relayPort"
  | "delay"
  | "delays"
  | "dsn"
  | "status"
  | "response"
>;

// "<queue id>: to=<recipient>, " then key=value pairs up to status=. Queue ids are hex (short
// form) or the long form's base-52 alphabet; to=<> may not contain ">".
const DELIVERY = /^([0-9A-Za-z]{5,}): to=<([^>]*)>, (.*?)\bstatus=([A-Za-z]+)(.*)$/s;
const FIELD = /(\w+)=(<[^>]*>|[^,]*)(?:, |,?$)/gy;
const DSN = /^[245]\.\d{1,3}\.\d{1,3}$/;
const SECONDS = /^\d+(?:\.\d+)?$/;

function parseDeliveryFields(message: string, line: string): DeliveryFields | undefined {
  const fail = (why: string) => new PostfixLogParseError(`malformed delivery line: ${why}`, line, "fields");
  const match = DELIVERY.exec(message);
  if (!match) throw fail("expected '<queue id>: to=<recipient>, ... status=...'");
  const [, queueId, recipient, middle, status, after] = match;

  if (PROBE_STATUSES.has(status!)) return undefined;
  // soft_bounce=yes logs would-be bounces as SOFTBOUNCE and keeps them queued: a deferral.
  const normalisedStatus = status === "SOFTBOUNCE" ? "deferred" : status!;
  if (!STATUSES.has(normalisedStatus)) throw fail(`unknown status=${status}`);

  const fields = new Map<string, string>();
  FIELD.lastIndex = 0;
  const pairs = middle!.replace(/,\s*$/, "");
  while (FIELD.lastIndex < pairs.length) {
    const start = FIELD.lastIndex;
    const pair = FIELD.exec(pairs);
    if (!pair || FIELD.lastIndex === start) throw fail(`unparseable fields near "${pairs.slice(start, start + 40)}"`);
    fields.set(pair[1]!, pair[2]!.trim());
  }

  const relay = fields.get("relay");
  const delay = fields.get("delay");
  const dsn = fields.get("dsn");
  if (relay === undefined || relay === "") throw fail("missing relay=");
  if (delay === undefined || !SECONDS.test(delay)) throw fail("missing or invalid delay=");
  if (dsn === undefined || !DSN.test(dsn)) throw fail("missing or invalid dsn=");
  const delays = parseDelays(fields.get("delays"));
  if (delays === "invalid") throw fail("invalid delays=");

  const origTo = fields.get("orig_to");
  const at = recipient!.lastIndexOf("@");
  return {
    queueId: queueId!,
    recipient: recipient!,
    recipientDomain: at < 0 ? "" : recipient!.slice(at + 1).toLowerCase(),
    originalRecipient: origTo === undefined ? null : origTo.replace(/^<|>$/g, ""),
    ...parseRelay(relay),
    delay: Number(delay),
    delays,
    dsn,
    status: normalisedStatus as PostfixStatus,
    response: responseText(after!),
  };
}

function parseDelays(value: string | undefined): [number, number, number, number] | null | "invalid" {
  if (value === undefined) return null;
  const parts = value.split("/");
  if (parts.length !== 4 || !parts.every((p) => SECONDS.test(p))) return "invalid";
  return parts.map(Number) as [number, number, number, number];
}

// relay=host[ip]:port (IPv6 inside the brackets), relay=none, or a local transport's name
// (local, virtual, dovecot, private/dovecot-lmtp, host[private/socket]).
function parseRelay(relay: string): Pick<PostfixDelivery, "relayHost" | "relayIp" | "relayPort"> {
  if (relay === "none") return { relayHost: null, relayIp: null, relayPort: null };
  const match = /^([^[\]]+)\[([^\]]*)\](?::(\d+))?$/.exec(relay);
  if (!match) return { relayHost: relay, relayIp: null, relayPort: null };
  const ip = match[2]!;
  const isIp = /^[\d.]+$/.test(ip) || (ip.includes(":") && /^[0-9a-f:.]+$/i.test(ip));
  return {
    relayHost: match[1]!,
    relayIp: isIp ? ip : null,
    relayPort: match[3] === undefined ? null : Number(match[3]),
  };
}

/** " (text)" → "text"; ", returned to sender" → "returned to sender"; "" → "". */
function responseText(after: string): string {
  const trimmed = after.trim();
  const parenthesised = /^\((.*)\)$/s.exec(trimmed);
  if (parenthesised) return parenthesised[1]!.trim();
  return trimmed.replace(/^,\s*/, "");
}

// Postfix writes the remote reply after "host X[ip] said: " or "refused to talk to me: "; a
// status=sent response starts with it. Anything else (connect to ..., lost connection ...) has none.
function extractReply(response: string): { code: number | null; enhanced: string | null } {
  const said = /(?:\bsaid:|refused to talk to me:)\s*(.*)$/s.exec(response);
  return extractSmtpReply(said ? said[1]! : response);
}

function sendingIpFor(
  instance: string,
  service: string,
  map: Readonly<Record<string, string>> | undefined,
): string | undefined {
  if (map === undefined) return undefined;
  const stripped = instance.replace(/^postfix[-/]/, "");
  for (const key of [`${instance}/${service}`, instance, stripped]) {
    if (key !== "" && Object.hasOwn(map, key)) return map[key];
  }
  return undefined;
}
