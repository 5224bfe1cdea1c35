import type pg from "pg";
import { checkIntake } from "../../domain/catalog/intake";
import { getService } from "../../domain/catalog/services";
import {
  adminAuthorization,
  expectJson,
  loadResultFrom,
  percentile,
  pool,
  requestJson,
  runTag,
  sleep,
  timeRequests,
  versus,
  watchReloads,
  withPostgres,
  type ScenarioCheck,
  type ScenarioContext,
  type ScenarioOutcome,
  type ScenarioRow,
  type StackScenario,
  type TimedRequests,
} from "./stack-scenario";

/**
 * The OrderMachine issue's figures, through the paths production uses:
 *
 * `order-events`: events applied per second by one OrderMachine, and across 1,000 orders at
 * once. Every event is an admin note (POST /api/admin/orders/:number/notes, signed in with
 * POST /api/admin/login): the session guard, the order looked up in Postgres, then the order's
 * Durable Object appends the event to its SQLite log and mirrors it to Postgres (`order_events`)
 * before answering. The orders are real: bought with POST /api/checkout and paid on the fake
 * Stripe, whose signed webhooks go through /webhooks/stripe and the fulfillment queue to each
 * machine; with their intake given at checkout they wait in `ready_to_file`, so nothing else
 * (reminders, e-mails) runs while the notes are measured. Afterwards Postgres must hold exactly
 * one `note_added` row per note answered 200 (none lost, none doubled).
 *
 * `order-reminders`: the delay between an intake reminder's due time and its delivery. The
 * bench's stack is started with the first reminder due REMINDER_INTERVAL_SECONDS after payment
 * (`stackConfig`); orders paid with no intake wait in `awaiting_intake`, their machine's alarm
 * fires the reminder (an `intake_reminder_due` event whose payload says when it was due and
 * when it fired) and sends its e-mail to the SMTP sink (`mail_sends.sent_at`). Every paid order
 * must get exactly one reminder 1, none before it was due.
 */

/** Notes to one order: unmeasured first, then one at a time, then `--connections` at a time. */
const ONE_ORDER_WARMUP = 20;
const ONE_ORDER_EVENTS = 500;
/** Orders noted in parallel, and notes to each (sent round-robin, so neighbours differ). */
const PARALLEL_ORDERS = 1_000;
const NOTES_PER_ORDER = 2;
/** Orders paid with no intake for the reminder delay. */
const REMINDER_ORDERS = 100;
export const REMINDER_INTERVAL_SECONDS = 3;

/** Waiting for the stack (payments through the queue, reminders): give up when nothing moved this long. */
const STALL_MS = 90_000;

const SLUG = "boc-3";
/** A complete BOC-3 intake: the order goes straight to ready_to_file when paid. */
const COMPLETE_INTAKE = {
  usdotNumber: "3141592",
  mcNumber: "MC-123456",
  legalName: "Bench Freight LLC",
  entityType: "motor_carrier",
  physicalAddress: { street: "1200 Commerce Dr", city: "Columbia", state: "SC", zip: "29201" },
  phone: "(803) 555-0142",
  email: "ops@bench-freight.example",
};
/** Where a paid order with COMPLETE_INTAKE waits (its approval gate: an admin task, no timer). */
const SETTLED_STATUS = "ready_to_file";

const NOTES_PATH = "POST /api/admin/orders/:number/notes";

/** The e-mail of reminder n of round r: `<order.intake-reminder.r.n.CO-…@sending domain>` (run-order-effect.ts). */
const REMINDER_MESSAGE_ID = /^<order\.intake-reminder\.(\d+)\.(\d+)\.([A-Za-z0-9._-]+)@[^@>]+>$/;

// ---------------------------------------------------------------------------------------------
// Shared steps

