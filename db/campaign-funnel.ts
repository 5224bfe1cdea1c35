import { sql } from "drizzle-orm";
import { PAID_STATUSES } from "../domain/orders/order-status";
import type { Db } from "./client";

/**
 * A campaign's funnel, counted in sends (one send = one recipient), for the whole campaign and per
 * receiving operator (mail_sends.operator at build time; "untagged" when it had none):
 *
 * - queued: waiting to go out (queued, or deferred and due for another try);
 * - sent: handed to the relay and taken (accepted, delivered, bounced, complained, or unknown:
 *   the relay's answer was lost, which is counted as sent because it may well have gone);
 * - delivered: sent minus bounced. Few receivers report delivery, so "not bounced" is the
 *   working figure; it includes mail that went to spam;
 * - opened: sends with an open or a click by a person (a click implies the message was opened,
 *   and image blocking hides many opens); clicked: sends with a click by a person;
 * - automatedClicks: clicks by scanners and prefetchers (domain/outreach/automated-clicks.ts),
 *   counted in events, shown apart so that they cannot inflate `clicked`;
 * - checkoutStarted: sends that led to a checkout (checkouts.campaign_send_id);
 * - paid: sends that led to an order now in a paid status (PAID_STATUSES);
 * - unsubscribed, bounced.
 *
 * One set-based query computes both groupings (GROUPING SETS).
 */

export interface Funnel {
  queued: number;
  sent: number;
  delivered: number;
  opened: number;
  clicked: number;
  automatedClicks: number;
  checkoutStarted: number;
  paid: number;
  unsubscribed: number;
  bounced: number;
}

export interface CampaignFunnel {
  totals: Funnel;
  byOperator: (Funnel & { operator: string })[];
}

export const UNTAGGED_OPERATOR = "untagged";

type Row = { [K in keyof Funnel]: string } & { operator: string | null; is_total: number };

export async function campaignFunnel(db: Db, campaignId: number): Promise<CampaignFunnel> {
  const result = await db.execute<Row>(sql`
    with s as (
      select id, coalesce(operator, ${UNTAGGED_OPERATOR}) as operator, status
      from mail_sends where campaign_id = ${campaignId} and kind = 'campaign'
    ), ev as (
      select e.send_id,
             bool_or(e.kind in ('open', 'click') and not e.automated) as opened,
             bool_or(e.kind = 'click' and not e.automated) as clicked,
             count(*) filter (where e.kind = 'click' and e.automated) as automated_clicks,
             bool_or(e.kind = 'unsubscribe') as unsubscribed
      from mail_events e join s on s.id = e.send_id
      group by e.send_id
    ), co as (
      select distinct k.campaign_send_id as send_id from checkouts k join s on s.id = k.campaign_send_id
    ), po as (
      select distinct o.campaign_send_id as send_id from orders o join s on s.id = o.campaign_send_id
      where o.status = any(${sql.param([...PAID_STATUSES])}::text[])
    )
    select s.operator,
           grouping(s.operator) as is_total,
           count(*) filter (where s.status in ('queued', 'deferred'))::text as queued,
           count(*) filter (where s.status in ('accepted', 'delivered', 'bounced', 'complained', 'unknown'))::text as sent,
           count(*) filter (where s.status in ('accepted', 'delivered', 'complained', 'unknown'))::text as delivered,
           count(*) filter (where ev.opened)::text as opened,
           count(*) filter (where ev.clicked)::text as clicked,
           coalesce(sum(ev.automated_clicks), 0)::text as "automatedClicks",
           count(co.send_id)::text as "checkoutStarted",
           count(po.send_id)::text as paid,
           count(*) filter (where ev.unsubscribed)::text as unsubscribed,
           count(*) filter (where s.status = 'bounced')::text as bounced
    from s
    left join ev on ev.send_id = s.id
    left join co on co.send_id = s.id
    left join po on po.send_id = s.id
    group by grouping sets ((), (s.operator))
    order by grouping(s.operator) desc, s.operator`);

  const funnel = (row: Row | undefined): Funnel => ({
    queued: Number(row?.queued ?? 0),
    sent: Number(row?.sent ?? 0),
    delivered: Number(row?.delivered ?? 0),
    opened: Number(row?.opened ?? 0),
    clicked: Number(row?.clicked ?? 0),
    automatedClicks: Number(row?.automatedClicks ?? 0),
    checkoutStarted: Number(row?.checkoutStarted ?? 0),
    paid: Number(row?.paid ?? 0),
    unsubscribed: Number(row?.unsubscribed ?? 0),
    bounced: Number(row?.bounced ?? 0),
  });
  const totalRow = result.rows.find((r) => Number(r.is_total) === 1);
  return {
    totals: funnel(totalRow),
    byOperator: result.rows
      .filter((r) => Number(r.is_total) === 0)
      .map((r) => ({ operator: r.operator ?? UNTAGGED_OPERATOR, ...funnel(r) })),
  };
}
