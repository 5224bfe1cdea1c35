/**
 * Receiving mail operators, named from MX host names (or from the relay host a Postfix delivery
 * line names). Pure: the DNS lookups happen elsewhere.
 *
 * A domain's mail goes wherever its MX records point, so a carrier's custom domain with MX at
 * mx-biz.mail.am0.yahoodns.net is judged by Yahoo's filters and a clinic's domain with MX at
 * clinic-com.mail.protection.outlook.com by Microsoft's. The label is an operator name from
 * OPERATOR_MX_SUFFIXES, or `mx:<registrable domain of the MX host>` for everyone else (so that
 * per-operator caps and throttles still group a self-hosted or regional provider's customers).
 */

/**
 * Host-name suffixes per operator, matched on label boundaries, longest suffix first. Sources:
 * the operators' own MX hosts (Google Workspace aspmx.l.google.com / smtp.google.com, Exchange
 * Online <tenant>.mail.protection.outlook.com and Outlook.com <domain>.olc.protection.outlook.com,
 * Yahoo <x>.yahoodns.net, which also serves AOL, Yahoo Small Business, AT&T's and Verizon's
 * consumer domains, iCloud mx01.mail.icloud.com).
 */
export const OPERATOR_MX_SUFFIXES = {
  // Mailbox providers.
  google: ["google.com", "googlemail.com", "psmtp.com"],
  microsoft: ["outlook.com", "hotmail.com", "live.com", "msn.com", "protection.outlook.de", "partner.outlook.cn"],
  yahoo: ["yahoodns.net", "yahoo.com", "aol.com"],
  apple: ["icloud.com", "me.com", "mac.com"],
  zoho: ["zoho.com", "zoho.eu", "zoho.in", "zohomail.com"],
  fastmail: ["messagingengine.com", "fastmail.com"],
  gmx: ["gmx.net", "gmx.com", "gmx.de", "mail.com"],
  yandex: ["yandex.ru", "yandex.net", "yandex.com"],
  mailru: ["mail.ru"],
  proton: ["protonmail.ch", "proton.me"],
  // Hosted mailboxes common among small businesses.
  godaddy: ["secureserver.net"],
  rackspace: ["emailsrvr.com"],
  ionos: ["ionos.com", "1and1.com", "kundenserver.de"],
  namecheap: ["privateemail.com", "registrar-servers.com"],
  // Filtering gateways in front of company mailboxes.
  proofpoint: ["pphosted.com", "ppe-hosted.com", "proofpoint.com"],
  mimecast: ["mimecast.com", "mimecast-offshore.com", "mimecast.co.za"],
  barracuda: ["barracudanetworks.com", "barracuda.com"],
  cisco: ["iphmx.com"],
  symantec: ["messagelabs.com"],
  trendmicro: ["trendmicro.com", "trendmicro.eu"],
  sophos: ["sophos.com"],
  // Consumer internet providers (their subscribers' mailboxes; many carriers still use them).
  comcast: ["comcast.net"],
  charter: ["charter.net", "rr.com", "twc.com", "brighthouse.com", "spectrum.net"],
  // cox.net's MX is Cloudmark's cxr.mx.a.cloudfilter.net; other cloudfilter.net hosts are not Cox.
  cox: ["cox.net", "cxr.mx.a.cloudfilter.net", "cxr.mx.b.cloudfilter.net"],
  centurylink: ["centurylink.net", "centurytel.net", "embarqmail.com", "qwest.net"],
  // AT&T's consumer domains moved their MX to mx-att.mail.am0.yahoodns.net (so: yahoo); these are
  // the older AT&T hosts.
  att: ["att.net", "prodigy.net"],
  verizon: ["verizon.net"],
  frontier: ["frontier.com", "frontiernet.net"],
  earthlink: ["earthlink.net", "earthlink-vadesecure.net", "mindspring.com"],
  windstream: ["windstream.net"],
  tds: ["tds.net"],
  altice: ["optonline.net", "suddenlink.net"],
  unitedonline: ["untd.com", "juno.com", "netzero.net"],
} as const satisfies Record<string, readonly string[]>;

export type NamedOperator = keyof typeof OPERATOR_MX_SUFFIXES;

/** An operator label: a NamedOperator, or `mx:<registrable domain>`. */
export type OperatorLabel = NamedOperator | `mx:${string}`;

/** The four big mailbox providers. */
export const MAILBOX_PROVIDER_OPERATORS = [
  "google",
  "microsoft",
  "yahoo",
  "apple",
] as const satisfies readonly NamedOperator[];

/**
 * Consumer internet providers. Their customers' mailboxes (and the custom domains whose MX points
 * at them) sit behind filters that tarpit or refuse unknown senders; the previous system let them
 * slip its warm-up exclusion because it only listed the clean-label operators.
 */
export const CONSUMER_ISP_OPERATORS = [
  "comcast",
  "charter",
  "cox",
  "centurylink",
  "att",
  "verizon",
  "frontier",
  "earthlink",
  "windstream",
  "tds",
  "altice",
  "unitedonline",
] as const satisfies readonly NamedOperator[];

/**
 * The big operators held out of outreach until the configured warm-up day, then let in along the
 * warm-up ramp: the mailbox providers and the consumer ISPs. This is the default list; the audience
 * build takes it from here so it lives in one place, as data, not as conditionals.
 */
export const BIG_OPERATORS: readonly NamedOperator[] = [...MAILBOX_PROVIDER_OPERATORS, ...CONSUMER_ISP_OPERATORS];

