import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { LIFECYCLE_EVENT_TYPES, type OrderEventType } from "../../domain/orders/order-events";
import { PAID_STATUSES, ORDER_STATUSES, STATUS_LABELS, type OrderStatus } from "../../domain/orders/order-status";
import { PAYMENT_EVENT_TYPES } from "../../domain/orders/payment-state";
import { targetsOf, transitionRows } from "../../domain/orders/transition-table";

/**
 * docs/orders.md's state diagram and table, generated from the transition table
 * (domain/orders/transition-table.ts) so the document cannot drift from the code:
 * `npm run docs:orders` rewrites the block between the markers, and test/node/orders-doc.test.ts
 * fails when the committed document differs from what this prints.
 */

export const BEGIN = "<!-- BEGIN GENERATED: npm run docs:orders -->";
export const END = "<!-- END GENERATED -->";

const lifecycle = new Set<OrderEventType>(LIFECYCLE_EVENT_TYPES);

export function orderStateDiagram(): string {
  const edges = new Map<string, Set<string>>();
  const add = (from: string, to: string, label: string) => {
    const key = `${from} --> ${to}`;
    const labels = edges.get(key) ?? new Set<string>();
    labels.add(label);
    edges.set(key, labels);
  };
  for (const { status, accepts } of transitionRows()) {
    for (const type of accepts) {
      if (!lifecycle.has(type) || type === "admin_cancelled") continue;
      for (const to of targetsOf(status, type)) if (to !== status && status !== "payment_failed") add(status, to, type);
    }
  }
  // Money: the first payment leads to the first unmet gate (a choice); the other payment facts
  // move between the unpaid statuses. Cancellation and refunds reach every status: one note.
  const firstGates = targetsOf("pending_payment", "payment_succeeded").filter(
    (s) => PAID_STATUSES.includes(s) && s !== "paid",
  );
  add("pending_payment", "payment_processing", "payment_processing");
  add("pending_payment", "first_gate", "payment_succeeded");
  add("payment_processing", "first_gate", "payment_succeeded");
  add("payment_processing", "payment_failed", "payment_failed");
  add("payment_failed", "first_gate", "payment_succeeded");
  for (const gate of firstGates) add("first_gate", gate, "first unmet gate");
  add("pending_payment", "cancelled", "checkout_expired");
  for (const to of targetsOf("completed", "renewal_paid")) {
    if (to === "filing" || to === "needs_manual_filing") add("completed", to, "renewal_paid");
  }

  const lines = [
    "```mermaid",
    "stateDiagram-v2",
    "  direction LR",
    "  state first_gate <<choice>>",
    "  [*] --> pending_payment",
    ...[...edges.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([edge, labels]) => `  ${edge}: ${[...labels].sort().join(" / ")}`),
    "  completed --> [*]",
    "  cancelled --> [*]",
    "  refunded --> [*]",
    "  note right of cancelled: admin_cancelled (any open status), cancelled (Stripe), checkout_expired",
    "  note right of refunded: refunded (any status)",
    "```",
  ];
  return lines.join("\n");
}

export function orderStateTable(): string {
  const payment = new Set<string>(PAYMENT_EVENT_TYPES);
  const rows = transitionRows().map(({ status, accepts }) => {
    const own = accepts.filter((t) => !payment.has(t));
    return `| \`${status}\` | ${STATUS_LABELS[status as OrderStatus]} | ${own.length > 0 ? own.map((t) => `\`${t}\``).join(", ") : "—"} |`;
  });
  return [
    "| status | shown to the customer as | accepts (besides the payment events, accepted everywhere) |",
    "| --- | --- | --- |",
    ...rows,
  ].join("\n");
}

export function generatedBlock(): string {
  return [BEGIN, "", orderStateDiagram(), "", orderStateTable(), "", END].join("\n");
}

export const ORDERS_DOC = fileURLToPath(new URL("../../docs/orders.md", import.meta.url));

/** The document with its generated block replaced. */
export function withGeneratedBlock(doc: string): string {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`docs/orders.md has no ${BEGIN} … ${END} block`);
  return doc.slice(0, start) + generatedBlock() + doc.slice(end + END.length);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const doc = readFileSync(ORDERS_DOC, "utf8");
  writeFileSync(ORDERS_DOC, withGeneratedBlock(doc));
  console.log(`docs/orders.md: ${ORDER_STATUSES.length} statuses written`);
}
