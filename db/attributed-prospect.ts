import { sql } from "drizzle-orm";
import type { Db } from "./client";

/**
 * What a service page may prefill for a visitor whose tracked campaign click set the
 * `docket_send` cookie: the public identifiers of the prospect that send went to, nothing else.
 * The recipient's address, the send's status and every other public field stay out, so a
 * forwarded mail (or a shared browser) reveals no more than the mail itself already said.
 */

export interface AttributedProspect {
  usdotNumber?: string;
  legalName?: string;
}

type Row = { usdot_number: string | null; legal_name: string | null };

function present(value: string | null): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** The prospect of campaign send `sendId`, or undefined when it is not a campaign send or has none. */
export async function attributedProspect(db: Db, sendId: number): Promise<AttributedProspect | undefined> {
  // ->> gives text for a string or a number alike (the FMCSA import may store either).
  const result = await db.execute<Row>(sql`
    select p.fields ->> 'usdot_number' as usdot_number, p.fields ->> 'legal_name' as legal_name
    from mail_sends s
    join prospects p on p.id = s.prospect_id
    where s.id = ${sendId} and s.kind = 'campaign' and s.campaign_id is not null`);
  const row = result.rows[0];
  if (row === undefined) return undefined;
  const usdotNumber = present(row.usdot_number);
  const legalName = present(row.legal_name);
  return { ...(usdotNumber ? { usdotNumber } : {}), ...(legalName ? { legalName } : {}) };
}
