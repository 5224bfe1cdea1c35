import { sql } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import type { Db } from "../../db/client";
import { mxQueryUrl, parseDohMxAnswer } from "../../domain/outreach/doh-answer";
import { appConfig } from "../../workers/env";
import { tagUntaggedDomains, type MxTagOptions } from "../../workers/outreach/mx-tagging";
import { testEnv, withTestDb } from "../support/db";

/**
 * MX tagging against the local DNS-over-HTTPS resolver the global setup runs
 * (scripts/lib/doh-resolver.ts, zone test/fixtures/dns/zone.json), reached through
 * config.DOH_ENDPOINT exactly as the cron reaches Cloudflare's.
 */

const config = appConfig(testEnv);
let seq = 0;

beforeEach(async () => {
  await withTestDb((db) =>
    db.execute(sql`truncate mail_sends, prospects, mail_domains, excluded_domains restart identity cascade`),
  );
});

interface ProspectSeed {
  sendCount?: number;
  excludedBy?: string;
  /** A mail_sends row of this kind to the prospect's address. */
  sent?: "campaign" | "transactional";
}

/** An untagged mail_domains row per domain, with one prospect each (unsent unless said otherwise). */
async function seed(domains: string[], prospect: ProspectSeed = {}) {
  await withTestDb(async (db) => {
    for (const domain of domains) {
      await db.execute(sql`insert into mail_domains (domain) values (${domain}) on conflict (domain) do nothing`);
      await addProspect(db, domain, prospect);
    }
  });
}

async function addProspect(db: Db, domain: string, p: ProspectSeed = {}) {
  const n = ++seq;
  const email = `dispatch${n}@${domain}`;
  await db.execute(sql`insert into prospects (source, source_key, email, domain, fields, send_count, excluded_by)
    values ('fmcsa', ${String(2_000_000 + n)}, ${email}, ${domain}, '{}'::jsonb, ${p.sendCount ?? 0}, ${p.excludedBy ?? null})`);
  if (p.sent) {
    await db.execute(sql`insert into mail_sends (message_id, kind, recipient, status)
      values (${`<m${n}@send.docket.test>`}, ${p.sent}, ${email}, 'accepted')`);
  }
}

// A type alias, not an interface: db.execute wants a row type with an index signature.
type DomainRow = {
  domain: string;
  operator: string | null;
  mx_hosts: string[] | null;
  mx_status: string | null;
  tagged_at: string | null;
};

async function rows(): Promise<Map<string, DomainRow>> {
  return await withTestDb(async (db) => {
    const result = await db.execute<DomainRow>(
      sql`select domain, operator, mx_hosts, mx_status, tagged_at::text from mail_domains order by domain`,
    );
    return new Map(result.rows.map((r) => [r.domain, r]));
  });
}

async function tag(options: MxTagOptions = {}, cfg = config) {
  return await withTestDb((db) => tagUntaggedDomains(db, cfg, options));
}

/** Real fetch, counting lookups per domain and the most in flight at once. */
function countingFetcher() {
  const perDomain = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  const fetcher: typeof fetch = async (input, init) => {
    const domain = new URL(input instanceof Request ? input.url : String(input)).searchParams.get("name")!;
    perDomain.set(domain, (perDomain.get(domain) ?? 0) + 1);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      return await fetch(input, init);
    } finally {
      inFlight--;
    }
  };
  return {
    fetcher,
    perDomain,
    max: () => maxInFlight,
    total: () => [...perDomain.values()].reduce((a, b) => a + b, 0),
  };
}

