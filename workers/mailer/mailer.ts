import type { AppConfig } from "../../domain/config/app-config";
import { composeMessage, type ComposeInput } from "../../domain/mail/compose-message";
import { submitMessage, type SmtpClientOptions } from "./smtp-client";

/**
 * The one way Docket sends mail: compose (domain/mail/compose-message) and hand the result to a
 * transport, by default the configured SMTP relay.
 *
 * `send` throws only for a message that must not be sent (ComposeError: header injection, bad
 * address, no recipient…). Whatever the relay says, or fails to say, comes back as an outcome.
 * A "rejected" outcome is a verdict on the recipient only at stage "rcpt" or "data"; at any
 * other stage (auth, starttls, mail…) it is about our own setup, and callers that suppress
 * addresses must look at the stage first.
 */

/** What a caller sends: the composer's input (domain/mail/compose-message.ts). */
export type OutboundMessage = ComposeInput;

export interface RecipientResult {
  address: string;
  status: "accepted" | "deferred" | "rejected";
  code: number | null;
  enhancedCode: string | null;
  text: string;
}

export interface SendOutcome {
  status: "accepted" | "deferred" | "rejected";
  code: number | null;
  enhancedCode: string | null;
  text: string;
  messageId: string;
  stage: "connect" | "greeting" | "ehlo" | "starttls" | "auth" | "mail" | "rcpt" | "data" | "done";
  recipients: RecipientResult[];
}

export interface Mailer {
  send(message: OutboundMessage): Promise<SendOutcome>;
}

/** A composed message on its way out. */
export interface OutboundSubmission {
  envelope: { from: string; to: string[] };
  /** RFC 5322 message, CRLF line ends. */
  raw: Uint8Array;
  messageId: string;
}

/** Delivers a composed message: the SMTP relay by default, an HTTP provider later. */
export interface MailTransport {
  submit(submission: OutboundSubmission): Promise<Omit<SendOutcome, "messageId">>;
}

export function createMailer(config: AppConfig, transport: MailTransport = smtpTransport(config)): Mailer {
  return {
    async send(message) {
      const composed = await composeMessage(message, config);
      const result = await transport.submit({
        envelope: composed.envelope,
        raw: composed.raw,
        messageId: composed.messageId,
      });
      return { ...result, messageId: composed.messageId };
    },
  };
}

/** The SMTP relay named by SMTP_HOST/PORT/SECURITY, authenticating when SMTP_USER is set. */
export function smtpTransport(config: AppConfig): MailTransport {
  const options = smtpOptions(config);
  return { submit: async ({ envelope, raw }) => await submitMessage(options, { envelope, raw }) };
}

/** Half a set of credentials never gets here: loadAppConfig refuses it (RFC 4954 needs both). */
export function smtpOptions(config: AppConfig): SmtpClientOptions {
  return {
    host: config.SMTP_HOST,
    port: config.SMTP_PORT,
    security: config.SMTP_SECURITY,
    clientName: config.MAIL_SENDING_DOMAIN,
    auth:
      config.SMTP_USER !== undefined && config.SMTP_PASSWORD !== undefined
        ? { user: config.SMTP_USER, pass: config.SMTP_PASSWORD }
        : undefined,
    timeoutMs: config.SMTP_TIMEOUT_MS,
  };
}
