import { z } from "zod";
import { formatCents } from "../catalog/money";
import { formatBps, PAYMENT_METHOD_LABELS, type PaymentMethod } from "../catalog/payment-methods";
import type { PaymentOption } from "../catalog/pricing";
import { escapeHtml } from "../mail/escape-html";

/**
 * Government-fee child orders (commerce issue, item 6), the pure parts: what a fee request
 * looks like, the priced lines of the child, whether a child can be paid now, and the e-mail
 * that asks the customer to pay it. No bindings, no I/O, no clock.
 *
 * A child order (`CG-…`) bills the agency's fee at cost: our service fee is 0, each fee item
 * (and any agency processing fee) is its own line, and the payment method's surcharge is added
 * when the customer picks a method on the pay page. The old system stalled orders because this
 * fee was never billed (seeds: the gov-fee child-order commit); its customers could also say
 * "something looks wrong" before paying, which holds the payment until a person has looked.
 */

/** Stripe's smallest USD charge (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts). */
export const MIN_CHILD_TOTAL_CENTS = 50;
/** A fee item above this is a typo (cents entered as dollars ×100), not an agency fee. */
export const MAX_FEE_ITEM_CENTS = 10_000_000;
export const MAX_FEE_ITEMS = 20;
/** Longest dispute note kept; the form says so and the server refuses longer ones. */
export const DISPUTE_NOTE_MAX = 2_000;

export const FEE_ITEM_KINDS = ["government_fee", "agency_processing_fee"] as const;
export type FeeItemKind = (typeof FEE_ITEM_KINDS)[number];

/** Single-line text: no control characters (it ends up in e-mail, Stripe and pages). */
const line = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, "no control characters");

/**
 * One fee item. Unknown keys are dropped, so the gate can pass `estimateGovernmentFee`'s items
 * (which also say whether each figure is verified) as they are; the admin API uses the strict
 * form below.
 */
export const feeItemSchema = z.object({
  label: line(200),
  cents: z.number().int().min(1).max(MAX_FEE_ITEM_CENTS),
  /** Where the figure comes from: a published schedule, the agency's invoice number… */
  source: line(500).optional(),
  kind: z.enum(FEE_ITEM_KINDS).optional(),
  agency: line(200).optional(),
});

export const feeItemsSchema = z.array(feeItemSchema).min(1).max(MAX_FEE_ITEMS);

/** What an admin may send: the same fields, and nothing else (a typo in a key is an error). */
export const strictFeeItemsSchema = z.array(z.strictObject(feeItemSchema.shape)).min(1).max(MAX_FEE_ITEMS);

export type FeeItemInput = z.input<typeof feeItemSchema>;

export interface FeeItem {
  label: string;
  cents: number;
  source: string | null;
  kind: FeeItemKind;
  agency: string | null;
}

export interface GovernmentFeeBreakdown {
  items: FeeItem[];
  totalCents: number;
}

export type BreakdownProblem =
  | { code: "INVALID_ITEMS"; message: string }
  | { code: "TOTAL_MISMATCH"; message: string }
  | { code: "FEE_TOO_SMALL"; message: string };

/**
 * Validates a breakdown (from an admin or from `estimateGovernmentFee`) and normalises it:
 * every item has a kind and a source (null when unknown), and the total is the sum of the
 * items. A given total that disagrees with the items is refused rather than trusted.
 */
export function normaliseBreakdown(input: {
  items: readonly FeeItemInput[];
  totalCents?: number;
}): { ok: true; breakdown: GovernmentFeeBreakdown } | { ok: false; problem: BreakdownProblem } {
  const parsed = feeItemsSchema.safeParse(input.items);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `items${i.path.length ? `.${i.path.join(".")}` : ""}: ${i.message}`);
    return { ok: false, problem: { code: "INVALID_ITEMS", message: why.join("; ") } };
  }
  const items: FeeItem[] = parsed.data.map((i) => ({
    label: i.label,
    cents: i.cents,
    source: i.source ?? null,
    kind: i.kind ?? "government_fee",
    agency: i.agency ?? null,
  }));
  const totalCents = items.reduce((sum, i) => sum + i.cents, 0);
  if (input.totalCents !== undefined && input.totalCents !== totalCents) {
    return {
      ok: false,
      problem: {
        code: "TOTAL_MISMATCH",
        message: `totalCents ${input.totalCents} is not the sum of the items (${totalCents})`,
      },
    };
  }
  if (totalCents < MIN_CHILD_TOTAL_CENTS) {
    return {
      ok: false,
      problem: {
        code: "FEE_TOO_SMALL",
        message: `a government fee below ${formatCents(MIN_CHILD_TOTAL_CENTS)} cannot be charged`,
      },
    };
  }
  return { ok: true, breakdown: { items, totalCents } };
}

