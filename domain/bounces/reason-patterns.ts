/**
 * Characteristic phrases of each bounce reason in the text remote servers and MTAs write.
 * Pure: no I/O.
 *
 * The phrases come from the RFCs' own wording (RFC 5321 reply texts, RFC 3463 status
 * descriptions, RFC 7372 / 7505 / 8689), from the messages of widely deployed MTAs (Postfix,
 * sendmail, Exim, qmail, Exchange, Domino, Courier ...) and of large mailbox providers. They
 * are matched against a lower-cased diagnostic with runs of white space collapsed.
 *
 * The table is ordered and the first matching rule wins. A reason can appear more than once:
 * its unmistakable phrases early, its loose ones late. The order encodes which explanation
 * is the more specific when a server gives several:
 * - who the refusal is about comes first: the sender ("sender address rejected: domain not
 *   found" is about our envelope sender, not an unknown recipient domain), authentication of
 *   our domain (SPF, DKIM, DMARC), our host's reverse DNS;
 * - then the state of the recipient's mailbox (full, disabled, moved), which is more precise
 *   than a generic "unknown" or "rejected" in the same sentence;
 * - then the recipient address and domain;
 * - then content, reputation and blocking, which servers often word around "rejected";
 * - then transport (DNS, connections, timeouts) and local failures;
 * - the loose catch-all words ("blocked", "policy", "filter", "giving up") last.
 */

import type { BounceReason } from "./bounce-reasons";

export type PatternReason = Exclude<BounceReason, "delivered" | "feedback" | "vacation" | "onhold" | "undefined">;

/** A rule: the reason, its phrase, and whether the phrase is loose (a catch-all word). */
export type ReasonRule = readonly [PatternReason, RegExp, "loose"?];

