import { sql } from "drizzle-orm";
import type { Db } from "./client";
import { mailEvents, type MAIL_EVENT_KINDS } from "./schema";

/**
 * What recipients did with campaign mail (mail_events), and the look-ups the tracking endpoints
 * (workers/routes/tracking.ts) and checkout attribution make. A send is looked up by the id a
 * signed token names; only campaign sends qualify.
 */

export type MailEventKind = (typeof MAIL_EVENT_KINDS)[number];

export interface MailEventInput {
  sendId: number;
  kind: MailEventKind;
  linkIdx?: number | null;
  automated?: boolean;
  userAgent?: string | null;
  ip?: string | null;
}

/** Longer values are cut: a User-Agent is whatever the client sends. */
const MAX_USER_AGENT = 512;

export async function recordMailEvent(db: Db, event: MailEventInput): Promise<void> {
  await db.insert(mailEvents).values({
    sendId: event.sendId,
    kind: event.kind,
    linkIdx: event.linkIdx ?? null,
    automated: event.automated ?? false,
    userAgent: event.userAgent?.slice(0, MAX_USER_AGENT) ?? null,
    ip: event.ip?.slice(0, 64) ?? null,
  });
}

export interface TrackedSend {
  id: number;
  campaignId: number;
  recipient: string;
  sentAt: Date | null;
}

type SendRow = { id: string; campaign_id: string; recipient: string; sent_at: string | Date | null };

function trackedSend(row: SendRow): TrackedSend {
  return {
    id: Number(row.id),
    campaignId: Number(row.campaign_id),
    recipient: row.recipient,
    sentAt: row.sent_at === null ? null : new Date(row.sent_at),
  };
}

/** The campaign send a token names, or undefined. */
export async function findCampaignSend(db: Db, sendId: number): Promise<TrackedSend | undefined> {
  const result = await db.execute<SendRow>(sql`
    select id::text, campaign_id::text, recipient, sent_at
    from mail_sends where id = ${sendId} and kind = 'campaign' and campaign_id is not null`);
  const row = result.rows[0];
  return row === undefined ? undefined : trackedSend(row);
}

/**
 * The send and where its tracked link `linkIdx` goes: the campaign's own link table row, the
 * only source of a redirect target (no open redirect). Undefined when either is missing.
 */
export async function findClickTarget(
  db: Db,
  sendId: number,
  linkIdx: number,
): Promise<{ send: TrackedSend; url: string } | undefined> {
  const result = await db.execute<SendRow & { url: string }>(sql`
    select s.id::text, s.campaign_id::text, s.recipient, s.sent_at, l.url
    from mail_sends s
    join campaign_links l on l.campaign_id = s.campaign_id and l.idx = ${linkIdx} and l.tracked
    where s.id = ${sendId} and s.kind = 'campaign'`);
  const row = result.rows[0];
  return row === undefined ? undefined : { send: trackedSend(row), url: row.url };
}

export interface UnsubscribeResult {
  /** False when the address was already suppressed (for this or any other reason). */
  suppressed: boolean;
  /** Other campaign sends to the address withdrawn before they went out. */
  cancelled: number;
}

/**
 * Unsubscribes the recipient of `send`, in one statement: the suppression (the first reason
 * stands), one 'unsubscribe' event per send however often the request is repeated, and every
 * queued or deferred campaign send to the address cancelled. Suppression takes effect at once:
 * the send consumer checks it again when it claims a row (db/campaign-sends.ts cancelUnsendable).
 */
export async function unsubscribeSend(
  db: Db,
  send: TrackedSend,
  meta: { userAgent?: string | null; ip?: string | null },
): Promise<UnsubscribeResult> {
  const address = send.recipient.trim().toLowerCase();
  const result = await db.execute<{ suppressed: string; cancelled: string }>(sql`
    with suppressed as (
      insert into suppressions (address, reason, source)
      values (${address}, 'unsubscribe', ${`send:${send.id}`})
      on conflict (address) do nothing
      returning address
    ), recorded as (
      insert into mail_events (send_id, kind, user_agent, ip)
      select ${send.id}, 'unsubscribe', ${meta.userAgent?.slice(0, MAX_USER_AGENT) ?? null}, ${meta.ip?.slice(0, 64) ?? null}
      where not exists (select 1 from mail_events where send_id = ${send.id} and kind = 'unsubscribe')
      returning id
    ), cancelled as (
      update mail_sends set status = 'cancelled', cancel_reason = 'unsubscribed'
      where recipient in (${send.recipient}, ${address}) and kind = 'campaign' and status in ('queued', 'deferred')
      returning id
    )
    select (select count(*) from suppressed)::text as suppressed, (select count(*) from cancelled)::text as cancelled`);
  const row = result.rows[0]!;
  return { suppressed: Number(row.suppressed) > 0, cancelled: Number(row.cancelled) };
}

/** `sendId` when it names a campaign send, else null: attribution only ever names real sends. */
export async function attributableSend(db: Db, sendId: number): Promise<number | null> {
  const result = await db.execute<{ id: string }>(sql`
    select id::text from mail_sends where id = ${sendId} and kind = 'campaign'`);
  return result.rows.length > 0 ? sendId : null;
}
