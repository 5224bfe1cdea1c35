import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DeliveryAttempt } from "./webhook-delivery";
import type {
  Charge,
  CheckoutSession,
  Coupon,
  Customer,
  Invoice,
  PaymentIntent,
  Price,
  Product,
  Refund,
  SessionExtras,
  StripeEvent,
  Subscription,
  SubscriptionDiscount,
} from "./stripe-objects";

/**
 * Everything the fake knows, as one plain JSON-able value: kept in memory and, when the fake
 * is given a directory (`npm start`), written there after each change so a restart keeps the
 * sessions, subscriptions and events a developer was working with.
 */

export type EventDeliveryStatus =
  /** Created; its first delivery attempt has not finished. */
  | "pending"
  | "delivered"
  /** The last attempt failed; another is scheduled. */
  | "retrying"
  /** Every attempt failed. */
  | "failed"
  /** Not sent: the endpoint is not subscribed to the type, or no endpoint is configured. */
  | "not_sent";

export interface EventRecord {
  /** Creation order, 1, 2, 3… */
  seq: number;
  event: StripeEvent;
  /** The exact body sent, every time (Stripe sends pretty-printed JSON; the signature covers these bytes). */
  payload: string;
  status: EventDeliveryStatus;
  /** Why it was not sent, when status is not_sent. */
  notSentReason?: string;
  deliveries: DeliveryAttempt[];
}

export interface StoredIdempotentResponse {
  method: string;
  path: string;
  fingerprint: string;
  status: number;
  body: string;
  createdAt: number;
}

export interface FakeStripeState {
  version: 1;
  customers: Record<string, Customer>;
  products: Record<string, Product>;
  prices: Record<string, Price>;
  checkoutSessions: Record<string, CheckoutSession>;
  sessionExtras: Record<string, SessionExtras>;
  paymentIntents: Record<string, PaymentIntent>;
  charges: Record<string, Charge>;
  refunds: Record<string, Refund>;
  subscriptions: Record<string, Subscription>;
  subscriptionDiscounts: Record<string, SubscriptionDiscount>;
  invoices: Record<string, Invoice>;
  coupons: Record<string, Coupon>;
  events: EventRecord[];
  /** Keyed by API key and Idempotency-Key. */
  idempotency: Record<string, StoredIdempotentResponse>;
  nextEventSeq: number;
}

export function emptyState(): FakeStripeState {
  return {
    version: 1,
    customers: {},
    products: {},
    prices: {},
    checkoutSessions: {},
    sessionExtras: {},
    paymentIntents: {},
    charges: {},
    refunds: {},
    subscriptions: {},
    subscriptionDiscounts: {},
    invoices: {},
    coupons: {},
    events: [],
    idempotency: {},
    nextEventSeq: 1,
  };
}

const SNAPSHOT_FILE = "fake-stripe.json";
const SAVE_DELAY_MS = 200;
/** Events kept (the oldest go first); a long `npm start` session should not grow without bound. */
export const MAX_EVENTS = 5000;

export interface StateStore {
  state: FakeStripeState;
  /** Call after a change; the snapshot is written shortly after (debounced). */
  changed(): void;
  /** Writes a pending snapshot now. */
  flush(): void;
  /** Forgets everything (and writes the empty snapshot). */
  reset(): void;
}

export function openStateStore(dir: string | undefined, log: (line: string) => void): StateStore {
  const file = dir ? join(dir, SNAPSHOT_FILE) : undefined;
  let state = emptyState();
  if (file) {
    mkdirSync(dir!, { recursive: true });
    try {
      const loaded = JSON.parse(readFileSync(file, "utf8")) as Partial<FakeStripeState>;
      if (loaded.version === 1) {
        state = { ...emptyState(), ...loaded };
        // Retries were scheduled by the previous process; they do not survive it.
        for (const record of state.events)
          if (record.status === "pending" || record.status === "retrying") record.status = "failed";
        log(
          `fake stripe: loaded ${Object.keys(state.checkoutSessions).length} sessions, ${state.events.length} events from ${file}`,
        );
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        log(`fake stripe: ignoring unreadable snapshot ${file} (${(error as Error).message})`);
      }
    }
  }
  let timer: NodeJS.Timeout | undefined;
  const write = () => {
    timer = undefined;
    if (!file) return;
    if (state.events.length > MAX_EVENTS) state.events.splice(0, state.events.length - MAX_EVENTS);
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
    renameSync(tmp, file);
  };
  const store: StateStore = {
    get state() {
      return state;
    },
    changed() {
      if (!file || timer) return;
      timer = setTimeout(write, SAVE_DELAY_MS);
      timer.unref();
    },
    flush() {
      if (timer) clearTimeout(timer);
      write();
    },
    reset() {
      state = emptyState();
      store.changed();
    },
  };
  return store;
}
