import { applicableGates, checkIntake, checkPartialIntake, type IntakeProblem } from "../catalog/intake";
import { estimateGovernmentFee } from "../catalog/government-fees";
import { nextDueDate } from "../catalog/next-due";
import { getService } from "../catalog/services";
import type { ServiceDefinition } from "../catalog/service-definition";
import type { OrderEffect } from "./order-effects";
import {
  isOrderEventType,
  ORDER_EVENT_PAYLOADS,
  type Actor,
  type LifecyclePayload,
  type OrderEventType,
} from "./order-events";
import { currentCycle, cycleLabel, orderStatusOf, type Cycle, type OrderState } from "./order-state";
import { ORDER_STATUSES, PAID_STATUSES, type OrderStatus } from "./order-status";
import { applyPaymentEvent, PAYMENT_EVENT_TYPES, statusOf, type PaymentEventType } from "./payment-state";

/**
 * The order machine's transition table (DESIGN.md, "The order machine"; OrderMachine issue,
 * item 1). Pure: no bindings, no clock (the caller passes `now`), no I/O.
 *
 * `TRANSITIONS` is the data: for each status, the events it accepts. Everything else is a
 * rejection with the status and that list, which the HTTP layer answers with 409. `decide` is
 * the function: an accepted event gives the next state and the effects it asks for; guards
 * inside it can still refuse an accepted event for a reason of its own (an intake value that
 * does not validate, a reminder from an earlier round).
 *
 * Payment events (payment-state.ts) are accepted in every status, because they are facts about
 * money that must be kept whatever the order is doing; their order of arrival does not change
 * the payment status. The lifecycle is sequential: once the payment status is `paid`, `advance`
 * walks the gates in this order and stops at the first that is not met:
 *
 *   enrichment → intake complete → signature → customer answer → government fee → approval →
 *   fulfilment (portal filing, generated document, admin task or screening) → completed
 *
 * Each gate asks for what it needs once (an e-mail, a child order, an admin task) and records
 * that it asked, so passing through `advance` again never asks twice.
 */

export interface MachinePolicy {
  /** Catalog slugs whose approval gate passes by itself (AUTO_FILING_SERVICES). */
  autoFilingServices: readonly string[];
  intakeReminders: { firstCount: number; max: number; firstIntervalSeconds: number; laterIntervalSeconds: number };
  invitation: { afterDays: number; untilDays: number };
}

export interface TransitionContext {
  now: Date;
  /** The event's idempotency key (names e-mails an event sends more than once, such as a resend). */
  key: string;
  policy: MachinePolicy;
}

export type RejectionCode =
  | "UNKNOWN_EVENT"
  | "EVENT_NOT_ALLOWED"
  | "INVALID_PAYLOAD"
  | "INVALID_INTAKE"
  | "NOT_RECURRING"
  | "UNKNOWN_SERVICE"
  | "STALE"
  | "WRONG_SUBJECT"
  | "ALREADY_ANSWERED";

export interface Rejection {
  code: RejectionCode;
  message: string;
  status: OrderStatus;
  allowed: OrderEventType[];
  problems?: IntakeProblem[];
}

export type Decision =
  | { ok: true; state: OrderState; effects: OrderEffect[]; previousStatus: OrderStatus; status: OrderStatus }
  | { ok: false; rejection: Rejection };

const PAYMENT: readonly OrderEventType[] = PAYMENT_EVENT_TYPES;

/** Where `advance` can stop once a step is passed: the next unmet gate, or fulfilment. */
const AFTER_INTAKE: readonly OrderStatus[] = PAID_STATUSES.slice(PAID_STATUSES.indexOf("awaiting_signature"), -1);
const AFTER_SIGNATURE = AFTER_INTAKE.slice(1);
const AFTER_ANSWER = AFTER_INTAKE.slice(2);
const AFTER_FEE = AFTER_INTAKE.slice(3);
const FULFILMENT: readonly OrderStatus[] = ["filing", "needs_manual_filing"];

/** A row of the table: each event the status accepts, and the statuses it can lead to. */
type Row = Partial<Record<OrderEventType, readonly OrderStatus[]>>;

/**
 * Payment events are accepted everywhere; where they lead is the payment status (before the
 * order is paid, or when money is taken back), the first unmet gate (when the order becomes
 * paid), or the same status (a fact that changes nothing visible, such as a partial refund).
 */
function paymentRow(status: OrderStatus): Row {
  const unpaid: OrderStatus[] = ["pending_payment", "payment_processing", "payment_failed", "cancelled", "refunded"];
  const firstGates: OrderStatus[] = ["paid", "awaiting_intake", ...AFTER_INTAKE];
  const targets = [...new Set<OrderStatus>([status, ...unpaid, ...firstGates])];
  const row: Row = {};
  for (const type of PAYMENT) row[type] = targets;
  // A renewal opens a cycle: a completed order goes back to fulfilment.
  row.renewal_paid = [...new Set<OrderStatus>([...targets, ...FULFILMENT])];
  return row;
}