function assertService(): void {
  const service = getService(SLUG);
  if (!service || service.billingInterval !== "none" || !service.allowedMethods.includes("card")) {
    throw new Error(`the catalog's ${SLUG} is no longer a one-time service payable by card: pick another`);
  }
  const check = checkIntake(service, COMPLETE_INTAKE);
  if (!check.complete) {
    throw new Error(
      `the bench's ${SLUG} intake is no longer complete (${check.problems.map((p) => `${p.field}: ${p.message}`).join("; ")}): update COMPLETE_INTAKE`,
    );
  }
  if (service.needsSignature || service.customerQuestion || service.governmentFee.kind !== "none") {
    throw new Error(`${SLUG} now has a gate before approval: its paid orders would not wait in ${SETTLED_STATUS}`);
  }
}

/** One order bought (POST /api/checkout) and paid on the fake Stripe, whose webhook reaches the Worker. */
async function buyAndPay(ctx: ScenarioContext, email: string, intake?: Record<string, unknown>): Promise<string> {
  const created = await expectJson<{ orderNumbers: string[]; sessionId: string }>(
    `checkout for ${SLUG}`,
    `${ctx.workerUrl}/api/checkout`,
    {
      body: {
        items: [{ slug: SLUG }],
        customer: { email, name: "Bench Buyer" },
        paymentMethod: "card",
        ...(intake ? { intake: { [SLUG]: intake } } : {}),
      },
      status: 201,
    },
  );
  await expectJson(
    `paying ${created.sessionId}`,
    `${ctx.stripeUrl}/__sim/checkout/sessions/${encodeURIComponent(created.sessionId)}/pay`,
    { body: {} },
  );
  return created.orderNumbers[0]!;
}

/** Buys and pays `count` orders, `--connections` at a time; logs progress. */
async function buyMany(
  ctx: ScenarioContext,
  count: number,
  email: (i: number) => string,
  intake: Record<string, unknown> | undefined,
  what: string,
): Promise<{ numbers: string[]; ms: number }> {
  const started = performance.now();
  let done = 0;
  const numbers = await pool(
    Array.from({ length: count }, (_, i) => i),
    ctx.connections,
    async (i) => {
      const number = await buyAndPay(ctx, email(i), intake);
      if (++done % 200 === 0) ctx.log(`${what}: ${done}/${count} orders bought and paid`);
      return number;
    },
  );
  return { numbers, ms: performance.now() - started };
}

/**
 * Polls Postgres until every order is in `status` and the fulfillment queue has processed every
 * Stripe event received since `since`; throws when nothing moved for STALL_MS.
 */
async function waitForSettled(
  client: pg.Client,
  numbers: readonly string[],
  status: string,
  since: Date,
  log: (line: string) => void,
  what: string,
): Promise<number> {
  const started = performance.now();
  let lastRemaining = Number.POSITIVE_INFINITY;
  let lastChange = started;
  let lastLog = started;
  for (;;) {
    const byStatus = (
      await client.query<{ status: string; n: number }>(
        "select status, count(*)::int as n from orders where number = any($1) group by status",
        [numbers],
      )
    ).rows;
    const queued = (
      await client.query<{ n: number }>(
        "select count(*)::int as n from stripe_events where received_at >= $1 and processed_at is null",
        [since],
      )
    ).rows[0]!.n;
    const settled = byStatus.find((r) => r.status === status)?.n ?? 0;
    const remaining = numbers.length - settled + queued;
    const now = performance.now();
    if (remaining === 0) return now - started;
    if (remaining < lastRemaining) {
      lastRemaining = remaining;
      lastChange = now;
    }
    const counts = byStatus.map((r) => `${r.n} ${r.status}`).join(", ");
    if (now - lastLog > 10_000) {
      log(`${what}: waiting for ${status}: ${counts}; ${queued} Stripe events still queued`);
      lastLog = now;
    }
    if (now - lastChange > STALL_MS) {
      throw new Error(
        `${what}: after ${((now - started) / 1000).toFixed(0)} s the orders are ${counts} (expected all ${status}), ${queued} Stripe events unprocessed`,
      );
    }
    await sleep(500);
  }
}

/** p50/p95/p99/max of a set of ms values, for notes. */
function spread(values: readonly number[]): string {
  if (values.length === 0) return "none";
  const f = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
  return `p50 ${f(percentile(values, 50))}, p95 ${f(percentile(values, 95))}, p99 ${f(percentile(values, 99))}, max ${f(Math.max(...values))}`;
}

