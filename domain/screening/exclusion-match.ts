import { z } from "zod";
import { npi, text, usState } from "../catalog/intake-fields";

/**
 * Exclusion screening: who an order screens (its provider and staff), the exclusion records
 * they are checked against (HHS-OIG LEIE, 42 U.S.C. 1320a-7; SAM.gov, 2 CFR part 180), and the
 * rules that make a record a possible match for a person to review.
 *
 * Matching rules (a record matches a subject when any holds):
 * 1. NPI: the subject's NPI equals the record's.
 * 2. Full name: the last names are equal and the first names are equal, both normalised:
 *    case, diacritics and punctuation ignored ("O'Brien" = "OBRIEN", "José" = "JOSE"),
 *    generational suffixes (JR, SR, II–V) dropped from the last name, middle names ignored.
 * 3. Initial: the last names are equal, one side's first name (or both) is a bare initial
 *    ("J", "J.") equal to the other's first letter, AND the record's state is the order's
 *    practice state.
 *    An initial alone is too weak (every J. Smith in the country), so the state must agree.
 * 4. Business: the normalised business names are equal after dropping entity-type words
 *    (LLC, INC, CORP, PC, PLLC, …) and a leading THE.
 * A record whose exclusion ended (reinstatement or termination date on or before the screening
 * day) is not an exclusion and never matches. These are possible matches: a person confirms
 * each against date of birth and address before anyone is told they are excluded.
 */

export const EXCLUSION_SOURCE_IDS = ["oig_leie", "sam"] as const;
export type ExclusionSource = (typeof EXCLUSION_SOURCE_IDS)[number];

/** The names certificates and match reasons give the lists. */
export const EXCLUSION_SOURCE_NAMES: Readonly<Record<ExclusionSource, string>> = {
  oig_leie: "OIG LEIE",
  sam: "SAM.gov exclusions",
};

/** One exclusion record as an import produces it (dates YYYY-MM-DD). */
export interface ExclusionEntryInput {
  /** Unique within the source across imports (SAM record number; a hash for the LEIE). */
  naturalKey: string;
  lastName: string | null;
  firstName: string | null;
  middleName: string | null;
  businessName: string | null;
  npi: string | null;
  generalCategory: string | null;
  specialty: string | null;
  exclusionType: string | null;
  exclusionDate: string | null;
  reinstatementDate: string | null;
  waiverDate: string | null;
  waiverState: string | null;
  address: string | null;
  city: string | null;
  state: string | null;
  zip: string | null;
}

/** A stored record, as the matcher sees it. */
export interface ExclusionEntry extends ExclusionEntryInput {
  id: number;
  source: ExclusionSource;
}

// ---------------------------------------------------------------------------------------------
// Names

