import { operatorForHost } from "../mail/mail-operators";
import { classifySmtpOutcome, type DeliveryOutcome, type SmtpClassification } from "../mail/smtp-outcome";
import type { PostfixDelivery } from "./postfix-log";

/**
 * Parsed Postfix deliveries → increments of the daily deliverability aggregates, one bucket per
 * (UTC day, sending IP, receiving operator, outcome, reason code). Pure.
 *
 * Each delivery line is one attempt: a message deferred three times and then sent counts three
 * deferrals (or throttles) and one acceptance, which is what shows how hard an operator is
 * pushing back. Idempotency is per line (aggregateKey), recorded by the caller before it adds.
 */

export interface DeliveryAggregateIncrement {
  /** UTC calendar day of the attempt, YYYY-MM-DD. */
  day: string;
  /** The sending IP, or "unknown" when the instance is not in the configured map. */
  sendingIp: string;
  /** The receiving operator (mail-operators), or "unknown" when no host is named. */
  operator: string;
  outcome: DeliveryOutcome;
  reasonCode: string;
  count: number;
}

export interface AggregateOptions {
  /**
   * Delivery agents whose lines count. Default: only `smtp`, the Postfix SMTP client; local,
   * virtual, lmtp and pipe deliveries say nothing about outbound reputation.
   */
  services?: readonly string[];
}

export const UNKNOWN = "unknown";

/** status=sent is accepted whatever the text says; anything else is classified from the reply. */
export function classifyDelivery(delivery: PostfixDelivery): SmtpClassification {
  if (delivery.status === "sent") {
    return { outcome: "accepted", reasonCode: delivery.enhanced ?? delivery.dsn };
  }
  // Without an enhanced code from the server, Postfix's own dsn= says what it concluded
  // (4.4.1 connection failure, 5.4.4 no route), unless it contradicts the server's reply code
  // (soft_bounce turns a 5yz into a 4.x.x dsn; the server's verdict is what we aggregate).
  const dsnAgrees = delivery.replyCode === null || delivery.dsn[0] === String(delivery.replyCode)[0];
  return classifySmtpOutcome({
    code: delivery.replyCode,
    enhanced: delivery.enhanced ?? (dsnAgrees ? delivery.dsn : null),
    text: delivery.response,
  });
}

/**
 * The receiving operator of a delivery: from relay=; for relay=none (no connection was made) from
 * the host named in the response ("connect to mx.example.com[192.0.2.1]:25: Connection timed out").
 */
export function deliveryOperator(delivery: PostfixDelivery): string {
  const fromRelay = delivery.relayHost === null ? null : operatorForHost(delivery.relayHost);
  if (fromRelay !== null) return fromRelay;
  const named = /\b(?:connect to|host|with) ([A-Za-z0-9._-]+)\[/.exec(delivery.response);
  return (named && operatorForHost(named[1]!)) ?? UNKNOWN;
}

export function aggregateDeliveries(
  deliveries: Iterable<PostfixDelivery>,
  options: AggregateOptions = {},
): DeliveryAggregateIncrement[] {
  const services = new Set(options.services ?? ["smtp"]);
  const buckets = new Map<string, DeliveryAggregateIncrement>();
  for (const delivery of deliveries) {
    if (!services.has(delivery.service)) continue;
    const { outcome, reasonCode } = classifyDelivery(delivery);
    const bucket: Omit<DeliveryAggregateIncrement, "count"> = {
      day: delivery.at.toISOString().slice(0, 10),
      sendingIp: delivery.sendingIp ?? UNKNOWN,
      operator: deliveryOperator(delivery),
      outcome,
      reasonCode,
    };
    const key = JSON.stringify([bucket.day, bucket.sendingIp, bucket.operator, bucket.outcome, bucket.reasonCode]);
    const existing = buckets.get(key);
    if (existing) existing.count++;
    else buckets.set(key, { ...bucket, count: 1 });
  }
  return [...buckets.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, increment]) => increment);
}
