import { classifyBounce, type BounceClassification } from "../bounces/classify-bounce";
import {
  parseDmarcInput,
  DmarcParseError,
  type DmarcLimits,
  type DmarcParseOutcome,
} from "../dmarc/parse-aggregate-report";
import { parseAgencyTag, type AgencyTag } from "./agency-tag";

/**
 * What an inbound message is, decided once from its raw bytes (pure: no I/O). The consumer
 * acts on the result. Order matters:
 * 1. a DMARC aggregate report (RFC 7489 §7.2.1.1 subject, or an XML/gzip/zip attachment that
 *    parses as one; a report that fails to parse is still a report, with its error);
 * 2. a delivery status notification, complaint or auto-reply (the bounce classifier);
 * 3. an agency's reply, by the tag we put in the request's subject;
 * 4. anything else, for a human: forwarded to the operator.
 */
export type InboundClassification =
  | { kind: "dmarc_report"; dmarc: DmarcParseOutcome }
  | { kind: "dmarc_report"; error: DmarcParseError }
  | { kind: "bounce" | "delay" | "delivered" | "complaint" | "auto_reply"; bounce: BounceClassification }
  | { kind: "agency_reply"; agency: AgencyTag }
  /** Mail to a campaign message's List-Unsubscribe mailto (RFC 2369): the token names the send. */
  | { kind: "unsubscribe"; token: string }
  | { kind: "other" };

export interface InboundFacts {
  subject: string | undefined;
  /** Attachment MIME types and file names as postal-mime reports them. */
  attachments: { mimeType: string; filename: string | null }[];
}

// RFC 7489 §7.2.1.1: "Report Domain: <domain> Submitter: <submitter> Report-ID: <id>".
const REPORT_SUBJECT = /report\s+domain\s*:.*submitter\s*:/i;
const REPORT_ATTACHMENT_TYPE = /^(application|text)\/(xml|gzip|x-gzip|gzip-compressed|zip|x-zip|x-zip-compressed)$/i;
const REPORT_ATTACHMENT_NAME = /\.(xml|xml\.gz|gz|zip)$/i;

function mayBeDmarcReport(facts: InboundFacts): boolean {
  if (REPORT_SUBJECT.test(facts.subject ?? "")) return true;
  return facts.attachments.some(
    (a) =>
      !/\.json(\.gz)?$/i.test(a.filename ?? "") &&
      (REPORT_ATTACHMENT_TYPE.test(a.mimeType) || REPORT_ATTACHMENT_NAME.test(a.filename ?? "")),
  );
}

export async function classifyInbound(
  raw: Uint8Array,
  facts: InboundFacts,
  dmarcLimits: Partial<DmarcLimits>,
): Promise<InboundClassification> {
  if (mayBeDmarcReport(facts)) {
    try {
      return {
        kind: "dmarc_report",
        dmarc: await parseDmarcInput(raw, { filename: "message.eml", limits: dmarcLimits }),
      };
    } catch (error) {
      if (!(error instanceof DmarcParseError)) throw error;
      // An attachment that is not a report (an invoice PDF zipped, a TLS report) falls through
      // to the other kinds; a report that is a bomb or broken is a failed report.
      if (error.code !== "not_a_report" || REPORT_SUBJECT.test(facts.subject ?? "")) {
        return { kind: "dmarc_report", error };
      }
    }
  }
  const bounce = await classifyBounce(raw);
  if (bounce.kind !== "not_bounce") return { kind: bounce.kind, bounce };
  const agency = parseAgencyTag(facts.subject);
  if (agency) return { kind: "agency_reply", agency };
  return { kind: "other" };
}