export const REASON_RULES: readonly ReasonRule[] = [
  // --- The envelope sender (RFC 3463 X.1.7 / X.1.8) or its permission to post ---------------
  ["rejected", /(?:sending (?:to\/)?from|sender) an? address that (?:has been|is) (?:black|block|deny)[- ]?listed/],
  // A named DNS block list is about the sending IP, whatever the reply says about the sender.
  [
    "blocked",
    /\b(?:dnsbl|spamhaus|spamcop|sorbs|barracudacentral|mailspike|uceprotect|psbl|abuseat|[a-z]{0,6}rbl)\b|banned sending ip/,
  ],
  [
    "rejected",
    /\bsender (?:address |domain )?(?:is )?(?:rejected|refused|denied|not (?:allowed|accepted|permitted)|blocked|invalid|unknown|verify failed|verification failed)/,
  ],
  [
    "rejected",
    /(?:bad|invalid|unknown|unverified|illegal|unresolvable) (?:envelope[- ])?(?:sender|mail from)(?: address| domain)?\b/,
  ],
  [
    "rejected",
    /(?:sender|mail from) (?:address |domain )?(?:does not|doesn't) (?:exist|resolve)|domain of sender address \S+ does not (?:exist|resolve)/,
  ],
  ["rejected", /purported responsible address|\bfrom:? domain is invalid|provide a valid from/],
  [
    "rejected",
    /(?:not|no) (?:have )?permission to post|not allowed to post|only (?:members|subscribers) (?:can|may) post|groups\.google\.com\/support|customfromdenied|'send mail as'/,
  ],

  // --- Authentication of our domain and host ------------------------------------------------
  [
    "authfailure",
    /\bspf\b[^.]{0,80}\b(?:fail|failed|failure|softfail|hard ?fail|check|validation|not (?:pass|permitted|authorized)|reject)|sender policy framework|\bbad spf\b|per (?:its|it's|their) spf record/,
  ],
  [
    "authfailure",
    /\b(?:fail|failed|failure|did not pass|does not pass|didn't pass|fails to pass)\b[^.]{0,40}\b(?:spf|dkim|dmarc)\b/,
  ],
  [
    "authfailure",
    /\bdmarc\b[^.]{0,80}\b(?:policy|fail|failed|failure|reject|verification|check)|\bdkim\b[^.]{0,60}\b(?:fail|failed|failure|invalid|not (?:valid|pass))/,
  ],
  [
    "authfailure",
    /unauthenticated (?:e-?mail|mail|message)s? (?:from|is not accepted)|does not have authentication information|fails to pass authentication checks|multiple authentication checks failed/,
  ],
  [
    "authfailure",
    /is not (?:authorized|permitted|designated) (?:to send (?:e-?mail |mail )?on behalf of|as a permitted sender)|not a permitted sender/,
  ],
  [
    "authfailure",
    /this (?:e-?mail|mail|message) is unauthenticated|authenticate with at least one of spf or dkim|required authentication level/,
  ],
  [
    "requireptr",
    /\bptr\b|reverse (?:dns|lookup|hostname|host name|mapping|resolution)|\brdns\b|\bfcrdns\b|unverifiable (?:sending )?ip|unverifyable (?:sending )?ip/,
  ],
  [
    "requireptr",
    /cannot find your (?:reverse )?host ?name|(?:client|sender) host(?:name)? (?:could not|cannot|can't) be resolved|mismatches client ip|does not resolve to your ip/,
  ],

  // --- Format of our message -----------------------------------------------------------------
  [
    "notcompliantrfc",
    /(?:not|non)[ -](?:rfc[ -]?\d*[ -])?complian|rfc ?(?:5322|2822|822)[^.]{0,40}(?:compliant|violation|conform|syntax)|does not (?:conform|comply) (?:to|with) (?:rfc|internet standards)/,
  ],
  [
    "notcompliantrfc",
    /multiple (?:addresses|senders) in (?:the )?from\b|(?:duplicate|multiple) (?:date|from|sender|to|subject|message-id) (?:header|field)s?/,
  ],

  // --- The recipient's mailbox ---------------------------------------------------------------
  [
    "mailboxfull",
    /mail ?box (?:is )?(?:full|over ?quota|out of (?:space|storage))|(?:mail ?box|inbox) (?:is )?out of (?:storage )?space/,
  ],
  [
    "mailboxfull",
    /mail ?(?:box|folder|store) (?:size )?(?:has )?(?:exceeded|exceeds|reached)|(?:user'?s?|recipient'?s?) (?:mail ?box|mail ?folder|disk|storage|quota) (?:is )?(?:full|exceeded)/,
  ],
  [
    "mailboxfull",
    /\bover ?quota\b|\bquota (?:exceeded|exceed|full|violation)|exceeded (?:\S+ )?quota|exceeds? (?:the |their |his |her )?(?:\S+ )?quota|(?:disk|storage|mailbox|mail) quota/,
  ],
  [
    "mailboxfull",
    /full mail ?box|mail ?box full|inbox (?:is )?full|account is full|mail ?folder is full|number of messages in (?:recipient'?s? )?mail ?box exceeded|too many messages (?:in|on) (?:the )?(?:mail ?box|inbox|account)/,
  ],
  [
    "mailboxfull",
    /not enough (?:storage|space|disk space)|insufficient (?:storage|space) (?:in|for) (?:the )?(?:mail ?box|user|account)|user has (?:exceeded|too many|no space)|mailbox (?:size|storage) limit/,
  ],
  [
    "mesgtoobig",
    /message (?:is )?too (?:big|large|long)|(?:message|mail|e-?mail)(?: file)? size (?:exceeds|exceeded|is larger than|is over|limit)|too big for (?:the )?system/,
  ],
  [
    "mesgtoobig",
    /exceeds? (?:the )?(?:fixed |local |administrative |maximum |max\.? |allowed )*(?:message |mail )?size|size (?:limit )?exceeded|exceeded (?:the )?(?:message )?size limit|larger than (?:the )?(?:maximum|max|allowed) (?:message )?size/,
  ],
  [
    "systemfull",
    /mail system (?:is )?full|insufficient system (?:storage|resources)|insufficient disk space|(?:file ?system|disk|spool) (?:is )?full|no space left on device/,
  ],
  [
    "suspend",
    /(?:account|mail ?box|user|recipient|address)(?: that you tried to reach)?(?: has been| is| was|'s)? (?:temporarily |currently |permanently )?(?:disabled|suspended|deactivated|de-activated|inactive|frozen|not active|expired|closed)/,
  ],
  [
    "suspend",
    /(?:temporar(?:y|ily)|account|mail ?box) locked|(?:recipient'?s? )?(?:account|mail ?box) (?:is |has been )?blocked|disabled (?:recipient|account|mail ?box|user)|inactive (?:account|mail ?box|user|recipient)|is a deactivated mail ?box|(?:user|account) suspended/,
  ],
  [
    "hasmoved",
    /(?:mail ?box|user|address|recipient) (?:has )?moved|has been moved|user not local; please try|address (?:has )?changed|no longer (?:uses|using|at|with) this (?:address|domain|e-?mail)/,
  ],
  [
    "norelaying",
    /relay(?:ing)? (?:access )?(?:denied|not (?:permitted|allowed|authori[sz]ed)|prohibited|refused)|(?:not|isn't) (?:permitted|allowed|authori[sz]ed) to relay|unable to relay|we do not relay|no relaying|cannot relay/,
  ],
  [
    "norelaying",
    /not a gateway|not local host|isn't in my list of allowed rcpthosts|email address is not verified\. the following identities failed/,
  ],

  // --- Content ------------------------------------------------------------------------------
  [
    "virusdetected",
    /\bvirus|malware|infected|trojan|malicious (?:content|attachment|payload|code|software|file|url|link)/,
  ],
  [
    "policyviolation",
    /host network not allowed|illegal attachment|attachments? (?:type )?(?:is |are )?not (?:allowed|permitted)|blocked because its content|content presents a potential security issue|not accepted for policy reasons|policy (?:violation|reasons)|violates? (?:our|the) [^.]{0,30}polic/,
  ],
  [
    "spamdetected",
    /\bspam\b|\bspam[- ]?(?:score|filter|detect|like|check)|\bjunk ?mail|unsolicited|\buce\b|looks like spam|considered (?:to be )?spam|classified as (?:junk|spam)|high probability of|spam ?assassin/,
  ],

  // --- Volume and reputation ----------------------------------------------------------------
  [
    "badreputation",
    /\breputation\b|sender ?score|poor (?:ip )?standing|temporarily deferred due to (?:unexpected volume|user complaints)/,
  ],
  [
    "toomanyconn",
    /too many recipients|too many (?:connections|concurrent|simultaneous|sessions|open connections|smtp sessions)|connection (?:count|rate)? ?limit|(?:connection|session) (?:count|rate) (?:exceeded|limit)|max(?:imum)? (?:number of )?(?:connections|sessions)|frequency limit/,
  ],
  [
    "speeding",
    /rate[- ]?limit|too many (?:messages|emails|mails|requests)|sending (?:too fast|at a rate)|throttl|receiving mail at a rate|exceeded (?:the )?(?:message |sending )?rate|(?:hourly|daily) (?:sending )?limit/,
  ],

  // --- TLS ----------------------------------------------------------------------------------
  [
    "failedstarttls",
    /starttls|(?:does not|doesn't) support tls|\btls\b[^.]{0,40}(?:required|failed|failure|handshake|negotiat)|(?:encryption|secure connection) (?:is )?required|requiretls/,
  ],

  // --- Transport failures that name a cause more precise than "unknown" ----------------------
  [
    "notaccept",
    /null mx|indicated no smtp service|(?:domain|host) (?:\S+ )?(?:does not|doesn't|do not) (?:accept|receive) (?:any )?(?:e-?)?mail/,
  ],
  [
    "blocked",
    /(?:\d{1,3}\.){3}\d{1,3}\]? (?:is |has been )?(?:blocked|banned|black ?listed|block ?listed|denied)|connection refused|service refused/,
  ],
  [
    "networkerror",
    /dns error|name server (?:failure|reply|timeout)|malformed or unexpected name server reply|host name lookup failure|temporary (?:dns|name (?:server|resolution)|lookup) (?:failure|error)|servfail/,
  ],
  [
    "networkerror",
    /too many hops|hop count exceeded|mail (?:forwarding |routing )?loop|routing loop|loops back to myself|loop detected/,
  ],
  [
    "mailererror",
    /mailer error|command output:|command (?:died|failed|exited) with status|procmail|\bx-unix\b|program (?:exited|terminated|failed)|unknown mailer error|local delivery (?:failed|agent)|pipe to \|/,
  ],
  [
    "systemerror",
    /system (?:error|failure)|internal (?:server |system )?error|\bldap\b|directory (?:server|service) (?:failure|error|unavailable)|database error|queue file write error|out of memory|duplicated message-id|transaction failed/,
  ],

  // --- The recipient's own choice ----------------------------------------------------------
  [
    "filtered",
    /recipient preferences|(?:rejected|blocked|refused) by (?:the )?recipient'?s? (?:filter|settings|preferences|rules)|domain filter|delivery not permitted by recipient/,
  ],

  // --- The recipient address and its domain -------------------------------------------------
  [
    "userunknown",
    /(?:user|mail ?box|recipient|address|account|addressee|local part|alias|e-?mail address|user ?name)s? (?:is |was )?(?:unknown|not (?:found|known|exist|recognized|recognised|listed|valid|registered)|does not exist|doesn't exist|did not exist|nonexistent|non-existent)/,
  ],
  [
    "userunknown",
    /(?:unknown|invalid|nonexistent|non-existent|bad|illegal) (?:or illegal )?(?:local )?(?:user|mail ?box|recipient|addressee|alias|account|destination (?:mail ?box )?address|e-?mail address|local part|user address)/,
  ],
  [
    "userunknown",
    /no (?:such|valid) (?:user|mail ?box|recipient|address|account|person|local user|alias|one)|no mail ?box here|no mailbox (?:by|with) that name|not a valid (?:user|mail ?box|recipient)|no account by that name/,
  ],
  [
    "userunknown",
    /user (?:not|doesn't|does not) (?:exist|listed|found)|not listed in (?:the )?(?:public name|domino directory|address book|directory)|recipient name is not recognized|invalid final delivery userid/,
  ],
  [
    "userunknown",
    /recipient address rejected: (?:access denied|user unknown|unknown user|undeliverable address|invalid recipient)/,
  ],
  [
    "userunknown",
    /recipnotfound|recipientnotfound|resolver\.adr\.recip|(?:email account|account) (?:that )?you tried to reach does not exist|this user doesn't have an? \S+ account/,
  ],
  [
    "userunknown",
    /the (?:e-?mail )?address (?:you entered )?(?:wasn'?t|was not|couldn'?t be|could not be) found|@[a-z0-9.-]+>?'? does not exist|mailbox (?:unavailable|not available)|requested action not taken: mailbox unavailable/,
  ],
  [
    "hostunknown",
    /host (?:or domain name )?(?:not found|unknown)|unknown host|no such (?:host|domain)|host ?name (?:not found|unknown)|couldn't find any host named|could not find any host named/,
  ],
  [
    "hostunknown",
    /domain (?:name )?(?:not found|does not exist|doesn't exist|unknown|is not valid|not exist|may not exist|is not reachable)|(?:unknown|invalid|nonexistent|non-existent|unrouteable|unroutable) (?:mail )?domain/,
  ],
  [
    "hostunknown",
    /name or service not known|nxdomain|unrouteable address|unroutable address|all relevant mx records point to non-existent hosts|(?<![@\w.-])[a-z0-9-]+(?:\.[a-z0-9-]+)+ does not exist/,
  ],
  [
    "notaccept",
    /does not accept (?:e-?)?mail|(?:domain|host|server|system) (?:does not|doesn't|do not) (?:accept|receive) (?:any )?(?:e-?)?mail|null mx|indicated no smtp service/,
  ],
  [
    "notaccept",
    /no (?:mx|mail exchanger) (?:record )?(?:found|for)|couldn't find a mail exchanger|could not find a mail exchanger|not accepting (?:any )?(?:e-?)?mail/,
  ],

  // --- Time-outs: the message sat in the queue until it expired -----------------------------
  [
    "expired",
    /(?:delivery|message|envelope) (?:time )?(?:has )?expired|retry timeout exceeded|(?:could|was) not (?:be )?delivered within|has not been delivered for|not (?:yet )?delivered (?:for|in|within)|undeliverable for \d|unable to deliver (?:in|for) \d|could not deliver for/,
  ],
  [
    "expired",
    /\btimed? ?out\b|conversation with \S+ timed out|did not accept our requests to connect|host (?:is )?(?:unreachable|not reachable)|no answer from host|deferred for too long|stayed in (?:the )?queue/,
  ],

  // --- Connections and the sending host -----------------------------------------------------
  [
    "networkerror",
    /(?:could not|couldn't|unable to|wasn't able to|failed to|can't|cannot) (?:connect|establish)|connection (?:reset|lost|closed|dropped|failure)|lost connection|no route to host|network (?:is )?unreachable/,
  ],
  [
    "blocked",
    /client host (?:\S+ )?(?:rejected|blocked|refused)|(?:your|the|sending|client|connecting|remote) (?:ip|ip address|host|server|mta|network|network address|address)[^.]{0,60}\b(?:blocked|block ?listed|black ?listed|banned|denied|rejected|refused|listed|not allowed|not permitted|not authori[sz]ed)/,
  ],
  ["blocked", /\b(?:block ?list|black ?list|deny ?list|blocklisted|blacklisted)\b/],
  [
    "blocked",
    /dynamic (?:ip|address|ips|addresses|pool|range)|dial-?up|residential|please use (?:the |your )?(?:smtp|mail) (?:server|relay) (?:of your isp|provided by|at your (?:service provider|isp))|use your isp'?s? (?:smtp|mail) (?:server|relay)/,
  ],
  [
    "blocked",
    /invalid (?:helo|ehlo)|bad helo|helo command rejected|\b(?:ip|address) (?:is )?(?:on|in) (?:our|the|a) (?:block|black|deny)/,
  ],

  // --- Security and policy, loosely worded --------------------------------------------------
  [
    "securityerror",
    /authentication (?:is )?required|must (?:first )?(?:be )?authenticat|not authenticated|unauthenticated (?:sender|user|relay)s?|authentication (?:failed|failure|credentials invalid)|smtp auth|invalid credentials/,
  ],
  [
    "securityerror",
    /(?:insecure|security) (?:policy|violation)|camouflag|forged|spoof|impersonat|delivery not authori[sz]ed|not authori[sz]ed to send/,
  ],
  [
    "policyviolation",
    /polic(?:y|ies)|prohibited|violation|not (?:allowed|permitted) by (?:the )?(?:organi[sz]ation|company|administrator)|attachments? (?:type )?(?:is |are )?(?:not allowed|blocked|prohibited)|header error/,
    "loose",
  ],
  [
    "contenterror",
    /smtputf8|non-ascii address|media (?:error|not supported)|invalid (?:mime|character|content)|malformed (?:message|mime|header)|improper(?:ly)? (?:mime|encod|formatted)|(?:header|line) too long|unsupported (?:charset|encoding|content)|bare (?:lf|cr)/,
  ],
  [
    "filtered",
    /filter(?:ed|ing)?\b|recipient preferences|rejected by (?:the )?(?:recipient|user)\b(?! domain)|refused by (?:the )?recipient|blocked by (?:the )?recipient|delivery not permitted by recipient|not accept(?:ing)? (?:mail|messages) from (?:you|this sender)/,
    "loose",
  ],
  ["blocked", /\bblocked\b/, "loose"],
  // "Access denied" with nothing else: a security refusal (RFC 3463 X.7.x), unless the SMTP
  // stage says it was the connection.
  ["securityerror", /access denied/, "loose"],

  // --- Loose last resorts -------------------------------------------------------------------
  [
    "expired",
    /giving up|gave up|in the queue too long|queued too long|too long in queue|delivery attempts? (?:have |has )?(?:failed|expired|timed out)|maximum (?:retry|delivery) (?:time|attempts)/,
    "loose",
  ],
  [
    "systemerror",
    /local error|temporary (?:local )?problem|configuration error|misconfigur|resources? (?:temporarily )?unavailable|service (?:currently |temporarily )?unavailable|processing error|unable to process/,
    "loose",
  ],
  [
    "syntaxerror",
    /syntax error|command (?:not )?(?:unrecognized|recognized|implemented)|unrecognized command|bad sequence of commands|(?:line|command) too long|invalid command|parameters? not (?:recognized|implemented)/,
    "loose",
  ],
];

/** Lower-cases and collapses white space, and drops the repeated reply prefixes of multiline replies. */
export function normalizeDiagnostic(text: string): string {
  return (
    text
      .replace(/(^|\n)\s*[245]\d\d[- ](?:[245]\.\d{1,3}\.\d{1,3}\s+)?/g, "$1")
      // Continuation lines of a multiline reply that were unfolded into one ("... multiple
      // 550 5.7.1 addresses ..."): drop the repeated code pairs.
      .replace(/(\s)[245]\d\d[- ][245]\.\d{1,3}\.\d{1,3}(?=\s)/g, "$1")
      .replace(/\s+/g, " ")
      .trim()
      .toLowerCase()
  );
}

export interface TextMatch {
  reason: PatternReason;
  /** The phrase was a catch-all word ("blocked", "policy"), weaker than the SMTP stage. */
  loose: boolean;
}

/** The reason named by a diagnostic text (first matching rule), or null when no rule matches. */
export function matchReason(text: string | undefined): TextMatch | null {
  if (!text) return null;
  const normalized = normalizeDiagnostic(text);
  if (!normalized) return null;
  for (const [reason, pattern, loose] of REASON_RULES) {
    if (pattern.test(normalized)) return { reason, loose: loose === "loose" };
  }
  return null;
}
