import { StripeApiError } from "./api-error";
import { instantMethod, runCheckoutAction, type CheckoutAction } from "./checkout-flows";
import type { FakeContext } from "./context";
import { escapeHtml, formatMoney, htmlPage } from "./html";
import type { CheckoutLineItem, CheckoutSession, Price } from "./stripe-objects";

/**
 * The stand-in for Stripe's hosted checkout page, at the session's `url`
 * (`GET /checkout/:id`): the line items and total, and buttons that do what a customer (or,
 * later, the bank) would do. Each button posts to `/checkout/:id/:action`; the fake sends the
 * signed webhooks for it, waits for each one's first delivery attempt, then redirects like
 * Stripe: to `success_url` after a payment (with `{CHECKOUT_SESSION_ID}` filled in,
 * https://docs.stripe.com/payments/checkout/custom-success-page), to `cancel_url` after a
 * declined card. The ACH buttons appear once an ACH payment is pending; they redirect to
 * `success_url` too, whose page must show the order's real state, never trust the redirect.
 */

export interface PageResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const HTML = { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" };
const PAGE_ACTIONS: readonly CheckoutAction[] = ["pay", "fail", "ach", "ach-succeed", "ach-fail"];

function cadence(price: Price): string {
  const r = price.recurring;
  if (!r) return "";
  return r.interval_count === 1 ? ` / ${r.interval}` : ` every ${r.interval_count} ${r.interval}s`;
}

function lineRow(item: CheckoutLineItem): string {
  return (
    `<tr><td>${escapeHtml(item.description)}</td><td class="num">${item.quantity}</td>` +
    `<td class="num">${escapeHtml(formatMoney(item.price.unit_amount, item.currency))}${escapeHtml(cadence(item.price))}</td>` +
    `<td class="num">${escapeHtml(formatMoney(item.amount_total, item.currency))}</td></tr>`
  );
}

function successUrl(session: CheckoutSession): string | null {
  return session.success_url?.replaceAll("{CHECKOUT_SESSION_ID}", session.id) ?? null;
}

function hasPendingAch(ctx: FakeContext, session: CheckoutSession): boolean {
  if (session.status !== "complete" || session.payment_status !== "unpaid") return false;
  const chargeId =
    session.mode === "payment"
      ? ctx.state.paymentIntents[session.payment_intent ?? ""]?.latest_charge
      : ctx.state.invoices[session.invoice ?? ""]?.charge;
  return ctx.state.charges[chargeId ?? ""]?.status === "pending";
}

export function renderCheckoutPage(ctx: FakeContext, session: CheckoutSession, notice?: { error?: string }): string {
  const items = ctx.state.sessionExtras[session.id]?.lineItems ?? [];
  const recurring = items.filter((i) => i.price.recurring);
  const renewal = recurring.reduce((sum, i) => sum + i.amount_total, 0);
  const customer = session.customer ? ctx.state.customers[session.customer] : undefined;
  const email = session.customer_details?.email ?? session.customer_email ?? customer?.email ?? "";
  const base = `/checkout/${encodeURIComponent(session.id)}`;
  const total = formatMoney(session.amount_total, session.currency);
  const parts: string[] = [];

  parts.push(`<h1>Checkout<span class="badge">TEST MODE · fake Stripe</span></h1>`);
  parts.push(
    `<p class="muted">Session <code>${escapeHtml(session.id)}</code> · ${escapeHtml(session.mode)}` +
      (session.client_reference_id ? ` · reference <code>${escapeHtml(session.client_reference_id)}</code>` : "") +
      `</p>`,
  );
  if (notice?.error) parts.push(`<p class="error">${escapeHtml(notice.error)}</p>`);

  parts.push(
    `<table><thead><tr><th>Item</th><th class="num">Qty</th><th class="num">Unit price</th><th class="num">Amount</th></tr></thead>`,
  );
  parts.push(`<tbody>${items.map(lineRow).join("")}</tbody>`);
  parts.push(
    `<tfoot><tr><td colspan="3">${session.mode === "subscription" ? "Total due today" : "Total"}</td><td class="num">${escapeHtml(total)}</td></tr>`,
  );
  if (recurring.length > 0) {
    parts.push(
      `<tr><td colspan="3" class="muted">Then</td><td class="num muted">${escapeHtml(formatMoney(renewal, session.currency))}${escapeHtml(cadence(recurring[0]!.price))}</td></tr>`,
    );
  }
  parts.push(`</tfoot></table>`);

  if (session.status === "open") {
    const instant = instantMethod(session);
    const ach = session.payment_method_types.includes("us_bank_account");
    const fixedEmail = session.customer_email ?? customer?.email;
    parts.push(`<form method="post" action="${escapeHtml(`${base}/pay`)}">`);
    parts.push(
      `<label>Email<input type="email" name="email" value="${escapeHtml(email || "buyer@example.com")}"${fixedEmail ? " readonly" : ""}></label>`,
    );
    parts.push(
      `<p class="muted">Accepts: ${escapeHtml(session.payment_method_types.join(", "))}</p><div class="actions">`,
    );
    if (instant) {
      parts.push(
        `<button class="primary" type="submit" formaction="${escapeHtml(`${base}/pay`)}">Pay ${escapeHtml(total)} (${escapeHtml(instant)})</button>`,
      );
      parts.push(
        `<button class="danger" type="submit" formaction="${escapeHtml(`${base}/fail`)}">Fail (card declined)</button>`,
      );
    }
    if (ach)
      parts.push(`<button type="submit" formaction="${escapeHtml(`${base}/ach`)}">Pay by ACH (pending)</button>`);
    parts.push(`</div></form>`);
    if (session.cancel_url) parts.push(`<p><a href="${escapeHtml(session.cancel_url)}">← Back (cancel_url)</a></p>`);
  } else if (hasPendingAch(ctx, session)) {
    parts.push(
      `<p class="notice">The ACH Direct Debit payment is processing: the bank answers in a few days. Decide for it:</p>`,
    );
    parts.push(`<form method="post" action="${escapeHtml(`${base}/ach-succeed`)}"><div class="actions">`);
    parts.push(
      `<button class="primary" type="submit" formaction="${escapeHtml(`${base}/ach-succeed`)}">ACH succeeds</button>`,
    );
    parts.push(
      `<button class="danger" type="submit" formaction="${escapeHtml(`${base}/ach-fail`)}">ACH fails</button>`,
    );
    parts.push(`</div></form>`);
  } else if (session.status === "complete") {
    parts.push(
      `<p class="notice">This Checkout Session is complete (payment ${escapeHtml(session.payment_status)}).</p>`,
    );
  } else {
    parts.push(`<p class="notice">This Checkout Session has expired.</p>`);
  }
  const success = successUrl(session);
  if (session.status === "complete" && success)
    parts.push(`<p><a href="${escapeHtml(success)}">Continue to success_url</a></p>`);
  parts.push(
    `<p class="muted"><a href="/">Fake Stripe dashboard</a> · <a href="/__sim/events?related=${escapeHtml(encodeURIComponent(session.id))}">this session's events (JSON)</a></p>`,
  );
  return htmlPage(`Checkout ${session.id}`, parts.join("\n"));
}

function notFound(id: string): PageResponse {
  return {
    status: 404,
    headers: HTML,
    body: htmlPage(
      "No such Checkout Session",
      `<h1>No such Checkout Session</h1><p><code>${escapeHtml(id)}</code> is not known to the fake Stripe.</p>`,
    ),
  };
}

export function checkoutPageGet(ctx: FakeContext, sessionId: string): PageResponse {
  const session = ctx.state.checkoutSessions[sessionId];
  if (!session) return notFound(sessionId);
  return { status: 200, headers: HTML, body: renderCheckoutPage(ctx, session) };
}

export async function checkoutPagePost(
  ctx: FakeContext,
  sessionId: string,
  action: string,
  form: URLSearchParams,
): Promise<PageResponse> {
  const session = ctx.state.checkoutSessions[sessionId];
  if (!session) return notFound(sessionId);
  if (!(PAGE_ACTIONS as readonly string[]).includes(action))
    return {
      status: 404,
      headers: HTML,
      body: renderCheckoutPage(ctx, session, { error: `Unknown action ${action}` }),
    };
  const email = form.get("email")?.trim() || undefined;
  try {
    runCheckoutAction(ctx, sessionId, action as CheckoutAction, email ? { email } : {});
  } catch (error) {
    if (!(error instanceof StripeApiError)) throw error;
    return { status: 409, headers: HTML, body: renderCheckoutPage(ctx, session, { error: error.message }) };
  }
  await ctx.dispatch();
  const target = action === "fail" ? session.cancel_url : successUrl(session);
  if (!target) {
    const error = action === "fail" ? "Your card was declined. (No cancel_url to return to.)" : undefined;
    return { status: 200, headers: HTML, body: renderCheckoutPage(ctx, session, error ? { error } : undefined) };
  }
  return { status: 303, headers: { location: target, "cache-control": "no-store" }, body: "" };
}
