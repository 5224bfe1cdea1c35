import { connect } from "cloudflare:sockets";
import {
  ehloCapabilities,
  outcomeOf,
  parseReply,
  parseReplyLine,
  SmtpReplyError,
  type SmtpOutcome,
  type SmtpReply,
} from "../../domain/mail/smtp-reply";
import type { RecipientResult, SendOutcome } from "./mailer";

/**
 * One SMTP submission per call over `connect()` from `cloudflare:sockets`: greeting, EHLO,
 * STARTTLS (RFC 3207), AUTH (RFC 4954), MAIL, RCPT per recipient, DATA, QUIT (RFC 5321).
 *
 * Commands go one at a time, each waiting for its reply; no PIPELINING (RFC 2920), which keeps
 * every reply attributable to its command.
 *
 * Every SMTP-level result, including a dead or hostile server, comes back as an outcome; the
 * function throws only when its own input is invalid (a programmer error). No server reply at
 * all (refused, timed out, dropped, unreadable) is "deferred" with code null: the message may
 * be retried.
 */

export type SmtpSecurity = "starttls" | "tls" | "none";
export type SmtpStage = SendOutcome["stage"];
export type SmtpResult = Omit<SendOutcome, "messageId">;

export interface SmtpClientOptions {
  host: string;
  port: number;
  /**
   * "starttls": plaintext connect, then STARTTLS is mandatory; a server that does not offer it
   * gets neither credentials nor mail (no downgrade). "tls": TLS from the first byte
   * (RFC 8314 implicit TLS). "none": plaintext throughout, for the local sink only.
   */
  security: SmtpSecurity;
  /** The EHLO name (RFC 5321 4.1.1.1): our sending domain. */
  clientName: string;
  auth?: { user: string; pass: string } | undefined;
  /** Limit on connecting, on the TLS handshake, on each write and on waiting for each reply. */
  timeoutMs: number;
  /**
   * Longest reply line we buffer. RFC 5321 4.5.3.1.5 allows 512 octets; real servers stay
   * near that, so the default leaves room without letting a server feed us without end.
   */
  maxLineBytes?: number;
  /** Largest whole (multi-line) reply we accept. */
  maxReplyBytes?: number;
}

export interface SmtpSubmission {
  envelope: { from: string; to: string[] };
  /** The RFC 5322 message. Bare CR or LF is sent as CRLF; lines starting with "." are stuffed. */
  raw: Uint8Array | string;
}

const DEFAULT_MAX_LINE_BYTES = 4096;
const DEFAULT_MAX_REPLY_BYTES = 64 * 1024;
const WRITE_CHUNK_BYTES = 64 * 1024;
// QUIT is a courtesy (RFC 5321 4.1.1.10); never wait long for its answer.
const QUIT_TIMEOUT_MS = 2000;

/** A failure with no usable SMTP reply: the transaction is abandoned as transient. */
class TransportFailure extends Error {}

/** Sends one message. Resolves with the outcome; never rejects for SMTP-level results. */
export async function submitMessage(options: SmtpClientOptions, submission: SmtpSubmission): Promise<SmtpResult> {
  checkOptions(options);
  const { from, to } = checkEnvelope(submission.envelope);
  const raw = typeof submission.raw === "string" ? new TextEncoder().encode(submission.raw) : submission.raw;
  if (!(raw instanceof Uint8Array) || raw.length === 0) throw new TypeError("smtp: the message is empty");

  const transaction = new Transaction(to);
  let session: Session | undefined;
  try {
    session = await Session.open(options);
    return await dialogue(session, options, transaction, from, to, raw);
  } catch (error) {
    if (error instanceof TransportFailure) return transaction.failWithoutReply(error.message);
    throw error;
  } finally {
    await session?.close();
  }
}

/** The DATA payload: CRLF line ends, dot-stuffed (RFC 5321 4.5.2), ending in CRLF "." CRLF. */
export function encodeDataBody(raw: Uint8Array): Uint8Array {
  // Worst case every byte doubles (a bare LF becomes CRLF, a leading "." becomes ".."), plus
  // a closing CRLF and the terminating ".\r\n".
  const out = new Uint8Array(raw.length * 2 + 5);
  let o = 0;
  let lineStart = true;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b === 0x0d || b === 0x0a) {
      // RFC 5321 2.3.8: lines end in CRLF only; a bare CR or LF is not a line end on the wire
      // and some servers reject it outright, so every CR, LF or CRLF becomes one CRLF.
      if (b === 0x0d && raw[i + 1] === 0x0a) i++;
      out[o++] = 0x0d;
      out[o++] = 0x0a;
      lineStart = true;
      continue;
    }
    if (lineStart && b === 0x2e) out[o++] = 0x2e;
    out[o++] = b;
    lineStart = false;
  }
  if (!lineStart) {
    out[o++] = 0x0d;
    out[o++] = 0x0a;
  }
  out[o++] = 0x2e;
  out[o++] = 0x0d;
  out[o++] = 0x0a;
  return out.subarray(0, o);
}

