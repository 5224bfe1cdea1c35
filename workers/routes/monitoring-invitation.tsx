import { and, asc, desc, eq, gt, isNotNull, notInArray, sql } from "drizzle-orm";
import { Hono, type Context } from "hono";
import Stripe from "stripe";
import { withDb, type Db } from "../../db/client";
import { findOrderWithCustomer, type OrderWithCustomer } from "../../db/government-fee-orders";
import { ORDER_NUMBER } from "../../db/order-numbers";
import { checkouts, customers, orders } from "../../db/schema";
import { linkSecret, orderPath, signLinkToken, verifyLinkToken } from "../../domain/auth/signed-link";
import { checkPartialIntake, intakeFieldLabels } from "../../domain/catalog/intake";
import type { PaymentMethod } from "../../domain/catalog/payment-methods";
import { intervalPhrase } from "../../domain/catalog/pricing";
import type { ServiceDefinition } from "../../domain/catalog/service-definition";
import { getService } from "../../domain/catalog/services";
import type { AppConfig } from "../../domain/config/app-config";
import { MONITORING_SERVICE_SLUG } from "../../domain/orders/order-emails";
import { MessagePage } from "../../web/pages/message-page";
import {
  MonitoringInvitationPage,
  type MonitoringInvitationPageProps,
  type MonitoringView,
  type ScreenedParty,
  type ScreenedStaff,
} from "../../web/pages/monitoring-invitation-page";
import { NOT_LIVE_STATUSES } from "../../domain/orders/order-status";
import type { AppEnv } from "../app-env";
import { createCheckout, type CheckoutRequest } from "../checkout/create-checkout";
import { ApiError } from "../http-errors";
import { createStripe, StripeNotConfiguredError } from "../payments/stripe-client";
import { customerPageHeaders, refused, render } from "./order-pages";
import { crossSite, crossSiteRefused, customerPageError, formFields } from "./customer-form";

/**
 * The page of the bundle invitation e-mail (OrderMachine issue, item 7): a Provider Compliance
 * Bundle includes one OIG/SAM screening, and 21–120 days after it is paid its customer is
 * invited, once, to the monthly monitoring service. The e-mail's link (purpose "monitoring",
 * subject the bundle's order number: workers/orders/order-links.ts `monitoringLink`) opens:
 *
 *   GET  /order/:number/monitoring?token=…   what monitoring does and costs, who will be screened
 *   POST /order/:number/monitoring?token=…   (method=card|ach) → 303 to a Stripe Checkout Session
 *
 * The POST is the standard checkout (workers/checkout/create-checkout.ts) for the monitoring
 * service, with the customer and the screening fields copied from the bundle. A double click
 * must not become two subscriptions, so per customer the POST is serialised (a row lock on the
 * customer) and an open checkout for monitoring made within CHECKOUT_SESSION_TTL_MINUTES is
 * reused rather than a second one opened. A customer who already has monitoring gets no button
 * (and a POST answers 409). Forged, foreign or expired link → 403, nothing read or written.
 * Mount before the other /order routes: their `/:number` page would otherwise answer first.
 */

export const monitoringInvitationRoutes = new Hono<AppEnv>();

const MONITORING_PATH = "/:number/monitoring";
monitoringInvitationRoutes.use(MONITORING_PATH, customerPageHeaders);

type PageContext = Context<AppEnv>;

/**
 * Statuses in which a monitoring order is not something the customer has: not paid yet, or
 * ended (the same rule as the invitation e-mail's "unless they already have it",
 * workers/orders/run-order-effect.ts). payment_processing is shown apart: paid by ACH and
 * clearing, so not to be bought twice either.
 */
const NOT_LIVE: readonly string[] = NOT_LIVE_STATUSES;

// ---------------------------------------------------------------------------------------------
// The link

interface MonitoringLink {
  orderNumber: string;
  token: string;
  expiresAt: Date;
}

