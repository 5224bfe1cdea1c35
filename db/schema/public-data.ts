import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  check,
  date,
  index,
  integer,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

/**
 * Public data the order machine reads: the FMCSA company census (to enrich trucking orders
 * before the customer is asked) and the exclusion lists (HHS-OIG LEIE, SAM.gov) that OIG/SAM
 * screening runs check. These rows are copies of government files, replaced by each import;
 * nothing the platform decides about a carrier or a person (send state, verification) is kept
 * here.
 */

/**
 * One row per USDOT number, from the FMCSA Company Census File (column names after the file's:
 * DOT_NUMBER, LEGAL_NAME, PHY_*, MAILING_*, NBR_POWER_UNIT, DRIVER_TOTAL, …).
 */
export const fmcsaCarriers = pgTable(
  "fmcsa_carriers",
  {
    /** DOT_NUMBER as digits: FMCSA numbers have no leading zero and at most 8 digits. */
    usdotNumber: text("usdot_number").primaryKey(),
    legalName: text("legal_name").notNull(),
    dbaName: text("dba_name"),
    /** CARRIER_OPERATION: A interstate, B intrastate hazmat, C intrastate non-hazmat. */
    carrierOperation: text("carrier_operation", { enum: ["A", "B", "C"] }),
    hazmatFlag: boolean("hm_flag"),
    passengerFlag: boolean("pc_flag"),
    phyStreet: text("phy_street"),
    phyCity: text("phy_city"),
    phyState: text("phy_state"),
    phyZip: text("phy_zip"),
    phyCountry: text("phy_country"),
    mailingStreet: text("mailing_street"),
    mailingCity: text("mailing_city"),
    mailingState: text("mailing_state"),
    mailingZip: text("mailing_zip"),
    mailingCountry: text("mailing_country"),
    telephone: text("telephone"),
    fax: text("fax"),
    emailAddress: text("email_address"),
    /** When the carrier last filed its MCS-150 (49 CFR 390.19). */
    mcs150Date: date("mcs150_date", { mode: "string" }),
    mcs150Mileage: bigint("mcs150_mileage", { mode: "number" }),
    mcs150MileageYear: integer("mcs150_mileage_year"),
    /** When FMCSA added the carrier to its register. */
    addDate: date("add_date", { mode: "string" }),
    /** The FMCSA office (state) in charge of the carrier. */
    oicState: text("oic_state"),
    powerUnits: integer("nbr_power_unit"),
    drivers: integer("driver_total"),
    /** How current the census file this row came from was. */
    sourceUpdatedAt: timestamp("source_updated_at", { withTimezone: true }),
    importedAt: timestamp("imported_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check("fmcsa_carriers_usdot_digits", sql`${t.usdotNumber} ~ '^[1-9][0-9]{0,7}$'`),
    check("fmcsa_carriers_counts", sql`coalesce(${t.powerUnits}, 0) >= 0 and coalesce(${t.drivers}, 0) >= 0`),
    check("fmcsa_carriers_operation", sql`${t.carrierOperation} in ('A', 'B', 'C')`),
  ],
);

export const EXCLUSION_SOURCES = ["oig_leie", "sam"] as const;

/**
 * One exclusion record of the HHS-OIG LEIE (42 U.S.C. 1320a-7) or SAM.gov (2 CFR part 180).
 * `natural_key` identifies a record within its source across imports: SAM's record number, and
 * for the LEIE (which has no id) a hash of the row's identifying fields. `*_key` columns hold
 * the normalised names the screening query looks up (domain/screening/exclusion-match.ts).
 */
export const exclusionEntries = pgTable(
  "exclusion_entries",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    source: text("source", { enum: EXCLUSION_SOURCES }).notNull(),
    naturalKey: text("natural_key").notNull(),
    lastName: text("last_name"),
    firstName: text("first_name"),
    middleName: text("middle_name"),
    businessName: text("business_name"),
    lastNameKey: text("last_name_key"),
    businessNameKey: text("business_name_key"),
    /** 10 digits, or null: the LEIE writes 0000000000 (or nothing) when it has none. */
    npi: text("npi"),
    /** LEIE GENERAL / SPECIALTY (e.g. "INDIVIDUAL", "NURSING PROFESSION"; SAM classification). */
    generalCategory: text("general_category"),
    specialty: text("specialty"),
    /** LEIE EXCLTYPE (the authority, e.g. 1128a1) or SAM's exclusion type. */
    exclusionType: text("exclusion_type"),
    exclusionDate: date("exclusion_date", { mode: "string" }),
    /** When the exclusion ended (LEIE REINDATE, SAM termination date); on or before today, it no longer excludes. */
    reinstatementDate: date("reinstatement_date", { mode: "string" }),
    waiverDate: date("waiver_date", { mode: "string" }),
    waiverState: text("waiver_state"),
    address: text("address"),
    city: text("city"),
    state: text("state"),
    zip: text("zip"),
    /** The last import that listed this record. */
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true }).notNull(),
    /**
     * Set when a full-list import no longer lists the record: the LEIE drops reinstated people
     * from its file instead of dating their reinstatement.
     */
    removedAt: timestamp("removed_at", { withTimezone: true }),
    loadedAt: timestamp("loaded_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("exclusion_entries_natural_key").on(t.source, t.naturalKey),
    index("exclusion_entries_npi")
      .on(t.npi)
      .where(sql`${t.npi} is not null`),
    index("exclusion_entries_last_name_key")
      .on(t.lastNameKey)
      .where(sql`${t.lastNameKey} is not null`),
    index("exclusion_entries_business_name_key")
      .on(t.businessNameKey)
      .where(sql`${t.businessNameKey} is not null`),
    check("exclusion_entries_source", sql`${t.source} in ('oig_leie', 'sam')`),
    check("exclusion_entries_npi_digits", sql`${t.npi} ~ '^[0-9]{10}$'`),
  ],
);

/** One import of an exclusion list: how current it was, so a certificate can say so. */
export const exclusionDatasets = pgTable(
  "exclusion_datasets",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    source: text("source", { enum: EXCLUSION_SOURCES }).notNull(),
    /** The date the list was current on (the publisher's file date). */
    dataAsOf: date("data_as_of", { mode: "string" }).notNull(),
    entries: integer("entries").notNull(),
    loadedAt: timestamp("loaded_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("exclusion_datasets_source_loaded").on(t.source, t.loadedAt),
    check("exclusion_datasets_source", sql`${t.source} in ('oig_leie', 'sam')`),
    check("exclusion_datasets_entries", sql`${t.entries} >= 0`),
  ],
);
