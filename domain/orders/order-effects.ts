import type { IntakeProblem } from "../catalog/intake";
import type { GovernmentFeeItem } from "../catalog/government-fees";
import type { DocumentRef } from "./order-events";

/**
 * What a transition asks the world to do. The transition table only names effects; the
 * OrderMachine stores them in an outbox in the same SQLite transaction as the event, then runs
 * them, and retries from its alarm any that failed, so an effect is never lost. Every effect is
 * safe to run twice: e-mails carry a Message-ID derived from `messageKey` and are claimed in
 * `mail_sends` before they go out (at most once), admin tasks have a dedupe key, the
 * government-fee request returns the open child, and queued jobs are applied under an
 * idempotency key.
 */

export type CustomerEmail =
  /** What is still missing, with the wizard link. `reminder` 0 is the first request. */
  | { template: "intake_request"; missing: IntakeProblem[]; reminder: number }
  | { template: "signature_request"; document: string; title: string }
  | { template: "customer_question"; questionId: string }
  | { template: "completion"; cycle: string; cycleLabel: string; confirmation?: string; documents: DocumentRef[] }
  | { template: "bundle_invitation" };

export type ReminderKind = "intake" | "bundle_invitation";

export type OrderEffect =
  /** Look the order up in public data already in the database and apply `intake_enriched`. */
  | { kind: "enrich_intake"; source: string; keyField: string; key: string }
  /** `messageKey` makes the Message-ID: the same key is the same e-mail, sent at most once. */
  | { kind: "email_customer"; messageKey: string; email: CustomerEmail }
  /** A row in the machine's schedule table; the alarm turns it into an event when due. */
  | { kind: "schedule"; reminder: ReminderKind; n: number; round: number; dueAt: string }
  | { kind: "unschedule"; reminder: ReminderKind }
  | {
      kind: "open_task";
      task: { kind: string; title: string; detail: Record<string, unknown>; dedupeKey: string };
    }
  | { kind: "resolve_task"; dedupeKey: string; note: string }
  /** Create (or find) the government-fee child order for these items and e-mail the customer. */
  | { kind: "request_government_fee"; items: GovernmentFeeItem[]; totalCents: number }
  /** A `filings` queue job: one browser-filing attempt. */
  | { kind: "dispatch_filing"; script: string; cycle: string; attempt: number }
  | { kind: "generate_document"; template: string; cycle: string; attempt: number }
  | { kind: "run_screening"; cycle: string; cycleLabel: string; attempt: number; included?: string }
  /** An admin cancelled a recurring order: Stripe must stop charging for it. */
  | { kind: "cancel_subscription"; reason: string }
  /** The order ended (cancelled, refunded): its open admin tasks are closed with this note. */
  | { kind: "close_order_tasks"; note: string };

export type OrderEffectKind = OrderEffect["kind"];
