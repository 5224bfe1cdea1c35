import type { z } from "zod";
import type { IntakeProblem } from "./intake";

/**
 * The intake wizard's form, derived from a service's intake fields (intake-fields.ts) so the
 * form can never ask for something the schema does not know, or miss something it needs
 * (OrderMachine issue, item 3). Pure: it reads zod 4's public `_zod.def` and never validates;
 * validation stays with checkIntake/checkPartialIntake.
 *
 * Three directions:
 * - `intakeFormModel(fields)`: one form field per leaf (`physicalAddress.street`), grouped by
 *   top-level field (objects become fieldsets);
 * - `intakeToForm(intake, model)`: what is known, as the strings the form shows;
 * - `formToIntake(form, model)`: what was posted, as an intake object. An empty input means
 *   "not given" and is dropped, so a partial save never overwrites a known value with "".
 *
 * HTML forms post flat strings, so three shapes are encoded:
 * - yes/no (booleans) is a select: an unticked checkbox is indistinguishable from "not
 *   answered", and a required "no" could never be given;
 * - a list of choices (fuel types) is one checkbox per option, named `fuelTypes.diesel`;
 * - a list of records (staff, vehicles) is a textarea, one entry per line, columns separated
 *   by commas ("First Last, NPI").
 */

export type FormFieldKind = "text" | "email" | "tel" | "number" | "select" | "checkbox" | "textarea" | "date";

/** How the field's strings become intake values. */
export type FormEncoding = "string" | "number" | "boolean" | "choices" | "list";

export interface FormOption {
  value: string;
  label: string;
}

/** One column of a list entry; `keys` has two names when one column holds "First Last". */
export interface ListColumn {
  keys: readonly string[];
  label: string;
  required: boolean;
  maxLength: number;
}

export interface ListFormat {
  /** Empty when the list holds plain values (one per line) rather than records. */
  columns: readonly ListColumn[];
  minItems?: number;
  maxItems?: number;
}

export interface FormField {
  /** Dotted path into the intake: "physicalAddress.street". */
  name: string;
  label: string;
  kind: FormFieldKind;
  encoding: FormEncoding;
  /** Required for the intake to be complete (inside an optional group: never). */
  required: boolean;
  options?: readonly FormOption[];
  /** The longest value accepted (characters); posted values are capped just above it. */
  maxLength?: number;
  list?: ListFormat;
  /** How to write it, for lists: "One per line: First Last, NPI (optional)". */
  hint?: string;
}

export interface FormGroup {
  /** The top-level intake field. */
  name: string;
  label: string;
  required: boolean;
  /** An object: its fields are shown together under the group's label. */
  fieldset: boolean;
  fields: readonly FormField[];
}

export interface IntakeFormModel {
  groups: readonly FormGroup[];
  /** Every field of every group, in form order. */
  fields: readonly FormField[];
}

/** Form names the wizard uses itself; no intake field may take them. */
export const RESERVED_FORM_NAMES: readonly string[] = ["nonce", "intent", "order", "token"];

/** Strings with no length check of their own (regex-checked ids, codes) are capped at this. */
const DEFAULT_MAX_LENGTH = 100;
const EMAIL_MAX_LENGTH = 320;
const TEL_MAX_LENGTH = 40;
const NUMBER_MAX_LENGTH = 20;
const DATE_MAX_LENGTH = 10;
/** Longer free text gets a textarea. */
const TEXTAREA_FROM = 201;
/** Lists with no maximum of their own. */
const DEFAULT_MAX_ITEMS = 500;
/** A list textarea is echoed back up to this many characters (the body limit bounds it anyway). */
const LIST_ECHO_LIMIT = 65_536;

export class IntakeFormError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IntakeFormError";
  }
}

// ---------------------------------------------------------------------------------------------
// zod 4 introspection

type Def = Record<string, unknown> & { type?: string; checks?: unknown[] };
type Introspectable = { description?: string; _zod?: { def: Def } };

