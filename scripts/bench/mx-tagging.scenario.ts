import { fileURLToPath } from "node:url";
import { startDohResolver, type DohZone } from "../lib/doh-resolver";
import { freePort } from "../lib/free-port";
import {
  adminAuthorization,
  loadResultFrom,
  pool,
  requestJson,
  runTag,
  withPostgres,
  type ScenarioOutcome,
  type StackScenario,
} from "./stack-scenario";

/**
 * Issue 6's MX-tagging figure: domains per second tagged by the Worker against the local
 * DNS-over-HTTPS resolver (scripts/lib/doh-resolver.ts). MX_TAG_DOMAINS fresh domains, each with
 * an unsent prospect, are resolved by POST /api/admin/outreach/mx-tag (what the daily cron runs):
 * the selection query, MX_TAG_CONCURRENCY lookups in flight through workerd's fetch, parsing and
 * labelling, and the one set-based UPDATE.
 *
 * The resolver is this scenario's own, started on a port fixed before the stack starts (the
 * Worker's DOH_ENDPOINT, through stackConfig), answering from the fixture zone plus a generated
 * zone for the bench domains, so the expected label of every domain is known and checked.
 * A second row times the same lookups straight from Node at the same concurrency: the resolver's
 * own ceiling, to read the Worker's figure against.
 */

export const MX_TAG_DOMAINS = 5_000;
const CONCURRENCY = 16;
const DOH_PORT = await freePort();
const FIXTURE_ZONE = fileURLToPath(new URL("../../test/fixtures/dns/zone.json", import.meta.url));

/** The receiving-operator mix of the generated domains, by weight (FMCSA carriers' custom domains). */
const MIX: { weight: number; mx: (domain: string, i: number) => [number, string][] | null; operator: string | null }[] =
  [
    {
      weight: 30,
      mx: () => [
        [1, "aspmx.l.google.com"],
        [5, "alt1.aspmx.l.google.com"],
      ],
      operator: "google",
    },
    { weight: 25, mx: (d) => [[0, `${d.replaceAll(".", "-")}.mail.protection.outlook.com`]], operator: "microsoft" },
    { weight: 5, mx: () => [[10, "mx-biz.mail.am0.yahoodns.net"]], operator: "yahoo" },
    {
      weight: 6,
      mx: () => [
        [0, "smtp.secureserver.net"],
        [10, "mailstore1.secureserver.net"],
      ],
      operator: "godaddy",
    },
    { weight: 3, mx: () => [[10, "mx0a-00123401.pphosted.com"]], operator: "proofpoint" },
    { weight: 18, mx: (d) => [[10, `mx.${d}`]], operator: "self" },
    { weight: 8, mx: (_d, i) => [[10, `mail.smallhost${i % 40}.test`]], operator: "small" },
    { weight: 3, mx: () => null, operator: "nxdomain" },
    { weight: 2, mx: () => [], operator: "no_mx" },
  ];

interface Planned {
  domain: string;
  /** The label the Worker must write, or the status for a domain without one. */
  expected: { operator: string | null; status: string };
}

function plan(tag: string): { domains: Planned[]; zone: DohZone } {
  const total = MIX.reduce((n, m) => n + m.weight, 0);
  const zone: DohZone = {};
  const domains: Planned[] = [];
  for (let i = 0; i < MX_TAG_DOMAINS; i++) {
    const domain = `mxb${i}-${tag}.test`;
    let pick = (i * 37) % total;
    const entry = MIX.find((m) => (pick -= m.weight) < 0)!;
    const mx = entry.mx(domain, i);
    if (mx === null) {
      zone[domain] = { rcode: "NXDOMAIN" };
      domains.push({ domain, expected: { operator: null, status: "nxdomain" } });
    } else {
      zone[domain] = { mx };
      const operator =
        entry.operator === "self"
          ? `mx:${domain}`
          : entry.operator === "small"
            ? `mx:smallhost${i % 40}.test`
            : entry.operator === "no_mx"
              ? null
              : entry.operator;
      domains.push({ domain, expected: { operator, status: operator === null ? "no_mx" : "ok" } });
    }
  }
  return { domains, zone };
}

interface TagReport {
  considered: number;
  tagged: number;
  byOperator: Record<string, number>;
  byStatus: Record<string, number>;
  ms: number;
}

