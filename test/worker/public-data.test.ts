import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
  countListedExclusionEntries,
  exclusionDatasets,
  ExclusionListShrinkError,
  findCarrier,
  findExclusionCandidates,
  loadExclusionList,
  recordExclusionDataset,
  upsertExclusionEntries,
} from "../../db/public-data";
import { exclusionDatasets as datasetsTable, exclusionEntries, fmcsaCarriers } from "../../db/schema";
import { isValidNpi } from "../../domain/catalog/intake-fields";
import { getService } from "../../domain/catalog/services";
import type { ServiceDefinition } from "../../domain/catalog/service-definition";
import { intakeFromCensus, type CensusCarrier } from "../../domain/enrichment/fmcsa-census";
import {
  businessNameKey,
  lastNameKey,
  matchExclusions,
  parseScreeningIntake,
  ScreeningIntakeError,
  screeningSubjects,
  type ExclusionEntry,
  type ExclusionEntryInput,
  type ScreeningSubject,
} from "../../domain/screening/exclusion-match";
import { certificateKey, runScreening, ScreeningDataMissingError } from "../../workers/orders/run-screening";
import { testEnv, withTestDb } from "../support/db";

/**
 * Public data the order machine reads: census enrichment of trucking intake, the exclusion-list
 * store (idempotent upserts, removal of entries a newer full list drops, the one-query candidate
 * lookup), the matcher's rules, and a screening run writing its certificate to R2.
 */

function service(slug: string): ServiceDefinition {
  const found = getService(slug);
  if (!found) throw new Error(`no service ${slug}`);
  return found;
}

/** A valid NPI from nine digits (the Luhn check digit the intake field demands). */
function npiFrom(prefix: string): string {
  for (let d = 0; d <= 9; d++) if (isValidNpi(`${prefix}${d}`)) return `${prefix}${d}`;
  throw new Error(`no check digit for ${prefix}`);
}

const carrier = (over: Partial<CensusCarrier> = {}): CensusCarrier => ({
  usdotNumber: "1234567",
  legalName: "PALMETTO HAULING LLC",
  dbaName: "PALMETTO FREIGHT",
  carrierOperation: "A",
  physicalAddress: { street: "100 GERVAIS ST", city: "COLUMBIA", state: "sc", zip: "292011234", country: "US" },
  mailingAddress: { street: "PO BOX 9", city: "COLUMBIA", state: "SC", zip: "29202", country: "US" },
  telephone: "8035550142",
  fax: null,
  email: "  Dispatch@Palmetto.Example ",
  mcs150Date: "2024-02-01",
  mcs150Mileage: 120000,
  mcs150MileageYear: 2023,
  addDate: "2015-06-01",
  oicState: "SC",
  powerUnits: 7,
  drivers: 9,
  sourceUpdatedAt: null,
  ...over,
});

