/**
 * Complaint reports. Pure: no I/O.
 *
 * - RFC 5965 ARF: a multipart/report with report-type=feedback-report whose second part,
 *   message/feedback-report, carries Feedback-Type (abuse, fraud, virus, other, not-spam;
 *   auth-failure from RFC 6591; opt-out ...), Original-Rcpt-To (possibly repeated),
 *   Removal-Recipient and friends, and whose third part is the reported message (or its
 *   headers, text/rfc822-headers).
 * - Microsoft's JMRP, which predates ARF: the reported message attached as message/rfc822, with
 *   the complaining recipient in its X-HmXmrOriginalRecipient header.
 */

import { allAddresses, firstAddress, headerValue, parseFieldLines, type HeaderField } from "./mail-headers";

export interface FeedbackReport {
  feedbackType: string;
  /** The complaining recipients, in report order (may be empty when the report redacts them). */
  recipients: string[];
  userAgent: string | undefined;
  sourceIp: string | undefined;
  originalMailFrom: string | undefined;
  arrivalDate: string | undefined;
}

/** Parses the fields of a message/feedback-report part (RFC 5965 3.1). */
export function parseFeedbackReport(reportText: string, originalHeaders: HeaderField[] | undefined): FeedbackReport {
  const fields = parseFieldLines(reportText.replace(/\r\n?/g, "\n"));
  const all = (name: string) => fields.filter((f) => f.name === name).map((f) => f.value);
  const recipients = [
    ...all("original-rcpt-to").flatMap(allAddresses),
    ...(all("original-rcpt-to").length ? [] : all("removal-recipient").flatMap(allAddresses)),
  ];
  if (recipients.length === 0 && originalHeaders) {
    const to = firstAddress(headerValue(originalHeaders, "to"));
    if (to) recipients.push(to);
  }
  return {
    feedbackType: (headerValue(fields, "feedback-type") ?? "other").toLowerCase(),
    recipients: [...new Set(recipients)],
    userAgent: headerValue(fields, "user-agent"),
    sourceIp: headerValue(fields, "source-ip"),
    originalMailFrom: firstAddress(headerValue(fields, "original-mail-from")),
    arrivalDate: headerValue(fields, "arrival-date") ?? headerValue(fields, "received-date"),
  };
}

/** Microsoft JMRP: a reported message that names its complaining recipient in a header. */
export function parseJmrpReport(originalHeaders: HeaderField[]): FeedbackReport | undefined {
  const recipient = firstAddress(headerValue(originalHeaders, "x-hmxmroriginalrecipient"));
  if (!recipient) return undefined;
  return {
    feedbackType: "abuse",
    recipients: [recipient],
    userAgent: undefined,
    sourceIp: undefined,
    originalMailFrom: undefined,
    arrivalDate: undefined,
  };
}
