import type { Db } from "./client";
import { bounceEvents } from "./schema";

export type NewBounceEvent = typeof bounceEvents.$inferInsert;

/** Records one recipient of a report once per (inbound message, recipient index); true when new. */
export async function recordBounceEvent(db: Db, event: NewBounceEvent): Promise<boolean> {
  const rows = await db.insert(bounceEvents).values(event).onConflictDoNothing().returning({ id: bounceEvents.id });
  return rows.length > 0;
}
