import type { FC } from "hono/jsx";
import { formatCents } from "../../domain/catalog/money";
import { DISPUTE_NOTE_MAX, type FeeItem, type Payability } from "../../domain/orders/government-fee-order";
import { FeeBreakdown, when } from "../components";
import { Layout } from "../layout";

/**
 * GET/POST /order/dispute: "something looks wrong". Shows the fee and takes the customer's
 * note; posting it holds the payment and opens an admin task. The signed token travels in the
 * form, so the POST needs no cookie and another site cannot forge it.
 */

export interface DisputePageProps {
  childNumber: string;
  parentNumber: string;
  serviceName: string;
  items: readonly FeeItem[];
  totalCents: number;
  payability: Payability;
  token: string;
  payUrl: string;
  orderUrl: string;
  heldSince?: Date;
  note?: string;
  error?: string;
  /** Set after a successful POST. */
  confirmed?: boolean;
}

export const DisputePage: FC<DisputePageProps> = (p) => (
  <Layout title={`Something looks wrong with ${p.childNumber}`}>
    <h1>Something looks wrong with this fee?</h1>
    <p>
      Government fee <strong>{p.childNumber}</strong> for your {p.serviceName} (order {p.parentNumber}):{" "}
      <strong>{formatCents(p.totalCents)}</strong>.
    </p>
    <FeeBreakdown items={p.items} totalCents={p.totalCents} />
    <DisputeSection {...p} />
    <p>
      <a href={p.orderUrl}>See this order and its history</a>
    </p>
  </Layout>
);

const DisputeSection: FC<DisputePageProps> = (p) => {
  if (p.confirmed) {
    return (
      <div class="notice ok" role="status">
        <h2>Thank you: the payment is on hold</h2>
        <p>
          We have your note and have put this payment on hold. Someone will check the fee and e-mail you, usually within
          one business day.
        </p>
      </div>
    );
  }
  if (p.payability === "on_hold") {
    return (
      <div class="notice warn" role="status">
        <h2>We already have your report</h2>
        <p>
          You told us about this fee{p.heldSince ? ` on ${when(p.heldSince)}` : ""}, and the payment is on hold while we
          check it. To add anything, reply to our e-mail.
        </p>
      </div>
    );
  }
  if (p.payability !== "payable") {
    return (
      <div class="notice" role="status">
        <h2>This fee can no longer be put on hold</h2>
        <p>
          {p.payability === "paid"
            ? "It has been paid already. If something is wrong, reply to our e-mail and we will put it right (and refund any overpayment)."
            : p.payability === "processing"
              ? "A bank payment for it is under way. If something is wrong, reply to our e-mail and we will refund any overpayment."
              : "This fee request is closed. If we still need a fee from you, we have e-mailed you a new link."}
        </p>
      </div>
    );
  }
  return (
    <form method="post" action="/order/dispute">
      <input type="hidden" name="order" value={p.childNumber} />
      <input type="hidden" name="token" value={p.token} />
      <label for="note">What looks wrong?</label>
      <p id="note-hint" class="muted">
        For example: the number of vehicles, the state, or an amount you expected to be different. Up to{" "}
        {DISPUTE_NOTE_MAX} characters.
      </p>
      {p.error ? (
        <p id="note-error" class="error" role="alert">
          {p.error}
        </p>
      ) : null}
      <textarea
        id="note"
        name="note"
        rows={6}
        required
        maxlength={DISPUTE_NOTE_MAX}
        aria-describedby={p.error ? "note-hint note-error" : "note-hint"}
        aria-invalid={p.error ? "true" : undefined}
      >
        {p.note ?? ""}
      </textarea>
      <p>
        <button type="submit">Hold the payment and send my note</button>
      </p>
      <p class="muted">
        Or, if the fee is right, <a href={p.payUrl}>go back and pay it</a>.
      </p>
    </form>
  );
};
