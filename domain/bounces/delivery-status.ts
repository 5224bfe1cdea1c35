/**
 * RFC 3464 message/delivery-status bodies: one group of per-message fields, then one group of
 * per-recipient fields for each recipient, groups separated by blank lines. Pure: no I/O.
 *
 *   Reporting-MTA: dns; mx.example.net
 *
 *   Final-Recipient: rfc822; user@example.com
 *   Action: failed
 *   Status: 5.1.1
 *   Diagnostic-Code: smtp; 550 5.1.1 <user@example.com>: User unknown
 *
 * Real DSNs bend the grammar (no blank line between recipients, per-recipient fields before
 * per-message ones, the whole report pasted into a text/plain part), so groups are also split
 * whenever a recipient field repeats.
 */

import { firstAddress, parseFieldLines } from "./mail-headers";

export interface DsnRecipient {
  /** Address from Final-Recipient (RFC 3464 2.3.2), else Original-Recipient / X-Actual-Recipient. */
  recipient: string | undefined;
  originalRecipient: string | undefined;
  /** failed / delayed / delivered / relayed / expanded (RFC 3464 2.3.3), lower-cased. */
  action: string | undefined;
  /** The Status field as given (RFC 3464 2.3.4), e.g. "5.1.1" or "5.0.0 (permanent failure)". */
  status: string | undefined;
  /** Diagnostic-Code text without its type ("smtp; "), RFC 3464 2.3.6. */
  diagnostic: string | undefined;
  diagnosticType: string | undefined;
  /** Remote-MTA host without its type ("dns; "), RFC 3464 2.3.5. */
  remoteMta: string | undefined;
}

export interface DeliveryStatus {
  reportingMta: string | undefined;
  /** Per-message fields by lower-case name. */
  perMessage: Record<string, string>;
  recipients: DsnRecipient[];
}

const RECIPIENT_FIELDS = new Set([
  "final-recipient",
  "original-recipient",
  "x-actual-recipient",
  "action",
  "status",
  "diagnostic-code",
  "remote-mta",
  "last-attempt-date",
  "final-log-id",
  "will-retry-until",
]);

const MESSAGE_FIELDS = new Set([
  "reporting-mta",
  "dsn-gateway",
  "received-from-mta",
  "arrival-date",
  "original-envelope-id",
]);

const DSN_FIELD_AFTER_INDENT =
  /^[ \t]+(?=(?:reporting-mta|received-from-mta|arrival-date|original-envelope-id|dsn-gateway|final-recipient|original-recipient|x-actual-recipient|action|status|diagnostic-code|remote-mta|last-attempt-date|final-log-id|will-retry-until)\s*:)/gim;

/** Strips an RFC 3464 "type;" prefix: `rfc822; a@b` -> `a@b`, `dns; mx.example` -> `mx.example`. */
function typedValue(value: string): { type: string | undefined; value: string } {
  const m = /^([A-Za-z0-9-]+)\s*;\s*([\s\S]*)$/.exec(value);
  if (!m) return { type: undefined, value: value.trim() };
  return { type: m[1]!.toLowerCase(), value: m[2]!.trim() };
}

/** True when a text looks like it holds RFC 3464 per-recipient fields. */
export function looksLikeDeliveryStatus(text: string): boolean {
  return /^\s*(final-recipient|original-recipient)\s*:/im.test(text) && /^\s*(action|status)\s*:/im.test(text);
}

export function parseDeliveryStatus(text: string): DeliveryStatus {
  // Reports pasted into prose are sometimes indented; un-indent the lines that start a known
  // field (and only those: a folded Diagnostic-Code may continue with "https://...").
  const unindented = text.replace(/\r\n?/g, "\n").replace(DSN_FIELD_AFTER_INDENT, "");
  const fields = parseFieldLines(unindented, {
    keepBlankLines: true,
  });
  const perMessage: Record<string, string> = {};
  const groups: Record<string, string>[] = [];
  let current: Record<string, string> | undefined;
  for (const f of fields) {
    if (f.name === "") {
      current = undefined;
      continue;
    }
    if (RECIPIENT_FIELDS.has(f.name)) {
      // Original-Recipient may come before or after Final-Recipient; only a repeated field
      // starts the next recipient within a group.
      if (!current || f.name in current) {
        current = {};
        groups.push(current);
      }
      current[f.name] ??= f.value;
      continue;
    }
    if (current && !MESSAGE_FIELDS.has(f.name)) current[f.name] ??= f.value;
    else perMessage[f.name] ??= f.value;
  }

  const recipients: DsnRecipient[] = [];
  for (const g of groups) {
    const final = g["final-recipient"] ? typedValue(g["final-recipient"]).value : undefined;
    const original = g["original-recipient"] ? typedValue(g["original-recipient"]).value : undefined;
    const actual = g["x-actual-recipient"] ? typedValue(g["x-actual-recipient"]).value : undefined;
    const recipient = firstAddress(final) ?? firstAddress(original) ?? firstAddress(actual) ?? final ?? original;
    const diag = g["diagnostic-code"] ? typedValue(g["diagnostic-code"]) : undefined;
    const remote = g["remote-mta"] ? typedValue(g["remote-mta"]).value : undefined;
    if (!recipient && !g.action && !g.status) continue;
    recipients.push({
      recipient,
      originalRecipient: firstAddress(original),
      action: g.action?.toLowerCase().split(/[\s(]/)[0],
      status: g.status,
      diagnostic: diag?.value || undefined,
      diagnosticType: diag?.type,
      remoteMta: remote || undefined,
    });
  }
  const reporting = perMessage["reporting-mta"];
  return {
    reportingMta: reporting ? typedValue(reporting).value : undefined,
    perMessage,
    recipients,
  };
}
