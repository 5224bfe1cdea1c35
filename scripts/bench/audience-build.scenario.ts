import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import type { Db } from "../../db/client";
import * as schema from "../../db/schema";
import { loadAppConfig } from "../../domain/config/app-config";
import { operatorForMx } from "../../domain/mail/mail-operators";
import { buildAudience, type AudienceReport } from "../../workers/outreach/build-audience";
import { generateFmcsa } from "../cli/generate-fmcsa";
import { importFmcsa } from "../cli/import-fmcsa";
import { scrub } from "../cli/scrub";
import { REPO_ROOT } from "../lib/stack-layout";
import { loadResultFrom, withPostgres, type ScenarioOutcome, type StackScenario } from "./stack-scenario";

/**
 * Issue 6's audience-build figure: the daily build over 1.5 million synthetic prospects, for a
 * 20,000-recipient day.
 *
 * Data, once per bench data directory: `docket generate fmcsa --rows 1500000 --seed bench-6`
 * (consumer mailboxes, custom domains at Google/Microsoft/Yahoo/small hosts/gateways, dead ISPs,
 * shared fleet mailboxes) imported with `docket import fmcsa`; verification results spread the
 * way a verified list looks (a hash of the address picks one); every domain tagged with the
 * operator its generated MX hosts give (the same labelling as the MX tagger); the shipped
 * exclusion lists loaded. The import's own speed is reported when it runs.
 *
 * Measured: `buildAudience` (the Worker's module, here over node-postgres against the stack's
 * Postgres) for one running campaign with a quota of 20,000, as a dry run (counts per reason)
 * and as the real build (INSERT … SELECT), three times each, median reported. Its enqueue is
 * captured, not sent, and the rows are deleted after each real build, so nothing is mailed.
 * Baseline in the same run: the candidate join alone (prospects ⋈ email_addresses ⋈
 * mail_domains, counted), the floor any selection over this data pays.
 */

/** Census rows: about 15% carry no usable address, so 1.77 million rows give 1.5 million prospects. */
const ROWS = 1_770_000;
const PROSPECTS = 1_500_000;
const QUOTA = 20_000;
const SEED = "bench-6";
const RUNS = 3;

