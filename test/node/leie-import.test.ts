import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LeieFormatError, parseLeieCsv, type LeieItem } from "../../domain/screening/leie-csv";
import { applyMigrations } from "../../scripts/lib/migrations";
import { pgQuery, runDocket } from "./cli-database";

/**
 * `docket import leie FILE`: the LEIE CSV parsed as a stream (skipped rows reported with their
 * line), then loaded into a real Postgres (a database of its own, migrated here): idempotent on
 * a second import, refusing broken files and truncated lists without changing anything.
 */

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/leie/${name}`, import.meta.url));
const SAMPLE = fixture("UPDATED-sample.csv");
const MALFORMED = fixture("UPDATED-malformed.csv");

const database = `docket_leie_${randomBytes(4).toString("hex")}`;
let url = "";
let scratch = "";

const query = <T extends pg.QueryResultRow>(connectionString: string, text: string) =>
  pgQuery<T>(connectionString, text);

const docket = (args: string[], env: NodeJS.ProcessEnv = { DATABASE_URL: url }) => runDocket(args, env);

async function parseFile(path: string): Promise<LeieItem[]> {
  const items: LeieItem[] = [];
  for await (const item of parseLeieCsv(Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>))
    items.push(item);
  return items;
}

const listed = async () =>
  (
    await query<{ n: number }>(
      url,
      "select count(*)::int as n from exclusion_entries where source = 'oig_leie' and removed_at is null",
    )
  )[0]!.n;
const datasets = async () =>
  await query<{ data_as_of: string; entries: number }>(
    url,
    "select to_char(data_as_of, 'YYYY-MM-DD') as data_as_of, entries from exclusion_datasets order by id",
  );

beforeAll(async () => {
  await query(inject("pg").adminUrl, `create database ${database}`);
  const adminUrl = new URL(inject("pg").adminUrl);
  adminUrl.pathname = `/${database}`;
  url = adminUrl.toString();
  await applyMigrations(url);
  scratch = await mkdtemp(join(tmpdir(), "docket-leie-"));
});

afterAll(async () => {
  await query(inject("pg").adminUrl, `drop database if exists ${database} with (force)`);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("parseLeieCsv", () => {
  it("reads every row: exclusions, and skipped rows with their line and reason", async () => {
    const items = await parseFile(SAMPLE);
    const invalid = items.filter((i) => i.kind === "invalid").map((i) => [i.line, i.reason]);
    expect(invalid).toEqual([
      [5, 'EXCLDATE "20231345" is not a date (YYYYMMDD)'],
      [6, "no name: LASTNAME and BUSNAME are both empty"],
      [7, "has 5 fields, the header has 18"],
      [9, 'NPI "12345" is not 10 digits'],
    ]);
    const entries = items.flatMap((i) => (i.kind === "entry" ? [{ line: i.line, ...i.entry }] : []));
    expect(entries.map((e) => e.line)).toEqual([2, 3, 4, 8, 11, 12]);
    const [smith, sunrise, doe, smithAgain, garcia] = entries;
    expect(smith).toMatchObject({
      lastName: "SMITH",
      firstName: "JOHN",
      middleName: "A",
      businessName: null,
      npi: "1234567893",
      exclusionType: "1128a1",
      exclusionDate: "2020-03-19",
      reinstatementDate: null,
      state: "SC",
    });
    expect(smith!.naturalKey).toMatch(/^leie:[0-9a-f]{64}$/);
    // The same row twice is the same record; a different row is another.
    expect(smithAgain!.naturalKey).toBe(smith!.naturalKey);
    expect(new Set(entries.map((e) => e.naturalKey)).size).toBe(5);
    // An NPI of zeros means none.
    expect(sunrise).toMatchObject({ businessName: "#1 SUNRISE HOME HEALTH, L.L.C.", npi: null, lastName: null });
    expect(doe).toMatchObject({ reinstatementDate: "2018-06-01" });
    // Quoted quotes, a line break inside a field, UTF-8 names.
    expect(garcia).toMatchObject({
      lastName: "GARCÍA-LÓPEZ",
      firstName: "JOSÉ",
      address: '12 "OLD" MILL RD\nSUITE 4',
      waiverDate: "2023-01-01",
      waiverState: "GA",
    });
  });

  it("refuses a file with broken quoting or without the LEIE header", async () => {
    await expect(parseFile(MALFORMED)).rejects.toThrow(/malformed CSV at line 4/);
    const notLeie = join(scratch, "other.csv");
    await writeFile(notLeie, "NAME,NPI\nSMITH,1234567893\n");
    await expect(parseFile(notLeie)).rejects.toThrow(LeieFormatError);
    await expect(parseFile(notLeie)).rejects.toThrow(/lacks LASTNAME, FIRSTNAME/);
    const empty = join(scratch, "empty.csv");
    await writeFile(empty, "");
    await expect(parseFile(empty)).rejects.toThrow(/it is empty/);
  });
});

describe("docket import leie", () => {
  it("loads the file, reports skipped rows on stderr, and changes nothing on a second import", async () => {
    const first = await docket(["import", "leie", "--as-of", "2026-11-01", SAMPLE]);
    expect(first.status).toBe(0);
    expect(JSON.parse(first.out[0]!)).toEqual({
      file: SAMPLE,
      source: "oig_leie",
      dataAsOf: "2026-11-01",
      rows: 10,
      invalid: 4,
      entries: 5,
      duplicates: 1,
      inserted: 5,
      updated: 0,
      removed: 0,
    });
    expect(first.err).toEqual([
      `import leie: ${SAMPLE}:5: skipped: EXCLDATE "20231345" is not a date (YYYYMMDD)`,
      `import leie: ${SAMPLE}:6: skipped: no name: LASTNAME and BUSNAME are both empty`,
      `import leie: ${SAMPLE}:7: skipped: has 5 fields, the header has 18`,
      `import leie: ${SAMPLE}:9: skipped: NPI "12345" is not 10 digits`,
    ]);
    const rows = await query<{ last_name_key: string | null; business_name_key: string | null; npi: string | null }>(
      url,
      "select last_name_key, business_name_key, npi from exclusion_entries order by id",
    );
    expect(rows).toEqual([
      { last_name_key: "SMITH", business_name_key: null, npi: "1234567893" },
      { last_name_key: null, business_name_key: "1SUNRISEHOMEHEALTH", npi: null },
      { last_name_key: "DOE", business_name_key: null, npi: null },
      { last_name_key: "GARCIALOPEZ", business_name_key: null, npi: null },
      { last_name_key: "OBRIEN", business_name_key: null, npi: null },
    ]);

    const second = await docket(["import", "leie", "--as-of", "2026-11-01", SAMPLE]);
    expect(second.status).toBe(0);
    expect(JSON.parse(second.out[0]!)).toMatchObject({ entries: 5, inserted: 0, updated: 5, removed: 0 });
    expect(await listed()).toBe(5);
    expect(await datasets()).toEqual([
      { data_as_of: "2026-11-01", entries: 5 },
      { data_as_of: "2026-11-01", entries: 5 },
    ]);
  });

  it("refuses a broken file, a truncated list and a bad date without changing anything", async () => {
    const before = await datasets();
    const broken = await docket(["import", "leie", MALFORMED]);
    expect(broken.status).toBe(1);
    expect(broken.err.join("\n")).toMatch(/malformed CSV at line 4/);

    // One row of five: more likely a cut-off download than four reinstatements.
    const lines = (await readFile(SAMPLE, "utf8")).split("\r\n");
    const short = join(scratch, "short.csv");
    await writeFile(short, `${lines[0]}\r\n${lines[1]}\r\n`);
    const truncated = await docket(["import", "leie", short]);
    expect(truncated.status).toBe(1);
    expect(truncated.err.join("\n")).toMatch(/more likely truncated.*--allow-shrink/);

    const badDate = await docket(["import", "leie", "--as-of", "2026-02-30", SAMPLE]);
    expect(badDate.status).toBe(1);
    expect(badDate.err.join("\n")).toMatch(/--as-of needs a date YYYY-MM-DD/);

    expect(await listed()).toBe(5);
    expect(await datasets()).toEqual(before);

    // Told the list is complete, the entries it no longer lists are removed (reinstated).
    const shrunk = await docket(["import", "leie", "--allow-shrink", "--as-of", "2026-12-01", short]);
    expect(shrunk.status).toBe(0);
    expect(JSON.parse(shrunk.out[0]!)).toMatchObject({ entries: 1, inserted: 0, updated: 1, removed: 4 });
    expect(await listed()).toBe(1);
  });

  it("needs DATABASE_URL, one FILE, and a file that exists", async () => {
    const noUrl = await docket(["import", "leie", SAMPLE], {});
    expect(noUrl.status).toBe(1);
    expect(noUrl.err.join("\n")).toMatch(/set DATABASE_URL/);
    expect((await docket(["import", "leie"])).status).toBe(2);
    expect((await docket(["import", "leie", join(scratch, "missing.csv")])).status).toBe(1);
  });
});
