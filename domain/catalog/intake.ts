import type { z } from "zod";
import {
  conditionHolds,
  type CustomerQuestionGate,
  type ServiceDefinition,
  type SignatureGate,
} from "./service-definition";

/**
 * Intake checks for the OrderMachine and the wizard: complete or not, and if not, exactly which
 * fields are missing or wrong, named by the labels the wizard shows. The "complete your intake"
 * email lists these (OrderMachine issue, item 3).
 */

export interface IntakeProblem {
  /** Dotted path: "physicalAddress.zip". */
  field: string;
  label: string;
  message: string;
}

export type IntakeCheck<T = unknown> = { complete: true; data: T } | { complete: false; problems: IntakeProblem[] };

export function checkIntake(service: ServiceDefinition, intake: unknown): IntakeCheck {
  const parsed = service.intakeSchema.safeParse(intake);
  if (parsed.success) return { complete: true, data: parsed.data };
  const problems: IntakeProblem[] = [];
  const seen = new Set<string>();
  for (const issue of parsed.error.issues) {
    const field = issue.path.map(String).join(".");
    if (seen.has(field)) continue;
    seen.add(field);
    const label = labelAt(service.intakeFields, issue.path) ?? (field || "Intake");
    const given = valueAt(intake, issue.path);
    const missing = given === undefined || given === null || (typeof given === "string" && given.trim() === "");
    problems.push({ field, label, message: missing ? `${label} is required` : issue.message });
  }
  return { complete: false, problems };
}

/** Validate what the customer has entered so far: every given field must be valid, none required. */
export function checkPartialIntake(service: ServiceDefinition, intake: unknown): IntakeCheck {
  const parsed = service.intakeFields.partial().safeParse(intake);
  if (parsed.success) return { complete: true, data: parsed.data };
  return {
    complete: false,
    problems: parsed.error.issues.map((issue) => {
      const field = issue.path.map(String).join(".");
      const label = labelAt(service.intakeFields, issue.path) ?? (field || "Intake");
      return { field, label, message: issue.message };
    }),
  };
}

/** The label of every top-level intake field, in form order. */
export function intakeFieldLabels(service: ServiceDefinition): { field: string; label: string; required: boolean }[] {
  return Object.entries(service.intakeFields.shape).map(([field, schema]) => ({
    field,
    label: describe(schema as z.ZodType) ?? field,
    required: !(schema as z.ZodType).safeParse(undefined).success,
  }));
}

/** The gates this order meets, given its intake (a gate with a `when` applies only if it holds). */
export function applicableGates(
  service: ServiceDefinition,
  intake: Readonly<Record<string, unknown>>,
): {
  signature: SignatureGate | null;
  customerQuestion: CustomerQuestionGate | null;
  governmentFee: boolean;
  approval: ServiceDefinition["approval"];
} {
  const signature =
    service.needsSignature && conditionHolds(service.needsSignature.when, intake) ? service.needsSignature : null;
  const customerQuestion =
    service.customerQuestion && conditionHolds(service.customerQuestion.when, intake) ? service.customerQuestion : null;
  return {
    signature,
    customerQuestion,
    governmentFee: service.governmentFee.kind !== "none",
    approval: service.approval,
  };
}

// ---------------------------------------------------------------------------------------------

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

type Introspectable = { description?: string; def?: Record<string, unknown>; _zod?: { def: Record<string, unknown> } };

function defOf(schema: unknown): Record<string, unknown> | undefined {
  const s = schema as Introspectable;
  return s._zod?.def ?? s.def;
}

/** The schema's description, looking through optional/default/pipe wrappers. */
function describe(schema: unknown): string | undefined {
  let current: unknown = schema;
  for (let depth = 0; depth < 8 && current; depth++) {
    const description = (current as Introspectable).description;
    if (description) return description;
    const def = defOf(current);
    current = def?.innerType ?? def?.in ?? undefined;
  }
  return undefined;
}

/** Unwrap to an object's shape or an array's element. */
function unwrap(schema: unknown): unknown {
  let current: unknown = schema;
  for (let depth = 0; depth < 8 && current; depth++) {
    const def = defOf(current);
    if (!def) return current;
    if (def.type === "object" || def.type === "array") return current;
    current = def.innerType ?? def.out ?? def.in;
  }
  return current;
}

function labelAt(root: unknown, path: readonly PropertyKey[]): string | undefined {
  let current: unknown = root;
  let label: string | undefined;
  for (const key of path) {
    const node = unwrap(current);
    const def = defOf(node);
    if (def?.type === "object") current = (def.shape as Record<string, unknown>)[String(key)];
    else if (def?.type === "array") current = def.element;
    else return label;
    const here = describe(current);
    if (here && typeof key === "string") label = label && here !== label ? `${label}: ${here}` : here;
  }
  return label;
}
