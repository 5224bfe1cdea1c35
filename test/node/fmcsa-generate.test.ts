import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { operatorForHost } from "../../domain/mail/mail-operators";
import { computeDeficiencies } from "../../domain/outreach/deficiencies";
import { parseCensusRow, type CensusRowResult } from "../../domain/outreach/fmcsa-census-row";
import { CONSUMER_DOMAINS, DEAD_ISP_DOMAINS, generateFmcsa } from "../../scripts/cli/generate-fmcsa";
import { main } from "../../scripts/cli/main";
import { DEFAULT_LISTS_DIR, readExclusionLists } from "../../scripts/cli/scrub";
import { dohZoneSchema } from "../../scripts/lib/doh-resolver";

/**
 * `docket generate fmcsa`: a deterministic synthetic census whose rows the importer's parser
 * accepts, with the domain mix it is designed for and a DNS fixture zone covering its domains.
 */

let dir = "";
const ROWS = 20_000;
const AS_OF = "2026-11-01";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "docket-fmcsa-gen-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const generate = (name: string, seed: string, extra: { format?: "csv" | "json"; invalidRate?: number } = {}) =>
  generateFmcsa({
    rows: ROWS,
    seed,
    format: extra.format ?? "csv",
    out: join(dir, name),
    zone: join(dir, `${name}.zone.json`),
    asOf: AS_OF,
    ...(extra.invalidRate === undefined ? {} : { invalidRate: extra.invalidRate }),
  });

const csvRows = async (file: string) =>
  parse(await readFile(file), { columns: true, bom: true }) as Record<string, string>[];