describe("census enrichment", () => {
  it("fills a UCR order's census fields and derives the fleet bracket from power units", () => {
    const ucr = service("ucr-registration");
    const intake = intakeFromCensus(ucr, carrier());
    expect(intake).toEqual({
      legalName: "PALMETTO HAULING LLC",
      baseState: "SC",
      powerUnits: 7,
      email: "dispatch@palmetto.example",
      fleetSizeBracket: "6-20",
    });
    expect(ucr.intakeFields.partial().safeParse(intake).success).toBe(true);
    expect(intakeFromCensus(ucr, carrier({ powerUnits: 2 })).fleetSizeBracket).toBe("0-2");
    expect(intakeFromCensus(ucr, carrier({ powerUnits: 1001 })).fleetSizeBracket).toBe("1001+");
    // No power units in the census: neither the count nor a bracket is guessed.
    const unknown = intakeFromCensus(ucr, carrier({ powerUnits: null }));
    expect(unknown).not.toHaveProperty("powerUnits");
    expect(unknown).not.toHaveProperty("fleetSizeBracket");
  });

  it("fills an MCS-150 update's address, phone and counts, and nothing outside its fills", () => {
    const mcs150 = service("mcs150-update");
    const intake = intakeFromCensus(mcs150, carrier());
    expect(intake).toEqual({
      legalName: "PALMETTO HAULING LLC",
      dbaName: "PALMETTO FREIGHT",
      physicalAddress: { street: "100 GERVAIS ST", city: "COLUMBIA", state: "SC", zip: "29201-1234" },
      phone: "(803) 555-0142",
      powerUnits: 7,
      drivers: 9,
    });
    expect(mcs150.intakeFields.partial().safeParse(intake).success).toBe(true);
  });

  it("fills an intrastate order's state of operation from the physical state", () => {
    const intake = intakeFromCensus(service("intrastate-authority"), carrier({ telephone: "1-803-555-0142" }));
    expect(intake).toEqual({
      legalName: "PALMETTO HAULING LLC",
      physicalAddress: { street: "100 GERVAIS ST", city: "COLUMBIA", state: "SC", zip: "29201-1234" },
      phone: "(803) 555-0142",
      state: "SC",
    });
  });

  it("leaves out census values the service's fields would refuse", () => {
    const abroad = carrier({
      legalName: "X".repeat(201),
      physicalAddress: { street: "1 KING ST", city: "TORONTO", state: "ON", zip: "M5H", country: "CA" },
      telephone: "12",
      email: "not an address",
      drivers: -1,
    });
    expect(intakeFromCensus(service("mcs150-update"), abroad)).toEqual({ dbaName: "PALMETTO FREIGHT", powerUnits: 7 });
    expect(intakeFromCensus(service("intrastate-authority"), abroad)).toEqual({});
    // A US address with a malformed ZIP is left out whole, not half-filled.
    const badZip = carrier({
      physicalAddress: { street: "1 MAIN", city: "AIKEN", state: "SC", zip: "2980", country: "US" },
    });
    expect(intakeFromCensus(service("boc-3"), badZip)).not.toHaveProperty("physicalAddress");
  });

  it("gives nothing to a service not enriched from the census", () => {
    expect(intakeFromCensus(service("oig-sam-screening"), carrier())).toEqual({});
  });

  it("reads a census row by USDOT number", async () => {
    await withTestDb(async (db) => {
      await db.insert(fmcsaCarriers).values({
        usdotNumber: "3141592",
        legalName: "LOWCOUNTRY TRANSPORT INC",
        carrierOperation: "C",
        phyStreet: "2 BAY ST",
        phyCity: "CHARLESTON",
        phyState: "SC",
        phyZip: "29401",
        phyCountry: "US",
        telephone: "(843) 555-0100",
        emailAddress: "ops@lowcountry.example",
        mcs150Date: "2025-01-15",
        powerUnits: 22,
        drivers: 25,
      });
      const found = await findCarrier(db, "3141592");
      expect(found).toMatchObject({
        usdotNumber: "3141592",
        legalName: "LOWCOUNTRY TRANSPORT INC",
        carrierOperation: "C",
        mcs150Date: "2025-01-15",
        powerUnits: 22,
        physicalAddress: { street: "2 BAY ST", city: "CHARLESTON", state: "SC", zip: "29401", country: "US" },
      });
      expect(intakeFromCensus(service("ucr-registration"), found!)).toMatchObject({
        baseState: "SC",
        fleetSizeBracket: "21-100",
      });
      expect(await findCarrier(db, "9999999")).toBeUndefined();
      expect(await findCarrier(db, "03141592")).toBeUndefined();
      // The table refuses what FMCSA never issues.
      await expect(db.insert(fmcsaCarriers).values({ usdotNumber: "0123", legalName: "X" })).rejects.toThrow();
    });
  });
});

const entry = (over: Partial<ExclusionEntry> & { naturalKey: string }): ExclusionEntry => ({
  id: 1,
  source: "oig_leie",
  lastName: null,
  firstName: null,
  middleName: null,
  businessName: null,
  npi: null,
  generalCategory: null,
  specialty: null,
  exclusionType: "1128a1",
  exclusionDate: "2020-03-19",
  reinstatementDate: null,
  waiverDate: null,
  waiverState: null,
  address: null,
  city: null,
  state: null,
  zip: null,
  ...over,
});

const staff = (firstName: string, lastName: string, state = "SC", npi?: string): ScreeningSubject => ({
  role: "staff",
  label: `${firstName} ${lastName}`,
  firstName,
  lastName,
  state,
  ...(npi ? { npi } : {}),
});

