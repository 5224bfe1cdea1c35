import { STATUS_LABELS } from "../domain/orders/order-status";
import type { FC } from "hono/jsx";
import { formatCents } from "../domain/catalog/money";
import { formatBps, PAYMENT_METHOD_LABELS, type PaymentMethod } from "../domain/catalog/payment-methods";
import type { FeeItem } from "../domain/orders/government-fee-order";

/** Pieces shared by the customer pages. Everything rendered here is escaped by hono/jsx. */

/** Government-fee child orders are shown "Awaiting payment" like an invoice; the rest as the domain names them. */
const PAGE_STATUS_LABELS: Record<string, string> = { ...STATUS_LABELS, pending_payment: "Awaiting payment" };

export function statusLabel(status: string): string {
  return PAGE_STATUS_LABELS[status] ?? sentence(status);
}

function sentence(code: string): string {
  const words = code.replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export const StatusBadge: FC<{ status: string }> = ({ status }) => <span class="status">{statusLabel(status)}</span>;

export function methodLabel(method: string): string {
  return (PAYMENT_METHOD_LABELS as Record<string, string>)[method] ?? sentence(method);
}

export function surchargeText(bps: number, cents: number): string {
  return bps === 0 ? "No surcharge" : `${formatBps(bps)} surcharge (${formatCents(cents)})`;
}

/** Dates as the customer reads them: UTC, to the minute, unambiguous. */
export function when(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export const FeeBreakdown: FC<{ items: readonly FeeItem[]; totalCents: number; caption?: string }> = ({
  items,
  totalCents,
  caption,
}) => (
  <table>
    <caption>{caption ?? "What the government fee covers"}</caption>
    <thead>
      <tr>
        <th scope="col">Item</th>
        <th scope="col" class="num">
          Amount
        </th>
      </tr>
    </thead>
    <tbody>
      {items.map((item) => (
        <tr>
          <td>
            {item.label}
            {item.kind === "agency_processing_fee" ? (
              <small> (the agency's own processing fee, passed through at cost)</small>
            ) : null}
            {item.source ? (
              <>
                <br />
                <small>Source: {item.source}</small>
              </>
            ) : null}
          </td>
          <td class="num">{formatCents(item.cents)}</td>
        </tr>
      ))}
      <tr>
        <td>Docket service fee</td>
        <td class="num">{formatCents(0)}</td>
      </tr>
    </tbody>
    <tfoot>
      <tr>
        <th scope="row">Total before any payment surcharge</th>
        <td class="num">{formatCents(totalCents)}</td>
      </tr>
    </tfoot>
  </table>
);

export interface LineView {
  label: string;
  amountCents: number;
}

/** An order's stored lines (jsonb), read defensively: anything that is not a priced line is skipped. */
export function linesOf(lines: unknown): LineView[] {
  if (!Array.isArray(lines)) return [];
  return (lines as unknown[]).flatMap((raw) => {
    if (typeof raw !== "object" || raw === null) return [];
    const l = raw as { label?: unknown; amountCents?: unknown };
    return typeof l.amountCents === "number" && Number.isSafeInteger(l.amountCents)
      ? [{ label: typeof l.label === "string" ? l.label : "", amountCents: l.amountCents }]
      : [];
  });
}

export const LinesTable: FC<{ lines: LineView[]; totalCents: number; totalLabel?: string }> = ({
  lines,
  totalCents,
  totalLabel,
}) => (
  <table>
    <caption>Price</caption>
    <thead>
      <tr>
        <th scope="col">Line</th>
        <th scope="col" class="num">
          Amount
        </th>
      </tr>
    </thead>
    <tbody>
      {lines.map((l) => (
        <tr>
          <td>{l.label}</td>
          <td class="num">{formatCents(l.amountCents)}</td>
        </tr>
      ))}
    </tbody>
    <tfoot>
      <tr>
        <th scope="row">{totalLabel ?? "Total"}</th>
        <td class="num">{formatCents(totalCents)}</td>
      </tr>
    </tfoot>
  </table>
);

export interface HistoryItem {
  at: Date;
  label: string;
  detail?: string;
}

export const History: FC<{ items: HistoryItem[] }> = ({ items }) =>
  items.length === 0 ? (
    <p class="muted">Nothing has happened to this order yet.</p>
  ) : (
    <ol>
      {items.map((h) => (
        <li>
          <time datetime={h.at.toISOString()}>{when(h.at)}</time>: {h.label}
          {h.detail ? <small> ({h.detail})</small> : null}
        </li>
      ))}
    </ol>
  );

const EVENT_LABELS: Record<string, string> = {
  payment_processing: "Bank payment started",
  payment_succeeded: "Payment received",
  payment_failed: "Payment failed",
  renewal_paid: "Renewal paid",
  checkout_expired: "Checkout page expired without payment",
  cancelled: "Cancelled",
  refund_partial: "Partly refunded",
  refunded: "Refunded",
  government_fee_requested: "Government fee requested",
  government_fee_paid: "Government fee paid",
  government_fee_superseded: "Replaced by a corrected government fee",
  fee_disputed: "You told us the fee looks wrong: payment on hold",
  fee_dispute_resolved: "We checked the fee: payment possible again",
  intake_enriched: "Details filled in from public records",
  intake_submitted: "Details received",
  intake_reminder_due: "Reminder sent",
  intake_link_resent: "Link to your details form sent again",
  signature_received: "Signed",
  customer_answered: "Your answer received",
  approved: "Approved for filing",
  filing_succeeded: "Filed",
  filing_failed: "Handed to our filing team",
  document_generated: "Documents prepared",
  filed_manually: "Filed",
  admin_cancelled: "Cancelled",
};

/**
 * Internal bookkeeping a customer does not need to read: admin notes (written for colleagues),
 * re-armed reminders, the invitation timer.
 */
const HIDDEN_EVENTS = new Set([
  "checkout_session_created",
  "note_added",
  "intake_reminders_rearmed",
  "bundle_invitation_due",
]);

/** An order's history for the customer: known events in words, internals left out, no payloads but safe ones. */
export function historyItems(events: readonly { type: string; payload: unknown; occurredAt: Date }[]): HistoryItem[] {
  return events
    .filter((e) => !HIDDEN_EVENTS.has(e.type))
    .filter((e) => !(e.type === "intake_enriched" && (e.payload as { found?: boolean } | null)?.found !== true))
    .map((e) => {
      const p = (e.payload ?? {}) as Record<string, unknown>;
      let detail: string | undefined;
      if ((e.type === "filing_succeeded" || e.type === "filed_manually") && typeof p.confirmation === "string")
        detail = `confirmation ${p.confirmation}`;
      if (e.type === "filing_succeeded" && typeof p.included === "string") detail = "included screening certificate";
      if (e.type === "customer_answered" && (p.answer === "yes" || p.answer === "no")) detail = p.answer;
      if (e.type === "government_fee_paid" && typeof p.childOrder === "string") detail = `order ${p.childOrder}`;
      if (e.type === "government_fee_superseded" && typeof p.replacedBy === "string")
        detail = `by order ${p.replacedBy}`;
      if (e.type === "refund_partial" && typeof p.amountRefundedCents === "number")
        detail = `${formatCents(p.amountRefundedCents)} refunded so far`;
      return { at: e.occurredAt, label: EVENT_LABELS[e.type] ?? sentence(e.type), ...(detail ? { detail } : {}) };
    });
}

export function isPaymentMethod(value: string): value is PaymentMethod {
  return value in PAYMENT_METHOD_LABELS;
}
