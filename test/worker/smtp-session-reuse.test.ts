import { describe, expect, inject, it } from "vitest";
import { loadAppConfig } from "../../domain/config/app-config";
import { composeMessage } from "../../domain/mail/compose-message";
import { smtpBulkTransport } from "../../workers/mailer/bulk-transport";
import { smtpOptions } from "../../workers/mailer/mailer";
import { submitMessages } from "../../workers/mailer/smtp-client";

// The campaign sender's SMTP path: many transactions per session (RFC 5321 3.3), against the
// real sink from the global setup.

const sink = inject("smtp");

function config(ehloName: string) {
  const result = loadAppConfig({
    APP_ENV: "test",
    PUBLIC_BASE_URL: "http://docket.test",
    MAIL_FROM: "Docket <noreply@send.docket.test>",
    MAIL_SENDING_DOMAIN: ehloName,
    MAIL_REPLY_TO: "hello@docket.test",
    OPERATOR_EMAIL: "ops@docket.test",
    SMTP_HOST: sink.host,
    SMTP_PORT: String(sink.port),
    SMTP_SECURITY: "none",
    SMTP_USER: sink.user,
    SMTP_PASSWORD: sink.pass,
    SMTP_TIMEOUT_MS: "5000",
    OUTREACH_SMTP_CONNECTIONS: "2",
  });
  if (!result.ok) throw new Error(result.problems.join("; "));
  return result.config;
}

interface SinkSession {
  transcript: string[];
}

async function sessionsOf(ehloName: string): Promise<string[][]> {
  const sessions = (await (await fetch(`http://${sink.host}:${sink.httpPort}/sessions`)).json()) as SinkSession[];
  return sessions
    .filter((s) => s.transcript.includes(`C: EHLO ${ehloName}`))
    .map((s) => s.transcript.filter((l) => l.startsWith("C: ")).map((l) => l.slice(3)));
}

async function submission(to: string, ehloName: string) {
  const composed = await composeMessage({ to, subject: "Hello", text: "Hello" }, config(ehloName));
  return { envelope: composed.envelope, raw: composed.raw };
}

const uniqueName = () => `t${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}.docket.test`;

describe("submitMessages: one session, many transactions", () => {
  it("sends each message in its own transaction after one EHLO and AUTH, and RSETs after a refusal", async () => {
    const name = uniqueName();
    const results = await submitMessages(smtpOptions(config(name)), [
      await submission("one@carrier.example", name),
      await submission("reject-two@carrier.example", name),
      await submission("defer-three@carrier.example", name),
      await submission("four@carrier.example", name),
    ]);
    expect(results.map((r) => [r.status, r.code, r.stage])).toEqual([
      ["accepted", 250, "done"],
      ["rejected", 550, "rcpt"],
      ["deferred", 451, "rcpt"],
      ["accepted", 250, "done"],
    ]);
    const sessions = await sessionsOf(name);
    expect(sessions).toHaveLength(1);
    const commands = sessions[0]!;
    expect(commands.filter((c) => c.startsWith("EHLO"))).toHaveLength(1);
    expect(commands.filter((c) => c.startsWith("AUTH"))).toHaveLength(1);
    expect(commands.filter((c) => c.startsWith("MAIL FROM"))).toHaveLength(4);
    expect(commands.filter((c) => c === "RSET")).toHaveLength(2);
    expect(commands.at(-1)).toBe("QUIT");
  });

  it("defers every message, none offered, when the relay is unreachable", async () => {
    const name = uniqueName();
    const options = { ...smtpOptions(config(name)), port: 1, timeoutMs: 2000 };
    const results = await submitMessages(options, [
      await submission("a@carrier.example", name),
      await submission("b@carrier.example", name),
    ]);
    expect(results).toHaveLength(2);
    for (const r of results) expect(r).toMatchObject({ status: "deferred", code: null });
    // Never offered: not stage "data", so the sender may try them again.
    expect(results.map((r) => r.stage)).not.toContain("data");
  });

  it("the bulk transport spreads a batch over OUTREACH_SMTP_CONNECTIONS sessions, results in order", async () => {
    const name = uniqueName();
    const batch = await Promise.all(Array.from({ length: 6 }, (_, i) => submission(`bulk${i}@carrier.example`, name)));
    const results = await smtpBulkTransport(config(name)).submitAll(
      batch.map((b, i) => ({ ...b, messageId: `<m${i}@${name}>` })),
    );
    expect(results.map((r) => r.recipients[0]!.address)).toEqual(batch.map((b) => b.envelope.to[0]));
    expect(results.every((r) => r.status === "accepted")).toBe(true);
    expect(await sessionsOf(name)).toHaveLength(2);
  });
});
