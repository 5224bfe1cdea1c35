import type { SmtpReply } from "./smtp-reply";

/**
 * The one classification of a delivery outcome, used wherever an SMTP verdict reaches us: the
 * mailer's synchronous replies, delivery status notifications (bounces) and MTA log lines. Pure.
 *
 *   accepted           2yz: the receiver took the message.
 *   deferred           4yz that says nothing about us (greylisting, busy, network, a transient
 *                      authentication or content complaint): retry as usual.
 *   throttled          4yz because of our volume or reputation: retry, and slow this operator.
 *   reject_reputation  5yz because of the sending IP or domain (blocklists, banned IPs,
 *                      "unusual rate of unsolicited mail"), or a policy 5.7.x that names nothing
 *                      more specific.
 *   reject_recipient   5yz because of the address: unknown, disabled, full, or a domain whose
 *                      server takes no mail from outside. List hygiene.
 *   reject_content     5yz because of the message itself: spam-like content, links, headers,
 *                      format, size.
 *   reject_auth        5yz because the receiver could not verify us as the sender: SPF, DKIM,
 *                      DMARC, reverse DNS, the envelope sender's domain.
 *   reject_other       any other 5yz.
 *
 * The reply code decides the class (RFC 5321 4.2.1: the client acts on it), so a 4yz never becomes
 * a reject_* and a 5yz never becomes deferred or throttled. One exception: an operator that says in
 * a 4yz that retrying will not succeed (Yahoo's "permanently deferred", TSS09/TS03) is a
 * reputation rejection, because that is what Yahoo's error-code page tells senders it is.
 */

export const DELIVERY_OUTCOMES = [
  "accepted",
  "deferred",
  "throttled",
  "reject_reputation",
  "reject_recipient",
  "reject_content",
  "reject_auth",
  "reject_other",
] as const;

export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

export interface SmtpOutcomeInput {
  /** The three-digit reply code, when known. Taken from the text when absent. */
  code?: number | null;
  /** RFC 3463 enhanced status code (`5.1.1`), e.g. a DSN's Status field or Postfix's dsn=. */
  enhanced?: string | null;
  /** The reply text, a DSN Diagnostic-Code or a Postfix response; may still carry the codes. */
  text?: string | null;
}

export interface SmtpClassification {
  outcome: DeliveryOutcome;
  /**
   * A short, stable key for aggregation: the enhanced code (`4.7.500`), else the reply code
   * (`550`), else `unknown`; followed by `:TAG` when the operator put one of its own documented
   * reason tags in the text (Yahoo and Apple `[TSS04]`, Microsoft consumer `(S3150)`, the cable
   * ISPs' `AUP#CDRBL`), because `4.7.0` alone says nothing.
   */
  reasonCode: string;
}

/** Convenience for the mailer: classifies a reply parsed by smtp-reply. */
export function classifySmtpReply(reply: SmtpReply): SmtpClassification {
  return classifySmtpOutcome({ code: reply.code, enhanced: reply.enhancedCode, text: reply.text });
}

export function classifySmtpOutcome(input: SmtpOutcomeInput): SmtpClassification {
  const rawText = input.text ?? "";
  const givenEnhanced = firstEnhanced(input.enhanced ?? "");
  const found = extractSmtpReply(rawText, givenEnhanced === null ? null : Number(givenEnhanced[0]));
  const code = validCode(input.code) ?? found.code;
  // A DSN's Status (or Postfix's dsn=) is often the reporting MTA's generic X.0.0 while the remote
  // server's own reply, quoted in the text, is specific (RFC 3464 2.3.4, 2.3.6): prefer the latter.
  const generic = givenEnhanced !== null && /^\d\.0\.0$/.test(givenEnhanced);
  const enhanced =
    (generic && found.enhanced !== null ? found.enhanced : givenEnhanced) ??
    found.enhanced ??
    firstEnhanced(rawText, classOf(code, null));
  const replyClass = classOf(code, enhanced);
  const base = enhanced ?? (code === null ? "unknown" : String(code));

  if (replyClass === null) return { outcome: "deferred", reasonCode: base };
  if (replyClass === 2) return { outcome: "accepted", reasonCode: base };

  const reasonCode = withTag(base, rawText);
  const permanent = replyClass === 5;
  // An enhanced code whose class contradicts the reply code is the server's mistake (RFC 3463 2
  // requires them to agree); it still names a subject, but no operator table applies to it.
  const consistent = enhanced !== null && enhanced.startsWith(`${replyClass}.`);

  if (consistent) {
    const byCode = CODE_RULES.find((rule) => rule.matches(enhanced, code));
    if (byCode) return { outcome: byCode.outcome, reasonCode };
  }

  const text = normalise(rawText);
  if (text !== "") {
    const byText = TEXT_RULES.find((rule) => rule.pattern.test(text));
    if (byText) return { outcome: permanent ? byText.permanent : byText.transient, reasonCode };
  }

  return { outcome: permanent ? permanentFallback(enhanced) : "deferred", reasonCode };
}

