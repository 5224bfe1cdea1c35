import type { Db } from "./client";
import { inboundMessages } from "./schema";

export type NewInboundMessage = typeof inboundMessages.$inferInsert;

/** Records an inbound message once per R2 key; true when this call recorded it. */
export async function recordInboundMessage(db: Db, row: NewInboundMessage): Promise<boolean> {
  const inserted = await db.insert(inboundMessages).values(row).onConflictDoNothing().returning({ id: inboundMessages.id });
  return inserted.length > 0;
}
