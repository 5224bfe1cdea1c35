import { and, eq, sql } from "drizzle-orm";
import type { Db } from "./client";
import { mailSends, SEND_STATUSES } from "./schema";

export type MailSendRow = typeof mailSends.$inferSelect;
export type NewMailSend = typeof mailSends.$inferInsert;
export type SendStatus = (typeof SEND_STATUSES)[number];

/**
 * Claims a send before the message goes to the relay. Undefined when the same message was
 * already claimed for this recipient: the caller must not send it again.
 */
export async function claimSend(db: Db, send: NewMailSend): Promise<MailSendRow | undefined> {
  const rows = await db
    .insert(mailSends)
    .values({ ...send, recipient: send.recipient.toLowerCase() })
    .onConflictDoNothing()
    .returning();
  return rows[0];
}

export async function recordSendOutcome(
  db: Db,
  id: number,
  outcome: { status: SendStatus; code: number | null; enhanced: string | null; text: string; outcome: string },
): Promise<void> {
  await db
    .update(mailSends)
    .set({
      status: outcome.status,
      smtpCode: outcome.code,
      smtpEnhanced: outcome.enhanced,
      smtpText: outcome.text.slice(0, 2000),
      outcome: outcome.outcome,
      sentAt: outcome.status === "accepted" ? sql`now()` : null,
    })
    .where(eq(mailSends.id, id));
}

export async function findSendById(db: Db, id: number): Promise<MailSendRow | undefined> {
  const [row] = await db.select().from(mailSends).where(eq(mailSends.id, id));
  return row;
}

/** The send of `messageId` to `recipient`, or the only send of that message when the recipient is unknown. */
export async function findSendByMessageId(
  db: Db,
  messageId: string,
  recipient?: string,
): Promise<MailSendRow | undefined> {
  const rows = await db
    .select()
    .from(mailSends)
    .where(
      recipient
        ? and(eq(mailSends.messageId, messageId), eq(mailSends.recipient, recipient.toLowerCase()))
        : eq(mailSends.messageId, messageId),
    )
    .limit(2);
  if (rows.length === 1) return rows[0];
  return undefined;
}

/** What a bounce, delivery report or complaint says about a send afterwards. */
export async function markSendAfterwards(
  db: Db,
  id: number,
  event: { kind: "bounced" | "delivered" | "complained"; reason?: string; outcome?: string | null },
): Promise<void> {
  const at = sql`now()`;
  await db
    .update(mailSends)
    .set(
      event.kind === "bounced"
        ? { status: "bounced", bouncedAt: at, bounceReason: event.reason ?? null, outcome: event.outcome ?? null }
        : event.kind === "delivered"
          ? { status: "delivered", deliveredAt: at }
          : { status: "complained", complainedAt: at },
    )
    .where(eq(mailSends.id, id));
}
