import type { ChildNode, Document, Element } from "domhandler";
import { DomUtils } from "htmlparser2";
import { htmlToPlainText } from "../mail/compose-message";
import { anchorsInOrder, parseTemplate } from "./campaign-links";
import { mentionsPrice } from "./campaign-definition";
import { isProspectField, PROSPECT_FIELDS, type ProspectField } from "./prospect-fields";
import { signTrackingToken, trackingTokenToHex } from "./tracking-token";
import { escapeHtml } from "../mail/escape-html";

/**
 * One campaign message for one recipient, ready for the mailer (an OutboundMessage, i.e. the
 * composer's input). Pure.
 *
 * - Placeholders (`{{legal_name}}`) are filled from the prospect's public fields: HTML-escaped in
 *   the HTML, CR/LF-free in the subject. An unknown placeholder or a missing value is a
 *   RenderError: the audience build only picks prospects whose data backs the template, so
 *   reaching one here is a bug, and the message must not go out half-filled.
 * - Every tracked link (campaign_links, numbered in document order by campaign-links.ts) points
 *   at `/l/<click token>`; the target stays in the link table, never in the mail. Allowlisted
 *   government links keep their own URL.
 * - An open pixel, and a visible footer with an unsubscribe link and the sender's postal address
 *   (CAN-SPAM, 15 U.S.C. 7704(a)(5)(A)(ii) and (iii)), in the HTML and the plain-text part alike.
 * - `List-Unsubscribe` with an https URL and a mailto (RFC 2369 3.2), `List-Unsubscribe-Post:
 *   List-Unsubscribe=One-Click` (RFC 8058 3.1; Gmail and Yahoo require it of bulk senders).
 * - From on the sending subdomain, Reply-To on the root domain, the Message-ID the send row
 *   already carries (on the sending domain): checked, not assumed.
 * - No prices: campaign mail never shows one (they go stale; the catalog is the truth).
 *
 * Speed: the template is parsed once per campaign (prepareCampaignTemplate, cached by
 * renderCampaignMessage) into literal strings and slots; a render signs the tokens and joins.
 */

export type RenderErrorCode =
  "price" | "unknown_placeholder" | "missing_field" | "link_mismatch" | "sender" | "message_id";

export class RenderError extends Error {
  constructor(
    readonly code: RenderErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "RenderError";
  }
}

export interface CampaignTemplate {
  id: number;
  subject: string;
  html: string;
}

export interface CampaignLinkRow {
  idx: number;
  url: string;
  tracked: boolean;
}

export interface CampaignRenderInput {
  campaign: CampaignTemplate;
  /** The campaign's campaign_links rows. */
  links: readonly CampaignLinkRow[];
  send: { id: number; messageId: string; recipient: string };
  /** The prospect's template fields (prospects.fields). */
  fields: Record<string, string | number | null>;
}

export interface CampaignRenderSettings {
  publicBaseUrl: string;
  trackingSecret: string;
  postalAddress: string;
  /** MAIL_FROM: must be on the sending domain. */
  from: string;
  /** MAIL_REPLY_TO: on the root domain the sending domain belongs to. */
  replyTo: string;
  /** MAIL_SENDING_DOMAIN. */
  sendingDomain: string;
}

/** The composer's input (domain/mail/compose-message.ts ComposeInput), every field set. */
export interface RenderedCampaignMessage {
  to: string;
  from: string;
  replyTo: string;
  subject: string;
  html: string;
  text: string;
  headers: Record<string, string>;
  messageId: string;
}

type Part =
  string | { field: ProspectField } | { slot: "click"; idx: number } | { slot: "open" } | { slot: "unsubscribe" };

export interface PreparedCampaignTemplate {
  campaignId: number;
  subject: Part[];
  html: Part[];
  text: Part[];
  /** Link indexes that get a click token. */
  tracked: number[];
  /** Every field a placeholder uses: each must have a value. */
  fields: ProspectField[];
}

// Markers that stand for a per-recipient URL between parsing and filling. Letters, digits and
// underscores only: the serializer, html-to-text and its word-wrapping leave them whole. The
// random part keeps a template from spelling one by accident. Made on first use: workerd
// refuses random values in a module's global scope.
let nonce: string | undefined;
function markerNonce(): string {
  nonce ??= Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, "0")).join("");
  return nonce;
}
const marker = (slot: string) => `DKT${markerNonce()}_${slot}_`;
let parts: RegExp | undefined;
function partsPattern(): RegExp {
  parts ??= new RegExp(`\\{\\{([a-z0-9_]+)\\}\\}|DKT${markerNonce()}_(c(\\d+)|o|u)_`, "g");
  return parts;
}
/** As in campaign-definition.ts: `{{ name }}`, spaces allowed. */
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

function footerHtml(postalAddress: string): string {
  return (
    `<div style="margin-top:24px;padding-top:12px;border-top:1px solid #d0d7de;font-size:12px;line-height:1.5;color:#57606a">` +
    `<p>You received this e-mail because this address is listed for your business in public records. ` +
    `If you do not want to hear from us again, <a href="${marker("u")}">unsubscribe</a> (one click, nothing to log in to).</p>` +
    `<p>${escapeHtml(postalAddress)}</p>` +
    `</div>` +
    `<img src="${marker("o")}" width="1" height="1" alt="">`
  );
}

