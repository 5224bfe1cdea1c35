import {
  adminAuthorization,
  expectJson,
  loadResultFrom,
  percentile,
  requestJson,
  runTag,
  sleep,
  withPostgres,
  type ScenarioContext,
  type ScenarioOutcome,
  type StackScenario,
} from "./stack-scenario";

/**
 * Issue 6's send-pipeline figure, end to end through the paths production uses: a campaign
 * created, approved and started through the admin API, today's audience built by
 * POST /api/admin/campaigns/:id/build (SQL selection, one mail_sends row per recipient, queue
 * messages of OUTREACH_SEND_BATCH ids per operator), then the campaign-send queue delivering
 * batches to the consumer: one MxThrottle grant per operator per batch, an atomic claim,
 * rendering (tracked links, pixel, footer, plaintext, headers), composition, SMTP into the local
 * sink over a few reused sessions, one statement recording the batch's answers.
 *
 * Throughput is accepted messages over the wall time from the build's answer to the last
 * acceptance (mail_sends.sent_at). Checks: every recipient accepted exactly once, and the sink
 * received exactly that many messages, with no Message-ID twice.
 */

/** BENCH_CAMPAIGN_MESSAGES overrides it for a quick look (the figure is taken at 20,000). */
export const CAMPAIGN_SEND_MESSAGES = Number(process.env.BENCH_CAMPAIGN_MESSAGES ?? 20_000);
/** Recipients spread over this many receiving operators (each its own MxThrottle). */
const OPERATORS = 20;
const STALL_MS = 120_000;

interface SinkStats {
  received: number;
  distinctMessageIds: number;
  repeatedMessageIds: number;
}

const sinkStats = async (ctx: ScenarioContext) => await expectJson<SinkStats>("sink stats", `${ctx.smtpHttpUrl}/stats`);