type Capabilities = ReturnType<typeof ehloCapabilities>;

async function dialogue(
  session: Session,
  options: SmtpClientOptions,
  transaction: Transaction,
  from: string,
  to: string[],
  raw: Uint8Array,
): Promise<SmtpResult> {
  const ready = await establish(session, options, transaction);
  if (!(ready instanceof Map)) return ready;
  const result = await transact(session, transaction, ready, from, to, raw, "quit");
  if (result.status === "accepted") await session.quit();
  return result;
}

/**
 * Greeting, EHLO, STARTTLS and AUTH: the session is ready for transactions (the capabilities
 * come back), or it failed and the result says how.
 */
async function establish(
  session: Session,
  options: SmtpClientOptions,
  transaction: Transaction,
): Promise<Capabilities | SmtpResult> {
  // RFC 5321 3.1: the server speaks first; 220 is ready, 554 (or 421) is "no service here".
  transaction.stage = "greeting";
  const greeting = await session.reply("the greeting");
  if (greeting.code !== 220) return await transaction.stop(session, greeting);

  transaction.stage = "ehlo";
  let ehlo = await hello(session, options.clientName);
  if (ehlo.code !== 250) return await transaction.stop(session, ehlo);
  let capabilities = ehloCapabilities(ehlo);

  if (options.security === "starttls") {
    transaction.stage = "starttls";
    if (!capabilities.has("STARTTLS")) {
      // RFC 3207 4: without STARTTLS in the EHLO reply we must not try it, and the operator
      // asked for TLS: neither the credentials nor the message go out in plaintext.
      await session.quit();
      return transaction.failWithoutReply(
        `${options.host}:${options.port} did not offer STARTTLS; refusing to authenticate or send without TLS (SMTP_SECURITY=starttls)`,
      );
    }
    await session.command("STARTTLS");
    const ready = await session.reply("the STARTTLS reply");
    if (ready.code !== 220) return await transaction.stop(session, ready);
    await session.upgradeToTls();
    // RFC 3207 4.2: forget everything learnt before TLS and ask again.
    transaction.stage = "ehlo";
    ehlo = await hello(session, options.clientName);
    if (ehlo.code !== 250) return await transaction.stop(session, ehlo);
    capabilities = ehloCapabilities(ehlo);
  }

  if (options.auth) {
    transaction.stage = "auth";
    const mechanisms = (capabilities.get("AUTH") ?? []).map((m) => m.toUpperCase());
    const auth = await authenticate(session, options.auth, mechanisms);
    if (auth === "unsupported") {
      await session.quit();
      return transaction.failWithoutReply(
        `${options.host}:${options.port} offers no AUTH PLAIN or LOGIN (offered: ${mechanisms.join(" ") || "none"}); not sending without authenticating`,
      );
    }
    if (auth.code !== 235) return await transaction.stop(session, auth);
  }
  return capabilities;
}

/**
 * One mail transaction (MAIL, RCPT…, DATA) on a ready session. A refused transaction ends with
 * QUIT ("quit") or with RSET so the session can carry the next one ("reset", RFC 5321 4.1.1.5).
 */
