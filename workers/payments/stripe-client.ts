import Stripe from "stripe";
import type { AppConfig } from "../../domain/config/app-config";

/**
 * The one Stripe client. In workerd the SDK must use fetch and WebCrypto (no Node http or
 * crypto): `createFetchHttpClient` and `createSubtleCryptoProvider`. Locally and in tests
 * STRIPE_API_BASE points it at the fake (scripts/lib/fake-stripe); production refuses that
 * setting, so the real API is the only one a deployed Worker can talk to.
 */

/**
 * The API version is the one the SDK is built for (stripe v23: 2026-10-28): request and response
 * shapes then match the SDK's types. Webhook payloads follow the endpoint's configured version,
 * so the endpoint must be created with the same one (docs/runbook.md).
 */
export const STRIPE_API_VERSION = Stripe.API_VERSION;

export class StripeNotConfiguredError extends Error {
  constructor() {
    super("STRIPE_SECRET_KEY is not set");
    this.name = "StripeNotConfiguredError";
  }
}

export function createStripe(config: Pick<AppConfig, "STRIPE_SECRET_KEY" | "STRIPE_API_BASE">): Stripe {
  if (!config.STRIPE_SECRET_KEY) throw new StripeNotConfiguredError();
  const base = config.STRIPE_API_BASE ? new URL(config.STRIPE_API_BASE) : undefined;
  return new Stripe(config.STRIPE_SECRET_KEY, {
    httpClient: Stripe.createFetchHttpClient(),
    maxNetworkRetries: 2,
    timeout: 15_000,
    ...(base
      ? {
          host: base.hostname,
          port: Number(base.port || (base.protocol === "https:" ? 443 : 80)),
          protocol: base.protocol.replace(":", "") as "http" | "https",
        }
      : {}),
  });
}

export const stripeCrypto = Stripe.createSubtleCryptoProvider();
