import { sql } from "drizzle-orm";
import type { Db } from "./client";
import { deadLetters } from "./schema";

export interface DeadLetterInput {
  queue: string;
  messageId: string;
  body: unknown;
  attempts: number;
  note?: string;
}

/** Records a dead letter once per (queue, message id); true when this call recorded it. */
export async function recordDeadLetter(db: Db, input: DeadLetterInput): Promise<boolean> {
  const inserted = await db
    .insert(deadLetters)
    .values({
      queue: input.queue,
      messageId: input.messageId,
      body: input.body ?? null,
      attempts: input.attempts,
      note: input.note ?? null,
    })
    .onConflictDoNothing()
    .returning({ id: deadLetters.id });
  return inserted.length > 0;
}

/** Open dead letters: all, and those first seen since `since`. */
export async function countOpenDeadLetters(db: Db, since: Date): Promise<{ open: number; recent: number }> {
  const [row] = await db
    .select({
      open: sql<number>`count(*)::int`,
      recent: sql<number>`(count(*) filter (where ${deadLetters.firstSeenAt} >= ${since.toISOString()}))::int`,
    })
    .from(deadLetters)
    .where(sql`${deadLetters.resolvedAt} is null`);
  return { open: row?.open ?? 0, recent: row?.recent ?? 0 };
}