async function transact(
  session: Session,
  transaction: Transaction,
  capabilities: Capabilities,
  from: string,
  to: string[],
  raw: Uint8Array,
  afterRefusal: "quit" | "reset",
): Promise<SmtpResult> {
  const stop = async (reply: SmtpReply) => await transaction.stop(session, reply, afterRefusal);
  transaction.stage = "mail";
  let mailCommand = `MAIL FROM:<${from}>`;
  // RFC 1870: declare the size so an over-limit message is refused before it is sent.
  if (capabilities.has("SIZE")) mailCommand += ` SIZE=${raw.length}`;
  // RFC 6152: 8-bit content only where the server says it takes it (composed mail is 7-bit).
  if (capabilities.has("8BITMIME") && raw.some((b) => b > 0x7f)) mailCommand += " BODY=8BITMIME";
  await session.command(mailCommand);
  const mail = await session.reply("the MAIL FROM reply");
  if (mail.code !== 250) return await stop(mail);

  transaction.stage = "rcpt";
  for (const address of to) {
    await session.command(`RCPT TO:<${address}>`);
    const reply = await session.reply(`the RCPT TO reply for ${address}`);
    transaction.recipient(address, reply);
    // RFC 5321 3.8: 421 means the server is closing the channel; nothing more will be heard.
    if (reply.code === 421) return await stop(reply);
  }
  if (transaction.accepted().length === 0) {
    // RFC 5321 4.1.1.5: abandon the transaction before leaving ("reset" sends its own RSET).
    if (afterRefusal === "quit") {
      await session.command("RSET").catch(() => undefined);
      await session.reply("the RSET reply").catch(() => undefined);
    }
    return await stop(transaction.lastRefused()!);
  }

  transaction.stage = "data";
  await session.command("DATA");
  const go = await session.reply("the DATA reply");
  if (go.code !== 354) return await stop(go);
  await session.write(encodeDataBody(raw), "the message");
  const done = await session.reply("the reply to the end of the message");
  if (done.code !== 250) return await stop(done);

  transaction.stage = "done";
  return transaction.delivered(done);
}

/**
 * Several messages over one session, one transaction each (RFC 5321 3.3 allows any number per
 * session): the campaign sender's way to avoid a connection, EHLO and AUTH per message. One
 * result per submission, in order. When the session fails part-way, the message in flight gets
 * the failure (stage "data" with no reply means the relay may have taken it: never resend it
 * blindly) and every later one is deferred at stage "connect", never having been offered.
 */
export async function submitMessages(options: SmtpClientOptions, submissions: SmtpSubmission[]): Promise<SmtpResult[]> {
  checkOptions(options);
  const checked = submissions.map((submission) => {
    const raw = typeof submission.raw === "string" ? new TextEncoder().encode(submission.raw) : submission.raw;
    if (!(raw instanceof Uint8Array) || raw.length === 0) throw new TypeError("smtp: the message is empty");
    return { ...checkEnvelope(submission.envelope), raw };
  });
  const results: SmtpResult[] = [];
  const notOffered = (why: string) => {
    while (results.length < checked.length) {
      const { to } = checked[results.length]!;
      results.push(new Transaction(to).failWithoutReply(why));
    }
  };
  if (checked.length === 0) return results;
  let session: Session | undefined;
  const setup = new Transaction(checked[0]!.to);
  try {
    session = await Session.open(options);
    const ready = await establish(session, options, setup);
    if (!(ready instanceof Map)) {
      // The session never got ready: nobody's message was offered; all share the reason.
      for (const { to } of checked)
        results.push({ ...ready, recipients: to.map((address) => ({ address, ...pick(ready) })) });
      return results;
    }
    for (const { from, to, raw } of checked) {
      const transaction = new Transaction(to);
      let result: SmtpResult;
      try {
        result = await transact(session, transaction, ready, from, to, raw, "reset");
      } catch (error) {
        if (!(error instanceof TransportFailure)) throw error;
        results.push(transaction.failWithoutReply(error.message));
        notOffered(`not offered: the session ended before this message (${error.message})`);
        return results;
      }
      results.push(result);
      if (result.code === 421) {
        notOffered("not offered: the server closed the session (421) before this message");
        return results;
      }
    }
    await session.quit();
    return results;
  } catch (error) {
    if (!(error instanceof TransportFailure)) throw error;
    if (results.length === 0) results.push(setup.failWithoutReply(error.message));
    notOffered(`not offered: ${error.message}`);
    return results;
  } finally {
    await session?.close();
  }
}

function pick(result: SmtpResult): Omit<RecipientResult, "address"> {
  return { status: result.status, code: result.code, enhancedCode: result.enhancedCode, text: result.text };
}

/** EHLO, or HELO when the server does not know EHLO (RFC 5321 3.2). */
async function hello(session: Session, clientName: string): Promise<SmtpReply> {
  await session.command(`EHLO ${clientName}`);
  const ehlo = await session.reply("the EHLO reply");
  if (![500, 502, 504, 550].includes(ehlo.code)) return ehlo;
  await session.command(`HELO ${clientName}`);
  const helo = await session.reply("the HELO reply");
  // HELO advertises no extensions: keep only its first line.
  return { ...helo, lines: helo.lines.slice(0, 1) };
}

