import { PDFDocument } from "pdf-lib";
import { intakeFieldLabels } from "../catalog/intake";
import type { ServiceDefinition } from "../catalog/service-definition";
import { documentDate, embedDocumentFonts, PdfFlow, setDocumentInfo } from "./pdf-text";

/**
 * A clean, multi-page PDF of an order: a title, what the order is, and sections of label/value
 * rows (the intake, as the customer gave it). It is the base of the generated documents and of
 * the intake summary inside a signature document. Rendering depends only on the input, never
 * on the clock: the same input gives the same bytes.
 */

export interface DocumentSection {
  heading: string;
  rows: [label: string, value: string][];
}

export interface OrderDocumentInput {
  title: string;
  serviceName: string;
  orderNumber: string;
  regulation?: string;
  preparedAt: Date;
  sections: DocumentSection[];
  notes?: string[];
}

/** The caller gave something no document can be made of (an empty title, an invalid date). */
export class DocumentInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DocumentInputError";
  }
}

export function requireText(value: string, what: string): void {
  if (typeof value !== "string" || value.trim() === "") throw new DocumentInputError(`${what} is required`);
}

export function requireDate(value: Date, what: string): void {
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    throw new DocumentInputError(`${what} is not a valid date`);
}

export async function renderOrderDocument(input: OrderDocumentInput): Promise<Uint8Array> {
  requireText(input.title, "title");
  requireText(input.orderNumber, "orderNumber");
  requireDate(input.preparedAt, "preparedAt");

  const doc = await PDFDocument.create();
  const flow = new PdfFlow(doc, await embedDocumentFonts(doc));
  writeDocumentHeader(flow, input);
  writeSections(flow, input.sections);
  if (input.notes && input.notes.length > 0) {
    flow.heading("Notes");
    flow.bullets(input.notes);
  }
  flow.footer(`Docket \u00B7 ${input.orderNumber} \u00B7 ${input.title}`);
  setDocumentInfo(doc, {
    title: input.title,
    subject: input.orderNumber,
    keywords: [input.orderNumber, input.serviceName],
    createdAt: input.preparedAt,
  });
  return await doc.save();
}

/** Title, service, order number, date and regulation: the top of every order document. */
export function writeDocumentHeader(
  flow: PdfFlow,
  input: Pick<OrderDocumentInput, "title" | "serviceName" | "orderNumber" | "preparedAt" | "regulation">,
): void {
  flow.title(input.title);
  flow.paragraph(input.serviceName, { size: 12, after: 8 });
  flow.rows([
    ["Order", input.orderNumber],
    ["Prepared", documentDate(input.preparedAt)],
    ...(input.regulation ? ([["Regulation", input.regulation]] as [string, string][]) : []),
  ]);
}

/** Width of the label column of a numbered list ("1." … "500."). */
export const NUMBER_COLUMN = 36;

export function numbered(rows: readonly (readonly [string, string])[]): boolean {
  return rows.every(([label]) => /^\d+\.$/.test(label));
}

export function writeSections(flow: PdfFlow, sections: readonly DocumentSection[]): void {
  for (const section of sections) {
    flow.heading(section.heading);
    if (section.rows.length === 0) flow.paragraph("Nothing given.", { font: "italic" });
    else flow.rows(section.rows, numbered(section.rows) ? { labelWidth: NUMBER_COLUMN } : {});
  }
}

// ---------------------------------------------------------------------------------------------
// Intake as sections

/**
 * The intake as readable sections, in the order of the service's intake form, labelled as the
 * wizard labels them: plain fields and addresses in one "Details" section; a nested object (the
 * signing officer) as its own section; a list of people (staff to screen) as a numbered section.
 * Missing optional fields are left out; a missing required one says "Not provided".
 */
export function intakeSections(
  service: ServiceDefinition,
  intake: Readonly<Record<string, unknown>> | null | undefined,
): DocumentSection[] {
  const values = intake ?? {};
  const details: [string, string][] = [];
  const more: DocumentSection[] = [];
  const shape = service.intakeFields.shape as Record<string, unknown>;
  for (const { field, label, required } of intakeFieldLabels(service)) {
    const value = values[field];
    if (isBlank(value)) {
      if (required) details.push([label, "Not provided"]);
      continue;
    }
    const schema = core(shape[field]);
    const def = defOf(schema);
    if (def?.type === "object" && isRecord(value) && !isAddress(value)) {
      more.push({ heading: label, rows: objectRows(def.shape ?? {}, value) });
    } else if (def?.type === "array" && Array.isArray(value)) {
      const element = core(def.element);
      if (defOf(element)?.type === "object") {
        more.push({
          heading: `${label} (${value.length})`,
          rows: value.map((item, i) => [`${i + 1}.`, describeItem(defOf(element)?.shape ?? {}, item)]),
        });
      } else {
        details.push([label, value.map((v) => formatValue(field, element, v)).join(", ")]);
      }
    } else {
      details.push([label, formatValue(field, schema, value)]);
    }
  }
  return [{ heading: "Details", rows: details }, ...more];
}

