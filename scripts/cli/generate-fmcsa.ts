// `docket generate fmcsa --rows N --seed S`: a synthetic FMCSA company census for tests and
// benchmarks, the same bytes for the same options (a seeded PRNG, no clock unless --as-of is left
// out). Carriers look like the real file: mostly one-truck operators with a heavy tail of fleets,
// MCS-150 filings spread over four years (so a good share is overdue under 49 CFR 390.19(b)),
// about 15% without an e-mail address, and a domain mix that exercises outreach: consumer
// mailboxes, custom domains hosted at Google, Microsoft, Yahoo or smaller operators, and dead ISPs.
// With --zone it also writes the DNS fixture zone (scripts/lib/doh-resolver.ts) for the domains
// it used, with the operators' real MX host patterns.
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import type { Writable } from "node:stream";
import { CENSUS_COLUMNS, type CensusColumn } from "../../domain/outreach/fmcsa-census-row";

export type GeneratedFormat = "csv" | "json";

export interface FmcsaGenerateOptions {
  rows: number;
  seed: string;
  format: GeneratedFormat;
  /** A file, or "-" for `stdout`. */
  out: string;
  /** Where the DNS fixture zone goes (a file), if anywhere. */
  zone?: string;
  /** Share of rows made invalid on purpose (0–1). */
  invalidRate?: number;
  /** YYYY-MM-DD the census is "as of" (MCS-150 dates lie before it); default today (UTC). */
  asOf?: string;
  stdout?: Writable;
}

export type DomainCategory = "consumer" | "custom" | "dead";

export interface FmcsaGenerateSummary {
  rows: number;
  format: GeneratedFormat;
  asOf: string;
  invalid: number;
  withEmail: number;
  noEmail: number;
  /** Rows per kind of address domain. */
  byCategory: Record<DomainCategory, number>;
  /** Custom-domain rows per hosting (google, microsoft, …, nxdomain). */
  byHosting: Record<string, number>;
  /** Rows reusing an address an earlier row has (one fleet, several USDOT numbers). */
  sharedAddresses: number;
  neverFiled: number;
  domains: number;
  zoneEntries: number;
  ms: number;
}

