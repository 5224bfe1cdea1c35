/**
 * Non-standard bounces: the human-readable text MTAs write instead of (or next to) an RFC 3464
 * report. Pure: no I/O.
 *
 * There is no grammar, but there are conventions most MTAs share, and those are what this
 * reads rather than one parser per product:
 *
 * - the error section comes first and ends where a copy of the returned message starts
 *   ("--- Below this line is a copy of the message.", "Original message follows.", a block of
 *   Received:/Message-ID: headers ...);
 * - each failed recipient starts a line of its own, bare or in angle brackets, often followed
 *   by a colon and the remote server's reply (qmail `<a@b>:`, Postfix `<a@b>: host x said:`,
 *   Exim's indented address list, sendmail's `a@b... User unknown`), or follows a label
 *   ("Recipient:", "Unknown user:", "could not be delivered to:", "error delivering your
 *   mail to <a@b>");
 * - the lines after a recipient, up to the next one, are its diagnostic.
 */

import { addressPattern, sameAddress } from "./mail-headers";

export interface TextRecipient {
  recipient: string;
  /** The recipient's own block of text (reply, explanation), without the address line prefix. */
  diagnostic: string;
  /** A transcript line shows the recipient was refused in reply to RCPT TO (">>> RCPT To:<a@b>"). */
  refusedAtRcpt?: boolean;
}

export interface TextBounce {
  /** The error section: the text before the returned message. */
  errorText: string;
  /** The returned message's text after the marker line, when the bounce pasted it inline. */
  returnedText: string | undefined;
  recipients: TextRecipient[];
}

// Lines that announce the copy of the returned message (or its headers) that follows.
const RETURNED_MESSAGE_MARKER = new RegExp(
  [
    String.raw`^[\s\-=|*_#>]*(?:\d+\.\s*)?`,
    "(?:",
    [
      String.raw`(?:below (?:this line )?is |here is |enclosed is |included is |this is |attached is )?(?:a |the )?copy of (?:the |your )?(?:original )?(?:message|mail|e-?mail)`,
      String.raw`(?:the )?original (?:message|mail|e-?mail)(?: (?:headers?|text|info|as follows|follows?|is below)\b.*)?[\s\-=|*_:.]*$`,
      String.raw`(?:the )?(?:headers? of (?:the |your )?original (?:message|mail)|original (?:message )?headers?)`,
      String.raw`returned (?:message|mail)[\s\-=|*_:.]*$`,
      String.raw`message (?:headers|text) follows?`,
      String.raw`(?:unsent|undelivered|bounced) (?:message|e-?mail)(?: (?:below|follows?))?[\s\-=|*_:.]*$`,
      String.raw`the header of the original message`,
      String.raw`content-description: undelivered message`,
    ].join("|"),
    ")",
  ].join(""),
  "i",
);

// A header line of an RFC 5322 message (not an RFC 3464 field: those belong to the report).
const MESSAGE_HEADER =
  /^(?:return-path|received|message-id|dkim-signature|mime-version|content-type|x-[a-z0-9-]+|date|from|to|subject|reply-to|references|in-reply-to|cc|arc-[a-z-]+|authentication-results)\s*:/i;
const STRONG_MESSAGE_HEADER = /^(?:return-path|received|message-id|dkim-signature|mime-version|content-type)\s*:/i;

/**
 * Index of the first line of a pasted header block: at least three consecutive header lines
 * (continuations allowed), one of which only a message has (Received, Message-ID ...).
 */
function headerBlockStart(lines: string[], from: number): number {
  let i = from;
  while (i < lines.length) {
    if (!MESSAGE_HEADER.test(lines[i]!)) {
      i++;
      continue;
    }
    let fields = 0;
    let strong = false;
    let j = i;
    for (; j < lines.length; j++) {
      const line = lines[j]!;
      if (MESSAGE_HEADER.test(line)) {
        fields++;
        if (STRONG_MESSAGE_HEADER.test(line)) strong = true;
      } else if (!/^[ \t]+\S/.test(line)) break;
    }
    if (fields >= 3 && strong) return i;
    // The whole run was looked at; go on after it (linear in the number of lines).
    i = Math.max(j, i + 1);
  }
  return -1;
}

function errorSectionEnd(lines: string[]): number {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length < 100 && RETURNED_MESSAGE_MARKER.test(line)) return i;
  }
  const block = headerBlockStart(lines, 0);
  return block === -1 ? lines.length : block;
}

const ADDRESS = addressPattern("").source;

// An address opening a line: "  a@b", "<a@b>:", "* a@b", ">>> a@b <a@b>", "a@b on <date>",
// "a@b<mailto:a@b>", "a@b: 550 ...", "a@b... User unknown", "a@b (reason: ...)".
const LEADING_ADDRESS = new RegExp(
  String.raw`^[\s>*\-•·]*(?:[245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3} )?(?=<[^>]+>\.\.\.))?(?:"[^"]*"\s*)?["']?<?(${ADDRESS})>?["']?(?:<mailto:[^>]*>)?(?=\s*$|\s*[:,;.(]|\s+(?:on|for|\.\.\.|<|\(|Invalid|Error|unknown)\b|\s*<|\s+\d{3}\b|\s+\.\.\.)`,
  "i",
);

