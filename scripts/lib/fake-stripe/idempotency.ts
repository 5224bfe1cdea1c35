import { StripeApiError } from "./api-error";
import type { FormObject, FormValue } from "./form-encoding";
import type { FakeStripeState } from "./state";

/**
 * `Idempotency-Key` as Stripe's API v1 honours it (https://docs.stripe.com/api/idempotent_requests):
 * the status and body of the first request with a key are saved once the endpoint has run, and
 * a retry with the same key gets them back (header `Idempotent-Replayed: true`) without running
 * again; the same key with other parameters, or on another endpoint, is refused with
 * `idempotency_error` (400). Requests that fail validation are not saved, so a corrected retry
 * may reuse the key. Keys are forgotten after 24 hours, and are scoped to the API key.
 */

const KEY_TTL_SECONDS = 24 * 3600;
const MAX_KEY_LENGTH = 255;

export interface ApiResponse {
  status: number;
  body: string;
}

function canonical(value: FormValue): unknown {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(canonical);
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, canonical(value[k]!)]),
  );
}

/** Only results of an endpoint that ran are saved: successes, 402s, server errors. */
function saved(status: number): boolean {
  return status < 400 || status === 402 || status >= 500;
}

export function withIdempotency(
  state: FakeStripeState,
  opts: { apiKey: string; key: string | undefined; method: string; path: string; params: FormObject; now: number },
  run: () => ApiResponse,
): ApiResponse & { replayed: boolean } {
  const { key } = opts;
  if (key === undefined || opts.method !== "POST") return { ...run(), replayed: false };
  if (key.length > MAX_KEY_LENGTH) {
    throw new StripeApiError(
      400,
      "invalid_request_error",
      `Idempotency-Key is too long (${key.length} characters; the maximum is ${MAX_KEY_LENGTH}).`,
    );
  }
  for (const [k, entry] of Object.entries(state.idempotency)) {
    if (opts.now - entry.createdAt > KEY_TTL_SECONDS) delete state.idempotency[k];
  }
  const slot = `${opts.apiKey}\u0000${key}`;
  const fingerprint = JSON.stringify(canonical(opts.params));
  const stored = state.idempotency[slot];
  if (stored) {
    if (stored.method !== opts.method || stored.path !== opts.path) {
      throw new StripeApiError(
        400,
        "idempotency_error",
        `Keys for idempotent requests can only be used for the same endpoint they were first used for ` +
          `('${stored.method} ${stored.path}' vs '${opts.method} ${opts.path}'). Try using a key other than '${key}' if you meant to execute a different request.`,
      );
    }
    if (stored.fingerprint !== fingerprint) {
      throw new StripeApiError(
        400,
        "idempotency_error",
        `Keys for idempotent requests can only be used with the same parameters they were first used with. ` +
          `Try using a key other than '${key}' if you meant to execute a different request.`,
      );
    }
    return { status: stored.status, body: stored.body, replayed: true };
  }
  const response = run();
  if (saved(response.status)) {
    state.idempotency[slot] = {
      method: opts.method,
      path: opts.path,
      fingerprint,
      status: response.status,
      body: response.body,
      createdAt: opts.now,
    };
  }
  return { ...response, replayed: false };
}
