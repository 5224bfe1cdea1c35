import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket as TcpSocket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import PostalMime from "postal-mime";
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from "smtp-server";
import { freePort } from "./free-port";
import type { HostileBehaviour, ProvidedHostile, ProvidedSink } from "./smtp-sink-types";

export type { HostileBehaviour, ProvidedHostile, ProvidedSink } from "./smtp-sink-types";

/**
 * A real SMTP server that keeps every message it accepts, for `npm start` (the admin outbox)
 * and the tests. Built on `smtp-server`; nothing is delivered anywhere.
 *
 * Magic recipient local parts provoke the outcomes a real relay gives (case-insensitive
 * prefixes, any domain):
 * - `defer…`   → 451 4.7.1 at RCPT (greylisting, rate limiting: try again later)
 * - `reject…`  → 550 5.1.1 at RCPT (no such user)
 * - `blocked…` → 554 5.7.1 at the end of DATA (content or reputation block)
 * - `slow…`    → the RCPT reply is held for `slowMs` (then accepted), to trip a client timeout
 *
 * HTTP on `httpPort`: `GET /messages` (newest first), `GET /messages/:id/raw` (message/rfc822),
 * `DELETE /messages`, `GET /sessions` (per-connection transcripts, newest first).
 */

export interface SmtpSinkOptions {
  host?: string;
  smtpPort: number;
  httpPort: number;
  /** Require AUTH (PLAIN/LOGIN, or only `methods`) with these credentials before MAIL. */
  auth?: { user: string; pass: string; methods?: ("PLAIN" | "LOGIN")[] };
  /**
   * Offer STARTTLS with this key and certificate, or with `implicit: true` speak TLS from
   * the first byte (RFC 8314). With TLS, AUTH is only accepted once the connection is secure.
   */
  tls?: { key: string | Buffer; cert: string | Buffer; implicit?: boolean };
  /** Messages kept; the oldest is dropped beyond it. Default 1000. */
  maxMessages?: number;
  /** Announced as SIZE (RFC 1870) and enforced with 552. Default 10 MiB. */
  maxMessageBytes?: number;
  /** How long a `slow…` recipient's RCPT reply is held. Default 5000 ms. */
  slowMs?: number;
  log?: (line: string) => void;
}

export interface StoredMessage {
  id: string;
  envelope: { from: string; to: string[] };
  subject: string | null;
  messageId: string | null;
  /** When the sink accepted it, ISO 8601. */
  date: string;
  size: number;
  raw: Buffer;
  /** The connection it came over: see `sessions()`. */
  sessionId: string;
  tls: boolean;
  authenticatedAs: string | null;
}

export interface SinkSession {
  id: string;
  startedAt: string;
  remoteAddress: string;
  /** True once the connection is TLS (implicit, or after STARTTLS). */
  tls: boolean;
  authenticatedAs: string | null;
  /** What the client sent ("C: …", credentials redacted) and the replies ("S: …"). */
  transcript: string[];
}

export interface SmtpSink {
  smtpPort: number;
  httpPort: number;
  /** Newest first. */
  messages(): StoredMessage[];
  /** Newest first. */
  sessions(): SinkSession[];
  clear(): void;
  /**
   * Every message accepted since start (beyond the kept ones), and how many Message-IDs arrived
   * more than once: a sender that must send at most once is checked against this.
   */
  stats(): { received: number; distinctMessageIds: number; repeatedMessageIds: number };
  close(): Promise<void>;
}

const DEFAULT_MAX_MESSAGES = 1000;
const DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
const DEFAULT_SLOW_MS = 5000;
const MAX_SESSIONS = 500;
const MAX_TRANSCRIPT_LINES = 200;

type SmtpError = Error & { responseCode?: number };

function smtpError(code: number, text: string): SmtpError {
  return Object.assign(new Error(text), { responseCode: code });
}

