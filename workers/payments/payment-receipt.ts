import type { PaymentOrder } from "../../db/order-payments";
import type { Db } from "../../db/client";
import { customerOrdersLink, orderViewLink } from "../../domain/auth/signed-link";
import { formatCents } from "../../domain/catalog/money";
import { getService } from "../../domain/catalog/services";
import type { AppConfig } from "../../domain/config/app-config";
import { createMailer } from "../mailer/mailer";
import { sendRecorded } from "../mailer/recorded-send";

const escape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/**
 * The customer's receipt when an order is first paid: what was paid, a link to the order's page
 * and one to all their orders (signed, expiring: no password). Once per order ever: the
 * Message-ID is derived from the order number, and a send is claimed before it goes out, so a
 * replayed event, a retried job or a later renewal never sends a second receipt.
 */
export async function sendPaymentReceipt(db: Db, config: AppConfig, order: PaymentOrder): Promise<void> {
  if (!config.CUSTOMER_LINK_SECRET) return;
  const service = getService(order.serviceSlug)?.displayName ?? order.serviceSlug;
  const now = new Date();
  const orderUrl = await orderViewLink(config, order, now);
  const allUrl = await customerOrdersLink(config, { id: order.customerId }, now);
  const total = formatCents(order.totalCents);
  const result = await sendRecorded(
    db,
    config,
    createMailer(config),
    {
      to: order.customerEmail,
      messageId: `<paid.${order.number}@${config.MAIL_SENDING_DOMAIN}>`,
      subject: `Payment received: ${service} (order ${order.number})`,
      text: [
        "Hello,",
        "",
        `We received your payment of ${total} for ${service} (order ${order.number}).`,
        `Follow your order here: ${orderUrl}`,
        `All your orders: ${allUrl}`,
        "",
        "Thank you,",
        "Docket",
      ].join("\n"),
      html: [
        "<p>Hello,</p>",
        `<p>We received your payment of <strong>${escape(total)}</strong> for ${escape(service)} (order ${escape(order.number)}).</p>`,
        `<p><a href="${escape(orderUrl)}">Follow your order</a> · <a href="${escape(allUrl)}">All your orders</a></p>`,
        "<p>Thank you,<br>Docket</p>",
      ].join("\n"),
      headers: { "X-Docket-Kind": "payment-receipt" },
    },
    { kind: "transactional" },
  );
  if (result.sent && result.outcome.status !== "accepted") {
    console.warn(
      JSON.stringify({
        level: "warn",
        event: "payment_receipt_not_accepted",
        order: order.number,
        outcome: result.outcome.status,
      }),
    );
  }
}
