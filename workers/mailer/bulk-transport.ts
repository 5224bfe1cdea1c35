import type { AppConfig } from "../../domain/config/app-config";
import type { OutboundSubmission, SendOutcome } from "./mailer";
import { smtpOptions } from "./mailer";
import { submitMessages } from "./smtp-client";

export type SubmissionResult = Omit<SendOutcome, "messageId">;

/**
 * Hands many composed messages to the relay at once: the campaign sender's transport. One result
 * per submission, in order; like MailTransport it never rejects for an SMTP-level result.
 */
export interface BulkMailTransport {
  /** `sessions` caps the SMTP sessions used for these submissions (default: OUTREACH_SMTP_CONNECTIONS). */
  submitAll(submissions: OutboundSubmission[], options?: { sessions?: number }): Promise<SubmissionResult[]>;
}

/**
 * The configured SMTP relay, over OUTREACH_SMTP_CONNECTIONS sessions side by side, each carrying
 * its share of the messages as consecutive transactions (no connection, EHLO or AUTH per
 * message: that, not the relay, is what limits one-message-per-connection senders).
 */
export function smtpBulkTransport(config: AppConfig): BulkMailTransport {
  const smtp = smtpOptions(config);
  return {
    async submitAll(submissions, options = {}) {
      if (submissions.length === 0) return [];
      const wanted = options.sessions ?? config.OUTREACH_SMTP_CONNECTIONS;
      const sessions = Math.max(1, Math.min(wanted, submissions.length));
      const size = Math.ceil(submissions.length / sessions);
      const chunks: OutboundSubmission[][] = [];
      for (let i = 0; i < submissions.length; i += size) chunks.push(submissions.slice(i, i + size));
      const results = await Promise.all(
        chunks.map((chunk) =>
          submitMessages(
            smtp,
            chunk.map(({ envelope, raw }) => ({ envelope, raw })),
          ),
        ),
      );
      return results.flat();
    },
  };
}
