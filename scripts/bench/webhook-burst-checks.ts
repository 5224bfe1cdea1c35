import { expectedOrderEvents, type FactType, type PlannedEvent, type PlannedOrder } from "./webhook-burst-plan";

/**
 * The burst's invariant, from what Postgres holds afterwards (pure: rows in, verdict out).
 * Zero double transitions and nothing lost:
 * - every event delivered is recorded once in stripe_events, processed (processed_at set),
 *   with no error and the outcome its type calls for;
 * - every order has exactly the order_events its events imply: one row per fact key (one per
 *   Stripe event, one per renewal invoice), no more (doubled) and no fewer (lost), and no key
 *   it should not have;
 * - every order ends in the status its facts add up to;
 * - a renewal invoice that failed twice sent its customer exactly one nudge.
 * The unique index on (order_id, idempotency_key) forbids literal duplicates, so the counts are
 * compared with the plan rather than looked for in the table.
 */

export interface StripeEventRowLite {
  event_id: string;
  type: string;
  processed: boolean;
  outcome: string | null;
  error: string | null;
}

export interface OrderEventRowLite {
  number: string;
  type: string;
  idempotency_key: string;
}

export interface OrderRowLite {
  number: string;
  status: string;
}

export interface InvariantReport {
  pass: boolean;
  summary: string;
  /** Findings, most telling first, capped; empty on a pass. */
  problems: string[];
  stats: {
    events: number;
    recorded: number;
    unprocessed: number;
    withError: number;
    unexpectedOutcome: number;
    outcomes: Record<string, number>;
    orders: number;
    ordersDoubled: number;
    ordersLost: number;
    ordersWrongStatus: number;
    extraRows: number;
    missingRows: number;
    failedInvoices: number;
    nudgesWrong: number;
    deadLetters: number;
  };
}

const PROBLEMS_SHOWN = 25;

/** Outcomes a processed event may end with: applied, or deduplicated by the machine. */
function outcomeFits(event: PlannedEvent, outcome: string | null): boolean {
  if (event.fact === null) return outcome === "ignored";
  // "duplicate": two deliveries of it were processed side by side and the OrderMachine kept
  // one; the one that finished first wrote the outcome. Either way the fact is there once.
  return outcome === "applied" || outcome === "duplicate";
}

