import { describe, expect, it } from "vitest";
import { CATALOG, getService } from "../../domain/catalog/services";
import type { OrderEffect } from "../../domain/orders/order-effects";
import { ORDER_EVENT_TYPES, type OrderEventType } from "../../domain/orders/order-events";
import { currentCycle, initialOrderState, orderStatusOf, type OrderState } from "../../domain/orders/order-state";
import { ORDER_STATUSES, type OrderStatus } from "../../domain/orders/order-status";
import {
  allowedEvents,
  decide,
  targetsOf,
  TRANSITIONS,
  type MachinePolicy,
} from "../../domain/orders/transition-table";
import { INTAKE_EXAMPLES } from "../support/intake-examples";

const POLICY: MachinePolicy = {
  autoFilingServices: [],
  intakeReminders: { firstCount: 10, max: 60, firstIntervalSeconds: 86_400, laterIntervalSeconds: 604_800 },
  invitation: { afterDays: 21, untilDays: 120 },
};
const T0 = new Date("2026-11-02T15:00:00Z");
const admin = { kind: "admin", email: "ops@docket.example" } as const;

let keyCounter = 0;
function step(state: OrderState, type: string, payload: Record<string, unknown> = {}, now = T0, policy = POLICY) {
  const decision = decide(state, { type, payload }, { now, key: `k${++keyCounter}`, policy });
  if (!decision.ok) throw new Error(`${type} rejected: ${decision.rejection.code} ${decision.rejection.message}`);
  return decision;
}

/** Paid, and past enrichment (public data had nothing): where the gates begin. */
function paid(state: OrderState, now = T0, policy = POLICY): OrderState {
  const s = step(state, "payment_succeeded", {}, now, policy).state;
  return s.enrichment === "requested"
    ? step(s, "intake_enriched", { source: "test", found: false, fields: {} }, now, policy).state
    : s;
}

function fresh(slug: string, intake: Record<string, unknown> | null = null, number = "CO-2026-000001"): OrderState {
  const service = getService(slug)!;
  return initialOrderState({
    orderNumber: number,
    slug,
    hasLifecycle: true,
    interval: service.billingInterval,
    intake,
  });
}

/** A valid payload for each event in this state (the shape the adapters send). */
function samplePayload(type: OrderEventType, state: OrderState): Record<string, unknown> {
  const cycle = currentCycle(state) ?? state.cycles[state.cycles.length - 1];
  const cycleId = cycle?.id ?? "initial";
  switch (type) {
    case "payment_processing":
    case "payment_succeeded":
    case "payment_failed":
    case "checkout_expired":
    case "cancelled":
    case "refunded":
      return {};
    case "renewal_paid":
      return { invoiceId: `in_${state.cycles.length + 1}` };
    case "refund_partial":
      return { amountRefundedCents: 100 };
    case "intake_enriched":
      return { source: "fmcsa_census", found: false, fields: {} };
    case "intake_submitted":
      return { fields: {}, actor: { kind: "customer" } };
    case "intake_reminder_due":
      return { n: state.intakeRemindersSent + 1, dueAt: T0.toISOString() };
    case "intake_reminders_rearmed":
    case "intake_link_resent":
      return { actor: admin };
    case "signature_received":
      return {
        document: state.signature?.document ?? "power_of_attorney",
        r2Key: `orders/${state.orderNumber}/signatures/poa.pdf`,
        sha256: "a".repeat(64),
        signerName: "Dana Reyes",
        method: "typed",
        ip: "198.51.100.7",
        userAgent: "test",
        signedAt: T0.toISOString(),
      };
    case "customer_answered":
      return { questionId: state.question?.id ?? "sc-form-e", answer: "yes", actor: admin };
    case "government_fee_requested":
      return { childOrder: "CG-2026-000009", totalCents: 2500, actor: { kind: "system", source: "gate" } };
    case "government_fee_paid":
      return { childOrder: "CG-2026-000009" };
    case "approved":
      return { actor: admin };
    case "filing_succeeded":
      return { cycle: cycleId, by: "portal", confirmation: "UCR-778899" };
    case "filing_failed":
      return { cycle: cycleId, attempt: Math.max(1, cycle?.attempts ?? 1), reason: "portal shows a CAPTCHA" };
    case "document_generated":
      return {
        cycle: cycleId,
        attempt: Math.max(1, cycle?.attempts ?? 1),
        documents: [{ label: "Form", r2Key: `orders/${state.orderNumber}/documents/form.pdf` }],
      };
    case "filed_manually":
      return { actor: admin, confirmation: "CONF-1" };
    case "admin_cancelled":
      return { actor: admin, reason: "customer asked" };
    case "note_added":
      return { actor: admin, text: "called the customer" };
    case "bundle_invitation_due":
      return { dueAt: T0.toISOString() };
  }
}