/** Two breakdowns ask for the same money: same items, same order, same amounts and labels. */
export function sameBreakdown(a: GovernmentFeeBreakdown, b: GovernmentFeeBreakdown): boolean {
  return (
    a.totalCents === b.totalCents &&
    a.items.length === b.items.length &&
    a.items.every((item, i) => {
      const other = b.items[i]!;
      return item.label === other.label && item.cents === other.cents && item.kind === other.kind;
    })
  );
}

// ---------------------------------------------------------------------------------------------
// The child's priced lines (orders.lines)

export type ChildLine =
  | { kind: "service_fee"; label: string; amountCents: 0 }
  | { kind: FeeItemKind; label: string; amountCents: number; source: string | null; agency: string | null }
  | { kind: "surcharge"; label: string; amountCents: number; method: PaymentMethod; bps: number };

export const SERVICE_FEE_LINE_LABEL = "Docket service fee (the government fee is passed through at cost)";

/** The lines of a new child: our service fee at 0, then each fee item. */
export function childOrderLines(breakdown: GovernmentFeeBreakdown): ChildLine[] {
  return [
    { kind: "service_fee", label: SERVICE_FEE_LINE_LABEL, amountCents: 0 },
    ...breakdown.items.map((i) => ({
      kind: i.kind,
      label: i.label,
      amountCents: i.cents,
      source: i.source,
      agency: i.agency,
    })),
  ];
}

/** The fee items back from a child's stored lines (service fee and surcharge left out). */
export function feeItemsFromLines(lines: unknown): FeeItem[] {
  if (!Array.isArray(lines)) return [];
  const items: FeeItem[] = [];
  for (const raw of lines as unknown[]) {
    if (typeof raw !== "object" || raw === null) continue;
    const l = raw as Record<string, unknown>;
    if ((l.kind === "government_fee" || l.kind === "agency_processing_fee") && typeof l.amountCents === "number") {
      items.push({
        label: String(l.label ?? ""),
        cents: l.amountCents,
        source: typeof l.source === "string" ? l.source : null,
        kind: l.kind,
        agency: typeof l.agency === "string" ? l.agency : null,
      });
    }
  }
  return items;
}

export function breakdownFromLines(lines: unknown): GovernmentFeeBreakdown {
  const items = feeItemsFromLines(lines);
  return { items, totalCents: items.reduce((s, i) => s + i.cents, 0) };
}

