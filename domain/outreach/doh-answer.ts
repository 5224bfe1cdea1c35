import { z } from "zod";
import { operatorForMx, parseMxData, type MxRecord, type OperatorLabel } from "../mail/mail-operators";

/**
 * An MX lookup over DNS over HTTPS, JSON form (the API Cloudflare and Google serve at
 * /dns-query and /resolve): the request URL, and what an answer says about a domain's mail.
 * Pure: the fetch happens in workers/outreach/mx-tagging.ts.
 */

/** What a lookup found; the values of mail_domains.mx_status. */
export type MxLookupStatus = "ok" | "no_mx" | "nxdomain" | "error";

export interface MxLookup {
  status: MxLookupStatus;
  /** Exchange hosts, lower-cased without the root dot, most preferred first (RFC 5321 5.1). */
  mxHosts: string[];
  /** The receiving operator (domain/mail/mail-operators.ts); null unless status is "ok". */
  operator: OperatorLabel | null;
  /** For "error": the DNS RCODE or what went wrong. */
  detail?: string;
}

const MX_TYPE = 15;
/** RCODEs (RFC 1035 4.1.1). */
const NOERROR = 0;
const SERVFAIL = 2;
const NXDOMAIN = 3;

const dohAnswerSchema = z.object({
  Status: z.number().int().min(0),
  TC: z.boolean().optional(),
  Answer: z
    .array(z.object({ name: z.string(), type: z.number().int(), TTL: z.number().optional(), data: z.string() }))
    .optional(),
});

/** The MX query for `domain` at a JSON DoH endpoint (`?name=<domain>&type=MX`). */
export function mxQueryUrl(endpoint: string, domain: string): string {
  const url = new URL(endpoint);
  url.searchParams.set("name", domain);
  url.searchParams.set("type", "MX");
  return url.toString();
}

/** The Accept header that selects the JSON form (a bare RFC 8484 endpoint would answer in wire format). */
export const DOH_JSON_ACCEPT = "application/dns-json";

// A domain name DNS can hold (RFC 1035 2.3.4: labels of 1–63, 253 in all) with at least two labels.
const QUERYABLE = /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Whether `domain` (lower-case ASCII) can be looked up at all; a name that cannot has no mail. */
export function isQueryableDomain(domain: string): boolean {
  return QUERYABLE.test(domain);
}

/** A SERVFAIL may be the authority's momentary trouble: worth one more try, unlike NXDOMAIN. */
export function isTransientLookup(lookup: MxLookup): boolean {
  return lookup.status === "error" && lookup.detail === "SERVFAIL";
}

/**
 * Reads a DoH JSON answer to an MX question. Throws when the body is not one (a misconfigured
 * endpoint, an HTML error page): that is the resolver's failure, not a fact about the domain.
 *
 * - NOERROR with usable MX records → "ok", labelled from the most preferred usable host;
 * - NOERROR without MX records (NODATA), or only a null MX "0 ." (RFC 7505: the domain accepts
 *   no mail), or only unusable exchanges (address literals, garbage) → "no_mx". RFC 5321 5.1's
 *   fallback to the A record is deliberately not followed: a business domain without MX is not
 *   one to send campaign mail to;
 * - NXDOMAIN → "nxdomain";
 * - anything else (SERVFAIL, REFUSED, a truncated answer) → "error".
 */
export function parseDohMxAnswer(body: unknown): MxLookup {
  const parsed = dohAnswerSchema.safeParse(body);
  if (!parsed.success) throw new Error(`not a DNS-over-HTTPS JSON answer: ${parsed.error.issues[0]?.message ?? ""}`);
  const answer = parsed.data;
  if (answer.Status === NXDOMAIN) return { status: "nxdomain", mxHosts: [], operator: null };
  if (answer.Status !== NOERROR) {
    const detail = answer.Status === SERVFAIL ? "SERVFAIL" : `RCODE ${answer.Status}`;
    return { status: "error", mxHosts: [], operator: null, detail };
  }
  if (answer.TC === true) return { status: "error", mxHosts: [], operator: null, detail: "truncated" };

  // Only MX records: a CNAME chain in front of them (RFC 1034 3.6.2) comes as other types.
  const records: MxRecord[] = (answer.Answer ?? [])
    .filter((rr) => rr.type === MX_TYPE)
    .map((rr) => parseMxData(rr.data))
    .filter((r): r is MxRecord => r !== null)
    .map((r) => ({ preference: r.preference, exchange: r.exchange.trim().toLowerCase().replace(/\.$/, "") }))
    // The null MX's exchange is the root, "." (RFC 7505 3): it names no host.
    .filter((r) => r.exchange !== "")
    .sort((a, b) => a.preference - b.preference || (a.exchange < b.exchange ? -1 : a.exchange > b.exchange ? 1 : 0));
  const mxHosts = [...new Set(records.map((r) => r.exchange))];
  const operator = operatorForMx(records);
  if (operator === null) return { status: "no_mx", mxHosts, operator: null };
  return { status: "ok", mxHosts, operator };
}
