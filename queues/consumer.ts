import type { z } from "zod";
import type { AppConfig } from "../domain/config/app-config";
import type { Db } from "../db/client";
import type { Env } from "../workers/env";

/** What a consumer gets besides the message body. The database pool is opened lazily. */
export interface ConsumerContext {
  env: Env;
  config: AppConfig;
  db(): Db;
  messageId: string;
  attempts: number;
}

/**
 * A queue consumer: the message types it accepts (zod schemas, discriminated by `type`) and
 * what it does with each. `handle` must be idempotent: a message can be delivered again.
 */
export interface QueueConsumer<S extends z.ZodType = z.ZodType> {
  queue: string;
  schema: S;
  handle(body: z.infer<S>, ctx: ConsumerContext): Promise<void>;
  /**
   * Optional: the whole batch at once, for consumers that share work across messages. It acks or
   * retries each item itself; if it throws, every item it has not settled is retried.
   */
  handleBatch?(items: BatchItem<z.infer<S>>[], ctx: Omit<ConsumerContext, "messageId" | "attempts">): Promise<void>;
}

export interface BatchItem<T> {
  body: T;
  messageId: string;
  attempts: number;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}
