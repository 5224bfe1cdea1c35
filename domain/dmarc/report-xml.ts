import { Parser } from "htmlparser2";
import {
  DmarcParseError,
  type DkimAuthResult,
  type DmarcAggregateReport,
  type DmarcRecord,
  type PolicyOverrideReason,
  type PolicyPublished,
  type SpfAuthResult,
} from "./report-types";

// DMARC aggregate report XML → typed reports. Schemas: RFC 7489 Appendix C, its drafts, and
// RFC 9990 (urn:ietf:params:xml:ns:dmarc-2.0). Elements are matched by lower-cased local name,
// so any namespace or prefix (or none) works.
//
// Why htmlparser2 (xmlMode): it is a streaming tokenizer that never gives up (unclosed
// elements are closed at the end, mismatched end tags are skipped) and it has no DTD support at
// all: it decodes only the five XML entities and character references, and reports <!DOCTYPE>
// and <!ENTITY> as declarations, which we refuse. Pure JS, so the same code runs in workerd.

export const DMARC_2_NAMESPACE = "urn:ietf:params:xml:ns:dmarc-2.0";

/** A DMARC element as we keep it: local name, leaf text, children. No attributes, no entities. */
interface XmlNode {
  name: string;
  text: string;
  children: XmlNode[];
}

// ---------------------------------------------------------------------------------------------
// Bytes → text

function tryDecode(label: string, b: Uint8Array): string | undefined {
  try {
    return new TextDecoder(label).decode(b);
  } catch {
    return undefined; // label unknown to this runtime
  }
}

/**
 * Decodes by BOM, then by the XML declaration's encoding, else UTF-8. Never fails: invalid
 * bytes become U+FFFD (receivers do send Latin-1 inside "UTF-8" reports).
 */
export function decodeXmlBytes(b: Uint8Array): string {
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return new TextDecoder("utf-8").decode(b);
  if ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0x3c && b[1] === 0 && b[2] === 0x3f && b[3] === 0)) {
    return tryDecode("utf-16le", b) ?? new TextDecoder().decode(b);
  }
  if ((b[0] === 0xfe && b[1] === 0xff) || (b[0] === 0 && b[1] === 0x3c && b[2] === 0 && b[3] === 0x3f)) {
    return tryDecode("utf-16be", b) ?? new TextDecoder().decode(b);
  }
  const head = String.fromCharCode(...b.subarray(0, 200));
  const label = /^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head)?.[1]?.toLowerCase();
  if (label && label !== "utf-8" && label !== "utf8") {
    const text = tryDecode(label, b);
    if (text !== undefined) return text;
    if (/^(iso-8859-1|latin1|l1|us-ascii|ascii|windows-1252|cp1252)$/.test(label)) {
      let s = "";
      for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
      return s;
    }
  }
  return new TextDecoder("utf-8").decode(b);
}

/**
 * Turns every "<" that cannot start markup into "&lt;", outside comments and CDATA.
 * Receivers write `<email><bad@example.net></email>` and `bad<xml.net</header_from>`; a
 * tokenizer would take those for tags and swallow the end tags after them.
 */
export function escapeStrayLessThan(xml: string): string {
  return xml.replace(
    /<!--[\s\S]*?(?:-->|$)|<!\[CDATA\[[\s\S]*?(?:\]\]>|$)|<(?!\/?[A-Za-z_:][\w.:-]*(?=[\s/>])|[!?])/g,
    (m) => (m === "<" ? "&lt;" : m),
  );
}

// ---------------------------------------------------------------------------------------------
// Tree helpers (iterative: malformed input can nest deeply)

function localName(qname: string): string {
  const i = qname.lastIndexOf(":");
  return (i >= 0 ? qname.slice(i + 1) : qname).toLowerCase();
}

function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  return node?.children.find((c) => c.name === name);
}

/** First descendant with that name, breadth-first (so a direct child wins). */
function find(node: XmlNode | undefined, name: string): XmlNode | undefined {
  if (!node) return undefined;
  const queue = [...node.children];
  for (let i = 0; i < queue.length; i++) {
    const n = queue[i]!;
    if (n.name === name) return n;
    queue.push(...n.children);
  }
  return undefined;
}

function findAll(node: XmlNode | undefined, name: string): XmlNode[] {
  if (!node) return [];
  const out: XmlNode[] = [];
  const queue = [...node.children];
  for (let i = 0; i < queue.length; i++) {
    const n = queue[i]!;
    if (n.name === name) out.push(n);
    queue.push(...n.children);
  }
  return out;
}

function text(node: XmlNode | undefined): string | undefined {
  if (!node) return undefined;
  const t = node.text.trim();
  return t === "" ? undefined : t;
}

/** A leaf child's text: a same-named element with children (auth_results/dkim) is not one. */
function leafText(node: XmlNode | undefined, name: string): string | undefined {
  return text(node?.children.find((c) => c.name === name && c.children.length === 0));
}