const same = (status: OrderStatus, ...types: OrderEventType[]): Row =>
  Object.fromEntries(types.map((t) => [t, [status]]));

const admin = (status: OrderStatus): Row => ({ note_added: [status], admin_cancelled: ["cancelled"] });
/** A government fee may be asked for (or paid) at any point of a paid order's life. */
const fees = (status: OrderStatus): Row => same(status, "government_fee_requested", "government_fee_paid");

export const TRANSITIONS: Readonly<Record<OrderStatus, Row>> = {
  /** Before payment the customer may already fill in intake; nothing else moves. */
  pending_payment: {
    ...paymentRow("pending_payment"),
    ...same("pending_payment", "intake_submitted", "intake_link_resent"),
    ...admin("pending_payment"),
  },
  payment_processing: {
    ...paymentRow("payment_processing"),
    ...same("payment_processing", "intake_submitted", "intake_link_resent"),
    ...admin("payment_processing"),
  },
  /** Government-fee child orders: money only. */
  paid: { ...paymentRow("paid"), note_added: ["paid"] },
  awaiting_intake: {
    ...paymentRow("awaiting_intake"),
    intake_enriched: ["awaiting_intake", ...AFTER_INTAKE],
    intake_submitted: ["awaiting_intake", ...AFTER_INTAKE],
    ...same("awaiting_intake", "intake_reminder_due", "intake_reminders_rearmed", "intake_link_resent"),
    ...fees("awaiting_intake"),
    ...same("awaiting_intake", "bundle_invitation_due"),
    ...admin("awaiting_intake"),
  },
  awaiting_signature: {
    ...paymentRow("awaiting_signature"),
    signature_received: AFTER_SIGNATURE,
    ...fees("awaiting_signature"),
    ...same("awaiting_signature", "bundle_invitation_due"),
    ...admin("awaiting_signature"),
  },
  awaiting_customer_answer: {
    ...paymentRow("awaiting_customer_answer"),
    // "no" holds the order here (with a broker-referral task); "yes" moves on.
    customer_answered: ["awaiting_customer_answer", ...AFTER_ANSWER],
    ...fees("awaiting_customer_answer"),
    ...same("awaiting_customer_answer", "bundle_invitation_due"),
    ...admin("awaiting_customer_answer"),
  },
  awaiting_government_fee: {
    ...paymentRow("awaiting_government_fee"),
    government_fee_requested: ["awaiting_government_fee"],
    government_fee_paid: AFTER_FEE,
    ...same("awaiting_government_fee", "bundle_invitation_due"),
    ...admin("awaiting_government_fee"),
  },
  ready_to_file: {
    ...paymentRow("ready_to_file"),
    approved: FULFILMENT,
    ...fees("ready_to_file"),
    ...same("ready_to_file", "bundle_invitation_due"),
    ...admin("ready_to_file"),
  },
  filing: {
    ...paymentRow("filing"),
    // Completed, or the next cycle (a renewal paid meanwhile) starts; the bundle's included
    // screening result leaves the status as it is.
    filing_succeeded: ["completed", ...FULFILMENT],
    filing_failed: ["needs_manual_filing"],
    document_generated: ["needs_manual_filing"],
    filed_manually: ["completed", ...FULFILMENT],
    ...fees("filing"),
    ...same("filing", "bundle_invitation_due"),
    ...admin("filing"),
  },
  needs_manual_filing: {
    ...paymentRow("needs_manual_filing"),
    filed_manually: ["completed", ...FULFILMENT],
    filing_succeeded: ["completed", ...FULFILMENT],
    ...fees("needs_manual_filing"),
    ...same("needs_manual_filing", "bundle_invitation_due"),
    ...admin("needs_manual_filing"),
  },
  completed: {
    ...paymentRow("completed"),
    ...fees("completed"),
    ...same("completed", "bundle_invitation_due"),
    ...admin("completed"),
  },
  /**
   * A failed payment (typically a subscription renewal Stripe is retrying) stops nothing that is
   * already in motion: results of work under way and the customer's own input are still taken,
   * so nothing is lost when the payment recovers; the status shows the failure until then.
   * Reminders and invitations wait.
   */
  payment_failed: {
    ...paymentRow("payment_failed"),
    ...same(
      "payment_failed",
      "intake_enriched",
      "intake_submitted",
      "intake_link_resent",
      "signature_received",
      "customer_answered",
      "government_fee_requested",
      "government_fee_paid",
      "filing_succeeded",
      "filing_failed",
      "document_generated",
      "filed_manually",
    ),
    ...admin("payment_failed"),
  },
  /** Ended: only facts about money are still recorded (a late refund, a late payment to refund). */
  cancelled: { ...paymentRow("cancelled") },
  refunded: { ...paymentRow("refunded") },
};

