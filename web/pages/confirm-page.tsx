import { isPaidStatus } from "../../domain/orders/order-status";
import type { FC } from "hono/jsx";
import { formatCents } from "../../domain/catalog/money";
import { StatusBadge } from "../components";
import { Layout } from "../layout";

/**
 * GET /order/confirm: where Stripe sends the customer after paying. The redirect proves
 * nothing (anyone can open that URL), so this page reads the orders' status, which only the
 * webhook moves, and refreshes itself until every order has left `pending_payment`.
 */

export interface ConfirmOrder {
  number: string;
  serviceName: string;
  status: string;
  totalCents: number;
  url: string;
  /** A failed government fee can be paid again from here. */
  payUrl?: string;
}

export interface ConfirmPageProps {
  orders: ConfirmOrder[];
  waiting: boolean;
  /** Set while waiting: the page reloads itself (no script needed). */
  refresh?: { seconds: number; url: string };
  slow: boolean;
}

export const ConfirmPage: FC<ConfirmPageProps> = (p) => (
  <Layout title={p.waiting ? "Confirming your payment" : "Your payment"} {...(p.refresh ? { refresh: p.refresh } : {})}>
    {p.waiting ? <Waiting slow={p.slow} /> : <Outcome orders={p.orders} />}
    <h2>{p.orders.length === 1 ? "Your order" : "Your orders"}</h2>
    <ul>
      {p.orders.map((o) => (
        <li>
          <a href={o.url}>{o.number}</a>: {o.serviceName}, {formatCents(o.totalCents)} <StatusBadge status={o.status} />
          {o.payUrl ? (
            <>
              {" "}
              <a href={o.payUrl}>Try the payment again</a>
            </>
          ) : null}
        </li>
      ))}
    </ul>
  </Layout>
);

const Waiting: FC<{ slow: boolean }> = ({ slow }) => (
  <div role="status" aria-live="polite">
    <h1>Confirming your payment…</h1>
    <p>We are waiting for the payment provider to confirm your payment. This page updates by itself.</p>
    {slow ? (
      <p class="notice warn">
        This is taking longer than usual. You can close this page: we will e-mail you as soon as the payment is
        confirmed.
      </p>
    ) : null}
  </div>
);

const Outcome: FC<{ orders: ConfirmOrder[] }> = ({ orders }) => {
  const statuses = new Set(orders.map((o) => o.status));
  if (orders.length > 0 && orders.every((o) => isPaidStatus(o.status))) {
    return (
      <div class="notice ok" role="status">
        <h1>Payment received</h1>
        <p>Thank you. We have your payment and will e-mail you about the next steps.</p>
      </div>
    );
  }
  if (statuses.has("payment_failed")) {
    return (
      <div class="notice bad" role="status">
        <h1>The payment did not go through</h1>
        <p>
          Nothing was charged for the orders marked "Payment failed". You can try again, or reply to our e-mail for
          help.
        </p>
      </div>
    );
  }
  if (statuses.has("payment_processing")) {
    return (
      <div class="notice" role="status">
        <h1>Your bank payment has started</h1>
        <p>
          ACH debits take a few business days to clear. We will e-mail you when it has; there is nothing more to do.
        </p>
      </div>
    );
  }
  return (
    <div class="notice" role="status">
      <h1>Your payment</h1>
      <p>Here is where your orders stand.</p>
    </div>
  );
};