/** AUTH PLAIN (RFC 4616) with an initial response, else AUTH LOGIN. */
async function authenticate(
  session: Session,
  auth: { user: string; pass: string },
  mechanisms: string[],
): Promise<SmtpReply | "unsupported"> {
  if (mechanisms.includes("PLAIN")) {
    // RFC 4954 4: the initial response saves a round trip; "=" would mean an empty one.
    await session.command(`AUTH PLAIN ${base64(`\0${auth.user}\0${auth.pass}`)}`, "AUTH PLAIN ***");
    return await session.reply("the AUTH reply");
  }
  if (mechanisms.includes("LOGIN")) {
    await session.command("AUTH LOGIN");
    for (const [secret, what] of [
      [auth.user, "user name"],
      [auth.pass, "password"],
    ] as const) {
      const challenge = await session.reply(`the AUTH LOGIN ${what} challenge`);
      if (challenge.code !== 334) return challenge;
      await session.command(base64(secret), "***");
    }
    return await session.reply("the AUTH reply");
  }
  return "unsupported";
}

/** The recipients' fates and the stage reached, turned into the final result. */
class Transaction {
  stage: SmtpStage = "connect";
  private readonly results = new Map<string, RecipientResult>();
  private lastRefusal: SmtpReply | undefined;

  constructor(private readonly to: string[]) {}

  recipient(address: string, reply: SmtpReply): void {
    // RFC 5321 4.1.1.3: 250 or 251 (will forward) accept the recipient.
    const status: SmtpOutcome = reply.code === 250 || reply.code === 251 ? "accepted" : failureStatus(reply.code);
    if (status !== "accepted") this.lastRefusal = reply;
    this.results.set(address, { address, status, ...replyFields(reply) });
  }

  accepted(): string[] {
    return [...this.results.values()].filter((r) => r.status === "accepted").map((r) => r.address);
  }

  lastRefused(): SmtpReply | undefined {
    return this.lastRefusal;
  }

  /** The server accepted the message: recipients accepted at RCPT carry the final reply. */
  delivered(reply: SmtpReply): SmtpResult {
    for (const address of this.accepted()) {
      this.results.set(address, { address, status: "accepted", ...replyFields(reply) });
    }
    return { status: "accepted", ...replyFields(reply), stage: "done", recipients: this.list() };
  }

  /**
   * The reply that ended the transaction. Unless the server is closing (421): politely QUIT, or
   * RSET to keep the session for the next transaction (RFC 5321 4.1.1.5).
   */
  async stop(session: Session, reply: SmtpReply, after: "quit" | "reset" = "quit"): Promise<SmtpResult> {
    if (reply.code !== 421) {
      if (after === "quit") await session.quit();
      else {
        await session.command("RSET");
        const reset = await session.reply("the RSET reply");
        if (reset.code !== 250) throw new TransportFailure(`the server refused RSET: ${reset.code} ${reset.text}`);
      }
    }
    return this.settle(failureStatus(reply.code), replyFields(reply));
  }

  failWithoutReply(text: string): SmtpResult {
    return this.settle("deferred", { code: null, enhancedCode: null, text });
  }

  /**
   * Recipients refused at RCPT keep their own reply; every other one (not yet asked, or
   * accepted at RCPT but then lost with the message) shares the reply that ended it all.
   */
  private settle(status: SmtpOutcome, fields: Omit<RecipientResult, "address" | "status">): SmtpResult {
    for (const address of this.to) {
      const known = this.results.get(address);
      if (known === undefined || known.status === "accepted") this.results.set(address, { address, status, ...fields });
    }
    return { status, ...fields, stage: this.stage, recipients: this.list() };
  }

  private list(): RecipientResult[] {
    return this.to.map((address) => this.results.get(address)!);
  }
}

/** A reply that stopped the transaction: 4xx deferred, 5xx rejected, anything else deferred. */
function failureStatus(code: number): SmtpOutcome {
  const outcome = outcomeOf(code);
  // A 2xx or 3xx where it made no sense is a confused server, not a verdict on the message.
  return outcome === "accepted" ? "deferred" : outcome;
}

function replyFields(reply: SmtpReply): { code: number; enhancedCode: string | null; text: string } {
  return { code: reply.code, enhancedCode: reply.enhancedCode, text: reply.text };
}

