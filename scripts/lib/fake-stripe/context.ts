import { HANDLED_STRIPE_EVENT_TYPES } from "../../../domain/payments/stripe-event-plan";
import { newId } from "./ids";
import { MAX_EVENTS, type EventRecord, type FakeStripeState, type StateStore } from "./state";
import type { StripeEvent } from "./stripe-objects";
import { apiVersionForStyle, renderForStyle, type InvoiceStyle } from "./views";
import type { WebhookDeliverer } from "./webhook-delivery";

/**
 * What every operation of the fake works with: the state, the settings that can change while
 * it runs, the clock, and event creation. Operations run synchronously (no await between
 * reading and writing the state), so two concurrent requests never see each other half done;
 * the events one request creates are queued and delivered after it, by `dispatch()`.
 */

/**
 * The types a webhook endpoint is subscribed to by default: the ones the platform handles
 * (the same list to enable on the production endpoint in Stripe's dashboard). Other events
 * are still created (GET /v1/events/:id, /__sim/events) but not sent, as with Stripe.
 */
export const DEFAULT_ENABLED_EVENTS: readonly string[] = [
  // The Worker's own list, so the fake can never drift from what the platform handles.
  ...HANDLED_STRIPE_EVENT_TYPES,
  // Sent but ignored by the Worker: proves an unhandled type is recorded and answered 200.
  "payment_intent.payment_failed",
];

export interface FakeStripeConfig {
  webhookUrl: string | undefined;
  webhookSecret: string;
  /** Which invoice fields carry the subscription id in webhook events (views.ts). */
  invoiceStyle: InvoiceStyle;
  /** Event types sent to the endpoint; "*" for all. */
  enabledEvents: "*" | string[];
}

export interface RequestRef {
  id: string | null;
  idempotency_key: string | null;
}

export interface FakeContext {
  readonly state: FakeStripeState;
  readonly config: FakeStripeConfig;
  /** Where the fake answers, e.g. http://127.0.0.1:12111 (the stand-in page's URLs). */
  readonly baseUrl: string;
  /** Unix seconds. */
  now(): number;
  changed(): void;
  emit(type: string, object: object, opts?: { previous?: Record<string, unknown>; request?: RequestRef }): EventRecord;
  /** Delivers the events emitted since the last call, one after another; resolves after each one's first attempt. */
  dispatch(): Promise<void>;
  log(line: string): void;
}

export function createContext(opts: {
  store: StateStore;
  config: FakeStripeConfig;
  deliverer: WebhookDeliverer;
  baseUrl: string;
  log: (line: string) => void;
}): FakeContext {
  const { store, config, deliverer } = opts;
  let queued: EventRecord[] = [];
  const now = () => Math.floor(Date.now() / 1000);
  return {
    get state() {
      return store.state;
    },
    config,
    baseUrl: opts.baseUrl,
    now,
    changed: () => store.changed(),
    log: opts.log,
    emit(type, object, { previous, request } = {}) {
      const state = store.state;
      const enabled = config.enabledEvents === "*" || config.enabledEvents.includes(type);
      const willSend = enabled && config.webhookUrl !== undefined;
      // Stripe renders the event in the endpoint's API version, once, when it is created.
      const style = config.invoiceStyle;
      const event: StripeEvent = {
        id: newId("event"),
        object: "event",
        api_version: apiVersionForStyle(style),
        created: now(),
        data: {
          object: renderForStyle(object as Record<string, unknown>, style),
          ...(previous ? { previous_attributes: renderForStyle(previous, style) } : {}),
        },
        livemode: false,
        pending_webhooks: willSend ? 1 : 0,
        request: request ?? { id: null, idempotency_key: null },
        type,
      };
      const record: EventRecord = {
        seq: state.nextEventSeq++,
        event,
        // Stripe sends the event pretty-printed; verifying against re-serialized JSON would fail.
        payload: JSON.stringify(event, null, 2),
        status: willSend ? "pending" : "not_sent",
        ...(willSend
          ? {}
          : {
              notSentReason: enabled ? "no webhook endpoint configured" : "the endpoint is not subscribed to this type",
            }),
        deliveries: [],
      };
      state.events.push(record);
      if (state.events.length > MAX_EVENTS) state.events.splice(0, state.events.length - MAX_EVENTS);
      if (willSend) queued.push(record);
      store.changed();
      return record;
    },
    async dispatch() {
      const batch = queued;
      queued = [];
      for (const record of batch) await deliverer.send(record, { retry: true });
    },
  };
}
