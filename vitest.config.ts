import { defineConfig } from "vitest/config";
import { trustTestCertificateAuthority } from "./scripts/lib/smtp-sink";

// miniflare reads NODE_EXTRA_CA_CERTS once, when first imported, into workerd's outbound TLS
// trust: point it at the test CA before the plugin (and so miniflare) loads, so the mailer's
// STARTTLS and implicit-TLS paths are verified against a real certificate in the tests.
trustTestCertificateAuthority();
const { cloudflareTest } = await import("@cloudflare/vitest-plugin");

/**
 * Two projects, one global setup (real Postgres, WebSocket proxy, SMTP server):
 * - worker: the Worker in workerd through @cloudflare/vitest-plugin, configured from
 *   wrangler.toml with test overrides pointing at the servers the setup started;
 * - node: scripts and the local stack, in Node.
 */
export default defineConfig({
  test: {
    globalSetup: ["./test/global-setup.ts"],
    projects: [
      {
        extends: true,
        plugins: [
          cloudflareTest(({ inject }) => {
            const pg = inject("pg");
            const smtp = inject("smtp");
            const capture = inject("capture");
            const stripe = inject("stripe");
            return {
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  APP_ENV: "test",
                  PUBLIC_BASE_URL: "http://docket.test",
                  DATABASE_URL: pg.url,
                  NEON_WS_PROXY: pg.wsProxy,
                  ADMIN_TOKEN: "test-admin-token-0123456789abcdef0123",
                  MAIL_FROM: "Docket <noreply@send.docket.test>",
                  MAIL_SENDING_DOMAIN: "send.docket.test",
                  MAIL_REPLY_TO: "hello@docket.test",
                  OPERATOR_EMAIL: "ops@docket.test",
                  SMTP_HOST: smtp.host,
                  SMTP_PORT: String(smtp.port),
                  SMTP_SECURITY: "none",
                  SMTP_USER: smtp.user,
                  SMTP_PASSWORD: smtp.pass,
                  SMTP_TIMEOUT_MS: "5000",
                  DEV_SMTP_SINK: "true",
                  QUEUE_RETRY_BASE_SECONDS: "0",
                  SENDING_NETWORKS: "203.0.113.0/24, 2001:db8:25::/48",
                  // Alert channels: Telegram and the webhook go to the capture server, e-mail to the sink.
                  TELEGRAM_API_BASE: `${capture.url}/telegram`,
                  TELEGRAM_BOT_TOKEN: "123456:test-bot-token",
                  TELEGRAM_CHAT_ID: "-1001234567890",
                  ALERT_WEBHOOK_URL: `${capture.url}/webhook/alerts`,
                  ALERT_EMAIL_TO: "alerts@docket.test",
                  TEST_PG_ADMIN_URL: pg.adminUrl,
                  MTA_LOG_HMAC_SECRET: "test-mta-log-secret-0123456789abcdef",
                  STRIPE_SECRET_KEY: stripe.secretKey,
                  STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
                  STRIPE_API_BASE: stripe.url,
                  DOH_ENDPOINT: inject("doh").url,
                  DEV_PAYMENT_SIMULATOR: "true",
                  ADMIN_JWT_SECRET: "test-admin-jwt-secret-0123456789abcdef",
                  CUSTOMER_LINK_SECRET: "test-customer-link-secret-0123456789ab",
                  TRACKING_LINK_SECRET: "test-tracking-link-secret-0123456789ab",
                  OUTREACH_POSTAL_ADDRESS: "Docket Test Co., 100 Test Street, Springfield, IL 62701",
                  // Far enough back that every operator is past its hold-out; tests of the ramp pass their own day.
                  OUTREACH_WARMUP_START: "2026-01-01",
                  // The order machines' reminders are walked by moving their clocks (test/support/orders.ts).
                  DEV_CLOCK_CONTROL: "true",
                  MTA_INSTANCE_IPS: JSON.stringify({
                    "postfix-out01": "203.0.113.10",
                    "postfix-out02": "203.0.113.11",
                  }),
                },
              },
            };
          }),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          setupFiles: ["./test/support/fresh-database.ts"],
          // Files share one database name (each gets a fresh copy), so they run one at a time.
          fileParallelism: false,
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: "node",
          environment: "node",
          include: ["test/node/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
