import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  CATALOG,
  CMS_APPLICATION_FEE,
  IFTA_FEES,
  INTRASTATE_AUTHORITY_FEES,
  UCR_FEE_SCHEDULE,
  type ServiceDefinition,
} from "../../domain/catalog";

/**
 * "A check in the test suite fails when a price or interval appears anywhere outside the
 * catalog" (commerce issue, item 1). The old system's prices drifted in emails, page metadata
 * and a build script ($299 vs $79/mo for OIG/SAM, $699 vs $899 for the bundle) because each
 * surface wrote its own copy. Here the catalog (domain/catalog/) is the only place a price or a
 * billing interval is written; every other source file reads it from there.
 *
 * Scanned: workers/, queues/, durable-objects/, db/, web/, migrations/, domain/ except
 * domain/catalog/, scripts/ except fixtures. Not scanned: test/ (tests assert the catalog's
 * facts) and docs/.
 *
 * What counts, for every amount in the catalog (service prices and government fees) of at
 * least MIN_SCANNED_CENTS (smaller figures such as "$4" collide with regex back-references and
 * ordinary numbers):
 *   dollars    "$79", "$ 79", "$79.00", "$4,592", "$4592"  (not "$790", "$79.50", "$79,000")
 *   decimal    "79.00"
 *   cents      7900, 7_900, 89,900 on a line that also speaks of money (price, amount, cents,
 *              fee, surcharge, subtotal, unit_amount, usd, dollar), so a port, a timeout or
 *              an SMTP code is never mistaken for a price
 *   times-100  "79 * 100"
 * and for intervals, whatever the amount:
 *   "$79/mo", "$5 per month", "$899 a year", "${…}/mo", "{price} per year", "79/month" on a
 *   money line; `billingInterval: "month"` and Stripe `recurring: { interval: "year" }`.
 *
 * A line that really must carry such a figure says why: `catalog-price-ok: <reason>`.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SCANNED_DIRS = ["workers", "queues", "durable-objects", "db", "web", "migrations", "domain", "scripts"];
const EXCLUDED = [
  /^domain\/catalog\//,
  /(^|\/)fixtures?\//,
  /(^|\/)node_modules\//,
  /(^|\/)\.wrangler\//,
  /(^|\/)\.data\//,
];
const EXTENSIONS = /\.(?:ts|tsx|mts|cts|js|jsx|mjs|cjs|html?|css|sql|json|txt|svg|eml)$/i;
const MIN_SCANNED_CENTS = 2_000;
const ALLOW = /catalog-price-ok:\s*\S/;

interface Violation {
  file: string;
  line: number;
  rule: "dollars" | "decimal" | "cents" | "times-100" | "interval";
  match: string;
}

/** Every money figure the catalog holds, with what it is. */
function catalogAmounts(catalog: readonly ServiceDefinition[] = CATALOG): { cents: number; what: string }[] {
  const amounts: { cents: number; what: string }[] = [];
  for (const s of catalog) {
    amounts.push({ cents: s.priceCents, what: `${s.slug} price` });
    if (s.governmentFee.kind === "fixed")
      amounts.push({ cents: s.governmentFee.cents, what: `${s.slug} government fee` });
  }
  for (const [year, schedule] of Object.entries(UCR_FEE_SCHEDULE.years)) {
    for (const [bracket, cents] of Object.entries(schedule.feesCents))
      amounts.push({ cents, what: `UCR ${year} ${bracket}` });
  }
  for (const [state, f] of Object.entries(IFTA_FEES)) {
    if (f)
      amounts.push(
        { cents: f.decalSetCents, what: `IFTA ${state} decals` },
        { cents: f.licenseCents, what: `IFTA ${state} license` },
      );
  }
  for (const [state, f] of Object.entries(INTRASTATE_AUTHORITY_FEES)) {
    if (f)
      amounts.push(
        { cents: f.newCents, what: `${state} intrastate new` },
        { cents: f.renewalCents, what: `${state} intrastate renewal` },
      );
  }
  for (const [year, f] of Object.entries(CMS_APPLICATION_FEE.years))
    amounts.push({ cents: f.cents, what: `CMS application fee ${year}` });
  return amounts.filter((a) => a.cents >= MIN_SCANNED_CENTS);
}