/** The socket, a line reader over it, and the timeouts around every wait. */
class Session {
  private reader: ReadableStreamDefaultReader<Uint8Array>;
  private writer: WritableStreamDefaultWriter<Uint8Array>;
  private buffer: Uint8Array = new Uint8Array(0);
  private closed = false;
  private readonly maxLineBytes: number;
  private readonly maxReplyBytes: number;
  private readonly encoder = new TextEncoder();

  private constructor(
    private socket: Socket,
    private readonly options: SmtpClientOptions,
  ) {
    this.reader = socket.readable.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    this.writer = socket.writable.getWriter() as WritableStreamDefaultWriter<Uint8Array>;
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.maxReplyBytes = options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
  }

  static async open(options: SmtpClientOptions): Promise<Session> {
    // With implicit TLS, `opened` also covers the handshake: say so, as a certificate or
    // protocol mismatch then shows up here.
    const where = `${options.host}:${options.port}${options.security === "tls" ? " with TLS" : ""}`;
    let socket: Socket;
    try {
      socket = connect(
        { hostname: options.host, port: options.port },
        {
          secureTransport: options.security === "tls" ? "on" : options.security === "starttls" ? "starttls" : "off",
          allowHalfOpen: false,
        },
      );
    } catch (error) {
      throw new TransportFailure(`connecting to ${where} failed: ${messageOf(error)}`);
    }
    // `closed` rejects when the connection errors; nobody else awaits it.
    socket.closed.catch(() => undefined);
    try {
      await withTimeout(socket.opened, options.timeoutMs, `connecting to ${where}`);
    } catch (error) {
      socket.close().catch(() => undefined);
      if (error instanceof TransportFailure) throw error;
      throw new TransportFailure(`connecting to ${where} failed: ${messageOf(error)}`);
    }
    return new Session(socket, options);
  }

  /** Sends one command line. `shown` replaces it in error texts when it carries a secret. */
  async command(line: string, shown: string = line): Promise<void> {
    await this.write(this.encoder.encode(`${line}\r\n`), `sending ${shown.split(" ")[0]}`);
  }

  async write(bytes: Uint8Array, what: string): Promise<void> {
    for (let offset = 0; offset < bytes.length; offset += WRITE_CHUNK_BYTES) {
      const chunk = bytes.subarray(offset, Math.min(bytes.length, offset + WRITE_CHUNK_BYTES));
      await this.guard(this.writer.write(chunk), what);
    }
  }

  /** Reads one whole reply, within the timeout and the size limits. */
  async reply(what: string): Promise<SmtpReply> {
    return await this.guard(this.readReply(), `waiting for ${what}`);
  }

  private async readReply(): Promise<SmtpReply> {
    const lines: string[] = [];
    let size = 0;
    for (;;) {
      const line = await this.readLine();
      size += line.length + 2;
      if (size > this.maxReplyBytes) {
        throw new TransportFailure(`the server's reply exceeded ${this.maxReplyBytes} bytes`);
      }
      lines.push(line);
      try {
        if (parseReplyLine(line).final) return parseReply(lines);
      } catch (error) {
        if (error instanceof SmtpReplyError) throw new TransportFailure(`the server sent a ${error.message}`);
        throw error;
      }
    }
  }

  private async readLine(): Promise<string> {
    for (;;) {
      const lf = this.buffer.indexOf(0x0a);
      if (lf >= 0) {
        const end = lf > 0 && this.buffer[lf - 1] === 0x0d ? lf - 1 : lf;
        if (end > this.maxLineBytes) break;
        const line = new TextDecoder().decode(this.buffer.subarray(0, end));
        this.buffer = this.buffer.subarray(lf + 1);
        return line;
      }
      if (this.buffer.length > this.maxLineBytes) break;
      const { value, done } = await this.reader.read();
      if (done) throw new TransportFailure("the server closed the connection");
      this.buffer = concat(this.buffer, value);
    }
    throw new TransportFailure(`the server sent a reply line longer than ${this.maxLineBytes} bytes`);
  }