async function verifyMonitoringLink(
  c: PageContext,
  number: string,
  raw: string | undefined,
): Promise<{ ok: true; link: MonitoringLink } | { ok: false; response: Promise<Response> }> {
  if (!ORDER_NUMBER.test(number) || raw === undefined || raw.length === 0 || raw.length > 512) {
    return { ok: false, response: refused(c, "invalid", number) };
  }
  const check = await verifyLinkToken(linkSecret(c.get("config")), raw, { purpose: "monitoring", subject: number });
  if (!check.ok) {
    return { ok: false, response: refused(c, check.reason === "expired" ? "expired" : "invalid", number) };
  }
  return { ok: true, link: { orderNumber: number, token: raw, expiresAt: check.expiresAt } };
}

// ---------------------------------------------------------------------------------------------
// The bundle, the monitoring service and what the customer already has

function monitoringService(): ServiceDefinition {
  const service = getService(MONITORING_SERVICE_SLUG);
  if (!service) throw new Error(`${MONITORING_SERVICE_SLUG} is not in the catalog`);
  return service;
}

/** An order whose service includes the first monitoring cycle only: the ones the invitation is for. */
async function findBundle(db: Db, number: string): Promise<OrderWithCustomer | undefined> {
  const found = await findOrderWithCustomer(db, number);
  if (!found || found.order.parentOrderId !== null) return undefined;
  const includesFirstScreening = getService(found.order.serviceSlug)?.includes.some(
    (i) => i.slug === MONITORING_SERVICE_SLUG && i.scope === "first_cycle_only",
  );
  return includesFirstScreening ? found : undefined;
}

type Holding = { kind: "already" | "processing"; orderNumber: string };

/** The customer's live monitoring order, or one paid by ACH and still clearing; live first. */
async function monitoringHeld(db: Db, customerId: number): Promise<Holding | undefined> {
  const rows = await db
    .select({ number: orders.number, status: orders.status })
    .from(orders)
    .where(
      and(
        eq(orders.customerId, customerId),
        eq(orders.serviceSlug, MONITORING_SERVICE_SLUG),
        notInArray(orders.status, ["pending_payment", "cancelled", "refunded"]),
      ),
    )
    .orderBy(asc(orders.id));
  const live = rows.find((r) => !NOT_LIVE.includes(r.status));
  if (live) return { kind: "already", orderNumber: live.number };
  const clearing = rows.find((r) => r.status === "payment_processing");
  return clearing ? { kind: "processing", orderNumber: clearing.number } : undefined;
}

/**
 * The customer's latest checkout still open for monitoring alone (one order, of that service),
 * made within the session lifetime: a double click finds the first click's checkout here.
 */
async function openMonitoringCheckout(db: Db, customerId: number, since: Date) {
  const [row] = await db
    .select({
      paymentMethod: checkouts.paymentMethod,
      stripeSessionId: checkouts.stripeSessionId,
      orderNumber: sql<string>`min(${orders.number})`,
    })
    .from(checkouts)
    .innerJoin(orders, eq(orders.checkoutId, checkouts.id))
    .where(
      and(
        eq(checkouts.customerId, customerId),
        eq(checkouts.status, "open"),
        gt(checkouts.createdAt, since),
        isNotNull(checkouts.stripeSessionId),
      ),
    )
    .groupBy(checkouts.id)
    .having(sql`count(*) = 1 and bool_and(${orders.serviceSlug} = ${MONITORING_SERVICE_SLUG})`)
    .orderBy(desc(checkouts.createdAt), desc(checkouts.id))
    .limit(1);
  return row?.stripeSessionId ? { ...row, stripeSessionId: row.stripeSessionId } : undefined;
}

// ---------------------------------------------------------------------------------------------
// The intake copied from the bundle

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The monitoring service's own intake fields taken from the bundle's intake (npi, providerName,
 * state, email, staff): nothing else. A field that does not pass the monitoring service's check
 * is left out rather than refusing the customer: the intake wizard asks for it after payment.
 * `data` is the checked (trimmed, normalised) form, for display.
 */
