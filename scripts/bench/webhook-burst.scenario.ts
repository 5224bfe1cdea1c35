import type pg from "pg";
import { MAX_EVENTS } from "../lib/fake-stripe/state";
import { ONE_TIME_SLUG, RECURRING_SLUG, assertBenchServices } from "./bench-services";
import {
  expectJson,
  loadResultFrom,
  pool,
  postJsonNoTimeout,
  runTag,
  sleep,
  versus,
  watchReloads,
  withPostgres,
  type ScenarioContext,
  type ScenarioOutcome,
  type StackScenario,
} from "./stack-scenario";
import {
  checkInvariant,
  type OrderEventRowLite,
  type OrderRowLite,
  type StripeEventRowLite,
} from "./webhook-burst-checks";
import {
  choosePlan,
  estimateEvents,
  oneTimeFlow,
  subscriptionFlow,
  type BurstPlan,
  type FactType,
  type PlannedEvent,
  type PlannedOrder,
} from "./webhook-burst-plan";

/**
 * `webhook-burst`: the commerce issue's figure. Orders and their Stripe events are prepared
 * with the fake's webhook URL unset (nothing reaches the Worker; what is prepared and why its
 * size: webhook-burst-plan.ts), then the URL is restored and every event is sent at once by the
 * fake itself, signed at sending time as Stripe signs: POST /__sim/events/deliver {ids,
 * shuffle, duplicates: 0.3, concurrency: 50, seed, retry}. `retry`: an attempt the Worker does
 * not answer 2xx is tried again (1 s, 2 s, 4 s later), as Stripe does, so a 503 is not taken for
 * a lost event.
 *
 * Reported: deliveries per second (first attempts over the wall time of that call), the
 * Worker's answer times (the fake's `durationMs` of each first attempt), non-2xx first answers;
 * then, once the fulfillment queue has processed every event (stripe_events.processed_at,
 * polled in Postgres), its drain rate and lag, and the invariant of webhook-burst-checks.ts:
 * zero double transitions, nothing lost. A failed invariant fails the bench (exit 1); "VOID"
 * when wrangler dev restarted the Worker mid-run (a file changed in the tree) and it failed.
 */

const DUPLICATES = 0.3;
const CONCURRENCY = 50;
/** Fixed, so two runs shuffle alike (the event ids differ from run to run; the pattern does not). */
const SEED = 4242;
/** Waiting for the queue: give up when nothing was processed for this long. */
const STALL_MS = 90_000;
const WAIT_CAP_MS = 15 * 60_000;
/** The fake's retries of a failed attempt (1 s, 2 s, 4 s apart) are over by then. */
const RETRIES_OVER_MS = 9_000;

interface SimEvent {
  id: string;
  seq: number;
  type: string;
  deliveries?: {
    attempt: number;
    at: string;
    status: number | null;
    error?: string;
    durationMs: number;
    manual?: boolean;
    responseBody?: string;
  }[];
}

interface SimSession {
  id: string;
  subscription: string | null;
  invoice: string | null;
  amount_total: number;
}

interface CheckoutCreated {
  orderNumbers: string[];
  sessionId: string;
}

type FactFor = (event: SimEvent) => { type: FactType; key: string } | null;

const byEvent =
  (type: FactType): FactFor =>
  (e) => ({ type, key: `stripe:${e.id}` });
const byInvoice =
  (invoiceId: string): FactFor =>
  () => ({ type: "renewal_paid", key: `cycle:${invoiceId}` });
const ignored: FactFor = () => null;

class Preparation {
  readonly events: PlannedEvent[] = [];
  readonly orders: PlannedOrder[] = [];
  /** Every event the actions created, subscribed types or not: what fills the fake's window. */
  created = 0;

  constructor(
    private readonly ctx: ScenarioContext,
    private readonly subscribed: ReadonlySet<string>,
    private readonly tag: string,
  ) {}

  private sim<T>(what: string, path: string, body: unknown = {}): Promise<T & { events: SimEvent[] }> {
    return expectJson<T & { events: SimEvent[] }>(what, `${this.ctx.stripeUrl}${path}`, { body });
  }