describe("exclusion matcher", () => {
  const on = new Date("2026-03-05T12:00:00Z");

  it("matches an NPI exactly and says so", () => {
    const smith = entry({ naturalKey: "a", lastName: "SMITH", firstName: "JOHN", npi: "1234567893", state: "SC" });
    const [match, ...rest] = matchExclusions([staff("Alex", "Other", "SC", "1234567893")], [smith], on);
    expect(rest).toEqual([]);
    expect(match?.rule).toBe("npi");
    expect(match?.reason).toBe("NPI 1234567893 matches OIG LEIE entry SMITH, JOHN (1128a1, excluded 2020-03-19, SC)");
  });

  it("matches full names regardless of case, diacritics, punctuation and suffixes", () => {
    const garcia = entry({ naturalKey: "g", lastName: "GARCÍA-LÓPEZ", firstName: "JOSÉ", state: "GA" });
    const obrien = entry({ naturalKey: "o", lastName: "O'BRIEN JR", firstName: "MARY ANN", state: "MA" });
    const matches = matchExclusions(
      [staff("jose", "Garcia Lopez", "SC"), staff("Mary-Ann", "OBrien", "SC"), staff("Maria", "Garcia-Lopez")],
      [garcia, obrien],
      on,
    );
    expect(matches.map((m) => [m.subject.label, m.entry.naturalKey, m.rule])).toEqual([
      ["jose Garcia Lopez", "g", "name"],
      ["Mary-Ann OBrien", "o", "name"],
    ]);
    expect(matches[0]!.reason).toMatch(/^name GARCIA LOPEZ, JOSE matches OIG LEIE entry GARCÍA-LÓPEZ, JOSÉ/);
  });

  it("takes a first initial only when the last name and the state agree", () => {
    const smith = entry({ naturalKey: "s", lastName: "SMITH", firstName: "JOHN", state: "SC" });
    const jInitial = entry({ naturalKey: "j", lastName: "SMITH", firstName: "J", state: "TX" });
    const matches = matchExclusions(
      [
        staff("J.", "Smith", "SC"),
        staff("J", "Smith", "NC"),
        staff("John", "Smith", "SC"),
        staff("Jane", "Smith", "SC"),
      ],
      [smith, jInitial],
      on,
    );
    expect(matches.map((m) => [m.subject.label, m.subject.state, m.entry.naturalKey, m.rule])).toEqual([
      ["J. Smith", "SC", "s", "initial"],
      ["John Smith", "SC", "s", "name"],
    ]);
    expect(matches[0]!.reason).toContain("by first initial, in the same state (SC)");
    // The record's initial against a full first name works the same way, in the record's state.
    expect(matchExclusions([staff("Jake", "Smith", "TX")], [jInitial], on).map((m) => m.rule)).toEqual(["initial"]);
  });

  it("does not treat a reinstated record as an exclusion", () => {
    const reinstated = entry({ naturalKey: "r", lastName: "DOE", firstName: "JANE", reinstatementDate: "2018-06-01" });
    const today = entry({ naturalKey: "t", lastName: "DOE", firstName: "JANE", reinstatementDate: "2026-03-05" });
    const later = entry({ naturalKey: "l", lastName: "DOE", firstName: "JANE", reinstatementDate: "2026-09-01" });
    const matches = matchExclusions([staff("Jane", "Doe")], [reinstated, today, later], on);
    expect(matches.map((m) => m.entry.naturalKey)).toEqual(["l"]);
  });

  it("matches business names without their entity-type words", () => {
    const sunrise = entry({ naturalKey: "b", businessName: "SUNRISE HOME HEALTH, L.L.C.", state: "NY" });
    const provider: ScreeningSubject = {
      role: "provider",
      label: "The Sunrise Home Health, Inc.",
      businessName: "The Sunrise Home Health, Inc.",
    };
    const [match] = matchExclusions([provider], [sunrise], on);
    expect(match?.rule).toBe("business");
    expect(businessNameKey("Smith & Sons, P.C.")).toBe(businessNameKey("SMITH SONS PLLC"));
    expect(lastNameKey("Smith III")).toBe("SMITH");
    expect(matchExclusions([{ ...provider, businessName: "Sunset Home Health LLC" }], [sunrise], on)).toEqual([]);
  });

  it("screens the provider by NPI, as an organisation and as a person, and every staff member", () => {
    const intake = parseScreeningIntake({
      npi: "1234567893",
      providerName: "John A. Smith, MD",
      state: "sc",
      staff: [{ firstName: "Jane", lastName: "Roe" }],
    });
    const subjects = screeningSubjects(intake);
    expect(subjects).toEqual([
      {
        role: "provider",
        label: "John A. Smith, MD",
        npi: "1234567893",
        businessName: "John A. Smith, MD",
        firstName: "JOHN",
        lastName: "SMITH",
        state: "SC",
      },
      { role: "staff", label: "Jane Roe", firstName: "Jane", lastName: "Roe", state: "SC" },
    ]);
    const byName = entry({ naturalKey: "n", lastName: "SMITH", firstName: "JOHN", npi: null, state: "FL" });
    expect(matchExclusions(subjects, [byName], on).map((m) => [m.subject.role, m.rule])).toEqual([
      ["provider", "name"],
    ]);
    expect(() => parseScreeningIntake({ npi: "1234567890", providerName: "", state: "SC" })).toThrow(
      ScreeningIntakeError,
    );
  });
});

