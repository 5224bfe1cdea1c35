import { readFileSync } from "node:fs";
import { connect as connectTcp } from "node:net";
import nodemailer from "nodemailer";
import PostalMime from "postal-mime";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/free-port";
import {
  startSmtpSink,
  startTestSinks,
  TEST_CA_PATH,
  testTlsMaterial,
  trustTestCertificateAuthority,
  type SmtpSink,
  type SmtpSinkOptions,
} from "../../scripts/lib/smtp-sink";

// The sink over real SMTP, with nodemailer's SMTP transport as the client, and its HTTP API
// over real HTTP.

const AUTH = { user: "docket", pass: "sink-password" };
const CA = readFileSync(TEST_CA_PATH, "utf8");

const open: SmtpSink[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function sink(options: Partial<SmtpSinkOptions> = {}): Promise<SmtpSink> {
  const s = await startSmtpSink({ smtpPort: await freePort(), httpPort: await freePort(), ...options });
  open.push(s);
  return s;
}

type TransportOptions = Parameters<typeof nodemailer.createTransport>[0] & Record<string, unknown>;

function client(s: SmtpSink, options: Record<string, unknown> = {}) {
  return nodemailer.createTransport({
    host: "127.0.0.1",
    port: s.smtpPort,
    secure: false,
    auth: AUTH,
    // nodemailer upgrades opportunistically when STARTTLS is offered; the plaintext sink
    // offers none, and the TLS tests say what they want explicitly.
    tls: { ca: CA },
    ...options,
  } as TransportOptions);
}

interface Listed {
  id: string;
  envelope: { from: string; to: string[] };
  subject: string | null;
  messageId: string | null;
  date: string;
  size: number;
}

async function getJson<T = unknown>(s: SmtpSink, path: string, method = "GET"): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${s.httpPort}${path}`, { method });
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return { status: res.status, body: (await res.json()) as T };
}

/** Sends and returns the SMTP error nodemailer reports (it must fail). */
async function sendError(transport: ReturnType<typeof client>, mail: Record<string, unknown>) {
  try {
    await transport.sendMail({ from: "noreply@send.docket.test", subject: "x", text: "x", ...mail });
  } catch (error) {
    return error as { responseCode?: number; response?: string; command?: string };
  }
  throw new Error("the send was expected to fail");
}

describe("smtp sink: accepting and keeping mail", () => {
  it("keeps a message sent with AUTH PLAIN and lists it over HTTP, with the raw message", async () => {
    const s = await sink({ auth: AUTH });
    const info = await client(s, { authMethod: "PLAIN" }).sendMail({
      from: "Docket <noreply@send.docket.test>",
      to: "owner@carrier.example",
      subject: "Your BOC-3 filing — ünïcode",
      text: "Hello.\n.leading dot line\n",
    });
    expect(info.response).toMatch(/^250 2\.0\.0 Ok: queued as [0-9a-f-]{36}$/);
    expect(info.accepted).toEqual(["owner@carrier.example"]);

    const { status, body } = await getJson<Listed[]>(s, "/messages");
    expect(status).toBe(200);
    expect(body).toHaveLength(1);
    const listed = body[0]!;
    expect(listed.envelope).toEqual({ from: "noreply@send.docket.test", to: ["owner@carrier.example"] });
    expect(listed.subject).toBe("Your BOC-3 filing — ünïcode");
    expect(listed.messageId).toBe(info.messageId);
    expect(new Date(listed.date).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(listed.size).toBe(s.messages()[0]!.raw.length);
    expect(info.response).toContain(listed.id);

    const raw = await fetch(`http://127.0.0.1:${s.httpPort}/messages/${listed.id}/raw`);
    expect(raw.status).toBe(200);
    expect(raw.headers.get("content-type")).toBe("message/rfc822");
    const bytes = Buffer.from(await raw.arrayBuffer());
    expect(bytes.equals(s.messages()[0]!.raw)).toBe(true);
    // SMTP dot-stuffing was undone: the stored body has the line as the sender wrote it.
    const parsed = await PostalMime.parse(bytes);
    expect(parsed.text).toContain("\n.leading dot line");

    const stored = s.messages()[0]!;
    expect(stored.authenticatedAs).toBe("docket");
    expect(stored.tls).toBe(false);
  });

  it("accepts AUTH LOGIN and keeps the password out of the transcript", async () => {
    const s = await sink({ auth: AUTH });
    await client(s, { authMethod: "LOGIN" }).sendMail({
      from: "a@send.docket.test",
      to: "b@carrier.example",
      subject: "login",
      text: "x",
    });
    expect(s.messages()).toHaveLength(1);
    const { body: sessions } = await getJson<{ transcript: string[]; authenticatedAs: string | null }[]>(
      s,
      "/sessions",
    );
    const transcript = sessions[0]!.transcript;
    expect(transcript).toContain("C: AUTH LOGIN");
    expect(transcript.join("\n")).not.toContain(AUTH.pass);
    expect(transcript.join("\n")).not.toContain(Buffer.from(AUTH.pass).toString("base64"));
    expect(sessions[0]!.authenticatedAs).toBe("docket");
  });

  it("refuses a wrong password with 535 5.7.8 and keeps nothing", async () => {
    const s = await sink({ auth: AUTH });
    const error = await sendError(client(s, { auth: { user: AUTH.user, pass: "wrong" } }), { to: "b@carrier.example" });
    expect(error.responseCode).toBe(535);
    expect(error.response).toMatch(/^535 5\.7\.8 /);
    expect(s.messages()).toHaveLength(0);
  });

  it("requires AUTH before MAIL when configured with credentials (530 5.7.0)", async () => {
    const s = await sink({ auth: AUTH });
    const error = await sendError(client(s, { auth: undefined }), { to: "b@carrier.example" });
    expect(error.responseCode).toBe(530);
    expect(error.response).toMatch(/^530 5\.7\.0 /);
    expect(s.messages()).toHaveLength(0);
  });

  it("takes mail without AUTH, and offers neither AUTH nor STARTTLS, when started without them", async () => {
    const s = await sink();
    const ehlo = await ehloLines(s.smtpPort);
    expect(ehlo.some((l) => l.startsWith("AUTH"))).toBe(false);
    expect(ehlo).not.toContain("STARTTLS");
    await client(s, { auth: undefined }).sendMail({
      from: "a@send.docket.test",
      to: "b@carrier.example",
      subject: "open",
      text: "x",
    });
    expect(s.messages()).toHaveLength(1);
  });

  it("keeps at most maxMessages, dropping the oldest, newest first", async () => {
    const s = await sink({ maxMessages: 2 });
    const transport = client(s, { auth: undefined });
    for (const subject of ["one", "two", "three"]) {
      await transport.sendMail({ from: "a@send.docket.test", to: "b@carrier.example", subject, text: subject });
    }
    expect(s.messages().map((m) => m.subject)).toEqual(["three", "two"]);
    const { body } = await getJson<Listed[]>(s, "/messages");
    expect(body.map((m) => m.subject)).toEqual(["three", "two"]);
  });

  it("announces SIZE and refuses a bigger message with 552", async () => {
    const s = await sink({ maxMessageBytes: 2048 });
    expect(await ehloLines(s.smtpPort)).toContain("SIZE 2048");
    const error = await sendError(client(s, { auth: undefined }), { to: "b@carrier.example", text: "z".repeat(5000) });
    expect(error.responseCode).toBe(552);
    expect(s.messages()).toHaveLength(0);
  });
});