function accepts(status: OrderStatus): OrderEventType[] {
  return Object.keys(TRANSITIONS[status]) as OrderEventType[];
}

/** The statuses an accepted event may lead to, from the table. */
export function targetsOf(status: OrderStatus, type: OrderEventType): readonly OrderStatus[] {
  return TRANSITIONS[status][type] ?? [];
}

/** The events an order in this state accepts (the table's row, less what its kind excludes). */
export function allowedEvents(state: OrderState): OrderEventType[] {
  const status = orderStatusOf(state);
  const row = state.hasLifecycle ? accepts(status) : accepts(status).filter((t) => isPayment(t) || t === "note_added");
  return row.filter((t) => state.recurring || t !== "renewal_paid");
}

function isPayment(type: OrderEventType): type is PaymentEventType {
  return (PAYMENT as readonly string[]).includes(type);
}

/** Applies one event: the next state and its effects, or a rejection (the state unchanged). */
export function decide(state: OrderState, event: { type: string; payload: unknown }, ctx: TransitionContext): Decision {
  const previousStatus = orderStatusOf(state);
  const reject = (code: RejectionCode, message: string, problems?: IntakeProblem[]): Decision => ({
    ok: false,
    rejection: {
      code,
      message,
      status: previousStatus,
      allowed: allowedEvents(state),
      ...(problems ? { problems } : {}),
    },
  });
  if (!isOrderEventType(event.type)) return reject("UNKNOWN_EVENT", `"${event.type}" is not an order event`);
  if (!allowedEvents(state).includes(event.type)) {
    return reject(
      event.type === "renewal_paid" && !state.recurring ? "NOT_RECURRING" : "EVENT_NOT_ALLOWED",
      event.type === "renewal_paid" && !state.recurring
        ? "a renewal was paid for an order whose service does not recur"
        : `${event.type} is not allowed while the order is ${previousStatus}`,
    );
  }
  const parsed = ORDER_EVENT_PAYLOADS[event.type].safeParse(event.payload ?? {});
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join(".") || "(payload)"}: ${i.message}`).join("; ");
    return reject("INVALID_PAYLOAD", `${event.type}: ${why}`);
  }
  const service = getService(state.slug);
  if (!service && state.hasLifecycle && !isPayment(event.type)) {
    return reject("UNKNOWN_SERVICE", `service "${state.slug}" is not in the catalog`);
  }
  const step = new Step(structuredClone(state), service, ctx);
  const outcome = step.handle(event.type, parsed.data);
  if (outcome) return reject(outcome.code, outcome.message, outcome.problems);
  return {
    ok: true,
    state: step.state,
    effects: step.effects,
    previousStatus,
    status: orderStatusOf(step.state),
  };
}

type Refusal = { code: RejectionCode; message: string; problems?: IntakeProblem[] };

/** One decision in progress: the state being changed and the effects collected. */
class Step {
  readonly effects: OrderEffect[] = [];

  constructor(
    public state: OrderState,
    private readonly service: ServiceDefinition | undefined,
    private readonly ctx: TransitionContext,
  ) {}

  handle(type: OrderEventType, payload: unknown): Refusal | undefined {
    if (isPayment(type)) return this.payment(type, payload);
    switch (type) {
      case "intake_enriched":
        return this.enriched(payload as LifecyclePayload<"intake_enriched">);
      case "intake_submitted":
        return this.intakeSubmitted(payload as LifecyclePayload<"intake_submitted">);
      case "intake_reminder_due":
        return this.intakeReminder(payload as LifecyclePayload<"intake_reminder_due">);
      case "intake_reminders_rearmed":
        return this.rearmReminders();
      case "intake_link_resent":
        return this.resendIntakeLink();
      case "signature_received":
        return this.signed(payload as LifecyclePayload<"signature_received">);
      case "customer_answered":
        return this.answered(payload as LifecyclePayload<"customer_answered">);
      case "government_fee_requested":
        return this.feeRequested(payload as LifecyclePayload<"government_fee_requested">);
      case "government_fee_paid":
        return this.feePaid(payload as LifecyclePayload<"government_fee_paid">);
      case "approved":
        return this.approved(payload as LifecyclePayload<"approved">);
      case "filing_succeeded":
        return this.filingSucceeded(payload as LifecyclePayload<"filing_succeeded">);
      case "filing_failed":
        return this.filingFailed(payload as LifecyclePayload<"filing_failed">);
      case "document_generated":
        return this.documentGenerated(payload as LifecyclePayload<"document_generated">);
      case "filed_manually":
        return this.filedManually(payload as LifecyclePayload<"filed_manually">);
      case "admin_cancelled":
        return this.adminCancelled(payload as LifecyclePayload<"admin_cancelled">);
      case "note_added":
        return undefined; // Recorded in the log with who wrote it; changes nothing.
      case "bundle_invitation_due":
        return this.invitationDue();
    }
  }

  private get svc(): ServiceDefinition {
    if (!this.service) throw new Error(`service ${this.state.slug} is not in the catalog`);
    return this.service;
  }

  private nowIso(): string {
    return this.ctx.now.toISOString();
  }

  private emit(effect: OrderEffect): void {
    this.effects.push(effect);
  }

  // -------------------------------------------------------------------------------------------
  // Money

  private payment(type: PaymentEventType, payload: unknown): Refusal | undefined {
    const result = applyPaymentEvent(this.state.facts, { type, payload });
    if (!result.ok) return { code: result.rejection.code, message: result.rejection.message };
    const s = this.state;
    s.facts = result.facts;
    const payment = statusOf(s.facts);
    if (!s.hasLifecycle) return undefined;

    if (payment === "refunded" || payment === "cancelled") {
      if (s.stage !== "not_started" || s.paidAt !== null) this.endOrder(`order ${payment}`);
      return undefined;
    }
    if (result.cycleOpened !== undefined && s.stage !== "not_started") this.openCycle(result.cycleOpened);
    if (payment === "paid" && s.stage === "not_started") this.start();
    else if (payment === "paid") this.advance();
    return undefined;
  }

  /** The order was paid for the first time: the first cycle opens and the gates begin. */
  private start(): void {
    const s = this.state;
    s.paidAt = this.nowIso();
    s.cycles = [this.newCycle("initial", 1)];
    const enrichment = this.svc.enrichment;
    s.enrichment = enrichment && hasValue(s.intake[enrichment.keyField]) ? "pending" : "not_needed";
    this.scheduleInvitation();
    this.advance();
  }

  /** A paid renewal: its own run in the order's history, fulfilled once the previous one is done. */
  private openCycle(id: string): void {
    const s = this.state;
    if (s.cycles.some((c) => c.id === id)) return;
    s.cycles.push(this.newCycle(id, s.cycles.length + 1));
    if (s.stage === "completed") this.fulfil();
  }

  private newCycle(id: string, number: number): Cycle {
    return {
      id,
      number,
      label: cycleLabel(this.state.interval, number),
      openedAt: this.nowIso(),
      status: "open",
      attempts: 0,
      documents: [],
    };
  }

  private endOrder(note: string): void {
    this.emit({ kind: "unschedule", reminder: "intake" });
    this.emit({ kind: "unschedule", reminder: "bundle_invitation" });
    this.emit({ kind: "close_order_tasks", note });
  }

  // -------------------------------------------------------------------------------------------
  // The gates, in order

  private advance(): void {
    const s = this.state;
    if (statusOf(s.facts) !== "paid") return;
    if (s.stage === "completed" || s.stage === "filing" || s.stage === "needs_manual_filing") return;

    // 1. Enrichment from public data, before the customer is asked for anything.
    if (s.enrichment === "pending") {
      const enrichment = this.svc.enrichment!;
      s.stage = "awaiting_intake";
      s.enrichment = "requested";
      this.emit({
        kind: "enrich_intake",
        source: enrichment.source,
        keyField: enrichment.keyField,
        key: String(s.intake[enrichment.keyField]),
      });
      return;
    }
    if (s.enrichment === "requested") {
      s.stage = "awaiting_intake";
      return;
    }

    // 2. Complete intake. Never "ready" with half its data.
    const intake = checkIntake(this.svc, s.intake);
    if (!intake.complete) {
      s.stage = "awaiting_intake";
      if (!s.intakeRequested) {
        s.intakeRequested = true;
        this.emit({
          kind: "email_customer",
          messageKey: "intake-request",
          email: { template: "intake_request", missing: intake.problems, reminder: 0 },
        });
        this.scheduleIntakeReminder(1, this.ctx.now);
      }
      return;
    }
    if (s.stage === "awaiting_intake" || s.stage === "not_started") {
      s.intake = intake.data as Record<string, unknown>;
      this.emit({ kind: "unschedule", reminder: "intake" });
    }
    const gates = applicableGates(this.svc, s.intake);

    // 3. Signature.
    if (gates.signature && s.signature?.status !== "signed") {
      s.stage = "awaiting_signature";
      if (!s.signature) {
        s.signature = { document: gates.signature.document, title: gates.signature.title, status: "requested" };
        this.emit({
          kind: "email_customer",
          messageKey: `signature-request.${gates.signature.document}`,
          email: { template: "signature_request", document: gates.signature.document, title: gates.signature.title },
        });
      }
      return;
    }

    // 4. The customer's answer (South Carolina's Form E question).
    if (gates.customerQuestion && s.question?.status !== "yes") {
      s.stage = "awaiting_customer_answer";
      if (!s.question) {
        s.question = { id: gates.customerQuestion.id, status: "asked" };
        this.emit({
          kind: "email_customer",
          messageKey: `question.${gates.customerQuestion.id}`,
          email: { template: "customer_question", questionId: gates.customerQuestion.id },
        });
      }
      return;
    }

    // 5. The government fee, as a child order the customer pays at cost.
    if (gates.governmentFee && s.governmentFee !== "paid" && s.governmentFee !== "not_needed") {
      // (checkGovernmentFee may settle it as "not_needed": TypeScript cannot see that through the call.)
      if (s.governmentFee === "not_checked") this.checkGovernmentFee();
      if ((s.governmentFee as OrderState["governmentFee"]) !== "not_needed") {
        s.stage = "awaiting_government_fee";
        return;
      }
    }

    // 6. Approval: an admin's, or automatic where the operator switched it on for the service.
    if (!s.approval) {
      if (this.svc.approval === "automatic_when_enabled" && this.ctx.policy.autoFilingServices.includes(s.slug)) {
        s.approval = { actor: { kind: "system", source: "automatic_filing" }, at: this.nowIso() };
      } else {
        s.stage = "ready_to_file";
        this.emit({
          kind: "open_task",
          task: {
            kind: "approval",
            title: `Approve ${this.svc.displayName} for order ${s.orderNumber}`,
            detail: { order: s.orderNumber, service: s.slug },
            dedupeKey: approvalTaskKey(s.orderNumber),
          },
        });
        return;
      }
    }

    // 7. Fulfilment of the current cycle.
    this.fulfil();
  }

  private checkGovernmentFee(): void {
    const s = this.state;
    const estimate = estimateGovernmentFee(this.svc, s.intake, { asOf: this.ctx.now });
    if (estimate.kind === "none" || (estimate.kind === "itemised" && estimate.totalCents === 0)) {
      s.governmentFee = "not_needed";
      return;
    }
    if (estimate.kind === "itemised") {
      s.governmentFee = "requested";
      this.emit({ kind: "request_government_fee", items: estimate.items, totalCents: estimate.totalCents });
      return;
    }
    // The agency computes it (IRP), or it cannot be computed from this intake: a person enters it.
    s.governmentFee = "awaiting_admin";
    const why = estimate.kind === "agency_invoice" ? estimate.reason : estimate.message;
    this.emit({
      kind: "open_task",
      task: {
        kind: "government_fee",
        title: `Enter the government fee for ${this.svc.displayName}, order ${s.orderNumber}`,
        detail: { order: s.orderNumber, service: s.slug, reason: why },
        dedupeKey: `government-fee:${s.orderNumber}`,
      },
    });
  }

  /** Starts the current cycle's fulfilment, as the catalog says the service is fulfilled. */
  private fulfil(): void {
    const s = this.state;
    const cycle = currentCycle(s);
    if (!cycle) {
      s.stage = "completed";
      return;
    }
    cycle.status = "dispatched";
    cycle.attempts += 1;
    const attempt = cycle.attempts;
    const fulfillment = this.svc.fulfillment;
    switch (fulfillment.kind) {
      case "browser_filing":
        s.stage = "filing";
        this.emit({ kind: "dispatch_filing", script: fulfillment.script, cycle: cycle.id, attempt });
        break;
      case "generated_document":
        s.stage = "filing";
        this.emit({ kind: "generate_document", template: fulfillment.template, cycle: cycle.id, attempt });
        break;
      case "screening_run":
        s.stage = "filing";
        this.emit({ kind: "run_screening", cycle: cycle.id, cycleLabel: cycle.label, attempt });
        break;
      case "admin_assisted":
        s.stage = "needs_manual_filing";
        this.openFilingTask(cycle, fulfillment.task, `File ${this.svc.displayName} for order ${s.orderNumber}`);
        break;
    }
    // Components delivered inside this order on its first cycle only (the bundle's first screening).
    if (cycle.number === 1) {
      for (const inclusion of this.svc.includes) {
        const included = getService(inclusion.slug);
        if (included?.fulfillment.kind === "screening_run") {
          this.emit({
            kind: "run_screening",
            cycle: cycle.id,
            cycleLabel: cycle.label,
            attempt,
            included: inclusion.slug,
          });
        }
      }
    }
  }

  private openFilingTask(cycle: Cycle, task: string, title: string, reason?: string): void {
    const s = this.state;
    this.emit({
      kind: "open_task",
      task: {
        kind: "manual_filing",
        title: s.cycles.length > 1 ? `${title} (${cycle.label})` : title,
        detail: {
          order: s.orderNumber,
          service: s.slug,
          serviceName: this.svc.displayName,
          task,
          cycle: cycle.id,
          ...(reason ? { reason } : {}),
        },
        dedupeKey: filingTaskKey(s.orderNumber, cycle.id),
      },
    });
  }

  // -------------------------------------------------------------------------------------------
  // Intake

  private enriched(p: LifecyclePayload<"intake_enriched">): Refusal | undefined {
    const s = this.state;
    if (s.enrichment !== "requested") return { code: "STALE", message: "no enrichment was asked for" };
    s.enrichment = "done";
    const filled: string[] = [];
    for (const [field, value] of Object.entries(p.fields)) {
      // The customer's own values win over public data.
      if (!hasValue(s.intake[field]) && hasValue(value)) {
        s.intake[field] = value;
        filled.push(field);
      }
    }
    s.enrichedFields = [...new Set([...s.enrichedFields, ...filled])].sort();
    this.advance();
    return undefined;
  }

  private intakeSubmitted(p: LifecyclePayload<"intake_submitted">): Refusal | undefined {
    const s = this.state;
    if (s.stage !== "not_started" && s.stage !== "awaiting_intake") {
      return { code: "STALE", message: `intake is closed: the order is past it (${s.stage})` };
    }
    const check = checkPartialIntake(this.svc, p.fields);
    if (!check.complete) {
      return { code: "INVALID_INTAKE", message: "some intake values are not valid", problems: check.problems };
    }
    // Only what was sent: `partial()` still fills defaults (an empty staff list), which must not
    // overwrite what is known.
    const sent = Object.entries(check.data as Record<string, unknown>).filter(([k]) => k in p.fields);
    s.intake = mergeIntake(s.intake, Object.fromEntries(sent));
    // A value the customer typed is theirs now, not the census's.
    s.enrichedFields = s.enrichedFields.filter((f) => !(f in p.fields));
    if (s.stage !== "not_started") this.advance();
    return undefined;
  }

  private intakeReminder(p: LifecyclePayload<"intake_reminder_due">): Refusal | undefined {
    const s = this.state;
    if (p.n !== s.intakeRemindersSent + 1) {
      return { code: "STALE", message: `reminder ${p.n} is not the next one (${s.intakeRemindersSent} sent)` };
    }
    const check = checkIntake(this.svc, s.intake);
    if (check.complete) return { code: "STALE", message: "intake is complete" };
    s.intakeRemindersSent = p.n;
    this.emit({
      kind: "email_customer",
      messageKey: `intake-reminder.${s.intakeReminderRound}.${p.n}`,
      email: { template: "intake_request", missing: check.problems, reminder: p.n },
    });
    if (p.n < this.ctx.policy.intakeReminders.max) this.scheduleIntakeReminder(p.n + 1, new Date(p.dueAt));
    return undefined;
  }

  /**
   * Reminder n falls due one interval after reminder n-1 was due (daily for the first ones,
   * weekly after), so the cadence does not drift by how late an alarm ran; if the machine was
   * away longer than an interval, the next is one interval from now, never a burst.
   */
  private scheduleIntakeReminder(n: number, after: Date): void {
    const r = this.ctx.policy.intakeReminders;
    if (n > r.max) return;
    const seconds = n <= r.firstCount ? r.firstIntervalSeconds : r.laterIntervalSeconds;
    let due = after.getTime() + seconds * 1000;
    if (due <= this.ctx.now.getTime()) due = this.ctx.now.getTime() + seconds * 1000;
    this.emit({
      kind: "schedule",
      reminder: "intake",
      n,
      round: this.state.intakeReminderRound,
      dueAt: new Date(due).toISOString(),
    });
  }

  private rearmReminders(): Refusal | undefined {
    const s = this.state;
    s.intakeReminderRound += 1;
    s.intakeRemindersSent = 0;
    this.emit({ kind: "unschedule", reminder: "intake" });
    this.scheduleIntakeReminder(1, this.ctx.now);
    return undefined;
  }

  private resendIntakeLink(): Refusal | undefined {
    const s = this.state;
    const check = checkIntake(this.svc, s.intake);
    this.emit({
      kind: "email_customer",
      messageKey: `intake-resend.${this.ctx.key}`,
      email: { template: "intake_request", missing: check.complete ? [] : check.problems, reminder: 0 },
    });
    return undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Signature, answer, fee, approval

  private signed(p: LifecyclePayload<"signature_received">): Refusal | undefined {
    const s = this.state;
    if (!s.signature || s.signature.document !== p.document) {
      return { code: "WRONG_SUBJECT", message: `no signature of "${p.document}" is awaited` };
    }
    s.signature = { ...s.signature, status: "signed", r2Key: p.r2Key, signedAt: p.signedAt };
    this.advance();
    return undefined;
  }

  private answered(p: LifecyclePayload<"customer_answered">): Refusal | undefined {
    const s = this.state;
    if (!s.question || s.question.id !== p.questionId) {
      return { code: "WRONG_SUBJECT", message: `question "${p.questionId}" was not asked` };
    }
    if (s.question.status === "yes") return { code: "ALREADY_ANSWERED", message: "the question was answered yes" };
    // The customer answers once; after a "no" only an admin records a change (the broker found cover).
    if (s.question.status === "no" && p.actor.kind !== "admin") {
      return { code: "ALREADY_ANSWERED", message: "the question was answered no; an admin records any change" };
    }
    s.question = { ...s.question, status: p.answer, answeredBy: p.actor };
    const gate = this.svc.customerQuestion;
    if (p.answer === "no" && gate) {
      this.emit({
        kind: "open_task",
        task: {
          kind: gate.onNo.task,
          title: `Refer the customer of order ${s.orderNumber} to an insurance broker (${this.svc.displayName})`,
          detail: { order: s.orderNumber, service: s.slug, question: gate.question, answer: "no" },
          dedupeKey: `question:${s.orderNumber}:${gate.id}`,
        },
      });
      return undefined;
    }
    if (gate)
      this.emit({ kind: "resolve_task", dedupeKey: `question:${s.orderNumber}:${gate.id}`, note: "answered yes" });
    this.advance();
    return undefined;
  }

  private feeRequested(p: LifecyclePayload<"government_fee_requested">): Refusal | undefined {
    const s = this.state;
    if (!s.governmentFeeOrders.includes(p.childOrder)) s.governmentFeeOrders.push(p.childOrder);
    if (s.governmentFee !== "paid") s.governmentFee = "requested";
    this.emit({
      kind: "resolve_task",
      dedupeKey: `government-fee:${s.orderNumber}`,
      note: `government fee ${p.childOrder} requested`,
    });
    return undefined;
  }

  private feePaid(p: LifecyclePayload<"government_fee_paid">): Refusal | undefined {
    const s = this.state;
    if (!s.governmentFeeOrders.includes(p.childOrder)) s.governmentFeeOrders.push(p.childOrder);
    s.governmentFee = "paid";
    if (s.stage === "awaiting_government_fee") this.advance();
    return undefined;
  }

  private approved(p: LifecyclePayload<"approved">): Refusal | undefined {
    const s = this.state;
    s.approval = { actor: p.actor, at: this.nowIso() };
    this.emit({ kind: "resolve_task", dedupeKey: approvalTaskKey(s.orderNumber), note: approvalNote(p.actor) });
    this.fulfil();
    return undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Fulfilment results

  private cycleFor(id: string): Cycle | undefined {
    return this.state.cycles.find((c) => c.id === id);
  }

  private filingSucceeded(p: LifecyclePayload<"filing_succeeded">): Refusal | undefined {
    const cycle = this.cycleFor(p.cycle);
    if (!cycle) return { code: "WRONG_SUBJECT", message: `no cycle "${p.cycle}"` };
    cycle.documents = dedupeDocuments([...cycle.documents, ...p.documents]);
    if (p.matches !== undefined) cycle.matches = (cycle.matches ?? 0) + p.matches;
    if (p.matches) {
      this.emit({
        kind: "open_task",
        task: {
          kind: "screening_review",
          title: `Review ${p.matches} possible exclusion match${p.matches === 1 ? "" : "es"} for order ${this.state.orderNumber} (${cycle.label})`,
          detail: { order: this.state.orderNumber, cycle: cycle.id, matches: p.matches },
          dedupeKey: `screening-review:${this.state.orderNumber}:${cycle.id}`,
        },
      });
    }
    if (p.included) return undefined; // The bundle's screening: the order's own fulfilment completes it.
    if (cycle.status === "completed") return { code: "STALE", message: `${cycle.label} is already completed` };
    this.complete(cycle, p.confirmation, { kind: "system", source: p.by });
    return undefined;
  }

  private filingFailed(p: LifecyclePayload<"filing_failed">): Refusal | undefined {
    const s = this.state;
    const cycle = this.cycleFor(p.cycle);
    if (!cycle || cycle.status === "completed") return { code: "STALE", message: `no open cycle "${p.cycle}"` };
    if (p.attempt !== cycle.attempts) {
      return { code: "STALE", message: `attempt ${p.attempt} is not the current one (${cycle.attempts})` };
    }
    // Any doubt ends with a person (DESIGN.md, "Filings"): never a guess, never a silent retry.
    s.stage = "needs_manual_filing";
    const task = this.svc.fulfillment.kind === "admin_assisted" ? this.svc.fulfillment.task : this.svc.slug;
    this.openFilingTask(cycle, task, `File ${this.svc.displayName} by hand for order ${s.orderNumber}`, p.reason);
    return undefined;
  }

  private documentGenerated(p: LifecyclePayload<"document_generated">): Refusal | undefined {
    const s = this.state;
    const cycle = this.cycleFor(p.cycle);
    if (!cycle || cycle.status === "completed") return { code: "STALE", message: `no open cycle "${p.cycle}"` };
    cycle.documents = dedupeDocuments([...cycle.documents, ...p.documents]);
    s.stage = "needs_manual_filing";
    this.openFilingTask(
      cycle,
      this.svc.fulfillment.kind === "generated_document" ? this.svc.fulfillment.template : this.svc.slug,
      `Submit the generated ${this.svc.displayName} for order ${s.orderNumber}`,
    );
    return undefined;
  }

  private filedManually(p: LifecyclePayload<"filed_manually">): Refusal | undefined {
    const cycle = currentCycle(this.state);
    if (!cycle) return { code: "STALE", message: "no cycle is open" };
    cycle.documents = dedupeDocuments([...cycle.documents, ...p.documents]);
    this.complete(cycle, p.confirmation, p.actor);
    return undefined;
  }

  private complete(cycle: Cycle, confirmation: string | undefined, actor: Actor): void {
    const s = this.state;
    cycle.status = "completed";
    cycle.completedAt = this.nowIso();
    if (confirmation) cycle.confirmation = confirmation;
    s.completedAt = cycle.completedAt;
    s.nextDueOn = nextDueDate(this.svc, s.intake, this.ctx.now);
    s.stage = "completed";
    this.emit({
      kind: "resolve_task",
      dedupeKey: filingTaskKey(s.orderNumber, cycle.id),
      note: `completed${confirmation ? ` (confirmation ${confirmation})` : ""} by ${approvalNote(actor)}`,
    });
    this.emit({
      kind: "email_customer",
      messageKey: `completed.${cycle.id}`,
      email: {
        template: "completion",
        cycle: cycle.id,
        cycleLabel: cycle.label,
        ...(confirmation ? { confirmation } : {}),
        documents: cycle.documents,
      },
    });
    // A renewal paid while this cycle was running starts now.
    if (currentCycle(s)) this.fulfil();
  }

  // -------------------------------------------------------------------------------------------
  // Cancellation and the bundle's invitation

  private adminCancelled(p: LifecyclePayload<"admin_cancelled">): Refusal | undefined {
    const s = this.state;
    s.cancelledBy = p.actor;
    // Recorded as the payment fact `cancelled`: it outranks every stage, and any later payment
    // event is still kept (a refund of this order is the operator's next step in Stripe).
    s.facts = { ...s.facts, cancelled: true };
    this.endOrder(`order cancelled by ${approvalNote(p.actor)}: ${p.reason}`);
    // A cancelled subscription must not be charged again (Stripe then sends
    // customer.subscription.deleted, a fact this order still records).
    if (s.recurring) this.emit({ kind: "cancel_subscription", reason: p.reason });
    return undefined;
  }

  /** A recurring service a first-cycle-only inclusion hints at: invite the customer to it later. */
  private scheduleInvitation(): void {
    const s = this.state;
    const target = this.svc.includes.find(
      (i) => i.scope === "first_cycle_only" && getService(i.slug)?.billingInterval !== "none",
    );
    if (!target) return;
    s.invitation = { slug: target.slug, status: "scheduled" };
    this.emit({
      kind: "schedule",
      reminder: "bundle_invitation",
      n: 1,
      round: 1,
      dueAt: new Date(this.ctx.now.getTime() + this.ctx.policy.invitation.afterDays * 86_400_000).toISOString(),
    });
  }

  private invitationDue(): Refusal | undefined {
    const s = this.state;
    if (!s.invitation || s.invitation.status !== "scheduled" || !s.paidAt) {
      return { code: "STALE", message: "no invitation is scheduled" };
    }
    s.invitation = { ...s.invitation, status: "done" };
    const until = new Date(s.paidAt).getTime() + this.ctx.policy.invitation.untilDays * 86_400_000;
    // Past the window (the machine was away): the moment has passed; sending late would be spam.
    if (this.ctx.now.getTime() > until) return undefined;
    this.emit({ kind: "email_customer", messageKey: "bundle-invitation", email: { template: "bundle_invitation" } });
    return undefined;
  }
}

export const approvalTaskKey = (orderNumber: string) => `approve:${orderNumber}`;
export const filingTaskKey = (orderNumber: string, cycle: string) => `filing:${orderNumber}:${cycle}`;

function approvalNote(actor: Actor): string {
  return actor.kind === "admin" ? actor.email : actor.kind === "system" ? actor.source : "the customer";
}

function hasValue(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === "string") return value.trim() !== "";
  return true;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Later values win; nested objects (addresses, the officer) merge field by field; arrays replace. */
export function mergeIntake(base: Record<string, unknown>, update: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(update)) {
    if (value === undefined) continue;
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? mergeIntake(out[key], value) : value;
  }
  return out;
}

function dedupeDocuments<T extends { r2Key: string }>(documents: T[]): T[] {
  const seen = new Set<string>();
  return documents.filter((d) => (seen.has(d.r2Key) ? false : (seen.add(d.r2Key), true)));
}

/** Every status and the events it accepts: for docs/orders.md and the exhaustive test. */
export function transitionRows(): { status: OrderStatus; accepts: OrderEventType[] }[] {
  return ORDER_STATUSES.map((status) => ({ status, accepts: accepts(status) }));
}
