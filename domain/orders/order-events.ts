import { z } from "zod";
import { PAYMENT_EVENT_PAYLOADS, PAYMENT_EVENT_TYPES, type PaymentEventType } from "./payment-state";

/**
 * Every event an order's machine accepts, with the payload each carries. Payment events come
 * from Stripe (payment-state.ts folds them as facts); the rest come from the customer (intake,
 * signature, answers), an admin (approval, manual filing, cancellation), the machine's own
 * effects (enrichment, filing results) or its alarm (reminders). An event is applied once per
 * idempotency key; the key says what makes two submissions the same event.
 */

/** Who caused an event: recorded with every customer and admin action. */
export const actorSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("customer") }),
  z.object({ kind: z.literal("admin"), email: z.string().min(3).max(320) }),
  z.object({ kind: z.literal("system"), source: z.string().min(1).max(100) }),
]);
export type Actor = z.infer<typeof actorSchema>;

const text = (max: number) => z.string().trim().min(1).max(max);
const r2Key = z
  .string()
  .min(1)
  .max(500)
  .regex(/^orders\/[A-Z0-9-]+\/[A-Za-z0-9._/-]+$/, "an R2 key under orders/<number>/");
const documentRef = z.object({ label: text(200), r2Key });
export type DocumentRef = z.infer<typeof documentRef>;

/** Intake values as submitted: a flat or nested JSON object, capped in size by the route. */
const intakeFields = z.record(z.string().max(100), z.unknown());

/**
 * A cycle is one run of the order's fulfilment: "initial" for the first, the Stripe invoice id
 * for each paid renewal of a recurring service.
 */
const cycleId = z.string().min(1).max(255);

export const LIFECYCLE_EVENT_PAYLOADS = {
  /** The machine's enrichment effect: what public data said (possibly nothing). */
  intake_enriched: z.object({
    source: z.string().min(1).max(100),
    found: z.boolean(),
    fields: intakeFields,
  }),
  /** A save of the intake wizard (or an admin's entry): merged into what is known. */
  intake_submitted: z.object({ fields: intakeFields, actor: actorSchema }),
  /** The alarm: intake reminder number `n` fell due. */
  intake_reminder_due: z.object({ n: z.number().int().positive(), dueAt: z.iso.datetime() }),
  /** An admin starts the intake reminders again from the first. */
  intake_reminders_rearmed: z.object({ actor: actorSchema }),
  /** An admin sends the intake link again. */
  intake_link_resent: z.object({ actor: actorSchema }),
  /** The signing page: the stamped PDF is in R2. */
  signature_received: z.object({
    document: text(100),
    r2Key,
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    signerName: text(200),
    method: z.enum(["typed", "drawn"]),
    ip: z.string().max(100),
    userAgent: z.string().max(1000),
    signedAt: z.iso.datetime(),
  }),
  /** The customer's one-click answer (or an admin recording it). */
  customer_answered: z.object({ questionId: text(100), answer: z.enum(["yes", "no"]), actor: actorSchema }),
  /** A government-fee child order was created for this order (by the gate or an admin). */
  government_fee_requested: z.object({
    childOrder: text(40),
    totalCents: z.number().int().nonnegative(),
    actor: actorSchema,
  }),
  /** The child order was paid (workers/orders/government-fee.ts, onChildOrderPaid). */
  government_fee_paid: z.object({ childOrder: text(40) }).loose(),
  approved: z.object({ actor: actorSchema, note: z.string().max(2000).optional() }),
  /** A filing, document or screening finished for a cycle. */
  filing_succeeded: z.object({
    cycle: cycleId,
    confirmation: z.string().trim().max(200).optional(),
    documents: z.array(documentRef).max(20).default([]),
    /** Screening runs: how many possible exclusion matches need a person's review. */
    matches: z.number().int().nonnegative().optional(),
    by: z.enum(["portal", "document", "screening"]),
    /**
     * A component another service delivers inside this order (the bundle's first screening):
     * its documents join the cycle, but only the order's own fulfilment completes it.
     */
    included: z.string().max(100).optional(),
  }),
  /** A generated document (the filled form) is in R2 and waits for a person to submit it. */
  document_generated: z.object({
    cycle: cycleId,
    attempt: z.number().int().positive(),
    documents: z.array(documentRef).min(1).max(20),
  }),
  /** A filing attempt ended in doubt: a person takes over. */
  filing_failed: z.object({ cycle: cycleId, attempt: z.number().int().positive(), reason: text(2000) }),
  filed_manually: z.object({
    actor: actorSchema,
    confirmation: text(200),
    note: z.string().max(2000).optional(),
    documents: z.array(documentRef).max(20).default([]),
  }),
  admin_cancelled: z.object({ actor: actorSchema, reason: text(2000) }),
  note_added: z.object({ actor: actorSchema, text: text(5000) }),
  /** The alarm: the bundle's invitation to monthly monitoring fell due. */
  bundle_invitation_due: z.object({ dueAt: z.iso.datetime() }),
} satisfies Record<string, z.ZodType>;

export type LifecycleEventType = keyof typeof LIFECYCLE_EVENT_PAYLOADS;
export const LIFECYCLE_EVENT_TYPES = Object.keys(LIFECYCLE_EVENT_PAYLOADS) as LifecycleEventType[];

export type OrderEventType = PaymentEventType | LifecycleEventType;
export const ORDER_EVENT_TYPES: readonly OrderEventType[] = [...PAYMENT_EVENT_TYPES, ...LIFECYCLE_EVENT_TYPES];

export const ORDER_EVENT_PAYLOADS: Record<OrderEventType, z.ZodType> = {
  ...PAYMENT_EVENT_PAYLOADS,
  ...LIFECYCLE_EVENT_PAYLOADS,
};

export type LifecyclePayload<T extends LifecycleEventType> = z.infer<(typeof LIFECYCLE_EVENT_PAYLOADS)[T]>;

/** Events only a person sends through the admin API. */
export const ADMIN_EVENT_TYPES = [
  "approved",
  "filed_manually",
  "admin_cancelled",
  "note_added",
  "intake_reminders_rearmed",
  "intake_link_resent",
] as const satisfies readonly LifecycleEventType[];

export function isOrderEventType(type: string): type is OrderEventType {
  return (ORDER_EVENT_TYPES as readonly string[]).includes(type);
}

/** The idempotency keys the adapters use, in one place so two adapters agree on them. */
export const EVENT_KEYS = {
  intakeSubmission: (nonce: string) => `intake:${nonce}`,
  enrichment: (cycle = "initial") => `enriched:${cycle}`,
  intakeReminder: (round: number, n: number) => `intake-reminder:${round}:${n}`,
  signature: (document: string) => `signature:${document}`,
  answer: (questionId: string) => `answer:${questionId}`,
  governmentFeeRequested: (childOrder: string) => `government-fee-requested:${childOrder}`,
  governmentFeePaid: (childOrder: string) => `government_fee_paid:${childOrder}`,
  filingResult: (cycle: string, attempt: number) => `filing:${cycle}:${attempt}`,
  includedResult: (cycle: string, slug: string) => `included:${cycle}:${slug}`,
  documentGenerated: (cycle: string, attempt: number) => `document:${cycle}:${attempt}`,
  bundleInvitation: () => "bundle-invitation",
} as const;
