import type { EventRecord } from "./state";
import { stripeSignatureHeader } from "./webhook-signature";

/**
 * Posts events to the webhook endpoint the way Stripe does
 * (https://docs.stripe.com/webhooks): a POST of the event's JSON with `Stripe-Signature`; any
 * answer outside 2xx (3xx included: redirects are not followed), a timeout or a refused
 * connection is a failed attempt, retried later with exponential backoff. Stripe keeps trying
 * for up to three days (https://docs.stripe.com/webhooks/process-undelivered-events); the fake
 * stops after a bounded number of attempts, seconds apart, so a test sees the whole sequence.
 */

export interface DeliveryAttempt {
  /** 1 for the first attempt of a delivery, 2 for its first retry… */
  attempt: number;
  at: string;
  url: string | null;
  /** The endpoint's HTTP status; null when no response came (refused, timed out). */
  status: number | null;
  error?: string;
  durationMs: number;
  /** A replay or a batch delivery asked for through /__sim, not Stripe's own sending. */
  manual?: boolean;
  /** The start of the endpoint's answer, for debugging. */
  responseBody?: string;
}

export interface WebhookRetryPolicy {
  /** Attempts in all, the first included. Default 4. */
  maxAttempts: number;
  /** Delay before the first retry, doubled for each further one. Default 1000 ms. */
  baseDelayMs: number;
  /** Ceiling of a delay. Default 30 s. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: WebhookRetryPolicy = { maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 30_000 };

export interface WebhookEndpoint {
  url: string;
  secret: string;
}

const RESPONSE_EXCERPT_CHARS = 500;

export class WebhookDeliverer {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly opts: {
      endpoint: () => WebhookEndpoint | undefined;
      retry: WebhookRetryPolicy;
      timeoutMs: number;
      changed: () => void;
      log: (line: string) => void;
    },
  ) {}

  /**
   * One attempt now; on failure, with `retry`, further attempts later (not awaited).
   * Resolves with the first attempt.
   */
  send(record: EventRecord, options: { retry: boolean; manual?: boolean }): Promise<DeliveryAttempt> {
    const run = this.attempt(record, 1, options);
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
    return run;
  }

  /** Sends several, at most `concurrency` at a time, in the order given. */
  async sendMany(
    records: EventRecord[],
    options: { retry: boolean; manual?: boolean; concurrency: number },
  ): Promise<DeliveryAttempt[]> {
    const results: DeliveryAttempt[] = new Array<DeliveryAttempt>(records.length);
    let next = 0;
    const worker = async () => {
      while (next < records.length) {
        const i = next++;
        results[i] = await this.send(records[i]!, options);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, records.length)) }, worker));
    return results;
  }

  private async attempt(
    record: EventRecord,
    attempt: number,
    options: { retry: boolean; manual?: boolean },
  ): Promise<DeliveryAttempt> {
    const result = await this.post(record, attempt, options.manual === true);
    record.deliveries.push(result);
    const ok = result.status !== null && result.status >= 200 && result.status < 300;
    if (ok) {
      record.status = "delivered";
    } else if (options.retry && attempt < this.opts.retry.maxAttempts && !this.closed) {
      record.status = "retrying";
      const delay = Math.min(this.opts.retry.baseDelayMs * 2 ** (attempt - 1), this.opts.retry.maxDelayMs);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (this.closed) return;
        const run = this.attempt(record, attempt + 1, options);
        this.inFlight.add(run);
        void run.finally(() => this.inFlight.delete(run));
      }, delay);
      this.timers.add(timer);
    } else if (!options.manual) {
      // A failed replay says nothing about Stripe's own sending: only that marks the event failed.
      record.status = "failed";
    }
    this.opts.changed();
    return result;
  }

  private async post(record: EventRecord, attempt: number, manual: boolean): Promise<DeliveryAttempt> {
    const at = new Date();
    const started = performance.now();
    const endpoint = this.opts.endpoint();
    const base = { attempt, at: at.toISOString(), ...(manual ? { manual } : {}) };
    if (!endpoint) return { ...base, url: null, status: null, error: "no webhook endpoint configured", durationMs: 0 };
    try {
      const response = await fetch(endpoint.url, {
        method: "POST",
        headers: {
          "content-type": "application/json; charset=utf-8",
          "stripe-signature": stripeSignatureHeader(record.payload, endpoint.secret),
          "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
          accept: "*/*; q=0.5, application/xml",
          "cache-control": "no-cache",
        },
        body: record.payload,
        redirect: "manual",
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      const text = await response.text().catch(() => "");
      const durationMs = Math.round(performance.now() - started);
      if (response.status < 200 || response.status >= 300) {
        this.opts.log(
          `fake stripe: ${record.event.type} ${record.event.id} → ${endpoint.url} answered ${response.status} (attempt ${attempt})`,
        );
      }
      return {
        ...base,
        url: endpoint.url,
        status: response.status,
        durationMs,
        responseBody: text.slice(0, RESPONSE_EXCERPT_CHARS),
      };
    } catch (error) {
      const durationMs = Math.round(performance.now() - started);
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      const message =
        (error as Error).name === "TimeoutError"
          ? `timed out after ${this.opts.timeoutMs} ms`
          : (cause ?? (error as Error).message);
      this.opts.log(
        `fake stripe: ${record.event.type} ${record.event.id} → ${endpoint.url} failed: ${message} (attempt ${attempt})`,
      );
      return { ...base, url: endpoint.url, status: null, error: message, durationMs };
    }
  }

  /** Cancels scheduled retries and waits for attempts under way. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.inFlight]);
  }
}