  /**
   * Keeps the subscribed events an action created, each with the fact it must leave on the
   * order. The action must have made exactly the subscribed types `expect` lists, once each:
   * otherwise the fake changed and the expectations would be guesses.
   */
  private record(orderNumber: string, what: string, events: SimEvent[], expect: Record<string, FactFor>): void {
    this.created += events.length;
    const mine = events.filter((e) => this.subscribed.has(e.type));
    const types = mine.map((e) => e.type).sort();
    const wanted = Object.keys(expect).sort();
    if (types.join(",") !== wanted.join(",")) {
      throw new Error(
        `${what} for ${orderNumber} made subscribed events [${types.join(", ")}], expected [${wanted.join(", ")}]`,
      );
    }
    for (const e of mine)
      this.events.push({ id: e.id, type: e.type, seq: e.seq, orderNumber, fact: expect[e.type]!(e) });
  }

  private async checkout(slug: string, email: string): Promise<{ orderNumber: string; sessionId: string }> {
    const created = await expectJson<CheckoutCreated>(`checkout for ${slug}`, `${this.ctx.workerUrl}/api/checkout`, {
      body: { items: [{ slug }], customer: { email, name: "Burst Buyer" }, paymentMethod: "card" },
      status: 201,
    });
    return { orderNumber: created.orderNumbers[0]!, sessionId: created.sessionId };
  }

  async subscription(i: number, renewals: number): Promise<void> {
    const flow = subscriptionFlow(i);
    const email = `bench-burst-${this.tag}-s${i}@example.com`;
    const { orderNumber, sessionId } = await this.checkout(RECURRING_SLUG, email);
    const paid = await this.sim<{ session: SimSession }>("pay", `/__sim/checkout/sessions/${sessionId}/pay`);
    this.record(orderNumber, "pay", paid.events, {
      "checkout.session.completed": byEvent("payment_succeeded"),
      "invoice.paid": byEvent("payment_succeeded"),
    });
    const subscription = paid.session.subscription;
    const firstInvoice = paid.session.invoice;
    if (!subscription || !firstInvoice) throw new Error(`paying ${sessionId} made no subscription or invoice`);
    const renew = async (what: string) => {
      const r = await this.sim<{ invoice: { id: string } }>(what, `/__sim/subscriptions/${subscription}/renew`);
      this.record(orderNumber, what, r.events, { "invoice.paid": byInvoice(r.invoice.id) });
      return r.invoice.id;
    };
    for (let k = 0; k < renewals; k++) await renew("renew");
    const failedInvoices: string[] = [];
    if (flow.failedCycle) {
      for (const what of ["fail-renewal", "fail-renewal (retry)"]) {
        const r = await this.sim<{ invoice: { id: string } }>(
          what,
          `/__sim/subscriptions/${subscription}/fail-renewal`,
        );
        this.record(orderNumber, what, r.events, {
          "invoice.payment_failed": byEvent("payment_failed"),
          "payment_intent.payment_failed": ignored,
        });
        if (!failedInvoices.includes(r.invoice.id)) failedInvoices.push(r.invoice.id);
      }
      const paidOnRetry = await renew("renew (paid on retry)");
      if (paidOnRetry !== failedInvoices[0])
        throw new Error(`the retry paid ${paidOnRetry}, not the failed ${failedInvoices[0]}`);
    }
    if (flow.refundFirst) {
      const r = await this.sim("refund", `/__sim/refunds`, { invoice: firstInvoice });
      this.record(orderNumber, "refund", r.events, { "charge.refunded": byEvent("refunded") });
    }
    if (flow.cancel) {
      const r = await this.sim("cancel", `/__sim/subscriptions/${subscription}/cancel`);
      this.record(orderNumber, "cancel", r.events, { "customer.subscription.deleted": byEvent("cancelled") });
    }
    this.orders.push({
      number: orderNumber,
      kind: "subscription",
      finalStatus: flow.refundFirst ? "refunded" : flow.cancel ? "cancelled" : "paid",
      failedInvoices,
      email,
    });
  }

