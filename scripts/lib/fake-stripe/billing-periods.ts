import type { RecurringInterval } from "./stripe-objects";

/**
 * Billing periods as Stripe counts them
 * (https://docs.stripe.com/billing/subscriptions/billing-cycle): whole intervals from the
 * anchor; a monthly subscription anchored on the 31st renews on the last day of a shorter month.
 */
export function addInterval(timestamp: number, interval: RecurringInterval, count: number): number {
  const d = new Date(timestamp * 1000);
  if (interval === "day" || interval === "week") {
    return timestamp + count * (interval === "day" ? 86_400 : 7 * 86_400);
  }
  const months = interval === "month" ? count : 12 * count;
  const day = d.getUTCDate();
  const target = new Date(
    Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()),
  );
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(day, lastDay));
  return Math.floor(target.getTime() / 1000);
}

/** The end of the period that follows the one ending at `currentEnd`, counted from the anchor (no day drift). */
export function nextPeriodEnd(anchor: number, currentEnd: number, interval: RecurringInterval, count: number): number {
  let n = 1;
  while (addInterval(anchor, interval, n * count) <= currentEnd) n++;
  return addInterval(anchor, interval, n * count);
}
