import { z } from "zod";

/**
 * One record of the FMCSA Company Census File, as the bulk CSV export writes it (upper-case
 * headers: DOT_NUMBER, LEGAL_NAME, …) or as the open-data (Socrata) API returns it (the same
 * names in lower case, every value a string, dates as ISO timestamps, empty fields left out).
 * A record becomes a typed carrier (the columns of db/schema/public-data.ts fmcsa_carriers,
 * whose meaning domain/enrichment/fmcsa-census.ts relies on) or the list of reasons it is not one.
 *
 * The e-mail address is judged apart from the row: a carrier with a malformed address is still a
 * carrier (its public record is loaded for order enrichment), it just is not a prospect. The
 * carrier row keeps the address as the file gives it (trimmed), the prospect the normalised one.
 */

/** A census record as typed columns (fmcsa_carriers without the import's own timestamps). */
export interface FmcsaCarrierRecord {
  usdotNumber: string;
  legalName: string;
  dbaName: string | null;
  carrierOperation: "A" | "B" | "C" | null;
  hazmatFlag: boolean | null;
  passengerFlag: boolean | null;
  phyStreet: string | null;
  phyCity: string | null;
  phyState: string | null;
  phyZip: string | null;
  phyCountry: string | null;
  mailingStreet: string | null;
  mailingCity: string | null;
  mailingState: string | null;
  mailingZip: string | null;
  mailingCountry: string | null;
  telephone: string | null;
  fax: string | null;
  /** As the file gives it, trimmed (null when empty); normalised separately for the prospect. */
  emailAddress: string | null;
  /** YYYY-MM-DD. */
  mcs150Date: string | null;
  mcs150Mileage: number | null;
  mcs150MileageYear: number | null;
  /** YYYY-MM-DD. */
  addDate: string | null;
  oicState: string | null;
  powerUnits: number | null;
  drivers: number | null;
}

/** A usable address: lower-cased, its domain in ASCII (IDNA). */
export interface CensusEmail {
  address: string;
  domain: string;
}

export type CensusRowResult =
  | {
      ok: true;
      carrier: FmcsaCarrierRecord;
      /** Null when the census has no address or a malformed one. */
      email: CensusEmail | null;
      /** Why a non-empty EMAIL_ADDRESS was not usable (the carrier is kept, without a prospect). */
      emailProblem: string | null;
    }
  | { ok: false; reasons: string[] };

/** The census columns this parser reads, in the export's order. */
export const CENSUS_COLUMNS = [
  "DOT_NUMBER",
  "LEGAL_NAME",
  "DBA_NAME",
  "CARRIER_OPERATION",
  "HM_FLAG",
  "PC_FLAG",
  "PHY_STREET",
  "PHY_CITY",
  "PHY_STATE",
  "PHY_ZIP",
  "PHY_COUNTRY",
  "MAILING_STREET",
  "MAILING_CITY",
  "MAILING_STATE",
  "MAILING_ZIP",
  "MAILING_COUNTRY",
  "TELEPHONE",
  "FAX",
  "EMAIL_ADDRESS",
  "MCS150_DATE",
  "MCS150_MILEAGE",
  "MCS150_MILEAGE_YEAR",
  "ADD_DATE",
  "OIC_STATE",
  "NBR_POWER_UNIT",
  "DRIVER_TOTAL",
] as const;
export type CensusColumn = (typeof CENSUS_COLUMNS)[number];

/** Without these a file is not a census file at all. */
export const REQUIRED_CENSUS_COLUMNS: readonly CensusColumn[] = ["DOT_NUMBER", "LEGAL_NAME"];

const INT4_MAX = 2_147_483_647;