  async oneTime(j: number): Promise<void> {
    const flow = oneTimeFlow(j);
    const email = `bench-burst-${this.tag}-o${j}@example.com`;
    const { orderNumber, sessionId } = await this.checkout(ONE_TIME_SLUG, email);
    if (flow.decline) {
      const r = await this.sim("decline", `/__sim/checkout/sessions/${sessionId}/fail`);
      this.record(orderNumber, "decline", r.events, { "payment_intent.payment_failed": ignored });
    }
    const paid = await this.sim<{ session: SimSession }>("pay", `/__sim/checkout/sessions/${sessionId}/pay`);
    this.record(orderNumber, "pay", paid.events, { "checkout.session.completed": byEvent("payment_succeeded") });
    if (flow.refund) {
      const amount = flow.refund === "full" ? undefined : Math.floor(paid.session.amount_total / 2);
      const r = await this.sim("refund", `/__sim/refunds`, {
        checkout_session: sessionId,
        ...(amount ? { amount } : {}),
      });
      this.record(orderNumber, "refund", r.events, {
        "charge.refunded": byEvent(flow.refund === "full" ? "refunded" : "refund_partial"),
      });
    }
    this.orders.push({
      number: orderNumber,
      kind: "one-time",
      finalStatus: flow.refund === "full" ? "refunded" : "paid",
      failedInvoices: [],
      email,
    });
  }
}

/** Polls stripe_events until every event is processed, or nothing moved for STALL_MS. */
async function waitForProcessing(
  client: pg.Client,
  ids: string[],
  log: (line: string) => void,
): Promise<{ done: boolean; waitedMs: number; unprocessed: number; missing: number }> {
  const started = performance.now();
  let last = Number.POSITIVE_INFINITY;
  let lastChange = started;
  let lastLog = started;
  for (;;) {
    const { rows } = await client.query<{ recorded: number; unprocessed: number }>(
      `select count(*)::int as recorded, count(*) filter (where processed_at is null)::int as unprocessed
         from stripe_events where event_id = any($1)`,
      [ids],
    );
    const { recorded, unprocessed } = rows[0]!;
    const missing = ids.length - recorded;
    const remaining = unprocessed + missing;
    const now = performance.now();
    if (remaining === 0) {
      // Once more after a moment: an event adopted late (reopened) would show up unprocessed again.
      await sleep(1_000);
      const again = await client.query<{ n: number }>(
        `select count(*)::int as n from stripe_events where event_id = any($1) and processed_at is null`,
        [ids],
      );
      if (again.rows[0]!.n === 0) return { done: true, waitedMs: now - started, unprocessed: 0, missing: 0 };
      continue;
    }
    if (remaining < last) {
      last = remaining;
      lastChange = now;
    }
    if (now - lastLog > 10_000) {
      log(`webhook-burst: ${remaining} of ${ids.length} events still to process (${missing} not recorded)`);
      lastLog = now;
    }
    if (now - lastChange > STALL_MS || now - started > WAIT_CAP_MS) {
      return { done: false, waitedMs: now - started, unprocessed, missing };
    }
    await sleep(500);
  }
}