function defOf(schema: unknown): Def | undefined {
  return (schema as Introspectable | undefined)?._zod?.def;
}

/** The next schema inside a wrapper (optional, default, preprocess/transform pipe), if any. */
function innerOf(schema: unknown): unknown {
  const def = defOf(schema);
  if (!def) return undefined;
  if (def.type === "pipe") {
    // z.preprocess(fn, s) is pipe(transform, s); s.transform(fn) is pipe(s, transform).
    return defOf(def.in)?.type === "transform" ? def.out : def.in;
  }
  return def.innerType;
}

/** The schema's label, looking through wrappers (a `.describe()` may sit on any of them). */
function describeOf(schema: unknown): string | undefined {
  let current = schema;
  for (let depth = 0; depth < 12 && current; depth++) {
    const description = (current as Introspectable).description;
    if (description) return description;
    current = innerOf(current);
  }
  return undefined;
}

interface Core {
  def: Def;
  /** Check definitions collected from every layer. */
  checks: Def[];
}

/** The schema that says what the value is (string, number, enum, object, array…). */
function coreOf(schema: unknown, where: string): Core {
  const checks: Def[] = [];
  let current = schema;
  for (let depth = 0; depth < 12; depth++) {
    const def = defOf(current);
    if (!def) break;
    for (const check of def.checks ?? []) {
      const checkDef = defOf(check);
      if (checkDef) checks.push(checkDef);
    }
    const inner = innerOf(current);
    if (inner === undefined) return { def, checks };
    current = inner;
  }
  throw new IntakeFormError(`intake form: cannot read the schema of ${where}`);
}

function isRequired(schema: unknown): boolean {
  return !(schema as z.ZodType).safeParse(undefined).success;
}

function maxLengthOf(core: Core): number | undefined {
  const limits = core.checks
    .filter((c) => c.check === "max_length" && typeof c.maximum === "number")
    .map((c) => c.maximum as number);
  return limits.length > 0 ? Math.min(...limits) : undefined;
}

function minLengthOf(core: Core): number | undefined {
  const limits = core.checks
    .filter((c) => c.check === "min_length" && typeof c.minimum === "number")
    .map((c) => c.minimum as number);
  return limits.length > 0 ? Math.max(...limits) : undefined;
}

function stringFormat(core: Core): string | undefined {
  if (typeof core.def.format === "string") return core.def.format;
  const format = core.checks.find((c) => c.check === "string_format" && c.format !== "regex")?.format;
  return typeof format === "string" ? format : undefined;
}

function enumValues(core: Core): string[] {
  const entries = core.def.entries;
  if (!entries || typeof entries !== "object") return [];
  return Object.values(entries as Record<string, unknown>).map(String);
}

// ---------------------------------------------------------------------------------------------
// Labels

const ACRONYMS = new Set(["us", "lng", "cng", "llc", "npi", "ein", "fein", "mc", "dot", "usdot"]);

