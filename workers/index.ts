import { dispatchQueue } from "../queues/dispatch";
import { app } from "./app";
import { handleEmail } from "./email-handler";
import type { Env } from "./env";
import { runScheduled } from "./scheduled";

export { MxThrottle } from "../durable-objects/mx-throttle";
export { OrderMachine } from "../durable-objects/order-machine";

/** Docket's Worker: five entry points (DESIGN.md, "One Worker, five entry points"). */
export default {
  fetch: app.fetch,
  queue: dispatchQueue,
  scheduled: runScheduled,
  email: handleEmail,
} satisfies ExportedHandler<Env, unknown>;