/** The child's lines once it is paid by `method`: the fee lines plus that method's surcharge. */
export function settledChildLines(lines: unknown, option: PaymentOption): ChildLine[] {
  const base = (Array.isArray(lines) ? (lines as ChildLine[]) : []).filter((l) => l.kind !== "surcharge");
  if (option.surchargeCents === 0) return base;
  return [
    ...base,
    {
      kind: "surcharge",
      label: `${PAYMENT_METHOD_LABELS[option.method]} surcharge (${formatBps(option.bps)})`,
      amountCents: option.surchargeCents,
      method: option.method,
      bps: option.bps,
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Can the child be paid now?

/** Event types this module writes to a child's history (order_events), besides the machine's. */
export const CHILD_EVENT = {
  requested: "government_fee_requested",
  sessionCreated: "checkout_session_created",
  disputed: "fee_disputed",
  disputeResolved: "fee_dispute_resolved",
  superseded: "government_fee_superseded",
} as const;

/** The parent learns its fee was paid through this event (OrderMachine issue: the fee gate). */
export const GOVERNMENT_FEE_PAID_EVENT = "government_fee_paid";

export interface HistoryEvent {
  type: string;
  payload?: unknown;
  occurredAt: Date;
}

export interface FeeHold {
  held: boolean;
  since?: Date;
  note?: string;
}

/** A dispute holds the child until an admin resolves it (a later `fee_dispute_resolved`). */
export function feeHold(events: readonly HistoryEvent[]): FeeHold {
  let hold: FeeHold = { held: false };
  for (const e of [...events].sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime())) {
    if (e.type === CHILD_EVENT.disputed) {
      const note = (e.payload as { note?: unknown } | null | undefined)?.note;
      hold = { held: true, since: e.occurredAt, ...(typeof note === "string" ? { note } : {}) };
    } else if (e.type === CHILD_EVENT.disputeResolved) {
      hold = { held: false };
    }
  }
  return hold;
}

export type Payability =
  /** Pay buttons are shown. */
  | "payable"
  /** The customer disputed the fee: no payment until an admin has looked. */
  | "on_hold"
  /** An ACH debit is on its way: nothing to do but wait. */
  | "processing"
  | "paid"
  /** Refunded, cancelled or replaced: never payable again. */
  | "closed";

/**
 * Whether a child can be paid now, from its mirrored status and history.
 *
 * A child whose only "cancellation" is an expired Checkout Session stays payable: the pay page
 * opens a new session, and a payment recorded later outranks the expiry anyway
 * (domain/orders/payment-state.ts). Only an explicit `cancelled` event, a refund or a
 * replacement closes it.
 */
export function childPayability(status: string, events: readonly HistoryEvent[]): Payability {
  if (events.some((e) => e.type === CHILD_EVENT.superseded)) return "closed";
  switch (status) {
    case "paid":
      return "paid";
    case "payment_processing":
      return "processing";
    case "refunded":
      return "closed";
    case "cancelled":
      if (!expiredOnly(events)) return "closed";
      break;
    case "pending_payment":
    case "payment_failed":
      break;
    default:
      // A status this module does not know (a later issue's): not ours to take money for.
      return "closed";
  }
  return feeHold(events).held ? "on_hold" : "payable";
}

function expiredOnly(events: readonly HistoryEvent[]): boolean {
  return events.some((e) => e.type === "checkout_expired") && !events.some((e) => e.type === "cancelled");
}

/** The status a customer page shows: an expired session is not a cancelled order. */
export function displayStatus(status: string, events: readonly HistoryEvent[]): string {
  if (status === "cancelled" && expiredOnly(events) && !events.some((e) => e.type === CHILD_EVENT.superseded)) {
    return "pending_payment";
  }
  return status;
}

// ---------------------------------------------------------------------------------------------
// Checkout sessions opened for a child (recorded as `checkout_session_created` events)

export interface RecordedSession {
  sessionId: string;
  method: PaymentMethod;
  attempt: number;
  at: Date;
}

export function recordedSessions(events: readonly HistoryEvent[]): RecordedSession[] {
  const sessions: RecordedSession[] = [];
  for (const e of events) {
    if (e.type !== CHILD_EVENT.sessionCreated) continue;
    const p = e.payload as { sessionId?: unknown; method?: unknown; attempt?: unknown } | null | undefined;
    if (typeof p?.sessionId !== "string" || typeof p.method !== "string") continue;
    if (!(p.method in PAYMENT_METHOD_LABELS)) continue;
    sessions.push({
      sessionId: p.sessionId,
      method: p.method as PaymentMethod,
      attempt: typeof p.attempt === "number" ? p.attempt : 1,
      at: e.occurredAt,
    });
  }
  return sessions.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/**
 * The Stripe idempotency key of the `attempt`-th session for this child and method: the child
 * number and the method (a double click gets the same session back), with the attempt number
 * after the first (a session that expired or failed is never handed out again).
 */
export function sessionIdempotencyKey(childNumber: string, method: PaymentMethod, attempt: number): string {
  return attempt <= 1 ? `${childNumber}:${method}` : `${childNumber}:${method}:${attempt}`;
}

// ---------------------------------------------------------------------------------------------
// The e-mail asking for the fee

/** Deterministic, so the same request can never mail the customer twice (mail_sends is unique on it). */
export function governmentFeeMessageId(childNumber: string, sendingDomain: string): string {
  return `<government-fee.${childNumber}@${sendingDomain}>`;
}

export interface GovernmentFeeEmailInput {
  customerName: string | null;
  childNumber: string;
  parentNumber: string;
  serviceName: string;
  breakdown: GovernmentFeeBreakdown;
  options: readonly PaymentOption[];
  payUrl: string;
  disputeUrl: string;
  linkExpiresAt: Date;
}

function optionText(o: PaymentOption): string {
  const surcharge = o.bps === 0 ? "no surcharge" : `${formatBps(o.bps)} surcharge, ${formatCents(o.surchargeCents)}`;
  return `${PAYMENT_METHOD_LABELS[o.method]}: ${formatCents(o.totalCents)} (${surcharge})`;
}

/** Subject, plain text and HTML of the request for payment: the full breakdown and both links. */
export function governmentFeeEmail(input: GovernmentFeeEmailInput): { subject: string; text: string; html: string } {
  const total = formatCents(input.breakdown.totalCents);
  const greeting = input.customerName ? `Hello ${input.customerName},` : "Hello,";
  const expires = input.linkExpiresAt.toISOString().slice(0, 10);
  const subject = `Government fee for your ${input.serviceName} (order ${input.parentNumber}): ${total}`;
  const text = [
    greeting,
    "",
    `To file your ${input.serviceName} (order ${input.parentNumber}) we need to pay the agency's fee. We bill it to you at cost as order ${input.childNumber}; our own service fee on it is $0.`,
    "",
    "What the amount covers:",
    ...input.breakdown.items.map(
      (i) => `  - ${i.label}: ${formatCents(i.cents)}${i.source ? ` (source: ${i.source})` : ""}`,
    ),
    `  Total: ${total}`,
    "",
    "How you can pay:",
    ...input.options.map((o) => `  - ${optionText(o)}`),
    "",
    `Pay the fee: ${input.payUrl}`,
    "",
    `Something looks wrong? Tell us before you pay and we will hold the payment and check it: ${input.disputeUrl}`,
    "",
    `These links work until ${expires}.`,
    "",
    "Thank you,",
    "Docket",
  ].join("\n");
  const rows = input.breakdown.items
    .map(
      (i) =>
        `<tr><td style="padding:4px 12px 4px 0">${escapeHtml(i.label)}${i.source ? `<br><small style="color:#555">Source: ${escapeHtml(i.source)}</small>` : ""}</td><td style="padding:4px 0;text-align:right">${escapeHtml(formatCents(i.cents))}</td></tr>`,
    )
    .join("\n");
  const html = [
    `<p>${escapeHtml(greeting)}</p>`,
    `<p>To file your ${escapeHtml(input.serviceName)} (order ${escapeHtml(input.parentNumber)}) we need to pay the agency's fee. We bill it to you at cost as order ${escapeHtml(input.childNumber)}; our own service fee on it is $0.</p>`,
    `<table role="presentation" style="border-collapse:collapse"><tbody>`,
    rows,
    `<tr><th style="padding:4px 12px 4px 0;text-align:left">Total</th><th style="padding:4px 0;text-align:right">${escapeHtml(total)}</th></tr>`,
    `</tbody></table>`,
    `<p>How you can pay:</p><ul>${input.options.map((o) => `<li>${escapeHtml(optionText(o))}</li>`).join("")}</ul>`,
    `<p><a href="${escapeHtml(input.payUrl)}">Pay the government fee</a></p>`,
    `<p>Something looks wrong? <a href="${escapeHtml(input.disputeUrl)}">Tell us before you pay</a> and we will hold the payment and check it.</p>`,
    `<p><small>These links work until ${escapeHtml(expires)}.</small></p>`,
    `<p>Thank you,<br>Docket</p>`,
  ].join("\n");
  return { subject, text, html };
}
