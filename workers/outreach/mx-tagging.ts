import { sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import type { AppConfig } from "../../domain/config/app-config";
import {
  DOH_JSON_ACCEPT,
  isQueryableDomain,
  isTransientLookup,
  mxQueryUrl,
  parseDohMxAnswer,
  type MxLookup,
  type MxLookupStatus,
} from "../../domain/outreach/doh-answer";

/**
 * MX tagging (issue 6 item 3): untagged mail domains that still have someone to mail are
 * resolved over DNS over HTTPS (config.DOH_ENDPOINT) and labelled with their receiving operator,
 * so the audience build can cap and throttle per operator.
 *
 * - Which: up to `limit` (config.MX_TAG_DAILY_LIMIT) domains with tagged_at null that have an
 *   unsent prospect (send_count 0, no campaign send to the address, not excluded) and are not on
 *   an exclusion list (we would never mail them, so a lookup is wasted). Never-tried domains come
 *   before ones whose last lookup failed.
 * - How: config.MX_TAG_CONCURRENCY lookups in flight at most, workers pulling from one list; each
 *   lookup has a timeout, and a transient failure (timeout, network error, HTTP 5xx/429,
 *   SERVFAIL) is tried once more.
 * - Written: every result in ONE set-based UPDATE (arrays through unnest), whatever the count.
 *
 * A lookup that still fails is recorded as mx_status 'error' with tagged_at left null: the
 * domain stays untagged (so the audience build treats it as untagged and caps it), does not
 * block the others, and is tried again on a later run, after the never-tried domains.
 */

export interface MxTagOptions {
  /** Most domains to look up in this run; config.MX_TAG_DAILY_LIMIT by default. */
  limit?: number;
  /** Recorded as tagged_at; the current time by default (the cron passes its scheduled time). */
  now?: Date;
  /** The HTTP client; global fetch by default. Tests wrap it to count or break lookups. */
  fetcher?: typeof fetch;
  /** Per lookup attempt. */
  timeoutMs?: number;
}

export interface MxTagReport {
  /** Domains selected and looked up. */
  considered: number;
  /** Domains now tagged (status ok, no_mx or nxdomain); errors stay untagged. */
  tagged: number;
  /** Tagged domains per operator label (status ok). */
  byOperator: Record<string, number>;
  byStatus: Partial<Record<MxLookupStatus, number>>;
  ms: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;

export async function tagUntaggedDomains(db: Db, config: AppConfig, options: MxTagOptions = {}): Promise<MxTagReport> {
  const started = Date.now();
  const limit = options.limit ?? config.MX_TAG_DAILY_LIMIT;
  const fetcher = options.fetcher ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const now = options.now ?? new Date();

  const domains = await untaggedDomainsToLookUp(db, limit);
  const lookups = await mapBounded(domains, config.MX_TAG_CONCURRENCY, (domain) =>
    lookUpMx(fetcher, config.DOH_ENDPOINT, domain, timeoutMs),
  );
  const tagged = await recordLookups(db, domains, lookups, now);

  const byOperator: Record<string, number> = {};
  const byStatus: Partial<Record<MxLookupStatus, number>> = {};
  for (const lookup of lookups) {
    byStatus[lookup.status] = (byStatus[lookup.status] ?? 0) + 1;
    if (lookup.operator !== null) byOperator[lookup.operator] = (byOperator[lookup.operator] ?? 0) + 1;
  }
  return { considered: domains.length, tagged, byOperator, byStatus, ms: Date.now() - started };
}

async function untaggedDomainsToLookUp(db: Db, limit: number): Promise<string[]> {
  const result = await db.execute<{ domain: string }>(sql`
    select d.domain
    from mail_domains d
    where d.tagged_at is null
      and not exists (select 1 from excluded_domains e where e.domain = d.domain)
      and exists (
        select 1 from prospects p
        where p.domain = d.domain and p.send_count = 0 and p.excluded_by is null
          and not exists (select 1 from mail_sends s where s.recipient = p.email and s.kind = 'campaign'))
    order by d.mx_status is not null, d.domain
    limit ${limit}`);
  return result.rows.map((r) => r.domain);
}

/** Runs `fn` over `items` with at most `concurrency` calls in flight; results in input order. */
async function mapBounded<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

interface Attempt {
  lookup: MxLookup;
  transient: boolean;
}

const failed = (detail: string, transient: boolean): Attempt => ({
  lookup: { status: "error", mxHosts: [], operator: null, detail },
  transient,
});

async function lookUpMx(fetcher: typeof fetch, endpoint: string, domain: string, timeoutMs: number): Promise<MxLookup> {
  // A name DNS cannot hold has no records, and never will: settled like NXDOMAIN, not retried daily.
  if (!isQueryableDomain(domain)) return { status: "nxdomain", mxHosts: [], operator: null, detail: "not a DNS name" };
  const first = await attemptLookup(fetcher, endpoint, domain, timeoutMs);
  if (!first.transient) return first.lookup;
  return (await attemptLookup(fetcher, endpoint, domain, timeoutMs)).lookup;
}

async function attemptLookup(
  fetcher: typeof fetch,
  endpoint: string,
  domain: string,
  timeoutMs: number,
): Promise<Attempt> {
  let response: Response;
  try {
    response = await fetcher(mxQueryUrl(endpoint, domain), {
      headers: { accept: DOH_JSON_ACCEPT },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    return failed(name === "TimeoutError" ? "timeout" : `fetch failed: ${String(error)}`, true);
  }
  if (!response.ok) {
    // Free the connection for the next lookup.
    await response.body?.cancel();
    return failed(`HTTP ${response.status}`, response.status >= 500 || response.status === 429);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    const timedOut = error instanceof Error && error.name === "TimeoutError";
    return failed(timedOut ? "timeout" : "the answer is not JSON", timedOut);
  }
  try {
    const lookup = parseDohMxAnswer(body);
    return { lookup, transient: isTransientLookup(lookup) };
  } catch (error) {
    return failed(error instanceof Error ? error.message : String(error), false);
  }
}

/** One UPDATE for the whole run; returns how many domains it tagged. */
async function recordLookups(db: Db, domains: string[], lookups: MxLookup[], now: Date): Promise<number> {
  if (domains.length === 0) return 0;
  // mx_hosts travels as one space-joined string per domain (host names hold no spaces):
  // unnest would flatten a two-dimensional text[][] parameter into one column.
  const hosts = lookups.map((l) => (l.status === "ok" || l.status === "no_mx" ? l.mxHosts.join(" ") : null));
  const result = await db.execute<{ tagged: boolean }>(sql`
    update mail_domains d
    set operator = v.operator,
        mx_hosts = string_to_array(v.hosts, ' '),
        mx_status = v.status,
        tagged_at = case when v.status = 'error' then null else ${now.toISOString()}::timestamptz end
    from unnest(${sql.param(domains)}::text[], ${sql.param(lookups.map((l) => l.operator))}::text[],
                ${sql.param(hosts)}::text[], ${sql.param(lookups.map((l) => l.status))}::text[])
      as v(domain, operator, hosts, status)
    where d.domain = v.domain and d.tagged_at is null
    returning d.tagged_at is not null as tagged`);
  return result.rows.filter((r) => r.tagged).length;
}
