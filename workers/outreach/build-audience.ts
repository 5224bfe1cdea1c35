import { eq, inArray, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { campaigns } from "../../db/schema";
import type { AppConfig } from "../../domain/config/app-config";
import {
  allowedResults,
  CATCH_ALL_RESULT,
  EXCLUSION_REASONS,
  remainingCaps,
  type ExclusionReason,
  type RemainingCaps,
} from "../../domain/outreach/audience-rules";
import {
  campaignAudienceSchema,
  campaignClaimSchema,
  campaignScheduleSchema,
  placeholdersIn,
  scheduledOn,
  type CampaignAudience,
} from "../../domain/outreach/campaign-definition";
import { CATCH_ALL_WINDOW_DAYS, catchAllGate, type CatchAllGate } from "../../domain/outreach/catch-all-gate";
import { isDeficiency, isProspectField } from "../../domain/outreach/prospect-fields";
import { sendMessagesFor } from "../../domain/outreach/send-batches";
import { warmupDay } from "../../domain/outreach/warmup-ramp";
import { enqueueSendMessages, type CampaignSendQueue } from "./enqueue-sends";
import type { CampaignSendMessage } from "../../domain/queues/queue-messages";

/**
 * The daily audience build (issue 6 item 5; DESIGN.md "Outreach"): for each running campaign
 * scheduled today, one SQL statement picks today's recipients by the rules of
 * domain/outreach/audience-rules.ts and inserts them as queued `mail_sends` rows, then the new
 * ids go on the campaign-send queue grouped by receiving operator.
 *
 * The dry run evaluates the very same rule expressions, as a CASE giving each candidate prospect
 * the first rule it fails, and writes nothing, so its counts are what the real build would do.
 */

export type AudienceConfig = Pick<
  AppConfig,
  | "MAIL_SENDING_DOMAIN"
  | "OUTREACH_WARMUP_START"
  | "OUTREACH_RAMP"
  | "OUTREACH_BIG_OPERATOR_DAY"
  | "OUTREACH_BIG_OPERATORS"
  | "OUTREACH_UNTAGGED_CAP"
  | "OUTREACH_COOL_OFF_DAYS"
  | "OUTREACH_CATCH_ALL"
  | "OUTREACH_CATCH_ALL_MIN_DAY"
  | "OUTREACH_CATCH_ALL_MAX_BOUNCE_PCT"
  | "OUTREACH_CATCH_ALL_MIN_SENDS"
  | "OUTREACH_SEND_BATCH"
>;

export type { CampaignSendQueue };

export interface AudienceBuildOptions {
  now: Date;
  /** Only this campaign (running; a dry run also takes an approved one). All running ones otherwise. */
  campaignId?: number;
  /** Compute what would be chosen and why the rest would not; write and enqueue nothing. */
  dryRun?: boolean;
  /** Puts the send messages on the campaign-send queue. */
  enqueue?: (bodies: CampaignSendMessage[]) => Promise<void>;
  /** Or the queue itself (sent to in chunks of at most 100 messages), when `enqueue` is not given. */
  queue?: CampaignSendQueue;
}

/** The key a byOperator count uses for untagged domains (operator null). */
export const UNTAGGED = "untagged";

export interface CampaignAudienceReport {
  campaignId: number;
  /** Recipients chosen (dry run: that would be chosen). */
  selected: number;
  byOperator: Record<string, number>;
  /** Candidates left out, by the first rule they fail. Dry run only; {} for a real build. */
  excluded: Partial<Record<ExclusionReason, number>>;
  enqueuedMessages: number;
  scheduledToday: boolean;
  /** Why nothing was built for this campaign (not scheduled today, invalid definition). */
  skipped?: string;
}

export interface AudienceReport {
  day: string;
  warmupDay: number;
  catchAll: CatchAllGate;
  campaigns: CampaignAudienceReport[];
  dryRun: boolean;
  ms: number;
}

export class AudienceBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AudienceBuildError";
  }
}

const DAY_MS = 86_400_000;

/** Serialises real builds, so two at once (cron and an admin) cannot both fill the same cap. */
const BUILD_LOCK = sql`hashtext('docket:audience-build')`;

/**
 * The build sorts and hashes the whole prospect table once; with Postgres's default 4 MB per
 * sort or hash it spills to disk and takes about twice as long (measured on 1.5 million prospects).
 */