/** `{{ name }}` → `{{name}}` for prospect fields; anything else is refused. */
function canonicalPlaceholders(text: string, where: string): string {
  return text.replace(PLACEHOLDER, (_all, name: string) => {
    if (!isProspectField(name)) {
      throw new RenderError(
        "unknown_placeholder",
        `${where}: {{${name}}} is not a prospect field (${PROSPECT_FIELDS.join(", ")})`,
      );
    }
    return `{{${name}}}`;
  });
}

function split(text: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of text.matchAll(partsPattern())) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    if (m[1] !== undefined) parts.push({ field: m[1] as ProspectField });
    else if (m[3] !== undefined) parts.push({ slot: "click", idx: Number(m[3]) });
    else parts.push(m[2] === "o" ? { slot: "open" } : { slot: "unsubscribe" });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

function appendFooter(doc: Document, postalAddress: string): void {
  const body = DomUtils.findOne((el) => el.name === "body", doc.children);
  const parent: Document | Element = body ?? doc;
  for (const node of [...parseTemplate(footerHtml(postalAddress)).children] as ChildNode[]) {
    DomUtils.appendChild(parent, node);
  }
}

/**
 * Parses a campaign's template once: placeholders checked, links matched against the link table,
 * the footer and pixel added, the plain-text part derived. Throws RenderError for a template that
 * must not go out (a price, an unknown placeholder, links that do not match the table).
 */
export function prepareCampaignTemplate(
  campaign: CampaignTemplate,
  links: readonly CampaignLinkRow[],
  settings: Pick<CampaignRenderSettings, "postalAddress">,
): PreparedCampaignTemplate {
  if (mentionsPrice(campaign.subject) || mentionsPrice(campaign.html)) {
    throw new RenderError("price", `campaign ${campaign.id}: campaign mail shows no prices`);
  }
  if (settings.postalAddress.trim() === "") {
    throw new RenderError("sender", "no postal address: CAN-SPAM requires one in every campaign message");
  }
  const subject = canonicalPlaceholders(campaign.subject, "subject");
  const doc = parseTemplate(canonicalPlaceholders(campaign.html, "html"));

  const anchors = anchorsInOrder(doc);
  const byIdx = new Map(links.map((l) => [l.idx, l]));
  if (links.length !== anchors.length || byIdx.size !== links.length) {
    throw new RenderError(
      "link_mismatch",
      `campaign ${campaign.id}: the template has ${anchors.length} links, the link table ${links.length}`,
    );
  }
  const tracked: number[] = [];
  anchors.forEach((anchor, i) => {
    const row = byIdx.get(i + 1);
    if (row === undefined)
      throw new RenderError("link_mismatch", `campaign ${campaign.id}: no link ${i + 1} in the table`);
    if (row.tracked) {
      anchor.attribs.href = marker(`c${row.idx}`);
      tracked.push(row.idx);
    } else anchor.attribs.href = row.url;
  });
  appendFooter(doc, settings.postalAddress);

  const html = DomUtils.getOuterHTML(doc, { encodeEntities: "utf8", decodeEntities: true, emptyAttrs: true });
  const htmlParts = split(html);
  const subjectParts = split(subject);
  const fields = [
    ...new Set(
      [...subjectParts, ...htmlParts].flatMap((p) => (typeof p === "object" && "field" in p ? [p.field] : [])),
    ),
  ];
  return {
    campaignId: campaign.id,
    subject: subjectParts,
    html: htmlParts,
    text: split(htmlToPlainText(html)),
    tracked,
    fields,
  };
}

/** The address inside `Name <address>` or a bare address, and its domain, lower-cased. */
function domainOf(mailbox: string): string | null {
  const address = (/<([^<>]+)>\s*$/.exec(mailbox)?.[1] ?? mailbox).trim();
  const at = address.lastIndexOf("@");
  return at > 0 ? address.slice(at + 1).toLowerCase() : null;
}

function checkSender(settings: CampaignRenderSettings, messageId: string): void {
  const sending = settings.sendingDomain.toLowerCase();
  const from = domainOf(settings.from);
  // The sending subdomain carries the bulk reputation (SPF, DKIM, the return path): the From
  // must be aligned with it (DMARC, RFC 7489 3.1), or receivers judge campaign mail by the root.
  if (from === null || (from !== sending && !from.endsWith(`.${sending}`))) {
    throw new RenderError("sender", `From ${JSON.stringify(settings.from)} is not on the sending domain ${sending}`);
  }
  // Replies go to people on the root domain, which the sending subdomain belongs to.
  const reply = domainOf(settings.replyTo);
  if (reply === null || !sending.endsWith(`.${reply}`)) {
    throw new RenderError(
      "sender",
      `Reply-To ${JSON.stringify(settings.replyTo)} is not on the root domain of the sending domain ${sending}`,
    );
  }
  const id = /^<?[^<>@\s]+@([^<>@\s]+?)>?$/.exec(messageId)?.[1]?.toLowerCase();
  if (id !== sending) {
    throw new RenderError(
      "message_id",
      `Message-ID ${JSON.stringify(messageId)} is not on the sending domain ${sending}`,
    );
  }
}