export function monitoringIntake(
  monitoring: ServiceDefinition,
  bundleIntake: unknown,
): { intake: Record<string, unknown>; data: Record<string, unknown> } {
  if (!isRecord(bundleIntake)) return { intake: {}, data: {} };
  let intake: Record<string, unknown> = {};
  for (const field of Object.keys(monitoring.intakeFields.shape)) {
    const value = bundleIntake[field];
    if (value !== undefined && value !== null) intake[field] = value;
  }
  // Each round drops at least one field, so this ends within the number of fields.
  for (;;) {
    const check = checkPartialIntake(monitoring, intake);
    if (check.complete) return { intake, data: isRecord(check.data) ? check.data : {} };
    const bad = new Set(check.problems.map((p) => p.field.split(".")[0]!));
    const kept = Object.fromEntries(Object.entries(intake).filter(([field]) => !bad.has(field)));
    if (Object.keys(kept).length === Object.keys(intake).length) return { intake: {}, data: {} };
    intake = kept;
  }
}

function shown(value: unknown): string | undefined {
  if (typeof value === "string" && value.trim() !== "") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

function screenedParty(monitoring: ServiceDefinition, data: Record<string, unknown>): ScreenedParty {
  const fields = intakeFieldLabels(monitoring)
    .filter((f) => f.field !== "staff")
    .map((f) => {
      const value = shown(data[f.field]);
      return value === undefined ? { label: f.label } : { label: f.label, value };
    });
  const staff: ScreenedStaff[] = (Array.isArray(data.staff) ? data.staff : []).filter(isRecord).map((s) => {
    const npi = shown(s.npi);
    return { firstName: shown(s.firstName) ?? "", lastName: shown(s.lastName) ?? "", ...(npi ? { npi } : {}) };
  });
  return { fields, staff };
}

// ---------------------------------------------------------------------------------------------
// Rendering

async function pageProps(
  config: AppConfig,
  found: OrderWithCustomer,
  link: MonitoringLink,
  view: MonitoringView,
): Promise<MonitoringInvitationPageProps> {
  const monitoring = monitoringService();
  const orderToken = await signLinkToken(linkSecret(config), {
    purpose: "order-view",
    subject: found.order.number,
    expiresAt: link.expiresAt,
  });
  return {
    serviceName: monitoring.displayName,
    priceCents: monitoring.priceCents,
    interval: intervalPhrase(monitoring.billingInterval),
    regulation: monitoring.regulation,
    bundle: {
      number: found.order.number,
      serviceName: getService(found.order.serviceSlug)?.displayName ?? found.order.serviceSlug,
      url: `${orderPath(found.order.number)}?token=${encodeURIComponent(orderToken)}`,
    },
    screened: screenedParty(monitoring, monitoringIntake(monitoring, found.order.intake).data),
    view,
  };
}

/** The offer: posts back to this page (relative, so a path prefix is kept), the token in the query. */
function offer(link: MonitoringLink, chosen?: PaymentMethod, error?: string): MonitoringView {
  return {
    kind: "offer",
    action: `?token=${encodeURIComponent(link.token)}`,
    methods: monitoringService().allowedMethods,
    ...(chosen ? { chosen } : {}),
    ...(error ? { error } : {}),
  };
}

function notABundle(c: PageContext, number: string) {
  return render(
    c,
    <MessagePage title="We cannot find this invitation">
      <p>
        Order {number} has no invitation to monthly monitoring. If you think this is a mistake, reply to our e-mail.
      </p>
    </MessagePage>,
    404,
  );
}

function isAllowedMethod(method: string): method is PaymentMethod {
  return (monitoringService().allowedMethods as readonly string[]).includes(method);
}

// ---------------------------------------------------------------------------------------------
// Routes

monitoringInvitationRoutes.onError(
  customerPageError({ unavailableTitle: "This page is unavailable", notDone: "Nothing was charged." }),
);

monitoringInvitationRoutes.get(MONITORING_PATH, async (c) => {
  const config = c.get("config");
  const verified = await verifyMonitoringLink(c, c.req.param("number"), c.req.query("token"));
  if (!verified.ok) return verified.response;
  const { link } = verified;
  return await withDb(
    config,
    async (db) => {
      const found = await findBundle(db, link.orderNumber);
      if (!found) return notABundle(c, link.orderNumber);
      const held = await monitoringHeld(db, found.customer.id);
      return render(c, <MonitoringInvitationPage {...await pageProps(config, found, link, held ?? offer(link))} />);
    },
    c.executionCtx,
  );
});

type Outcome = { kind: "redirect"; url: string } | Holding;

monitoringInvitationRoutes.post(MONITORING_PATH, async (c) => {
  const config = c.get("config");
  if (crossSite(c)) return crossSiteRefused(c);
  const verified = await verifyMonitoringLink(c, c.req.param("number"), c.req.query("token"));
  if (!verified.ok) return verified.response;
  const { link } = verified;
  const method = (await formFields(c)).method ?? "";

  return await withDb(
    config,
    async (db) => {
      const found = await findBundle(db, link.orderNumber);
      if (!found) return notABundle(c, link.orderNumber);
      const page = async (view: MonitoringView, status: 200 | 409 | 422 | 502, notice?: string) =>
        render(
          c,
          <MonitoringInvitationPage {...await pageProps(config, found, link, view)} {...(notice ? { notice } : {})} />,
          status,
        );
      if (!isAllowedMethod(method)) {
        return page(offer(link, undefined, "Please choose one of the payment methods below."), 422);
      }
      const monitoring = monitoringService();
      const now = new Date();
      const { intake } = monitoringIntake(monitoring, found.order.intake);
      const input: CheckoutRequest = {
        items: [{ slug: monitoring.slug }],
        customer: {
          email: found.customer.email,
          ...(found.customer.name ? { name: found.customer.name } : {}),
          ...(found.customer.company ? { company: found.customer.company } : {}),
        },
        paymentMethod: method,
        ...(Object.keys(intake).length > 0 ? { intake: { [monitoring.slug]: intake } } : {}),
        attribution: { utm_medium: "email", utm_campaign: "bundle_invitation", invited_from_order: found.order.number },
      };

      let outcome: Outcome;
      try {
        outcome = await db.transaction(async (tx): Promise<Outcome> => {
          // One POST per customer at a time: a double click waits here for the first click's
          // checkout, then finds and reuses it.
          await tx
            .select({ id: customers.id })
            .from(customers)
            .where(eq(customers.id, found.customer.id))
            .for("update");
          const held = await monitoringHeld(tx, found.customer.id);
          if (held) return held;
          const since = new Date(now.getTime() - config.CHECKOUT_SESSION_TTL_MINUTES * 60_000);
          const open = await openMonitoringCheckout(tx, found.customer.id, since);
          if (open) {
            // Stripe knows whether the session can still be paid; our row learns it from a webhook.
            const stripe = createStripe(config);
            const session = await stripe.checkout.sessions.retrieve(open.stripeSessionId);
            if (session.status === "complete") return { kind: "processing", orderNumber: open.orderNumber };
            if (session.status === "open" && session.url) {
              if (open.paymentMethod === method) return { kind: "redirect", url: session.url };
              // Another method chosen: close the first session so only one can ever be paid.
              await stripe.checkout.sessions.expire(open.stripeSessionId);
            }
          }
          const created = await createCheckout({ config, db: tx, env: c.env }, input, now);
          return { kind: "redirect", url: created.url };
        });
      } catch (error) {
        const unavailable =
          (error instanceof ApiError && error.code === "PAYMENT_PROVIDER_ERROR") ||
          error instanceof Stripe.errors.StripeError ||
          error instanceof StripeNotConfiguredError;
        if (!unavailable) throw error;
        console.error(
          JSON.stringify({
            level: "error",
            event: "monitoring_checkout_failed",
            order: link.orderNumber,
            error: String(error),
          }),
        );
        return page(
          offer(link, method),
          502,
          "Our payment provider did not answer. Nothing was charged; please try again in a minute.",
        );
      }
      if (outcome.kind === "redirect") return c.redirect(outcome.url, 303);
      return page(outcome, 409);
    },
    c.executionCtx,
  );
});