export async function startSmtpSink(opts: SmtpSinkOptions): Promise<SmtpSink> {
  const host = opts.host ?? "127.0.0.1";
  const maxMessages = opts.maxMessages ?? DEFAULT_MAX_MESSAGES;
  const maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const slowMs = opts.slowMs ?? DEFAULT_SLOW_MS;
  const log = opts.log ?? (() => undefined);
  let stored: StoredMessage[] = []; // oldest first
  const sessions = new Map<string, SinkSession>(); // insertion order: oldest first
  const timers = new Set<NodeJS.Timeout>();

  const sessionRecord = (id: string, remoteAddress = ""): SinkSession => {
    let record = sessions.get(id);
    if (!record) {
      record = {
        id,
        startedAt: new Date().toISOString(),
        remoteAddress,
        tls: false,
        authenticatedAs: null,
        transcript: [],
      };
      sessions.set(id, record);
      if (sessions.size > MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
    }
    return record;
  };
  const transcribe = (id: unknown, line: string) => {
    if (typeof id !== "string") return;
    const transcript = sessionRecord(id).transcript;
    for (const part of line.split(/\r?\n/)) if (transcript.length < MAX_TRANSCRIPT_LINES) transcript.push(part);
  };
  // smtp-server logs every command (AUTH arguments already redacted) and every reply through
  // a bunyan-style logger; that is the transcript.
  const logger = {
    debug(entry: { tnx?: string; cid?: unknown }, ...args: unknown[]) {
      const text = args.map(String).join(" ");
      if (entry.tnx === "command" || entry.tnx === "send") transcribe(entry.cid, text);
    },
    info() {},
    trace() {},
    warn() {},
    error(_entry: unknown, ...args: unknown[]) {
      log(`smtp sink error: ${args.map(String).join(" ")}`);
    },
    fatal() {},
  };

  const auth = opts.auth;
  const tls = opts.tls;
  const disabledCommands = [...(auth ? [] : ["AUTH"]), ...(tls && !tls.implicit ? [] : ["STARTTLS"])];
  const options: SMTPServerOptions = {
    name: "sink.docket.test",
    banner: "Docket SMTP sink",
    secure: tls?.implicit === true,
    ...(tls ? { key: tls.key, cert: tls.cert } : {}),
    size: maxMessageBytes,
    rejectOversized: true,
    disabledCommands,
    authOptional: !auth,
    authMethods: auth?.methods ?? ["PLAIN", "LOGIN"],
    // Plaintext AUTH is for the local plaintext sink only; a TLS sink insists on TLS first,
    // as a real submission server does (RFC 4954 4).
    allowInsecureAuth: !tls,
    // RFC 3463 codes are written into the reply texts here and below: with smtp-server's own
    // ENHANCEDSTATUSCODES on, every reply code maps to one fixed enhanced code (451 → 4.3.0),
    // and the sink needs 4.7.1, 5.1.1, 5.7.1 as real relays send them.
    authRequiredMessage: "5.7.0 Authentication required",
    disableReverseLookup: true,
    logger,
    closeTimeout: 500,
    onConnect(session, callback) {
      sessionRecord(session.id, session.remoteAddress);
      callback();
    },
    onSecure(_socket, session, callback) {
      sessionRecord(session.id).tls = true;
      callback();
    },
    onAuth(credentials, session, callback) {
      if (auth && credentials.username === auth.user && credentials.password === auth.pass) {
        sessionRecord(session.id).authenticatedAs = auth.user;
        callback(null, { user: auth.user });
      } else {
        callback(smtpError(535, "5.7.8 Authentication credentials invalid"));
      }
    },
    onRcptTo(address, _session, callback) {
      const local = address.address.split("@")[0]?.toLowerCase() ?? "";
      if (local.startsWith("defer")) {
        log(`smtp sink: deferring ${address.address} (451 4.7.1)`);
        return callback(smtpError(451, "4.7.1 Try again later (sink: defer… recipient)"));
      }
      if (local.startsWith("reject")) {
        log(`smtp sink: rejecting ${address.address} (550 5.1.1)`);
        return callback(smtpError(550, "5.1.1 No such user here (sink: reject… recipient)"));
      }
      if (local.startsWith("slow")) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          callback();
        }, slowMs);
        timers.add(timer);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", (error: Error) => callback(error));
      stream.on("end", () => {
        // rejectOversized answers 552 itself; nothing to keep.
        if (stream.sizeExceeded) return callback(smtpError(552, "5.3.4 Message too big"));
        const to = session.envelope.rcptTo.map((r) => r.address);
        if (to.some((a) => (a.split("@")[0] ?? "").toLowerCase().startsWith("blocked"))) {
          log(`smtp sink: blocking a message to ${to.join(", ")} (554 5.7.1)`);
          return callback(smtpError(554, "5.7.1 Message refused: content or reputation (sink: blocked… recipient)"));
        }
        const raw = Buffer.concat(chunks);
        store(raw, session).then(
          (message) => {
            log(
              `smtp sink: kept ${message.id} from ${message.envelope.from || "<>"} to ${to.join(", ")}: ${message.subject ?? "(no subject)"}`,
            );
            callback(null, `2.0.0 Ok: queued as ${message.id}`);
          },
          (error: unknown) => callback(smtpError(451, `4.3.0 Sink failed to store the message: ${String(error)}`)),
        );
      });
    },
  };

  let received = 0;
  let repeatedMessageIds = 0;
  const seenMessageIds = new Set<string>();
  async function store(raw: Buffer, session: SMTPServerSession): Promise<StoredMessage> {
    let subject: string | null = null;
    let messageId: string | null = null;
    try {
      // Subject and Message-ID are all the list shows: parse the header block alone, so a
      // benchmark's thousands of messages do not pay for body parsing here.
      const end = raw.indexOf("\r\n\r\n");
      const parsed = await PostalMime.parse(end >= 0 ? raw.subarray(0, end + 4) : raw);
      subject = parsed.subject ?? null;
      messageId = parsed.messageId ?? null;
    } catch {
      // An unparsable message is still kept as sent.
    }
    const mailFrom = session.envelope.mailFrom;
    const message: StoredMessage = {
      id: randomUUID(),
      envelope: { from: mailFrom === false ? "" : mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address) },
      subject,
      messageId,
      date: new Date().toISOString(),
      size: raw.length,
      raw,
      sessionId: session.id,
      tls: session.secure,
      authenticatedAs: typeof session.user === "string" ? session.user : null,
    };
    received++;
    if (messageId !== null) {
      if (seenMessageIds.has(messageId)) repeatedMessageIds++;
      else seenMessageIds.add(messageId);
    }
    stored.push(message);
    if (stored.length > maxMessages) stored = stored.slice(stored.length - maxMessages);
    return message;
  }

  const smtp = new SMTPServer(options);
  smtp.on("error", (error: Error) => log(`smtp sink error: ${error.message}`));
  await new Promise<void>((resolve, reject) => {
    smtp.server.once("error", reject);
    smtp.listen(opts.smtpPort, host, () => {
      smtp.server.off("error", reject);
      resolve();
    });
  });

  const sink: SmtpSink = {
    smtpPort: portOf(smtp.server),
    httpPort: 0,
    messages: () => [...stored].reverse(),
    sessions: () => [...sessions.values()].reverse(),
    clear: () => {
      stored = [];
    },
    stats: () => ({ received, distinctMessageIds: seenMessageIds.size, repeatedMessageIds }),
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all([
        new Promise<void>((resolve) => smtp.close(() => resolve())),
        new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        }),
      ]);
    },
  };

  const http = createHttpServer((req, res) => {
    try {
      route(sink, req, res);
    } catch (error) {
      json(res, 500, { error: String(error) });
    }
  });
  try {
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(opts.httpPort, host, () => {
        http.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    throw error;
  }
  sink.httpPort = portOf(http);
  log(
    `smtp sink: SMTP on ${host}:${sink.smtpPort}${tls ? (tls.implicit ? " (TLS)" : " (STARTTLS)") : ""}${auth ? " (AUTH required)" : ""}, HTTP on http://${host}:${sink.httpPort}/messages`,
  );
  return sink;
}

function route(sink: SmtpSink, req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? "/", "http://sink").pathname;
  if (path === "/messages") {
    if (req.method === "GET") {
      return json(
        res,
        200,
        sink.messages().map(({ id, envelope, subject, messageId, date, size }) => ({
          id,
          envelope,
          subject,
          messageId,
          date,
          size,
        })),
      );
    }
    if (req.method === "DELETE") {
      const cleared = sink.messages().length;
      sink.clear();
      return json(res, 200, { cleared });
    }
    return methodNotAllowed(res, "GET, DELETE");
  }
  const raw = /^\/messages\/([0-9a-f-]{36})\/raw$/.exec(path);
  if (raw) {
    if (req.method !== "GET") return methodNotAllowed(res, "GET");
    const message = sink.messages().find((m) => m.id === raw[1]);
    if (!message) return json(res, 404, { error: "no such message" });
    res.writeHead(200, { "content-type": "message/rfc822", "content-length": message.raw.length });
    res.end(message.raw);
    return;
  }
  if (path === "/stats") {
    if (req.method !== "GET") return methodNotAllowed(res, "GET");
    return json(res, 200, sink.stats());
  }
  if (path === "/sessions") {
    if (req.method !== "GET") return methodNotAllowed(res, "GET");
    return json(res, 200, sink.sessions());
  }
  json(res, 404, { error: "not found" });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader("allow", allow);
  json(res, 405, { error: "method not allowed" });
}