export function checkInvariant(input: {
  events: readonly PlannedEvent[];
  orders: readonly PlannedOrder[];
  stripeEvents: readonly StripeEventRowLite[];
  orderEvents: readonly OrderEventRowLite[];
  orderRows: readonly OrderRowLite[];
  /** mail_sends rows per failed renewal invoice id (payment-failed nudges). */
  nudges: ReadonlyMap<string, number>;
  deadLetters: number;
}): InvariantReport {
  const problems: string[] = [];
  const note = (p: string) => problems.push(p);

  const recorded = new Map(input.stripeEvents.map((r) => [r.event_id, r]));
  let unprocessed = 0;
  let withError = 0;
  let unexpectedOutcome = 0;
  const outcomes: Record<string, number> = {};
  for (const e of input.events) {
    const row = recorded.get(e.id);
    if (!row) {
      note(`${e.id} (${e.type}, ${e.orderNumber}) is not in stripe_events: every delivery of it failed`);
      continue;
    }
    const key = row.processed ? (row.outcome ?? "(no outcome)") : "(unprocessed)";
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    if (!row.processed) {
      unprocessed++;
      note(`${e.id} (${e.type}, ${e.orderNumber}) is recorded but not processed`);
    }
    if (row.error) {
      withError++;
      note(`${e.id} (${e.type}, ${e.orderNumber}) has an error: ${row.error.slice(0, 200)}`);
    }
    if (row.processed && !outcomeFits(e, row.outcome)) {
      unexpectedOutcome++;
      note(`${e.id} (${e.type}, ${e.orderNumber}) ended "${row.outcome}", expected ${e.fact ? "applied" : "ignored"}`);
    }
  }

  const expected = expectedOrderEvents(input.events);
  const actual = new Map<string, { counts: Record<string, number>; keys: Set<string> }>();
  for (const r of input.orderEvents) {
    const entry = actual.get(r.number) ?? { counts: {}, keys: new Set<string>() };
    entry.counts[r.type] = (entry.counts[r.type] ?? 0) + 1;
    entry.keys.add(r.idempotency_key);
    actual.set(r.number, entry);
  }
  let ordersDoubled = 0;
  let ordersLost = 0;
  let extraRows = 0;
  let missingRows = 0;
  for (const order of input.orders) {
    const want = expected.get(order.number) ?? { counts: {}, keys: new Set<string>() };
    const got = actual.get(order.number) ?? { counts: {}, keys: new Set<string>() };
    const types = new Set<string>([...Object.keys(want.counts), ...Object.keys(got.counts)]);
    let doubled = false;
    let lost = false;
    const diffs: string[] = [];
    for (const t of types) {
      const w = want.counts[t as FactType] ?? 0;
      const g = got.counts[t] ?? 0;
      if (g > w) doubled = true;
      if (g < w) lost = true;
      if (g !== w) diffs.push(`${t} ${g} (expected ${w})`);
    }
    const extra = [...got.keys].filter((k) => !want.keys.has(k));
    const missing = [...want.keys].filter((k) => !got.keys.has(k));
    extraRows += extra.length;
    missingRows += missing.length;
    if (doubled || extra.length > 0) ordersDoubled++;
    if (lost || missing.length > 0) ordersLost++;
    if (diffs.length > 0 || extra.length > 0 || missing.length > 0) {
      note(
        `${order.number} (${order.kind}): ${diffs.join(", ") || "counts right"}` +
          (extra.length ? `; keys not expected: ${extra.slice(0, 3).join(", ")}` : "") +
          (missing.length ? `; keys missing: ${missing.slice(0, 3).join(", ")}` : ""),
      );
    }
  }

  const statuses = new Map(input.orderRows.map((r) => [r.number, r.status]));
  let ordersWrongStatus = 0;
  for (const order of input.orders) {
    const status = statuses.get(order.number);
    if (status !== order.finalStatus) {
      ordersWrongStatus++;
      note(`${order.number} (${order.kind}) ended ${status ?? "(no row)"}, expected ${order.finalStatus}`);
    }
  }

  let failedInvoices = 0;
  let nudgesWrong = 0;
  for (const order of input.orders) {
    for (const invoice of order.failedInvoices) {
      failedInvoices++;
      const n = input.nudges.get(invoice) ?? 0;
      if (n !== 1) {
        nudgesWrong++;
        note(`${order.number}: invoice ${invoice} failed twice and sent ${n} nudges, expected 1`);
      }
    }
  }
  if (input.deadLetters > 0) note(`${input.deadLetters} fulfillment messages dead-lettered during the burst`);

  const stats = {
    events: input.events.length,
    recorded: input.events.filter((e) => recorded.has(e.id)).length,
    unprocessed,
    withError,
    unexpectedOutcome,
    outcomes,
    orders: input.orders.length,
    ordersDoubled,
    ordersLost,
    ordersWrongStatus,
    extraRows,
    missingRows,
    failedInvoices,
    nudgesWrong,
    deadLetters: input.deadLetters,
  };
  const pass = problems.length === 0;
  const summary =
    `${stats.recorded}/${stats.events} events recorded, ${stats.events - unprocessed - (stats.events - stats.recorded)} processed` +
    `${withError ? `, ${withError} with errors` : ""}${unexpectedOutcome ? `, ${unexpectedOutcome} with a wrong outcome` : ""}; ` +
    `${stats.orders} orders: ${ordersDoubled} doubled, ${ordersLost} lost, ${ordersWrongStatus} in a wrong status; ` +
    `nudges ${failedInvoices - nudgesWrong}/${failedInvoices} exactly once` +
    (input.deadLetters ? `; ${input.deadLetters} dead letters` : "");
  const shown = problems.slice(0, PROBLEMS_SHOWN);
  if (problems.length > PROBLEMS_SHOWN) shown.push(`… and ${problems.length - PROBLEMS_SHOWN} more`);
  return { pass, summary, problems: shown, stats };
}
