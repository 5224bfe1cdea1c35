import { Hono, type Context } from "hono";
import type { JSX } from "hono/jsx/jsx-runtime";
import Stripe from "stripe";
import { z } from "zod";
import { withDb, type Db } from "../../db/client";
import {
  checkoutOrders,
  childOrdersOf,
  eventsOf,
  eventsOfMany,
  findOrderWithCustomer,
  type OrderRow,
} from "../../db/government-fee-orders";
import { CHECKOUT_NUMBER, ORDER_NUMBER } from "../../db/order-numbers";
import { linkSecret, orderPath, signLinkToken, verifyLinkToken, type LinkPurpose } from "../../domain/auth/signed-link";
import { intervalPhrase } from "../../domain/catalog/pricing";
import type { AppConfig } from "../../domain/config/app-config";
import { childPayability, displayStatus, DISPUTE_NOTE_MAX, feeHold } from "../../domain/orders/government-fee-order";
import { deliverablesOf } from "../../domain/orders/order-deliverables";
import { historyItems, linesOf } from "../../web/components";
import { ConfirmPage, type ConfirmOrder } from "../../web/pages/confirm-page";
import { DisputePage, type DisputePageProps } from "../../web/pages/dispute-page";
import { LinkRefusedPage, MessagePage } from "../../web/pages/message-page";
import { OrderPage, type OrderChildView } from "../../web/pages/order-page";
import { PayPage, type PayPageProps } from "../../web/pages/pay-page";
import type { AppEnv } from "../app-env";
import { crossSite, crossSiteRefused, customerPageError, formFields } from "./customer-form";
import {
  disputeGovernmentFee,
  governmentFeeOptions,
  loadChild,
  serviceName,
  startGovernmentFeePayment,
  type ChildState,
} from "../orders/government-fee";
import { StripeNotConfiguredError } from "../payments/stripe-client";
import { documentLink, intakeWizardLink, signingLink } from "../orders/order-links";

/**
 * The customer's order pages, server-rendered (web/pages), reached only through signed links
 * (domain/auth/signed-link.ts): no password, no cookie. Each page checks its own purpose and
 * subject: a pay link opens the pay page of that one child order and nothing else.
 *
 *   GET  /order/pay?order=CG-…&token=…       the fee, itemised, and a form per payment method
 *   POST /order/pay                           → 303 to a Stripe Checkout Session for the child
 *   GET  /order/dispute?order=CG-…&token=…    "something looks wrong": the fee and a note form
 *   POST /order/dispute                       holds the payment, opens an admin task
 *   GET  /order/confirm?order=…|checkout=…&token=…   Stripe's success URL: waits for the webhook
 *   GET  /order/cancelled?order=…|checkout=…&token=… Stripe's cancel URL
 *   GET  /order/:number?token=…               status, priced lines, history, government fees
 *
 * Pages carry personal data and a bearer token in the URL: no-store, no Referer, no framing.
 * A refused link is a 403 page saying how to get a new one; an unexpected failure is a 500 page
 * with the request id, never a stack trace.
 */

export const orderPageRoutes = new Hono<AppEnv>();

/** Headers of every customer page: personal data, a token in the URL, no script, no framing. */
export const customerPageHeaders = async (c: Context<AppEnv>, next: () => Promise<void>) => {
  await next();
  c.header("Cache-Control", "private, no-store");
  c.header("Referrer-Policy", "no-referrer");
  c.header("X-Content-Type-Options", "nosniff");
  c.header("X-Frame-Options", "DENY");
  c.header(
    "Content-Security-Policy",
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
  );
};

orderPageRoutes.use("*", customerPageHeaders);

type PageContext = Context<AppEnv>;

export async function render(
  c: PageContext,
  node: JSX.Element,
  status: 200 | 403 | 404 | 409 | 422 | 500 | 502 | 503 = 200,
) {
  return c.html(`<!doctype html>\n${await node.toString()}`, status);
}

orderPageRoutes.onError(
  customerPageError({ unavailableTitle: "Order pages are unavailable", notDone: "Nothing was charged." }),
);

// ---------------------------------------------------------------------------------------------
// Links

const CHILD_NUMBER = /^CG-\d{4}-\d{6,}$/;
const token = z.string().min(1).max(512);