/** Upper-case A–Z/0–9 words: diacritics folded (NFKD), dots dropped ("P.C." → "PC"), other punctuation a space. */
export function normalizeName(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toUpperCase()
    .replace(/['’.]/g, "")
    .replace(/[^A-Z0-9]+/g, " ")
    .trim();
}

const GENERATIONAL_SUFFIXES = new Set(["JR", "SR", "II", "III", "IV", "V"]);

/** A last name's lookup key: its words joined, a trailing JR/SR/II… dropped. Null when nothing is left. */
export function lastNameKey(lastName: string | null | undefined): string | null {
  const words = normalizeName(lastName ?? "")
    .split(" ")
    .filter(Boolean);
  while (words.length > 1 && GENERATIONAL_SUFFIXES.has(words[words.length - 1]!)) words.pop();
  return words.length > 0 ? words.join("") : null;
}

/** A first name's key: its words joined ("MARY ANN" = "MARY-ANN" = "MARYANN"). */
export function firstNameKey(firstName: string | null | undefined): string | null {
  const key = normalizeName(firstName ?? "").replace(/ /g, "");
  return key === "" ? null : key;
}

/** Words that say what kind of entity a business is, not which one. */
const ENTITY_WORDS = new Set([
  "LLC",
  "LLP",
  "LP",
  "PLLC",
  "PLC",
  "PC",
  "PA",
  "INC",
  "INCORPORATED",
  "CORP",
  "CORPORATION",
  "CO",
  "COMPANY",
  "LTD",
  "LIMITED",
]);

/** A business name's lookup key: entity-type words and a leading THE dropped, the rest joined. */
export function businessNameKey(businessName: string | null | undefined): string | null {
  const words = normalizeName(businessName ?? "")
    .split(" ")
    .filter((w) => w !== "" && !ENTITY_WORDS.has(w));
  if (words[0] === "THE" && words.length > 1) words.shift();
  return words.length > 0 ? words.join("") : null;
}

// ---------------------------------------------------------------------------------------------
// Subjects

/** One person or organisation screened. `label` is how certificates and reasons name it. */
export interface ScreeningSubject {
  role: "provider" | "staff";
  label: string;
  npi?: string;
  firstName?: string;
  lastName?: string;
  businessName?: string;
  /** The order's practice state: what an initial-only match must agree with. */
  state?: string;
}

/** The intake fields a screening reads (the catalog's screening subject, validated here at the edge). */
const screeningIntake = z.object({
  npi: npi(),
  providerName: text("Provider or organization name", 200),
  state: usState("Practice state"),
  staff: z
    .array(
      z.object({
        firstName: text("First name", 80),
        lastName: text("Last name", 80),
        npi: npi().optional(),
      }),
    )
    .max(500)
    .default([]),
});
export type ScreeningIntake = z.output<typeof screeningIntake>;

export class ScreeningIntakeError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`the order's intake cannot be screened: ${problems.join("; ")}`);
    this.name = "ScreeningIntakeError";
  }
}

export function parseScreeningIntake(intake: unknown): ScreeningIntake {
  const parsed = screeningIntake.safeParse(intake);
  if (!parsed.success)
    throw new ScreeningIntakeError(parsed.error.issues.map((i) => `${i.path.join(".") || "intake"}: ${i.message}`));
  return parsed.data;
}

/** Professional credentials written after a provider's name ("Jane Doe, MD"). */
const CREDENTIALS = new Set([
  "MD",
  "DO",
  "NP",
  "FNP",
  "APRN",
  "RN",
  "LPN",
  "PA",
  "PAC",
  "DDS",
  "DMD",
  "DPM",
  "DC",
  "OD",
  "PHD",
  "PSYD",
  "LCSW",
  "LPC",
  "LMFT",
  "CRNA",
  "PT",
  "DPT",
  "OT",
  "PHARMD",
  "RPH",
]);

/**
 * The provider's name read as a person's, when it can be one: "Jane Q. Doe, MD" or "DOE, JANE".
 * A sole practitioner is often listed in the LEIE by name only, without an NPI. Organisation
 * names read this way ("Sunrise Home Health" → SUNRISE … HEALTH) only match a record with both
 * the same first and last name, which is what a person would check too.
 */
function providerAsPerson(providerName: string): { firstName: string; lastName: string } | undefined {
  // Words split on spaces only, so "Smith-Jones" stays one last name.
  const wordsOf = (s: string) =>
    s
      .split(/\s+/)
      .map((w) => normalizeName(w).replace(/ /g, ""))
      .filter((w) => w !== "");
  const [before = "", ...afterParts] = providerName.split(",");
  const after = wordsOf(afterParts.join(" "));
  // "DOE, JANE Q" is last name first; "Jane Doe, MD" has credentials after the comma.
  const ordered = after.every((w) => CREDENTIALS.has(w)) ? wordsOf(before) : [...after, ...wordsOf(before)];
  // Credentials without a comma ("Jane Doe MD"): only trailing ones, and never the last two
  // words ("Minh Do" is a name).
  const words = [...ordered];
  while (words.length > 2 && CREDENTIALS.has(words[words.length - 1]!)) words.pop();
  if (words.some((w) => ENTITY_WORDS.has(w)) || words.length < 2 || words.length > 4) return undefined;
  return { firstName: words[0]!, lastName: words[words.length - 1]! };
}