const lower = (s: string | undefined) => s?.toLowerCase();

// ---------------------------------------------------------------------------------------------
// Elements → report

function parseCount(raw: string | undefined, warnings: string[], ip: string): number {
  if (raw && /^\+?\d+$/.test(raw)) {
    const n = Number(raw);
    if (!Number.isSafeInteger(n)) warnings.push(`record ${ip}: count ${raw} exceeds 2^53`);
    return n;
  }
  warnings.push(`record ${ip}: count ${JSON.stringify(raw ?? null)} is not an integer; taken as 0`);
  return 0;
}

function toRecord(rec: XmlNode, warnings: string[]): DmarcRecord {
  const sourceIp = text(find(rec, "source_ip")) ?? "";
  const pe = find(rec, "policy_evaluated");
  // Result words arrive as "Pass", "FAIL"…: compare lower-cased.
  const dkim = lower(leafText(pe, "dkim")) ?? "none";
  const spf = lower(leafText(pe, "spf")) ?? "none";
  // RFC 7489 §6.6.2: DMARC passes if DKIM or SPF passed *and* aligned; policy_evaluated holds
  // exactly those aligned results, so alignment is read from there.
  const dkimAligned = dkim === "pass";
  const spfAligned = spf === "pass";
  const reasons: PolicyOverrideReason[] = [];
  for (const r of pe?.children.filter((c) => c.name === "reason") ?? []) {
    const type = lower(text(child(r, "type")));
    const comment = text(child(r, "comment")) ?? null;
    if (type || comment) reasons.push({ type: type ?? "other", comment }); // skip empty <reason>
  }
  const auth = find(rec, "auth_results");
  const dkimResults: DkimAuthResult[] = findAll(auth, "dkim")
    .filter((n) => n.children.length > 0)
    .map((n) => {
      const human = text(child(n, "human_result"));
      return {
        domain: lower(text(child(n, "domain"))) ?? "",
        selector: text(child(n, "selector")) ?? null,
        result: lower(text(child(n, "result"))) ?? "none",
        ...(human ? { humanResult: human } : {}),
      };
    });
  const spfResults: SpfAuthResult[] = findAll(auth, "spf")
    .filter((n) => n.children.length > 0)
    .map((n) => {
      const human = text(child(n, "human_result"));
      return {
        domain: lower(text(child(n, "domain"))) ?? "",
        scope: lower(text(child(n, "scope"))) ?? null,
        result: lower(text(child(n, "result"))) ?? "none",
        ...(human ? { humanResult: human } : {}),
      };
    });
  const ids = find(rec, "identifiers");
  const envelopeFrom = lower(text(find(ids, "envelope_from")));
  const envelopeTo = lower(text(find(ids, "envelope_to")));
  if (!sourceIp) warnings.push("a record has no source_ip");
  return {
    sourceIp,
    count: parseCount(text(find(rec, "count")), warnings, sourceIp),
    disposition: lower(leafText(pe, "disposition")) ?? "none",
    dkim,
    spf,
    dkimAligned,
    spfAligned,
    dmarcPass: dkimAligned || spfAligned,
    headerFrom: lower(text(find(ids, "header_from"))) ?? "",
    ...(envelopeFrom ? { envelopeFrom } : {}),
    ...(envelopeTo ? { envelopeTo } : {}),
    authResults: { dkim: dkimResults, spf: spfResults },
    reasons,
  };
}

