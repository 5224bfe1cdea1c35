import { recordDeadLetter } from "../db/dead-letters";
import type { Db } from "../db/client";

/**
 * Records each message a queue gave up on in `dead_letters`, under the source queue's name and
 * the message's own id, so the operator sees it and can replay it. Recording is idempotent.
 */
export async function recordDeadLetters(
  db: Db,
  sourceQueue: string,
  messages: readonly Message<unknown>[],
): Promise<void> {
  for (const message of messages) {
    await recordDeadLetter(db, {
      queue: sourceQueue,
      messageId: message.id,
      body: message.body,
      attempts: message.attempts,
      note: "retries exhausted",
    });
    console.warn(JSON.stringify({ level: "warn", event: "dead_letter", queue: sourceQueue, messageId: message.id }));
    message.ack();
  }
}