async function runBurst(ctx: ScenarioContext, reloads: { count(): number }): Promise<ScenarioOutcome> {
  assertBenchServices();
  const plan: BurstPlan = choosePlan(MAX_EVENTS);
  const estimate = estimateEvents(plan);
  const config = await expectJson<{ webhookUrl: string | null; enabledEvents: "*" | string[] }>(
    "the fake's config",
    `${ctx.stripeUrl}/__sim/config`,
  );
  const webhookUrl = config.webhookUrl;
  if (!webhookUrl) throw new Error("the fake Stripe has no webhook URL: the stack should have set the Worker's");
  if (config.enabledEvents === "*")
    throw new Error("the fake sends every event type: the plan expects its default list");
  const subscribed = new Set(config.enabledEvents);

  const notes: string[] = [];
  const tag = runTag();
  const prep = new Preparation(ctx, subscribed, tag);
  ctx.log(
    `webhook-burst: plan "${plan.name}": ${plan.subscriptions} subscriptions × ${plan.renewals} renewals, ${plan.oneTime} one-time orders; ` +
      `about ${estimate.subscribed} events to deliver (${estimate.total} in the fake's ${MAX_EVENTS}-event window)`,
  );

  // 1. Prepare, with nothing delivered.
  const prepStarted = performance.now();
  await expectJson("resetting the fake", `${ctx.stripeUrl}/__sim/reset`, { body: {} });
  await expectJson("holding webhooks", `${ctx.stripeUrl}/__sim/config`, { body: { webhookUrl: null } });
  try {
    const jobs: (() => Promise<void>)[] = [
      ...Array.from({ length: plan.subscriptions }, (_, i) => () => prep.subscription(i, plan.renewals)),
      ...Array.from({ length: plan.oneTime }, (_, j) => () => prep.oneTime(j)),
    ];
    let done = 0;
    await pool(jobs, ctx.connections, async (job) => {
      await job();
      if (++done % 100 === 0)
        ctx.log(`webhook-burst: ${done}/${jobs.length} orders prepared, ${prep.events.length} events`);
    });
  } finally {
    await expectJson("restoring the webhook URL", `${ctx.stripeUrl}/__sim/config`, { body: { webhookUrl } });
  }
  const prepMs = performance.now() - prepStarted;
  if (prep.created > MAX_EVENTS) {
    throw new Error(`the preparation made ${prep.created} events; the fake keeps ${MAX_EVENTS}: the oldest are gone`);
  }
  const ids = prep.events.map((e) => e.id);
  const oldest = prep.events.reduce((a, b) => (a.seq < b.seq ? a : b));
  await expectJson("the oldest event of the burst", `${ctx.stripeUrl}/__sim/events/${oldest.id}`);
  ctx.log(
    `webhook-burst: ${prep.orders.length} orders and ${ids.length} events ready in ${(prepMs / 1000).toFixed(1)} s ` +
      `(${prep.created} events in all); delivering`,
  );

  // 2. The burst.
  const reloadsBeforeBurst = reloads.count();
  const burstStartedAt = new Date();
  const t0 = performance.now();
  const delivered = await postJsonNoTimeout<{ deliveries: { id: string; status: number | null; error?: string }[] }>(
    `${ctx.stripeUrl}/__sim/events/deliver`,
    { ids, shuffle: true, duplicates: DUPLICATES, concurrency: CONCURRENCY, seed: SEED, retry: true },
  );
  const burstMs = performance.now() - t0;
  const burstEndedAt = Date.now();
  const reloadsInBurst = reloads.count() - reloadsBeforeBurst;
  if (delivered.status !== 200)
    throw new Error(`/__sim/events/deliver answered ${delivered.status}: ${delivered.text.slice(0, 500)}`);
  const deliveries = delivered.body.deliveries;
  const statusCodes: Record<string, number> = {};
  let connectionErrors = 0;
  let timeouts = 0;
  for (const d of deliveries) {
    if (d.status === null) {
      connectionErrors++;
      if (d.error?.startsWith("timed out")) timeouts++;
    } else statusCodes[d.status] = (statusCodes[d.status] ?? 0) + 1;
  }
  ctx.log(`webhook-burst: ${deliveries.length} deliveries in ${(burstMs / 1000).toFixed(1)} s; waiting for the queue`);

  // 3. Wait for the queue, then read what Postgres holds.
  const state = await withPostgres(ctx.databaseUrl, async (client) => {
    const waited = await waitForProcessing(client, ids, ctx.log);
    const stripeEvents = (
      await client.query<StripeEventRowLite & { received_ms: number; processed_ms: number | null }>(
        `select event_id, type, processed_at is not null as processed, outcome, error,
                extract(epoch from received_at) * 1000 as received_ms,
                extract(epoch from processed_at) * 1000 as processed_ms
           from stripe_events where event_id = any($1)`,
        [ids],
      )
    ).rows;
    const numbers = prep.orders.map((o) => o.number);
    const orderEvents = (
      await client.query<OrderEventRowLite>(
        `select o.number, e.type, e.idempotency_key
           from order_events e join orders o on o.id = e.order_id where o.number = any($1)`,
        [numbers],
      )
    ).rows;
    const orderRows = (
      await client.query<OrderRowLite>(`select number, status from orders where number = any($1)`, [numbers])
    ).rows;
    const failed = prep.orders.flatMap((o) => o.failedInvoices);
    const nudgeRows = (
      await client.query<{ invoice: string; n: number }>(
        `select substring(message_id from '^<payment-failed\\.(.+)@[^@]+>$') as invoice, count(*)::int as n
           from mail_sends where message_id like '<payment-failed.%' group by 1`,
      )
    ).rows;
    const nudges = new Map(nudgeRows.filter((r) => failed.includes(r.invoice)).map((r) => [r.invoice, r.n]));
    const deadLetters = (
      await client.query<{ n: number }>(
        `select count(*)::int as n from dead_letters where queue like 'fulfillment%' and first_seen_at >= $1`,
        [burstStartedAt],
      )
    ).rows[0]!.n;
    return { waited, stripeEvents, orderEvents, orderRows, nudges, deadLetters };
  });

  // The Worker's answer times, as the fake timed each attempt (read once the retries, 1 + 2 + 4 s
  // after a failed first attempt at most, are over).
  await sleep(Math.max(0, burstEndedAt + RETRIES_OVER_MS - Date.now()));
  const listed = await expectJson<{ events: SimEvent[] }>(
    "the burst's delivery records",
    `${ctx.stripeUrl}/__sim/events?since=${oldest.seq - 1}&limit=${MAX_EVENTS}`,
  );
  const mine = new Set(ids);
  const durations: number[] = [];
  const retryCodes: Record<string, number> = {};
  let answeredDuplicate = 0;
  let answeredRequeued = 0;
  for (const e of listed.events) {
    if (!mine.has(e.id)) continue;
    for (const d of e.deliveries ?? []) {
      if (!d.manual || Date.parse(d.at) < burstStartedAt.getTime() - 1_000) continue;
      if (d.attempt > 1) {
        const code = String(d.status ?? d.error ?? "no answer");
        retryCodes[code] = (retryCodes[code] ?? 0) + 1;
        continue;
      }
      durations.push(d.durationMs);
      if (d.responseBody?.includes('"duplicate":true')) answeredDuplicate++;
      if (d.responseBody?.includes('"requeued":true')) answeredRequeued++;
    }
  }
  const retries = Object.values(retryCodes).reduce((a, b) => a + b, 0);
  const reloaded = reloads.count();

  const report = checkInvariant({
    events: prep.events,
    orders: prep.orders,
    stripeEvents: state.stripeEvents,
    orderEvents: state.orderEvents,
    orderRows: state.orderRows,
    nudges: state.nudges,
    deadLetters: state.deadLetters,
  });
  if (!state.waited.done) {
    report.pass = false;
    report.problems.unshift(
      `the queue stopped: ${state.waited.unprocessed} events unprocessed and ${state.waited.missing} unrecorded after ${(state.waited.waitedMs / 1000).toFixed(0)} s`,
    );
  }

  // wrangler dev restarting the Worker mid-run (a file changed in the tree) cuts requests and
  // queue work short: a failure then says nothing about the code, and the figures are disturbed.
  const verdict =
    reloaded > 0 && !report.pass
      ? { pass: false, label: "VOID", summary: `wrangler dev reloaded ${reloaded}× mid-run; ${report.summary}` }
      : { pass: report.pass, summary: report.summary };
  const burst = loadResultFrom({
    latenciesMs: durations,
    wallMs: burstMs,
    requests: deliveries.length,
    statusCodes,
    connectionErrors,
    timeouts,
    check: verdict,
  });
  const processed = state.stripeEvents.filter((r) => r.processed_ms !== null);
  const lastProcessed = processed.reduce((m, r) => Math.max(m, Number(r.processed_ms)), burstStartedAt.getTime());
  const drain = loadResultFrom({
    latenciesMs: processed.map((r) => Number(r.processed_ms) - Number(r.received_ms)),
    wallMs: lastProcessed - burstStartedAt.getTime(),
    requests: processed.length,
    statusCodes: { 200: processed.length },
    connectionErrors: 0,
  });

  const distinct = ids.length;
  const subscriptionRefunds = prep.orders.filter(
    (o) => o.kind === "subscription" && o.finalStatus === "refunded",
  ).length;
  notes.push(
    `webhook-burst: ${prep.orders.length} orders (${plan.subscriptions} subscriptions: paid, ${plan.renewals} renewals, every 5th a cycle failed twice then paid, every 4th cancelled${subscriptionRefunds ? `, ${subscriptionRefunds} first payments refunded` : ""}; ` +
      `${plan.oneTime} one-time: every 2nd declined first, every 4th refunded, every 4th partly refunded), prepared in ${(prepMs / 1000).toFixed(1)} s with webhooks held`,
    `webhook-burst: ${distinct} distinct events (${prep.created} made by the fake in all), ${deliveries.length} deliveries ` +
      `(${deliveries.length - distinct} duplicates, ${((deliveries.length / distinct - 1) * 100).toFixed(0)}%), shuffled with seed ${SEED}, ${CONCURRENCY} at a time, in ${(burstMs / 1000).toFixed(1)} s`,
    `webhook-burst: p50/p99 are the fake's per-attempt durationMs of first attempts (whole ms, timed in this process, whose event loop also runs the fake, the Postgres proxy and the SMTP sink); ` +
      `${durations.length} attempts timed; first answers: ${
        Object.entries(statusCodes)
          .map(([c, n]) => `${n}× ${c}`)
          .join(", ") || "none"
      }` +
      (connectionErrors ? `, ${connectionErrors} without an answer (${timeouts} timeouts)` : "") +
      `; ${answeredDuplicate} answered "duplicate" (already recorded), ${answeredRequeued} of them "requeued" (recorded, not yet processed)` +
      (retries
        ? `; ${retries} retries by the fake: ${Object.entries(retryCodes)
            .map(([c, n]) => `${n}× ${c}`)
            .join(", ")}`
        : "; no retries"),
    `webhook-drain: the fulfillment queue applied ${processed.length} events in ${drain.durationSeconds.toFixed(1)} s from the burst's start ` +
      `(${drain.requestsPerSecond.toFixed(1)} events/s); its p50/p99 are stripe_events received_at → processed_at`,
    `webhook-burst: outcomes ${Object.entries(report.stats.outcomes)
      .map(([o, n]) => `${o} ${n}`)
      .join(", ")}`,
    `webhook-burst: invariant ${report.pass ? "PASS" : "FAIL"}: ${report.summary}`,
  );
  if (reloaded > 0) {
    notes.push(
      `webhook-burst: wrangler dev reloaded the Worker ${reloaded}× during the scenario ` +
        `(${reloadsBeforeBurst} while preparing, ${reloadsInBurst} during the burst, ${reloaded - reloadsBeforeBurst - reloadsInBurst} while the queue drained), ` +
        `because a source file changed in the tree; a reload answers the requests in flight 503 "Your worker restarted mid-request" and cuts queue work short: the figures are disturbed` +
        (report.pass
          ? " (the invariant held anyway)"
          : ", and the FAIL says nothing about the code: rerun on a tree nobody is editing"),
    );
  }
  const vsHealth = versus(burst, ctx.measured, "health");
  if (vsHealth) notes.push(`webhook-burst: ${vsHealth}`);
  for (const p of report.problems) notes.push(`webhook-burst: ${p}`);

  const outcome: ScenarioOutcome = {
    name: "webhook-burst",
    rows: [
      {
        name: "webhook-burst",
        path: "POST /webhooks/stripe",
        description: "deliveries/s of the burst; p50/p99 of the Worker's answers (verify, record, enqueue)",
        result: burst,
      },
      {
        name: "webhook-drain",
        path: "(fulfillment queue)",
        description:
          "events applied/s from the burst's start to the last processed_at; p50/p99 received_at → processed_at",
        result: drain,
      },
    ],
    notes,
    checks: [{ name: "zero double transitions", pass: verdict.pass, summary: verdict.summary }],
    detail: {
      plan,
      reloads: { total: reloaded, beforeBurst: reloadsBeforeBurst, duringBurst: reloadsInBurst },
      retries: retryCodes,
      seed: SEED,
      duplicates: DUPLICATES,
      concurrency: CONCURRENCY,
      distinctEvents: distinct,
      eventsMade: prep.created,
      deliveries: deliveries.length,
      prepSeconds: prepMs / 1000,
      burstSeconds: burstMs / 1000,
      queueWaitSeconds: state.waited.waitedMs / 1000,
      answeredDuplicate,
      answeredRequeued,
      invariant: report,
    },
  };
  return outcome;
}

export const webhookBurstScenario: StackScenario = {
  name: "webhook-burst",
  path: "POST /webhooks/stripe",
  description: "signed Stripe events, shuffled, 30% sent twice, 50 at a time; then zero double transitions",
  async run(ctx) {
    const reloads = watchReloads(ctx);
    try {
      return await runBurst(ctx, reloads);
    } finally {
      reloads.stop();
    }
  },
};