describe("docket generate fmcsa", () => {
  it("writes the same bytes for the same seed, and other bytes for another", async () => {
    await generate("a.csv", "seed-1");
    await generate("b.csv", "seed-1");
    await generate("c.csv", "seed-2");
    const [a, b, c] = await Promise.all(["a.csv", "b.csv", "c.csv"].map((f) => readFile(join(dir, f))));
    expect(a!.equals(b!)).toBe(true);
    expect(a!.equals(c!)).toBe(false);
    const [za, zb] = await Promise.all(["a.csv", "b.csv"].map((f) => readFile(join(dir, `${f}.zone.json`))));
    expect(za!.equals(zb!)).toBe(true);
  });

  it("writes rows the importer accepts, with the designed mix of domains, filings and addresses", async () => {
    const summary = await generate("mix.csv", "mix");
    const rows = await csvRows(join(dir, "mix.csv"));
    expect(rows).toHaveLength(ROWS);
    const parsed = rows.map((r) => parseCensusRow(r));
    const carriers = parsed.flatMap((p) => (p.ok ? [p] : []));
    expect(carriers).toHaveLength(ROWS);
    expect(carriers.every((c) => c.emailProblem === null)).toBe(true);
    expect(new Set(carriers.map((c) => c.carrier.usdotNumber)).size).toBe(ROWS);

    const consumer = new Set(CONSUMER_DOMAINS.map(([d]) => d));
    const dead = new Set(DEAD_ISP_DOMAINS.map(([d]) => d));
    const withEmail = carriers.filter((c) => c.email !== null) as (CensusRowResult & {
      ok: true;
      email: { domain: string };
    })[];
    const share = (n: number, of: number) => n / of;
    expect(share(ROWS - withEmail.length, ROWS)).toBeCloseTo(0.15, 1);
    const kinds = { consumer: 0, dead: 0, custom: 0 };
    for (const c of withEmail)
      kinds[consumer.has(c.email.domain) ? "consumer" : dead.has(c.email.domain) ? "dead" : "custom"]++;
    expect(kinds).toEqual(summary.byCategory);
    expect(share(kinds.consumer, withEmail.length)).toBeGreaterThan(0.45);
    expect(share(kinds.consumer, withEmail.length)).toBeLessThan(0.6);
    expect(share(kinds.custom, withEmail.length)).toBeGreaterThan(0.36);
    expect(share(kinds.custom, withEmail.length)).toBeLessThan(0.5);
    expect(share(kinds.dead, withEmail.length)).toBeGreaterThan(0.03);
    expect(share(kinds.dead, withEmail.length)).toBeLessThan(0.08);
    // Fleets: some mailboxes serve several USDOT numbers.
    const perAddress = new Map<string, number>();
    for (const c of withEmail) perAddress.set(c.email!.address, (perAddress.get(c.email!.address) ?? 0) + 1);
    expect([...perAddress.values()].filter((n) => n > 1).length).toBeGreaterThan(ROWS * 0.01);
    // Mostly one truck, with a heavy tail.
    const units = carriers.map((c) => c.carrier.powerUnits!).sort((x, y) => x - y);
    expect(units[Math.floor(units.length / 2)]).toBe(1);
    expect(units.at(-1)).toBeGreaterThan(200);
    // Filings over four years: a good share overdue, a few never filed.
    const today = new Date(`${AS_OF}T12:00:00Z`);
    const flags = carriers.map((c) => computeDeficiencies(c.carrier, today));
    const overdue = flags.filter((f) => f.includes("mcs150_overdue")).length / ROWS;
    expect(overdue).toBeGreaterThan(0.25);
    expect(overdue).toBeLessThan(0.75);
    const neverFiled = flags.filter((f) => f.includes("mcs150_never_filed")).length / ROWS;
    expect(neverFiled).toBeCloseTo(0.04, 1);
    expect(carriers.every((c) => c.carrier.mcs150Date === null || c.carrier.mcs150Date < AS_OF)).toBe(true);

    // The zone is one the local resolver loads, and covers every domain that has mail service.
    const zone = dohZoneSchema.parse(JSON.parse(await readFile(join(dir, "mix.csv.zone.json"), "utf8")));
    const customDomains = new Set(withEmail.map((c) => c.email.domain).filter((d) => !consumer.has(d) && !dead.has(d)));
    for (const domain of customDomains) expect(zone[domain], domain).toBeDefined();
    expect(zone["gmail.com"]).toEqual({ mx: expect.arrayContaining([[5, "gmail-smtp-in.l.google.com"]]) });
    for (const domain of dead) {
      const entry = zone[domain];
      expect(entry === undefined || ("rcode" in entry && entry.rcode === "NXDOMAIN"), domain).toBe(true);
    }
    // Hosted custom domains are labelled with the right operators by their MX hosts.
    const operators = new Map<string, number>();
    for (const domain of customDomains) {
      const entry = zone[domain]!;
      if (!("mx" in entry) || entry.mx.length === 0) continue;
      const operator = operatorForHost(entry.mx[0]![1])!;
      const label = operator.startsWith("mx:") ? "other" : operator;
      operators.set(label, (operators.get(label) ?? 0) + 1);
      if (operator === "microsoft")
        expect(entry.mx[0]![1]).toBe(`${domain.replace(/\./g, "-")}.mail.protection.outlook.com`);
    }
    for (const operator of ["google", "microsoft", "yahoo", "godaddy", "rackspace", "proofpoint", "mimecast", "other"])
      expect(operators.get(operator) ?? 0, operator).toBeGreaterThan(0);
    expect(operators.get("google")!).toBeGreaterThan(operators.get("godaddy")!);
    expect(Object.values(zone).some((e) => "rcode" in e && e.rcode === "SERVFAIL")).toBe(true);
  });

  it("makes the asked share of rows invalid, each one the parser rejects", async () => {
    const summary = await generate("invalid.csv", "bad", { invalidRate: 0.05 });
    const rows = await csvRows(join(dir, "invalid.csv"));
    const rejected = rows.map((r) => parseCensusRow(r)).filter((p) => !p.ok).length;
    expect(rejected).toBe(summary.invalid);
    expect(rejected / ROWS).toBeCloseTo(0.05, 1);
  });

  it("writes the open-data JSON form, with the same carriers as the CSV", async () => {
    await generate("same.csv", "form");
    await generate("same.json", "form", { format: "json" });
    const fromCsv = (await csvRows(join(dir, "same.csv"))).map((r) => parseCensusRow(r));
    const records = JSON.parse(await readFile(join(dir, "same.json"), "utf8")) as Record<string, unknown>[];
    expect(Object.keys(records[0]!).every((k) => k === k.toLowerCase())).toBe(true);
    expect(records.some((r) => typeof r.mcs150_date === "string" && r.mcs150_date.endsWith("T00:00:00.000"))).toBe(
      true,
    );
    expect(records.map((r) => parseCensusRow(r))).toEqual(fromCsv);
  });

  it("uses only consumer and dead-ISP domains that the exclusion lists list", async () => {
    const lists = await readExclusionLists(DEFAULT_LISTS_DIR);
    const listed = (name: string) => new Set(lists.get(name)!.map((e) => e.domain));
    for (const [domain] of CONSUMER_DOMAINS) expect(listed("consumer-mailboxes").has(domain), domain).toBe(true);
    for (const [domain] of DEAD_ISP_DOMAINS) expect(listed("dead-isps").has(domain), domain).toBe(true);
  });

  it("runs from the command line, and refuses missing or bad options", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env: {} };
    const file = join(dir, "cli.csv");
    expect(await main(["generate", "fmcsa", "--rows", "5", "--seed", "x", "--as-of", AS_OF, "--out", file], io)).toBe(
      0,
    );
    expect(JSON.parse(out[0]!)).toMatchObject({ rows: 5, format: "csv", asOf: AS_OF });
    expect((await readFile(file, "utf8")).trim().split("\n")).toHaveLength(6);
    expect(await main(["generate", "fmcsa", "--rows", "5"], io)).toBe(2);
    expect(await main(["generate", "fmcsa", "--rows", "-1", "--seed", "x"], io)).toBe(2);
    expect(await main(["generate", "fmcsa", "--rows", "1", "--seed", "x", "--invalid-rate", "2"], io)).toBe(2);
    expect(
      await main(["generate", "fmcsa", "--rows", "1", "--seed", "x", "--as-of", "2026-02-30", "--out", file], io),
    ).toBe(1);
    expect(err.join("\n")).toMatch(/--as-of needs a date/);
  });
});