/**
 * A state in every status, reached through the table itself: the walks below drive real
 * orders (an SC intrastate authority passes every gate; monitoring recurs) and keep the first
 * state seen in each status.
 */
function statesByStatus(): Map<OrderStatus, OrderState> {
  const seen = new Map<OrderStatus, OrderState>();
  const keep = (s: OrderState) => {
    const status = orderStatusOf(s);
    if (!seen.has(status)) seen.set(status, s);
    return s;
  };
  // SC intrastate authority: intake → signature → Form E question → fee → approval → manual filing.
  let s = keep(fresh("intrastate-authority", { usdotNumber: "3141592" }));
  s = keep(step(s, "payment_processing").state);
  s = keep(step(s, "payment_succeeded").state); // awaiting_intake (enrichment asked)
  s = keep(step(s, "intake_enriched", { source: "fmcsa_census", found: false, fields: {} }).state);
  s = keep(
    step(s, "intake_submitted", { fields: INTAKE_EXAMPLES["intrastate-authority"]!, actor: { kind: "customer" } })
      .state,
  );
  s = keep(step(s, "signature_received", samplePayload("signature_received", s)).state);
  s = keep(step(s, "customer_answered", { questionId: "sc-form-e", answer: "yes", actor: { kind: "customer" } }).state);
  s = keep(step(s, "government_fee_requested", samplePayload("government_fee_requested", s)).state);
  s = keep(step(s, "government_fee_paid", { childOrder: "CG-2026-000009" }).state);
  s = keep(step(s, "approved", { actor: admin }).state);
  s = keep(step(s, "filed_manually", { actor: admin, confirmation: "SC-COC-1" }).state);
  keep(step(s, "refunded").state);
  // UCR: a portal filing in flight.
  let u = paid(fresh("ucr-registration", INTAKE_EXAMPLES["ucr-registration"]!));
  u = step(u, "government_fee_paid", { childOrder: "CG-2026-000010" }).state;
  keep(step(u, "approved", { actor: admin }).state); // filing
  // Monthly monitoring whose renewal failed.
  const m = paid(fresh("oig-sam-screening", INTAKE_EXAMPLES["oig-sam-screening"]!));
  keep(step(m, "payment_failed", { attempt: "in_2" }).state);
  keep(step(fresh("ucr-registration"), "checkout_expired").state); // cancelled
  // A government-fee child order: money only.
  const child = initialOrderState({
    orderNumber: "CG-2026-000011",
    slug: "ucr-registration",
    hasLifecycle: false,
    interval: "none",
    intake: null,
  });
  keep(step(child, "payment_succeeded").state);
  return seen;
}