export const campaignSendScenario: StackScenario = {
  name: "campaign-send",
  path: "campaign-send queue → SMTP",
  description: `${CAMPAIGN_SEND_MESSAGES.toLocaleString("en-US")} campaign messages from the audience build through the queue, throttle, renderer and SMTP into the sink`,
  // The warm-up's caps and rates are what production needs on day one; here the machine's
  // capacity is measured, so the ramp and the per-minute rate are set out of the way.
  stackConfig: {
    OUTREACH_WARMUP_START: "2024-01-01",
    OUTREACH_RAMP: "[[1,1000000]]",
    OUTREACH_BIG_OPERATOR_DAY: "1",
    OUTREACH_RATE_PER_MINUTE: "10000000",
    OUTREACH_SEND_BATCH: "100",
  },
  async run(ctx) {
    const tag = runTag()
      .toLowerCase()
      .replace(/[^a-z0-9]/g, "");
    const authorization = await adminAuthorization(ctx);
    const admin = async <T = Record<string, unknown>>(path: string, body?: unknown, status = 200): Promise<T> => {
      const res = await requestJson<T>(`${ctx.workerUrl}/api/admin${path}`, {
        method: "POST",
        ...(body === undefined ? {} : { body }),
        headers: { authorization },
      });
      if (res.status !== status) throw new Error(`POST ${path} answered ${res.status}: ${res.text.slice(0, 500)}`);
      return res.body;
    };

    ctx.log(`campaign-send: seeding ${CAMPAIGN_SEND_MESSAGES} verified prospects over ${OPERATORS} operators`);
    await withPostgres(ctx.databaseUrl, async (client) => {
      await client.query(
        `insert into mail_domains (domain, operator, mx_status, tagged_at)
         select 'bench' || k || '-' || $1 || '.test', 'mx:benchhost' || k || '.test', 'ok', now()
         from generate_series(1, $2::int) k on conflict (domain) do nothing`,
        [tag, OPERATORS],
      );
      await client.query(
        `with rows as (
           select i, 'carrier' || i || '@bench' || (i % $2::int + 1) || '-' || $1 || '.test' as email,
                  'bench' || (i % $2::int + 1) || '-' || $1 || '.test' as domain
           from generate_series(1, $3::int) i
         ), p as (
           insert into prospects (source, source_key, email, domain, fields)
           select 'fmcsa', 'bench-' || $1 || '-' || i, email, domain,
                  jsonb_build_object('legal_name', 'BENCH CARRIER ' || i || ' LLC', 'display_name', 'Bench Carrier ' || i,
                                     'usdot_number', (4000000 + i)::text, 'state', 'ZZ')
           from rows
         )
         insert into email_addresses (address, domain, verification_result)
         select email, domain, 'smtp_valid' from rows on conflict (address) do nothing`,
        [tag, OPERATORS, CAMPAIGN_SEND_MESSAGES],
      );
    });

    const today = new Date().toISOString().slice(0, 10);
    const created = await admin<{ campaign: { id: number } }>(
      "/campaigns",
      {
        name: `Bench ${tag}`,
        subject: "{{display_name}}: your USDOT {{usdot_number}} record",
        html: `<p>Hello {{display_name}},</p><p>FMCSA lists USDOT {{usdot_number}} for {{legal_name}}.</p>
<p><a href="/order/mcs150-update">Update your MCS-150</a> · <a href="/order/ucr-registration">Register for UCR</a></p>
<p>Check it yourself on <a href="https://safer.fmcsa.dot.gov/CompanySnapshot.aspx">SAFER</a>.</p>`,
        claims: [],
        audience: { source: "fmcsa", states: ["ZZ"] },
        dailyQuota: CAMPAIGN_SEND_MESSAGES,
        schedule: { startOn: today },
      },
      201,
    );
    const id = created.campaign.id;
    await admin(`/campaigns/${id}/approve`);
    await admin(`/campaigns/${id}/start`);

    const sinkBefore = await sinkStats(ctx);
    const buildStarted = performance.now();
    const report = await admin<{ campaigns: { selected: number; enqueuedMessages: number }[] }>(
      `/campaigns/${id}/build`,
    );
    const buildMs = performance.now() - buildStarted;
    const selected = report.campaigns[0]?.selected ?? 0;
    ctx.log(`campaign-send: build selected ${selected} in ${Math.round(buildMs)} ms; waiting for the queue`);
    const started = Date.now();

    type Counts = Record<string, number>;
    let counts: Counts;
    let lastChange = Date.now();
    let lastDone = -1;
    for (;;) {
      counts = await withPostgres(ctx.databaseUrl, async (client) => {
        const { rows } = await client.query<{ status: string; n: string }>(
          "select status, count(*)::text as n from mail_sends where campaign_id = $1 group by status",
          [id],
        );
        return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
      });
      const done = (counts.accepted ?? 0) + (counts.rejected ?? 0) + (counts.unknown ?? 0) + (counts.cancelled ?? 0);
      if (done >= selected) break;
      if (done !== lastDone) {
        lastDone = done;
        lastChange = Date.now();
        ctx.log(`campaign-send: ${done}/${selected} settled (${JSON.stringify(counts)})`);
      } else if (Date.now() - lastChange > STALL_MS) {
        ctx.log(`campaign-send: stalled at ${done}/${selected}`);
        break;
      }
      await sleep(1000);
    }

    const timing = await withPostgres(ctx.databaseUrl, async (client) => {
      const { rows } = await client.query<{ first: Date; last: Date; distinct_recipients: string }>(
        `select min(sent_at) as first, max(sent_at) as last, count(distinct recipient)::text as distinct_recipients
         from mail_sends where campaign_id = $1 and status = 'accepted'`,
        [id],
      );
      const latency = await client.query<{ ms: number }>(
        `select extract(epoch from sent_at - created_at) * 1000 as ms from mail_sends
         where campaign_id = $1 and status = 'accepted'`,
        [id],
      );
      return { ...rows[0]!, latencies: latency.rows.map((r) => Number(r.ms)) };
    });
    const sinkAfter = await sinkStats(ctx);
    const accepted = counts.accepted ?? 0;
    const wallMs = timing.last ? timing.last.getTime() - started : Date.now() - started;
    const sendingMs = timing.first && timing.last ? timing.last.getTime() - timing.first.getTime() : Number.NaN;
    const received = sinkAfter.received - sinkBefore.received;
    const repeated = sinkAfter.repeatedMessageIds - sinkBefore.repeatedMessageIds;
    const perSecond = wallMs > 0 ? (accepted * 1000) / wallMs : 0;

    return {
      name: "campaign-send",
      rows: [
        {
          name: "campaign-send",
          path: "build → queue → throttle → render → SMTP sink",
          description: `${accepted} messages accepted by the sink, ${OPERATORS} operators, batches of 100 ids`,
          result: loadResultFrom({
            latenciesMs: timing.latencies,
            wallMs,
            requests: accepted,
            statusCodes: { "200": accepted },
            connectionErrors: 0,
          }),
        },
      ],
      notes: [
        `campaign-send: ${accepted} accepted in ${(wallMs / 1000).toFixed(1)} s from the build's answer = ${perSecond.toFixed(0)} messages/s (first to last acceptance: ${(sendingMs / 1000).toFixed(1)} s); build of the ${selected}-recipient day: ${Math.round(buildMs)} ms`,
        `campaign-send: row created → relay accepted: p50 ${Math.round(percentile(timing.latencies, 50))} ms, p99 ${Math.round(percentile(timing.latencies, 99))} ms`,
        `campaign-send: statuses ${JSON.stringify(counts)}; sink received ${received}, repeated Message-IDs ${repeated}`,
      ],
      checks: [
        {
          name: "every selected recipient accepted once",
          pass:
            selected === CAMPAIGN_SEND_MESSAGES &&
            accepted === selected &&
            Number(timing.distinct_recipients) === accepted,
          summary: `${accepted}/${selected} accepted, ${timing.distinct_recipients} distinct recipients`,
        },
        {
          name: "the sink received each message exactly once",
          pass: received === accepted && repeated === 0,
          summary: `${received} received for ${accepted} accepted, ${repeated} repeated Message-IDs`,
        },
        {
          name: "at least 500 messages/s",
          pass: perSecond >= 500,
          summary: `${perSecond.toFixed(0)} messages/s`,
        },
      ],
      detail: { campaignId: id, counts, buildMs, wallMs, sendingMs, received, repeated },
    } satisfies ScenarioOutcome;
  },
};
