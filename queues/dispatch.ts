import { openDb, type DbHandle } from "../db/client";
import { recordDeadLetter } from "../db/dead-letters";
import { deadLetterSource, retryDelaySeconds } from "../domain/queues/queue-messages";
import { appConfig, type Env } from "../workers/env";
import type { ConsumerContext, QueueConsumer } from "./consumer";
import { recordDeadLetters } from "./dead-letter-consumer";
import { fulfillmentConsumer } from "./fulfillment-consumer";
import { inboundMailConsumer } from "./inbound-mail-consumer";
import { filingsConsumer } from "./filings-consumer";
import { campaignSendConsumer } from "./campaign-send-consumer";

/** One consumer per queue, by queue name. Dead-letter queues (`*-dlq`) are handled apart. */
export const CONSUMERS: Record<string, QueueConsumer> = Object.fromEntries(
  [campaignSendConsumer, fulfillmentConsumer, filingsConsumer, inboundMailConsumer].map((c) => [
    c.queue,
    c as QueueConsumer,
  ]),
);

function log(level: "info" | "warn" | "error", event: string, fields: Record<string, unknown>) {
  const line = JSON.stringify({ level, event, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/**
 * The Worker's `queue` entry point. Each message is acked or retried on its own, so one bad
 * message neither blocks nor repeats its batch-mates:
 * - a body its consumer's schema rejects can never succeed: it is recorded as a dead letter
 *   at once and acked;
 * - a handler error is retried with backoff; after the queue's max_retries Cloudflare moves
 *   it to the dead-letter queue, whose consumer records it.
 */
export async function dispatchQueue(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void> {
  const config = appConfig(env);
  let handle: DbHandle | undefined;
  const db = () => (handle ??= openDb(config)).db;
  try {
    const source = deadLetterSource(batch.queue);
    if (source) {
      await recordDeadLetters(db(), source, batch.messages);
      return;
    }
    const consumer = CONSUMERS[batch.queue];
    if (!consumer) {
      // A binding without a consumer is a deploy mistake: keep the messages, shout.
      log("error", "queue_without_consumer", { queue: batch.queue, messages: batch.messages.length });
      batch.retryAll();
      return;
    }
    const valid: { message: Message<unknown>; body: unknown }[] = [];
    for (const message of batch.messages) {
      const parsed = consumer.schema.safeParse(message.body);
      if (!parsed.success) {
        const reason = parsed.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ");
        await recordDeadLetter(db(), {
          queue: batch.queue,
          messageId: message.id,
          body: message.body,
          attempts: message.attempts,
          note: `invalid body: ${reason}`.slice(0, 2000),
        });
        log("warn", "queue_message_invalid", { queue: batch.queue, messageId: message.id, reason });
        message.ack();
        continue;
      }
      valid.push({ message, body: parsed.data });
    }
    const failed = (message: Message<unknown>, error: unknown) => {
      const delaySeconds = retryDelaySeconds(message.attempts, config.QUEUE_RETRY_BASE_SECONDS);
      log("warn", "queue_message_failed", {
        queue: batch.queue,
        messageId: message.id,
        attempts: message.attempts,
        error: error instanceof Error ? error.message : String(error),
      });
      message.retry(delaySeconds === undefined ? undefined : { delaySeconds });
    };
    if (consumer.handleBatch) {
      const settled = new Set<string>();
      const items = valid.map(({ message, body }) => ({
        body,
        messageId: message.id,
        attempts: message.attempts,
        ack: () => {
          settled.add(message.id);
          message.ack();
        },
        retry: (options?: { delaySeconds?: number }) => {
          settled.add(message.id);
          message.retry(options);
        },
      }));
      try {
        await consumer.handleBatch(items, { env, config, db });
      } catch (error) {
        for (const { message } of valid) if (!settled.has(message.id)) failed(message, error);
      }
      return;
    }
    for (const { message, body } of valid) {
      const context: ConsumerContext = { env, config, db, messageId: message.id, attempts: message.attempts };
      try {
        await consumer.handle(body, context);
        message.ack();
      } catch (error) {
        failed(message, error);
      }
    }
  } finally {
    if (handle) ctx.waitUntil(handle.close());
  }
}