export class FmcsaGenerateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FmcsaGenerateError";
  }
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness: cyrb128 spreads the seed over four words, sfc32 (PractRand-clean, 128-bit
// state) draws from them. Fast, and the same on every platform.

function cyrb128(seed: string): [number, number, number, number] {
  let h1 = 1779033703,
    h2 = 3144134277,
    h3 = 1013904242,
    h4 = 2773480762;
  for (let i = 0; i < seed.length; i++) {
    const k = seed.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  return [(h1 ^ h2 ^ h3 ^ h4) >>> 0, (h2 ^ h1) >>> 0, (h3 ^ h1) >>> 0, (h4 ^ h1) >>> 0];
}

class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: string) {
    [this.a, this.b, this.c, this.d] = cyrb128(seed);
    for (let i = 0; i < 15; i++) this.next();
  }
  /** [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** Picks by weight: built once, drawn by binary search over the running totals. */
class Weighted<T> {
  private readonly values: T[];
  private readonly totals: number[];
  constructor(entries: readonly (readonly [T, number])[]) {
    this.values = entries.map(([v]) => v);
    let sum = 0;
    this.totals = entries.map(([, w]) => (sum += w));
  }
  draw(random: Random): T {
    const x = random.next() * this.totals.at(-1)!;
    let lo = 0;
    let hi = this.totals.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.totals[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return this.values[lo]!;
  }
}

// ---------------------------------------------------------------------------------------------
// What the census looks like

// Word lists, written compactly: one string each, split once.
const words = (list: string, separator: string | RegExp = /\s+/) =>
  list
    .split(separator)
    .map((w) => w.trim())
    .filter((w) => w !== "");

const SURNAMES = words(`SMITH JOHNSON WILLIAMS BROWN JONES GARCIA MILLER DAVIS RODRIGUEZ MARTINEZ HERNANDEZ LOPEZ
  GONZALEZ WILSON ANDERSON THOMAS TAYLOR MOORE JACKSON MARTIN LEE PEREZ THOMPSON WHITE HARRIS SANCHEZ CLARK RAMIREZ
  LEWIS ROBINSON WALKER YOUNG ALLEN KING WRIGHT SCOTT TORRES NGUYEN HILL FLORES GREEN ADAMS NELSON BAKER HALL RIVERA
  CAMPBELL MITCHELL CARTER ROBERTS SINGH PATEL KOWALSKI OLSON SCHMIDT MULLER PETERSON JENSEN HANSEN REYES CRUZ ORTIZ
  GUTIERREZ CHAVEZ RAMOS DIAZ MORALES KIM PARK BECKER`);
const FIRST_NAMES = words(`JAMES JOHN ROBERT MICHAEL WILLIAM DAVID JOSE CARLOS LUIS JUAN MARIA LINDA PATRICIA
  JENNIFER DANIEL MARK STEVEN PAUL ANDREW JOSHUA KEVIN BRIAN GEORGE EDWARD RONALD ANTHONY GURPREET HARPREET IVAN OLEG`);
const BRAND_WORDS = words(
  `BLUE RIDGE|EAGLE|LONE STAR|PRAIRIE|SUMMIT|IRON HORSE|RED ROCK|GOLDEN STATE|MIDWEST|COASTAL|FRONTIER|PIONEER|
  LIBERTY|PATRIOT|AMERICAN|SOUTHERN|NORTHERN|GREAT LAKES|ROCKY MOUNTAIN|DIAMOND|STERLING|TRIPLE J|BIG SKY|RIVER CITY|
  HEARTLAND|SILVER BULLET|THUNDER ROAD|CROSSROADS|KEYSTONE|CAPITAL|ATLAS|PREMIER|RELIABLE|SWIFT RIVER|OZARK|DESERT SUN|
  EVERGREEN|MAPLE LEAF|CARDINAL|MUSTANG|FALCON|TITAN|APEX`,
  "|",
);
const KINDS = words(
  "TRUCKING|TRANSPORT|FREIGHT|LOGISTICS|EXPRESS|HAULING|CARRIERS|TRUCK LINES|DELIVERY|TRANSPORTATION|ENTERPRISES|SERVICES|MOVING|AGGREGATES|FARMS",
  "|",
);
const SUFFIXES = new Weighted<string>([
  ["LLC", 45],
  ["INC", 25],
  ["", 18],
  ["CORP", 5],
  ["CO", 4],
  ["LTD", 3],
]);
const STREETS = words(
  `MAIN ST|OAK AVE|INDUSTRIAL DR|HIGHWAY 61|COUNTY ROAD 12|ELM ST|COMMERCE BLVD|RAILROAD AVE|MILL RD|
  FARM TO MARKET 1960|STATE ROUTE 9|PARK AVE|WASHINGTON ST|LAKE ST|HILLCREST DR|TRUCK STOP RD|FREEWAY DR|PINE ST|
  CEDAR LN|OLD US 27`,
  "|",
);
/** City, state, ZIP prefix, area code. */
const PLACES = words(
  `HOUSTON,TX,770,713|DALLAS,TX,752,214|LAREDO,TX,780,956|EL PASO,TX,799,915|SAN ANTONIO,TX,782,210|
  LOS ANGELES,CA,900,213|FONTANA,CA,923,909|FRESNO,CA,937,559|STOCKTON,CA,952,209|SACRAMENTO,CA,958,916|
  CHICAGO,IL,606,312|JOLIET,IL,604,815|ATLANTA,GA,303,404|SAVANNAH,GA,314,912|MIAMI,FL,331,305|
  JACKSONVILLE,FL,322,904|ORLANDO,FL,328,407|PHOENIX,AZ,850,602|TUCSON,AZ,857,520|INDIANAPOLIS,IN,462,317|
  FORT WAYNE,IN,468,260|COLUMBUS,OH,432,614|TOLEDO,OH,436,419|MEMPHIS,TN,381,901|NASHVILLE,TN,372,615|
  CHARLOTTE,NC,282,704|GREENSBORO,NC,274,336|NEWARK,NJ,071,973|ELIZABETH,NJ,072,908|KANSAS CITY,MO,641,816|
  ST LOUIS,MO,631,314|OMAHA,NE,681,402|DES MOINES,IA,503,515|MINNEAPOLIS,MN,554,612|DENVER,CO,802,303|
  SALT LAKE CITY,UT,841,801|RENO,NV,895,775|LAS VEGAS,NV,891,702|PORTLAND,OR,972,503|SEATTLE,WA,981,206|
  SPOKANE,WA,992,509|BOISE,ID,837,208|BILLINGS,MT,591,406|FARGO,ND,581,701|SIOUX FALLS,SD,571,605|
  OKLAHOMA CITY,OK,731,405|TULSA,OK,741,918|LITTLE ROCK,AR,722,501|JACKSON,MS,392,601|BIRMINGHAM,AL,352,205|
  MOBILE,AL,366,251|NEW ORLEANS,LA,701,504|SHREVEPORT,LA,711,318|LOUISVILLE,KY,402,502|ALLENTOWN,PA,181,610|
  HARRISBURG,PA,171,717|PITTSBURGH,PA,152,412|BUFFALO,NY,142,716|ALBANY,NY,122,518|DETROIT,MI,482,313|
  GRAND RAPIDS,MI,495,616|MILWAUKEE,WI,532,414|GREEN BAY,WI,543,920|RICHMOND,VA,232,804|NORFOLK,VA,235,757|
  COLUMBIA,SC,292,803|BALTIMORE,MD,212,410|HARTFORD,CT,061,860|WORCESTER,MA,016,508|ALBUQUERQUE,NM,871,505|
  CHEYENNE,WY,820,307|WICHITA,KS,672,316`,
  "|",
).map((p) => p.split(",") as [string, string, string, string]);

/** Where an address's domain is: a consumer mailbox, a carrier's own domain, or a dead ISP. */
const CATEGORIES = new Weighted<DomainCategory>([
  ["consumer", 52],
  ["custom", 43],
  ["dead", 5],
]);

/**
 * Consumer mailbox domains, by rough share among small carriers, with MX records in the shape the
 * providers publish (for the fixture zone; domain/mail/mail-operators.ts names their operators).
 */
const GOOGLE_MAIL_MX: [number, string][] = [
  [5, "gmail-smtp-in.l.google.com"],
  [10, "alt1.gmail-smtp-in.l.google.com"],
  [20, "alt2.gmail-smtp-in.l.google.com"],
  [30, "alt3.gmail-smtp-in.l.google.com"],
  [40, "alt4.gmail-smtp-in.l.google.com"],
];
const YAHOO_MX: [number, string][] = [
  [1, "mta5.am0.yahoodns.net"],
  [1, "mta6.am0.yahoodns.net"],
  [1, "mta7.am0.yahoodns.net"],
];
const AOL_MX: [number, string][] = [[10, "mx-aol.mail.gm0.yahoodns.net"]];
const APPLE_MX: [number, string][] = [
  [10, "mx01.mail.icloud.com"],
  [10, "mx02.mail.icloud.com"],
];
const ATT_MX: [number, string][] = [
  [5, "al-ip4-mx-vip1.prodigy.net"],
  [5, "ff-ip4-mx-vip1.prodigy.net"],
];
const outlookConsumer = (domain: string): [number, string][] => [
  [2, `${domain.replace(/\./g, "-")}.olc.protection.outlook.com`],
];

export const CONSUMER_DOMAINS: readonly (readonly [string, number, [number, string][]])[] = [
  ["gmail.com", 40, GOOGLE_MAIL_MX],
  ["googlemail.com", 0.1, GOOGLE_MAIL_MX],
  ["yahoo.com", 17, YAHOO_MX],
  ["ymail.com", 0.5, YAHOO_MX],
  ["rocketmail.com", 0.2, YAHOO_MX],
  ["aol.com", 6, AOL_MX],
  ["verizon.net", 1.5, AOL_MX],
  ["hotmail.com", 7, outlookConsumer("hotmail.com")],
  ["outlook.com", 3, outlookConsumer("outlook.com")],
  ["live.com", 1, outlookConsumer("live.com")],
  ["msn.com", 0.7, outlookConsumer("msn.com")],
  ["icloud.com", 3, APPLE_MX],
  ["me.com", 0.5, APPLE_MX],
  ["mac.com", 0.3, APPLE_MX],
  [
    "comcast.net",
    4,
    [
      [5, "mx1a1.comcast.net"],
      [5, "mx2c1.comcast.net"],
    ],
  ],
  ["att.net", 2, ATT_MX],
  ["sbcglobal.net", 2.5, ATT_MX],
  ["bellsouth.net", 2, ATT_MX],
  ["charter.net", 1.2, [[10, "mx.charter.net"]]],
  [
    "cox.net",
    1.5,
    [
      [10, "cxr.mx.a.cloudfilter.net"],
      [10, "cxr.mx.b.cloudfilter.net"],
    ],
  ],
  ["centurylink.net", 0.7, [[10, "mx.centurylink.net"]]],
  ["embarqmail.com", 0.5, [[10, "mx.embarqmail.com"]]],
  ["frontier.com", 0.5, [[10, "mx1.frontier.com"]]],
  ["windstream.net", 0.5, [[10, "mx.windstream.net"]]],
  [
    "earthlink.net",
    0.7,
    [
      [10, "mx1.earthlink-vadesecure.net"],
      [10, "mx2.earthlink-vadesecure.net"],
    ],
  ],
  ["juno.com", 0.4, [[10, "mx.vgs.untd.com"]]],
  ["netzero.net", 0.3, [[10, "mx.vgs.untd.com"]]],
  ["optonline.net", 0.4, [[10, "mx.optonline.net"]]],
  ["suddenlink.net", 0.3, [[10, "mx.suddenlink.net"]]],
];
const CONSUMER = new Weighted(CONSUMER_DOMAINS.map(([d, w]) => [d, w] as const));
const CONSUMER_MX = new Map(CONSUMER_DOMAINS.map(([d, , mx]) => [d, mx]));

/**
 * ISP domains whose mail service has ended (data/exclusions/dead-isps.txt): in the zone, some
 * are NXDOMAIN and the others not listed at all (the resolver answers NXDOMAIN for those too).
 */
export const DEAD_ISP_DOMAINS: readonly (readonly [string, number, "NXDOMAIN" | null])[] = [
  ["adelphia.net", 3, "NXDOMAIN"],
  ["excite.com", 1, null],
  ["netscape.net", 2, "NXDOMAIN"],
  ["compuserve.com", 1, null],
  ["attbi.com", 1, "NXDOMAIN"],
  ["home.com", 1, null],
  ["mediaone.net", 1, "NXDOMAIN"],
];
const DEAD = new Weighted(DEAD_ISP_DOMAINS.map(([d, w]) => [d, w] as const));
const DEAD_RCODE = new Map(DEAD_ISP_DOMAINS.map(([d, , rcode]) => [d, rcode]));

/** Where a carrier's own domain has its mail, by share of custom domains. */
export const HOSTINGS = [
  "google",
  "microsoft",
  "yahoo",
  "godaddy",
  "rackspace",
  "selfhosted",
  "proofpoint",
  "mimecast",
  "nodata",
  "nxdomain",
  "servfail",
] as const;
export type Hosting = (typeof HOSTINGS)[number];
const HOSTING = new Weighted<Hosting>([
  ["google", 34],
  ["microsoft", 29],
  ["yahoo", 5],
  ["godaddy", 12],
  ["rackspace", 4],
  ["selfhosted", 6],
  ["proofpoint", 2],
  ["mimecast", 2],
  ["nodata", 1],
  ["nxdomain", 4],
  ["servfail", 1],
]);

type ZoneEntry = { mx: [number, string][] } | { rcode: "NXDOMAIN" | "SERVFAIL" };

function hostedZone(domain: string, hosting: Hosting, random: Random): ZoneEntry {
  switch (hosting) {
    case "google":
      return random.chance(0.3)
        ? { mx: [[1, "smtp.google.com"]] }
        : {
            mx: [
              [1, "aspmx.l.google.com"],
              [5, "alt1.aspmx.l.google.com"],
              [5, "alt2.aspmx.l.google.com"],
              [10, "alt3.aspmx.l.google.com"],
              [10, "alt4.aspmx.l.google.com"],
            ],
          };
    case "microsoft":
      return { mx: [[0, `${domain.replace(/\./g, "-")}.mail.protection.outlook.com`]] };
    case "yahoo":
      return { mx: [[10, "mx-biz.mail.am0.yahoodns.net"]] };
    case "godaddy":
      return {
        mx: [
          [0, "smtp.secureserver.net"],
          [10, "mailstore1.secureserver.net"],
        ],
      };
    case "rackspace":
      return {
        mx: [
          [10, "mx1.emailsrvr.com"],
          [20, "mx2.emailsrvr.com"],
        ],
      };
    case "selfhosted":
      return { mx: [[10, `mail.${domain}`]] };
    case "proofpoint": {
      const customer = String(100000 + random.int(900000)).padStart(8, "0");
      return {
        mx: [
          [10, `mx0a-${customer}.pphosted.com`],
          [10, `mx0b-${customer}.pphosted.com`],
        ],
      };
    }
    case "mimecast":
      return {
        mx: [
          [10, "us-smtp-inbound-1.mimecast.com"],
          [10, "us-smtp-inbound-2.mimecast.com"],
        ],
      };
    case "nodata":
      return { mx: [] };
    case "nxdomain":
      return { rcode: "NXDOMAIN" };
    case "servfail":
      return { rcode: "SERVFAIL" };
  }
}

const TLDS = new Weighted<string>([
  ["com", 85],
  ["net", 7],
  ["us", 4],
  ["biz", 2],
  ["org", 2],
]);
const ROLE_LOCALS = ["info", "dispatch", "office", "safety", "accounting", "admin", "contact", "owner", "ops"];

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, "");

/** A carrier's own domain name, as small businesses pick them (so most carriers have their own). */
function customDomainName(brand: string, first: string, suffix: string, city: string, state: string, random: Random) {
  const base = slug(brand);
  const x = random.next();
  if (x < 0.15) return base;
  if (x < 0.25) return `${base}${slug(suffix || "inc")}`;
  if (x < 0.4) return `${first[0]!.toLowerCase()}${base}`;
  if (x < 0.55) return `${base}-${state.toLowerCase()}`;
  if (x < 0.7) return `${base}${slug(city)}`;
  return `${base}${1 + random.int(999)}`;
}

// ---------------------------------------------------------------------------------------------
// Rows

const DAY_MS = 86_400_000;

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function validAsOf(raw: string): number {
  const ms = Date.parse(`${raw}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(raw) || Number.isNaN(ms) || isoDay(ms) !== raw)
    throw new FmcsaGenerateError(`--as-of needs a date YYYY-MM-DD, got ${raw}`);
  return ms;
}

type Row = Partial<Record<CensusColumn, string>>;

const csvCell = (v: string | undefined) =>
  v === undefined ? "" : /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;

function csvLine(row: Row): string {
  let line = "";
  for (let i = 0; i < CENSUS_COLUMNS.length; i++) {
    if (i > 0) line += ",";
    line += csvCell(row[CENSUS_COLUMNS[i]!]);
  }
  return `${line}\n`;
}

const DATE_COLUMNS = new Set<CensusColumn>(["MCS150_DATE", "ADD_DATE"]);

/** The open-data API's form: lower-case names, strings, ISO timestamps, empty fields left out. */
function jsonRecord(row: Row): string {
  const out: Record<string, string> = {};
  for (const column of CENSUS_COLUMNS) {
    const v = row[column];
    if (v === undefined || v === "") continue;
    out[column.toLowerCase()] =
      DATE_COLUMNS.has(column) && /^\d{8}$/.test(v)
        ? `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)}T00:00:00.000`
        : v;
  }
  return JSON.stringify(out);
}

/** Writes to a stream, waiting whenever its buffer is full (a 1.5-million-row file streams). */
async function writeAll(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, "drain");
}

async function endStream(stream: Writable, isStdout: boolean): Promise<void> {
  if (isStdout) return;
  stream.end();
  await once(stream, "finish");
}

export async function generateFmcsa(options: FmcsaGenerateOptions): Promise<FmcsaGenerateSummary> {
  const started = performance.now();
  if (!Number.isSafeInteger(options.rows) || options.rows < 0)
    throw new FmcsaGenerateError(`--rows needs a whole number, got ${options.rows}`);
  const invalidRate = options.invalidRate ?? 0;
  if (!(invalidRate >= 0 && invalidRate <= 1))
    throw new FmcsaGenerateError(`--invalid-rate needs a number from 0 to 1, got ${invalidRate}`);
  const asOfDay = options.asOf ?? new Date().toISOString().slice(0, 10);
  const asOf = validAsOf(asOfDay);

  const random = new Random(options.seed);
  const summary: FmcsaGenerateSummary = {
    rows: options.rows,
    format: options.format,
    asOf: asOfDay,
    invalid: 0,
    withEmail: 0,
    noEmail: 0,
    byCategory: { consumer: 0, custom: 0, dead: 0 },
    byHosting: Object.fromEntries(HOSTINGS.map((h) => [h, 0])),
    sharedAddresses: 0,
    neverFiled: 0,
    domains: 0,
    zoneEntries: 0,
    ms: 0,
  };

  const isStdout = options.out === "-";
  const out = isStdout ? (options.stdout ?? process.stdout) : createWriteStream(options.out);
  const zone = new Map<string, ZoneEntry | null>();
  const hostingOf = new Map<string, Hosting>();
  // Recent addresses, for fleets that file several USDOT numbers under one mailbox.
  const recent: { email: string; category: DomainCategory; hosting: Hosting | null }[] = [];

  let usdot = 100_000 + random.int(50_000);
  let buffer = options.format === "csv" ? `${CENSUS_COLUMNS.join(",")}\n` : "[\n";
  for (let n = 0; n < options.rows; n++) {
    usdot += 1 + random.int(2);
    const [city, state, zip3, area] = random.pick(PLACES);
    const surname = random.pick(SURNAMES);
    const first = random.pick(FIRST_NAMES);
    const style = random.next();
    const kind = random.pick(KINDS);
    const suffix = SUFFIXES.draw(random);
    let legal: string;
    let dba = "";
    let brand: string;
    if (style < 0.4) legal = brand = `${surname} ${kind}`;
    else if (style < 0.7) legal = brand = `${random.pick(BRAND_WORDS)} ${kind}`;
    else if (style < 0.9) {
      // A sole proprietor files under a person's name and often trades under another.
      legal = `${first} ${surname}`;
      brand = random.chance(0.5) ? `${surname} ${kind}` : `${random.pick(BRAND_WORDS)} ${kind}`;
      dba = brand;
    } else legal = brand = `${surname} & SONS ${kind}`;
    if (suffix !== "" && !legal.startsWith(first)) legal = `${legal} ${suffix}`;
    if (dba === "" && random.chance(0.08)) dba = `${random.pick(BRAND_WORDS)} ${kind}`;

    // Most carriers run one truck; a Pareto tail (alpha 1.3) gives the fleets.
    const powerUnits = Math.min(20_000, Math.floor(1 / Math.pow(1 - random.next(), 1 / 1.3)));
    const drivers = Math.max(1, Math.round(powerUnits * (0.7 + random.next() * 0.8)));
    const addMs = asOf - (30 + random.int(25 * 365)) * DAY_MS;
    const neverFiled = random.chance(0.04);
    const mcs150Ms = Math.max(addMs, asOf - (1 + random.int(4 * 365)) * DAY_MS);
    const ymd = (ms: number) => isoDay(ms).replace(/-/g, "");
    const zip = `${zip3}${String(random.int(100)).padStart(2, "0")}`;
    const street = `${1 + random.int(9999)} ${random.pick(STREETS)}`;
    const phone = `${area}${2 + random.int(8)}${String(random.int(1_000_000)).padStart(6, "0")}`;
    const operation = random.next();

    const row: Row = {
      DOT_NUMBER: String(usdot),
      LEGAL_NAME: legal,
      DBA_NAME: dba,
      CARRIER_OPERATION: operation < 0.7 ? "A" : operation < 0.95 ? "C" : "B",
      HM_FLAG: random.chance(0.05) ? "Y" : "N",
      PC_FLAG: random.chance(0.03) ? "Y" : "N",
      PHY_STREET: street,
      PHY_CITY: city,
      PHY_STATE: state,
      PHY_ZIP: zip,
      PHY_COUNTRY: "US",
      MAILING_STREET: random.chance(0.8) ? street : `PO BOX ${1 + random.int(9999)}`,
      MAILING_CITY: city,
      MAILING_STATE: state,
      MAILING_ZIP: zip,
      MAILING_COUNTRY: "US",
      TELEPHONE: phone,
      FAX: random.chance(0.2) ? `${area}${2 + random.int(8)}${String(random.int(1_000_000)).padStart(6, "0")}` : "",
      MCS150_DATE: neverFiled ? "" : ymd(mcs150Ms),
      MCS150_MILEAGE: neverFiled ? "" : String(Math.round(powerUnits * (30_000 + random.int(90_000)))),
      MCS150_MILEAGE_YEAR: neverFiled ? "" : String(new Date(mcs150Ms).getUTCFullYear() - 1),
      ADD_DATE: ymd(addMs),
      OIC_STATE: state,
      NBR_POWER_UNIT: String(powerUnits),
      DRIVER_TOTAL: String(drivers),
    };
    if (neverFiled) summary.neverFiled++;

    if (random.chance(0.15)) summary.noEmail++;
    else {
      summary.withEmail++;
      let email: string;
      let category: DomainCategory;
      let hosting: Hosting | null = null;
      if (recent.length > 0 && random.chance(0.04)) {
        const shared = random.pick(recent);
        ({ email, category, hosting } = shared);
        summary.sharedAddresses++;
      } else {
        category = CATEGORIES.draw(random);
        const person = `${first[0]}${surname}`.toLowerCase();
        let domain: string;
        let local: string;
        if (category === "custom") {
          domain = `${customDomainName(brand, first, suffix, city, state, random)}.${TLDS.draw(random)}`;
          local = random.chance(0.6) ? random.pick(ROLE_LOCALS) : person;
          hosting = hostingOf.get(domain) ?? HOSTING.draw(random);
          if (!zone.has(domain)) {
            hostingOf.set(domain, hosting);
            zone.set(domain, hostedZone(domain, hosting, random));
          }
        } else {
          domain = category === "consumer" ? CONSUMER.draw(random) : DEAD.draw(random);
          const base = random.chance(0.5) ? person : slug(brand);
          local = random.chance(0.5) ? `${base}${random.int(100)}` : base;
          if (!zone.has(domain)) {
            const rcode = DEAD_RCODE.get(domain);
            zone.set(domain, category === "consumer" ? { mx: CONSUMER_MX.get(domain)! } : rcode ? { rcode } : null);
          }
        }
        email = `${local}@${domain}`;
        const entry = { email, category, hosting };
        if (recent.length < 1000) recent.push(entry);
        else recent[random.int(1000)] = entry;
      }
      summary.byCategory[category]++;
      if (hosting !== null) summary.byHosting[hosting]!++;
      // The census writes addresses as carriers typed them, sometimes in capitals.
      row.EMAIL_ADDRESS = random.chance(0.1) ? email.toUpperCase() : email;
    }

    if (invalidRate > 0 && random.chance(invalidRate)) {
      summary.invalid++;
      switch (random.int(5)) {
        case 0:
          row.DOT_NUMBER = `0${row.DOT_NUMBER}`;
          break;
        case 1:
          row.LEGAL_NAME = "";
          break;
        case 2:
          row.MCS150_DATE = `${asOfDay.slice(0, 4)}1345`;
          break;
        case 3:
          row.NBR_POWER_UNIT = `-${powerUnits}`;
          break;
        default:
          row.CARRIER_OPERATION = "Z";
      }
    }

    buffer += options.format === "csv" ? csvLine(row) : `${n === 0 ? "" : ",\n"}${jsonRecord(row)}`;
    if (buffer.length >= 1 << 20) {
      await writeAll(out, buffer);
      buffer = "";
    }
  }
  if (options.format === "json") buffer += "\n]\n";
  await writeAll(out, buffer);
  await endStream(out, isStdout);

  summary.domains = zone.size;
  if (options.zone !== undefined) {
    const file = createWriteStream(options.zone);
    let text = "{";
    let count = 0;
    for (const [domain, entry] of zone) {
      if (entry === null) continue;
      text += `${count === 0 ? "\n" : ",\n"}  ${JSON.stringify(domain)}: ${JSON.stringify(entry)}`;
      count++;
      if (text.length >= 1 << 20) {
        await writeAll(file, text);
        text = "";
      }
    }
    await writeAll(file, `${text}\n}\n`);
    await endStream(file, false);
    summary.zoneEntries = count;
  }
  summary.ms = Math.round(performance.now() - started);
  return summary;
}
