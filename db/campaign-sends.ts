import { sql } from "drizzle-orm";
import type { Db } from "./client";

/**
 * The campaign send consumer's statements. Each takes a whole batch (array parameters through
 * unnest / ANY), so a batch costs a handful of round trips whatever its size.
 *
 * Row life: queued → sending (claimed) → accepted | rejected | deferred (claimed again after
 * next_attempt_at) | unknown (the relay's answer was lost). A row leaves `queued`/`deferred`
 * only through the conditional UPDATE in claimCampaignSends, so two consumers holding the same
 * ids (a redelivered queue message) cannot both claim it: the second finds it `sending`.
 */

/** Withdraws sends that must no longer go: suppressed since the build, excluded domain, dead address. */
export async function cancelUnsendable(db: Db, ids: number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await db.execute(sql`
    update mail_sends s
    set status = 'cancelled',
        cancel_reason = case
          when exists (select 1 from suppressions x where x.address = s.recipient) then 'suppressed'
          when exists (select 1 from excluded_domains e where e.domain in (split_part(s.recipient, '@', 2),
                         substring(split_part(s.recipient, '@', 2) from position('.' in split_part(s.recipient, '@', 2)) + 1)))
            then 'excluded_domain'
          else 'hard_bounced' end
    where s.id = any(${sql.param(ids)}::bigint[])
      and s.status in ('queued', 'deferred')
      and (exists (select 1 from suppressions x where x.address = s.recipient)
        or exists (select 1 from excluded_domains e where e.domain in (split_part(s.recipient, '@', 2),
                   substring(split_part(s.recipient, '@', 2) from position('.' in split_part(s.recipient, '@', 2)) + 1)))
        or exists (select 1 from email_addresses a
                   where a.address = s.recipient and a.verification_result = 'hard_bounced'))`);
  return result.rowCount ?? 0;
}

export interface PendingSend {
  id: number;
  operator: string | null;
  campaignId?: number;
}

/** Of `ids`, the sends that may go now: queued or due for a retry, in a running campaign. */
export async function pendingCampaignSends(db: Db, ids: number[]): Promise<PendingSend[]> {
  if (ids.length === 0) return [];
  const result = await db.execute<{ id: string; operator: string | null }>(sql`
    select s.id::text as id, s.operator
    from mail_sends s join campaigns c on c.id = s.campaign_id
    where s.id = any(${sql.param(ids)}::bigint[])
      and c.status = 'running'
      and (s.status = 'queued' or (s.status = 'deferred' and s.next_attempt_at <= now()))
    order by s.id`);
  return result.rows.map((r) => ({ id: Number(r.id), operator: r.operator }));
}

export interface ClaimedSend {
  id: number;
  campaignId: number;
  messageId: string;
  recipient: string;
  operator: string | null;
  prospectId: number | null;
  attempts: number;
  fields: Record<string, string | number | null>;
}

/** Claims the given sends (those still claimable) for sending, atomically. */
export async function claimCampaignSends(db: Db, ids: number[]): Promise<ClaimedSend[]> {
  if (ids.length === 0) return [];
  const result = await db.execute<{
    id: string;
    campaign_id: string;
    message_id: string;
    recipient: string;
    operator: string | null;
    prospect_id: string | null;
    attempts: number;
    fields: Record<string, string | number | null> | null;
  }>(sql`
    update mail_sends s
    set status = 'sending', claimed_at = now(), attempts = s.attempts + 1, next_attempt_at = null
    from mail_sends o left join prospects p on p.id = o.prospect_id
    where o.id = s.id
      and s.id = any(${sql.param(ids)}::bigint[])
      and (s.status = 'queued' or (s.status = 'deferred' and s.next_attempt_at <= now()))
    returning s.id::text as id, s.campaign_id::text as campaign_id, s.message_id, s.recipient, s.operator,
              s.prospect_id::text as prospect_id, s.attempts, p.fields`);
  return result.rows.map((r) => ({
    id: Number(r.id),
    campaignId: Number(r.campaign_id),
    messageId: r.message_id,
    recipient: r.recipient,
    operator: r.operator,
    prospectId: r.prospect_id === null ? null : Number(r.prospect_id),
    attempts: r.attempts,
    fields: r.fields ?? {},
  }));
}

/** Puts claimed sends back, untouched by any relay (the batch failed before handing them over). */
export async function releaseCampaignSends(db: Db, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.execute(sql`
    update mail_sends set status = 'queued', claimed_at = null, attempts = greatest(attempts - 1, 0)
    where id = any(${sql.param(ids)}::bigint[]) and status = 'sending'`);
}

export interface SendRecord {
  id: number;
  status: "accepted" | "rejected" | "deferred" | "unknown" | "cancelled";
  code: number | null;
  enhanced: string | null;
  text: string;
  outcome: string | null;
  /** For a deferred send that will be tried again. */
  nextAttemptAt: Date | null;
}