function compare(name: string, ctx: ScenarioContext, result: ReturnType<typeof loadResultFrom>): string[] {
  return ["bare", "health"]
    .map((other) => versus(result, ctx.measured, other))
    .filter((v): v is string => v !== undefined)
    .map((v) => `${name}: ${v}`);
}

/** wrangler dev restarting the Worker mid-run (a file changed in the tree) disturbs everything. */
function reloadVerdict(reloads: number, check: ScenarioCheck): ScenarioCheck & { label?: string } {
  return reloads > 0 && !check.pass
    ? { ...check, label: "VOID", summary: `wrangler dev reloaded ${reloads}× mid-run; ${check.summary}` }
    : check;
}

// ---------------------------------------------------------------------------------------------
// order-events

interface NoteAnswer {
  outcome?: string;
  status?: string;
}

/** Notes counted per order: answered 200 "applied" (what Postgres must hold). */
function appliedPerOrder(numbers: readonly string[], timed: TimedRequests, into: Map<string, number>): void {
  timed.answers.forEach((answer, i) => {
    if (answer?.status === 200 && (answer.body as NoteAnswer).outcome === "applied") {
      const number = numbers[i]!;
      into.set(number, (into.get(number) ?? 0) + 1);
    }
  });
}

async function runOrderEvents(ctx: ScenarioContext, reloads: { count(): number }): Promise<ScenarioOutcome> {
  assertService();
  const tag = runTag();
  const budgetMs = Math.max(120, ctx.durationSeconds * 12) * 1000;
  const authorization = await adminAuthorization(ctx);
  const note = (number: string, text: string) =>
    requestJson<NoteAnswer>(`${ctx.workerUrl}/api/admin/orders/${number}/notes`, {
      body: { text },
      headers: { authorization },
    });

  // 1. The orders: one to note alone, PARALLEL_ORDERS to note together, all paid for real.
  const setupSince = new Date(Date.now() - 1_000);
  ctx.log(
    `order-events: buying and paying ${1 + PARALLEL_ORDERS} ${SLUG} orders (intake given), ${ctx.connections} at a time`,
  );
  const bought = await buyMany(
    ctx,
    1 + PARALLEL_ORDERS,
    (i) => `bench-events-${tag}-${i}@example.com`,
    COMPLETE_INTAKE,
    "order-events",
  );
  const [single, ...many] = bought.numbers as [string, ...string[]];
  const settleMs = await withPostgres(ctx.databaseUrl, (client) =>
    waitForSettled(client, bought.numbers, SETTLED_STATUS, setupSince, ctx.log, "order-events"),
  );
  ctx.log(
    `order-events: ${bought.numbers.length} orders ${SETTLED_STATUS} (${(bought.ms / 1000).toFixed(1)} s to buy and pay, ${(settleMs / 1000).toFixed(1)} s more for the queue and the machines)`,
  );
  await sleep(2_000); // the last machines' effects (approval tasks) finish after their status is mirrored

  const applied = new Map<string, number>();
  const reloadsBefore = reloads.count();

  // 2. One machine: warm-up, then one note at a time, then --connections at a time.
  const warmItems = Array.from({ length: ONE_ORDER_WARMUP }, () => single);
  const warm = await timeRequests(warmItems, 1, budgetMs, (n, i) => note(n, `bench ${tag} warm-up ${i}`));
  if (warm.answers[0]?.status !== 200) {
    throw new Error(
      `the first note to ${single} answered ${warm.answers[0]?.status ?? "nothing"}: ${warm.answers[0]?.text.slice(0, 400) ?? warm.failures[0]}`,
    );
  }
  appliedPerOrder(warmItems, warm, applied);
  ctx.log(`order-events: ${ONE_ORDER_EVENTS} notes to ${single}, one at a time`);
  const oneItems = Array.from({ length: ONE_ORDER_EVENTS }, () => single);
  const sequential = await timeRequests(oneItems, 1, budgetMs, (n, i) => note(n, `bench ${tag} one ${i}`));
  appliedPerOrder(oneItems, sequential, applied);
  ctx.log(`order-events: ${ONE_ORDER_EVENTS} notes to ${single}, ${ctx.connections} at a time`);
  const concurrent = await timeRequests(oneItems, ctx.connections, budgetMs, (n, i) =>
    note(n, `bench ${tag} one-concurrent ${i}`),
  );
  appliedPerOrder(oneItems, concurrent, applied);

  // 3. PARALLEL_ORDERS machines: round-robin, so consecutive notes go to different orders.
  const spreadItems = Array.from({ length: PARALLEL_ORDERS * NOTES_PER_ORDER }, (_, i) => many[i % many.length]!);
  ctx.log(
    `order-events: ${spreadItems.length} notes over ${many.length} orders (${NOTES_PER_ORDER} each), ${ctx.connections} at a time`,
  );
  const parallel = await timeRequests(spreadItems, ctx.connections, budgetMs * NOTES_PER_ORDER, (n, i) =>
    note(n, `bench ${tag} many ${i}`),
  );
  appliedPerOrder(spreadItems, parallel, applied);
  const reloaded = reloads.count() - reloadsBefore;

  // 4. What Postgres holds: one note_added row per note answered "applied".
  const stored = await withPostgres(ctx.databaseUrl, async (client) => {
    const { rows } = await client.query<{ number: string; n: number }>(
      `select o.number, count(e.id)::int as n
         from orders o left join order_events e on e.order_id = o.id and e.type = 'note_added'
        where o.number = any($1) group by o.number`,
      [bought.numbers],
    );
    return new Map(rows.map((r) => [r.number, r.n]));
  });
  const mismatched = bought.numbers.filter((n) => (stored.get(n) ?? 0) !== (applied.get(n) ?? 0));
  const answeredApplied = [...applied.values()].reduce((a, b) => a + b, 0);
  const rowsStored = [...stored.values()].reduce((a, b) => a + b, 0);
  const notSent = sequential.skipped + concurrent.skipped + parallel.skipped;
  const check = reloadVerdict(reloaded, {
    name: "every note stored once",
    pass: mismatched.length === 0,
    summary:
      `${answeredApplied} notes answered "applied", ${rowsStored} note_added rows in Postgres; ` +
      `${mismatched.length} orders differ` +
      (notSent ? `; ${notSent} notes not sent (time budget)` : ""),
  });

  const resultOf = (t: TimedRequests, withCheck = false) =>
    loadResultFrom({
      latenciesMs: t.latenciesMs,
      wallMs: t.wallMs,
      statusCodes: t.statusCodes,
      connectionErrors: t.connectionErrors,
      ...(withCheck ? { check } : {}),
    });
  const rows: ScenarioRow[] = [
    {
      name: "order-events-1",
      path: NOTES_PATH,
      description: "events/s applied by one OrderMachine, one request at a time",
      result: resultOf(sequential),
    },
    {
      name: "order-events-1-conc",
      path: NOTES_PATH,
      description: `events/s applied by one OrderMachine, ${ctx.connections} requests at a time (it applies them one by one)`,
      result: resultOf(concurrent),
    },
    {
      name: "order-events-1000",
      path: NOTES_PATH,
      description: `events/s across ${many.length} OrderMachines, ${ctx.connections} requests at a time`,
      result: resultOf(parallel, true),
    },
  ];

  // The first note to each of the many orders (its machine perhaps evicted since its payment)
  // against the later ones.
  const byRound = Array.from({ length: NOTES_PER_ORDER }, (_, round) =>
    parallel.itemLatenciesMs
      .slice(round * many.length, (round + 1) * many.length)
      .filter((ms): ms is number => ms !== null),
  );
  const notes: string[] = [
    `order-events: ${bought.numbers.length} ${SLUG} orders bought and paid with their intake (checkout, fake Stripe, webhook, fulfillment queue, machine) in ${((bought.ms + settleMs) / 1000).toFixed(1)} s, all ${SETTLED_STATUS}; signed in as an admin; every event a note (session check, order lookup, machine: SQLite log + Postgres mirror)`,
    `order-events-1: ${sequential.latenciesMs.length} notes to ${single} one at a time after ${ONE_ORDER_WARMUP} unmeasured: ${sequential.latenciesMs.length > 0 ? ((sequential.latenciesMs.length * 1000) / sequential.wallMs).toFixed(1) : "n/a"} events/s, latency ${spread(sequential.latenciesMs)}`,
    `order-events-1-conc: ${concurrent.latenciesMs.length} notes to the same order, ${ctx.connections} at a time: the machine applies them one at a time (its calls queue in the object; only the session check and the order lookup before it overlap), so latency grows with the queue: ${spread(concurrent.latenciesMs)}`,
    `order-events-1000: ${parallel.latenciesMs.length} notes round-robin over ${many.length} orders, ${ctx.connections} at a time: ${spread(parallel.latenciesMs)}`,
    `order-events-1000: by round: ${byRound.map((r, i) => `note ${i + 1} to each order ${spread(r)}`).join("; ")}`,
  ];
  for (const [name, t] of [
    ["order-events-1", sequential],
    ["order-events-1-conc", concurrent],
    ["order-events-1000", parallel],
  ] as const) {
    notes.push(...compare(name, ctx, resultOf(t)));
    for (const f of t.failures) notes.push(`${name}: failed request: ${f}`);
    if (t.skipped) notes.push(`${name}: ${t.skipped} not sent: the phase's time budget ran out`);
  }
  notes.push(`order-events: ${check.pass ? "PASS" : "FAIL"}: ${check.summary}`);
  if (mismatched.length > 0) {
    notes.push(
      `order-events: orders whose note_added rows differ from their "applied" answers: ${mismatched
        .slice(0, 10)
        .map((n) => `${n} (${stored.get(n) ?? 0} rows, ${applied.get(n) ?? 0} applied)`)
        .join(", ")}`,
    );
  }
  if (reloads.count() > 0) {
    notes.push(
      `order-events: wrangler dev reloaded the Worker ${reloads.count()}× during the scenario (${reloaded} while measuring): a source file changed in the tree; the figures are disturbed`,
    );
  }
  return {
    name: "order-events",
    rows,
    notes,
    checks: [check],
    detail: {
      single,
      orders: bought.numbers.length,
      setupSeconds: (bought.ms + settleMs) / 1000,
      answeredApplied,
      rowsStored,
      mismatched: mismatched.slice(0, 50),
      reloads: reloads.count(),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// order-reminders

export interface ReminderEventRow {
  number: string;
  /** The event's payload: which reminder, when it was due and when the alarm fired it. */
  n: number;
  dueAt: string;
  firedAt: string;
}

export interface ReminderMailRow {
  number: string;
  round: number;
  n: number;
  status: string;
  /** When the relay accepted it (mail_sends.sent_at), epoch ms; null if it did not. */
  sentMs: number | null;
}

export interface ReminderReport {
  pass: boolean;
  summary: string;
  problems: string[];
  /** Per order with exactly one reminder 1: due → fired, due → accepted by the SMTP sink (ms). */
  dueToFiredMs: number[];
  dueToSentMs: number[];
  /** Earliest due time and latest firing / sending (epoch ms), for the rows' wall time. */
  window: { firstDue: number; lastFired: number; lastSent: number } | null;
}

/**
 * The reminder invariant, pure: every paid order got exactly one reminder-1 event and exactly
 * one reminder-1 e-mail, accepted by the relay; none fired before it was due; no later reminder
 * yet (the next one is a week away on the bench's stack).
 */
export function checkReminders(
  numbers: readonly string[],
  events: readonly ReminderEventRow[],
  mails: readonly ReminderMailRow[],
): ReminderReport {
  const problems: string[] = [];
  const counts = { lost: 0, doubled: 0, early: 0, later: 0, mailLost: 0, mailDoubled: 0, unsent: 0 };
  const dueToFiredMs: number[] = [];
  const dueToSentMs: number[] = [];
  let firstDue = Number.POSITIVE_INFINITY;
  let lastFired = Number.NEGATIVE_INFINITY;
  let lastSent = Number.NEGATIVE_INFINITY;
  const wanted = new Set(numbers);
  const eventsOf = new Map<string, ReminderEventRow[]>();
  for (const e of events) if (wanted.has(e.number)) eventsOf.set(e.number, [...(eventsOf.get(e.number) ?? []), e]);
  const mailsOf = new Map<string, ReminderMailRow[]>();
  for (const m of mails) if (wanted.has(m.number)) mailsOf.set(m.number, [...(mailsOf.get(m.number) ?? []), m]);

  for (const number of numbers) {
    const mine = eventsOf.get(number) ?? [];
    const first = mine.filter((e) => e.n === 1);
    const later = mine.filter((e) => e.n !== 1);
    if (later.length > 0) {
      counts.later++;
      problems.push(`${number}: reminder ${later.map((e) => e.n).join(", ")} already fired (the next is a week away)`);
    }
    if (first.length === 0) {
      counts.lost++;
      problems.push(`${number}: no reminder 1 fired`);
    } else if (first.length > 1) {
      counts.doubled++;
      problems.push(`${number}: reminder 1 fired ${first.length}×`);
    }
    const mailed = (mailsOf.get(number) ?? []).filter((m) => m.n === 1);
    if (mailed.length === 0) {
      counts.mailLost++;
      problems.push(`${number}: no reminder 1 e-mail`);
    } else if (mailed.length > 1) {
      counts.mailDoubled++;
      problems.push(`${number}: ${mailed.length} reminder 1 e-mails`);
    }
    if (first.length !== 1) continue;
    const due = Date.parse(first[0]!.dueAt);
    const fired = Date.parse(first[0]!.firedAt);
    if (!Number.isFinite(due) || !Number.isFinite(fired)) {
      problems.push(`${number}: reminder 1 has no readable dueAt/firedAt (${first[0]!.dueAt}, ${first[0]!.firedAt})`);
      counts.lost++;
      continue;
    }
    if (fired < due) {
      counts.early++;
      problems.push(`${number}: reminder 1 fired ${due - fired} ms before it was due`);
    }
    dueToFiredMs.push(fired - due);
    firstDue = Math.min(firstDue, due);
    lastFired = Math.max(lastFired, fired);
    if (mailed.length !== 1) continue;
    const sent = mailed[0]!.sentMs;
    if (mailed[0]!.status !== "accepted" || sent === null) {
      counts.unsent++;
      problems.push(`${number}: the reminder e-mail is ${mailed[0]!.status}, not accepted by the relay`);
      continue;
    }
    dueToSentMs.push(sent - due);
    lastSent = Math.max(lastSent, sent);
  }
  const pass = problems.length === 0;
  const summary =
    `${numbers.length} orders: ${numbers.length - counts.lost - counts.doubled} with exactly one reminder 1 ` +
    `(${counts.lost} without, ${counts.doubled} doubled, ${counts.early} early, ${counts.later} with a later one already); ` +
    `e-mails: ${dueToSentMs.length} accepted once (${counts.mailLost} missing, ${counts.mailDoubled} doubled, ${counts.unsent} not accepted)`;
  return {
    pass,
    summary,
    problems: problems.length > 25 ? [...problems.slice(0, 25), `… and ${problems.length - 25} more`] : problems,
    dueToFiredMs,
    dueToSentMs,
    window: Number.isFinite(firstDue) ? { firstDue, lastFired, lastSent } : null,
  };
}

async function readReminders(
  client: pg.Client,
  numbers: readonly string[],
): Promise<{ events: ReminderEventRow[]; mails: ReminderMailRow[]; statuses: Record<string, number> }> {
  const events = (
    await client.query<{ number: string; payload: Record<string, unknown> | null; occurred_at: Date }>(
      `select o.number, e.payload, e.occurred_at
         from order_events e join orders o on o.id = e.order_id
        where o.number = any($1) and e.type = 'intake_reminder_due'`,
      [numbers],
    )
  ).rows.map((r) => ({
    number: r.number,
    n: Number(r.payload?.n),
    dueAt: String(r.payload?.dueAt),
    // The event's time is when the alarm fired it; the payload says so too.
    firedAt: typeof r.payload?.firedAt === "string" ? r.payload.firedAt : r.occurred_at.toISOString(),
  }));
  const mails: ReminderMailRow[] = [];
  const wanted = new Set(numbers);
  const sent = await client.query<{ message_id: string; status: string; sent_ms: number | null }>(
    `select message_id, status, extract(epoch from sent_at) * 1000 as sent_ms
       from mail_sends where message_id like '<order.intake-reminder.%'`,
  );
  for (const row of sent.rows) {
    const m = REMINDER_MESSAGE_ID.exec(row.message_id);
    if (!m || !wanted.has(m[3]!)) continue;
    mails.push({
      number: m[3]!,
      round: Number(m[1]),
      n: Number(m[2]),
      status: row.status,
      sentMs: row.sent_ms === null ? null : Number(row.sent_ms),
    });
  }
  const statuses = Object.fromEntries(
    (
      await client.query<{ status: string; n: number }>(
        "select status, count(*)::int as n from orders where number = any($1) group by status",
        [numbers],
      )
    ).rows.map((r) => [r.status, r.n]),
  );
  return { events, mails, statuses };
}

async function runOrderReminders(ctx: ScenarioContext, reloads: { count(): number }): Promise<ScenarioOutcome> {
  assertService();
  const tag = runTag();
  ctx.log(
    `order-reminders: buying and paying ${REMINDER_ORDERS} ${SLUG} orders with no intake, ${ctx.connections} at a time; reminder 1 falls due ${REMINDER_INTERVAL_SECONDS} s after each payment`,
  );
  const bought = await buyMany(
    ctx,
    REMINDER_ORDERS,
    (i) => `bench-reminder-${tag}-${i}@example.com`,
    undefined,
    "order-reminders",
  );
  const numbers = bought.numbers;

  // Wait until every order's reminder 1 is fired and its e-mail handed over, or nothing moves.
  const state = await withPostgres(ctx.databaseUrl, async (client) => {
    const started = performance.now();
    let lastDone = -1;
    let lastChange = started;
    let lastLog = started;
    for (;;) {
      const read = await readReminders(client, numbers);
      const done = checkReminders(numbers, read.events, read.mails).dueToSentMs.length;
      const now = performance.now();
      if (done === numbers.length) break;
      if (done > lastDone) {
        lastDone = done;
        lastChange = now;
      }
      if (now - lastLog > 10_000) {
        ctx.log(
          `order-reminders: ${done}/${numbers.length} reminders fired and mailed; orders ${Object.entries(read.statuses)
            .map(([s, n]) => `${n} ${s}`)
            .join(", ")}`,
        );
        lastLog = now;
      }
      if (now - lastChange > STALL_MS) break;
      await sleep(500);
    }
    // Long enough for a second firing of the same alarm, or a doubled send, to show.
    await sleep(Math.max(5, 2 * REMINDER_INTERVAL_SECONDS) * 1000);
    return await readReminders(client, numbers);
  });
  const report = checkReminders(numbers, state.events, state.mails);
  const awaiting = state.statuses.awaiting_intake ?? 0;
  if (awaiting !== numbers.length) {
    report.pass = false;
    report.problems.unshift(
      `orders are ${Object.entries(state.statuses)
        .map(([s, n]) => `${n} ${s}`)
        .join(", ")}: all ${numbers.length} should still be awaiting_intake`,
    );
  }
  if (report.dueToFiredMs.length === 0) {
    report.problems.unshift(
      `no reminder fired at all: is the bench's stack started with INTAKE_REMINDER_FIRST_INTERVAL_SECONDS=${REMINDER_INTERVAL_SECONDS} (this scenario's stackConfig)?`,
    );
  }
  const reloaded = reloads.count();
  const check = reloadVerdict(reloaded, {
    name: "exactly one reminder 1 per paid order",
    pass: report.pass,
    summary: report.summary,
  });

  const window = report.window;
  const fired = loadResultFrom({
    latenciesMs: report.dueToFiredMs,
    wallMs: window ? window.lastFired - window.firstDue : 0,
    statusCodes: { 200: report.dueToFiredMs.length },
    connectionErrors: 0,
    check,
  });
  const mailed = loadResultFrom({
    latenciesMs: report.dueToSentMs,
    wallMs: window && Number.isFinite(window.lastSent) ? window.lastSent - window.firstDue : 0,
    statusCodes: { 200: report.dueToSentMs.length },
    connectionErrors: 0,
  });
  const notes = [
    `order-reminders: ${numbers.length} ${SLUG} orders paid with no intake in ${(bought.ms / 1000).toFixed(1)} s (${ctx.connections} at a time); each machine scheduled reminder 1 ${REMINDER_INTERVAL_SECONDS} s after its payment and armed its alarm for it`,
    `order-reminder-fire: due → fired (the alarm turned the schedule row into an intake_reminder_due event): ${spread(report.dueToFiredMs)}`,
    `order-reminder-mail: due → e-mail accepted by the SMTP sink (mail_sends.sent_at): ${spread(report.dueToSentMs)}`,
    `order-reminders: the rows' req/s is reminders over the span from the first due time to the last firing (sending): it follows the pace the orders were paid at, not a capacity`,
    `order-reminders: ${check.pass ? "PASS" : "FAIL"}: ${check.summary}`,
    ...report.problems.map((p) => `order-reminders: ${p}`),
  ];
  if (reloaded > 0) {
    notes.push(
      `order-reminders: wrangler dev reloaded the Worker ${reloaded}× during the scenario (a source file changed in the tree): the delays are disturbed`,
    );
  }
  return {
    name: "order-reminders",
    rows: [
      {
        name: "order-reminder-fire",
        path: "(OrderMachine alarm)",
        description: "intake reminder 1: due → fired by the machine's alarm; p50/p99 are the delays",
        result: fired,
      },
      {
        name: "order-reminder-mail",
        path: "(alarm → SMTP sink)",
        description: "intake reminder 1: due → its e-mail accepted by the relay; p50/p99 are the delays",
        result: mailed,
      },
    ],
    notes,
    checks: [check],
    detail: {
      intervalSeconds: REMINDER_INTERVAL_SECONDS,
      orders: numbers.length,
      paySeconds: bought.ms / 1000,
      statuses: state.statuses,
      dueToFired: {
        p50: percentile(report.dueToFiredMs, 50),
        p95: percentile(report.dueToFiredMs, 95),
        max: Math.max(...report.dueToFiredMs),
      },
      dueToSent: {
        p50: percentile(report.dueToSentMs, 50),
        p95: percentile(report.dueToSentMs, 95),
        max: Math.max(...report.dueToSentMs),
      },
      problems: report.problems,
      reloads: reloaded,
    },
  };
}

// ---------------------------------------------------------------------------------------------

export const orderEventsScenario: StackScenario = {
  name: "order-events",
  path: NOTES_PATH,
  description: `events/s of one OrderMachine and of ${PARALLEL_ORDERS.toLocaleString("en-US")} in parallel (admin notes on paid orders); every note stored once`,
  async run(ctx) {
    const reloads = watchReloads(ctx);
    try {
      return await runOrderEvents(ctx, reloads);
    } finally {
      reloads.stop();
    }
  },
};

export const orderRemindersScenario: StackScenario = {
  name: "order-reminders",
  path: "(OrderMachine alarm)",
  description: `intake reminder 1, due ${REMINDER_INTERVAL_SECONDS} s after payment: delay from due to fired and to mailed; exactly one per order`,
  stackConfig: {
    INTAKE_REMINDER_FIRST_INTERVAL_SECONDS: String(REMINDER_INTERVAL_SECONDS),
    // Only the first one that soon: the next falls due a week later, so each order gets one
    // reminder during the run (and the other scenarios' orders awaiting intake, one each).
    INTAKE_REMINDER_FIRST_COUNT: "1",
    INTAKE_REMINDER_LATER_INTERVAL_SECONDS: String(7 * 86_400),
  },
  async run(ctx) {
    const reloads = watchReloads(ctx);
    try {
      return await runOrderReminders(ctx, reloads);
    } finally {
      reloads.stop();
    }
  },
};