  /** RFC 3207: switch the connection to TLS after the server's 220 to STARTTLS. */
  async upgradeToTls(): Promise<void> {
    if (this.buffer.length > 0) {
      // Anything after the 220 arrived in plaintext yet would be read as if it came over
      // TLS: a man in the middle injecting replies (the STARTTLS response injection attack).
      throw new TransportFailure(
        "the server sent data after its STARTTLS reply; refusing to continue (possible response injection)",
      );
    }
    this.reader.releaseLock();
    this.writer.releaseLock();
    let secure: Socket;
    try {
      secure = this.socket.startTls();
    } catch (error) {
      throw new TransportFailure(`starting TLS failed: ${messageOf(error)}`);
    }
    this.socket = secure;
    secure.closed.catch(() => undefined);
    this.reader = secure.readable.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    this.writer = secure.writable.getWriter() as WritableStreamDefaultWriter<Uint8Array>;
    try {
      await withTimeout(secure.opened, this.options.timeoutMs, "the TLS handshake");
    } catch (error) {
      if (error instanceof TransportFailure) throw error;
      // workerd reports certificate problems only as an opaque "internal error".
      throw new TransportFailure(
        `the TLS handshake with ${this.options.host} failed (untrusted certificate, a certificate not valid for ${this.options.host}, or no common protocol): ${messageOf(error)}`,
      );
    }
  }

  /** QUIT and wait briefly for the goodbye; a failure here changes nothing. */
  async quit(): Promise<void> {
    if (this.closed) return;
    try {
      await this.command("QUIT");
      await withTimeout(
        this.readReply(),
        Math.min(this.options.timeoutMs, QUIT_TIMEOUT_MS),
        "waiting for the QUIT reply",
      );
    } catch {
      // The transaction is already decided.
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Closing cancels a read or write still pending after a timeout.
    await this.socket.close().catch(() => undefined);
  }

  /** Bounds a wait by the timeout and turns socket errors into transport failures. */
  private async guard<T>(promise: Promise<T>, what: string): Promise<T> {
    try {
      return await withTimeout(promise, this.options.timeoutMs, what);
    } catch (error) {
      if (error instanceof TransportFailure) throw error;
      throw new TransportFailure(`${what} failed: ${messageOf(error)}`);
    }
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransportFailure(`timed out after ${ms} ms ${what}`)), ms);
  });
  try {
    // race() also handles a later rejection of the loser, so no unhandled rejection follows.
    return await Promise.race([promise, timeout]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function base64(text: string): string {
  // RFC 4954: credentials are UTF-8 before base64.
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// What may appear inside <…> of MAIL FROM / RCPT TO without changing the command: no
// whitespace, brackets or controls (RFC 5321 4.1.2 Path has none of them unquoted).
// eslint-disable-next-line no-control-regex
const PATH = /^[^\s<>\x00-\x1f\x7f]+@[^\s<>\x00-\x1f\x7f@]+$/;

function checkEnvelope(envelope: SmtpSubmission["envelope"]): { from: string; to: string[] } {
  if (!envelope || typeof envelope.from !== "string" || !Array.isArray(envelope.to)) {
    throw new TypeError("smtp: envelope must be { from: string, to: string[] }");
  }
  if (envelope.from !== "" && !PATH.test(envelope.from)) {
    throw new TypeError(`smtp: invalid envelope sender ${JSON.stringify(envelope.from)}`);
  }
  if (envelope.to.length === 0) throw new TypeError("smtp: no envelope recipients");
  for (const address of envelope.to) {
    if (typeof address !== "string" || !PATH.test(address)) {
      throw new TypeError(`smtp: invalid envelope recipient ${JSON.stringify(address)}`);
    }
  }
  return { from: envelope.from, to: [...new Set(envelope.to)] };
}

function checkOptions(options: SmtpClientOptions): void {
  if (!["starttls", "tls", "none"].includes(options.security)) {
    throw new TypeError(`smtp: unknown security mode ${JSON.stringify(options.security)}`);
  }
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    throw new TypeError(`smtp: invalid port ${options.port}`);
  }
  if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
    throw new TypeError(`smtp: invalid timeout ${options.timeoutMs}`);
  }
  // The EHLO argument is a domain or an address literal (RFC 5321 4.1.1.1).
  if (!/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f.:]+\]$/.test(options.clientName)) {
    throw new TypeError(`smtp: invalid EHLO name ${JSON.stringify(options.clientName)}`);
  }
  // RFC 4616 2: NUL separates the PLAIN fields, so neither may contain one.
  if (options.auth && (/\0/.test(options.auth.user) || /\0/.test(options.auth.pass))) {
    throw new TypeError("smtp: the user name and password must not contain NUL");
  }
}