/**
 * The first SMTP reply code in a text and the enhanced code right after it, wherever the text
 * starts: a bare reply (`550 5.1.1 ...`), a DSN Diagnostic-Code (`smtp; 550-5.7.1 ...`) or a
 * Postfix response (`host mx[192.0.2.1] said: 451 4.7.500 ...`). IP octets, ports and bracketed
 * ids are not mistaken for codes.
 */
export function extractSmtpReply(
  text: string,
  wantedClass: number | null = null,
): { code: number | null; enhanced: string | null } {
  for (const match of text.matchAll(REPLY_IN_TEXT)) {
    // A bounce may quote the greeting before the refusal ("220-laposte 421 4.2.1 Service
    // refuse"): when the class is known from a DSN Status, the first code of that class is the one.
    if (wantedClass !== null && Number(match[1]![0]) !== wantedClass) continue;
    const enhanced = match[2] ?? null;
    return { code: Number(match[1]), enhanced: enhanced !== null && enhanced[0] === match[1]![0] ? enhanced : null };
  }
  return { code: null, enhanced: null };
}

// RFC 5321 4.2: three digits, the first 2-5 and the second 0-5, followed by a space, a hyphen
// (continuation) or the end. Not preceded by anything that makes it part of an address, an id
// or a number (192.0.2.250, [250], :250, AS(2501...)).
const REPLY_IN_TEXT = /(?<![\w.\-[\]/#:=@])([245][0-5]\d)(?=[ -]|$)(?:[ -]#?([245]\.\d{1,3}\.\d{1,3})(?![.\d]))?/g;

// RFC 3463 2: class.subject.detail, with no further dotted part (so not Yahoo's 4.16.55.1 or an IP).
const ENHANCED_ANYWHERE = /(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?![.\d])/;

function validCode(code: number | null | undefined): number | null {
  return typeof code === "number" && Number.isInteger(code) && code >= 100 && code <= 599 ? code : null;
}

function firstEnhanced(text: string, wantedClass: number | null = null): string | null {
  const match = ENHANCED_ANYWHERE.exec(text);
  if (!match) return null;
  if (wantedClass !== null && Number(match[1]) !== wantedClass) return null;
  return `${match[1]}.${Number(match[2])}.${Number(match[3])}`;
}

/** 2, 4 or 5 from the reply code (which wins), else from the enhanced code; null for 1yz/3yz. */
function classOf(code: number | null, enhanced: string | null): 2 | 4 | 5 | null {
  const digit = code !== null ? Math.floor(code / 100) : enhanced !== null ? Number(enhanced[0]) : null;
  return digit === 2 || digit === 4 || digit === 5 ? digit : null;
}

/**
 * Lower-cased, whitespace collapsed, and without the reply-code prefixes that joined multi-line
 * replies carry in the middle of a sentence ("unusual rate of 550-5.7.1 unsolicited mail").
 */
function normalise(text: string): string {
  return text
    .toLowerCase()
    .replace(/(?<![\w.])[245]\d\d[ -]#?(?:[245]\.\d{1,3}\.\d{1,3}(?![.\d]))?/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

// Operators' own reason tags. Yahoo's SMTP error-code page (TSxx/TSSxx deferrals, BLxx blocklist,
// PHxx content) and Apple's iCloud postmaster page (CSxx, HMxx) put them in brackets; Outlook.com
// puts S3xxx in parentheses (S3150 "part of their network is on our block list"); Cox, Charter
// and Spectrum use AUP#xxx. Microsoft's per-message AS(...) ids are left out: unbounded.
const REASON_TAGS: readonly RegExp[] = [/\[([A-Z]{2,4}\d{2})\]/, /\((S3\d{3})\)/, /\b(AUP#[A-Za-z0-9-]{2,20})/];

function withTag(base: string, text: string): string {
  for (const pattern of REASON_TAGS) {
    const match = pattern.exec(text);
    if (match) return `${base}:${match[1]}`;
  }
  return base;
}

interface CodeRule {
  matches(enhanced: string, code: number | null): boolean;
  outcome: DeliveryOutcome;
}

function codes(list: readonly string[], outcome: DeliveryOutcome, unless?: (code: number | null) => boolean): CodeRule {
  const set = new Set(list);
  return { outcome, matches: (enhanced, code) => set.has(enhanced) && !(unless?.(code) ?? false) };
}

function range(prefix: string, from: number, to: number, outcome: DeliveryOutcome): CodeRule {
  return {
    outcome,
    matches: (enhanced) => {
      if (!enhanced.startsWith(prefix)) return false;
      const detail = Number(enhanced.slice(prefix.length));
      return detail >= from && detail <= to;
    },
  };
}

/**
 * Enhanced codes whose meaning the operators document precisely enough to decide before reading
 * the text. Only consulted when the code's class agrees with the reply code.
 */
const CODE_RULES: readonly CodeRule[] = [
  // Microsoft, Exchange Online NDR reference: 4.7.500-699 and 4.7.850-899 "Access denied, please
  // try again later": suspicious volume from the IP, temporarily restricted (the 451 4.7.500
  // "Server busy" of a cold IP; 4.7.650 "rate limited due to IP reputation").
  range("4.7.", 500, 699, "throttled"),
  range("4.7.", 850, 899, "throttled"),
  // Google, Gmail SMTP errors and codes: 421 4.7.28 "unusual rate of (unsolicited) email ...
  // temporarily rate limited" (per IP, netblock, DKIM/SPF domain, URL domain).
  codes(["4.7.28"], "throttled"),
  // Google: 4.7.23-4.7.27, 4.7.29, 4.7.30, 4.7.32, 4.7.40 are "rate limited because" PTR, SPF,
  // DKIM, TLS, DMARC or alignment requirements are not met. Slowing down fixes none of them, so
  // they are ordinary deferrals; the reason code keeps them visible.
  codes(["4.7.23", "4.7.24", "4.7.25", "4.7.26", "4.7.27", "4.7.29", "4.7.30", "4.7.32", "4.7.40"], "deferred"),
  // RFC 7372 3 (5.7.20-5.7.26: DKIM, SPF, reverse DNS, multiple checks), RFC 7505 (5.7.27 null MX
  // sender); Google 5.7.26/27/30/32/40 (unauthenticated, SPF, DKIM, alignment, no DMARC) and 5.7.29
  // (no TLS, one of its sender requirements); Microsoft 5.7.509 (DMARC reject) and 5.7.515
  // ("does not meet the required authentication level"). 504 5.7.40 is SMTP AUTH, not ours.
  codes(
    [
      "5.7.20",
      "5.7.21",
      "5.7.22",
      "5.7.23",
      "5.7.24",
      "5.7.25",
      "5.7.26",
      "5.7.27",
      "5.7.29",
      "5.7.30",
      "5.7.32",
      "5.7.40",
      "5.7.509",
      "5.7.515",
    ],
    "reject_auth",
    (code) => code === 504,
  ),
  // Google 5.7.28 (unusual rate of unsolicited email from your IP, blocked); Microsoft 5.7.501-503
  // (banned sender), 5.7.507 (IP blocked by the recipient), 5.7.508 (IP range over its limits),
  // 5.7.511 (banned sender IP), 5.7.513 (customer block list), 5.7.606-649 (banned sending IP),
  // 5.7.705/5.7.708 (traffic not accepted from this IP), 5.7.800 (banned sender domain).
  codes(
    [
      "5.7.28",
      "5.7.501",
      "5.7.502",
      "5.7.503",
      "5.7.507",
      "5.7.508",
      "5.7.511",
      "5.7.513",
      "5.7.705",
      "5.7.708",
      "5.7.800",
    ],
    "reject_reputation",
  ),
  range("5.7.", 606, 649, "reject_reputation"),
  // Microsoft 5.7.350 (remote server returned message detected as spam), 5.7.512 (From: not
  // RFC 5322 3.6.2 compliant).
  codes(["5.7.350", "5.7.512"], "reject_content"),
  // Microsoft 5.1.10 (recipient not found), 5.7.504/5.7.505 (recipient rejected, banned
  // recipient), 5.7.12, 5.7.13, 5.7.124, 5.7.133-136 (recipient takes mail only from its own
  // organisation or allowed senders); RFC 4954 525 5.7.13 (disabled account).
  codes(
    ["5.1.10", "5.7.504", "5.7.505", "5.7.12", "5.7.13", "5.7.124", "5.7.133", "5.7.134", "5.7.135", "5.7.136"],
    "reject_recipient",
  ),
  // Microsoft 5.2.121/5.2.122: that recipient's per-hour receive limit. Not a bad address.
  codes(["5.2.121", "5.2.122"], "reject_other"),
];

interface TextRule {
  name: string;
  pattern: RegExp;
  /** Outcome for a 4yz reply. */
  transient: DeliveryOutcome;
  /** Outcome for a 5yz reply. */
  permanent: DeliveryOutcome;
}

/**
 * Phrases real MTAs use, most specific first; the first match decides. Reputation comes before
 * rate and content because Gmail's and Microsoft's reputation blocks also say "to protect our
 * users from spam"; strong recipient phrases come before content because "spam" is a weaker
 * signal than "user unknown"; Postfix's generic "Recipient address rejected:" prefix comes last.
 */
const TEXT_RULES: readonly TextRule[] = [
  {
    // Yahoo error codes (TS03, TSS09): "All messages from [IP] will be permanently deferred;
    // Retrying will NOT succeed."
    name: "permanent-deferral",
    pattern: /permanently deferred|retrying will not succeed/,
    transient: "reject_reputation",
    permanent: "reject_reputation",
  },
  {
    name: "greylisting",
    pattern: /gr[ae]y-?list/,
    transient: "deferred",
    permanent: "reject_other",
  },
  {
    // The receiving server is not the destination or takes no mail from outside: relaying denied
    // (Microsoft 5.7.1 "Unable to relay", 5.4.1 "Relay Access Denied"), groups and mailboxes
    // that accept only authenticated or internal senders (5.7.1 "Delivery not authorized").
    name: "no-external-mail",
    pattern:
      /relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited)|unable to relay|not (?:permitted|allowed) to relay|we do not relay|delivery not authori[sz]ed|not authenticated (?:to send anonymous|for (?:group|mailbox|public folder))|sender (?:was )?not authenticated|authentication required|smtp auth|unauthenticated senders|not in (?:the )?allowed[- ]senders|only accepts? (?:mail|messages|e-?mails?) from|restricted to (?:internal|members)/,
    transient: "deferred",
    permanent: "reject_recipient",
  },
  {
    // An explicit spam verdict on the message. Before authentication because such replies often
    // go on to advise on SPF (Google Groups: "rejected due to spam classification ... Set up SPF
    // records"); the verdict is what happened.
    name: "spam-verdict",
    pattern:
      /(?:rejected|blocked|classified|flagged|identified|detected|scored) as (?:spam|junk)|spam classification|spam score|spamassassin|message content rejected|likely unsolicited/,
    transient: "deferred",
    permanent: "reject_content",
  },
  {
    // SPF, DKIM, DMARC, reverse DNS (RFC 7208, 6376, 7489; Google's and Yahoo's sender
    // requirements; Apple "rejected due to <domain>'s DMARC policy"), Sender ID (RFC 4407).
    name: "authentication",
    pattern:
      /\bdmarc\b|\bspf\b|sender policy framework|\bdkim\b|domainkeys|sender is unauthenticated|unauthenticated (?:e-?mail|mail|message)|authentication (?:information|checks?|results?|level)|fails? to pass authentication|(?:not|isn't|is not) aligned|\bptr\b|reverse dns|reverse (?:host ?name|lookup)|\brdns\b|cannot find your (?:reverse )?host ?name|anti-?spoofing|purported responsible address/,
    transient: "deferred",
    permanent: "reject_auth",
  },
  {
    // Our envelope sender does not verify: its domain does not resolve (Postfix
    // reject_unknown_sender_domain, Yahoo "unresolvable RFC.5321 from domain").
    name: "sender-identity",
    pattern:
      /sender (?:address rejected: )?domain (?:not found|must exist|does not exist)|domain of sender address .{0,80}(?:does not exist|not found)|sender address rejected: (?:domain not found|need fully-qualified|not owned|unverified)|bad sender'?s? (?:system )?address|sender verify failed|unroutable sender|unresolvable rfc\.?532[12]|sender address has null mx/,
    transient: "deferred",
    permanent: "reject_auth",
  },
  {
    // A URL or domain in the message is listed (SURBL, URIBL, Spamhaus DBL): the content, not
    // the sending IP.
    name: "listed-content",
    pattern:
      /\b(?:urls?|uris?|links?|domains? in (?:the )?(?:message|body))\b.{0,60}\b(?:listed|black ?list|block ?list|deny ?list|reputation)|\b(?:surbl|uribl)\b|dbl\.spamhaus/,
    transient: "deferred",
    permanent: "reject_content",
  },
  {
    // Sending IP or domain reputation: DNS blocklists (Spamhaus, SpamCop, Barracuda, SORBS),
    // Microsoft's banned IPs and Outlook.com's block list (S3140/S3150), Gmail's "unusual rate of
    // unsolicited mail originating from your IP address" and "very low reputation of the sending
    // IP/domain", Yahoo's BLxx, the cable ISPs' AUP#, Proofpoint's ipcheck.
    name: "reputation",
    pattern:
      /reputation|blocked using|listed (?:at|in|on|by)\b|\b(?:block|black|deny) ?list|\bdnsbl\b|\brbls?\b|spamhaus|spamcop|barracuda ?(?:central|reputation)|\bsorbs\b|uceprotect|ipcheck\.proofpoint|banned (?:sending ip|sender|ip)|access denied, banned|traffic not accepted from|unusual (?:rate|amount|volume) of (?:unsolicited )?(?:e-?mail|mail|messages?)|(?:network|\bip|host)(?: address)? (?:\S+ )?(?:is |has been |was )?(?:blocked|banned|blacklisted|blocklisted)|blocked ip|client host .{0,80}(?:blocked|rejected|refused)|connections? (?:will )?not (?:be )?accepted from|not accepting (?:mail|connections|messages) from|host network not allowed|not authorized to send (?:e-?mail )?directly|\baup#|\bs3\d{3}\b|\[bl\d\d\]|dynamic(?:ally assigned)? ip|dial-?up|spam (?:source|sender|abuse)|known spammer|sending spam/,
    transient: "throttled",
    permanent: "reject_reputation",
  },
  {
    // One recipient receiving too much (Gmail 450 4.2.1 "receiving mail at a rate that prevents
    // additional messages", Exchange 432 4.3.2 "recipient thread limit exceeded"). Transient: slow
    // down. Permanent: that mailbox's limit, not a bad address and not our reputation.
    name: "recipient-rate",
    pattern:
      /receiving (?:e-?mail|mail) (?:at a rate|too quickly)|recipient thread limit|per hour message receive limit/,
    transient: "throttled",
    permanent: "reject_other",
  },
  {
    // Our rate or volume: Yahoo "[TSS04] ... temporarily deferred due to unexpected volume or
    // user complaints", connection and message rate limits, Exchange 4.3.2 concurrent
    // connections, "server busy". A 5yz for the same reason is a refusal of our volume.
    name: "rate",
    pattern:
      /rate[- ]?limit|throttl|too many (?:connections|concurrent|sessions|smtp sessions|messages|mails?|e-?mails|recipients this)|concurrent (?:smtp )?(?:connections|sessions)|connection (?:rate|limit)|too (?:fast|quickly)|sending rate|\bat a rate\b|frequency limit|unexpected volume|exceeded (?:the )?(?:permitted|allowed|maximum) (?:limits?|number|rate)|temporarily deferred|\[tss?\d\d\]|server (?:is )?busy|sent to too many recipients/,
    transient: "throttled",
    permanent: "reject_reputation",
  },
  {
    // The address is wrong or dead (RFC 3463 X.1.1, X.2.1, X.2.2 in words): Postfix "User
    // unknown in virtual mailbox table", Gmail "does not exist" / "is inactive" / "out of storage
    // space", Yahoo "This user doesn't have a yahoo.com account", Comcast "Not our Customer".
    name: "recipient",
    pattern:
      /user unknown|unknown user|no such (?:user|mailbox|recipient|address|account|person)|does not exist|doesn't exist|did not exist|not exist\b|recipient not found|recipientnotfound|recipnotfound|address (?:not found|unknown|invalid)|unknown (?:recipient|address|mailbox|local[- ]?part|or illegal alias)|invalid (?:recipient|mailbox|address|user)|mailbox (?:not found|is full|full|quota|over quota|has been disabled)|over ?quota|quota exceeded|out of storage|(?:account|mailbox)\b.{0,40}?\b(?:disabled|deactivated|inactive|suspended|closed|locked|frozen|expired|terminated|blocked)\b|\buser\b.{0,40}?\b(?:disabled|deactivated|inactive|suspended|locked|frozen)\b|unrouteable address|no mailbox here|not a valid (?:mailbox|recipient|user|address)|doesn't have an? .{1,40} account|user not found|not our customer|no longer (?:active|in use|valid|available)|bad destination mailbox|host or domain name not found|domain is not reachable|validrcptto/,
    transient: "deferred",
    permanent: "reject_recipient",
  },
  {
    // The message itself: content filters (SpamAssassin, amavis "- SPAM", Barracuda "Message
    // content rejected, UBE"), Gmail "likely unsolicited mail" and "nature of the content",
    // Yahoo PHxx, malware, and format or size problems (RFC 5322 headers, message too big).
    name: "content",
    pattern:
      /\bspam\b|spamassassin|\bube\b|unsolicited (?:commercial|bulk)|likely unsolicited|message content|content (?:rejected|blocked|denied|filter|policy|violation)|nature of the content|suspicious content|(?:rejected|blocked|classified|flagged|identified|detected|scored) as (?:spam|junk|bulk)|spam score|high probability|\bjunk\b|\bvirus|malware|phish|infected|attachment|objectionable|\[ph\d\d\]|rfc ?(?:2822|5322)|header|(?:message|mime|email) is malformed|malformed (?:message|header|mime)|content presents|message (?:is )?too (?:big|large)|size (?:limit|exceeds)|exceeds? .{0,30}size|bare (?:lf|line ?feed)|invalid characters/,
    transient: "deferred",
    permanent: "reject_content",
  },
  {
    // Weaker recipient signals: Postfix's RCPT-stage prefix, RFC 5321's stock 550 text
    // (Outlook.com 550 5.5.0 "Requested action not taken: mailbox unavailable"), Microsoft
    // 5.4.1 "Recipient address rejected: Access denied" (directory-based edge blocking).
    name: "recipient-weak",
    pattern:
      /recipient (?:address )?rejected|(?<!sender )address rejected|mailbox (?:unavailable|not available|disabled|inactive)|invalid recipient/,
    transient: "deferred",
    permanent: "reject_recipient",
  },
];

/** A 5yz that no rule named: decided by the enhanced code's subject (RFC 3463 3), if any. */
function permanentFallback(enhanced: string | null): DeliveryOutcome {
  if (enhanced === null) return "reject_other";
  const [, subject, detail] = enhanced.split(".").map(Number) as [number, number, number];
  switch (subject) {
    case 1:
      // X.1.7/X.1.8: bad sender mailbox or system address, i.e. our envelope sender.
      return detail === 7 || detail === 8 ? "reject_auth" : "reject_recipient";
    case 2:
      // X.2.1 disabled, X.2.2 full; X.2.3 message too long for the mailbox.
      return detail === 1 || detail === 2 ? "reject_recipient" : detail === 3 ? "reject_content" : "reject_other";
    case 3:
      return detail === 4 ? "reject_content" : "reject_other";
    case 4:
      // X.4.4 unable to route; 5.4.1 is Exchange Online's "Recipient address rejected".
      return detail === 1 || detail === 4 ? "reject_recipient" : "reject_other";
    case 6:
      return "reject_content";
    case 7:
      // Security or policy with nothing more specific: treated as reputation/policy, as the
      // business's own reputation monitor did ("550 5.7.x -> reject_reputation").
      return "reject_reputation";
    default:
      return "reject_other";
  }
}
