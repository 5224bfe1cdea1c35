import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { startLocalPostgres } from "../scripts/lib/embedded-postgres";
import { dropEmbeddedPostgresExitHook } from "../scripts/lib/embedded-postgres-signals";
import { freePort } from "../scripts/lib/free-port";
import { startDohResolver } from "../scripts/lib/doh-resolver";
import { startHttpCapture } from "../scripts/lib/http-capture";
import { startFakeStripe } from "../scripts/lib/fake-stripe/server";
import { applyMigrations } from "../scripts/lib/migrations";
import { startSmtpSink, startTestSinks } from "../scripts/lib/smtp-sink";
import { startWsProxy } from "../scripts/lib/ws-proxy";
import { SMTP_TEST_AUTH, STRIPE_TEST, TEMPLATE_DATABASE, TEST_DATABASE } from "./support/test-stack";

/**
 * Once per `npm test` run (in Node): a real Postgres (embedded, throwaway data directory), the
 * WebSocket proxy the Neon driver needs, and a real SMTP server. Migrations are applied once
 * to a template database; each test file clones it (test/support/fresh-database.ts).
 */
export default async function setup(project: TestProject) {
  // This setup stops Postgres itself in teardown. embedded-postgres's own exit hooks would
  // otherwise hold the process for their 10 s grace period after a restart, or fail the run's
  // exit code on a natural exit.
  dropEmbeddedPostgresExitHook();
  const dataDir = await mkdtemp(join(tmpdir(), "docket-test-pg-"));
  const pgPort = await freePort();
  let postgres = await startLocalPostgres({ dataDir, port: pgPort, ephemeral: true });
  await postgres.admin(`create database ${TEMPLATE_DATABASE}`);
  await applyMigrations(postgres.url(TEMPLATE_DATABASE));
  await postgres.admin(`create database ${TEST_DATABASE} template ${TEMPLATE_DATABASE}`);
  const proxy = await startWsProxy({ port: await freePort(), target: { host: "127.0.0.1", port: pgPort } });
  const smtp = await startSmtpSink({ smtpPort: await freePort(), httpPort: await freePort(), auth: SMTP_TEST_AUTH });
  // STARTTLS, implicit TLS, a certificate for the wrong name, and deliberately hostile servers.
  const smtpVariants = await startTestSinks({ auth: SMTP_TEST_AUTH });
  // Third-party HTTP endpoints (the Telegram Bot API, alert webhooks) replaced at their boundary.
  const capture = await startHttpCapture({ port: await freePort() });
  // Stripe's API, replaced at its HTTP boundary: the Worker's SDK talks to it (STRIPE_API_BASE).
  // No webhook URL: the Worker under test listens on no port; tests take signed events from
  // POST {url}/__sim/events/:id/signed and post them to the Worker themselves.
  const stripe = await startFakeStripe({
    port: await freePort(),
    apiKey: STRIPE_TEST.secretKey,
    webhookSecret: STRIPE_TEST.webhookSecret,
    webhookRetry: { maxAttempts: 3, baseDelayMs: 50 },
  });
  // DNS over HTTPS (DOH_ENDPOINT) answering MX questions from the fixture zone, for MX tagging.
  const doh = await startDohResolver({
    port: await freePort(),
    zoneFiles: [fileURLToPath(new URL("./fixtures/dns/zone.json", import.meta.url))],
  });

  // Lets workerd tests stop and restart the real Postgres (health must turn red, then green).
  const control = createServer((req, res) => {
    const act = async () => {
      if (req.method === "POST" && req.url === "/postgres/stop") await postgres.stop();
      else if (req.method === "POST" && req.url === "/postgres/start") {
        postgres = await startLocalPostgres({ dataDir, port: pgPort, ephemeral: true });
      } else return 404;
      return 204;
    };
    act().then(
      (status) => res.writeHead(status).end(),
      (error: unknown) => res.writeHead(500).end(String(error)),
    );
  });
  const controlPort = await freePort();
  await new Promise<void>((resolve) => control.listen(controlPort, "127.0.0.1", resolve));
  project.provide("control", { controlUrl: `http://127.0.0.1:${controlPort}` });

  project.provide("pg", {
    port: pgPort,
    adminUrl: postgres.url("postgres"),
    url: postgres.url(TEST_DATABASE),
    wsProxy: proxy.neonWsProxy,
  });
  project.provide("smtp", { host: "127.0.0.1", port: smtp.smtpPort, httpPort: smtp.httpPort, ...SMTP_TEST_AUTH });
  project.provide("smtpStarttls", smtpVariants.provided.smtpStarttls);
  project.provide("smtpStarttlsWrongName", smtpVariants.provided.smtpStarttlsWrongName);
  project.provide("smtpImplicitTls", smtpVariants.provided.smtpImplicitTls);
  project.provide("smtpHostile", smtpVariants.provided.smtpHostile);
  project.provide("capture", { url: capture.url });
  project.provide("stripe", { url: stripe.url, ...STRIPE_TEST });
  project.provide("doh", { url: doh.url });

  return async () => {
    // workerd keeps HTTP connections alive; close them or close() waits for their timeout.
    control.closeAllConnections();
    await new Promise<void>((resolve) => control.close(() => resolve()));
    await capture.close();
    await stripe.close();
    await doh.stop();
    await smtpVariants.close();
    await smtp.close();
    await proxy.close();
    await postgres.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