type Urls = { click: Map<number, string>; open: string; unsubscribe: string };

function fill(
  parts: Part[],
  value: (field: ProspectField) => string,
  urls: Urls,
  escape: (s: string) => string,
): string {
  let out = "";
  for (const part of parts) {
    if (typeof part === "string") out += part;
    else if ("field" in part) out += value(part.field);
    else if (part.slot === "click") out += escape(urls.click.get(part.idx)!);
    else if (part.slot === "open") out += escape(urls.open);
    else out += escape(urls.unsubscribe);
  }
  return out;
}

/** Fills a prepared template for one send. */
export async function renderPreparedCampaign(
  prepared: PreparedCampaignTemplate,
  input: Pick<CampaignRenderInput, "send" | "fields">,
  settings: CampaignRenderSettings,
): Promise<RenderedCampaignMessage> {
  checkSender(settings, input.send.messageId);
  const values = new Map<ProspectField, string>();
  for (const name of prepared.fields) {
    const raw = input.fields[name];
    const text = raw === undefined || raw === null ? "" : String(raw).trim();
    if (text === "") {
      throw new RenderError("missing_field", `send ${input.send.id}: no value for {{${name}}}`);
    }
    values.set(name, text);
  }

  const base = settings.publicBaseUrl.replace(/\/+$/, "");
  const secret = settings.trackingSecret;
  const sendId = input.send.id;
  const [open, unsubscribe, ...clicks] = await Promise.all([
    signTrackingToken(secret, { purpose: "open", sendId }),
    signTrackingToken(secret, { purpose: "unsubscribe", sendId }),
    ...prepared.tracked.map((linkIdx) => signTrackingToken(secret, { purpose: "click", sendId, linkIdx })),
  ]);
  const urls: Urls = {
    click: new Map(prepared.tracked.map((idx, i) => [idx, `${base}/l/${clicks[i]!}`])),
    open: `${base}/o/${open!}`,
    unsubscribe: `${base}/u/${unsubscribe!}`,
  };
  const same = (s: string) => s;
  const mailto = `mailto:unsubscribe+${trackingTokenToHex(unsubscribe!)}@${settings.sendingDomain.toLowerCase()}?subject=unsubscribe`;
  return {
    to: input.send.recipient,
    from: settings.from,
    replyTo: settings.replyTo,
    // A value cannot end the header field (RFC 5322 2.2): line breaks and controls become spaces.
    // eslint-disable-next-line no-control-regex
    subject: fill(prepared.subject, (f) => values.get(f)!.replace(/[\u0000-\u001f\u007f]+/g, " "), urls, same),
    html: fill(prepared.html, (f) => escapeHtml(values.get(f)!), urls, escapeHtml),
    text: fill(prepared.text, (f) => values.get(f)!, urls, same),
    headers: {
      "List-Unsubscribe": `<${urls.unsubscribe}>, <${mailto}>`,
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
      "X-Docket-Campaign": String(prepared.campaignId),
    },
    messageId: input.send.messageId,
  };
}

interface CacheEntry {
  campaign: CampaignTemplate;
  links: readonly CampaignLinkRow[];
  postalAddress: string;
  prepared: PreparedCampaignTemplate;
}

/** Prepared templates by campaign id; a changed template, link table or address is prepared again. */
const cache = new Map<number, CacheEntry>();
const CACHE_LIMIT = 32;

function sameLinks(a: readonly CampaignLinkRow[], b: readonly CampaignLinkRow[]): boolean {
  return (
    a === b ||
    (a.length === b.length &&
      a.every((l, i) => l.idx === b[i]!.idx && l.url === b[i]!.url && l.tracked === b[i]!.tracked))
  );
}

function preparedFor(input: CampaignRenderInput, settings: CampaignRenderSettings): PreparedCampaignTemplate {
  const { campaign, links } = input;
  const hit = cache.get(campaign.id);
  if (
    hit !== undefined &&
    hit.campaign.subject === campaign.subject &&
    hit.campaign.html === campaign.html &&
    hit.postalAddress === settings.postalAddress &&
    sameLinks(hit.links, links)
  ) {
    return hit.prepared;
  }
  const prepared = prepareCampaignTemplate(campaign, links, settings);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(campaign.id, {
    campaign: { ...campaign },
    links: links.map((l) => ({ ...l })),
    postalAddress: settings.postalAddress,
    prepared,
  });
  return prepared;
}

/** Renders one send of a campaign; the template is prepared once and reused while it is unchanged. */
export async function renderCampaignMessage(
  input: CampaignRenderInput,
  settings: CampaignRenderSettings,
): Promise<RenderedCampaignMessage> {
  return await renderPreparedCampaign(preparedFor(input, settings), input, settings);
}