const OPERATOR_FAMILIES: Record<string, string> = {
  "fleet-google.test": "google",
  "fleet-google-new.test": "google",
  "fleet-microsoft.test": "microsoft",
  "fleet-yahoo.test": "yahoo",
  "fleet-apple.test": "apple",
  "fleet-proofpoint.test": "proofpoint",
  "fleet-mimecast.test": "mimecast",
  "fleet-comcast.test": "comcast",
  "fleet-charter.test": "charter",
  "fleet-cox.test": "cox",
  "fleet-godaddy.test": "godaddy",
  "fleet-rackspace.test": "rackspace",
  "fleet-small.test": "mx:smallhost.test",
  "fleet-selfhosted.test": "mx:fleet-selfhosted.test",
  // The self-hosted MX is preferred (10) over the Google backup (20): mail goes there first.
  "fleet-backup-google.test": "mx:fleet-backup-google.test",
  "haulage.co.uk": "mx:haulage.co.uk",
  "gmail.com": "google",
  "yahoo.com": "yahoo",
  "aol.com": "yahoo",
  "icloud.com": "apple",
  "me.com": "apple",
  "hotmail.com": "microsoft",
  "outlook.com": "microsoft",
  "comcast.net": "comcast",
  "charter.net": "charter",
  // cxr.mx.a (Cox) and cxr.mx.b.cloudfilter.net at equal preference: the named operator wins.
  "cox.net": "cox",
};

