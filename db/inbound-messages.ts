import { and, eq, inArray, ne, sql } from "drizzle-orm";
import type { Db } from "./client";
import { inboundMessages, INBOUND_KINDS } from "./schema";

export type NewInboundMessage = typeof inboundMessages.$inferInsert;
export type InboundMessageRow = typeof inboundMessages.$inferSelect;
export type InboundKind = (typeof INBOUND_KINDS)[number];

/** Records an inbound message once per R2 key and returns its row (new or existing). */
export async function recordInboundMessage(db: Db, row: NewInboundMessage): Promise<InboundMessageRow> {
  await db.insert(inboundMessages).values(row).onConflictDoNothing();
  const [stored] = await db.select().from(inboundMessages).where(eq(inboundMessages.r2Key, row.r2Key));
  if (!stored) throw new Error(`inbound message ${row.r2Key} vanished after insert`);
  return stored;
}

/** Another copy of the same message (same Message-ID and bytes) already processed, if any. */
export async function processedTwin(db: Db, row: InboundMessageRow): Promise<InboundMessageRow | undefined> {
  const [twin] = await db
    .select()
    .from(inboundMessages)
    .where(
      and(
        ne(inboundMessages.id, row.id),
        sql`coalesce(${inboundMessages.messageId}, '') = ${row.messageId ?? ""}`,
        eq(inboundMessages.contentHash, row.contentHash ?? ""),
        inArray(inboundMessages.status, ["processed", "failed"]),
      ),
    )
    .limit(1);
  return twin;
}

export async function finishInboundMessage(
  db: Db,
  id: number,
  result: {
    status: "processed" | "failed" | "duplicate";
    kind?: InboundKind | null;
    detail?: unknown;
    error?: string | null;
  },
): Promise<void> {
  await db
    .update(inboundMessages)
    .set({
      status: result.status,
      kind: result.kind ?? null,
      detail: result.detail ?? null,
      error: result.error ?? null,
      processedAt: sql`now()`,
    })
    .where(eq(inboundMessages.id, id));
}

/** Locks the row for the processing transaction and returns its current state. */
export async function lockInboundMessage(db: Db, id: number): Promise<InboundMessageRow | undefined> {
  const [row] = await db.select().from(inboundMessages).where(eq(inboundMessages.id, id)).for("update");
  return row;
}

export async function getInboundMessage(db: Db, id: number): Promise<InboundMessageRow | undefined> {
  const [row] = await db.select().from(inboundMessages).where(eq(inboundMessages.id, id));
  return row;
}
