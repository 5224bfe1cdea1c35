import type { FC } from "hono/jsx";
import { formatCents } from "../../domain/catalog/money";
import type { PaymentOption } from "../../domain/catalog/pricing";
import type { FeeItem, Payability } from "../../domain/orders/government-fee-order";
import { FeeBreakdown, methodLabel, StatusBadge, surchargeText, when } from "../components";
import { Layout } from "../layout";

/**
 * GET /order/pay: the government fee of a child order, itemised, and one form per allowed
 * payment method showing its surcharge and total. Each form posts the signed token back (no
 * cookie, no session: the token is the credential, and the POST is same-origin). A held,
 * paid or closed child shows why instead of the forms.
 */

export interface PayPageProps {
  childNumber: string;
  parentNumber: string;
  serviceName: string;
  customer: { name: string | null; company: string | null };
  status: string;
  payability: Payability;
  items: readonly FeeItem[];
  totalCents: number;
  options: readonly PaymentOption[];
  token: string;
  orderUrl: string;
  disputeUrl: string;
  heldSince?: Date;
  /** A message from the last POST (e.g. the payment provider did not answer). */
  notice?: { tone: "warn" | "bad"; text: string };
}

export const PayPage: FC<PayPageProps> = (p) => (
  <Layout title={`Pay the government fee ${p.childNumber}`}>
    <h1>Government fee for your {p.serviceName}</h1>
    <p>
      Order <strong>{p.childNumber}</strong> (for order {p.parentNumber})
      {p.customer.name || p.customer.company ? (
        <>, prepared for {[p.customer.name, p.customer.company].filter(Boolean).join(", ")}</>
      ) : null}
      . Status: <StatusBadge status={p.status} />
    </p>
    <p>We pay this fee to the agency on your behalf and bill it to you at cost.</p>
    {p.notice ? (
      <p class={`notice ${p.notice.tone}`} role="alert">
        {p.notice.text}
      </p>
    ) : null}
    <FeeBreakdown items={p.items} totalCents={p.totalCents} />
    <PaySection {...p} />
    <p>
      <a href={p.orderUrl}>See this order and its history</a>
    </p>
  </Layout>
);

const PaySection: FC<PayPageProps> = (p) => {
  switch (p.payability) {
    case "on_hold":
      return (
        <div class="notice warn" role="status">
          <h2>Payment on hold</h2>
          <p>
            You told us something looks wrong with this fee{p.heldSince ? ` on ${when(p.heldSince)}` : ""}. We are
            checking it and will e-mail you; no payment can be made until then.
          </p>
        </div>
      );
    case "paid":
      return (
        <div class="notice ok" role="status">
          <h2>Paid</h2>
          <p>This fee is paid. Thank you: we will carry on with your filing.</p>
        </div>
      );
    case "processing":
      return (
        <div class="notice" role="status">
          <h2>Payment processing</h2>
          <p>
            Your bank payment has started. ACH debits take a few business days to clear; we will e-mail you when it has.
          </p>
        </div>
      );
    case "closed":
      return (
        <div class="notice warn" role="status">
          <h2>Nothing to pay here</h2>
          <p>
            This fee request is closed (cancelled, refunded or replaced by a corrected one). If we still need a fee from
            you, we have e-mailed you a new link.
          </p>
        </div>
      );
    case "payable":
      return (
        <section aria-labelledby="methods">
          <h2 id="methods">Choose how to pay</h2>
          <p class="muted">Card and Klarna payments carry a surcharge; a bank transfer (ACH) does not.</p>
          <ul class="methods">
            {p.options.map((o) => (
              <li>
                <div>
                  <strong>{methodLabel(o.method)}</strong>
                  <br />
                  <small>
                    {surchargeText(o.bps, o.surchargeCents)}; total {formatCents(o.totalCents)}
                  </small>
                </div>
                <form method="post" action="/order/pay">
                  <input type="hidden" name="order" value={p.childNumber} />
                  <input type="hidden" name="token" value={p.token} />
                  <input type="hidden" name="method" value={o.method} />
                  <button type="submit">
                    Pay {formatCents(o.totalCents)} by {methodLabel(o.method)}
                  </button>
                </form>
              </li>
            ))}
          </ul>
          <p>
            Something looks wrong? <a href={p.disputeUrl}>Tell us before you pay</a> and we will hold the payment while
            we check.
          </p>
        </section>
      );
  }
};
