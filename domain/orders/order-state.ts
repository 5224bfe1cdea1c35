import type { DocumentRef, Actor } from "./order-events";
import { combineStatus, type LifecycleStage, type OrderStatus } from "./order-status";
import { initialFacts, statusOf, type PaymentFacts } from "./payment-state";

/**
 * Everything an OrderMachine knows about its order, as one JSON value. The transition table
 * (transition-table.ts) is a pure function from (state, event) to (state, effects); the Durable
 * Object stores the state after each event next to the append-only log that produced it.
 */

/** One run of the order's fulfilment: the first ("initial"), then one per paid renewal. */
export interface Cycle {
  id: string;
  /** "Monthly cycle 3": how the order's history and the certificate name it. */
  label: string;
  number: number;
  openedAt: string;
  status: "open" | "dispatched" | "completed";
  /** Fulfilment attempts made for this cycle (a failed portal run, then a person). */
  attempts: number;
  confirmation?: string;
  documents: DocumentRef[];
  /** Screening runs: possible exclusion matches found. */
  matches?: number;
  completedAt?: string;
}

export interface OrderState {
  orderNumber: string;
  slug: string;
  /** Government-fee child orders carry money only: no intake, gates or fulfilment. */
  hasLifecycle: boolean;
  recurring: boolean;
  /** "month" / "year" for recurring services: names the cycles. */
  interval: "none" | "month" | "year";
  facts: PaymentFacts;
  stage: LifecycleStage;
  /** When the lifecycle started (the order was first paid). */
  paidAt: string | null;
  /** What is known of the intake: checkout, enrichment and the customer's saves, merged. */
  intake: Record<string, unknown>;
  /** Intake fields that came from public data (the wizard says so next to them). */
  enrichedFields: string[];
  enrichment: "not_needed" | "pending" | "requested" | "done";
  intakeRequested: boolean;
  /** Reminder rounds: an admin's re-arm starts a new round from reminder 1. */
  intakeReminderRound: number;
  intakeRemindersSent: number;
  signature: {
    document: string;
    title: string;
    status: "requested" | "signed";
    r2Key?: string;
    signedAt?: string;
  } | null;
  question: { id: string; status: "asked" | "yes" | "no"; answeredBy?: Actor } | null;
  governmentFee: "not_checked" | "not_needed" | "requested" | "awaiting_admin" | "paid";
  governmentFeeOrders: string[];
  approval: { actor: Actor; at: string } | null;
  cycles: Cycle[];
  nextDueOn: string | null;
  completedAt: string | null;
  /** Invitations to a recurring service a first-cycle-only inclusion leads to (the bundle's monitoring). */
  invitation: { slug: string; status: "scheduled" | "done" } | null;
  cancelledBy: Actor | null;
}

export function initialOrderState(input: {
  orderNumber: string;
  slug: string;
  hasLifecycle: boolean;
  interval: "none" | "month" | "year";
  intake: Record<string, unknown> | null;
}): OrderState {
  const recurring = input.interval !== "none";
  return {
    orderNumber: input.orderNumber,
    slug: input.slug,
    hasLifecycle: input.hasLifecycle,
    recurring,
    interval: input.interval,
    facts: initialFacts(recurring),
    stage: "not_started",
    paidAt: null,
    intake: input.intake ?? {},
    enrichedFields: [],
    enrichment: "not_needed",
    intakeRequested: false,
    intakeReminderRound: 1,
    intakeRemindersSent: 0,
    signature: null,
    question: null,
    governmentFee: "not_checked",
    governmentFeeOrders: [],
    approval: null,
    cycles: [],
    nextDueOn: null,
    completedAt: null,
    invitation: null,
    cancelledBy: null,
  };
}

export function orderStatusOf(state: OrderState): OrderStatus {
  return combineStatus(statusOf(state.facts), state.stage, state.hasLifecycle);
}

/** The cycle being worked on: the oldest one not completed. */
export function currentCycle(state: OrderState): Cycle | undefined {
  return state.cycles.find((c) => c.status !== "completed");
}

export function cycleLabel(interval: OrderState["interval"], number: number): string {
  if (interval === "month") return `Monthly cycle ${number}`;
  if (interval === "year") return `Yearly cycle ${number}`;
  return "Filing";
}