describe("the transition table", () => {
  const states = statesByStatus();

  it("has a state for every status, reached through the table", () => {
    expect([...states.keys()].sort()).toEqual([...ORDER_STATUSES].sort());
  });

  it("every status × event pair is a defined transition or a rejection naming the allowed events", () => {
    let defined = 0;
    let rejected = 0;
    for (const status of ORDER_STATUSES) {
      const state = states.get(status)!;
      for (const type of ORDER_EVENT_TYPES) {
        const decision = decide(
          state,
          { type, payload: samplePayload(type, state) },
          { now: T0, key: "x", policy: POLICY },
        );
        const allowed = allowedEvents(state);
        if (!allowed.includes(type)) {
          rejected++;
          expect(decision.ok, `${status} × ${type} must be rejected`).toBe(false);
          if (!decision.ok) {
            expect(["EVENT_NOT_ALLOWED", "NOT_RECURRING"]).toContain(decision.rejection.code);
            expect(decision.rejection.status).toBe(status);
            expect(decision.rejection.allowed).toEqual(allowed);
          }
          continue;
        }
        defined++;
        if (decision.ok) {
          expect(targetsOf(status, type), `${status} × ${type} → ${decision.status} is not in the table`).toContain(
            decision.status,
          );
        } else {
          // Accepted by the table, refused by a guard of its own (never "not allowed").
          expect(decision.rejection.code).not.toBe("EVENT_NOT_ALLOWED");
        }
      }
    }
    expect(defined + rejected).toBe(ORDER_STATUSES.length * ORDER_EVENT_TYPES.length);
    expect(rejected).toBeGreaterThan(0);
  });

  it("random walks over every service never take a transition the table does not declare", () => {
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    let transitions = 0;
    for (const service of CATALOG) {
      for (let walk = 0; walk < 30; walk++) {
        let state = fresh(service.slug, walk % 2 === 0 ? (INTAKE_EXAMPLES[service.slug] ?? null) : null);
        for (let i = 0; i < 25; i++) {
          const allowed = allowedEvents(state);
          const type = allowed[Math.floor(random() * allowed.length)]!;
          const payload =
            type === "intake_submitted" && random() < 0.5
              ? { fields: INTAKE_EXAMPLES[service.slug] ?? {}, actor: { kind: "customer" } }
              : samplePayload(type, state);
          const from = orderStatusOf(state);
          const decision = decide(state, { type, payload }, { now: T0, key: `w${i}`, policy: POLICY });
          if (!decision.ok) {
            expect(decision.rejection.code).not.toBe("EVENT_NOT_ALLOWED");
            continue;
          }
          expect(targetsOf(from, type), `${service.slug}: ${from} × ${type} → ${decision.status}`).toContain(
            decision.status,
          );
          transitions++;
          state = decision.state;
        }
      }
    }
    expect(transitions).toBeGreaterThan(3000);
  });

  it("declares every status and only known events", () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...ORDER_STATUSES].sort());
    for (const row of Object.values(TRANSITIONS)) {
      for (const type of Object.keys(row)) expect(ORDER_EVENT_TYPES).toContain(type);
    }
  });
});

const kinds = (effects: OrderEffect[]) => effects.map((e) => e.kind);

