import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifySignature } from "../../domain/mta-log/ingest-signature";
import { freePort } from "../../scripts/lib/free-port";

/** The `docket` bin as an operator runs it: `node bin/docket.js …`, in a child process. */

const root = fileURLToPath(new URL("../..", import.meta.url));
// CI checks out ../shared beside the repository; elsewhere the corpus tests are skipped.
const corpora = resolve(root, "../shared/corpora");
const noCorpus = !existsSync(corpora);
const corpusNote = noCorpus ? ` (skipped: no corpus at ${corpora})` : "";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function docket(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(root, "bin/docket.js"), ...args], {
      cwd: root,
      env: { ...process.env, MTA_LOG_HMAC_SECRET: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe(`docket dmarc parse${corpusNote}`, () => {
  it.skipIf(noCorpus)("prints one JSON object per report, and one per failed file, and goes on", async () => {
    const small = join(corpora, "dmarc/!example.com!1538204542!1538463818.xml");
    const large = join(corpora, "dmarc/!large-example.com!1711897200!1711983600.xml");
    const notReport = join(corpora, "dmarc/MANIFEST.txt");
    const run = await docket(["dmarc", "parse", small, notReport, large]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const [first, failed, big] = jsonLines(run.stdout);
    expect(first).toMatchObject({
      file: small,
      org_name: "accurateplastics.com",
      report_id: "example.com:1538463741",
      policy_published: { domain: "example.com", p: "none", sp: "reject", pct: 100 },
      records: [
        {
          source_ip: "12.20.127.122",
          count: 1,
          disposition: "none",
          dkim: "fail",
          spf: "fail",
          dmarc_pass: false,
          header_from: "example.com",
        },
      ],
    });
    expect(failed).toMatchObject({ file: notReport, code: "not_a_report" });
    expect(big).toMatchObject({ file: large, report_id: "example.com:1711897200" });
    expect((big!.records as unknown[]).length).toBe(2286);
  });
});

describe(`docket bounce classify${corpusNote}`, () => {
  it.skipIf(noCorpus)("prints a tab-separated line per recipient", async () => {
    const file = join(corpora, "bounces/maildir/bsd/lhost-amavis-01.eml");
    const run = await docket(["bounce", "classify", file]);
    expect(run.code).toBe(0);
    const fields = run.stdout
      .trimEnd()
      .split("\n")
      .map((l) => l.split("\t"));
    expect(fields).toHaveLength(1);
    expect(fields[0]).toEqual([
      file,
      "1",
      expect.any(String),
      expect.stringMatching(/^$|^[245]\.\d+\.\d+$/),
      expect.stringMatching(/^(true|false)$/),
    ]);
  });
});

describe("docket usage", () => {
  it("help prints the usage on stdout", async () => {
    const run = await docket(["help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^usage: docket <command>/);
    expect(run.stdout).toMatch(/docket dmarc parse FILE/);
    expect(run.stdout).toMatch(/docket mta-log ship --url URL/);
  });

  it("an unknown command, a missing FILE or a stray flag: usage on stderr, exit 2", async () => {
    for (const args of [
      [],
      ["frobnicate"],
      ["dmarc", "explode", "x"],
      ["dmarc", "parse"],
      ["dmarc", "parse", "--fast", "x"],
    ]) {
      const run = await docket(args);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stdout, args.join(" ")).toBe("");
      expect(run.stderr, args.join(" ")).toMatch(/^docket: .+\nusage: docket <command>/);
    }
    expect((await docket(["frobnicate", "now"])).stderr).toMatch(/^docket: unknown command: frobnicate now\n/);
  });
});

describe("docket mta-log ship", () => {
  const SECRET = "ship-test-secret-0123456789abcdef0123";
  let server: Server;
  let url: string;
  let dir: string;
  let answer: { status: number; body: unknown } | undefined;
  const received: { body: string; verified: boolean }[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "docket-cli-"));
    // A stand-in for the endpoint: checks each chunk's signature the way the Worker does.
    server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on("data", (d: Buffer) => parts.push(d));
      req.on("end", () => {
        const body = Buffer.concat(parts);
        void verifySignature(SECRET, req.headers["x-docket-signature"] as string | undefined, body).then((check) => {
          received.push({ body: body.toString("utf8"), verified: check.ok });
          const lines = body.toString("utf8").split("\n").length - 1;
          const reply = answer ?? {
            status: check.ok ? 200 : 401,
            body: check.ok
              ? {
                  lines,
                  deliveries: lines - 1,
                  counted: lines - 1,
                  duplicates: 0,
                  ignored: 1,
                  malformed: 0,
                  errors: [],
                }
              : { error: "UNAUTHORIZED", message: "bad signature" },
          };
          res.writeHead(reply.status, { "content-type": "application/json" }).end(JSON.stringify(reply.body));
        });
      });
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    url = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });

  it("sends the file in signed chunks of whole lines and prints the totals", async () => {
    const lines = Array.from({ length: 7 }, (_, i) => `line ${i + 1} ${"é".repeat(i)}`);
    const file = join(dir, "mail.log");
    await writeFile(file, lines.join("\n")); // no final newline: the last line still goes
    received.length = 0;
    const run = await docket(["mta-log", "ship", "--url", url, "--max-lines", "3", file], {
      MTA_LOG_HMAC_SECRET: SECRET,
    });
    expect(run.stderr).not.toMatch(/docket:/);
    expect(run.code).toBe(0);
    expect(received.map((r) => r.verified)).toEqual([true, true, true]);
    expect(received.map((r) => r.body)).toEqual([
      `${lines.slice(0, 3).join("\n")}\n`,
      `${lines.slice(3, 6).join("\n")}\n`,
      `${lines[6]}\n`,
    ]);
    expect(JSON.parse(run.stdout)).toEqual({
      chunks: 3,
      lines: 7,
      deliveries: 4,
      counted: 4,
      duplicates: 0,
      ignored: 3,
      malformed: 0,
      errors: [],
    });
    expect(run.stderr).toMatch(/lines 1-3: 2 counted/);
  });

  it("numbers malformed lines in the whole file, not the chunk", async () => {
    const file = join(dir, "bad.log");
    await writeFile(file, "a\nb\nc\nd\n");
    answer = {
      status: 200,
      body: {
        lines: 2,
        deliveries: 0,
        counted: 0,
        duplicates: 0,
        ignored: 1,
        malformed: 1,
        errors: [{ line: 2, error: "malformed" }],
      },
    };
    try {
      const run = await docket(["mta-log", "ship", "--url", `${url}/ingest/mta-log`, "--max-lines=2", file], {
        MTA_LOG_HMAC_SECRET: SECRET,
      });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ chunks: 2, malformed: 2, errors: [{ line: 2 }, { line: 4 }] });
    } finally {
      answer = undefined;
    }
  });

  it("fails (exit 1) on a refused upload, and asks for the secret and the URL (exit 2)", async () => {
    const file = join(dir, "one.log");
    await writeFile(file, "x\n");
    const refused = await docket(["mta-log", "ship", "--url", url, file], {
      MTA_LOG_HMAC_SECRET: "the-wrong-secret-0123456789abcdef",
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/HTTP 401 UNAUTHORIZED: bad signature/);

    const noSecret = await docket(["mta-log", "ship", "--url", url, file]);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/MTA_LOG_HMAC_SECRET/);
    const noUrl = await docket(["mta-log", "ship", file], { MTA_LOG_HMAC_SECRET: SECRET });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(/needs --url/);
    const missing = await docket(["mta-log", "ship", "--url", url, join(dir, "absent.log")], {
      MTA_LOG_HMAC_SECRET: SECRET,
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/ENOENT/);
  });
});