const input = (naturalKey: string, over: Partial<ExclusionEntryInput> = {}): ExclusionEntryInput => ({
  naturalKey,
  lastName: null,
  firstName: null,
  middleName: null,
  businessName: null,
  npi: null,
  generalCategory: "INDIVIDUAL",
  specialty: null,
  exclusionType: "1128a1",
  exclusionDate: "2020-01-01",
  reinstatementDate: null,
  waiverDate: null,
  waiverState: null,
  address: null,
  city: null,
  state: "SC",
  zip: null,
  ...over,
});

describe("exclusion store", () => {
  it("upserts idempotently and finds candidates by NPI, last name and business name in one query", async () => {
    await withTestDb(async (db) => {
      const rows = [
        input("k-smith", { lastName: "Smith Jr.", firstName: "John", npi: "1234567893" }),
        input("k-doe", { lastName: "DOE", firstName: "JANE", reinstatementDate: "2018-06-01" }),
        input("k-doe-future", { lastName: "DOE", firstName: "JOHN", reinstatementDate: "2099-01-01" }),
        input("k-biz", { businessName: "SUNRISE HOME HEALTH, L.L.C.", generalCategory: "OTHER BUSINESS" }),
        input("k-other", { lastName: "UNRELATED", firstName: "PAT", npi: npiFrom("198765432") }),
      ];
      const first = await upsertExclusionEntries(db, "oig_leie", [...rows, rows[0]!]);
      expect(first).toEqual({ inserted: 5, updated: 0, duplicates: 1 });
      const again = await upsertExclusionEntries(db, "oig_leie", rows);
      expect(again).toEqual({ inserted: 0, updated: 5, duplicates: 0 });
      expect(await countListedExclusionEntries(db, "oig_leie")).toBe(5);
      // The same natural key in another source is another record.
      expect(await upsertExclusionEntries(db, "sam", [input("k-smith", { lastName: "SMITH" })])).toMatchObject({
        inserted: 1,
      });

      const [stored] = await db.select().from(exclusionEntries).where(eq(exclusionEntries.naturalKey, "k-smith"));
      expect(stored).toMatchObject({ lastNameKey: "SMITH", businessNameKey: null });

      const found = await findExclusionCandidates(
        db,
        [
          { npi: "1234567893" },
          { firstName: "Jane", lastName: "Doe" },
          { businessName: "Sunrise Home Health Inc" },
          { npi: "not-an-npi" },
        ],
        new Date("2026-03-05T00:00:00Z"),
      );
      expect(found.map((e) => `${e.source}:${e.naturalKey}`).sort()).toEqual([
        "oig_leie:k-biz",
        "oig_leie:k-doe-future",
        "oig_leie:k-smith",
      ]);
      expect(await findExclusionCandidates(db, [])).toEqual([]);
      expect(await findExclusionCandidates(db, [{ firstName: "Nobody" }])).toEqual([]);
    });
  });

  it("loads a full list in one transaction: removes what it drops, refuses a list that shrank by half", async () => {
    await withTestDb(async (db) => {
      await db.delete(exclusionEntries);
      const list = ["a", "b", "c", "d"].map((k) => input(`list-${k}`, { lastName: `PERSON${k.toUpperCase()}` }));
      const first = await loadExclusionList(db, { source: "oig_leie", entries: list, dataAsOf: "2026-02-01" });
      expect(first).toMatchObject({ inserted: 4, removed: 0, dataset: { source: "oig_leie", entries: 4 } });

      const next = await loadExclusionList(db, {
        source: "oig_leie",
        entries: list.slice(0, 3),
        dataAsOf: "2026-03-01",
      });
      expect(next).toMatchObject({ inserted: 0, updated: 3, removed: 1, dataset: { dataAsOf: "2026-03-01" } });
      expect(await findExclusionCandidates(db, [{ lastName: "PersonD" }])).toEqual([]);

      await expect(
        loadExclusionList(db, { source: "oig_leie", entries: list.slice(0, 1), dataAsOf: "2026-04-01" }),
      ).rejects.toThrow(ExclusionListShrinkError);
      // Refused whole: nothing removed, no dataset recorded.
      expect(await countListedExclusionEntries(db, "oig_leie")).toBe(3);
      expect((await exclusionDatasets(db)).find((d) => d.source === "oig_leie")?.dataAsOf).toBe("2026-03-01");

      // Listed again later: live again.
      const back = await loadExclusionList(db, { source: "oig_leie", entries: list, dataAsOf: "2026-05-01" });
      expect(back).toMatchObject({ inserted: 0, updated: 4, removed: 0 });
      expect((await findExclusionCandidates(db, [{ lastName: "PersonD" }])).map((e) => e.naturalKey)).toEqual([
        "list-d",
      ]);
    });
  });
});