const BUILD_WORK_MEM = sql.raw(`'64MB'`);

const claimsSchema = z.array(campaignClaimSchema);

interface CampaignRow {
  id: number;
  status: string;
  subject: string;
  html: string;
  claims: unknown;
  audience: unknown;
  dailyQuota: number;
  schedule: unknown;
}

/** What a campaign asks of a prospect, from its definition. */
interface CampaignRules {
  id: number;
  quota: number;
  audience: CampaignAudience;
  claimDeficiencies: string[];
  claimFields: string[];
  templateFields: string[];
}

type Executor = Pick<Db, "execute">;

export async function buildAudience(
  db: Db,
  config: AudienceConfig,
  options: AudienceBuildOptions,
): Promise<AudienceReport> {
  const started = Date.now();
  const dryRun = options.dryRun ?? false;
  if (config.OUTREACH_WARMUP_START === undefined) {
    throw new AudienceBuildError(
      "OUTREACH_WARMUP_START is not set: no audience is built before the warm-up has a start date",
    );
  }
  const enqueue = options.enqueue ?? (options.queue ? queueSender(options.queue) : undefined);
  if (!dryRun && enqueue === undefined) {
    throw new AudienceBuildError("buildAudience needs `enqueue` or `queue` for a real build");
  }
  const { now } = options;
  const day = now.toISOString().slice(0, 10);
  const wDay = warmupDay(config.OUTREACH_WARMUP_START, now);

  const rows = await campaignsToBuild(db, options.campaignId, dryRun);
  const gate = catchAllGate({ day: wDay, ...(await recentCampaignSends(db, now)) }, config);
  const cutoff = new Date(now.getTime() - config.OUTREACH_COOL_OFF_DAYS * DAY_MS);

  const reports: CampaignAudienceReport[] = [];
  for (const row of rows) {
    const report: CampaignAudienceReport = {
      campaignId: row.id,
      selected: 0,
      byOperator: {},
      excluded: {},
      enqueuedMessages: 0,
      scheduledToday: false,
    };
    reports.push(report);
    const parsed = parseCampaign(row, day);
    if (!parsed.ok) {
      if (options.campaignId !== undefined) throw new AudienceBuildError(parsed.problem);
      report.skipped = parsed.problem;
      continue;
    }
    report.scheduledToday = parsed.scheduledToday;
    // A dry run still shows what today would look like, so a campaign can be previewed before its start.
    if (!parsed.scheduledToday && !dryRun) {
      report.skipped = `not scheduled on ${day}`;
      continue;
    }
    const ctx: BuildContext = { rules: parsed.rules, config, day, wDay, gate, cutoff };
    if (dryRun) {
      const counts = await db.transaction(async (tx) => {
        await tx.execute(sql`set local work_mem = ${BUILD_WORK_MEM}`);
        return await dryRunCounts(tx, ctx);
      });
      for (const c of counts) {
        if (c.reason === null) {
          report.selected += c.n;
          report.byOperator[c.operator ?? UNTAGGED] = (report.byOperator[c.operator ?? UNTAGGED] ?? 0) + c.n;
        } else {
          report.excluded[c.reason] = (report.excluded[c.reason] ?? 0) + c.n;
        }
      }
      report.excluded = ordered(report.excluded);
    } else {
      const inserted = await db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${BUILD_LOCK})`);
        await tx.execute(sql`set local work_mem = ${BUILD_WORK_MEM}`);
        return await insertAudience(tx, ctx);
      });
      for (const send of inserted) {
        report.byOperator[send.operator ?? UNTAGGED] = (report.byOperator[send.operator ?? UNTAGGED] ?? 0) + 1;
      }
      report.selected = inserted.length;
      const bodies = sendMessagesFor(row.id, inserted, config.OUTREACH_SEND_BATCH);
      if (bodies.length > 0) await enqueue!(bodies);
      report.enqueuedMessages = bodies.length;
    }
  }
  return { day, warmupDay: wDay, catchAll: gate, campaigns: reports, dryRun, ms: Date.now() - started };
}

function queueSender(queue: CampaignSendQueue) {
  return (bodies: CampaignSendMessage[]) =>
    enqueueSendMessages(
      queue,
      bodies.map((body) => ({ body })),
    );
}

function ordered(excluded: Partial<Record<ExclusionReason, number>>): Partial<Record<ExclusionReason, number>> {
  const out: Partial<Record<ExclusionReason, number>> = {};
  for (const reason of EXCLUSION_REASONS) if (excluded[reason] !== undefined) out[reason] = excluded[reason];
  return out;
}

async function campaignsToBuild(db: Db, campaignId: number | undefined, dryRun: boolean): Promise<CampaignRow[]> {
  const columns = {
    id: campaigns.id,
    status: campaigns.status,
    subject: campaigns.subject,
    html: campaigns.html,
    claims: campaigns.claims,
    audience: campaigns.audience,
    dailyQuota: campaigns.dailyQuota,
    schedule: campaigns.schedule,
  };
  if (campaignId === undefined) {
    const buildable = dryRun ? (["running", "approved"] as const) : (["running"] as const);
    return await db
      .select(columns)
      .from(campaigns)
      .where(inArray(campaigns.status, [...buildable]))
      .orderBy(campaigns.id);
  }
  const [row] = await db.select(columns).from(campaigns).where(eq(campaigns.id, campaignId));
  if (!row) throw new AudienceBuildError(`campaign ${campaignId} does not exist`);
  // A named campaign's dry run previews it at any stage before it ends (a draft's audience is
  // what an admin wants to see before approving); only a running one is really built.
  const buildable = dryRun ? ["draft", "approved", "running", "paused"] : ["running"];
  if (!buildable.includes(row.status)) {
    throw new AudienceBuildError(
      `campaign ${campaignId} is ${row.status}: ${dryRun ? "a finished campaign has no audience" : "only a running campaign is built"}`,
    );
  }
  return [row];
}

/** Campaign mail sent in the catch-all gate's window, and how much of it bounced. */
async function recentCampaignSends(db: Db, now: Date): Promise<{ recentSent: number; recentBounced: number }> {
  const since = new Date(now.getTime() - CATCH_ALL_WINDOW_DAYS * DAY_MS);
  const result = await db.execute<{ sent: number; bounced: number }>(sql`
    select count(*)::int as sent, (count(*) filter (where status = 'bounced'))::int as bounced
    from mail_sends
    where kind = 'campaign' and sent_at > ${since.toISOString()}::timestamptz
      and sent_at <= ${now.toISOString()}::timestamptz`);
  const row = result.rows[0]!;
  return { recentSent: Number(row.sent), recentBounced: Number(row.bounced) };
}

type Parsed = { ok: true; rules: CampaignRules; scheduledToday: boolean } | { ok: false; problem: string };

function parseCampaign(row: CampaignRow, day: string): Parsed {
  const schedule = campaignScheduleSchema.safeParse(row.schedule);
  const audience = campaignAudienceSchema.safeParse(row.audience);
  const claims = claimsSchema.safeParse(row.claims);
  const problems = [
    ...(schedule.success ? [] : [`schedule: ${z.prettifyError(schedule.error)}`]),
    ...(audience.success ? [] : [`audience: ${z.prettifyError(audience.error)}`]),
    ...(claims.success ? [] : [`claims: ${z.prettifyError(claims.error)}`]),
  ];
  if (!schedule.success || !audience.success || !claims.success) {
    return { ok: false, problem: `campaign ${row.id} has an invalid definition: ${problems.join("; ")}` };
  }
  const claimDeficiencies = [...new Set(claims.data.map((c) => c.backedBy).filter(isDeficiency))];
  const claimFields = [...new Set(claims.data.map((c) => c.backedBy).filter(isProspectField))];
  const templateFields = [...new Set([...placeholdersIn(row.subject), ...placeholdersIn(row.html)])].filter(
    (f) => isProspectField(f) && !claimFields.includes(f),
  );
  return {
    ok: true,
    scheduledToday: scheduledOn(schedule.data, day),
    rules: {
      id: row.id,
      quota: row.dailyQuota,
      audience: audience.data,
      claimDeficiencies,
      claimFields,
      templateFields,
    },
  };
}

interface BuildContext {
  rules: CampaignRules;
  config: AudienceConfig;
  day: string;
  wDay: number;
  gate: CatchAllGate;
  cutoff: Date;
}

/** The candidates of a campaign's source with everything the rules look at, joined by equality only (hash joins). */
function candidates(ctx: BuildContext): SQL {
  return sql`
    from prospects p
    left join email_addresses a on a.address = p.email
    left join mail_domains d on d.domain = p.domain
    left join suppressions s on s.address = p.email
    left join excluded_domains e on e.domain = p.domain
    -- A listed domain covers its subdomains (nc.rr.com is rr.com's); one level up is an equality too.
    left join excluded_domains ep on ep.domain = substring(p.domain from position('.' in p.domain) + 1)
    left join (select distinct email from prospects where flags @> '{do_not_contact}'::text[]) fl on fl.email = p.email
    left join (
      select distinct recipient from mail_sends
      where kind = 'campaign' and status <> 'cancelled' and created_at > ${ctx.cutoff.toISOString()}::timestamptz
    ) r on r.recipient = p.email
    left join (select recipient from mail_sends where campaign_id = ${ctx.rules.id}::bigint) m on m.recipient = p.email
    where p.source = ${ctx.rules.audience.source}`;
}

/** Every field in `fields` has a non-empty value in the prospect's public data. */
function fieldsPresent(fields: string[]): SQL {
  if (fields.length === 0) return sql`true`;
  return sql.join(
    fields.map((f) => sql`coalesce(p.fields ->> ${f}::text, '') <> ''`),
    sql` and `,
  );
}

/**
 * The rules, in EXCLUSION_REASONS order: for each, the condition (true, never null) under which
 * a candidate fails it. The real build keeps rows failing none; the dry run names the first.
 */
function prospectRules(ctx: BuildContext, caps: RemainingCaps): [ExclusionReason, SQL][] {
  const { rules, gate } = ctx;
  // Every result that can ever be sent; catch_all is then subject to the gate.
  const verifiable = allowedResults(true);
  const caught = gate.open ? sql`false` : sql`a.verification_result = ${CATCH_ALL_RESULT}::verification_result`;
  const states = rules.audience.states;
  const required = rules.audience.requireDeficiencies ?? [];
  return [
    ["flagged", sql`fl.email is not null`],
    // `is null or <> all` so that the real build's negation is strict in `a` (an inner join).
    [
      "verification",
      sql`(a.verification_result is null or a.verification_result <> all(${sql.param(verifiable)}::verification_result[]))`,
    ],
    ["catch_all_gate", caught],
    ["suppressed", sql`s.address is not null`],
    ["excluded_domain", sql`(p.excluded_by is not null or e.domain is not null or ep.domain is not null)`],
    ["dead_domain", sql`coalesce(d.mx_status = 'nxdomain', false)`],
    [
      "cool_off",
      sql`(r.recipient is not null or coalesce(p.last_sent_at > ${ctx.cutoff.toISOString()}::timestamptz, false))`,
    ],
    ["already_in_campaign", sql`m.recipient is not null`],
    [
      "claim_not_backed",
      sql`not (p.deficiencies @> ${sql.param(rules.claimDeficiencies)}::text[] and ${fieldsPresent(rules.claimFields)})`,
    ],
    ["missing_field", sql`not (${fieldsPresent(rules.templateFields)})`],
    [
      "audience_filter",
      sql`not (${states ? sql`coalesce(p.fields ->> 'state' = any(${sql.param(states)}::text[]), false)` : sql`true`}
               and p.deficiencies @> ${sql.param(required)}::text[])`,
    ],
    ["held_out", sql`coalesce(d.operator = any(${sql.param(caps.heldOut)}::text[]), false)`],
  ];
}

/**
 * Today's remaining caps (counting sends already created for today by any campaign, except
 * those withdrawn) and the campaign's remaining quota.
 */
async function withCaps(db: Executor, ctx: BuildContext): Promise<{ caps: RemainingCaps; quotaLeft: number }> {
  const result = await db.execute<{ operator: string | null; n: number; mine: number }>(sql`
    select operator, count(*)::int as n, (count(*) filter (where campaign_id = ${ctx.rules.id}::bigint))::int as mine
    from mail_sends
    where send_day = ${ctx.day}::date and campaign_id is not null and status <> 'cancelled'
    group by operator`);
  const used = new Map<string | null, number>();
  let mine = 0;
  for (const row of result.rows) {
    used.set(row.operator, Number(row.n));
    mine += Number(row.mine);
  }
  const caps = remainingCaps(ctx.wDay, used, ctx.rules.quota, ctx.config);
  return { caps, quotaLeft: Math.max(0, ctx.rules.quota - mine) };
}

/** An operator's remaining cap today, for the row's `operator` column. */
function capOf(caps: RemainingCaps, column: SQL): SQL {
  return sql`case when ${column} is null then ${caps.untaggedRemaining}::int
    else coalesce((${JSON.stringify(caps.byOperator)}::jsonb ->> ${column})::int, ${caps.defaultRemaining}::int) end`;
}

/**
 * Today's order within an operator and within the quota: a hash of the address seeded by the
 * day, so each day starts from different prospects rather than the same lowest ids.
 */
function dayOrder(ctx: BuildContext, column: SQL): SQL {
  const seed = Math.floor(Date.parse(`${ctx.day}T00:00:00Z`) / DAY_MS);
  return sql`hashtextextended(${column}, ${seed}::bigint)`;
}

async function insertAudience(db: Executor, ctx: BuildContext): Promise<{ id: number; operator: string | null }[]> {
  const { caps, quotaLeft } = await withCaps(db, ctx);
  if (quotaLeft === 0) return [];
  const keep = sql.join(
    prospectRules(ctx, caps).map(([, condition]) => sql`not (${condition})`),
    sql` and `,
  );
  const messageId = sql`'<c' || ${ctx.rules.id}::bigint || '.' || replace(gen_random_uuid()::text, '-', '') || '@' || ${ctx.config.MAIL_SENDING_DOMAIN}::text || '>'`;
  const result = await db.execute<{ id: string; operator: string | null }>(sql`
    with base as (
      select p.id, p.email, d.operator
      ${candidates(ctx)} and ${keep}
    ), eligible as (
      -- One row per recipient: of the prospects sharing an address, the lowest id.
      select distinct on (email) id, email, operator from base order by email, id
    ), ranked as (
      select id, email, operator, ${dayOrder(ctx, sql`email`)} as h,
             row_number() over (partition by operator order by ${dayOrder(ctx, sql`email`)}, email) as op_rank
      from eligible
    ), capped as (
      select id, email, operator, row_number() over (order by h, email) as q
      from ranked where op_rank <= ${capOf(caps, sql`operator`)}
    )
    insert into mail_sends (message_id, kind, recipient, campaign_id, status, prospect_id, operator, send_day)
    select ${messageId}, 'campaign', email, ${ctx.rules.id}::bigint, 'queued', id, operator, ${ctx.day}::date
    from capped where q <= ${quotaLeft}::int
    on conflict (campaign_id, recipient) where campaign_id is not null do nothing
    returning id::text as id, operator`);
  return result.rows.map((r) => ({ id: Number(r.id), operator: r.operator }));
}

async function dryRunCounts(
  db: Executor,
  ctx: BuildContext,
): Promise<{ reason: ExclusionReason | null; operator: string | null; n: number }[]> {
  const { caps, quotaLeft } = await withCaps(db, ctx);
  const firstFailed = sql`case ${sql.join(
    prospectRules(ctx, caps).map(([reason, condition]) => sql`when ${condition} then ${reason}::text`),
    sql` `,
  )} end`;
  const result = await db.execute<{ reason: ExclusionReason | null; operator: string | null; n: number }>(sql`
    with base as (
      select p.id, p.email, d.operator, ${firstFailed} as reason
      ${candidates(ctx)}
    ), eligible as (
      select id, email, operator, row_number() over (partition by email order by id) as dup
      from base where reason is null
    ), ranked as (
      select id, email, operator, ${dayOrder(ctx, sql`email`)} as h,
             row_number() over (partition by operator order by ${dayOrder(ctx, sql`email`)}, email) as op_rank
      from eligible where dup = 1
    ), capped as (
      select id, email, operator, h, op_rank <= ${capOf(caps, sql`operator`)} as within_cap from ranked
    ), quota as (
      select operator, row_number() over (order by h, email) as q from capped where within_cap
    )
    select reason, operator, count(*)::int as n from (
      select reason, operator from base where reason is not null
      union all select 'duplicate_recipient', operator from eligible where dup > 1
      union all select case when operator is null then 'untagged_cap' else 'operator_cap' end, operator
        from capped where not within_cap
      union all select case when q <= ${quotaLeft}::int then null else 'quota' end, operator from quota
    ) x
    group by reason, operator`);
  return result.rows.map((r) => ({ reason: r.reason, operator: r.operator, n: Number(r.n) }));
}
