import type { FC } from "hono/jsx";
import { formatCents } from "../../domain/catalog/money";
import type { PaymentMethod } from "../../domain/catalog/payment-methods";
import { methodLabel } from "../components";
import { Layout } from "../layout";

/**
 * /order/:number/monitoring: where a Provider Compliance Bundle customer lands from the one
 * e-mail inviting them to monthly OIG/SAM monitoring (OrderMachine issue, item 7). It says
 * what the service does and costs (from the catalog: the e-mail carries no price), who will be
 * screened (copied from the bundle's intake), and offers one button that opens Stripe Checkout.
 * Every value is rendered as text (hono/jsx escapes it), names typed by the customer included.
 */

export interface ScreenedStaff {
  firstName: string;
  lastName: string;
  npi?: string;
}

export interface ScreenedParty {
  /** Top-level intake fields, as label and value, in form order; a missing value is not given yet. */
  fields: { label: string; value?: string }[];
  staff: ScreenedStaff[];
}

export type MonitoringView =
  /** The offer: a method choice and the one button. */
  | {
      kind: "offer";
      /** Where the form posts (relative: the token travels in it). */
      action: string;
      methods: readonly PaymentMethod[];
      chosen?: PaymentMethod;
      error?: string;
    }
  /** The customer already has monthly monitoring: no button. */
  | { kind: "already"; orderNumber: string }
  /** A payment for monitoring has been made and is being applied: no button either. */
  | { kind: "processing"; orderNumber: string };

export interface MonitoringInvitationPageProps {
  serviceName: string;
  priceCents: number;
  /** "per month", from the catalog's billing interval. */
  interval: string;
  /** The catalog's rule citation for the service. */
  regulation: string;
  bundle: { number: string; serviceName: string; url: string };
  screened: ScreenedParty;
  view: MonitoringView;
  /** A message from the last POST (the payment provider did not answer). */
  notice?: string;
}

export const MonitoringInvitationPage: FC<MonitoringInvitationPageProps> = (p) => (
  <Layout title={p.serviceName}>
    <h1>{p.serviceName}</h1>
    <p class="muted">
      For the customer of order {p.bundle.number} ({p.bundle.serviceName})
    </p>
    {p.notice ? (
      <p class="notice bad" role="alert">
        {p.notice}
      </p>
    ) : null}
    <h2>What it does</h2>
    <p>
      Your {p.bundle.serviceName} included one OIG/SAM exclusion screening. With {p.serviceName} we screen your practice
      and the staff below every month against the current HHS-OIG List of Excluded Individuals/Entities (LEIE) and the
      SAM.gov exclusions, and send you a new dated certificate each time.
    </p>
    <p>
      Why monthly: HHS-OIG updates the LEIE every month and advises providers to check it regularly. Under 42 CFR
      1001.1901, federal health care programs pay nothing for items or services furnished by an excluded person, so
      someone excluded after your last check puts those claims at risk.
    </p>
    <p>
      <small>Rules: {p.regulation}</small>
    </p>
    <h2>Price</h2>
    <p>
      <strong>
        {formatCents(p.priceCents)} {p.interval}
      </strong>
      , with no payment surcharge. The first month is charged when you complete the payment, then once a month.
    </p>
    <Screened screened={p.screened} />
    <Action view={p.view} priceCents={p.priceCents} interval={p.interval} />
    <p>
      <a href={p.bundle.url}>See order {p.bundle.number}</a>
    </p>
  </Layout>
);

const Screened: FC<{ screened: ScreenedParty }> = ({ screened }) => (
  <section aria-labelledby="screened">
    <h2 id="screened">Who we will screen</h2>
    <p class="muted">Copied from your {"bundle's"} details. Anything missing we ask for after you subscribe.</p>
    <table>
      <tbody>
        {screened.fields.map((f) => (
          <tr>
            <th scope="row">{f.label}</th>
            <td>{f.value ?? <span class="muted">not given yet</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
    {screened.staff.length === 0 ? (
      <p class="muted">No staff listed yet: you can add them after you subscribe.</p>
    ) : (
      <table>
        <caption>Staff ({screened.staff.length})</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">NPI</th>
          </tr>
        </thead>
        <tbody>
          {screened.staff.map((s) => (
            <tr>
              <td>
                {s.firstName} {s.lastName}
              </td>
              <td>{s.npi ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
  </section>
);

const Action: FC<{ view: MonitoringView; priceCents: number; interval: string }> = ({ view, priceCents, interval }) => {
  switch (view.kind) {
    case "already":
      return (
        <p class="notice ok" role="status">
          You already have monthly monitoring (order {view.orderNumber}). There is nothing more to do here.
        </p>
      );
    case "processing":
      return (
        <p class="notice" role="status">
          Your payment for monthly monitoring (order {view.orderNumber}) is being processed. We will e-mail you once it
          has gone through.
        </p>
      );
    case "offer": {
      const chosen = view.chosen ?? view.methods[0];
      return (
        <form method="post" action={view.action}>
          <h2>How to pay</h2>
          {view.error ? (
            <p class="error" role="alert">
              {view.error}
            </p>
          ) : null}
          <fieldset>
            <legend>Payment method</legend>
            {view.methods.map((m) => (
              <label>
                <input type="radio" name="method" value={m} checked={m === chosen} required /> {methodLabel(m)}
              </label>
            ))}
          </fieldset>
          <p>
            <button type="submit">Start monthly monitoring</button>
          </p>
          <p>
            <small>
              {formatCents(priceCents)} {interval}. You pay on {"Stripe's"} secure checkout page; nothing is charged
              until you complete it there.
            </small>
          </p>
        </form>
      );
    }
  }
};
