import { USDOT_NUMBER_PATTERN } from "./intake-fields";
import { fieldValue, type ServiceDefinition } from "./service-definition";

/**
 * When a completed filing falls due again (OrderMachine issue, item 6), as a UTC calendar date
 * `YYYY-MM-DD`, or null when it does not recur or intake lacks what the rule needs.
 */
export function nextDueDate(
  service: Pick<ServiceDefinition, "nextDue">,
  intake: Readonly<Record<string, unknown>>,
  completedAt: Date,
): string | null {
  const rule = service.nextDue;
  switch (rule.kind) {
    case "none":
      return null;
    case "every":
      return isoDay(addMonths(completedAt, rule.months));
    case "mcs150_biennial": {
      const usdot = String(fieldValue(intake, rule.usdotField) ?? "");
      return USDOT_NUMBER_PATTERN.test(usdot) ? mcs150DueDate(usdot, completedAt) : null;
    }
    case "annual_deadline": {
      if (rule.period) {
        const period = Number(fieldValue(intake, rule.period.field));
        if (!Number.isInteger(period)) return null;
        return isoDay(deadline(period + rule.period.yearOffset, rule.month, rule.day));
      }
      // The first deadline at least 60 days out: a filing made just before a deadline counts
      // for that deadline, not the one a year later.
      const earliest = completedAt.getTime() + 60 * 86_400_000;
      let year = completedAt.getUTCFullYear();
      while (deadline(year, rule.month, rule.day).getTime() < earliest) year++;
      return isoDay(deadline(year, rule.month, rule.day));
    }
  }
}

/**
 * 49 CFR 390.19(b): the MCS-150 is updated every 24 months, by the end of the month given by
 * the USDOT number's last digit (1 = January … 9 = September, 0 = October), in odd-numbered
 * years when the next-to-last digit is odd and even-numbered years when it is even (a one-digit
 * number's next-to-last digit is 0). The next due date after a filing is the first scheduled
 * month that begins after it.
 */
export function mcs150DueDate(usdotNumber: string, after: Date): string {
  if (!USDOT_NUMBER_PATTERN.test(usdotNumber)) throw new RangeError(`not a USDOT number: ${usdotNumber}`);
  const last = Number(usdotNumber.at(-1));
  const nextToLast = usdotNumber.length > 1 ? Number(usdotNumber.at(-2)) : 0;
  const month = last === 0 ? 10 : last;
  const parity = nextToLast % 2;
  let year = after.getUTCFullYear();
  while (year % 2 !== parity || Date.UTC(year, month - 1, 1) <= after.getTime()) year++;
  return isoDay(new Date(Date.UTC(year, month, 0)));
}

function deadline(year: number, month: number, day: number): Date {
  return new Date(Date.UTC(year, month - 1, day));
}

function addMonths(date: Date, months: number): Date {
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return new Date(Date.UTC(y, m, Math.min(date.getUTCDate(), lastDay)));
}

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}
