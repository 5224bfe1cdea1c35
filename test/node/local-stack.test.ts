import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deadLetters } from "../../db/schema";
import { APP_CONFIG_KEYS } from "../../domain/config/app-config";
import { demoRows, seedDemoData } from "../../scripts/lib/demo-data";
import { freePort } from "../../scripts/lib/free-port";
import { groupAlive, isAlive } from "../../scripts/lib/process-control";
import { BANNER_TITLE } from "../../scripts/lib/stack-banner";
import { reapLeftovers } from "../../scripts/lib/stack-leftovers";
import { REPO_ROOT, stackLayout } from "../../scripts/lib/stack-layout";
import type { LockInfo } from "../../scripts/lib/stack-lock";

/**
 * `npm start` end to end: the real script in a child process (node + tsx, as npm runs it),
 * on a throwaway data directory and free ports, with a known admin token and SMTP password.
 */

interface StartProcess {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnStart(env: NodeJS.ProcessEnv): StartProcess {
  // Detached: its own process group, so a failed test can still stop it and its Postgres.
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  const waiters = new Set<() => void>();
  const append = (chunk: Buffer) => {
    text += chunk.toString("utf8");
    for (const wake of waiters) wake();
  };
  child.stdout!.on("data", append);
  child.stderr!.on("data", append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      resolve({ code, signal });
      for (const wake of waiters) wake();
    }),
  );
  return {
    child,
    output: () => text,
    exited,
    waitFor(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(text);
          if (match) return done(() => resolve(match));
          if (child.exitCode !== null || child.signalCode !== null) {
            return done(() =>
              reject(new Error(`npm start exited (${child.exitCode ?? child.signalCode}) before ${pattern}:\n${text}`)),
            );
          }
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${text}`))),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Processes whose command line names this stack's data directory or Worker port. */
function stackProcesses(dataDir: string, workerPort: number): string[] {
  const out = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return out
    .split("\n")
    .filter(
      (line) =>
        line.includes(dataDir) ||
        line.includes(`127.0.0.1:${workerPort} `) ||
        line.includes(`entry=127.0.0.1:${workerPort}`),
    )
    .filter((line) => !line.includes("ps -eo"));
}

async function stopAndWait(proc: StartProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  proc.child.kill("SIGINT");
  return await proc.exited;
}

describe("npm start: the local stack", () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let ports: { worker: number; pg: number; proxy: number; smtp: number; smtpHttp: number };
  let workerUrl: string;
  let outboxUrl: string;
  let databaseUrl: string;
  const adminToken = `test-admin-${randomBytes(16).toString("hex")}`;
  // Quotes, `$NAME` and a backslash: the env file must carry it to the Worker unchanged, or
  // the Worker's AUTH against the sink fails.
  const smtpPassword = `pa$HOME'"\\$x-${randomBytes(4).toString("hex")}`;
  const running: StartProcess[] = [];

  const start = () => {
    const proc = spawnStart(env);
    running.push(proc);
    return proc;
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "docket-local-stack-"));
    ports = {
      worker: await freePort(),
      pg: await freePort(),
      proxy: await freePort(),
      smtp: await freePort(),
      smtpHttp: await freePort(),
    };
    // The stack must see only what this test sets: no config key leaks in from the outside
    // (a DATABASE_URL there would make it use another Postgres).
    const base = { ...process.env };
    for (const key of APP_CONFIG_KEYS) delete base[key];
    env = {
      ...base,
      DOCKET_DATA_DIR: dataDir,
      DOCKET_PORT: String(ports.worker),
      DOCKET_PG_PORT: String(ports.pg),
      DOCKET_PROXY_PORT: String(ports.proxy),
      DOCKET_SMTP_PORT: String(ports.smtp),
      DOCKET_SMTP_HTTP_PORT: String(ports.smtpHttp),
      DOCKET_INSPECTOR_PORT: "0",
      DOCKET_STRIPE_PORT: "0",
      DOCKET_DOH_PORT: "0",
      ADMIN_TOKEN: adminToken,
      SMTP_PASSWORD: smtpPassword,
    };
    workerUrl = `http://127.0.0.1:${ports.worker}`;
    outboxUrl = `http://127.0.0.1:${ports.smtpHttp}`;
  });

  afterAll(async () => {
    // Whatever happened above, nothing of this stack may outlive the test.
    for (const proc of running) {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) continue;
      proc.child.kill("SIGINT");
      const stopped = await Promise.race([
        proc.exited.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 30_000)),
      ]);
      if (!stopped && proc.child.pid && groupAlive(proc.child.pid)) process.kill(-proc.child.pid, "SIGKILL");
    }
    const layout = stackLayout({ DOCKET_DATA_DIR: dataDir });
    const lock = await readFile(layout.lockFile, "utf8").then(
      (t) => JSON.parse(t) as LockInfo,
      () => undefined,
    );
    if (lock) await reapLeftovers(lock, layout);
    await rm(dataDir, { recursive: true, force: true });
  });

  it("starts Postgres, the proxy, the SMTP sink and wrangler dev, then prints one banner", async () => {
    const first = start();
    await first.waitFor(new RegExp(`${BANNER_TITLE}[\\s\\S]*─{20,}\\n(?:[^\\n]*\\n)*?─{20,}`), 90_000);
    const out = first.output();
    expect(out.split(BANNER_TITLE)).toHaveLength(2);
    for (const url of [
      workerUrl,
      `${workerUrl}/health/deep`,
      `smtp://127.0.0.1:${ports.smtp}`,
      `${outboxUrl}/messages`,
      `ws://127.0.0.1:${ports.proxy}/v1`,
    ]) {
      expect(out).toContain(url);
    }
    expect(out).toContain(dataDir);
    const match = /postgres:\/\/\S+/.exec(out);
    expect(match).not.toBeNull();
    databaseUrl = match![0];
    expect(new URL(databaseUrl).port).toBe(String(ports.pg));

    const res = await fetch(`${workerUrl}/health/deep`);
    const body = (await res.json()) as { status: string; failing: string[] };
    expect({ status: res.status, body: body.status, failing: body.failing }).toEqual({
      status: 200,
      body: "ok",
      failing: [],
    });

    // The env file holds secrets: owner-only.
    const mode = (await stat(join(dataDir, "dev.vars"))).mode & 0o777;
    expect(mode.toString(8)).toBe("600");
  });

  it("sends a message through the mailer into the SMTP sink", async () => {
    const subject = `local stack check ${randomBytes(4).toString("hex")}`;
    const to = "someone@customer.docket.localhost";
    const res = await fetch(`${workerUrl}/admin/mail/test`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ to, subject }),
    });
    const outcome = (await res.json()) as { status: string };
    expect({ status: res.status, outcome: outcome.status }).toEqual({ status: 200, outcome: "accepted" });

    const list = (await (await fetch(`${outboxUrl}/messages`)).json()) as {
      id: string;
      subject: string | null;
      envelope: { to: string[] };
    }[];
    const sent = list.find((m) => m.subject === subject);
    expect(sent, JSON.stringify(list)).toBeDefined();
    expect(sent!.envelope.to).toEqual([to]);

    const raw = await fetch(`${outboxUrl}/messages/${sent!.id}/raw`);
    expect(raw.status).toBe(200);
    const text = await raw.text();
    expect(text).toContain(`Subject: ${subject}`);
    expect(text).toMatch(new RegExp(`^To: .*${to.replaceAll(".", "\\.")}`, "m"));
  });

  // The shared corpus sits beside the repository (../shared) in CI and on developer machines.
  const dmarcEmail = join(
    REPO_ROOT,
    "..",
    "shared",
    "corpora",
    "dmarc",
    "Report domain- borschow.com Submitter- google.com Report-ID- 949348866075514174.eml",
  );
  it.skipIf(!existsSync(dmarcEmail))(
    "takes a DMARC report e-mailed to it through the email handler into the database",
    async () => {
      const raw = await readFile(dmarcEmail);
      // wrangler dev's local Email Routing endpoint hands the message to the Worker's `email` entry.
      const res = await fetch(
        `${workerUrl}/cdn-cgi/handler/email?from=${encodeURIComponent("noreply-dmarc-support@google.com")}&to=${encodeURIComponent("dmarc@docket.localhost")}`,
        { method: "POST", body: raw },
      );
      expect(res.status, await res.text()).toBeLessThan(300);
      const deadline = Date.now() + 30_000;
      let rows: unknown[] = [];
      while (Date.now() < deadline) {
        rows = await query(
          databaseUrl,
          "select r.org_name, r.report_id, count(d.id)::int as records, sum(d.count)::int as messages from dmarc_reports r join dmarc_records d on d.report_id = r.id where r.report_id = '949348866075514174' group by r.org_name, r.report_id",
        );
        if (rows.length > 0) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(rows).toEqual([{ org_name: "google.com", report_id: "949348866075514174", records: 1, messages: 1 }]);
      const inbound = await query(databaseUrl, "select status, kind from inbound_messages where kind = 'dmarc_report'");
      expect(inbound).toEqual([{ status: "processed", kind: "dmarc_report" }]);
    },
  );

  it("refuses a second start on the same data directory, naming the running one", async () => {
    const second = start();
    const { code } = await second.exited;
    expect(code).toBe(1);
    expect(second.output()).toMatch(/already running from this data directory \(pid \d+/);
    expect(second.output()).toContain(join(dataDir, "start.lock"));
    // The first one is unharmed.
    expect((await fetch(`${workerUrl}/health`)).status).toBe(200);
  });

  it("upserts demo rows on their natural key: a second load updates, never duplicates", async () => {
    const rows = (note: string) => [
      demoRows(
        deadLetters,
        ["queue", "messageId"],
        [{ queue: "fulfillment-dlq", messageId: "local-stack-test", body: { probe: true }, attempts: 3, note }],
      ),
    ];
    expect((await seedDemoData(databaseUrl, rows("first"))).total).toBe(1);
    expect((await seedDemoData(databaseUrl, rows("second"))).total).toBe(1);
    const found = await query(databaseUrl, "select note from dead_letters where message_id = 'local-stack-test'");
    expect(found).toEqual([{ note: "second" }]);
  });

  it("stops everything on SIGINT and leaves no process behind", async () => {
    const first = running[0]!;
    const lock = JSON.parse(await readFile(join(dataDir, "start.lock"), "utf8")) as LockInfo;
    const { code } = await stopAndWait(first);
    expect(code).toBe(0);
    expect(first.output()).toContain("stopped; no process left running");
    expect(stackProcesses(dataDir, ports.worker)).toEqual([]);
    expect(isAlive(lock.postgresPid!)).toBe(false);
    expect(groupAlive(lock.wranglerPgid!)).toBe(false);
    await expect(stat(join(dataDir, "start.lock"))).rejects.toThrow();
  });

  it("starts again on the same data: the rows written before are still there", async () => {
    const again = start();
    await again.waitFor(new RegExp(BANNER_TITLE), 90_000);
    expect((await fetch(`${workerUrl}/health/deep`)).status).toBe(200);
    const found = await query(databaseUrl, "select note from dead_letters where message_id = 'local-stack-test'");
    expect(found).toEqual([{ note: "second" }]);

    // Killed outright, it cannot stop anything: wrangler dev and Postgres stay behind.
    const lock = JSON.parse(await readFile(join(dataDir, "start.lock"), "utf8")) as LockInfo;
    again.child.kill("SIGKILL");
    await again.exited;
    expect(groupAlive(lock.wranglerPgid!)).toBe(true);
    expect(isAlive(lock.postgresPid!)).toBe(true);
  });

  it("takes over the stale lock of a killed start, stopping what it left running", async () => {
    const lock = JSON.parse(await readFile(join(dataDir, "start.lock"), "utf8")) as LockInfo;
    const next = start();
    await next.waitFor(new RegExp(BANNER_TITLE), 90_000);
    expect(next.output()).toContain(
      `stopped wrangler dev (process group ${lock.wranglerPgid}) left by pid ${lock.pid}`,
    );
    expect(next.output()).toContain(`stopped Postgres (pid ${lock.postgresPid}) left running`);
    expect(groupAlive(lock.wranglerPgid!)).toBe(false);
    expect((await fetch(`${workerUrl}/health/deep`)).status).toBe(200);
    expect((await stopAndWait(next)).code).toBe(0);
    expect(stackProcesses(dataDir, ports.worker)).toEqual([]);
  });
});

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}