// An address after a label that names it as the failed recipient.
const LABELLED_ADDRESS = new RegExp(
  String.raw`(?:recipients?(?: address)?|addressee|unknown user|invalid (?:final delivery )?userid|delivered to|deliver(?:ed|ing)? (?:the |your )?(?:message|mail|e-?mail)? ?to|not (?:be )?delivered to|following (?:recipient|address)(?:\(?e?s\)?)?|was not delivered to|could not be delivered to|unable to deliver (?:message )?to|failed (?:permanently )?(?:for|to)|returned permanent errors|mail to|message to|delivery to|undeliverable to|target (?:mail )?address|rcpt to|\brcpt|original-recipient|final-recipient)\s*(?:\([^)]*\))?\s*[:=]?\s*(?:rfc822\s*;\s*)?["']?<?(${ADDRESS})>?`,
  "i",
);

// Contexts where an address is the sender or some other party, never the failed recipient.
const SENDER_CONTEXT =
  /(?:mail from|envelope-from|sender|from|reply-to|return-path|generated from|expanded from|contact|please contact|postmaster at|mailto)\s*:?\s*[("<]*$/i;

const ROLE_ADDRESS = /^(?:postmaster|abuse|hostmaster|webmaster|support|helpdesk|help|noc|security)@/i;

interface Hit {
  line: number;
  address: string;
  /** Text after the address on its own line. */
  rest: string;
  /** The line is complete on its own (sendmail's "550 <a@b>... User unknown"). */
  single: boolean;
}

// sendmail's per-recipient result line: reply code, the address in angle brackets, "...".
const SENDMAIL_RESULT = /^\s*[245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3} )?<[^>]+>\.\.\./;

export interface TextBounceContext {
  /** Addresses that are known not to be recipients (the original sender, the bounce's own From/To). */
  excluded: string[];
}

function isExcluded(address: string, ctx: TextBounceContext): boolean {
  if (ctx.excluded.some((e) => sameAddress(e, address))) return true;
  // Placeholders in templates and URL query strings are not mailboxes.
  return /^(?:mailer-daemon|no-?reply)@/i.test(address);
}

function findHits(lines: string[], end: number, ctx: TextBounceContext): Hit[] {
  const hits: Hit[] = [];
  for (let i = 0; i < end; i++) {
    const line = lines[i]!;
    if (/https?:\/\//i.test(line) && !/^\s*<?[^\s@]+@/.test(line)) continue;
    const lead = LEADING_ADDRESS.exec(line);
    if (lead) {
      const before = line.slice(0, lead.index + lead[0].indexOf(lead[1]!));
      if (!SENDER_CONTEXT.test(before) && !isExcluded(lead[1]!, ctx)) {
        const after = line.slice(lead.index + lead[0].length).replace(/^\s*>?\s*[:,;]?\s*/, "");
        hits.push({ line: i, address: lead[1]!, rest: after, single: SENDMAIL_RESULT.test(line) });
        continue;
      }
    }
    const labelled = LABELLED_ADDRESS.exec(line);
    if (labelled && !isExcluded(labelled[1]!, ctx)) {
      const before = line.slice(0, labelled.index);
      if (!/(?:mail from|from)\s*:?\s*$/i.test(before)) {
        const after = line.slice(labelled.index + labelled[0].length).replace(/^\s*>?\s*[:,;.]?\s*/, "");
        hits.push({ line: i, address: labelled[1]!, rest: after, single: false });
      }
    }
  }
  return hits;
}

/** Addresses a sendmail-style transcript shows being sent in RCPT TO (">>> RCPT To:<a@b>"), lower-cased. */
function rcptAddresses(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^\s*>>>\s*RCPT TO:\s*<?([^\s<>]+@[^\s<>]+)>?/gim)) out.add(m[1]!.toLowerCase());
  return out;
}

/**
 * Reads the failed recipients and their diagnostics out of a bounce's text. Returns no
 * recipients when the text does not name any in a recognisable position.
 */
export function parseTextBounce(text: string, ctx: TextBounceContext): TextBounce {
  const lines = text
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((l) => l.replace(/\s+$/, ""));
  const end = errorSectionEnd(lines);
  const errorLines = lines.slice(0, end);
  const errorText = errorLines.join("\n");
  const returnedText = end < lines.length ? lines.slice(end + 1).join("\n") : undefined;

  let hits = findHits(lines, end, ctx);
  // "Please contact postmaster@..." names a role, not a recipient, unless it is the only one.
  const roles = hits.filter((h) => ROLE_ADDRESS.test(h.address));
  if (roles.length && roles.length < hits.length) hits = hits.filter((h) => !ROLE_ADDRESS.test(h.address));
  // For each hit, the line of the next hit naming a different address (its block ends there).
  const stops: number[] = new Array<number>(hits.length);
  for (let h = hits.length - 1; h >= 0; h--) {
    const next = hits[h + 1];
    if (!next) stops[h] = end;
    else stops[h] = sameAddress(next.address, hits[h]!.address) ? stops[h + 1]! : next.line;
  }
  const atRcpt = rcptAddresses(errorText);
  const recipients: TextRecipient[] = [];
  const seen = new Map<string, TextRecipient>();
  for (let h = 0; h < hits.length; h++) {
    const hit = hits[h]!;
    const key = hit.address.toLowerCase();
    const existing = seen.get(key);
    if (existing?.diagnostic) continue;
    const block = (
      hit.single ? hit.rest : [hit.rest, ...lines.slice(hit.line + 1, Math.max(stops[h]!, hit.line + 1))].join("\n")
    ).trim();
    if (existing) {
      existing.diagnostic = block;
      continue;
    }
    const entry: TextRecipient = { recipient: hit.address, diagnostic: block };
    if (atRcpt.has(key)) entry.refusedAtRcpt = true;
    seen.set(key, entry);
    recipients.push(entry);
  }
  return { errorText, returnedText, recipients };
}
