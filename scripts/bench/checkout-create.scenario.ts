import { ONE_TIME_SLUG, RECURRING_SLUG, assertBenchServices } from "./bench-services";
import {
  expectJson,
  loadResultFrom,
  pool,
  requestJson,
  runTag,
  versus,
  watchReloads,
  type ScenarioContext,
  type ScenarioOutcome,
  type ScenarioRow,
  type StackScenario,
} from "./stack-scenario";

/**
 * `checkout-create`: POST /api/checkout against the fake Stripe, a fixed number of requests at
 * `--connections` at a time, for a one-time service and for a recurring one (subscription
 * mode). Each request is a new customer (a new e-mail address), so each one runs the whole
 * path: zod validation, catalog pricing, one Postgres transaction (customer, checkout number,
 * order number, checkout and order rows), the Stripe SDK creating a Checkout Session on the fake
 * (idempotency key, line items), a signed order link. Nothing is paid.
 *
 * Timing is per request in this process (performance.now around fetch), the phase's wall time
 * for req/s; a few requests first are not measured (connection pools, JIT, workerd warm-up).
 * Afterwards the fake forgets the sessions (POST /__sim/reset), so their expiry, an hour or
 * more later, posts no webhooks into a later run.
 */

/** Measured requests per variant, and the unmeasured warm-up before them. */
const REQUESTS = 300;
const WARMUP = 20;

interface CheckoutCreated {
  orderNumbers: string[];
  sessionId: string;
  checkoutUrl: string;
}

interface Variant {
  row: string;
  slug: string;
  label: string;
}

const VARIANTS: readonly Variant[] = [
  { row: "checkout-create", slug: ONE_TIME_SLUG, label: "one-time service, card: a Checkout Session in payment mode" },
  {
    row: "checkout-create-sub",
    slug: RECURRING_SLUG,
    label: "recurring service, card: a Checkout Session in subscription mode (recurring price data)",
  },
];

async function measureVariant(
  ctx: ScenarioContext,
  variant: Variant,
  tag: string,
  budgetMs: number,
): Promise<{ row: ScenarioRow; notes: string[]; created: number }> {
  const url = `${ctx.workerUrl}/api/checkout`;
  let counter = 0;
  const body = () => ({
    items: [{ slug: variant.slug }],
    customer: { email: `bench-checkout-${tag}-${++counter}@example.com`, name: "Bench Buyer", company: "Bench Co" },
    paymentMethod: "card",
    attribution: { utm_source: "bench" },
  });

  // Warm-up, unmeasured; the first answer must be a 201 with a session, or nothing is measured.
  const first = await requestJson<CheckoutCreated>(url, { body: body() });
  if (first.status !== 201 || typeof first.body.sessionId !== "string") {
    throw new Error(
      `POST /api/checkout (${variant.slug}) answered ${first.status}, not 201: ${first.text.slice(0, 400)}`,
    );
  }
  await pool(
    Array.from({ length: WARMUP - 1 }),
    ctx.connections,
    async () => void (await requestJson(url, { body: body() })),
  );

  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  const failures: string[] = [];
  let connectionErrors = 0;
  let skipped = 0;
  const started = performance.now();
  await pool(Array.from({ length: REQUESTS }), ctx.connections, async () => {
    if (performance.now() - started > budgetMs) {
      skipped++;
      return;
    }
    const t0 = performance.now();
    try {
      const res = await requestJson<CheckoutCreated>(url, { body: body() });
      latencies.push(performance.now() - t0);
      statusCodes[res.status] = (statusCodes[res.status] ?? 0) + 1;
      if (res.status !== 201 && failures.length < 3) failures.push(`${res.status} ${res.text.slice(0, 200)}`);
    } catch (error) {
      connectionErrors++;
      if (failures.length < 3) failures.push((error as Error).message);
    }
  });
  const wallMs = performance.now() - started;
  const result = loadResultFrom({ latenciesMs: latencies, wallMs, statusCodes, connectionErrors });
  const notes = [
    `${variant.row}: ${variant.label}; ${latencies.length + connectionErrors} requests, ${ctx.connections} at a time, after ${WARMUP} unmeasured` +
      (skipped > 0 ? `; ${skipped} not sent: the ${Math.round(budgetMs / 1000)} s budget ran out` : ""),
  ];
  const vsHealth = versus(result, ctx.measured, "health");
  if (vsHealth) notes.push(`${variant.row}: ${vsHealth}`);
  for (const f of failures) notes.push(`${variant.row}: failed request: ${f}`);
  return {
    row: { name: variant.row, path: "POST /api/checkout", description: variant.label, result },
    notes,
    created: (statusCodes["201"] ?? 0) + WARMUP,
  };
}

export const checkoutCreateScenario: StackScenario = {
  name: "checkout-create",
  path: "POST /api/checkout",
  description: "checkout creation against the fake Stripe, one-time and subscription, p50/p99 and req/s",
  async run(ctx) {
    assertBenchServices();
    const tag = runTag();
    // Bounded time: the fixed count, unless the machine is so slow that it would take longer.
    const budgetMs = Math.max(60, ctx.durationSeconds * 6) * 1000;
    const rows: ScenarioRow[] = [];
    const notes: string[] = [];
    let created = 0;
    const reloads = watchReloads(ctx);
    try {
      for (const variant of VARIANTS) {
        ctx.log(
          `checkout-create: ${variant.slug}, ${WARMUP} warm-up + ${REQUESTS} requests, ${ctx.connections} at a time`,
        );
        const measured = await measureVariant(ctx, variant, tag, budgetMs);
        rows.push(measured.row);
        notes.push(...measured.notes);
        created += measured.created;
      }
    } finally {
      reloads.stop();
      await expectJson("forgetting the bench's checkout sessions", `${ctx.stripeUrl}/__sim/reset`, { body: {} }).catch(
        (error: Error) => ctx.log(`checkout-create: ${error.message}`),
      );
    }
    if (reloads.count() > 0) {
      notes.push(
        `checkout-create: wrangler dev reloaded the Worker ${reloads.count()}× during the measurement (a source file changed in the tree; a reload answers the requests in flight 503): the figures are disturbed`,
      );
    }
    notes.push(
      `checkout-create: ${created} orders left pending_payment in the bench database (never paid); the fake's sessions forgotten`,
    );
    const outcome: ScenarioOutcome = { name: "checkout-create", rows, notes, checks: [] };
    return outcome;
  },
};