describe("smtp sink: magic recipients", () => {
  it("defers defer…@ at RCPT with 451 4.7.1", async () => {
    const s = await sink();
    const error = await sendError(client(s, { auth: undefined }), { to: "defer-me@carrier.example" });
    expect(error.responseCode).toBe(451);
    expect(error.response).toMatch(/^451 4\.7\.1 /);
    expect(s.messages()).toHaveLength(0);
  });

  it("rejects reject…@ at RCPT with 550 5.1.1 and still delivers to the others", async () => {
    const s = await sink();
    const info = await client(s, { auth: undefined }).sendMail({
      from: "a@send.docket.test",
      to: ["ok@carrier.example", "Reject.Me@carrier.example"],
      subject: "partial",
      text: "x",
    });
    expect(info.accepted).toEqual(["ok@carrier.example"]);
    expect(info.rejected).toEqual(["Reject.Me@carrier.example"]);
    expect(info.rejectedErrors?.[0]?.response).toMatch(/^550 5\.1\.1 /);
    expect(s.messages()[0]!.envelope.to).toEqual(["ok@carrier.example"]);
  });

  it("blocks a message to blocked…@ at the end of DATA with 554 5.7.1 and keeps nothing", async () => {
    const s = await sink();
    const error = await sendError(client(s, { auth: undefined }), {
      to: ["ok@carrier.example", "blocked@carrier.example"],
    });
    expect(error.responseCode).toBe(554);
    expect(error.response).toMatch(/^554 5\.7\.1 /);
    expect(error.command).toMatch(/DATA|^\.$/i);
    expect(s.messages()).toHaveLength(0);
  });

  it("holds the RCPT reply of slow…@ for slowMs, then accepts", async () => {
    const s = await sink({ slowMs: 400 });
    const transport = client(s, { auth: undefined });
    const started = Date.now();
    await transport.sendMail({ from: "a@send.docket.test", to: "slow@carrier.example", subject: "slow", text: "x" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    const quick = Date.now();
    await transport.sendMail({ from: "a@send.docket.test", to: "quick@carrier.example", subject: "quick", text: "x" });
    expect(Date.now() - quick).toBeLessThan(400);
    expect(s.messages()).toHaveLength(2);
  });

  it("makes a client with a shorter timeout give up on slow…@", async () => {
    const s = await sink({ slowMs: 3000 });
    const started = Date.now();
    const error = (await sendError(client(s, { auth: undefined, socketTimeout: 300 }), {
      to: "slow@carrier.example",
    })) as { code?: string };
    expect(error.code).toBe("ETIMEDOUT");
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe("smtp sink: TLS", () => {
  it("upgrades with STARTTLS (certificate verified against the test CA) before AUTH", async () => {
    const s = await sink({ auth: AUTH, tls: testTlsMaterial("localhost") });
    const info = await client(s, {
      host: "localhost",
      requireTLS: true,
      tls: { ca: CA, rejectUnauthorized: true },
    }).sendMail({
      from: "a@send.docket.test",
      to: "b@carrier.example",
      subject: "over tls",
      text: "x",
    });
    expect(info.accepted).toEqual(["b@carrier.example"]);
    const stored = s.messages()[0]!;
    expect(stored.tls).toBe(true);
    const session = s.sessions().find((x) => x.id === stored.sessionId)!;
    const starttls = session.transcript.indexOf("C: STARTTLS");
    const auth = session.transcript.findIndex((l) => l.startsWith("C: AUTH"));
    expect(starttls).toBeGreaterThanOrEqual(0);
    expect(auth).toBeGreaterThan(starttls);
  });

  it("refuses AUTH before STARTTLS on a TLS sink", async () => {
    const s = await sink({ auth: AUTH, tls: testTlsMaterial("localhost") });
    const error = await sendError(client(s, { ignoreTLS: true }), { to: "b@carrier.example" });
    expect(error.responseCode).toBe(538);
    expect(s.messages()).toHaveLength(0);
  });

  it("speaks implicit TLS when asked to", async () => {
    const s = await sink({ auth: AUTH, tls: { ...testTlsMaterial("localhost"), implicit: true } });
    await client(s, { secure: true, host: "localhost" }).sendMail({
      from: "a@send.docket.test",
      to: "b@carrier.example",
      subject: "tls",
      text: "x",
    });
    expect(s.messages()[0]!.tls).toBe(true);
  });

  it("serves a certificate a verifying client refuses for another name (the wrong-name fixture)", async () => {
    const s = await sink({ auth: AUTH, tls: testTlsMaterial("wrong-name") });
    const error = (await sendError(client(s, { requireTLS: true }), { to: "b@carrier.example" })) as {
      code?: string;
      message?: string;
    };
    // Node's own check (ERR_TLS_CERT_ALTNAME_INVALID), surfaced by nodemailer.
    expect(String(error.message)).toMatch(/Hostname\/IP does not match certificate's altnames/);
    expect(s.messages()).toHaveLength(0);
  });
});

describe("smtp sink: HTTP API", () => {
  it("clears with DELETE /messages, answers 404 and 405 in JSON", async () => {
    const s = await sink();
    await client(s, { auth: undefined }).sendMail({
      from: "a@send.docket.test",
      to: "b@carrier.example",
      subject: "x",
      text: "x",
    });
    expect((await getJson(s, "/messages/00000000-0000-0000-0000-000000000000/raw")).status).toBe(404);
    expect((await getJson(s, "/nope")).status).toBe(404);
    expect((await getJson(s, "/messages", "PUT")).status).toBe(405);
    expect(await getJson(s, "/messages", "DELETE")).toEqual({ status: 200, body: { cleared: 1 } });
    expect((await getJson(s, "/messages")).body).toEqual([]);
    expect(s.messages()).toEqual([]);
  });

  it("close() frees both ports", async () => {
    const s = await startSmtpSink({ smtpPort: await freePort(), httpPort: await freePort() });
    await s.close();
    await expect(fetch(`http://127.0.0.1:${s.httpPort}/messages`)).rejects.toThrow();
    await expect(ehloLines(s.smtpPort)).rejects.toThrow();
  });
});

describe("test support", () => {
  it("startTestSinks starts the STARTTLS (LOGIN only), wrong-name, implicit TLS and hostile servers", async () => {
    const sinks = await startTestSinks({ auth: AUTH });
    try {
      const { smtpStarttls, smtpImplicitTls, smtpHostile } = sinks.provided;
      const ehlo = await ehloLines(smtpStarttls.port);
      expect(ehlo).toContain("STARTTLS");
      expect(ehlo).toContain("AUTH LOGIN");
      await client({ smtpPort: smtpImplicitTls.port } as SmtpSink, { secure: true, host: "localhost" }).sendMail({
        from: "a@send.docket.test",
        to: "b@carrier.example",
        subject: "x",
        text: "x",
      });
      expect(await firstBytes(smtpHostile.ports.garbage)).toMatch(/^HTTP\/1\.1 400/);
      await expect(ehloLines(smtpHostile.closedPort)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await sinks.close();
    }
  });

  it("trustTestCertificateAuthority points NODE_EXTRA_CA_CERTS at the test CA, keeping an existing bundle", () => {
    const env: NodeJS.ProcessEnv = {};
    trustTestCertificateAuthority(env);
    expect(env.NODE_EXTRA_CA_CERTS).toBe(TEST_CA_PATH);

    const existing: NodeJS.ProcessEnv = { NODE_EXTRA_CA_CERTS: testCertPath() };
    trustTestCertificateAuthority(existing);
    const bundle = readFileSync(existing.NODE_EXTRA_CA_CERTS!, "utf8");
    expect(bundle).toContain(readFileSync(testCertPath(), "utf8").trim());
    expect(bundle).toContain(CA.trim());
  });
});

function testCertPath(): string {
  return TEST_CA_PATH.replace(/ca\.pem$/, "localhost.pem");
}

/** Connects, reads the greeting, sends EHLO and returns the EHLO keywords (lines after the first). */
async function ehloLines(port: number): Promise<string[]> {
  return await new Promise((resolve, reject) => {
    const socket = connectTcp(port, "127.0.0.1");
    let buffer = "";
    let greeted = false;
    socket.setTimeout(5000, () => socket.destroy(new Error("timeout")));
    socket.on("error", reject);
    socket.on("data", (chunk) => {
      buffer += chunk.toString();
      const lines = buffer.split("\r\n");
      if (!greeted && /^220 /m.test(buffer)) {
        greeted = true;
        buffer = "";
        socket.write("EHLO probe.docket.test\r\n");
        return;
      }
      const last = lines.findIndex((l) => /^250 /.test(l));
      if (greeted && last >= 0) {
        socket.end("QUIT\r\n");
        resolve(lines.slice(1, last + 1).map((l) => l.slice(4)));
      }
    });
  });
}

async function firstBytes(port: number): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = connectTcp(port, "127.0.0.1");
    socket.on("error", reject);
    socket.once("data", (chunk) => {
      socket.destroy();
      resolve(chunk.toString("latin1"));
    });
  });
}