type Def = {
  type?: string;
  innerType?: unknown;
  in?: unknown;
  out?: unknown;
  shape?: Record<string, unknown>;
  element?: unknown;
};

function defOf(schema: unknown): Def | undefined {
  const s = schema as { _zod?: { def?: Def }; def?: Def } | undefined;
  return s?._zod?.def ?? s?.def;
}

const WRAPPERS = new Set(["optional", "nullable", "default", "prefault", "catch", "readonly", "nonoptional"]);

/** The schema that says what the value is, looking through optional/default and preprocess/transform pipes. */
function core(schema: unknown): unknown {
  let current = schema;
  for (let depth = 0; depth < 10; depth++) {
    const def = defOf(current);
    if (!def) return current;
    if (def.type && WRAPPERS.has(def.type)) current = def.innerType;
    else if (def.type === "pipe") current = defOf(def.out)?.type === "transform" ? def.in : def.out;
    else return current;
  }
  return current;
}

/** The schema's label (`.describe`), looking through wrappers the way the wizard does. */
function labelOf(schema: unknown, fallback: string): string {
  let current = schema;
  for (let depth = 0; depth < 10 && current; depth++) {
    const description = (current as { description?: string }).description;
    if (description) return description;
    const def = defOf(current);
    current = def?.innerType ?? def?.in;
  }
  return fallback;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isBlank(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    (typeof value === "string" && value.trim() === "") ||
    (Array.isArray(value) && value.length === 0)
  );
}

function isAddress(value: Record<string, unknown>): boolean {
  return "street" in value && "city" in value;
}

function formatAddress(value: Record<string, unknown>): string {
  const part = (key: string) => (isBlank(value[key]) ? "" : String(value[key] as string | number).trim());
  const stateZip = [part("state"), part("zip")].filter(Boolean).join(" ");
  return [part("street"), part("city"), stateZip].filter(Boolean).join(", ");
}

/** Enum codes a person reads differently from their humanised form. */
const CODE_WORDS: Readonly<Record<string, string>> = {
  llc: "LLC",
  lng: "LNG",
  cng: "CNG",
  us_mail: "US mail",
};

function humanise(code: string): string {
  const known = CODE_WORDS[code];
  if (known) return known;
  if (!/_/.test(code) && /[A-Z0-9]/.test(code)) return code; // "NPI-1", "855I"
  const words = code.replace(/_+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const dollars = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });

/** One value as text: enum codes humanised, yes/no, whole dollars, addresses on one line. */
function formatValue(field: string, schema: unknown, value: unknown): string {
  const type = defOf(schema)?.type;
  if (typeof value === "boolean") return value ? "Yes" : "No";
  if (typeof value === "number") {
    return /Dollars$/.test(field) && Number.isFinite(value) ? dollars.format(value) : String(value);
  }
  if (typeof value === "string") {
    if (type === "enum") return humanise(value);
    // Stored intake may keep a form's "400000": dollars read the same either way.
    if (/Dollars$/.test(field) && /^\d{1,13}$/.test(value)) return dollars.format(Number(value));
    return value;
  }
  if (isRecord(value)) {
    if (isAddress(value)) return formatAddress(value);
    const shape = defOf(core(schema))?.shape ?? {};
    return describeItem(shape, value);
  }
  if (Array.isArray(value)) return value.map((v) => formatValue(field, undefined, v)).join(", ");
  return JSON.stringify(value) ?? "";
}

function objectRows(shape: Record<string, unknown>, value: Record<string, unknown>): [string, string][] {
  const rows: [string, string][] = [];
  const keys = [...Object.keys(shape), ...Object.keys(value).filter((k) => !(k in shape))];
  for (const key of keys) {
    if (isBlank(value[key])) continue;
    rows.push([labelOf(shape[key], key), formatValue(key, core(shape[key]), value[key])]);
  }
  return rows;
}

/** A person in a list: "Ann Lee, NPI 1234567893"; anything else: "Label: value; …". */
function describeItem(shape: Record<string, unknown>, item: unknown): string {
  if (!isRecord(item)) return formatValue("", undefined, item);
  if (typeof item.firstName === "string" || typeof item.lastName === "string") {
    const name = [item.firstName, item.lastName].filter((s) => typeof s === "string" && s.trim() !== "").join(" ");
    const { firstName: _first, lastName: _last, ...others } = item;
    const rest = objectRows(shape, others).map(([label, v]) => `${label} ${v}`);
    return [name || "(no name)", ...rest].join(", ");
  }
  return objectRows(shape, item)
    .map(([label, v]) => `${label}: ${v}`)
    .join("; ");
}
