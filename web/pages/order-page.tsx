import type { FC } from "hono/jsx";
import { formatCents } from "../../domain/catalog/money";
import { History, LinesTable, methodLabel, StatusBadge, type HistoryItem, type LineView } from "../components";
import { Layout } from "../layout";

/** GET /order/:number: one order's status, priced lines and history, and its government-fee orders. */

export interface OrderChildView {
  number: string;
  status: string;
  totalCents: number;
  url: string;
  /** Present while the fee can be paid. */
  payUrl?: string;
  onHold: boolean;
}

export interface OrderPageProps {
  number: string;
  serviceName: string;
  status: string;
  createdAt: Date;
  paymentMethod: string;
  /** "per month", "per year" or "" (from the catalog's intervalPhrase). */
  interval: string;
  lines: LineView[];
  totalCents: number;
  history: HistoryItem[];
  parent?: { number: string; url: string };
  /** Its government-fee (child) orders. */
  feeOrders: OrderChildView[];
  customer: { name: string | null; company: string | null; email: string };
  /** For a government fee that can be paid now. */
  payUrl?: string;
  /** Signed forms, generated filings, certificates: signed links. */
  documents: { label: string; at: Date; url: string }[];
  /** The agencies' confirmation numbers, oldest first. */
  confirmations: string[];
  /** When the filing falls due again (YYYY-MM-DD). */
  nextDueOn: string | null;
  /** What the customer can do now (complete intake, sign). */
  action?: { label: string; url: string };
}

export const OrderPage: FC<OrderPageProps> = (p) => (
  <Layout title={`Order ${p.number}`}>
    <h1>
      Order {p.number}: {p.serviceName}
    </h1>
    <p>
      Status: <StatusBadge status={p.status} />
    </p>
    <dl>
      <dt>For</dt>
      <dd>{[p.customer.name, p.customer.company, p.customer.email].filter(Boolean).join(", ")}</dd>
      <dt>Placed</dt>
      <dd>{p.createdAt.toISOString().slice(0, 10)}</dd>
      <dt>Payment method</dt>
      <dd>{methodLabel(p.paymentMethod)}</dd>
      {p.parent ? (
        <>
          <dt>Government fee of</dt>
          <dd>
            <a href={p.parent.url}>order {p.parent.number}</a>
          </dd>
        </>
      ) : null}
    </dl>
    {p.payUrl ? (
      <p class="notice">
        This government fee is waiting for payment. <a href={p.payUrl}>Pay it now</a>.
      </p>
    ) : null}
    {p.action ? (
      <p class="notice">
        We need something from you: <a href={p.action.url}>{p.action.label}</a>.
      </p>
    ) : null}
    {p.confirmations.length > 0 || p.documents.length > 0 || p.nextDueOn ? (
      <section aria-labelledby="results">
        <h2 id="results">Results</h2>
        <dl>
          {p.confirmations.length > 0 ? (
            <>
              <dt>Confirmation {p.confirmations.length > 1 ? "numbers" : "number"}</dt>
              <dd>{p.confirmations.join(", ")}</dd>
            </>
          ) : null}
          {p.nextDueOn ? (
            <>
              <dt>Next due</dt>
              <dd>
                <time datetime={p.nextDueOn}>{p.nextDueOn}</time>
              </dd>
            </>
          ) : null}
        </dl>
        {p.documents.length > 0 ? (
          <ul>
            {p.documents.map((d) => (
              <li>
                <a href={d.url}>{d.label}</a> <small>({d.at.toISOString().slice(0, 10)})</small>
              </li>
            ))}
          </ul>
        ) : null}
      </section>
    ) : null}
    <LinesTable lines={p.lines} totalCents={p.totalCents} totalLabel={p.interval ? `Total (${p.interval})` : "Total"} />
    {p.feeOrders.length > 0 ? (
      <section aria-labelledby="fees">
        <h2 id="fees">Government fees</h2>
        <ul>
          {p.feeOrders.map((c) => (
            <li>
              <a href={c.url}>{c.number}</a>: {formatCents(c.totalCents)} <StatusBadge status={c.status} />
              {c.onHold ? <small> (on hold while we check it)</small> : null}
              {c.payUrl ? (
                <>
                  {" "}
                  <a href={c.payUrl}>Pay it now</a>
                </>
              ) : null}
            </li>
          ))}
        </ul>
      </section>
    ) : null}
    <section aria-labelledby="history">
      <h2 id="history">History</h2>
      <History items={p.history} />
    </section>
  </Layout>
);
