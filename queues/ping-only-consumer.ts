import { healthPingMessage } from "../domain/queues/queue-messages";
import type { QueueConsumer } from "./consumer";

/**
 * The consumer of a queue whose job types have not been defined yet (campaign sends, filings
 * and fulfillment jobs arrive with the issues that define them). It acks the deep health
 * check's ping; any other body fails the schema and is dead-lettered, never silently dropped.
 */
export function pingOnlyConsumer(queue: string): QueueConsumer<typeof healthPingMessage> {
  return {
    queue,
    schema: healthPingMessage,
    async handle() {
      // Delivery is what a ping proves; acknowledging it is the whole job.
    },
  };
}
