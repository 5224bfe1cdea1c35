import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { computeDeficiencies, prospectFields } from "../../domain/outreach/deficiencies";
import { normaliseCensusEmail, parseCensusRow } from "../../domain/outreach/fmcsa-census-row";
import { importFmcsa } from "../../scripts/cli/import-fmcsa";
import { pgQuery, runDocket, scratchDatabase } from "./cli-database";

/**
 * `docket import fmcsa FILE`: census records parsed (CSV with the export's headers, the open-data
 * API's JSON as an array or NDJSON), bad rows reported by line and skipped, and the rest upserted
 * into a real Postgres (a clone of the migrated template): idempotent, refreshing public fields,
 * never resetting what people and the sender recorded.
 */

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/fmcsa/${name}`, import.meta.url));
const CSV = fixture("census-sample.csv");
const JSON_ARRAY = fixture("census-open-data.json");
const NDJSON = fixture("census-open-data.ndjson");
const TODAY = new Date("2026-11-01T15:00:00Z");

let database: Awaited<ReturnType<typeof scratchDatabase>> | undefined;
let url = "";
let scratch = "";

const query = <T extends pg.QueryResultRow>(text: string, params: unknown[] = [], on = url) =>
  pgQuery<T>(on, text, params);

const docket = (args: string[], env: NodeJS.ProcessEnv = { DATABASE_URL: url }) => runDocket(args, env);

async function load(file: string, format?: "csv" | "json") {
  const log: string[] = [];
  const summary = await importFmcsa({
    file,
    env: { DATABASE_URL: url },
    today: TODAY,
    ...(format ? { format } : {}),
    log: (l) => log.push(l),
  });
  return { summary, log };
}

const tableCounts = async () =>
  (
    await query<{ carriers: number; prospects: number; addresses: number; domains: number }>(
      `select (select count(*)::int from fmcsa_carriers) as carriers, (select count(*)::int from prospects) as prospects,
              (select count(*)::int from email_addresses) as addresses, (select count(*)::int from mail_domains) as domains`,
    )
  )[0]!;

const resetTables = () => query("truncate fmcsa_carriers, prospects, email_addresses, mail_domains cascade");

beforeAll(async () => {
  database = await scratchDatabase(inject("pg").adminUrl, "fmcsa");
  url = database.url;
  scratch = await mkdtemp(join(tmpdir(), "docket-fmcsa-"));
});

afterAll(async () => {
  await database?.drop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("parseCensusRow", () => {
  it("reads the export's upper-case columns into typed carrier fields", () => {
    const row = parseCensusRow({
      DOT_NUMBER: " 1234563 ",
      LEGAL_NAME: "RODRIGUEZ  TRUCKING LLC",
      CARRIER_OPERATION: "a",
      HM_FLAG: "Y",
      PC_FLAG: "N",
      PHY_STATE: "tx",
      EMAIL_ADDRESS: " Dispatch@Rodriguez-Trucking.COM ",
      MCS150_DATE: "20250115",
      MCS150_MILEAGE: "120000",
      MCS150_MILEAGE_YEAR: "2024",
      ADD_DATE: "00000000",
      NBR_POWER_UNIT: "3",
      DRIVER_TOTAL: "",
    });
    expect(row).toEqual({
      ok: true,
      carrier: expect.objectContaining({
        usdotNumber: "1234563",
        legalName: "RODRIGUEZ TRUCKING LLC",
        dbaName: null,
        carrierOperation: "A",
        hazmatFlag: true,
        passengerFlag: false,
        phyState: "TX",
        emailAddress: "Dispatch@Rodriguez-Trucking.COM",
        mcs150Date: "2025-01-15",
        mcs150Mileage: 120000,
        mcs150MileageYear: 2024,
        addDate: null,
        powerUnits: 3,
        drivers: null,
      }),
      email: { address: "dispatch@rodriguez-trucking.com", domain: "rodriguez-trucking.com" },
      emailProblem: null,
    });
  });

  it("reads the open-data API's lower-case names, ISO timestamps and plain numbers", () => {
    const row = parseCensusRow({
      dot_number: 3500004,
      legal_name: "JOHN SMITH",
      mcs150_date: "2024-03-05T00:00:00.000",
      add_date: "2020-01-02",
      nbr_power_unit: "2.0",
      hm_flag: false,
    });
    expect(row.ok && row.carrier).toMatchObject({
      usdotNumber: "3500004",
      mcs150Date: "2024-03-05",
      addDate: "2020-01-02",
      powerUnits: 2,
      hazmatFlag: false,
    });
  });

  it("gives every reason a record is not a carrier", () => {
    expect(
      parseCensusRow({ DOT_NUMBER: "0123", LEGAL_NAME: " ", MCS150_DATE: "20230229", NBR_POWER_UNIT: "-1" }),
    ).toEqual({
      ok: false,
      reasons: [
        'DOT_NUMBER "0123" is not a USDOT number (1 to 8 digits)',
        "LEGAL_NAME is missing",
        'MCS150_DATE "20230229" is not a date (YYYYMMDD)',
        'NBR_POWER_UNIT "-1" is not a whole number',
      ],
    });
    expect(parseCensusRow({ LEGAL_NAME: "X", CARRIER_OPERATION: "Q", HM_FLAG: "maybe", PHY_CITY: {} })).toEqual({
      ok: false,
      reasons: [
        "DOT_NUMBER is missing",
        'CARRIER_OPERATION "Q" is not A, B or C',
        'HM_FLAG "maybe" is not Y or N',
        "PHY_CITY is not a text value",
      ],
    });
    expect(parseCensusRow({ DOT_NUMBER: "1", LEGAL_NAME: "X", NBR_POWER_UNIT: "3000000000" })).toEqual({
      ok: false,
      reasons: ['NBR_POWER_UNIT "3000000000" is too large'],
    });
  });

  it("keeps a carrier with an unusable address, without a prospect address", () => {
    const row = parseCensusRow({ DOT_NUMBER: "42", LEGAL_NAME: "X LLC", EMAIL_ADDRESS: "x at y dot com" });
    expect(row).toMatchObject({
      ok: true,
      email: null,
      emailProblem: 'EMAIL_ADDRESS "x at y dot com" has no @',
    });
    expect(row.ok && row.carrier.emailAddress).toBe("x at y dot com");
  });

  it("normalises addresses: case, IDNA domains, and refuses what cannot be mailed", () => {
    expect(normaliseCensusEmail("Info@Müller-Spedition.DE")).toEqual({
      ok: true,
      email: { address: "info@xn--mller-spedition-zvb.de", domain: "xn--mller-spedition-zvb.de" },
    });
    expect(normaliseCensusEmail("a.b+c@sub.example.co.uk")).toMatchObject({ ok: true });
    for (const [raw, why] of [
      ["@example.com", "has nothing before the @"],
      ["a..b@example.com", "has a local part we cannot mail"],
      ['"a b"@example.com', "has a local part we cannot mail"],
      ["a@localhost", "has no usable domain"],
      ["a@192.168.1.1", "has no usable domain"],
      ["a@exa mple.com", "has no usable domain"],
      ["a@-bad-.com", "has no usable domain"],
      ["jose@example.com,maria@example.com", "has a local part we cannot mail"],
    ] as const)
      expect(normaliseCensusEmail(raw)).toEqual({ ok: false, reason: `EMAIL_ADDRESS ${JSON.stringify(raw)} ${why}` });
  });
});

describe("deficiencies (49 CFR 390.19(b))", () => {
  // 1234563: last digit 3 = March, next-to-last 6 even = even years. Filed 2025-01-15: due 2026-03-31.
  const overdueCarrier = { usdotNumber: "1234563", mcs150Date: "2025-01-15" };

  it("flags an MCS-150 whose due date has passed, not one still current or due today", () => {
    expect(computeDeficiencies(overdueCarrier, new Date("2026-03-31T23:59:59Z"))).toEqual([]);
    expect(computeDeficiencies(overdueCarrier, new Date("2026-04-01T00:00:00Z"))).toEqual(["mcs150_overdue"]);
    // 2000018: August of odd years. Filed 2025-09-01 (after August 2025 began): due 2027-08-31.
    expect(computeDeficiencies({ usdotNumber: "2000018", mcs150Date: "2025-09-01" }, TODAY)).toEqual([]);
    expect(computeDeficiencies({ usdotNumber: "2000018", mcs150Date: "2025-09-01" }, new Date("2027-09-01"))).toEqual([
      "mcs150_overdue",
    ]);
  });

  it("flags a carrier that never filed, and only that", () => {
    expect(computeDeficiencies({ usdotNumber: "3500004", mcs150Date: null }, TODAY)).toEqual(["mcs150_never_filed"]);
  });

  it("gives templates the public fields, the DBA as the display name", () => {
    expect(
      prospectFields({
        usdotNumber: "1234563",
        legalName: "JOHN SMITH",
        dbaName: "SMITH HAULING",
        phyCity: "OMAHA",
        phyState: "NE",
        powerUnits: 2,
        drivers: null,
        mcs150Date: "2025-01-15",
      }),
    ).toEqual({
      legal_name: "JOHN SMITH",
      dba_name: "SMITH HAULING",
      display_name: "SMITH HAULING",
      city: "OMAHA",
      state: "NE",
      usdot_number: "1234563",
      power_units: 2,
      drivers: null,
      mcs150_date: "2025-01-15",
      mcs150_due_date: "2026-03-31",
    });
  });
});

describe("docket import fmcsa", () => {
  it("loads a CSV, reporting skipped rows by line, and computes deficiencies", async () => {
    await resetTables();
    const first = await load(CSV);
    expect(first.log).toEqual([
      'line 5: DOT_NUMBER "12AB" is not a USDOT number (1 to 8 digits)',
      'line 6: LEGAL_NAME is missing; MCS150_DATE "20231345" is not a date (YYYYMMDD)',
      'line 7: loaded without a prospect: EMAIL_ADDRESS "not-an-email" has no @',
      "line 9: has 4 fields, the header has 26",
      'line 14: NBR_POWER_UNIT "-5" is not a whole number',
    ]);
    expect(first.summary).toMatchObject({
      format: "csv",
      rows: 12,
      skipped: 4,
      duplicates: 0,
      carriersUpserted: 8,
      carriersInserted: 8,
      carriersUpdated: 0,
      prospectsInserted: 6,
      prospectsUpdated: 0,
      prospectsUnchanged: 0,
      noEmail: 1,
      badEmail: 1,
    });
    expect(await tableCounts()).toEqual({ carriers: 8, prospects: 6, addresses: 5, domains: 5 });

    const prospects = await query<{ source_key: string; email: string; domain: string; deficiencies: string[] }>(
      "select source_key, email, domain, deficiencies from prospects order by source_key",
    );
    expect(prospects).toEqual([
      {
        source_key: "1234563",
        email: "dispatch@rodriguez-trucking.com",
        domain: "rodriguez-trucking.com",
        deficiencies: ["mcs150_overdue"],
      },
      { source_key: "2000018", email: "owner@gmail.com", domain: "gmail.com", deficiencies: [] },
      { source_key: "3500004", email: "jsmith@yahoo.com", domain: "yahoo.com", deficiencies: ["mcs150_never_filed"] },
      { source_key: "4400005", email: "info@obrien-haulers.com", domain: "obrien-haulers.com", deficiencies: [] },
      // Another USDOT number sharing the first one's mailbox; filed 2024-02-01, due 2025-06-30 (June, odd years).
      {
        source_key: "5500016",
        email: "dispatch@rodriguez-trucking.com",
        domain: "rodriguez-trucking.com",
        deficiencies: ["mcs150_overdue"],
      },
      {
        source_key: "6600027",
        email: "info@xn--mller-spedition-zvb.de",
        domain: "xn--mller-spedition-zvb.de",
        // July of even years: filed 2025-05-20, due 2026-07-31.
        deficiencies: ["mcs150_overdue"],
      },
    ]);
    const [obrien] = await query<{ legal_name: string; dba_name: string; phy_state: string }>(
      "select legal_name, dba_name, phy_state from fmcsa_carriers where usdot_number = '4400005'",
    );
    expect(obrien).toEqual({ legal_name: `O'BRIEN, "BIG" HAULERS LLC`, dba_name: "O'BRIEN HAULERS", phy_state: "MA" });
    const [blueRidge] = await query<{ fields: Record<string, unknown>; hm_flag: boolean; mcs150_date: string }>(
      `select p.fields, c.hm_flag, to_char(c.mcs150_date, 'YYYY-MM-DD') as mcs150_date
       from prospects p join fmcsa_carriers c on c.usdot_number = p.source_key where p.source_key = '2000018'`,
    );
    expect(blueRidge).toEqual({
      fields: {
        legal_name: "BLUE RIDGE FREIGHT INC",
        dba_name: "BLUE RIDGE",
        display_name: "BLUE RIDGE",
        city: "ROANOKE",
        state: "VA",
        usdot_number: "2000018",
        power_units: 1,
        drivers: 1,
        mcs150_date: "2025-09-01",
        mcs150_due_date: "2027-08-31",
      },
      hm_flag: true,
      mcs150_date: "2025-09-01",
    });
    // The carrier without a usable address is still there for order enrichment, as the census wrote it.
    const [noAt] = await query<{ email_address: string }>(
      "select email_address from fmcsa_carriers where usdot_number = '4100002'",
    );
    expect(noAt).toEqual({ email_address: "not-an-email" });
  });

  it("changes nothing on a second import, and never resets verification, flags or send history", async () => {
    await resetTables();
    await load(CSV);
    await query("update email_addresses set verification_result = 'smtp_valid' where address = 'owner@gmail.com'");
    await query(
      `update prospects set flags = '{do_not_contact}', send_count = 3, last_sent_at = '2026-10-01T00:00:00Z',
         excluded_by = 'consumer-mailboxes' where source_key = '2000018'`,
    );
    const snapshot = () =>
      query(
        `select p.*, a.verification_result from prospects p join email_addresses a on a.address = p.email
         order by p.source_key`,
      );
    const before = await snapshot();
    const counts = await tableCounts();

    const second = await docket(["import", "fmcsa", CSV]);
    expect(second.status).toBe(0);
    expect(JSON.parse(second.out[0]!)).toMatchObject({
      rows: 12,
      skipped: 4,
      carriersInserted: 0,
      carriersUpdated: 8,
      prospectsInserted: 0,
      prospectsUpdated: 0,
      prospectsUnchanged: 6,
    });
    expect(second.err[0]).toBe('import fmcsa: line 5: DOT_NUMBER "12AB" is not a USDOT number (1 to 8 digits)');
    expect(await tableCounts()).toEqual(counts);
    expect(await snapshot()).toEqual(before);
    expect(before.find((p) => p.source_key === "2000018")).toMatchObject({
      flags: ["do_not_contact"],
      send_count: 3,
      excluded_by: "consumer-mailboxes",
      verification_result: "smtp_valid",
    });
  });

  it("refreshes public fields when the census changes, keeping people's and the sender's columns", async () => {
    await resetTables();
    await load(CSV);
    await query("update email_addresses set verification_result = 'smtp_valid' where address = 'owner@gmail.com'");
    await query("update prospects set flags = '{vip}', send_count = 2 where source_key in ('2000018', '1234563')");
    const text = await readFile(CSV, "utf8");
    const changed = join(scratch, "changed.csv");
    await writeFile(
      changed,
      text
        .replace("BLUE RIDGE FREIGHT INC,BLUE RIDGE", "BLUE RIDGE FREIGHT LLC,BLUE RIDGE")
        // A new mailbox, and a filing that makes the carrier current again.
        .replace("Dispatch@Rodriguez-Trucking.COM,20250115", "office@rodriguez-trucking.com,20261015"),
    );
    const { summary } = await load(changed);
    expect(summary).toMatchObject({ carriersInserted: 0, prospectsInserted: 0, prospectsUpdated: 2 });
    const rows = await query<{ source_key: string; email: string; flags: string[]; send_count: number }>(
      `select source_key, email, fields->>'legal_name' as legal_name, deficiencies, flags, send_count
       from prospects where source_key in ('2000018', '1234563') order by source_key`,
    );
    expect(rows).toEqual([
      {
        source_key: "1234563",
        email: "office@rodriguez-trucking.com",
        legal_name: "RODRIGUEZ TRUCKING LLC",
        deficiencies: [],
        flags: ["vip"],
        send_count: 2,
      },
      {
        source_key: "2000018",
        email: "owner@gmail.com",
        legal_name: "BLUE RIDGE FREIGHT LLC",
        deficiencies: [],
        flags: ["vip"],
        send_count: 2,
      },
    ]);
    const [carrier] = await query("select legal_name from fmcsa_carriers where usdot_number = '2000018'");
    expect(carrier).toEqual({ legal_name: "BLUE RIDGE FREIGHT LLC" });
    const addresses = await query<{ address: string; verification_result: string }>(
      "select address, verification_result::text from email_addresses order by address",
    );
    // The new address is added; the old one and the verified one keep their rows.
    expect(addresses).toContainEqual({ address: "office@rodriguez-trucking.com", verification_result: "unknown" });
    expect(addresses).toContainEqual({ address: "dispatch@rodriguez-trucking.com", verification_result: "unknown" });
    expect(addresses).toContainEqual({ address: "owner@gmail.com", verification_result: "smtp_valid" });
  });

  it("loads the open-data JSON as an array or NDJSON, reporting records by line", async () => {
    await resetTables();
    const array = await load(JSON_ARRAY);
    expect(array.log).toEqual([
      'line 18 (record 3): DOT_NUMBER "0077" is not a USDOT number (1 to 8 digits)',
      "line 19 (record 4): is not a JSON object (one census record)",
      'line 21 (record 6): MCS150_DATE "2024-02-30T00:00:00.000" is not a date (YYYYMMDD)',
    ]);
    expect(array.summary).toMatchObject({
      format: "json",
      rows: 6,
      skipped: 3,
      carriersInserted: 3,
      prospectsInserted: 3,
    });
    const deficiencies = await query<{ source_key: string; deficiencies: string[] }>(
      "select source_key, deficiencies from prospects order by source_key",
    );
    expect(deficiencies).toEqual([
      { source_key: "1234563", deficiencies: ["mcs150_overdue"] },
      { source_key: "2000018", deficiencies: [] },
      { source_key: "3500004", deficiencies: ["mcs150_never_filed"] },
    ]);

    const ndjson = await load(NDJSON);
    expect(ndjson.log).toEqual([
      expect.stringMatching(/^line 4: not JSON: /),
      'line 5: CARRIER_OPERATION "Q" is not A, B or C',
    ]);
    expect(ndjson.summary).toMatchObject({ rows: 4, skipped: 2, carriersInserted: 0, carriersUpdated: 2 });
    // The same records in either form are the same prospects.
    expect(ndjson.summary).toMatchObject({ prospectsInserted: 0 });
  });

  it("refuses a broken file without changing anything", async () => {
    await resetTables();
    await load(CSV);
    const counts = await tableCounts();
    const text = await readFile(CSV, "utf8");

    // Broken quoting after good rows: the rows before it are not loaded either.
    const broken = join(scratch, "broken.csv");
    await writeFile(broken, text.replace("1234563,RODRIGUEZ", "9999991,RODRIGUEZ") + '9999992,"UNCLOSED,A\r\n');
    const quoting = await docket(["import", "fmcsa", broken]);
    expect(quoting.status).toBe(1);
    expect(quoting.err.join("\n")).toMatch(/malformed CSV at line 16: Quote Not Closed/);

    const notCensus = join(scratch, "other.csv");
    await writeFile(notCensus, "NAME,EMAIL\nX,x@y.com\n");
    const header = await docket(["import", "fmcsa", notCensus]);
    expect(header.status).toBe(1);
    expect(header.err.join("\n")).toMatch(/lacks DOT_NUMBER, LEGAL_NAME/);

    const truncated = join(scratch, "truncated.json");
    await writeFile(truncated, (await readFile(JSON_ARRAY, "utf8")).slice(0, 600));
    const cut = await docket(["import", "fmcsa", truncated]);
    expect(cut.status).toBe(1);
    expect(cut.err.join("\n")).toMatch(/not closed/);

    const unknownExt = join(scratch, "census.txt");
    await writeFile(unknownExt, text);
    expect((await docket(["import", "fmcsa", unknownExt])).err.join("\n")).toMatch(/pass --format/);
    expect(await tableCounts()).toEqual(counts);
    expect(await query("select 1 from fmcsa_carriers where usdot_number = '9999991'")).toEqual([]);

    // --format overrides the extension.
    const forced = await docket(["import", "fmcsa", "--format", "csv", unknownExt]);
    expect(forced.status).toBe(0);
  });

  it("needs DATABASE_URL, one FILE, a known format, and a file that exists", async () => {
    expect((await docket(["import", "fmcsa", CSV], {})).err.join("\n")).toMatch(/set DATABASE_URL/);
    expect((await docket(["import", "fmcsa"])).status).toBe(2);
    expect((await docket(["import", "fmcsa", "--format", "xml", CSV])).status).toBe(2);
    expect((await docket(["import", "fmcsa", join(scratch, "missing.csv")])).status).toBe(1);
  });
});
