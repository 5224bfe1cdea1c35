// IPv4/IPv6 addresses and CIDR ranges (RFC 4632, RFC 4291 §2.2–2.5), hand-written because
// it is small. Used to judge each DMARC report source IP against our sending networks.
//
// An IPv4-mapped IPv6 address (::ffff:192.0.2.1, RFC 4291 §2.5.5.2) is treated as the IPv4
// address it carries, both as an address and as a range (::ffff:192.0.2.0/120 ≡ 192.0.2.0/24),
// so a receiver that reports sources in mapped form still matches our IPv4 ranges.

export interface IpAddress {
  family: 4 | 6;
  /** One 32-bit word for IPv4, four for IPv6, most significant first. */
  words: number[];
}

export interface Cidr extends IpAddress {
  prefix: number;
}

function parseIpv4Words(s: string): number | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    // Decimal only, no leading zeros: "010" is octal to some parsers, so it is refused.
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}

function parseIpv6Words(s: string): number[] | undefined {
  let head = s;
  const tail: number[] = [];
  // A trailing dotted quad stands for the last two groups (RFC 4291 §2.2 form 3).
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".", lastColon)) {
    const v4 = parseIpv4Words(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail.push(v4 >>> 16, v4 & 0xffff);
    head = s.slice(0, lastColon);
    if (head.endsWith(":")) head += ":"; // "::1.2.3.4" keeps its "::"
  }
  const parseGroups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    for (const g of part.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  const dbl = head.indexOf("::");
  if (dbl >= 0) {
    if (head.indexOf("::", dbl + 1) >= 0) return undefined;
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (!left || !right) return undefined;
    const missing = 8 - left.length - right.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right, ...tail];
  } else {
    const all = parseGroups(head);
    if (!all) return undefined;
    groups = [...all, ...tail];
  }
  if (groups.length !== 8) return undefined;
  const words: number[] = [];
  for (let i = 0; i < 8; i += 2) words.push(((groups[i]! << 16) | groups[i + 1]!) >>> 0);
  return words;
}

const isMapped = (w: number[]) => w[0] === 0 && w[1] === 0 && w[2] === 0xffff;

/** Parses an IPv4 or IPv6 address; IPv4-mapped IPv6 comes back as IPv4. Undefined if invalid. */
export function parseIp(input: string): IpAddress | undefined {
  const s = input.trim().replace(/^\[(.*)\]$/, "$1");
  if (!s.includes(":")) {
    const v4 = parseIpv4Words(s);
    return v4 === undefined ? undefined : { family: 4, words: [v4] };
  }
  if (s.includes("%")) return undefined; // zone identifiers never appear in reports
  const w = parseIpv6Words(s);
  if (!w) return undefined;
  return isMapped(w) ? { family: 4, words: [w[3]!] } : { family: 6, words: w };
}

function mask(words: number[], prefix: number): number[] {
  return words.map((w, i) => {
    const bits = Math.min(Math.max(prefix - 32 * i, 0), 32);
    return bits === 0 ? 0 : (w & (0xffffffff << (32 - bits))) >>> 0;
  });
}

/**
 * Parses "192.0.2.0/24", "2001:db8::/32", or a bare address (a /32 or /128). Host bits set
 * below the prefix are cleared ("192.0.2.7/24" is 192.0.2.0/24). Throws on invalid input so a
 * bad configuration is caught when it is loaded.
 */
export function parseCidr(input: string): Cidr {
  const [addr = "", len, extra] = input.trim().split("/");
  const ip = parseIp(addr);
  if (!ip || extra !== undefined) throw new Error(`invalid CIDR range: ${JSON.stringify(input)}`);
  const v6Mapped = ip.family === 4 && addr.includes(":");
  const max = v6Mapped ? 128 : ip.family === 4 ? 32 : 128;
  if (len !== undefined && !/^\d{1,3}$/.test(len)) throw new Error(`invalid CIDR prefix: ${JSON.stringify(input)}`);
  let prefix = len === undefined ? max : Number(len);
  if (prefix > max) throw new Error(`CIDR prefix /${prefix} is too long: ${JSON.stringify(input)}`);
  if (v6Mapped) {
    // ::ffff:a.b.c.d/n with n ≥ 96 is the IPv4 range /(n-96); a shorter one would span more
    // than the mapped block, which no sending network is.
    if (prefix < 96) throw new Error(`IPv4-mapped range shorter than /96: ${JSON.stringify(input)}`);
    prefix -= 96;
  }
  return { family: ip.family, words: mask(ip.words, prefix), prefix };
}

/** True if `ip` lies in `range`. Different families never match. */
export function cidrContains(range: Cidr, ip: IpAddress): boolean {
  if (range.family !== ip.family) return false;
  const m = mask(ip.words, range.prefix);
  return m.every((w, i) => w === range.words[i]);
}

/**
 * True if the address is in any of the ranges (strings are parsed, so prefer pre-parsed
 * ranges in loops). An unparseable address is in no network.
 */
export function isInNetworks(ip: string | IpAddress, ranges: readonly (string | Cidr)[]): boolean {
  const addr = typeof ip === "string" ? parseIp(ip) : ip;
  if (!addr) return false;
  return ranges.some((r) => cidrContains(typeof r === "string" ? parseCidr(r) : r, addr));
}

/** Label for a report's source IP against our configured sending networks. */
export function sourceIpLabel(ip: string, ourNetworks: readonly (string | Cidr)[]): "ours" | "external" {
  return isInNetworks(ip, ourNetworks) ? "ours" : "external";
}