describe("screening run", () => {
  const now = new Date("2026-03-05T15:30:00Z");
  const order = (number: string, intake: Record<string, unknown>) => ({
    number,
    serviceSlug: "oig-sam-screening",
    intake,
  });
  const excludedNpi = npiFrom("155555555");
  const intake = {
    npi: npiFrom("123123123"),
    providerName: "Lowcountry Family Practice, PLLC",
    state: "SC",
    email: "office@lowcountry.example",
    staff: [
      { firstName: "Avery", lastName: "Clean" },
      { firstName: "Quinn", lastName: "Planted", npi: excludedNpi },
    ],
  };

  it("refuses to certify when no exclusion list was ever loaded", async () => {
    await withTestDb(async (db) => {
      await db.delete(datasetsTable);
      const number = "CO-2026-000901";
      await expect(
        runScreening({ db, files: testEnv.FILES, now }, order(number, intake), { id: "initial", label: "March 2026" }),
      ).rejects.toThrow(ScreeningDataMissingError);
      expect((await testEnv.FILES.list({ prefix: `orders/${number}/` })).objects).toEqual([]);
    });
  });

  it("stores a dated certificate in R2 and counts a planted match", async () => {
    await withTestDb(async (db) => {
      await upsertExclusionEntries(db, "oig_leie", [
        input("planted", { lastName: "PLANTED", firstName: "QUINN", npi: excludedNpi, state: "SC" }),
        input("reinstated", { lastName: "CLEAN", firstName: "AVERY", reinstatementDate: "2021-01-01" }),
      ]);
      await recordExclusionDataset(db, { source: "oig_leie", dataAsOf: "2026-03-01", entries: 2 });

      const number = "CO-2026-000902";
      const result = await runScreening({ db, files: testEnv.FILES, now }, order(number, intake), {
        id: "in_1QxYz",
        label: "March 2026",
      });
      const key = `orders/${number}/certificates/in-1QxYz-2026-03-05.pdf`;
      expect(result).toEqual({
        documents: [{ label: "Exclusion screening certificate, March 2026", r2Key: key }],
        // Quinn Planted by NPI and by name is one match per (subject, record) pair.
        matches: 1,
      });
      const object = await testEnv.FILES.get(key);
      expect(object).not.toBeNull();
      expect(object!.httpMetadata?.contentType).toBe("application/pdf");
      expect(object!.customMetadata).toMatchObject({ orderNumber: number, cycle: "in_1QxYz", matches: "1" });
      const bytes = new Uint8Array(await object!.arrayBuffer());
      expect(new TextDecoder().decode(bytes.slice(0, 5))).toBe("%PDF-");

      // Without the planted staff member the same data gives a clean certificate.
      const clean = await runScreening(
        { db, files: testEnv.FILES, now },
        order(number, { ...intake, staff: [intake.staff[0]] }),
        { id: "in_2", label: "April 2026" },
      );
      expect(clean.matches).toBe(0);
    });
  });

  it("names certificate keys safely", () => {
    expect(certificateKey("CO-2026-000001", "initial", now)).toBe(
      "orders/CO-2026-000001/certificates/initial-2026-03-05.pdf",
    );
    expect(certificateKey("CO-2026-000001", "../../x y", now)).toBe(
      "orders/CO-2026-000001/certificates/x-y-2026-03-05.pdf",
    );
    expect(() => certificateKey("../etc", "initial", now)).toThrow();
  });

  it("keeps the latest load of each list", async () => {
    await withTestDb(async (db) => {
      await db.delete(datasetsTable);
      await recordExclusionDataset(db, {
        source: "oig_leie",
        dataAsOf: "2026-01-01",
        entries: 10,
        loadedAt: new Date("2026-01-02T00:00:00Z"),
      });
      await recordExclusionDataset(db, {
        source: "oig_leie",
        dataAsOf: "2026-02-01",
        entries: 12,
        loadedAt: new Date("2026-02-02T00:00:00Z"),
      });
      await recordExclusionDataset(db, { source: "sam", dataAsOf: "2026-02-15", entries: 7 });
      const latest = await exclusionDatasets(db);
      expect(latest.map((d) => [d.source, d.dataAsOf, d.entries])).toEqual([
        ["oig_leie", "2026-02-01", 12],
        ["sam", "2026-02-15", 7],
      ]);
      expect((await db.execute(sql`select count(*)::int as n from exclusion_datasets`)).rows[0]).toEqual({ n: 3 });
    });
  });
});
