/**
 * What the alert rules look at: a snapshot of deliverability metrics as plain data (computed by
 * db/alert-metrics.ts from DMARC reports, MTA daily aggregates, sends and bounce events), and the
 * windows it is computed over. Pure.
 *
 * Windows, all relative to the evaluation time `now` (the cron's scheduled time):
 * - DMARC: reports whose period ends in the 7 days before `now`. Receivers report a day at a
 *   time, a day or two late, so a week smooths out one reporter's gaps.
 * - Operators (reputation rejects, Microsoft throttling): each UTC day of the MTA aggregates,
 *   today's and yesterday's, so log lines posted after midnight still count for their day.
 * - Bounce and complaint rates: a rolling 24 hours before `now`, events against sends, so a
 *   spike is caught within the hour rather than after the day closes.
 */

const DAY_MS = 86_400_000;

export const DMARC_WINDOW_DAYS = 7;
export const RATE_WINDOW_HOURS = 24;

export interface AlertWindows {
  now: Date;
  /** DMARC rules: reports whose period ends after this and began before `now`. */
  dmarcSince: Date;
  /** Operator rules: UTC days (YYYY-MM-DD) from this one up to today's. */
  operatorFromDay: string;
  /** Bounce and complaint rates: sends and events in [ratesSince, now]. */
  ratesSince: Date;
}

/** The UTC calendar day of `at`, YYYY-MM-DD. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export function alertWindows(now: Date): AlertWindows {
  return {
    now,
    dmarcSince: new Date(now.getTime() - DMARC_WINDOW_DAYS * DAY_MS),
    operatorFromDay: utcDay(new Date(now.getTime() - DAY_MS)),
    ratesSince: new Date(now.getTime() - RATE_WINDOW_HOURS * 3_600_000),
  };
}

/** DMARC aggregate results for one source IP, summed over the reports in the window. */
export interface DmarcSourceMetrics {
  sourceIp: string;
  /** Messages receivers reported from this IP. */
  messages: number;
  /** Of those, messages that passed DMARC. */
  passed: number;
  /** Reports they came in (several receivers report the same IP). */
  reports: number;
  /** The From domains they carried, lower-cased. */
  headerFrom: string[];
}

/** One bucket of mta_daily_aggregates, summed over reason codes. */
export interface MtaOutcomeCount {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  operator: string;
  sendingIp: string;
  /** A DeliveryOutcome (domain/mail/smtp-outcome). */
  outcome: string;
  count: number;
}

/** Sends and what came back about mail, in the rate window. */
export interface SendVolume {
  /** Messages handed to the relay (any status but `sending`). */
  sent: number;
  /**
   * Permanent failures: hard-bounce reports (one per send, or per address when the report
   * matched no send) plus recipients the relay refused outright (reject_recipient at RCPT).
   */
  hardBounces: number;
  /** Complaint (feedback loop) reports, one per send or address. */
  complaints: number;
}

export interface AlertMetricsSnapshot {
  dmarc: {
    /** Source IPs inside SENDING_NETWORKS. */
    ours: DmarcSourceMetrics[];
    /** Source IPs outside them, only records whose From is the reported domain or below it. */
    external: DmarcSourceMetrics[];
  };
  mta: MtaOutcomeCount[];
  sends: SendVolume;
}