function contactAddress(config: AppConfig): string {
  const from = config.MAIL_REPLY_TO ?? config.MAIL_FROM;
  return /<([^>]+)>/.exec(from)?.[1] ?? from.trim();
}

export function refused(c: PageContext, reason: "expired" | "invalid", orderNumber?: string) {
  const config = c.get("config");
  const safeNumber = orderNumber && ORDER_NUMBER.test(orderNumber) ? orderNumber : undefined;
  return render(
    c,
    <LinkRefusedPage
      reason={reason}
      ttlDays={config.CUSTOMER_LINK_TTL_DAYS}
      contact={contactAddress(config)}
      {...(safeNumber ? { orderNumber: safeNumber } : {})}
    />,
    403,
  );
}

type Verified =
  { ok: true; subject: string; token: string; expiresAt: Date } | { ok: false; response: Promise<Response> };

/** The token must be for `purpose` and name exactly `subject`; anything else is a 403 page. */
async function verifyLink(
  c: PageContext,
  purpose: LinkPurpose,
  subject: string | undefined,
  raw: unknown,
): Promise<Verified> {
  const secret = linkSecret(c.get("config"));
  const parsed = token.safeParse(raw);
  if (!parsed.success || subject === undefined) return { ok: false, response: refused(c, "invalid", subject) };
  const check = await verifyLinkToken(secret, parsed.data, { purpose, subject });
  if (!check.ok)
    return { ok: false, response: refused(c, check.reason === "expired" ? "expired" : "invalid", subject) };
  return { ok: true, subject: check.subject, token: parsed.data, expiresAt: check.expiresAt };
}

/** A link to another page for the same customer, expiring with the link they came with. */
async function linkTo(
  config: AppConfig,
  path: string,
  purpose: LinkPurpose,
  subject: string,
  expiresAt: Date,
): Promise<string> {
  const signed = await signLinkToken(linkSecret(config), { purpose, subject, expiresAt });
  return `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(signed)}`;
}

const childQuery = (number: string) => `?order=${encodeURIComponent(number)}`;

function notFound(c: PageContext, number: string) {
  return render(
    c,
    <MessagePage title="We cannot find this order">
      <p>There is no order {number} any more. If you think this is a mistake, reply to our e-mail.</p>
    </MessagePage>,
    404,
  );
}

// ---------------------------------------------------------------------------------------------
// Pay

async function payPageProps(
  config: AppConfig,
  state: ChildState,
  link: { token: string; expiresAt: Date },
): Promise<PayPageProps> {
  const { order, customer, parentNumber } = state.found;
  const hold = feeHold(state.events);
  return {
    childNumber: order.number,
    parentNumber: parentNumber ?? "",
    serviceName: serviceName(order.serviceSlug),
    customer: { name: customer.name, company: customer.company },
    status: displayStatus(order.status, state.events),
    payability: state.payability,
    items: state.breakdown.items,
    totalCents: state.breakdown.totalCents,
    options: governmentFeeOptions(config, state.breakdown.totalCents),
    token: link.token,
    orderUrl: await linkTo(config, orderPath(order.number), "order-view", order.number, link.expiresAt),
    disputeUrl: await linkTo(
      config,
      `/order/dispute${childQuery(order.number)}`,
      "dispute",
      order.number,
      link.expiresAt,
    ),
    ...(hold.since ? { heldSince: hold.since } : {}),
  };
}

orderPageRoutes.get("/pay", async (c) => {
  const config = c.get("config");
  const number = c.req.query("order");
  const link = await verifyLink(
    c,
    "pay",
    number !== undefined && CHILD_NUMBER.test(number) ? number : undefined,
    c.req.query("token"),
  );
  if (!link.ok) return link.response;
  const state = await withDb(config, (db) => loadChild(db, link.subject), c.executionCtx);
  if (!state) return notFound(c, link.subject);
  return render(c, <PayPage {...await payPageProps(config, state, link)} />);
});