describe("tagUntaggedDomains against the local DoH resolver", () => {
  it("labels every operator family from the MX hosts and writes them in one update", async () => {
    const domains = Object.keys(OPERATOR_FAMILIES);
    await seed(domains);
    const now = new Date("2026-03-02T02:15:00.000Z");
    let statements = 0;
    const report = await withTestDb((db) => {
      // Count the statements the run issues: one select, one update, whatever the number of domains.
      const counted = new Proxy(db, {
        get(target, prop, receiver) {
          if (prop === "execute") {
            return (query: Parameters<Db["execute"]>[0]) => {
              statements++;
              return target.execute(query);
            };
          }
          return Reflect.get(target, prop, receiver) as unknown;
        },
      });
      return tagUntaggedDomains(counted, config, { now });
    });
    expect(statements).toBe(2);
    expect(report.considered).toBe(domains.length);
    expect(report.tagged).toBe(domains.length);
    expect(report.byStatus).toEqual({ ok: domains.length });
    const expectedCounts: Record<string, number> = {};
    for (const op of Object.values(OPERATOR_FAMILIES)) expectedCounts[op] = (expectedCounts[op] ?? 0) + 1;
    expect(report.byOperator).toEqual(expectedCounts);

    const after = await rows();
    for (const [domain, operator] of Object.entries(OPERATOR_FAMILIES)) {
      const row = after.get(domain)!;
      expect({ domain, operator: row.operator, status: row.mx_status }).toEqual({ domain, operator, status: "ok" });
    }
    const taggedAt = new Set([...after.values()].map((r) => r.tagged_at && new Date(r.tagged_at).toISOString()));
    expect([...taggedAt]).toEqual([now.toISOString()]);
    // Hosts in preference order, without the root dot.
    expect(after.get("fleet-google.test")!.mx_hosts).toEqual([
      "aspmx.l.google.com",
      "alt1.aspmx.l.google.com",
      "alt2.aspmx.l.google.com",
      "alt3.aspmx.l.google.com",
      "alt4.aspmx.l.google.com",
    ]);
    expect(after.get("fleet-small.test")!.mx_hosts).toEqual(["mail.smallhost.test"]);
    expect(after.get("fleet-backup-google.test")!.mx_hosts).toEqual([
      "mx.fleet-backup-google.test",
      "aspmx.l.google.com",
    ]);
  });

  it("settles no MX, null MX and NXDOMAIN; leaves SERVFAIL untagged after one retry", async () => {
    const domains = [
      "fleet-nomx.test",
      "fleet-nullmx.test",
      "deadisp.test",
      "not-in-the-zone.test",
      "fleet-servfail.test",
      "brokendns.test",
      "localhost-only", // one label: not a name DNS could answer for
      "fleet-google.test",
    ];
    await seed(domains);
    const counting = countingFetcher();
    const report = await tag({ fetcher: counting.fetcher });
    expect(report).toMatchObject({
      considered: 8,
      tagged: 6,
      byStatus: { ok: 1, no_mx: 2, nxdomain: 3, error: 2 },
      byOperator: { google: 1 },
    });
    const after = await rows();
    const view = (d: string) => {
      const r = after.get(d)!;
      return { operator: r.operator, hosts: r.mx_hosts, status: r.mx_status, tagged: r.tagged_at !== null };
    };
    expect(view("fleet-nomx.test")).toEqual({ operator: null, hosts: [], status: "no_mx", tagged: true });
    // RFC 7505: "0 ." says the domain accepts no mail.
    expect(view("fleet-nullmx.test")).toEqual({ operator: null, hosts: [], status: "no_mx", tagged: true });
    expect(view("deadisp.test")).toEqual({ operator: null, hosts: null, status: "nxdomain", tagged: true });
    expect(view("not-in-the-zone.test")).toEqual({ operator: null, hosts: null, status: "nxdomain", tagged: true });
    expect(view("localhost-only")).toEqual({ operator: null, hosts: null, status: "nxdomain", tagged: true });
    expect(view("fleet-servfail.test")).toEqual({ operator: null, hosts: null, status: "error", tagged: false });
    expect(view("brokendns.test")).toEqual({ operator: null, hosts: null, status: "error", tagged: false });

    // SERVFAIL is tried twice; settled answers once; the malformed name never reaches the resolver.
    expect(counting.perDomain.get("fleet-servfail.test")).toBe(2);
    expect(counting.perDomain.get("brokendns.test")).toBe(2);
    expect(counting.perDomain.get("deadisp.test")).toBe(1);
    expect(counting.perDomain.get("fleet-google.test")).toBe(1);
    expect(counting.perDomain.has("localhost-only")).toBe(false);

    // The failed ones stay candidates: the next run looks them up again, and only them.
    const again = countingFetcher();
    const second = await tag({ fetcher: again.fetcher });
    expect(second).toMatchObject({ considered: 2, tagged: 0, byStatus: { error: 2 } });
    expect([...again.perDomain.keys()].sort()).toEqual(["brokendns.test", "fleet-servfail.test"]);
  });

  it("retries a transient failure once, and records a lookup that keeps timing out as an error", async () => {
    await seed(["fleet-yahoo.test", "fleet-microsoft.test"]);
    const calls = new Map<string, number>();
    // fleet-yahoo.test: the first attempt hits a network error, the retry gets through.
    // fleet-microsoft.test: every attempt hangs until its timeout aborts it.
    const fetcher: typeof fetch = async (input, init) => {
      const domain = new URL(String(input)).searchParams.get("name")!;
      const n = (calls.get(domain) ?? 0) + 1;
      calls.set(domain, n);
      if (domain === "fleet-yahoo.test" && n === 1) throw new TypeError("Network connection lost.");
      if (domain === "fleet-microsoft.test") {
        const signal = init?.signal;
        expect(signal).toBeInstanceOf(AbortSignal);
        return await new Promise<Response>((_, reject) =>
          signal!.addEventListener("abort", () => reject(signal!.reason as Error)),
        );
      }
      return await fetch(input, init);
    };
    const started = Date.now();
    const report = await tag({ fetcher, timeoutMs: 200 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(report).toMatchObject({ considered: 2, tagged: 1, byStatus: { ok: 1, error: 1 }, byOperator: { yahoo: 1 } });
    expect(Object.fromEntries(calls)).toEqual({ "fleet-yahoo.test": 2, "fleet-microsoft.test": 2 });
    const after = await rows();
    expect(after.get("fleet-yahoo.test")).toMatchObject({ operator: "yahoo", mx_status: "ok" });
    expect(after.get("fleet-microsoft.test")).toMatchObject({ operator: null, mx_status: "error", tagged_at: null });

    // A later run with a working resolver tags it.
    const later = await tag();
    expect(later).toMatchObject({ considered: 1, tagged: 1, byOperator: { microsoft: 1 } });
    expect((await rows()).get("fleet-microsoft.test")).toMatchObject({ operator: "microsoft", mx_status: "ok" });
  });

  it("keeps at most MX_TAG_CONCURRENCY lookups in flight", async () => {
    const domains = Object.keys(OPERATOR_FAMILIES);
    await seed(domains);
    const counting = countingFetcher();
    const report = await tag({ fetcher: counting.fetcher }, { ...config, MX_TAG_CONCURRENCY: 3 });
    expect(report.tagged).toBe(domains.length);
    expect(counting.total()).toBe(domains.length);
    // Three workers start together, so the bound is reached, and never passed.
    expect(counting.max()).toBe(3);

    await withTestDb((db) => db.execute(sql`update mail_domains set tagged_at = null, operator = null`));
    const serial = countingFetcher();
    await tag({ fetcher: serial.fetcher }, { ...config, MX_TAG_CONCURRENCY: 1 });
    expect(serial.max()).toBe(1);
    expect(serial.total()).toBe(domains.length);
  });

  it("considers only untagged domains that have a prospect still to mail", async () => {
    await seed(["fleet-google.test"]); // unsent: considered
    await seed(["fleet-microsoft.test"], { sendCount: 1 }); // mailed already
    await seed(["fleet-yahoo.test"], { sent: "campaign" }); // a campaign send exists for the address
    await seed(["fleet-apple.test"], { sent: "transactional" }); // transactional mail does not count
    await seed(["fleet-proofpoint.test"], { excludedBy: "consumer" }); // scrubbed prospect
    await seed(["fleet-mimecast.test"]); // its domain is on an exclusion list
    await seed(["fleet-comcast.test"], { sendCount: 2 }); // one mailed prospect, and one unsent:
    await withTestDb(async (db) => {
      await addProspect(db, "fleet-comcast.test");
      await db.execute(sql`insert into excluded_domains (domain, list) values ('fleet-mimecast.test', 'test')`);
      await db.execute(sql`insert into mail_domains (domain) values ('fleet-rackspace.test')`); // no prospects
      await db.execute(sql`insert into mail_domains (domain, operator, mx_status, tagged_at)
        values ('fleet-small.test', 'mx:old.test', 'ok', '2026-01-01T00:00:00Z')`);
      await addProspect(db, "fleet-small.test"); // unsent, but its domain is tagged already
    });
    const counting = countingFetcher();
    const report = await tag({ fetcher: counting.fetcher });
    expect([...counting.perDomain.keys()].sort()).toEqual([
      "fleet-apple.test",
      "fleet-comcast.test",
      "fleet-google.test",
    ]);
    expect(report).toMatchObject({ considered: 3, tagged: 3, byOperator: { google: 1, apple: 1, comcast: 1 } });
    const after = await rows();
    for (const d of ["fleet-microsoft.test", "fleet-yahoo.test", "fleet-proofpoint.test", "fleet-mimecast.test"]) {
      expect(after.get(d)).toMatchObject({ operator: null, mx_status: null, tagged_at: null });
    }
    expect(after.get("fleet-rackspace.test")).toMatchObject({ tagged_at: null });
    expect(after.get("fleet-small.test")).toMatchObject({ operator: "mx:old.test" });
  });

  it("respects the limit (config.MX_TAG_DAILY_LIMIT by default), never-tried domains first", async () => {
    const domains = ["fleet-google.test", "fleet-microsoft.test", "fleet-yahoo.test", "fleet-apple.test"];
    await seed(domains);
    // An earlier failed lookup: it waits behind the never-tried domains.
    await seed(["a-failed-before.test"]);
    await withTestDb((db) =>
      db.execute(sql`update mail_domains set mx_status = 'error' where domain = 'a-failed-before.test'`),
    );

    const first = await tag({}, { ...config, MX_TAG_DAILY_LIMIT: 2 });
    expect(first).toMatchObject({ considered: 2, tagged: 2 });
    expect((await rows()).get("a-failed-before.test")).toMatchObject({ mx_status: "error", tagged_at: null });
    const second = await tag({ limit: 3 });
    // The two never-tried domains left, then the one that failed before (not in the zone: NXDOMAIN).
    expect(second).toMatchObject({ considered: 3, tagged: 3, byStatus: { ok: 2, nxdomain: 1 } });
    const after = await rows();
    expect([...after.values()].filter((r) => r.tagged_at !== null)).toHaveLength(5);
    expect(after.get("a-failed-before.test")).toMatchObject({ mx_status: "nxdomain" });
  });

  it("is idempotent: a second run finds nothing new and changes nothing", async () => {
    await seed(["fleet-google.test", "fleet-small.test", "deadisp.test"]);
    const first = await tag({ now: new Date("2026-03-01T02:15:00Z") });
    expect(first).toMatchObject({ considered: 3, tagged: 3 });
    const before = await rows();
    const counting = countingFetcher();
    const second = await tag({ fetcher: counting.fetcher, now: new Date("2026-03-02T02:15:00Z") });
    expect(second).toMatchObject({ considered: 0, tagged: 0, byOperator: {}, byStatus: {} });
    expect(counting.total()).toBe(0);
    expect(await rows()).toEqual(before);
  });
});

describe("the local DoH resolver", () => {
  const endpoint = config.DOH_ENDPOINT;
  const ask = (query: string, accept = "application/dns-json") =>
    fetch(`${endpoint}?${query}`, { headers: { accept } });

  it("answers like Cloudflare's JSON API", async () => {
    const res = await ask("name=fleet-small.test&type=MX");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/dns-json");
    expect(await res.json()).toEqual({
      Status: 0,
      TC: false,
      RD: true,
      RA: true,
      AD: false,
      CD: false,
      Question: [{ name: "fleet-small.test.", type: 15 }],
      Answer: [{ name: "fleet-small.test.", type: 15, TTL: 300, data: "10 mail.smallhost.test." }],
    });
    expect(((await (await ask("name=deadisp.test&type=MX")).json()) as { Status: number }).Status).toBe(3);
    expect(((await (await ask("name=brokendns.test&type=MX")).json()) as { Status: number }).Status).toBe(2);
    expect(((await (await ask("name=unlisted.example&type=15")).json()) as { Status: number }).Status).toBe(3);
  });

  it("refuses a bad query with 400", async () => {
    for (const query of ["type=MX", "name=a..b&type=MX", "name=fleet-small.test&type=NOPE"]) {
      const res = await ask(query);
      expect(res.status, query).toBe(400);
      await res.body?.cancel();
    }
    const wire = await ask("name=fleet-small.test&type=MX", "application/dns-message");
    expect(wire.status).toBe(400);
    await wire.body?.cancel();
  });
});

describe("parseDohMxAnswer", () => {
  it("builds the query URL on the configured endpoint", () => {
    expect(mxQueryUrl("https://cloudflare-dns.com/dns-query", "fleet-small.test")).toBe(
      "https://cloudflare-dns.com/dns-query?name=fleet-small.test&type=MX",
    );
  });

  it("reads MX records only, by preference, past a CNAME", () => {
    expect(
      parseDohMxAnswer({
        Status: 0,
        Answer: [
          { name: "a.test.", type: 5, TTL: 60, data: "b.test." },
          { name: "b.test.", type: 15, TTL: 60, data: "20 ALT.Example.NET." },
          { name: "b.test.", type: 15, TTL: 60, data: "10 mx.b.test." },
        ],
      }),
    ).toEqual({ status: "ok", mxHosts: ["mx.b.test", "alt.example.net"], operator: "mx:b.test" });
  });

  it("treats unusable exchanges as no MX, other RCODEs and truncation as errors, and refuses a non-answer", () => {
    expect(parseDohMxAnswer({ Status: 0, Answer: [{ name: "x.", type: 15, data: "10 192.0.2.1" }] })).toMatchObject({
      status: "no_mx",
      mxHosts: ["192.0.2.1"],
      operator: null,
    });
    expect(parseDohMxAnswer({ Status: 5 })).toMatchObject({ status: "error", detail: "RCODE 5" });
    expect(parseDohMxAnswer({ Status: 0, TC: true })).toMatchObject({ status: "error", detail: "truncated" });
    expect(() => parseDohMxAnswer("<html>Bad gateway</html>")).toThrow(/not a DNS-over-HTTPS JSON answer/);
  });
});
