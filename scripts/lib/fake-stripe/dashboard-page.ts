import { StripeApiError } from "./api-error";
import type { FakeContext } from "./context";
import { escapeHtml, formatMoney, htmlPage } from "./html";
import { refundCharge } from "./refunds";
import { cancelSubscription, getSubscription, renewSubscription } from "./subscriptions";
import type { PageResponse } from "./checkout-page";

/**
 * `GET /`: what the fake holds, for a developer running `npm start` — recent Checkout Sessions
 * (links to their pages), subscriptions with buttons for what only time or the bank would do
 * (renew, fail a renewal, cancel), refundable charges, and recent events with the endpoint's
 * answers (replay any of them). The same actions are JSON endpoints under /__sim for tests.
 */

const HTML = { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" };
const SHOWN = 30;

const button = (action: string, label: string, cls = "") =>
  `<form class="inline" method="post" action="${escapeHtml(action)}"><button type="submit" class="${cls}">${escapeHtml(label)}</button></form>`;

const when = (unix: number | null) => (unix ? new Date(unix * 1000).toISOString().replace(".000Z", "Z") : "");

export function dashboardGet(ctx: FakeContext, notice?: string): PageResponse {
  const s = ctx.state;
  const parts: string[] = [`<h1>Fake Stripe<span class="badge">TEST MODE</span></h1>`];
  parts.push(
    `<p class="muted">Webhook endpoint: <code>${escapeHtml(ctx.config.webhookUrl ?? "(none)")}</code> · invoice subscription field: <code>${escapeHtml(ctx.config.invoiceStyle)}</code> · events sent: <code>${escapeHtml(ctx.config.enabledEvents === "*" ? "*" : ctx.config.enabledEvents.join(", "))}</code></p>`,
  );
  if (notice) parts.push(`<p class="notice">${escapeHtml(notice)}</p>`);

  const sessions = Object.values(s.checkoutSessions).reverse().slice(0, SHOWN);
  parts.push(
    `<h2>Checkout Sessions</h2><table><tr><th>Session</th><th>Mode</th><th>Status</th><th>Reference</th><th class="num">Total</th></tr>`,
  );
  for (const cs of sessions) {
    parts.push(
      `<tr><td><a href="/checkout/${escapeHtml(encodeURIComponent(cs.id))}"><code>${escapeHtml(cs.id.slice(0, 24))}…</code></a></td><td>${escapeHtml(cs.mode)}</td>` +
        `<td>${escapeHtml(cs.status)} / ${escapeHtml(cs.payment_status)}</td><td>${escapeHtml(cs.client_reference_id ?? "")}</td>` +
        `<td class="num">${escapeHtml(formatMoney(cs.amount_total, cs.currency))}</td></tr>`,
    );
  }
  parts.push(`</table>`);

  const subscriptions = Object.values(s.subscriptions).reverse().slice(0, SHOWN);
  parts.push(
    `<h2>Subscriptions</h2><table><tr><th>Subscription</th><th>Status</th><th>Period end</th><th>Latest invoice</th><th></th></tr>`,
  );
  for (const sub of subscriptions) {
    const invoice = sub.latest_invoice ? s.invoices[sub.latest_invoice] : undefined;
    const base = `/dashboard/subscriptions/${encodeURIComponent(sub.id)}`;
    const live = sub.status === "active" || sub.status === "past_due";
    parts.push(
      `<tr><td><code>${escapeHtml(sub.id)}</code></td><td>${escapeHtml(sub.status)}</td><td>${escapeHtml(when(sub.items.data[0]?.current_period_end ?? null))}</td>` +
        `<td>${invoice ? `${escapeHtml(invoice.billing_reason)}: ${escapeHtml(invoice.status)} (attempts ${invoice.attempt_count})` : ""}</td><td>` +
        (live ? button(`${base}/renew`, "Renew") + button(`${base}/fail-renewal`, "Fail renewal", "danger") : "") +
        (sub.status !== "canceled" ? button(`${base}/cancel`, "Cancel", "danger") : "") +
        `</td></tr>`,
    );
  }
  parts.push(`</table>`);

  const charges = Object.values(s.charges)
    .filter((c) => c.status === "succeeded")
    .reverse()
    .slice(0, SHOWN);
  parts.push(
    `<h2>Charges</h2><table><tr><th>Charge</th><th class="num">Amount</th><th class="num">Refunded</th><th></th></tr>`,
  );
  for (const ch of charges) {
    parts.push(
      `<tr><td><code>${escapeHtml(ch.id)}</code> <span class="muted">${escapeHtml(ch.payment_method_details.type)}</span></td>` +
        `<td class="num">${escapeHtml(formatMoney(ch.amount, ch.currency))}</td><td class="num">${escapeHtml(formatMoney(ch.amount_refunded, ch.currency))}</td>` +
        `<td>${ch.refunded ? "" : button(`/dashboard/charges/${encodeURIComponent(ch.id)}/refund`, "Refund the rest", "danger")}</td></tr>`,
    );
  }
  parts.push(`</table>`);

  const events = s.events.slice(-SHOWN).reverse();
  parts.push(`<h2>Events</h2><table><tr><th>Type</th><th>Event</th><th>Delivery</th><th></th></tr>`);
  for (const record of events) {
    const last = record.deliveries.at(-1);
    const answer = last ? (last.status ?? last.error ?? "") : (record.notSentReason ?? "");
    parts.push(
      `<tr><td>${escapeHtml(record.event.type)}</td><td><a href="/__sim/events/${escapeHtml(encodeURIComponent(record.event.id))}"><code>${escapeHtml(record.event.id)}</code></a></td>` +
        `<td>${escapeHtml(record.status)} <span class="muted">${escapeHtml(answer)}</span></td>` +
        `<td>${button(`/dashboard/events/${encodeURIComponent(record.event.id)}/replay`, "Replay")}</td></tr>`,
    );
  }
  parts.push(`</table>`);
  return { status: 200, headers: HTML, body: htmlPage("Fake Stripe", parts.join("\n")) };
}

/** The dashboard's buttons: do it, send the events, come back to the dashboard. */
export async function dashboardPost(
  ctx: FakeContext,
  path: string,
  replay: (eventId: string) => Promise<unknown>,
): Promise<PageResponse> {
  const m = /^\/dashboard\/(subscriptions|charges|events)\/([^/]+)\/([a-z-]+)$/.exec(path);
  if (!m) return dashboardGet(ctx, `Unknown action ${path}`);
  const [, kind, rawId, action] = m;
  const id = decodeURIComponent(rawId!);
  try {
    if (kind === "subscriptions" && action === "renew") renewSubscription(ctx, getSubscription(ctx, id), "succeeded");
    else if (kind === "subscriptions" && action === "fail-renewal")
      renewSubscription(ctx, getSubscription(ctx, id), "failed");
    else if (kind === "subscriptions" && action === "cancel")
      cancelSubscription(ctx, getSubscription(ctx, id), { reason: "cancellation_requested" });
    else if (kind === "charges" && action === "refund") {
      const charge = ctx.state.charges[id];
      if (!charge) return dashboardGet(ctx, `No such charge ${id}`);
      refundCharge(ctx, charge, {});
    } else if (kind === "events" && action === "replay") await replay(id);
    else return dashboardGet(ctx, `Unknown action ${path}`);
  } catch (error) {
    if (error instanceof StripeApiError) return dashboardGet(ctx, error.message);
    throw error;
  }
  await ctx.dispatch();
  return { status: 303, headers: { location: "/", "cache-control": "no-store" }, body: "" };
}