orderPageRoutes.post("/pay", async (c) => {
  const config = c.get("config");
  if (crossSite(c)) return crossSiteRefused(c);
  const form = await formFields(c);
  const number = form.order !== undefined && CHILD_NUMBER.test(form.order) ? form.order : undefined;
  const link = await verifyLink(c, "pay", number, form.token);
  if (!link.ok) return link.response;
  const method = form.method ?? "";

  const db = (fn: (db: Db) => Promise<Response>) => withDb(config, fn, c.executionCtx);
  return await db(async (db) => {
    let outcome;
    try {
      outcome = await startGovernmentFeePayment(db, config, link.subject, method, link);
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeError) && !(error instanceof StripeNotConfiguredError)) throw error;
      console.error(
        JSON.stringify({
          level: "error",
          event: "government_fee_session_failed",
          order: link.subject,
          error: String(error),
        }),
      );
      const state = await loadChild(db, link.subject);
      if (!state) return notFound(c, link.subject);
      const props = await payPageProps(config, state, link);
      return render(
        c,
        <PayPage
          {...props}
          notice={{
            tone: "bad",
            text: "Our payment provider did not answer. Nothing was charged; please try again in a minute.",
          }}
        />,
        502,
      );
    }
    switch (outcome.kind) {
      case "redirect":
        return c.redirect(outcome.url, 303);
      case "already_paid":
        return c.redirect(
          await linkTo(config, `/order/confirm${childQuery(link.subject)}`, "order-view", link.subject, link.expiresAt),
          303,
        );
      case "refused":
      case "method_not_allowed": {
        const state = await loadChild(db, link.subject);
        if (!state) return notFound(c, link.subject);
        const props = await payPageProps(config, state, link);
        if (outcome.kind === "method_not_allowed") {
          return render(
            c,
            <PayPage {...props} notice={{ tone: "bad", text: "Please choose one of the payment methods below." }} />,
            422,
          );
        }
        // Held, paid, processing or closed: the page says which, and nothing was opened.
        return render(c, <PayPage {...props} />, 409);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Dispute

async function disputeProps(
  config: AppConfig,
  state: ChildState,
  link: { token: string; expiresAt: Date },
): Promise<DisputePageProps> {
  const { order, parentNumber } = state.found;
  const hold = feeHold(state.events);
  return {
    childNumber: order.number,
    parentNumber: parentNumber ?? "",
    serviceName: serviceName(order.serviceSlug),
    items: state.breakdown.items,
    totalCents: state.breakdown.totalCents,
    payability: state.payability,
    token: link.token,
    payUrl: await linkTo(config, `/order/pay${childQuery(order.number)}`, "pay", order.number, link.expiresAt),
    orderUrl: await linkTo(config, orderPath(order.number), "order-view", order.number, link.expiresAt),
    ...(hold.since ? { heldSince: hold.since } : {}),
  };
}

orderPageRoutes.get("/dispute", async (c) => {
  const config = c.get("config");
  const number = c.req.query("order");
  const link = await verifyLink(
    c,
    "dispute",
    number !== undefined && CHILD_NUMBER.test(number) ? number : undefined,
    c.req.query("token"),
  );
  if (!link.ok) return link.response;
  const state = await withDb(config, (db) => loadChild(db, link.subject), c.executionCtx);
  if (!state) return notFound(c, link.subject);
  return render(c, <DisputePage {...await disputeProps(config, state, link)} />);
});

orderPageRoutes.post("/dispute", async (c) => {
  const config = c.get("config");
  if (crossSite(c)) return crossSiteRefused(c);
  const form = await formFields(c);
  const number = form.order !== undefined && CHILD_NUMBER.test(form.order) ? form.order : undefined;
  const link = await verifyLink(c, "dispute", number, form.token);
  if (!link.ok) return link.response;
  // Browsers send textarea line ends as CRLF; count what the customer typed.
  const note = (form.note ?? "").replace(/\r\n/g, "\n").trim();

  return await withDb(
    config,
    async (db) => {
      const problem =
        note.length === 0
          ? "Please tell us what looks wrong."
          : note.length > DISPUTE_NOTE_MAX
            ? `Please keep it under ${DISPUTE_NOTE_MAX} characters (this note has ${note.length}).`
            : undefined;
      if (problem) {
        const state = await loadChild(db, link.subject);
        if (!state) return notFound(c, link.subject);
        return render(
          c,
          <DisputePage
            {...await disputeProps(config, state, link)}
            note={note.slice(0, DISPUTE_NOTE_MAX)}
            error={problem}
          />,
          422,
        );
      }
      const outcome = await disputeGovernmentFee(db, config, link.subject, note);
      const state = await loadChild(db, link.subject);
      if (!state) return notFound(c, link.subject);
      const props = await disputeProps(config, state, link);
      if (outcome.kind === "held") return render(c, <DisputePage {...props} confirmed />);
      return render(c, <DisputePage {...props} />, 409);
    },
    c.executionCtx,
  );
});

// ---------------------------------------------------------------------------------------------
// Confirm (Stripe's success URL) and cancelled (its cancel URL)

/** Fast refreshes for the first two minutes, then slower: the webhook normally lands in seconds. */
const FAST_REFRESH_SECONDS = 3;
const SLOW_REFRESH_SECONDS = 15;
const FAST_ATTEMPTS = 40;
const MAX_ATTEMPTS = 1_000;

const confirmQuery = z.object({
  order: z.string().regex(ORDER_NUMBER).optional(),
  checkout: z.string().regex(CHECKOUT_NUMBER).optional(),
  token: z.string().optional(),
  n: z.coerce.number().int().min(0).max(MAX_ATTEMPTS).optional().catch(undefined),
});

type ConfirmTarget = { subject: string; param: "order" | "checkout"; link: { token: string; expiresAt: Date } };

async function confirmTarget(c: PageContext): Promise<ConfirmTarget | { response: Promise<Response> }> {
  const q = confirmQuery.safeParse(c.req.query());
  const order = q.success ? q.data.order : undefined;
  const checkout = q.success ? q.data.checkout : undefined;
  // Exactly one of the two names what the link is for.
  const subject =
    order !== undefined && checkout === undefined
      ? order
      : checkout !== undefined && order === undefined
        ? checkout
        : undefined;
  const link = await verifyLink(c, "order-view", subject, c.req.query("token"));
  if (!link.ok) return { response: link.response };
  return { subject: link.subject, param: order !== undefined ? "order" : "checkout", link };
}

async function ordersFor(db: Db, target: ConfirmTarget): Promise<OrderRow[] | undefined> {
  if (target.param === "checkout") return await checkoutOrders(db, target.subject);
  const found = await findOrderWithCustomer(db, target.subject);
  return found ? [found.order] : undefined;
}

orderPageRoutes.get("/confirm", async (c) => {
  const config = c.get("config");
  const target = await confirmTarget(c);
  if ("response" in target) return target.response;
  const attempt = confirmQuery.safeParse(c.req.query()).data?.n ?? 0;

  return await withDb(
    config,
    async (db) => {
      const rows = await ordersFor(db, target);
      if (!rows || rows.length === 0) return notFound(c, target.subject);
      const history = await eventsOfMany(
        db,
        rows.map((o) => o.id),
      );
      const orders: ConfirmOrder[] = [];
      for (const o of rows) {
        const events = history.get(o.id) ?? [];
        const status = o.parentOrderId !== null ? displayStatus(o.status, events) : o.status;
        const payable =
          o.parentOrderId !== null && status === "payment_failed" && childPayability(o.status, events) === "payable";
        orders.push({
          number: o.number,
          serviceName: serviceName(o.serviceSlug),
          status,
          totalCents: o.totalCents,
          url: await linkTo(config, orderPath(o.number), "order-view", o.number, target.link.expiresAt),
          ...(payable
            ? {
                payUrl: await linkTo(
                  config,
                  `/order/pay${childQuery(o.number)}`,
                  "pay",
                  o.number,
                  target.link.expiresAt,
                ),
              }
            : {}),
        });
      }
      // Only the webhook moves an order out of pending_payment: until then, wait.
      const waiting = orders.some((o) => o.status === "pending_payment") && attempt < MAX_ATTEMPTS;
      const refresh = waiting
        ? {
            seconds: attempt < FAST_ATTEMPTS ? FAST_REFRESH_SECONDS : SLOW_REFRESH_SECONDS,
            url: `/order/confirm?${target.param}=${encodeURIComponent(target.subject)}&token=${encodeURIComponent(target.link.token)}&n=${attempt + 1}`,
          }
        : undefined;
      return render(
        c,
        <ConfirmPage
          orders={orders}
          waiting={waiting}
          slow={attempt >= FAST_ATTEMPTS}
          {...(refresh ? { refresh } : {})}
        />,
      );
    },
    c.executionCtx,
  );
});

orderPageRoutes.get("/cancelled", async (c) => {
  const config = c.get("config");
  const target = await confirmTarget(c);
  if ("response" in target) return target.response;
  const rows = await withDb(config, (db) => ordersFor(db, target), c.executionCtx);
  if (!rows || rows.length === 0) return notFound(c, target.subject);
  const links = await Promise.all(
    rows.map(async (o) => ({
      number: o.number,
      url: await linkTo(config, orderPath(o.number), "order-view", o.number, target.link.expiresAt),
    })),
  );
  return render(
    c,
    <MessagePage title="Payment not completed">
      <p>You left the payment page before paying, so nothing was charged.</p>
      <ul>
        {links.map((l) => (
          <li>
            <a href={l.url}>Order {l.number}</a>
          </li>
        ))}
      </ul>
    </MessagePage>,
  );
});

// ---------------------------------------------------------------------------------------------
// One order

orderPageRoutes.get("/:number", async (c) => {
  const config = c.get("config");
  const number = c.req.param("number");
  const link = await verifyLink(c, "order-view", ORDER_NUMBER.test(number) ? number : undefined, c.req.query("token"));
  if (!link.ok) return link.response;

  return await withDb(
    config,
    async (db) => {
      const found = await findOrderWithCustomer(db, link.subject);
      if (!found) return notFound(c, link.subject);
      const { order, customer } = found;
      const events = await eventsOf(db, order.id);
      const children = await childOrdersOf(db, order.id);
      const childEvents = await eventsOfMany(
        db,
        children.map((ch) => ch.id),
      );
      const childViews: OrderChildView[] = [];
      for (const ch of children) {
        const evs = childEvents.get(ch.id) ?? [];
        const payability = childPayability(ch.status, evs);
        childViews.push({
          number: ch.number,
          status: displayStatus(ch.status, evs),
          totalCents: ch.totalCents,
          onHold: payability === "on_hold",
          url: await linkTo(config, orderPath(ch.number), "order-view", ch.number, link.expiresAt),
          ...(payability === "payable"
            ? { payUrl: await linkTo(config, `/order/pay${childQuery(ch.number)}`, "pay", ch.number, link.expiresAt) }
            : {}),
        });
      }
      const isChild = order.parentOrderId !== null;
      const selfPayable = isChild && childPayability(order.status, events) === "payable";
      const delivered = deliverablesOf(events);
      const documents = await Promise.all(
        delivered.documents.map(async (d) => ({
          label: d.label,
          at: d.at,
          url: await documentLink(config, order.number, d.r2Key),
        })),
      );
      // What the customer can do next, from the same signed links the e-mails carry.
      const action =
        order.status === "awaiting_intake"
          ? {
              label: "Complete your details",
              url: await intakeWizardLink(config, { number: order.number, slug: order.serviceSlug }),
            }
          : order.status === "awaiting_signature"
            ? { label: "Review and sign", url: await signingLink(config, order.number) }
            : undefined;
      return render(
        c,
        <OrderPage
          number={order.number}
          serviceName={
            isChild ? `Government fee for ${serviceName(order.serviceSlug)}` : serviceName(order.serviceSlug)
          }
          status={isChild ? displayStatus(order.status, events) : order.status}
          createdAt={order.createdAt}
          paymentMethod={order.paymentMethod}
          interval={intervalPhrase(order.billingInterval)}
          lines={linesOf(order.lines)}
          totalCents={order.totalCents}
          history={historyItems(events)}
          documents={documents}
          confirmations={delivered.confirmations.map((x) => x.confirmation)}
          nextDueOn={order.nextDueOn}
          {...(action ? { action } : {})}
          feeOrders={childViews}
          customer={{ name: customer.name, company: customer.company, email: customer.email }}
          {...(found.parentNumber
            ? {
                parent: {
                  number: found.parentNumber,
                  url: await linkTo(
                    config,
                    orderPath(found.parentNumber),
                    "order-view",
                    found.parentNumber,
                    link.expiresAt,
                  ),
                },
              }
            : {})}
          {...(selfPayable
            ? {
                payUrl: await linkTo(
                  config,
                  `/order/pay${childQuery(order.number)}`,
                  "pay",
                  order.number,
                  link.expiresAt,
                ),
              }
            : {})}
        />,
      );
    },
    c.executionCtx,
  );
});