describe("gates", () => {
  it("an admin action on a cancelled order is refused with the state and what it allows", () => {
    let s = paid(fresh("ucr-registration", INTAKE_EXAMPLES["ucr-registration"]!));
    s = step(s, "admin_cancelled", { actor: admin, reason: "duplicate order" }).state;
    expect(orderStatusOf(s)).toBe("cancelled");
    const d = decide(s, { type: "approved", payload: { actor: admin } }, { now: T0, key: "a", policy: POLICY });
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.rejection).toMatchObject({ code: "EVENT_NOT_ALLOWED", status: "cancelled" });
      expect(d.rejection.allowed).not.toContain("approved");
    }
  });

  it("enrichment comes before the customer is asked, and fills only what the customer did not give", () => {
    const s0 = fresh("ucr-registration", { usdotNumber: "3141592", legalName: "Customer Typed LLC" });
    const paid = step(s0, "payment_succeeded");
    expect(paid.status).toBe("awaiting_intake");
    expect(kinds(paid.effects)).toEqual(["enrich_intake"]);
    const enriched = step(paid.state, "intake_enriched", {
      source: "fmcsa_census",
      found: true,
      fields: { legalName: "Census Name LLC", baseState: "SC", powerUnits: 4 },
    });
    expect(enriched.state.intake.legalName).toBe("Customer Typed LLC");
    expect(enriched.state.enrichedFields).toEqual(["baseState", "powerUnits"]);
    const request = enriched.effects.find((e) => e.kind === "email_customer");
    expect(request).toMatchObject({ email: { template: "intake_request", reminder: 0 } });
    const missing = (request as Extract<OrderEffect, { kind: "email_customer" }>).email;
    expect(missing.template === "intake_request" && missing.missing.map((p) => p.field).sort()).toEqual(
      ["classification", "email", "registrationYear"].sort(),
    );
  });

  it("intake reminders: daily for the first 10, then weekly, 60 in all, from the due times", () => {
    let s = step(fresh("ucr-registration", { usdotNumber: "99" }), "payment_succeeded").state;
    let d = step(s, "intake_enriched", { source: "fmcsa_census", found: false, fields: {} });
    const dues: number[] = [];
    let schedule = d.effects.find((e) => e.kind === "schedule");
    s = d.state;
    while (schedule && schedule.kind === "schedule") {
      const due = new Date(schedule.dueAt);
      dues.push(due.getTime());
      d = step(s, "intake_reminder_due", { n: schedule.n, dueAt: schedule.dueAt }, due);
      s = d.state;
      schedule = d.effects.find((e) => e.kind === "schedule");
    }
    expect(dues).toHaveLength(60);
    const gaps = dues.map((t, i) => (t - (i === 0 ? T0.getTime() : dues[i - 1]!)) / 86_400_000);
    expect(gaps.slice(0, 10)).toEqual(Array(10).fill(1));
    expect(gaps.slice(10)).toEqual(Array(50).fill(7));
    expect(s.intakeRemindersSent).toBe(60);
  });

  it("South Carolina Form E: no holds with a broker-referral task, an admin's later yes moves on", () => {
    let s = paid(fresh("intrastate-authority", INTAKE_EXAMPLES["intrastate-authority"]!));
    s = step(s, "signature_received", samplePayload("signature_received", s)).state;
    expect(orderStatusOf(s)).toBe("awaiting_customer_answer");
    const no = step(s, "customer_answered", { questionId: "sc-form-e", answer: "no", actor: { kind: "customer" } });
    expect(no.status).toBe("awaiting_customer_answer");
    expect(no.effects).toEqual([
      expect.objectContaining({
        kind: "open_task",
        task: expect.objectContaining({ kind: "insurance-broker-referral" }),
      }),
    ]);
    const again = decide(
      no.state,
      { type: "customer_answered", payload: { questionId: "sc-form-e", answer: "yes", actor: { kind: "customer" } } },
      { now: T0, key: "b", policy: POLICY },
    );
    expect(again.ok).toBe(false);
    const yes = step(no.state, "customer_answered", { questionId: "sc-form-e", answer: "yes", actor: admin });
    expect(yes.status).toBe("awaiting_government_fee");
    const fee = yes.effects.find((e) => e.kind === "request_government_fee");
    expect(fee).toMatchObject({ kind: "request_government_fee", totalCents: 2_500 });
  });

  it("automatic filing passes approval only for services the operator switched on", () => {
    const base = fresh("ucr-registration", INTAKE_EXAMPLES["ucr-registration"]!);
    const manual = step(paid(base), "government_fee_paid", { childOrder: "CG-2026-000001" });
    expect(manual.status).toBe("ready_to_file");
    const auto = step(
      paid(base, T0, { ...POLICY, autoFilingServices: ["ucr-registration"] }),
      "government_fee_paid",
      { childOrder: "CG-2026-000001" },
      T0,
      { ...POLICY, autoFilingServices: ["ucr-registration"] },
    );
    expect(auto.status).toBe("filing");
    expect(auto.effects).toContainEqual(
      expect.objectContaining({ kind: "dispatch_filing", script: "ucr-registration", cycle: "initial", attempt: 1 }),
    );
  });

  it("monthly monitoring: each paid renewal is its own labelled cycle with a new screening", () => {
    let s = paid(fresh("oig-sam-screening", INTAKE_EXAMPLES["oig-sam-screening"]!));
    s = step(s, "approved", { actor: admin }).state;
    for (let n = 1; n <= 3; n++) {
      const cycle = currentCycle(s)!;
      expect(cycle.label).toBe(`Monthly cycle ${n}`);
      const done = step(s, "filing_succeeded", {
        cycle: cycle.id,
        by: "screening",
        matches: 0,
        documents: [{ label: "Certificate", r2Key: `orders/CO-2026-000001/certificates/${n}.pdf` }],
      });
      expect(done.status).toBe("completed");
      expect(done.state.nextDueOn).not.toBeNull();
      const renewal = step(done.state, "renewal_paid", { invoiceId: `in_${n + 1}` });
      expect(renewal.status).toBe("filing");
      expect(renewal.effects).toContainEqual(expect.objectContaining({ kind: "run_screening", cycle: `in_${n + 1}` }));
      s = renewal.state;
    }
    expect(s.cycles.map((c) => c.label)).toEqual([
      "Monthly cycle 1",
      "Monthly cycle 2",
      "Monthly cycle 3",
      "Monthly cycle 4",
    ]);
  });
});
