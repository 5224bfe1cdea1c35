import { sql } from "drizzle-orm";
import type { Db } from "../../db/client";

/**
 * Campaigns whose schedule ended before `now` are finished, and whatever they still had queued
 * is withdrawn (a send after the campaign's end date is one nobody approved).
 */
export async function finishEndedCampaigns(db: Db, now: Date): Promise<number[]> {
  const today = now.toISOString().slice(0, 10);
  const result = await db.execute<{ id: string }>(sql`
    with ended as (
      update campaigns set status = 'finished', finished_at = now(), updated_at = now()
      where status in ('approved', 'running', 'paused')
        and schedule->>'endOn' is not null and schedule->>'endOn' < ${today}
      returning id
    ), withdrawn as (
      update mail_sends set status = 'cancelled', cancel_reason = 'campaign finished', next_attempt_at = null
      where campaign_id in (select id from ended) and status in ('queued', 'deferred')
    )
    select id::text as id from ended`);
  return result.rows.map((r) => Number(r.id));
}