const MONEY_WORDS = /price|amount|cents|fee(?!d)|surcharge|subtotal|unit_?amount|\busd\b|dollar/i;
const INTERVAL_WORDS = String.raw`(?:mo|mos|month|months|yr|yrs|year|years|annum)\b`;
const INTERVAL_JOIN = String.raw`\s*(?:\/\s*|per\s+|an?\s+|every\s+|each\s+)`;

/** 4592 → "4,?592": the digits of a whole number with an optional thousands separator. */
function grouped(n: number, separator: string): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, `${separator}?`);
}

function buildScanner(amounts: readonly { cents: number }[]) {
  const cents = [...new Set(amounts.map((a) => a.cents))];
  const dollarForms = [
    ...new Set(
      cents.map((c) =>
        c % 100 === 0
          ? `${grouped(c / 100, ",")}(?:\\.00)?`
          : `${grouped(Math.trunc(c / 100), ",")}\\.${String(c % 100).padStart(2, "0")}`,
      ),
    ),
  ];
  const decimalForms = [
    ...new Set(cents.map((c) => `${grouped(Math.trunc(c / 100), ",")}\\.${String(c % 100).padStart(2, "0")}`)),
  ];
  const wholeDollars = [...new Set(cents.filter((c) => c % 100 === 0).map((c) => String(c / 100)))];
  const centsForms = cents.map((c) => grouped(c, "[_,]"));
  const alt = (forms: readonly string[]) => `(?:${[...forms].sort((a, b) => b.length - a.length).join("|")})`;
  const end = String.raw`(?![\d]|[.,]\d)`;

  const rules: { rule: Violation["rule"]; pattern: RegExp; moneyLineOnly?: boolean }[] = [
    { rule: "dollars", pattern: new RegExp(String.raw`\$\s?${alt(dollarForms)}${end}`, "g") },
    { rule: "decimal", pattern: new RegExp(String.raw`(?<![\d.,$\w])${alt(decimalForms)}${end}`, "g") },
    {
      rule: "cents",
      pattern: new RegExp(String.raw`(?<![\w.#$-])${alt(centsForms)}(?![\w.]|,\d)`, "g"),
      moneyLineOnly: true,
    },
    { rule: "times-100", pattern: new RegExp(String.raw`(?<![\w.])${alt(wholeDollars)}\s*\*\s*100(?![\d.])`, "g") },
    // Any dollar amount, or an interpolated expression, followed by an interval.
    {
      rule: "interval",
      pattern: new RegExp(String.raw`(?:\$\s?\d[\d,]*(?:\.\d{2})?|\})${INTERVAL_JOIN}${INTERVAL_WORDS}`, "gi"),
    },
    // A bare catalog amount followed by an interval, on a line about money.
    {
      rule: "interval",
      pattern: new RegExp(String.raw`(?<![\w.$])${alt(wholeDollars)}${INTERVAL_JOIN}${INTERVAL_WORDS}`, "gi"),
      moneyLineOnly: true,
    },
    // A billing interval written down instead of read from the catalog.
    { rule: "interval", pattern: /\bbilling_?interval\s*[:=]\s*["'`](?:month|year)["'`]/gi },
    { rule: "interval", pattern: /\brecurring\s*:\s*\{\s*interval\s*:\s*["'`](?:month|year|week|day)["'`]/gi },
  ];

  return function scan(text: string, file: string): Violation[] {
    const found: Violation[] = [];
    text.split(/\r?\n/).forEach((line, i) => {
      if (ALLOW.test(line)) return;
      const moneyLine = MONEY_WORDS.test(line);
      for (const { rule, pattern, moneyLineOnly } of rules) {
        if (moneyLineOnly && !moneyLine) continue;
        for (const m of line.matchAll(pattern)) found.push({ file, line: i + 1, rule, match: m[0].trim() });
      }
    });
    return found;
  };
}

function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of entries) {
      const full = join(dir, name);
      const rel = relative(ROOT, full).split(sep).join("/");
      if (EXCLUDED.some((re) => re.test(`${rel}/`) || re.test(rel))) continue;
      const stat = statSync(full);
      if (stat.isDirectory()) walk(full);
      else if (EXTENSIONS.test(name)) files.push(rel);
    }
  };
  for (const dir of SCANNED_DIRS) walk(join(ROOT, dir));
  return files.sort();
}

const scan = buildScanner(catalogAmounts());

describe("prices and intervals live only in the catalog", () => {
  it("no source file outside domain/catalog/ writes a catalog price or a billing interval", () => {
    const files = sourceFiles();
    expect(files.length).toBeGreaterThan(20); // the walk found the repository
    const violations = files.flatMap((file) => scan(readFileSync(join(ROOT, file), "utf8"), file));
    const report = violations.map((v) => `${v.file}:${v.line}: ${v.rule}: ${v.match}`);
    expect(
      report,
      "read prices and intervals from domain/catalog (or mark the line catalog-price-ok: <reason>)",
    ).toEqual([]);
  });

  it("scans the directories the rule covers and skips the catalog, tests and fixtures", () => {
    const files = sourceFiles();
    expect(files.some((f) => f.startsWith("domain/catalog/"))).toBe(false);
    expect(files.some((f) => f.startsWith("test/"))).toBe(false);
    expect(files.some((f) => /(^|\/)fixtures?\//.test(f))).toBe(false);
    expect(files.some((f) => f.startsWith("workers/"))).toBe(true);
    expect(files.some((f) => f.startsWith("domain/"))).toBe(true);
  });

  it("knows the catalog's figures", () => {
    const amounts = catalogAmounts().map((a) => a.cents);
    expect(amounts).toEqual(expect.arrayContaining([7900, 89900, 4600, 4483600, 5416500, 2500]));
    expect(amounts.every((c) => c >= MIN_SCANNED_CENTS)).toBe(true);
  });
});

describe("the scanner", () => {
  const rulesOf = (text: string) => scan(text, "planted.ts").map((v) => v.rule);

  it("finds planted violations, with file and line", () => {
    const planted = [
      "export const hero = `Only $79/mo`;", // 1
      "  unit_amount: 7900,", // 2
      "const amountCents = 89_900;", // 3
      "<p>The bundle is $899.00 a year.</p>", // 4
      'const label = "79.00";', // 5
      "const ucrFee = 46 * 100;", // 6
      'recurring: { interval: "month" },', // 7
      'const row = { billingInterval: "year" };', // 8
      "`${formatCents(s.priceCents)}/mo`", // 9
      "<td>$4,592</td>", // 10
      "<span>{price} per month</span>", // 11
      "<li>SC fee: $25 at cost</li>", // 12
    ].join("\n");
    const found = scan(planted, "web/pages/landing.tsx");
    const lines = [...new Set(found.map((v) => v.line))];
    expect(lines).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(found[0]).toMatchObject({ file: "web/pages/landing.tsx", line: 1, rule: "dollars", match: "$79" });
    expect(found.filter((v) => v.line === 1).map((v) => v.rule)).toEqual(["dollars", "interval"]);
    expect(found.find((v) => v.line === 2)).toMatchObject({ rule: "cents", match: "7900" });
    expect(found.find((v) => v.line === 6)).toMatchObject({ rule: "times-100" });
  });

  it("does not flag unrelated numbers", () => {
    const clean = [
      'return c.json({ error: "payload too large" }, 413);',
      'if (reply.code === 550) return "550 5.7.1 rejected for policy reasons";',
      "const ports = { postgres: 5432, wrangler: 8787, smtp: 2525 };",
      "const timeoutMs = 7900;",
      "const total = 89900; // rows",
      "const priceCents = service.priceCents;",
      'const s = "$790 or $79.50 or $79,000 or $7,900";',
      "color: #7900ff;",
      "version 1.7900",
      "amountCents: 7901,",
      "reminders: 10 per day, then 1 per week",
      "const label = `${priceLabel(service)}`;",
      'text.replace(/(\\d)/g, "$1");',
      "const fee = 46 * 1000;",
    ].join("\n");
    expect(scan(clean, "workers/x.ts")).toEqual([]);
  });

  it("respects a line that says why it carries a figure", () => {
    expect(rulesOf("  amount_total: 7900, // catalog-price-ok: Stripe event fixture mirrors the API")).toEqual([]);
    expect(rulesOf("  amount_total: 7900, // catalog-price-ok:")).toEqual(["cents"]);
  });
});
