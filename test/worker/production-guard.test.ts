import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { APP_CONFIG_KEYS, loadAppConfig } from "../../domain/config/app-config";
import worker from "../../workers/index";
import { testEnv } from "../support/db";

// A production configuration with every secret real and every dev switch off.
const goodProduction: Record<string, string> = {
  APP_ENV: "production",
  PUBLIC_BASE_URL: "https://filings.acme-compliance.com",
  DATABASE_URL: "postgres://docket:Zk3p9vQ2xL7m@ep-cool-sun-123456.us-east-2.aws.neon.tech/docket",
  ADMIN_TOKEN: "a3f9c2e17b6d4e8f9a0b1c2d3e4f5a6b7c8d9e0f",
  SMTP_PASSWORD: "r5Tg8kLm2Qw9",
  MAIL_FROM: "Acme Compliance <noreply@send.acme-compliance.com>",
  MAIL_SENDING_DOMAIN: "send.acme-compliance.com",
  MAIL_REPLY_TO: "hello@acme-compliance.com",
  OPERATOR_EMAIL: "ops@acme-compliance.com",
  SMTP_HOST: "smtp.relay-provider.net",
  SMTP_PORT: "587",
  SMTP_SECURITY: "starttls",
  SMTP_USER: "acme",
  STRIPE_SECRET_KEY: "sk_live_51Nq8ZpK2vW3xY4z5A6b7C8d9E0f",
  STRIPE_WEBHOOK_SECRET: "whsec_9f8e7d6c5b4a39281706f5e4d3c2b1a0",
  CUSTOMER_LINK_SECRET: "c1f0a9b8e7d6c5b4a3928170f6e5d4c3b2a19081",
  ADMIN_JWT_SECRET: "7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b",
  TRACKING_LINK_SECRET: "5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928",
  OUTREACH_POSTAL_ADDRESS: "Acme Compliance LLC, 1200 Main Street, Suite 400, Dallas, TX 75202",
};

async function fetchWith(overrides: Record<string, string | undefined>, path = "/health") {
  // The test run's bindings (R2, queues, DOs) without any of its configuration: production
  // gets only what goodProduction and the case say.
  const bindings = Object.fromEntries(
    Object.entries(testEnv).filter(([key]) => !(APP_CONFIG_KEYS as string[]).includes(key)),
  );
  const env = { ...bindings, ...goodProduction, ...overrides } as unknown as Cloudflare.Env;
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://filings.acme-compliance.com${path}`), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("the production guard", () => {
  afterEach(() => vi.restoreAllMocks());

  it("serves when production is configured for real", async () => {
    const res = await fetchWith({});
    expect(res.status).toBe(200);
  });

  it.each([
    ["a missing secret", { ADMIN_TOKEN: undefined }, "ADMIN_TOKEN: required in production but not set"],
    ["a placeholder secret", { SMTP_PASSWORD: "change-me" }, "SMTP_PASSWORD: still a placeholder"],
    [
      "a placeholder fragment",
      { DATABASE_URL: "postgres://user:CHANGE_THIS_PASSWORD@db/docket" },
      "DATABASE_URL: still a placeholder",
    ],
    [
      "the payment simulator",
      { DEV_PAYMENT_SIMULATOR: "true" },
      "DEV_PAYMENT_SIMULATOR: the payment simulator is development-only",
    ],
    ["the SMTP sink", { DEV_SMTP_SINK: "1" }, "DEV_SMTP_SINK: the SMTP sink is development-only"],
    [
      "fixture portals",
      { DEV_FIXTURE_PORTALS: "on" },
      "DEV_FIXTURE_PORTALS: fixture agency portals is development-only",
    ],
    ["the local Postgres proxy", { NEON_WS_PROXY: "127.0.0.1:5480/v1" }, "NEON_WS_PROXY"],
    [
      "the local Stripe stand-in",
      { STRIPE_API_BASE: "http://127.0.0.1:12111" },
      "STRIPE_API_BASE: the local Stripe stand-in",
    ],
    [
      "a Stripe test key",
      { STRIPE_SECRET_KEY: "sk_test_51Nq8ZpK2vW3xY4z5A6b7C8d9E0f" },
      "STRIPE_SECRET_KEY: not a live key",
    ],
    ["a missing webhook secret", { STRIPE_WEBHOOK_SECRET: undefined }, "STRIPE_WEBHOOK_SECRET: required in production"],
    ["plaintext SMTP", { SMTP_SECURITY: "none" }, "SMTP_SECURITY: plaintext SMTP is development-only"],
    [
      "a documentation domain",
      { MAIL_SENDING_DOMAIN: "send.docket.example.com" },
      "MAIL_SENDING_DOMAIN: still points at a placeholder",
    ],
  ])("refuses every route with 503 and logs one line for %s", async (_what, overrides, logged) => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    for (const path of ["/health", "/health/deep", "/admin/mail/test", "/anything"]) {
      const res = await fetchWith(overrides, path);
      expect(res.status).toBe(503);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body.error).toBe("SERVICE_MISCONFIGURED");
      // Production never tells the public what is wrong; the log does.
      expect(body.details).toBeUndefined();
    }
    const lines = errors.mock.calls.map((c) => String(c[0]));
    expect(lines.some((l) => l.includes(logged))).toBe(true);
    // No secret value ever reaches the log.
    for (const value of Object.values(overrides)) {
      if (value && value.length > 3 && !/^(true|1|on|none)$/.test(value)) {
        expect(lines.join("\n")).not.toContain(value);
      }
    }
  });

  it("lists every problem at once, one per line", () => {
    const result = loadAppConfig({
      ...goodProduction,
      ADMIN_TOKEN: "short",
      SMTP_PASSWORD: "placeholder",
      DEV_SMTP_SINK: "true",
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      "config SMTP_PASSWORD: still a placeholder",
      "config ADMIN_TOKEN: shorter than 32 characters",
      "config DEV_SMTP_SINK: the SMTP sink is development-only and must be off in production",
    ]);
  });

  it("development may use every stand-in", () => {
    const result = loadAppConfig({
      ...goodProduction,
      APP_ENV: "development",
      DEV_SMTP_SINK: "true",
      DEV_PAYMENT_SIMULATOR: "true",
      SMTP_SECURITY: "none",
      ADMIN_TOKEN: undefined,
    });
    expect(result.ok).toBe(true);
  });

  it("SMTP credentials come in pairs, in any environment", () => {
    const result = loadAppConfig({ ...goodProduction, APP_ENV: "development", SMTP_USER: undefined });
    expect(result).toMatchObject({ ok: false, problems: ["config SMTP_USER/SMTP_PASSWORD: set both or neither"] });
  });

  it("an invalid value is refused in any environment, naming the key", () => {
    const result = loadAppConfig({ ...goodProduction, APP_ENV: "staging" });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]).toMatch(/^config APP_ENV: /);
  });
});