function parseTimestamp(raw: string | undefined): Date | undefined {
  if (!raw) return undefined;
  // Seconds since the epoch (RFC 7489 Appendix C); a few reporters add a fraction.
  const d = /^\d+(\.\d+)?$/.test(raw) ? new Date(Number(raw) * 1000) : new Date(raw);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function toReport(
  feedback: XmlNode,
  records: DmarcRecord[],
  namespace: string | undefined,
  warnings: string[],
): DmarcAggregateReport {
  const meta = find(feedback, "report_metadata");
  const range = find(meta, "date_range");
  const begin = parseTimestamp(text(find(range, "begin")));
  const end = parseTimestamp(text(find(range, "end")));
  const reportId = text(find(meta, "report_id"));
  if (!reportId) throw new DmarcParseError("invalid_report", "report_metadata has no report_id");
  if (!begin || !end)
    throw new DmarcParseError("invalid_report", `report ${reportId}: date_range begin/end missing or invalid`);
  const email = text(find(meta, "email"))
    ?.replace(/^<|>$/g, "")
    .replace(/^mailto:/i, "");
  let orgName = text(find(meta, "org_name"));
  if (!orgName) {
    orgName = email?.split("@")[1]?.toLowerCase() ?? "";
    warnings.push(`empty org_name${orgName ? `; using ${orgName} from email` : ""}`);
  }
  const pp = find(feedback, "policy_published");
  const domain = lower(text(find(pp, "domain")));
  if (!domain) throw new DmarcParseError("invalid_report", `report ${reportId}: policy_published has no domain`);
  const p = lower(text(find(pp, "p"))) ?? "none";
  const pctRaw = text(find(pp, "pct"));
  const np = lower(text(find(pp, "np")));
  const testing = lower(text(find(pp, "testing")));
  const discoveryMethod = lower(text(find(pp, "discovery_method")));
  const fo = text(find(pp, "fo"));
  // Defaults of RFC 7489 §6.3 for tags a reporter omitted.
  const policyPublished: PolicyPublished = {
    domain,
    adkim: lower(text(find(pp, "adkim"))) ?? "r",
    aspf: lower(text(find(pp, "aspf"))) ?? "r",
    p,
    sp: lower(text(find(pp, "sp"))) ?? p,
    pct: pctRaw && /^\d+$/.test(pctRaw) ? Number(pctRaw) : 100,
    ...(np ? { np } : {}),
    ...(testing ? { testing } : {}),
    ...(discoveryMethod ? { discoveryMethod } : {}),
    ...(fo ? { fo } : {}),
  };
  const version = text(child(feedback, "version"));
  const extra = text(find(meta, "extra_contact_info"));
  return {
    ...(version ? { version } : {}),
    ...(namespace ? { namespace } : {}),
    orgName,
    ...(email ? { email } : {}),
    ...(extra ? { extraContactInfo: extra } : {}),
    reportId,
    begin,
    end,
    policyPublished,
    records,
    warnings,
  };
}

interface FeedbackContext {
  node: XmlNode;
  namespace: string | undefined;
  records: DmarcRecord[];
  warnings: string[];
}

/**
 * Parses one XML document (bytes or text) into the aggregate report(s) it holds, recovering
 * every <record> even from malformed files. Throws DmarcParseError: "entities" for any DTD
 * declaration, "not_a_report" when there is no <feedback>, "invalid_report" when a report
 * lacks report_id, date_range or policy domain.
 */
export function parseAggregateXml(input: string | Uint8Array): DmarcAggregateReport[] {
  const xml = escapeStrayLessThan(typeof input === "string" ? input : decodeXmlBytes(input));
  const root: XmlNode = { name: "#document", text: "", children: [] };
  const stack: XmlNode[] = [root];
  const rootContext: FeedbackContext = { node: root, namespace: undefined, records: [], warnings: [] };
  const contexts: FeedbackContext[] = [rootContext];
  const reports: DmarcAggregateReport[] = [];
  let sawFeedback = false;

  const parser = new Parser(
    {
      onprocessinginstruction(name) {
        // <?xml …?> is fine; "<!…" is a DTD declaration (DOCTYPE, ENTITY, ELEMENT, ATTLIST).
        // Entities are how billion-laughs bombs work: refuse, never expand.
        if (name.startsWith("!")) {
          throw new DmarcParseError(
            "entities",
            `XML declares a DTD (${name.slice(0, 20)}); refused: reports never need one`,
          );
        }
      },
      onopentag(qname, attrs) {
        const node: XmlNode = { name: localName(qname), text: "", children: [] };
        stack[stack.length - 1]!.children.push(node);
        stack.push(node);
        if (node.name === "feedback") {
          sawFeedback = true;
          const prefix = qname.includes(":") ? qname.slice(0, qname.indexOf(":")) : "";
          const namespace = prefix ? attrs[`xmlns:${prefix}`] : attrs.xmlns;
          contexts.push({ node, namespace, records: [], warnings: [] });
        }
      },
      ontext(t) {
        const top = stack[stack.length - 1]!;
        if (top.children.length === 0) top.text += t; // leaves only: DMARC has no mixed content
      },
      oncdatastart() {},
      onclosetag() {
        const node = stack.pop();
        if (!node || node === root) return;
        const parent = stack[stack.length - 1]!;
        const ctx = contexts[contexts.length - 1]!;
        if (node.name === "record") {
          ctx.records.push(toRecord(node, ctx.warnings));
          parent.children.pop(); // done with it: keep memory flat on large reports
        } else if (node.name === "feedback" && ctx.node === node) {
          contexts.pop();
          reports.push(toReport(node, ctx.records, ctx.namespace, ctx.warnings));
          parent.children.pop();
        }
      },
    },
    { xmlMode: true, decodeEntities: true, recognizeCDATA: true },
  );
  parser.write(xml);
  parser.end(); // closes whatever is still open (an unclosed wrapper), firing onclosetag

  if (!sawFeedback) {
    // Tolerate a missing <feedback> wrapper if the rest is unmistakably a report.
    if (find(root, "report_metadata") && rootContext.records.length > 0) {
      reports.push(toReport(root, rootContext.records, undefined, [...rootContext.warnings, "no <feedback> element"]));
    } else {
      throw new DmarcParseError("not_a_report", "no <feedback> element: not a DMARC aggregate report");
    }
  }
  return reports;
}