function portOf(server: { address(): unknown }): number {
  const address = server.address();
  if (address && typeof address === "object" && "port" in address && typeof address.port === "number")
    return address.port;
  throw new Error("smtp sink: could not determine the listening port");
}

// ---------------------------------------------------------------------------------------------
// Test support: TLS material, extra sink variants, and misbehaving servers.

const FIXTURES = new URL("../../test/fixtures/smtp-tls/", import.meta.url);

/** The test-only TLS material under test/fixtures/smtp-tls (see its README). */
export function testTlsMaterial(name: "localhost" | "wrong-name"): { key: Buffer; cert: Buffer } {
  return { key: readFileSync(new URL(`${name}.key`, FIXTURES)), cert: readFileSync(new URL(`${name}.pem`, FIXTURES)) };
}

export const TEST_CA_PATH = fileURLToPath(new URL("ca.pem", FIXTURES));

/**
 * Makes workerd (through miniflare) trust the test CA, so the Worker's `startTls()` can verify
 * the TLS sinks. Miniflare reads NODE_EXTRA_CA_CERTS once, when it is first imported, into
 * the trusted certificates of its outbound network: call this in vitest.config.ts BEFORE
 * `@cloudflare/vitest-plugin` is imported (import it dynamically after the call). An existing
 * NODE_EXTRA_CA_CERTS is kept: both go into one temporary bundle.
 */
