// Shapes of a parsed DMARC aggregate report (RFC 7489 Appendix C; RFC 9990, namespace
// urn:ietf:params:xml:ns:dmarc-2.0), the limits that guard decompression, and the one error
// type every refusal uses. Pure data: no I/O, no Cloudflare bindings.

export interface DkimAuthResult {
  domain: string;
  /** Optional in RFC 7489's schema; null when the reporter left it out. */
  selector: string | null;
  /** Lower-cased (receivers send "Pass"/"FAIL" too). Missing → "none". */
  result: string;
  humanResult?: string;
}

export interface SpfAuthResult {
  domain: string;
  /** "mfrom" | "helo" (RFC 9990 keeps only mfrom); null when absent. */
  scope: string | null;
  result: string;
  humanResult?: string;
}

export interface PolicyOverrideReason {
  /** forwarded | sampled_out | trusted_forwarder | mailing_list | local_policy | other … */
  type: string;
  comment: string | null;
}

export interface DmarcRecord {
  sourceIp: string;
  /** Exact integer from <count>. */
  count: number;
  disposition: string;
  /** policy_evaluated dkim / spf, lower-cased: the aligned results (RFC 7489 §6.6.2). */
  dkim: string;
  spf: string;
  dkimAligned: boolean;
  spfAligned: boolean;
  /** DMARC passes when either aligned identifier passes (RFC 7489 §6.6.2). */
  dmarcPass: boolean;
  headerFrom: string;
  envelopeFrom?: string;
  envelopeTo?: string;
  authResults: { dkim: DkimAuthResult[]; spf: SpfAuthResult[] };
  reasons: PolicyOverrideReason[];
}

export interface PolicyPublished {
  domain: string;
  /** Defaults from RFC 7489 §6.3 when absent: adkim/aspf "r", pct 100, sp = p. */
  adkim: string;
  aspf: string;
  p: string;
  sp: string;
  pct: number;
  /** RFC 9990 additions. */
  np?: string;
  testing?: string;
  discoveryMethod?: string;
  fo?: string;
}

export interface DmarcAggregateReport {
  /** "2.0" style <version> when present (often missing in the wild). */
  version?: string;
  /** RFC 9990 namespace, the classic draft namespace, or undefined. */
  namespace?: string;
  /** Trimmed <org_name>; when empty, the domain of <email>. */
  orgName: string;
  email?: string;
  extraContactInfo?: string;
  reportId: string;
  begin: Date;
  end: Date;
  policyPublished: PolicyPublished;
  records: DmarcRecord[];
  /** Things we tolerated (empty org_name, non-integer count…), for logs; never fatal. */
  warnings: string[];
}

export type DmarcParseErrorCode =
  | "too_large" // decompressed (or raw) size above limits.maxDecompressedBytes / maxInputBytes
  | "ratio" // decompression ratio above limits.maxRatio (a bomb)
  | "too_many_members" // zip with more members than limits.maxZipMembers
  | "entities" // <!DOCTYPE>/<!ENTITY> declarations: refused, never expanded
  | "truncated" // gzip/zip/deflate data ends early or its trailer is missing
  | "corrupt" // invalid compressed data, bad CRC-32
  | "unsupported" // encrypted zip, unknown compression method
  | "not_a_report" // readable, but not a DMARC aggregate report (failure report, TLS-RPT, empty…)
  | "invalid_report"; // a <feedback> without the fields a report cannot be stored without

export class DmarcParseError extends Error {
  override readonly name = "DmarcParseError";
  constructor(
    readonly code: DmarcParseErrorCode,
    message: string,
    /** Bytes inflated when a limit stopped decompression (proves we stopped early). */
    readonly inflatedBytes?: number,
  ) {
    super(message);
  }
}

export interface DmarcLimits {
  /** Largest input accepted as-is (an e-mail, an archive, bare XML). */
  maxInputBytes: number;
  /** Total bytes all decompression of one input may produce. */
  maxDecompressedBytes: number;
  /**
   * Output / compressed input consumed so far, per stream, above which we stop (deflate tops
   * out near 1032:1; real reports stay well under 100:1).
   */
  maxRatio: number;
  /** Output below this is never judged by ratio: tiny files compress oddly and can't hurt. */
  ratioGraceBytes: number;
  maxZipMembers: number;
}

// 32 MiB of XML is far beyond the largest reports seen (Google's rarely pass a few MB) and
// leaves headroom inside a Worker's 128 MB isolate once it becomes a JS string.
export const DEFAULT_DMARC_LIMITS: DmarcLimits = {
  maxInputBytes: 32 * 1024 * 1024,
  maxDecompressedBytes: 32 * 1024 * 1024,
  maxRatio: 400,
  ratioGraceBytes: 1024 * 1024,
  maxZipMembers: 20,
};

export interface DmarcParseFailure {
  /** Where in the input: "report.zip > a.xml", "attachment report.xml.gz"… */
  source: string;
  error: DmarcParseError;
}

export interface DmarcParseOutcome {
  reports: DmarcAggregateReport[];
  /** Parts that were candidates but failed, when at least one other part gave a report. */
  failures: DmarcParseFailure[];
}