export const mxTaggingScenario: StackScenario = {
  name: "mx-tag",
  path: "POST /api/admin/outreach/mx-tag",
  description: `${MX_TAG_DOMAINS.toLocaleString("en-US")} domains resolved over DoH against the local resolver, labelled and written in one update`,
  stackConfig: {
    DOH_ENDPOINT: `http://127.0.0.1:${DOH_PORT}/dns-query`,
    MX_TAG_CONCURRENCY: String(CONCURRENCY),
  },
  async run(ctx): Promise<ScenarioOutcome> {
    const tag = runTag()
      .toLowerCase()
      .replace(/[^a-z0-9]/g, "");
    const { domains, zone } = plan(tag);
    const resolver = await startDohResolver({ port: DOH_PORT, zoneFiles: [FIXTURE_ZONE], zone });
    try {
      const authorization = await adminAuthorization(ctx);
      ctx.log(`mx-tag: seeding ${MX_TAG_DOMAINS} untagged domains with an unsent prospect each`);
      const pending = await withPostgres(ctx.databaseUrl, async (client) => {
        const names = domains.map((d) => d.domain);
        await client.query(`insert into mail_domains (domain) select unnest($1::text[]) on conflict do nothing`, [
          names,
        ]);
        await client.query(
          `insert into prospects (source, source_key, email, domain, fields)
           select 'fmcsa', 'mxbench-' || $2 || '-' || n, 'dispatch@' || d, d, '{}'::jsonb
           from unnest($1::text[]) with ordinality as t(d, n)`,
          [names, tag],
        );
        // Everything the run will look up: ours, and whatever else is untagged on this stack.
        const result = await client.query<{ n: string }>(
          `select count(*)::text as n from mail_domains where tagged_at is null`,
        );
        return Number(result.rows[0]!.n);
      });

      ctx.log(`mx-tag: tagging ${pending} domains through the Worker (MX_TAG_CONCURRENCY ${CONCURRENCY})`);
      const t0 = performance.now();
      const res = await requestJson<TagReport>(`${ctx.workerUrl}/api/admin/outreach/mx-tag?limit=${pending}`, {
        method: "POST",
        headers: { authorization },
      });
      const wallMs = performance.now() - t0;
      if (res.status !== 200) throw new Error(`POST /api/admin/outreach/mx-tag answered ${res.status}: ${res.text}`);
      const report = res.body;

      // What was written, domain by domain, against the plan.
      const written = await withPostgres(ctx.databaseUrl, async (client) => {
        const result = await client.query<{
          domain: string;
          operator: string | null;
          mx_status: string | null;
          tagged_at: string | null;
        }>(`select domain, operator, mx_status, tagged_at::text from mail_domains where domain = any($1::text[])`, [
          domains.map((d) => d.domain),
        ]);
        return new Map(result.rows.map((r) => [r.domain, r]));
      });
      const wrong = domains.filter((d) => {
        const row = written.get(d.domain);
        return !row || row.operator !== d.expected.operator || row.mx_status !== d.expected.status || !row.tagged_at;
      });
      const taggedAt = new Set([...written.values()].map((r) => r.tagged_at));

      // The resolver's own ceiling: the same lookups from Node, at the same concurrency.
      const direct: number[] = [];
      const d0 = performance.now();
      await pool(domains, CONCURRENCY, async ({ domain }) => {
        const s = performance.now();
        const r = await fetch(`${resolver.url}?name=${domain}&type=MX`, {
          headers: { accept: "application/dns-json" },
        });
        await r.json();
        direct.push(performance.now() - s);
      });
      const directMs = performance.now() - d0;

      const workerRate = report.ms > 0 ? (report.considered * 1000) / report.ms : Number.NaN;
      return {
        name: "mx-tag",
        rows: [
          {
            name: "mx-tag",
            path: "POST /api/admin/outreach/mx-tag",
            description: "domains tagged per second (req/s column = domains/s over the request's wall time)",
            result: loadResultFrom({
              latenciesMs: [wallMs],
              wallMs,
              requests: report.considered,
              statusCodes: { [res.status]: 1 },
              connectionErrors: 0,
            }),
          },
          {
            name: "mx-tag-resolver-alone",
            path: "GET /dns-query (from Node)",
            description: `the same ${MX_TAG_DOMAINS} lookups straight to the resolver, ${CONCURRENCY} at a time`,
            result: loadResultFrom({
              latenciesMs: direct,
              wallMs: directMs,
              statusCodes: { 200: direct.length },
              connectionErrors: 0,
            }),
          },
        ],
        notes: [
          `mx-tag: ${report.considered} domains in ${(wallMs / 1000).toFixed(2)} s wall, ${report.ms} ms inside the Worker ` +
            `(${workerRate.toFixed(0)} domains/s); resolver alone from Node: ${((domains.length * 1000) / directMs).toFixed(0)} lookups/s`,
          `mx-tag: by status ${JSON.stringify(report.byStatus)}`,
        ],
        checks: [
          {
            name: "every bench domain got its expected label",
            pass: wrong.length === 0,
            summary: wrong.length === 0 ? `${domains.length} right` : `${wrong.length} wrong, e.g. ${wrong[0]!.domain}`,
          },
          {
            name: "one update (one tagged_at for all)",
            pass: taggedAt.size === 1,
            summary: `${taggedAt.size} distinct tagged_at values`,
          },
          {
            name: "no lookup failed",
            pass: (report.byStatus.error ?? 0) === 0,
            summary: `${report.byStatus.error ?? 0} errors`,
          },
        ],
        detail: { report, wallMs, directMs, pending },
      };
    } finally {
      await resolver.stop();
    }
  },
};