/** "authorized_for_hire" → "Authorized for hire", "us_mail" → "US mail"; codes (SC, 0-2, 855I) unchanged. */
export function optionLabel(value: string): string {
  if (!/[a-z]/.test(value) || !/^[a-z_]+$/.test(value)) return value;
  const words = value.split("_").map((w) => (ACRONYMS.has(w) ? w.toUpperCase() : w));
  const text = words.join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "mailingAddress" → "Mailing address": only when a schema carries no label of its own. */
function keyLabel(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// ---------------------------------------------------------------------------------------------
// Building the model

function scalarField(name: string, key: string, schema: unknown, required: boolean): FormField {
  const core = coreOf(schema, name);
  const label = describeOf(schema) ?? keyLabel(key);
  switch (core.def.type) {
    case "string": {
      const format = stringFormat(core);
      const max = maxLengthOf(core);
      if (format === "email")
        return { name, label, kind: "email", encoding: "string", required, maxLength: max ?? EMAIL_MAX_LENGTH };
      if (format === "date")
        return { name, label, kind: "date", encoding: "string", required, maxLength: DATE_MAX_LENGTH };
      // No schema marks a phone number apart from its regex; the field's name or label does.
      if (/phone/i.test(key) || /\bphone\b/i.test(label))
        return { name, label, kind: "tel", encoding: "string", required, maxLength: max ?? TEL_MAX_LENGTH };
      const maxLength = max ?? DEFAULT_MAX_LENGTH;
      return {
        name,
        label,
        kind: maxLength >= TEXTAREA_FROM ? "textarea" : "text",
        encoding: "string",
        required,
        maxLength,
      };
    }
    case "number":
    case "int":
      return { name, label, kind: "number", encoding: "number", required, maxLength: NUMBER_MAX_LENGTH };
    case "boolean":
      return {
        name,
        label,
        kind: "select",
        encoding: "boolean",
        required,
        options: [
          { value: "yes", label: "Yes" },
          { value: "no", label: "No" },
        ],
        maxLength: 3,
      };
    case "enum": {
      const values = enumValues(core);
      return {
        name,
        label,
        kind: "select",
        encoding: "string",
        required,
        options: values.map((value) => ({ value, label: optionLabel(value) })),
        maxLength: Math.max(...values.map((v) => v.length)),
      };
    }
    default:
      throw new IntakeFormError(`intake form: ${name} is a ${String(core.def.type)}, which the form cannot ask for`);
  }
}

function listField(name: string, key: string, schema: unknown, required: boolean): FormField {
  const core = coreOf(schema, name);
  const label = describeOf(schema) ?? keyLabel(key);
  const element = coreOf(core.def.element, `${name}[]`);
  const maxItems = maxLengthOf(core) ?? DEFAULT_MAX_ITEMS;
  const minItems = minLengthOf(core);
  const counts = { maxItems, ...(minItems !== undefined ? { minItems } : {}) };

  if (element.def.type === "enum") {
    const values = enumValues(element);
    return {
      name,
      label,
      kind: "checkbox",
      encoding: "choices",
      required,
      options: values.map((value) => ({ value, label: optionLabel(value) })),
      list: { columns: [], ...counts },
    };
  }

  if (element.def.type === "object") {
    const columns = recordColumns(name, element.def.shape as Record<string, unknown>);
    const example = columns.map((c) => (c.required ? c.label : `${c.label} (optional)`)).join(", ");
    return {
      name,
      label,
      kind: "textarea",
      encoding: "list",
      required,
      list: { columns, ...counts },
      hint: `One per line: ${example}.`,
    };
  }

  if (element.def.type === "string" || element.def.type === "number") {
    const one = scalarField(`${name}[]`, key, core.def.element, true);
    return {
      name,
      label,
      kind: "textarea",
      encoding: "list",
      required,
      list: {
        columns: [{ keys: [], label: one.label, required: true, maxLength: one.maxLength ?? DEFAULT_MAX_LENGTH }],
        ...counts,
      },
      hint: "One per line.",
    };
  }
  throw new IntakeFormError(
    `intake form: ${name} is a list of ${String(element.def.type)}, which the form cannot ask for`,
  );
}

/** The columns of a list of records; a leading firstName/lastName pair is one "First Last" column. */
function recordColumns(name: string, shape: Record<string, unknown>): ListColumn[] {
  const keys = Object.keys(shape);
  const columns: ListColumn[] = [];
  let i = 0;
  if (keys[0] === "firstName" && keys[1] === "lastName") {
    const first = scalarField(`${name}[].firstName`, "firstName", shape.firstName, true);
    const last = scalarField(`${name}[].lastName`, "lastName", shape.lastName, true);
    columns.push({
      keys: ["firstName", "lastName"],
      label: `${first.label} and ${last.label.toLowerCase()}`,
      required: isRequired(shape.firstName) || isRequired(shape.lastName),
      maxLength: (first.maxLength ?? DEFAULT_MAX_LENGTH) + 1 + (last.maxLength ?? DEFAULT_MAX_LENGTH),
    });
    i = 2;
  }
  for (; i < keys.length; i++) {
    const key = keys[i]!;
    const field = scalarField(`${name}[].${key}`, key, shape[key], true);
    if (field.encoding === "boolean" || field.encoding === "choices") {
      throw new IntakeFormError(`intake form: ${name}[].${key} cannot be written in a list line`);
    }
    columns.push({
      keys: [key],
      label: field.label,
      required: isRequired(shape[key]),
      maxLength: field.maxLength ?? DEFAULT_MAX_LENGTH,
    });
  }
  return columns;
}

/** The fields of one intake value: a leaf, a list, or (recursively) an object's leaves. */
function fieldsOf(name: string, key: string, schema: unknown, required: boolean): FormField[] {
  const core = coreOf(schema, name);
  if (core.def.type === "object") {
    const shape = core.def.shape as Record<string, unknown>;
    return Object.entries(shape).flatMap(([k, s]) => fieldsOf(`${name}.${k}`, k, s, required && isRequired(s)));
  }
  if (core.def.type === "array") return [listField(name, key, schema, required)];
  return [scalarField(name, key, schema, required)];
}

/** The wizard's form for one service's intake fields (`service.intakeFields`). */
export function intakeFormModel(intakeFields: z.ZodObject): IntakeFormModel {
  const groups: FormGroup[] = [];
  for (const [key, schema] of Object.entries(intakeFields.shape)) {
    if (RESERVED_FORM_NAMES.includes(key)) {
      throw new IntakeFormError(`intake form: the field name "${key}" is reserved for the wizard itself`);
    }
    const required = isRequired(schema);
    const core = coreOf(schema, key);
    groups.push({
      name: key,
      label: describeOf(schema) ?? keyLabel(key),
      required,
      fieldset: core.def.type === "object",
      fields: fieldsOf(key, key, schema, required),
    });
  }
  return { groups, fields: groups.flatMap((g) => g.fields) };
}

const models = new WeakMap<object, IntakeFormModel>();

/** The model, built once per intake schema (the catalog's schemas never change at run time). */
export function intakeFormFor(service: { intakeFields: z.ZodObject }): IntakeFormModel {
  let model = models.get(service.intakeFields);
  if (!model) {
    model = intakeFormModel(service.intakeFields);
    models.set(service.intakeFields, model);
  }
  return model;
}

// ---------------------------------------------------------------------------------------------
// Intake → form strings

function valueAt(root: unknown, path: readonly string[]): unknown {
  let current = root;
  for (const key of path) {
    if (Array.isArray(current)) {
      current = /^\d+$/.test(key) ? current[Number(key)] : undefined;
      continue;
    }
    if (current === null || typeof current !== "object" || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

/** The name of the checkbox for one option of a list of choices. */
export function choiceName(field: FormField, option: string): string {
  return `${field.name}.${option}`;
}

function entryLine(entry: unknown, columns: readonly ListColumn[]): string | undefined {
  if (columns.length === 0) return scalarText(entry);
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) return undefined;
  const cells = columns.map((column) =>
    column.keys
      .map((k) => scalarText(valueAt(entry, [k])) ?? "")
      .filter((s) => s !== "")
      .join(" "),
  );
  while (cells.length > 0 && cells[cells.length - 1] === "") cells.pop();
  return cells.join(", ");
}

/** What is known, as the strings each form field shows (nothing for values of the wrong shape). */
export function intakeToForm(intake: unknown, model: IntakeFormModel): Record<string, string> {
  const form: Record<string, string> = {};
  for (const field of model.fields) {
    const value = valueAt(intake, field.name.split("."));
    if (value === undefined || value === null) continue;
    switch (field.encoding) {
      case "string":
      case "number": {
        const text = scalarText(value);
        if (text !== undefined) form[field.name] = text;
        break;
      }
      case "boolean":
        if (typeof value === "boolean") form[field.name] = value ? "yes" : "no";
        else if (typeof value === "string") form[field.name] = value;
        break;
      case "choices":
        if (Array.isArray(value)) {
          for (const option of field.options ?? []) {
            if (value.includes(option.value)) form[choiceName(field, option.value)] = "on";
          }
        }
        break;
      case "list":
        if (Array.isArray(value)) {
          const lines = value
            .map((entry) => entryLine(entry, field.list?.columns ?? []))
            .filter((l) => l !== undefined);
          if (lines.length > 0) form[field.name] = lines.join("\n");
        }
        break;
    }
  }
  return form;
}

// ---------------------------------------------------------------------------------------------
// Form strings → intake

/** Caps a posted value one character above its limit: the schema then names the problem instead of the value being cut silently. */
function capped(value: string, maxLength: number | undefined): string {
  const limit = (maxLength ?? DEFAULT_MAX_LENGTH) + 1;
  return value.length > limit ? value.slice(0, limit) : value;
}

function posted(form: Readonly<Record<string, string>>, name: string): string | undefined {
  if (!Object.hasOwn(form, name)) return undefined;
  const value = form[name];
  return typeof value === "string" ? value : undefined;
}

function setAt(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let current = root;
  for (const key of path.slice(0, -1)) {
    const next = current[key];
    if (next === null || typeof next !== "object" || Array.isArray(next)) current[key] = {};
    current = current[key] as Record<string, unknown>;
  }
  current[path[path.length - 1]!] = value;
}

/** Splits "Mary Ann Smith" into first "Mary Ann" and last "Smith" (the last word is the family name). */
function splitName(text: string): [string, string | undefined] {
  const at = text.search(/\s+\S+$/);
  if (at <= 0) return [text, undefined];
  return [text.slice(0, at).trim(), text.slice(at).trim()];
}

/** One line of a list of records; extra commas stay in the last column, so the schema flags them. */
export function parseListLine(line: string, columns: readonly ListColumn[]): Record<string, string> {
  const parts = line.split(",");
  const cells = columns.map((_, i) => (i === columns.length - 1 ? parts.slice(i).join(",") : (parts[i] ?? "")).trim());
  const entry: Record<string, string> = {};
  columns.forEach((column, i) => {
    const cell = capped(cells[i] ?? "", column.maxLength);
    if (cell === "") return;
    if (column.keys.length === 2) {
      const [first, last] = splitName(cell);
      entry[column.keys[0]!] = first;
      if (last !== undefined) entry[column.keys[1]!] = last;
    } else if (column.keys.length === 1) {
      entry[column.keys[0]!] = cell;
    }
  });
  return entry;
}

/** A list textarea's lines, blank ones skipped, at most one more than the list allows. */
export function parseList(text: string, list: ListFormat): unknown[] {
  const lines = text
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const limit = (list.maxItems ?? DEFAULT_MAX_ITEMS) + 1;
  return lines.slice(0, limit).map((line) => {
    const only = list.columns[0];
    if (list.columns.length === 1 && only && only.keys.length === 0) return capped(line, only.maxLength);
    return parseListLine(line, list.columns);
  });
}

/**
 * The intake a posted form describes: nested objects rebuilt from dotted names, empty inputs
 * dropped (not given, so never overwriting a known value), yes/no and checkboxes converted,
 * every value capped. Only the model's own names are read: anything else posted is ignored.
 * Values stay as typed otherwise; the schema's own preprocessing turns "12" into 12.
 */
export function formToIntake(form: Readonly<Record<string, string>>, model: IntakeFormModel): Record<string, unknown> {
  const intake: Record<string, unknown> = {};
  for (const field of model.fields) {
    const path = field.name.split(".");
    switch (field.encoding) {
      case "choices": {
        const chosen = (field.options ?? [])
          .filter((o) => {
            const v = posted(form, choiceName(field, o.value));
            return v !== undefined && v !== "";
          })
          .map((o) => o.value);
        if (chosen.length > 0) setAt(intake, path, chosen);
        break;
      }
      case "list": {
        const text = posted(form, field.name);
        if (text === undefined || !field.list) break;
        const entries = parseList(text, field.list);
        if (entries.length > 0) setAt(intake, path, entries);
        break;
      }
      case "boolean": {
        const raw = posted(form, field.name)?.trim();
        if (raw === undefined || raw === "") break;
        setAt(intake, path, raw === "yes" ? true : raw === "no" ? false : capped(raw, field.maxLength));
        break;
      }
      case "string":
      case "number": {
        const raw = posted(form, field.name);
        if (raw === undefined) break;
        // Browsers send textarea line ends as CRLF; keep what the customer typed.
        const value = (field.kind === "textarea" ? raw.replace(/\r\n?/g, "\n") : raw).trim();
        if (value === "") break;
        setAt(intake, path, capped(value, field.maxLength));
        break;
      }
    }
  }
  return intake;
}

/**
 * The posted strings of the model's own fields, as typed (each capped), to show the form again
 * when it has problems: the customer sees what they entered, not what we made of it.
 */
export function postedValues(form: Readonly<Record<string, string>>, model: IntakeFormModel): Record<string, string> {
  const values: Record<string, string> = {};
  for (const field of model.fields) {
    if (field.encoding === "choices") {
      for (const option of field.options ?? []) {
        const v = posted(form, choiceName(field, option.value));
        if (v !== undefined && v !== "") values[choiceName(field, option.value)] = "on";
      }
      continue;
    }
    const v = posted(form, field.name);
    if (v === undefined) continue;
    const limit = field.encoding === "list" ? LIST_ECHO_LIMIT : field.maxLength;
    values[field.name] = capped(v.replace(/\r\n?/g, "\n"), limit);
  }
  return values;
}

// ---------------------------------------------------------------------------------------------
// Problems → the field they belong to

/** The field (or group) a problem's dotted path points into: the longest name that prefixes it. */
export function fieldFor(model: IntakeFormModel, path: string): FormField | undefined {
  let best: FormField | undefined;
  for (const field of model.fields) {
    if ((path === field.name || path.startsWith(`${field.name}.`)) && (!best || field.name.length > best.name.length))
      best = field;
  }
  return best;
}

/**
 * Inline messages keyed by form field name (or by group name, or "" for the whole form). A
 * problem inside a list names its line ("Line 3: NPI: …"); a value that was not given at all
 * reads "… is required" rather than zod's "expected string, received undefined".
 */
export function fieldErrors(
  problems: readonly IntakeProblem[],
  model: IntakeFormModel,
  submitted: unknown,
): Record<string, string> {
  const errors: Record<string, string> = {};
  const add = (key: string, message: string) => {
    errors[key] = errors[key] ? `${errors[key]}; ${message}` : message;
  };
  const seen = new Set<string>();
  for (const problem of problems) {
    // One message per value: a malformed NPI fails both its pattern and its check digit.
    if (seen.has(problem.field)) continue;
    seen.add(problem.field);
    const field = fieldFor(model, problem.field);
    const given = valueAt(submitted, problem.field.split("."));
    const missing = given === undefined || given === null || (typeof given === "string" && given.trim() === "");
    if (!field) {
      const group = model.groups.find((g) => g.name === problem.field.split(".")[0]);
      add(group?.name ?? "", missing ? `${problem.label} is required` : problem.message);
      continue;
    }
    if (field.encoding === "list" && problem.field !== field.name) {
      const [index, key] = problem.field.slice(field.name.length + 1).split(".");
      // checkPartialIntake labels "Staff to screen: Last name": the part after the list's own label.
      const sub =
        key !== undefined && problem.label.startsWith(`${field.label}: `)
          ? problem.label.slice(field.label.length + 2)
          : "";
      const message = missing && sub ? `${sub} is required` : sub ? `${sub}: ${problem.message}` : problem.message;
      add(field.name, `Line ${Number(index) + 1}: ${message}`);
      continue;
    }
    add(field.name, missing ? `${field.label} is required` : problem.message);
  }
  return errors;
}
