import { createWriteStream } from "node:fs";
import { mkdir, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { DEMO_DATA, seedDemoData, type SeedReport } from "./demo-data";
import { DEV_ADMIN_EMAIL, ensureDevAdmin } from "./dev-admin";
import { applyConfigOverrides, LOCAL_SMTP_USER, localDevConfig, writeEnvFile, type ConfigKey } from "./dev-vars";
import { startDohResolver } from "./doh-resolver";
import { takeSignalsFromEmbeddedPostgres } from "./embedded-postgres-signals";
import { redactUrl } from "./external-postgres";
import { startFakeStripe } from "./fake-stripe/server";
import { loadOrCreateLocalSecrets } from "./local-secrets";
import { applyMigrations } from "./migrations";
import { isAlive } from "./process-control";
import { startSmtpSink } from "./smtp-sink";
import { startStackDatabase } from "./stack-database";
import { reapLeftovers } from "./stack-leftovers";
import { REPO_ROOT, stackLayout, type StackLayout } from "./stack-layout";
import { acquireStackLock } from "./stack-lock";
import { assertPortsFree, resolveStackPorts, type StackPorts } from "./stack-ports";
import { waitForHttpOk } from "./wait-for-ready";
import { startWranglerDev } from "./wrangler-dev";
import { startWsProxy } from "./ws-proxy";

/**
 * The whole local stack as a library (`npm start`, the bench, the tests): embedded Postgres
 * (or DATABASE_URL's), migrations and demo data, the WebSocket proxy, the SMTP sink and
 * `wrangler dev` wired to all of them, ready once GET /health/deep answers 200. Pieces stop in
 * reverse order; a start that fails stops what it had started before it throws.
 */

export const DATABASE_NAME = "docket";
const HOST = "127.0.0.1";

export interface LocalStackOptions {
  /** DOCKET_* settings and config overrides; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Progress while starting and stopping. */
  log?: (line: string) => void;
  readyTimeoutMs?: number;
  /** Aborting it (Ctrl-C while starting) stops what has started and rejects. */
  signal?: AbortSignal;
}

export interface StackInfo {
  layout: StackLayout;
  ports: StackPorts;
  workerUrl: string;
  /** The Postgres URL the Worker uses (password redacted unless it is the embedded one). */
  databaseUrl: string;
  /** True when this stack runs its own Postgres (no DATABASE_URL in the environment). */
  embeddedPostgres: boolean;
  neonWsProxy: string;
  smtp: { host: string; port: number; httpUrl: string; user: string };
  /** The fake Stripe: API, checkout pages (/checkout/<session>), dashboard (/), simulator (/__sim). */
  stripe: { url: string };
  /** The local DNS-over-HTTPS resolver: its dns-query endpoint, the zone files it answers from and their names. */
  doh: { url: string; zoneFiles: string[]; names: number };
  adminToken: string;
  /** The development admin (POST /api/admin/login); its password is ADMIN_PASSWORD or in the secrets file. */
  admin: { email: string; passwordFromEnv: boolean };
  /** Config keys whose value came from the environment instead of the generated one. */
  overridden: ConfigKey[];
  seed: SeedReport & { defined: number };
  wranglerPgid: number;
  postgresPid?: number;
}

export interface LocalStack {
  info: StackInfo;
  /** Settles when a piece dies on its own (the stack is not stopped by it: call stop()). */
  failed: Promise<Error>;
  /** Where wrangler's further output (the Worker's logs) goes; the log file always gets it. */
  forwardWorkerOutput(fn: ((line: string) => void) | undefined): void;
  /** Stops everything in reverse order and checks no process is left; throws otherwise. */
  stop(): Promise<void>;
}

type Cleanup = { name: string; run: () => Promise<void>; quiet?: boolean };

async function runCleanups(cleanups: Cleanup[], log: (line: string) => void): Promise<string[]> {
  const problems: string[] = [];
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup.run();
      if (!cleanup.quiet) log(`stopped ${cleanup.name}`);
    } catch (error) {
      problems.push(`${cleanup.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  cleanups.length = 0;
  return problems;
}

/** `<data>/dns/*.json`, sorted: extra zones for the local resolver (none when the directory is absent). */
async function localZoneFiles(dataDir: string): Promise<string[]> {
  const dir = join(dataDir, "dns");
  try {
    const names = await readdir(dir);
    return names
      .filter((n) => n.endsWith(".json"))
      .sort()
      .map((n) => join(dir, n));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const signal = options.signal;
  takeSignalsFromEmbeddedPostgres();

  const layout = stackLayout(env);
  await mkdir(layout.logsDir, { recursive: true });
  const cleanups: Cleanup[] = [];
  const shown = (path: string) => {
    const rel = relative(process.cwd(), path);
    return rel === "" ? "." : rel.startsWith("..") ? path : rel;
  };

  const lock = await acquireStackLock(layout.lockFile, layout.dataDir, async (stale) => {
    for (const line of await reapLeftovers(stale, layout)) log(line);
  });
  cleanups.push({ name: "lock", run: () => lock.release(), quiet: true });

  try {
    const ports = await resolveStackPorts(env);
    const externalUrl = env.DATABASE_URL?.trim() || undefined;
    const { postgres: _pgPort, ...others } = ports;
    await assertPortsFree(externalUrl ? others : ports, HOST);
    const secrets = await loadOrCreateLocalSecrets(layout.secretsFile);
    signal?.throwIfAborted();

    if (!externalUrl) log(`postgres: starting on ${HOST}:${ports.postgres} (data in ${shown(layout.postgresDir)})`);
    const database = await startStackDatabase({
      externalUrl,
      dataDir: layout.dataDir,
      postgresDir: layout.postgresDir,
      host: HOST,
      port: ports.postgres,
      database: DATABASE_NAME,
      logFile: join(layout.logsDir, "postgres.log"),
      log,
    });
    cleanups.push({ name: "postgres", run: () => database.stop(), quiet: !database.embedded });
    if (database.pid !== undefined) await lock.update({ postgresPid: database.pid });
    const databaseUrl = database.url;
    const postgresPid = database.pid;
    signal?.throwIfAborted();
    await applyMigrations(databaseUrl);
    const seed = await seedDemoData(databaseUrl);
    log(
      `postgres: migrations applied; demo data: ${DEMO_DATA.length === 0 ? "none defined yet" : `${seed.total} rows upserted`}`,
    );
    const adminPasswordFromEnv = Boolean(env.ADMIN_PASSWORD);
    const devAdmin = await ensureDevAdmin(
      databaseUrl,
      env.ADMIN_EMAIL?.trim() || DEV_ADMIN_EMAIL,
      env.ADMIN_PASSWORD || secrets.adminPassword,
    );
    log(`admin: ${devAdmin.email} ${devAdmin.outcome}`);

    const proxy = await startWsProxy({ port: ports.proxy, target: database.target, host: HOST });
    cleanups.push({ name: "postgres proxy", run: () => proxy.close() });

    // The sink accepts exactly the credentials the Worker is configured with.
    const smtpUser = env.SMTP_USER ?? LOCAL_SMTP_USER;
    const smtpPassword = env.SMTP_PASSWORD ?? secrets.smtpPassword;
    const sinkLog = createWriteStream(join(layout.logsDir, "smtp-sink.log"), { flags: "w" });
    const sink = await startSmtpSink({
      host: HOST,
      smtpPort: ports.smtp,
      httpPort: ports.smtpHttp,
      auth: { user: smtpUser, pass: smtpPassword },
      log: (l: string) => sinkLog.write(`${l}\n`),
    });
    cleanups.push({
      name: "smtp sink",
      run: async () => {
        await sink.close();
        sinkLog.end();
      },
    });
    log(`smtp sink: smtp://${HOST}:${sink.smtpPort}, messages at http://${HOST}:${sink.httpPort}/messages`);

    const workerUrl = `http://${HOST}:${ports.worker}`;
    // Stripe's API stand-in. It accepts the key the Worker uses, signs webhooks to the Worker
    // with the secret the Worker verifies with (both overridable from the environment, like
    // every config key), and keeps its sessions and subscriptions under the data directory.
    const stripeWebhookSecret = env.STRIPE_WEBHOOK_SECRET || secrets.stripeWebhookSecret;
    const stripeLog = createWriteStream(join(layout.logsDir, "fake-stripe.log"), { flags: "w" });
    const stripe = await startFakeStripe({
      host: HOST,
      port: ports.stripe,
      ...(env.STRIPE_SECRET_KEY ? { apiKey: env.STRIPE_SECRET_KEY } : {}),
      webhookUrl: `${workerUrl}/webhooks/stripe`,
      webhookSecret: stripeWebhookSecret,
      dataDir: join(layout.dataDir, "fake-stripe"),
      log: (l: string) => stripeLog.write(`${l}\n`),
    });
    cleanups.push({
      name: "fake stripe",
      run: async () => {
        await stripe.close();
        stripeLog.end();
      },
    });
    log(`fake stripe: ${stripe.url} (checkout pages, dashboard at /), webhooks to ${workerUrl}/webhooks/stripe`);

    // MX lookups (DOH_ENDPOINT) answered from the fixture zone plus any zones under <data>/dns/
    // (e.g. one written for generated prospects), never from the real DNS.
    const zoneFiles = [join(REPO_ROOT, "test/fixtures/dns/zone.json"), ...(await localZoneFiles(layout.dataDir))];
    const doh = await startDohResolver({ host: HOST, port: ports.doh, zoneFiles });
    cleanups.push({ name: "DoH resolver", run: () => doh.stop() });
    log(`DoH resolver: ${doh.url} (${doh.size()} names from ${zoneFiles.map(shown).join(", ")})`);

    const { values, overridden } = applyConfigOverrides(
      localDevConfig({
        workerUrl,
        databaseUrl,
        neonWsProxy: proxy.neonWsProxy,
        smtp: { host: HOST, port: sink.smtpPort, user: smtpUser, password: smtpPassword },
        adminToken: secrets.adminToken,
        customerLinkSecret: secrets.customerLinkSecret,
        adminJwtSecret: secrets.adminJwtSecret,
        trackingLinkSecret: secrets.trackingLinkSecret,
        dohEndpoint: doh.url,
        stripe: { apiBase: stripe.url, secretKey: stripe.apiKey, webhookSecret: stripeWebhookSecret },
      }),
      env,
    );
    await writeEnvFile(layout.devVarsFile, values);
    if (overridden.length > 0) log(`config from the environment: ${overridden.join(", ")}`);
    signal?.throwIfAborted();

    log(`wrangler dev: starting on ${workerUrl}`);
    const wrangler = startWranglerDev({
      cwd: REPO_ROOT,
      ip: HOST,
      port: ports.worker,
      inspectorPort: ports.inspector,
      persistTo: layout.wranglerDir,
      envFile: layout.devVarsFile,
      logFile: join(layout.logsDir, "wrangler.log"),
      env,
    });
    let stopping = false;
    cleanups.push({
      name: "wrangler dev",
      run: async () => {
        stopping = true;
        await wrangler.stop();
      },
    });
    await lock.update({ wranglerPgid: wrangler.pgid });

    const deadPiece = (): string | undefined => {
      if (wrangler.hasExited()) return "wrangler dev exited";
      if (postgresPid !== undefined && !isAlive(postgresPid)) return "Postgres exited";
      return undefined;
    };
    try {
      await waitForHttpOk(`${workerUrl}/health/deep`, {
        timeoutMs: options.readyTimeoutMs ?? 60_000,
        gaveUp: deadPiece,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      const tail = wrangler.tail();
      throw new Error(
        `the Worker did not become ready: ${(error as Error).message}\n` +
          `--- last output of wrangler dev (all of it in ${shown(join(layout.logsDir, "wrangler.log"))}) ---\n${tail}`,
        { cause: error },
      );
    }

    const info: StackInfo = {
      layout,
      ports,
      workerUrl,
      databaseUrl: externalUrl ? redactUrl(databaseUrl) : databaseUrl,
      embeddedPostgres: !externalUrl,
      neonWsProxy: proxy.neonWsProxy,
      smtp: { host: HOST, port: sink.smtpPort, httpUrl: `http://${HOST}:${sink.httpPort}`, user: smtpUser },
      stripe: { url: stripe.url },
      doh: { url: doh.url, zoneFiles: zoneFiles.map(shown), names: doh.size() },
      adminToken: values.ADMIN_TOKEN ?? secrets.adminToken,
      admin: { email: devAdmin.email, passwordFromEnv: adminPasswordFromEnv },
      overridden,
      seed: { ...seed, defined: DEMO_DATA.length },
      wranglerPgid: wrangler.pgid,
      ...(postgresPid !== undefined ? { postgresPid } : {}),
    };
    await lock.update({
      urls: {
        worker: workerUrl,
        smtp: `smtp://${HOST}:${sink.smtpPort}`,
        outbox: `${info.smtp.httpUrl}/messages`,
        proxy: `ws://${proxy.neonWsProxy}`,
        stripe: stripe.url,
        doh: doh.url,
      },
    });

    // Watch for a piece dying on its own while the stack runs.
    let reportFailure: (error: Error) => void = () => {};
    const failed = new Promise<Error>((resolve) => (reportFailure = resolve));
    void wrangler.exited.then(({ code, signal: sig }) => {
      if (!stopping) {
        reportFailure(
          new Error(`wrangler dev exited unexpectedly (${sig ?? `code ${code}`}); last output:\n${wrangler.tail()}`),
        );
      }
    });
    const watch = setInterval(() => {
      if (!stopping && postgresPid !== undefined && !isAlive(postgresPid)) {
        clearInterval(watch);
        reportFailure(
          new Error(
            `Postgres (pid ${postgresPid}) exited unexpectedly; see ${shown(join(layout.logsDir, "postgres.log"))}`,
          ),
        );
      }
    }, 500);
    watch.unref();

    let stopped: Promise<void> | undefined;
    return {
      info,
      failed,
      forwardWorkerOutput: (fn) => wrangler.forward(fn),
      stop() {
        stopped ??= (async () => {
          stopping = true;
          clearInterval(watch);
          wrangler.forward(undefined);
          const problems = await runCleanups(cleanups, log);
          if (problems.length > 0) throw new Error(`the stack did not stop cleanly:\n  ${problems.join("\n  ")}`);
        })();
        return stopped;
      },
    };
  } catch (error) {
    const problems = await runCleanups(cleanups, log);
    if (problems.length > 0) {
      throw new Error(`${(error as Error).message}\nand cleaning up after it failed:\n  ${problems.join("\n  ")}`, {
        cause: error,
      });
    }
    throw error;
  }
}