// A cell: CSV gives strings, the JSON API strings too (sometimes numbers or booleans); nothing
// else is a census value. Trimmed; missing and null read as empty.
const cell = (column: CensusColumn) =>
  z.unknown().transform((v, ctx): string => {
    if (v === undefined || v === null) return "";
    if (typeof v === "string") return v.trim();
    if ((typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean") return String(v);
    ctx.addIssue({ code: "custom", message: `${column} is not a text value` });
    return z.NEVER;
  });

const quote = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

const text = (column: CensusColumn) => cell(column).transform((s) => (s === "" ? null : s.replace(/\s+/g, " ")));

const upperText = (column: CensusColumn) => text(column).transform((s) => s?.toUpperCase() ?? null);

/** FMCSA assigns 1–8 digit numbers without a leading zero (the fmcsa_carriers check). */
const usdot = cell("DOT_NUMBER").transform((s, ctx) => {
  if (/^[1-9]\d{0,7}$/.test(s)) return s;
  ctx.addIssue({
    code: "custom",
    message: s === "" ? "DOT_NUMBER is missing" : `DOT_NUMBER ${quote(s)} is not a USDOT number (1 to 8 digits)`,
  });
  return z.NEVER;
});

const legalName = text("LEGAL_NAME").transform((s, ctx) => {
  if (s !== null) return s;
  ctx.addIssue({ code: "custom", message: "LEGAL_NAME is missing" });
  return z.NEVER;
});

const carrierOperation = cell("CARRIER_OPERATION").transform((s, ctx): "A" | "B" | "C" | null => {
  const v = s.toUpperCase();
  if (v === "") return null;
  if (v === "A" || v === "B" || v === "C") return v;
  ctx.addIssue({ code: "custom", message: `CARRIER_OPERATION ${quote(s)} is not A, B or C` });
  return z.NEVER;
});

const flag = (column: CensusColumn) =>
  cell(column).transform((s, ctx): boolean | null => {
    const v = s.toUpperCase();
    if (v === "") return null;
    if (v === "Y" || v === "TRUE" || v === "T" || v === "1") return true;
    if (v === "N" || v === "FALSE" || v === "F" || v === "0") return false;
    ctx.addIssue({ code: "custom", message: `${column} ${quote(s)} is not Y or N` });
    return z.NEVER;
  });

/**
 * The export writes YYYYMMDD, the JSON API an ISO timestamp ("2024-03-05T00:00:00.000"); both,
 * and YYYY-MM-DD, give a calendar date. Empty or all zeros means none.
 */
export function censusDate(raw: string): string | null | undefined {
  const s = raw.trim();
  if (s === "" || /^0+$/.test(s)) return null;
  const m =
    /^(\d{4})(\d{2})(\d{2})$/.exec(s) ??
    /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/.exec(s);
  if (!m) return undefined;
  const [, y, mo, d] = m as unknown as [string, string, string, string];
  const iso = `${y}-${mo}-${d}`;
  // Date.UTC rolls 20230231 over into March: a real date survives the round trip.
  const at = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (Number(y) < 1900 || at.toISOString().slice(0, 10) !== iso) return undefined;
  return iso;
}

const date = (column: CensusColumn) =>
  cell(column).transform((s, ctx) => {
    const parsed = censusDate(s);
    if (parsed !== undefined) return parsed;
    ctx.addIssue({ code: "custom", message: `${column} ${quote(s)} is not a date (YYYYMMDD)` });
    return z.NEVER;
  });

/** A count: a whole number (the JSON API may write "3.0"), within `max`; empty is none. */
const count = (column: CensusColumn, max: number) =>
  cell(column).transform((s, ctx) => {
    if (s === "") return null;
    const n = /^\d+(?:\.0*)?$/.test(s) ? Number(s) : NaN;
    if (Number.isSafeInteger(n) && n <= max) return n;
    ctx.addIssue({
      code: "custom",
      message: Number.isSafeInteger(n)
        ? `${column} ${quote(s)} is too large`
        : `${column} ${quote(s)} is not a whole number`,
    });
    return z.NEVER;
  });

const mileageYear = cell("MCS150_MILEAGE_YEAR").transform((s, ctx) => {
  if (s === "" || /^0+$/.test(s)) return null;
  const n = /^\d{4}$/.test(s) ? Number(s) : NaN;
  if (n >= 1900 && n <= 2999) return n;
  ctx.addIssue({ code: "custom", message: `MCS150_MILEAGE_YEAR ${quote(s)} is not a year` });
  return z.NEVER;
});

const censusRowSchema = z.object({
  DOT_NUMBER: usdot,
  LEGAL_NAME: legalName,
  DBA_NAME: text("DBA_NAME"),
  CARRIER_OPERATION: carrierOperation,
  HM_FLAG: flag("HM_FLAG"),
  PC_FLAG: flag("PC_FLAG"),
  PHY_STREET: text("PHY_STREET"),
  PHY_CITY: text("PHY_CITY"),
  PHY_STATE: upperText("PHY_STATE"),
  PHY_ZIP: text("PHY_ZIP"),
  PHY_COUNTRY: upperText("PHY_COUNTRY"),
  MAILING_STREET: text("MAILING_STREET"),
  MAILING_CITY: text("MAILING_CITY"),
  MAILING_STATE: upperText("MAILING_STATE"),
  MAILING_ZIP: text("MAILING_ZIP"),
  MAILING_COUNTRY: upperText("MAILING_COUNTRY"),
  TELEPHONE: text("TELEPHONE"),
  FAX: text("FAX"),
  EMAIL_ADDRESS: cell("EMAIL_ADDRESS").transform((s) => (s === "" ? null : s)),
  MCS150_DATE: date("MCS150_DATE"),
  MCS150_MILEAGE: count("MCS150_MILEAGE", Number.MAX_SAFE_INTEGER),
  MCS150_MILEAGE_YEAR: mileageYear,
  ADD_DATE: date("ADD_DATE"),
  OIC_STATE: upperText("OIC_STATE"),
  NBR_POWER_UNIT: count("NBR_POWER_UNIT", INT4_MAX),
  DRIVER_TOTAL: count("DRIVER_TOTAL", INT4_MAX),
});

// RFC 5322 3.2.3 atext, as a dot-atom (RFC 5321 4.1.2 Dot-string): what a mailbox's local part
// may hold unquoted. Quoted local parts and non-ASCII ones (RFC 6531) are not addresses we mail.
const DOT_ATOM = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
// An LDH label (RFC 1035 2.3.1, RFC 5890 A-labels included).
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * An address as we store and mail it: trimmed and lower-cased (local parts are case-sensitive in
 * RFC 5321 2.4, but no mailbox provider treats them so, and one address must be one row), the
 * domain converted to ASCII (IDNA, as the WHATWG URL parser does it).
 */
export const censusEmailSchema = z.string().transform((raw, ctx): CensusEmail => {
  const fail = (why: string) => {
    ctx.addIssue({ code: "custom", message: `EMAIL_ADDRESS ${quote(raw.trim())} ${why}` });
    return z.NEVER;
  };
  const s = raw.trim().toLowerCase();
  const at = s.lastIndexOf("@");
  if (at < 0) return fail("has no @");
  const local = s.slice(0, at);
  const rawDomain = s.slice(at + 1);
  if (local === "") return fail("has nothing before the @");
  // RFC 5321 4.5.3.1.1: a local part is at most 64 octets.
  if (local.length > 64 || !DOT_ATOM.test(local)) return fail("has a local part we cannot mail");
  if (rawDomain === "" || /[\s/:?#[\]@\\%]/.test(rawDomain)) return fail("has no usable domain");
  let domain: string;
  try {
    domain = new URL(`http://${rawDomain}`).hostname;
  } catch {
    return fail("has no usable domain");
  }
  const labels = domain.split(".");
  if (
    domain.length > 253 ||
    labels.length < 2 ||
    !labels.every((l) => LDH_LABEL.test(l)) ||
    // A TLD is never all digits (RFC 3696 2): this also refuses IPv4 literals the URL parser accepts.
    /^\d+$/.test(labels.at(-1)!)
  )
    return fail("has no usable domain");
  return { address: `${local}@${domain}`, domain };
});

/** The normalised address, or why it is not one. */
export function normaliseCensusEmail(raw: string): { ok: true; email: CensusEmail } | { ok: false; reason: string } {
  const parsed = censusEmailSchema.safeParse(raw);
  return parsed.success
    ? { ok: true, email: parsed.data }
    : { ok: false, reason: parsed.error.issues[0]?.message ?? "not an address" };
}

/**
 * One census record (keys in either case; unknown keys ignored) as a carrier, or every reason it
 * is not one.
 */
export function parseCensusRow(raw: Readonly<Record<string, unknown>>): CensusRowResult {
  const upper: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) upper[key.trim().toUpperCase()] = value;
  // The JSON API leaves empty fields out: absent is empty.
  for (const column of CENSUS_COLUMNS) upper[column] ??= null;
  const parsed = censusRowSchema.safeParse(upper);
  if (!parsed.success) return { ok: false, reasons: parsed.error.issues.map((i) => i.message) };
  const r = parsed.data;
  const carrier: FmcsaCarrierRecord = {
    usdotNumber: r.DOT_NUMBER,
    legalName: r.LEGAL_NAME,
    dbaName: r.DBA_NAME,
    carrierOperation: r.CARRIER_OPERATION,
    hazmatFlag: r.HM_FLAG,
    passengerFlag: r.PC_FLAG,
    phyStreet: r.PHY_STREET,
    phyCity: r.PHY_CITY,
    phyState: r.PHY_STATE,
    phyZip: r.PHY_ZIP,
    phyCountry: r.PHY_COUNTRY,
    mailingStreet: r.MAILING_STREET,
    mailingCity: r.MAILING_CITY,
    mailingState: r.MAILING_STATE,
    mailingZip: r.MAILING_ZIP,
    mailingCountry: r.MAILING_COUNTRY,
    telephone: r.TELEPHONE,
    fax: r.FAX,
    emailAddress: r.EMAIL_ADDRESS,
    mcs150Date: r.MCS150_DATE,
    mcs150Mileage: r.MCS150_MILEAGE,
    mcs150MileageYear: r.MCS150_MILEAGE_YEAR,
    addDate: r.ADD_DATE,
    oicState: r.OIC_STATE,
    powerUnits: r.NBR_POWER_UNIT,
    drivers: r.DRIVER_TOTAL,
  };
  if (carrier.emailAddress === null) return { ok: true, carrier, email: null, emailProblem: null };
  const email = normaliseCensusEmail(carrier.emailAddress);
  return email.ok
    ? { ok: true, carrier, email: email.email, emailProblem: null }
    : { ok: true, carrier, email: null, emailProblem: email.reason };
}
