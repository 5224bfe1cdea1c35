import { dispatchQueue } from "../queues/dispatch";
import { app } from "./app";
import { handleEmail } from "./email-handler";
import type { Env } from "./env";
import { installFastImmediate } from "./platform/fast-immediate";
import { runScheduled } from "./scheduled";

// Before anything composes mail: workerd's setImmediate costs a timer turn (fast-immediate.ts).
installFastImmediate();

export { MxThrottle } from "../durable-objects/mx-throttle";
export { OrderMachine } from "../durable-objects/order-machine";

/** Docket's Worker: five entry points (DESIGN.md, "One Worker, five entry points"). */
export default {
  fetch: app.fetch,
  queue: dispatchQueue,
  scheduled: runScheduled,
  email: handleEmail,
} satisfies ExportedHandler<Env, unknown>;