/** Everyone an order screens: the provider (by NPI, as a business and as a person) and each staff member. */
export function screeningSubjects(intake: ScreeningIntake): ScreeningSubject[] {
  const person = providerAsPerson(intake.providerName);
  const subjects: ScreeningSubject[] = [
    {
      role: "provider",
      label: intake.providerName,
      npi: intake.npi,
      businessName: intake.providerName,
      ...(person ?? {}),
      state: intake.state,
    },
  ];
  for (const member of intake.staff) {
    subjects.push({
      role: "staff",
      label: `${member.firstName} ${member.lastName}`,
      firstName: member.firstName,
      lastName: member.lastName,
      ...(member.npi ? { npi: member.npi } : {}),
      state: intake.state,
    });
  }
  return subjects;
}

// ---------------------------------------------------------------------------------------------
// Matching

/** YYYY-MM-DD of an instant, in UTC: the day a screening is dated. */
export function isoDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** Still an exclusion on `day` (YYYY-MM-DD): no reinstatement, or one still in the future. */
export function inForce(entry: Pick<ExclusionEntry, "reinstatementDate">, day: string): boolean {
  return entry.reinstatementDate === null || entry.reinstatementDate > day;
}

export type MatchRule = "npi" | "name" | "initial" | "business";

export interface ExclusionMatch {
  subject: ScreeningSubject;
  entry: ExclusionEntry;
  rule: MatchRule;
  reason: string;
}

/** How a reason names a record: its name, authority, date and state. */
export function describeEntry(entry: ExclusionEntry): string {
  const person = [entry.lastName, [entry.firstName, entry.middleName].filter(Boolean).join(" ")]
    .filter((s) => s && s.trim() !== "")
    .join(", ");
  const name = [person, entry.businessName].filter((s) => s && s.trim() !== "").join(" / ") || entry.naturalKey;
  const details = [
    entry.exclusionType,
    entry.exclusionDate ? `excluded ${entry.exclusionDate}` : null,
    entry.state,
  ].filter(Boolean);
  return `${EXCLUSION_SOURCE_NAMES[entry.source]} entry ${name}${details.length > 0 ? ` (${details.join(", ")})` : ""}`;
}

function subjectName(subject: ScreeningSubject): string {
  return `${normalizeName(subject.lastName ?? "")}, ${normalizeName(subject.firstName ?? "")}`;
}

function matchOne(subject: ScreeningSubject, entry: ExclusionEntry): { rule: MatchRule; reason: string } | undefined {
  const described = describeEntry(entry);
  if (subject.npi && entry.npi && subject.npi === entry.npi)
    return { rule: "npi", reason: `NPI ${subject.npi} matches ${described}` };

  const subjectLast = lastNameKey(subject.lastName);
  if (subjectLast && subjectLast === lastNameKey(entry.lastName)) {
    const a = firstNameKey(subject.firstName);
    const b = firstNameKey(entry.firstName);
    // An initial on either side (even two equal initials) says too little without the state.
    const initial = a !== null && b !== null && (a.length === 1 || b.length === 1);
    if (a && b && !initial && a === b)
      return { rule: "name", reason: `name ${subjectName(subject)} matches ${described}` };
    const state = subject.state?.toUpperCase();
    if (initial && a[0] === b[0] && state && entry.state?.trim().toUpperCase() === state)
      return {
        rule: "initial",
        reason: `name ${subjectName(subject)} matches ${described} by first initial, in the same state (${state})`,
      };
  }

  const subjectBusiness = businessNameKey(subject.businessName);
  if (subjectBusiness && subjectBusiness === businessNameKey(entry.businessName))
    return { rule: "business", reason: `business name ${normalizeName(subject.businessName!)} matches ${described}` };
  return undefined;
}

/**
 * Every (subject, record) pair that is a possible match on `on`'s day, best rule first per
 * pair. Records no longer in force are skipped whatever they match.
 */
export function matchExclusions(
  subjects: readonly ScreeningSubject[],
  entries: readonly ExclusionEntry[],
  on: Date,
): ExclusionMatch[] {
  const day = isoDay(on);
  const live = entries.filter((e) => inForce(e, day));
  const matches: ExclusionMatch[] = [];
  for (const subject of subjects) {
    for (const entry of live) {
      const found = matchOne(subject, entry);
      if (found) matches.push({ subject, entry, ...found });
    }
  }
  return matches;
}