export function trustTestCertificateAuthority(env: NodeJS.ProcessEnv = process.env): void {
  const existing = env.NODE_EXTRA_CA_CERTS;
  if (existing === undefined || existing === "" || existing === TEST_CA_PATH) {
    env.NODE_EXTRA_CA_CERTS = TEST_CA_PATH;
    return;
  }
  const bundle = join(mkdtempSync(join(tmpdir(), "docket-test-ca-")), "bundle.pem");
  const previous = existsSync(existing) ? readFileSync(existing, "utf8") : "";
  writeFileSync(bundle, `${previous.trimEnd()}\n${readFileSync(TEST_CA_PATH, "utf8")}`);
  env.NODE_EXTRA_CA_CERTS = bundle;
}

export interface TestSinks {
  /** What the global setup hands to the tests with project.provide(key, value). */
  provided: {
    smtpStarttls: ProvidedSink;
    smtpStarttlsWrongName: ProvidedSink;
    smtpImplicitTls: ProvidedSink;
    smtpHostile: ProvidedHostile;
  };
  close(): Promise<void>;
}

/**
 * The sink variants the mailer tests need beyond the plaintext one: STARTTLS with a trusted
 * certificate (AUTH LOGIN only, so LOGIN is exercised too), STARTTLS with a certificate for
 * another name, implicit TLS, and a set of misbehaving servers.
 */