/** Records the relay's answers for the batch in one statement, and the prospects' send history. */
export async function recordCampaignOutcomes(db: Db, records: SendRecord[]): Promise<void> {
  if (records.length === 0) return;
  const col = <K extends keyof SendRecord>(k: K) => sql.param(records.map((r) => r[k]));
  await db.execute(sql`
    with v as (
      select * from unnest(${col("id")}::bigint[], ${col("status")}::text[], ${col("code")}::int[],
                           ${col("enhanced")}::text[], ${col("text")}::text[], ${col("outcome")}::text[],
                           ${sql.param(records.map((r) => r.nextAttemptAt?.toISOString() ?? null))}::timestamptz[])
        as v(id, status, code, enhanced, text, outcome, next_attempt_at)
    ), sends as (
      update mail_sends s
      set status = v.status, smtp_code = v.code, smtp_enhanced = v.enhanced, smtp_text = left(v.text, 2000),
          outcome = v.outcome, next_attempt_at = v.next_attempt_at,
          sent_at = case when v.status = 'accepted' then now() else s.sent_at end,
          cancel_reason = case when v.status = 'cancelled' then left(v.text, 500) else s.cancel_reason end
      from v where s.id = v.id and s.status = 'sending'
      returning s.prospect_id, s.status
    )
    update prospects p set last_sent_at = now(), send_count = p.send_count + 1
    from (select prospect_id from sends where status in ('accepted', 'unknown') and prospect_id is not null) m
    where p.id = m.prospect_id`);
}

/**
 * Addresses the relay refused as unknown or disabled (5.1.x at RCPT, reject_recipient): a hard
 * bounce, recorded the way an asynchronous bounce is, so the address is never mailed again.
 */
export async function recordRecipientRejections(db: Db, sends: { id: number; recipient: string }[]): Promise<void> {
  if (sends.length === 0) return;
  const recipients = sends.map((s) => s.recipient);
  await db.execute(sql`
    with addresses as (
      insert into email_addresses (address, domain, verification_result, last_bounce_at, updated_at)
      select r, split_part(r, '@', 2), 'hard_bounced', now(), now() from unnest(${sql.param(recipients)}::text[]) r
      on conflict (address) do update
        set verification_result = 'hard_bounced', last_bounce_at = now(), updated_at = now()
      returning address
    )
    insert into suppressions (address, reason, source)
    select v.r, 'hard_bounce', 'send:' || v.id
    from unnest(${sql.param(recipients)}::text[], ${sql.param(sends.map((s) => s.id))}::bigint[]) v(r, id)
    on conflict (address) do nothing`);
}

/**
 * Sends left `sending` for longer than `olderThanMinutes`: the Worker stopped between handing a
 * message to the relay and recording the answer. They become `unknown`, never `queued` again:
 * resending could deliver twice, and a later bounce or delivery report still settles them.
 */
export async function reconcileStuckSends(db: Db, olderThanMinutes: number): Promise<number> {
  const result = await db.execute(sql`
    update mail_sends
    set status = 'unknown',
        smtp_text = 'the relay''s answer was never recorded (the sender stopped mid-send); not resent'
    where kind = 'campaign' and status = 'sending'
      and claimed_at < now() - make_interval(mins => ${olderThanMinutes})`);
  return result.rowCount ?? 0;
}

/** Queued (and due deferred) sends of a campaign, for enqueueing again after a resume. */
export async function queuedSendsOf(db: Db, campaignId: number): Promise<PendingSend[]> {
  const result = await db.execute<{ id: string; operator: string | null }>(sql`
    select id::text as id, operator from mail_sends
    where campaign_id = ${campaignId} and (status = 'queued' or (status = 'deferred' and next_attempt_at is not null))
    order by id`);
  return result.rows.map((r) => ({ id: Number(r.id), operator: r.operator }));
}

/** Withdraws every send of a campaign that has not gone yet (the campaign finished). */
export async function cancelQueuedSendsOf(db: Db, campaignId: number, reason: string): Promise<number> {
  const result = await db.execute(sql`
    update mail_sends set status = 'cancelled', cancel_reason = ${reason}, next_attempt_at = null
    where campaign_id = ${campaignId} and status in ('queued', 'deferred')`);
  return result.rowCount ?? 0;
}

/** Sends waiting on the queue for a throttle's retry-after: noted so the sweep leaves them alone. */
export async function noteWaiting(db: Db, waits: { id: number; delaySeconds: number }[]): Promise<void> {
  if (waits.length === 0) return;
  await db.execute(sql`
    update mail_sends s set next_attempt_at = now() + make_interval(secs => v.delay)
    from unnest(${sql.param(waits.map((w) => w.id))}::bigint[], ${sql.param(waits.map((w) => w.delaySeconds))}::int[])
      as v(id, delay)
    where s.id = v.id and s.status = 'queued'`);
}

/**
 * Sends of running campaigns that should have been picked up long ago: their queue message was
 * lost (an enqueue that failed after the build committed, a message dead-lettered). They are
 * marked as just enqueued and returned, for the caller to enqueue again. A duplicate message is
 * harmless: the claim is atomic.
 */
export async function sweepForgottenSends(db: Db, olderThanMinutes: number, limit: number): Promise<PendingSend[]> {
  const result = await db.execute<{ id: string; operator: string | null; campaign_id: string }>(sql`
    update mail_sends s set next_attempt_at = now()
    from (
      select m.id from mail_sends m join campaigns c on c.id = m.campaign_id and c.status = 'running'
      where m.status in ('queued', 'deferred')
        and coalesce(m.next_attempt_at, m.created_at) < now() - make_interval(mins => ${olderThanMinutes})
        and (m.status = 'queued' or m.next_attempt_at is not null)
      order by m.id limit ${limit}
    ) f
    where s.id = f.id
    returning s.id::text as id, s.operator, s.campaign_id::text as campaign_id`);
  return result.rows.map((r) => ({ id: Number(r.id), operator: r.operator, campaignId: Number(r.campaign_id) }));
}