export const audienceBuildScenario: StackScenario = {
  name: "audience-build",
  path: "buildAudience (SQL)",
  description: `the daily audience build over ${PROSPECTS.toLocaleString("en-US")} synthetic prospects, a ${QUOTA.toLocaleString("en-US")}-recipient day`,
  async run(ctx) {
    const notes: string[] = [];
    const env = { ...process.env, DATABASE_URL: ctx.databaseUrl };
    const have = await withPostgres(ctx.databaseUrl, async (client) => {
      const { rows } = await client.query<{ n: string }>(
        "select count(*)::text as n from prospects where source = 'fmcsa'",
      );
      return Number(rows[0]!.n);
    });
    const dir = join(REPO_ROOT, ".data", "bench");
    const census = join(dir, `census-${SEED}-${ROWS}.csv`);
    const zoneFile = join(dir, `census-${SEED}-${ROWS}.zone.json`);
    if (have < PROSPECTS) {
      await mkdir(dir, { recursive: true });
      if (!existsSync(census) || !existsSync(zoneFile)) {
        ctx.log(`audience-build: generating ${ROWS} census rows`);
        await generateFmcsa({ rows: ROWS, seed: SEED, format: "csv", out: census, zone: zoneFile, asOf: "2026-11-01" });
      }
      ctx.log("audience-build: importing (docket import fmcsa)");
      const imported = await importFmcsa({ file: census, env, log: () => {} });
      notes.push(
        `audience-build: import of ${imported.rows} census rows (${imported.prospectsInserted} prospects) took ${(imported.ms / 1000).toFixed(0)} s = ${Math.round((imported.rows * 1000) / imported.ms)} rows/s`,
      );
    }

    ctx.log("audience-build: verification results, MX tags, exclusion lists");
    const zone = JSON.parse(await readFile(zoneFile, "utf8")) as Record<string, { mx?: [number, string][] }>;
    const domains = Object.keys(zone);
    const operators = domains.map((d) => {
      const mx = zone[d]!.mx;
      return mx ? operatorForMx(mx.map(([preference, exchange]) => ({ preference, exchange }))) : null;
    });
    await withPostgres(ctx.databaseUrl, async (client) => {
      await client.query(
        `update email_addresses a set verification_result = (array['smtp_valid','smtp_valid','smtp_valid','smtp_valid',
           'send_confirmed','catch_all','catch_all','unknown','unknown','mx_probe_blocked','hard_bounced'])[1 + (hashtext(a.address) & 1023) % 11]::verification_result
         where a.verification_result = 'unknown' and exists (select 1 from prospects p where p.email = a.address)`,
      );
      await client.query(
        `update mail_domains d set operator = v.operator, mx_status = case when v.operator is null then 'nxdomain' else 'ok' end,
           tagged_at = now()
         from unnest($1::text[], $2::text[]) v(domain, operator) where d.domain = v.domain and d.tagged_at is null`,
        [domains, operators],
      );
    });
    const prospects = await withPostgres(ctx.databaseUrl, async (client) => {
      const { rows } = await client.query<{ n: string }>("select count(*)::text as n from prospects where source = 'fmcsa'");
      return Number(rows[0]!.n);
    });
    const scrubbed = await scrub({ env });
    ctx.log(`audience-build: exclusion lists loaded (${JSON.stringify(scrubbed).slice(0, 200)})`);
    await withPostgres(ctx.databaseUrl, (client) => client.query("analyze"));

    const loaded = loadAppConfig({
      APP_ENV: "development",
      PUBLIC_BASE_URL: "http://localhost",
      MAIL_FROM: "Docket <noreply@send.docket.localhost>",
      MAIL_SENDING_DOMAIN: "send.docket.localhost",
      OPERATOR_EMAIL: "ops@docket.localhost",
      SMTP_HOST: "localhost",
      // Day 45 of the warm-up: every operator let in, the default ramp's caps apply.
      OUTREACH_WARMUP_START: new Date(Date.now() - 44 * 86_400_000).toISOString().slice(0, 10),
    });
    if (!loaded.config) throw new Error(loaded.ok ? "no config" : loaded.problems.join("; "));
    const config = loaded.config;
    const pool = new pg.Pool({ connectionString: ctx.databaseUrl, max: 2 });
    const db = drizzle({ client: pool, schema }) as unknown as Db;
    const today = new Date().toISOString().slice(0, 10);
    try {
      const campaignId = await withPostgres(ctx.databaseUrl, async (client) => {
        const { rows } = await client.query<{ id: string }>(
          `insert into campaigns (name, status, subject, html, claims, audience, daily_quota, schedule, utm_campaign, created_by)
           values ('audience bench', 'running', 'USDOT {{usdot_number}}', '<p>Hello {{display_name}}</p>', '[]',
                   '{"source":"fmcsa"}', $1, $2, 'audience-bench', 'bench') returning id::text`,
          [QUOTA, JSON.stringify({ startOn: today })],
        );
        return Number(rows[0]!.id);
      });
      const clear = () =>
        withPostgres(ctx.databaseUrl, (client) =>
          client.query("delete from mail_sends where campaign_id = $1", [campaignId]),
        );
      const timed = async (dryRun: boolean) => {
        const ms: number[] = [];
        let last: AudienceReport | undefined;
        for (let i = 0; i < RUNS; i++) {
          await clear();
          const started = performance.now();
          last = await buildAudience(db, config, { now: new Date(), campaignId, dryRun, enqueue: async () => {} });
          ms.push(performance.now() - started);
        }
        return { ms, report: last! };
      };
      const floor: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const started = performance.now();
        await pool.query(`select count(*) from prospects p join email_addresses a on a.address = p.email
                          left join mail_domains d on d.domain = p.domain where p.source = 'fmcsa'`);
        floor.push(performance.now() - started);
      }
      const dry = await timed(true);
      const real = await timed(false);
      await clear();
      await withPostgres(ctx.databaseUrl, (client) =>
        client.query("update campaigns set status = 'finished', finished_at = now() where id = $1", [campaignId]),
      );
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const selected = real.report.campaigns[0]?.selected ?? 0;
      const excluded = dry.report.campaigns[0]?.excluded ?? {};
      const byOperator = Object.entries(real.report.campaigns[0]?.byOperator ?? {}).sort((a, b) => b[1] - a[1]);
      notes.push(
        `audience-build: real build ${Math.round(median(real.ms))} ms (runs ${real.ms.map(Math.round).join(", ")}), dry run ${Math.round(median(dry.ms))} ms, over ${prospects} prospects; ${selected} selected across ${byOperator.length} operators (top: ${byOperator
          .slice(0, 5)
          .map(([o, n]) => `${o} ${n}`)
          .join(", ")})`,
        `audience-build: baseline, the candidate join alone: ${Math.round(median(floor))} ms; the build is ${(median(real.ms) / median(floor)).toFixed(1)}× it, the dry run ${(median(dry.ms) / median(floor)).toFixed(1)}×`,
        `audience-build: excluded by reason (dry run): ${JSON.stringify(excluded)}`,
      );
      return {
        name: "audience-build",
        rows: [
          {
            name: "audience-build",
            path: "buildAudience, real (INSERT … SELECT)",
            description: `${selected} recipients chosen from ${prospects} prospects`,
            result: loadResultFrom({
              latenciesMs: real.ms,
              wallMs: real.ms.reduce((a, b) => a + b, 0),
              requests: real.ms.length,
              statusCodes: { "200": real.ms.length },
              connectionErrors: 0,
            }),
          },
        ],
        notes,
        checks: [
          {
            name: "at least 1.5 million prospects",
            pass: prospects >= PROSPECTS,
            summary: `${prospects} prospects`,
          },
          {
            name: "a 20,000-recipient day is selected",
            pass: selected === QUOTA,
            summary: `${selected} of ${QUOTA}`,
          },
          {
            name: "the dry run selects what the real build selects",
            pass: (dry.report.campaigns[0]?.selected ?? -1) === selected,
            summary: `dry ${dry.report.campaigns[0]?.selected}, real ${selected}`,
          },
        ],
        detail: { realMs: real.ms, dryMs: dry.ms, floorMs: floor, excluded, byOperator },
      } satisfies ScenarioOutcome;
    } finally {
      await pool.end();
    }
  },
};