export async function startTestSinks(options: {
  auth: { user: string; pass: string };
  host?: string;
  slowMs?: number;
}): Promise<TestSinks> {
  const host = options.host ?? "127.0.0.1";
  const started: { close(): Promise<void> }[] = [];
  try {
    const sink = async (tls: SmtpSinkOptions["tls"], methods?: ("PLAIN" | "LOGIN")[]): Promise<ProvidedSink> => {
      const s = await startSmtpSink({
        host,
        smtpPort: await freePort(host),
        httpPort: await freePort(host),
        auth: { ...options.auth, ...(methods ? { methods } : {}) },
        ...(tls ? { tls } : {}),
        ...(options.slowMs !== undefined ? { slowMs: options.slowMs } : {}),
      });
      started.push(s);
      return { host, port: s.smtpPort, httpPort: s.httpPort, ...options.auth };
    };
    const smtpStarttls = await sink(testTlsMaterial("localhost"), ["LOGIN"]);
    const smtpStarttlsWrongName = await sink(testTlsMaterial("wrong-name"));
    const smtpImplicitTls = await sink({ ...testTlsMaterial("localhost"), implicit: true });
    const ports = {} as Record<HostileBehaviour, number>;
    for (const behaviour of HOSTILE_BEHAVIOURS) {
      const server = await startHostileSmtpServer({ host, port: await freePort(host), behaviour });
      started.push(server);
      ports[behaviour] = server.port;
    }
    return {
      provided: {
        smtpStarttls,
        smtpStarttlsWrongName,
        smtpImplicitTls,
        smtpHostile: { host, ports, closedPort: await freePort(host) },
      },
      close: async () => {
        await Promise.all(started.map((s) => s.close()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((s) => s.close()));
    throw error;
  }
}

const HOSTILE_BEHAVIOURS: HostileBehaviour[] = [
  "silent",
  "huge-line",
  "endless-reply",
  "garbage",
  "drop-after-ehlo",
  "starttls-injection",
  "refuse-greeting",
  "closing-at-rcpt",
];

/**
 * A TCP server that misbehaves in one way, so the client's limits are tested against real
 * sockets:
 * - silent: accepts and never greets;
 * - huge-line: greets with 1 MiB and no line end;
 * - endless-reply: a multi-line greeting ("220-…") that never ends;
 * - garbage: answers like an HTTP server;
 * - drop-after-ehlo: greets, then closes the connection when the client speaks;
 * - starttls-injection: offers STARTTLS and sends an extra plaintext reply right after its
 *   220, the STARTTLS response injection a client must refuse;
 * - refuse-greeting: greets with 554 (RFC 5321 3.1: no SMTP service here) and waits for QUIT;
 * - closing-at-rcpt: accepts MAIL, answers the first RCPT with 421 and hangs up (RFC 5321 3.8).
 */
export async function startHostileSmtpServer(opts: {
  host?: string;
  port: number;
  behaviour: HostileBehaviour;
}): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<TcpSocket>();
  const server: TcpServer = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    switch (opts.behaviour) {
      case "silent":
        return;
      case "huge-line":
        socket.write("220 " + "x".repeat(1024 * 1024));
        return;
      case "endless-reply": {
        const line = "220-still talking " + "y".repeat(60) + "\r\n";
        const pump = () => {
          if (socket.destroyed) return;
          while (socket.write(line)) {
            // keep going until the kernel buffer is full, then wait for drain
          }
          socket.once("drain", pump);
        };
        pump();
        return;
      }
      case "garbage":
        socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        return;
      case "drop-after-ehlo":
        socket.write("220 hostile.test ESMTP\r\n");
        socket.once("data", () => socket.destroy());
        return;
      case "starttls-injection":
        return converse(socket, "220 hostile.test ESMTP", (command) => {
          if (command.startsWith("EHLO")) return "250-hostile.test\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS";
          if (command === "STARTTLS") return "220 2.0.0 Ready to start TLS\r\n250 2.0.0 injected before TLS";
          return undefined;
        });
      case "refuse-greeting":
        return converse(socket, "554 5.7.1 hostile.test: no SMTP service for you", () => undefined);
      case "closing-at-rcpt":
        return converse(socket, "220 hostile.test ESMTP", (command) => {
          if (command.startsWith("EHLO")) return "250-hostile.test\r\n250 AUTH PLAIN";
          if (command.startsWith("AUTH")) return "235 2.7.0 Authenticated";
          if (command.startsWith("MAIL")) return "250 2.1.0 Ok";
          if (command.startsWith("RCPT")) {
            socket.end("421 4.7.0 hostile.test closing connection\r\n");
            return null;
          }
          return undefined;
        });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: portOf(server),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A minimal line-based dialogue: greets, then answers each command with `answer(command)`
 * (upper-cased); undefined means "502 not here", null means the answer already went out.
 * QUIT always gets 221 and a close.
 */
function converse(socket: TcpSocket, greeting: string, answer: (command: string) => string | null | undefined): void {
  socket.write(`${greeting}\r\n`);
  let buffered = "";
  socket.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("latin1");
    let lf: number;
    while ((lf = buffered.indexOf("\n")) >= 0) {
      const command = buffered.slice(0, lf).trim().toUpperCase();
      buffered = buffered.slice(lf + 1);
      if (command === "QUIT") {
        socket.end("221 2.0.0 Bye\r\n");
        return;
      }
      const reply = answer(command);
      if (reply === null) return;
      socket.write(`${reply ?? "502 5.5.1 Not here"}\r\n`);
    }
  });
}