/**
 * Enterprise filtering gateways. Not in BIG_OPERATORS; the previous system also held these out
 * during its warm-up, so a configuration that wants that adds them.
 */
export const ENTERPRISE_FILTER_OPERATORS = [
  "proofpoint",
  "mimecast",
  "barracuda",
  "cisco",
  "symantec",
  "trendmicro",
  "sophos",
] as const satisfies readonly NamedOperator[];

const BIG = new Set<string>(BIG_OPERATORS);

export function isBigOperator(label: string): boolean {
  return BIG.has(label);
}

export function isNamedOperator(label: string): label is NamedOperator {
  return Object.hasOwn(OPERATOR_MX_SUFFIXES, label);
}

// suffix -> operator; built once, refusing a suffix claimed by two operators.
const BY_SUFFIX: ReadonlyMap<string, NamedOperator> = (() => {
  const index = new Map<string, NamedOperator>();
  for (const [operator, suffixes] of Object.entries(OPERATOR_MX_SUFFIXES) as [NamedOperator, readonly string[]][]) {
    for (const suffix of suffixes) {
      const previous = index.get(suffix);
      if (previous !== undefined) throw new Error(`MX suffix ${suffix} is listed for both ${previous} and ${operator}`);
      index.set(suffix, operator);
    }
  }
  return index;
})();

/**
 * The operator for one host name (an MX exchange or a Postfix relay host), or null when the
 * input is not a usable host name: empty, the null MX "." (RFC 7505), an address literal, a
 * single label, or Postfix's `none`/`local`.
 */
export function operatorForHost(host: string): OperatorLabel | null {
  const name = normaliseHost(host);
  if (name === null) return null;
  const labels = name.split(".");
  // Longest suffix first: walk from the full name down to the last two labels.
  for (let i = 0; i < labels.length - 1; i++) {
    const operator = BY_SUFFIX.get(labels.slice(i).join("."));
    if (operator !== undefined) return operator;
  }
  return `mx:${registrableDomain(name)}`;
}

export interface MxRecord {
  /** The MX preference (RFC 5321 5.1: lower is tried first). */
  preference: number;
  /** The exchange host name. */
  exchange: string;
}

/**
 * The operator for a domain from its MX records: the operator of the most preferred usable host
 * (RFC 5321 5.1: senders try the lowest preference first), falling back to the next when a host
 * is unusable (a null MX, an address literal, garbage). Among hosts of equal preference a named
 * operator wins over `mx:` so the choice does not depend on record order. Null when no host is
 * usable, e.g. a null MX (RFC 7505: the domain accepts no mail).
 */
export function operatorForMx(records: readonly MxRecord[]): OperatorLabel | null {
  const candidates = records
    .filter((record) => Number.isFinite(record.preference))
    .map((record) => ({ preference: record.preference, operator: operatorForHost(record.exchange) }))
    .filter((c): c is { preference: number; operator: OperatorLabel } => c.operator !== null)
    .sort(
      (a, b) =>
        a.preference - b.preference ||
        Number(a.operator.startsWith("mx:")) - Number(b.operator.startsWith("mx:")) ||
        (a.operator < b.operator ? -1 : a.operator > b.operator ? 1 : 0),
    );
  return candidates[0]?.operator ?? null;
}

/**
 * One MX answer in presentation format, as DNS over HTTPS JSON returns it in `data`
 * ("10 aspmx.l.google.com."), or null when it is not one.
 */
export function parseMxData(data: string): MxRecord | null {
  const match = /^\s*(\d{1,5})\s+(\S+)\s*$/.exec(data);
  if (!match) return null;
  const preference = Number(match[1]);
  return preference <= 65535 ? { preference, exchange: match[2]! } : null;
}

// A DNS host name of at least two labels (RFC 1123 2.1 letters, digits, hyphens; underscores
// tolerated), lower-cased without the root dot. Address literals and all-numeric names are not.
const HOST_NAME = /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9-]{2,63}$/;

function normaliseHost(host: string): string | null {
  const name = host.trim().toLowerCase().replace(/\.$/, "");
  if (!HOST_NAME.test(name)) return null;
  if (/^[\d.]+$/.test(name) || /^\d+$/.test(name.slice(name.lastIndexOf(".") + 1))) return null;
  return name;
}

// Second-level labels under which country-code TLDs register names (co.uk, com.au, ne.jp,
// com.br, ...). A heuristic for the Public Suffix List, which is not worth a dependency here:
// it only decides how `mx:` labels group hosts.
const CC_SECOND_LEVEL = new Set([
  "ac",
  "ad",
  "co",
  "com",
  "ed",
  "edu",
  "go",
  "gob",
  "gov",
  "govt",
  "gr",
  "int",
  "lg",
  "ltd",
  "me",
  "mil",
  "ne",
  "net",
  "nom",
  "or",
  "org",
  "plc",
  "sch",
]);

/** The registrable domain of a host name: `mx1.securemx.jp` → `securemx.jp`, `mx.a.co.uk` → `a.co.uk`. */
export function registrableDomain(host: string): string {
  const labels = host.toLowerCase().replace(/\.$/, "").split(".");
  if (labels.length <= 2) return labels.join(".");
  const tld = labels.at(-1)!;
  const second = labels.at(-2)!;
  const keep = tld.length === 2 && CC_SECOND_LEVEL.has(second) ? 3 : 2;
  return labels.slice(-keep).join(".");
}
