import type { AlertMessage } from "./alert-message";
import type { AppConfig } from "../config/app-config";
import {
  DMARC_WINDOW_DAYS,
  RATE_WINDOW_HOURS,
  utcDay,
  type AlertMetricsSnapshot,
  type DmarcSourceMetrics,
  type MtaOutcomeCount,
} from "./alert-snapshot";

/**
 * The deliverability alert rules (DESIGN.md, "Deliverability loop"). Pure: a metrics snapshot,
 * thresholds and the evaluation time in; the alerts that fire out. Sending them, once per
 * rule, subject and window, is workers/alerts' job.
 *
 * | rule                 | subject   | fires when                                            | window key            |
 * | -------------------- | --------- | ----------------------------------------------------- | --------------------- |
 * | dmarc-pass-rate      | our IP    | DMARC pass rate < ALERT_DMARC_PASS_MIN over 7 days     | UTC day of evaluation |
 * | dmarc-spoofing       | other IP  | ≥ ALERT_SPOOF_MIN_MESSAGES failing messages, 7 days    | UTC day of evaluation |
 * | reputation-rejects   | operator  | reputation rejects ≥ ALERT_REPUTATION_REJECT_RATE      | UTC day of the data   |
 * | microsoft-throttling | microsoft | throttled attempts ≥ ALERT_MICROSOFT_THROTTLE_RATE      | UTC day of the data   |
 * | bounce-rate          | all       | hard bounces > ALERT_BOUNCE_RATE of sends, last 24 h   | UTC day of evaluation |
 * | complaint-rate       | all       | complaints > ALERT_COMPLAINT_RATE of sends, last 24 h  | UTC day of evaluation |
 *
 * Rolling windows are keyed by the day they are evaluated on, so while a condition holds its
 * alert repeats at most once a day; per-day rules fire once for the day they are about.
 * Every rate rule stays quiet below ALERT_MIN_SAMPLE messages (a 1-of-3 bounce is noise); the
 * spoofing rule is a count and has its own minimum.
 *
 * Denominators: reputation rejects are counted among messages that got a verdict (accepted or
 * rejected), because deferrals and throttles are retried attempts that would dilute the rate;
 * Microsoft throttling among all delivery attempts, because that is what throttling is a share of.
 */

export const ALERT_RULES = [
  "dmarc-pass-rate",
  "dmarc-spoofing",
  "reputation-rejects",
  "microsoft-throttling",
  "bounce-rate",
  "complaint-rate",
] as const;

export type AlertRule = (typeof ALERT_RULES)[number];

export interface AlertThresholds {
  /** Minimum DMARC pass rate of each of our sending IPs (0..1). */
  dmarcPassMin: number;
  /** Failing messages from one external IP claiming our domain that make it spoofing. */
  spoofMinMessages: number;
  /** Share of verdicts at one operator in a day that are reputation rejects (0..1). */
  reputationRejectRate: number;
  /** Share of delivery attempts at Microsoft in a day that are throttled (0..1). */
  microsoftThrottleRate: number;
  /** Hard bounces per send (0..1). */
  bounceRate: number;
  /** Complaints per send (0..1). */
  complaintRate: number;
  /** Rate rules stay quiet below this many messages. */
  minSample: number;
}

export function alertThresholds(
  config: Pick<
    AppConfig,
    | "ALERT_DMARC_PASS_MIN"
    | "ALERT_SPOOF_MIN_MESSAGES"
    | "ALERT_REPUTATION_REJECT_RATE"
    | "ALERT_MICROSOFT_THROTTLE_RATE"
    | "ALERT_BOUNCE_RATE"
    | "ALERT_COMPLAINT_RATE"
    | "ALERT_MIN_SAMPLE"
  >,
): AlertThresholds {
  return {
    dmarcPassMin: config.ALERT_DMARC_PASS_MIN,
    spoofMinMessages: config.ALERT_SPOOF_MIN_MESSAGES,
    reputationRejectRate: config.ALERT_REPUTATION_REJECT_RATE,
    microsoftThrottleRate: config.ALERT_MICROSOFT_THROTTLE_RATE,
    bounceRate: config.ALERT_BOUNCE_RATE,
    complaintRate: config.ALERT_COMPLAINT_RATE,
    minSample: config.ALERT_MIN_SAMPLE,
  };
}

export interface FiringAlert extends AlertMessage {
  rule: AlertRule;
  metrics: Record<string, unknown>;
}

/** The mail_operators label of Microsoft (Outlook.com, Hotmail, Exchange Online). */
export const MICROSOFT_OPERATOR = "microsoft";
/** The aggregates' label for a delivery whose receiving host is not known: not one operator. */
const UNKNOWN_OPERATOR = "unknown";

/** A rate for people: 0.95 → "95%", 0.001 → "0.1%", 0.0123 → "1.23%". */
export function formatPercent(rate: number): string {
  return `${Number((rate * 100).toFixed(2))}%`;
}

export function evaluateAlertRules(
  snapshot: AlertMetricsSnapshot,
  thresholds: AlertThresholds,
  now: Date,
): FiringAlert[] {
  const today = utcDay(now);
  return [
    ...dmarcPassRate(snapshot.dmarc.ours, thresholds, today),
    ...dmarcSpoofing(snapshot.dmarc.external, thresholds, today),
    ...operatorDays(snapshot.mta).flatMap((d) => [
      ...reputationRejects(d, thresholds),
      ...microsoftThrottling(d, thresholds),
    ]),
    ...sendRates(snapshot.sends, thresholds, now),
  ];
}

// ---------------------------------------------------------------------------------------------
// DMARC

function dmarcPassRate(sources: DmarcSourceMetrics[], t: AlertThresholds, today: string): FiringAlert[] {
  const alerts: FiringAlert[] = [];
  for (const s of sorted(sources, (s) => s.sourceIp)) {
    if (s.messages < t.minSample) continue;
    const passRate = s.passed / s.messages;
    if (!(passRate < t.dmarcPassMin)) continue;
    alerts.push({
      rule: "dmarc-pass-rate",
      subject: s.sourceIp,
      windowKey: today,
      title: `DMARC pass rate ${formatPercent(passRate)} on our sending IP ${s.sourceIp}`,
      body:
        `Over the ${DMARC_WINDOW_DAYS} days to ${today}, receivers reported ${s.passed} of ${s.messages} messages from our ` +
        `sending IP ${s.sourceIp} passing DMARC (${formatPercent(passRate)}), under the ${formatPercent(t.dmarcPassMin)} minimum. ` +
        `Check that mail leaving this IP is DKIM-signed for our domain and that its envelope domain's SPF covers the IP before sending more from it.`,
      metrics: {
        sourceIp: s.sourceIp,
        messages: s.messages,
        passed: s.passed,
        passRate,
        threshold: t.dmarcPassMin,
        reports: s.reports,
        headerFrom: s.headerFrom,
        windowDays: DMARC_WINDOW_DAYS,
      },
    });
  }
  return alerts;
}

function dmarcSpoofing(sources: DmarcSourceMetrics[], t: AlertThresholds, today: string): FiringAlert[] {
  const alerts: FiringAlert[] = [];
  for (const s of sorted(sources, (s) => s.sourceIp)) {
    const failing = s.messages - s.passed;
    if (failing < t.spoofMinMessages) continue;
    const domains = s.headerFrom.length > 0 ? s.headerFrom.join(", ") : "our domain";
    alerts.push({
      rule: "dmarc-spoofing",
      subject: s.sourceIp,
      windowKey: today,
      title: `${failing} messages failing DMARC from ${s.sourceIp}, outside our sending networks`,
      body:
        `Over the ${DMARC_WINDOW_DAYS} days to ${today}, receivers reported ${failing} messages claiming ${domains} from ` +
        `${s.sourceIp}, an IP outside SENDING_NETWORKS, that failed DMARC (alert at ${t.spoofMinMessages} or more). ` +
        `Check that it is not an unlisted sending IP of ours (if it is, add it to SENDING_NETWORKS and sign its mail); ` +
        `if it is not, a p=reject policy keeps this mail out of inboxes.`,
      metrics: {
        sourceIp: s.sourceIp,
        failing,
        messages: s.messages,
        reports: s.reports,
        headerFrom: s.headerFrom,
        threshold: t.spoofMinMessages,
        windowDays: DMARC_WINDOW_DAYS,
      },
    });
  }
  return alerts;
}

// ---------------------------------------------------------------------------------------------
// Operators, per UTC day

interface OperatorDay {
  day: string;
  operator: string;
  /** Attempts per outcome. */
  outcomes: Map<string, number>;
  /** Attempts per sending IP and outcome. */
  byIp: Map<string, Map<string, number>>;
}

function operatorDays(rows: MtaOutcomeCount[]): OperatorDay[] {
  const days = new Map<string, OperatorDay>();
  for (const r of rows) {
    if (r.operator === UNKNOWN_OPERATOR) continue;
    const key = `${r.day} ${r.operator}`;
    let d = days.get(key);
    if (!d) {
      d = { day: r.day, operator: r.operator, outcomes: new Map(), byIp: new Map() };
      days.set(key, d);
    }
    add(d.outcomes, r.outcome, r.count);
    let ip = d.byIp.get(r.sendingIp);
    if (!ip) d.byIp.set(r.sendingIp, (ip = new Map()));
    add(ip, r.outcome, r.count);
  }
  return sorted([...days.values()], (d) => `${d.day} ${d.operator}`);
}

function add(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

function sum(map: Map<string, number>, include: (outcome: string) => boolean = () => true): number {
  let n = 0;
  for (const [outcome, count] of map) if (include(outcome)) n += count;
  return n;
}

const isVerdict = (outcome: string) => outcome === "accepted" || outcome.startsWith("reject_");

/** Sending IPs with the most attempts of `outcome`, for the body: "203.0.113.7 (40), 203.0.113.8 (2)". */
function topIps(d: OperatorDay, outcome: string): { ip: string; count: number }[] {
  return [...d.byIp]
    .map(([ip, outcomes]) => ({ ip, count: outcomes.get(outcome) ?? 0 }))
    .filter((x) => x.count > 0)
    .sort((a, b) => b.count - a.count || a.ip.localeCompare(b.ip));
}

function describeIps(ips: { ip: string; count: number }[]): string {
  const shown = ips.slice(0, 3).map((x) => `${x.ip} (${x.count})`);
  return ips.length > 3 ? `${shown.join(", ")} and ${ips.length - 3} more` : shown.join(", ");
}

function reputationRejects(d: OperatorDay, t: AlertThresholds): FiringAlert[] {
  const verdicts = sum(d.outcomes, isVerdict);
  const rejects = d.outcomes.get("reject_reputation") ?? 0;
  if (verdicts < t.minSample || rejects === 0) return [];
  const rate = rejects / verdicts;
  if (!(rate >= t.reputationRejectRate)) return [];
  const ips = topIps(d, "reject_reputation");
  return [
    {
      rule: "reputation-rejects",
      subject: d.operator,
      windowKey: d.day,
      title: `${formatPercent(rate)} reputation rejects at ${d.operator} on ${d.day}`,
      body:
        `On ${d.day} (UTC), ${d.operator} refused ${rejects} of ${verdicts} messages for our sending reputation ` +
        `(${formatPercent(rate)}; alert at ${formatPercent(t.reputationRejectRate)} or more), from ${describeIps(ips)}. ` +
        `Pause campaign mail to ${d.operator} and check these IPs and our domain on its postmaster pages and the public blocklists before resuming at a lower rate.`,
      metrics: {
        day: d.day,
        operator: d.operator,
        rejects,
        verdicts,
        rate,
        threshold: t.reputationRejectRate,
        bySendingIp: Object.fromEntries(ips.map((x) => [x.ip, x.count])),
      },
    },
  ];
}

function microsoftThrottling(d: OperatorDay, t: AlertThresholds): FiringAlert[] {
  if (d.operator !== MICROSOFT_OPERATOR) return [];
  const attempts = sum(d.outcomes);
  const throttled = d.outcomes.get("throttled") ?? 0;
  if (attempts < t.minSample || throttled === 0) return [];
  const rate = throttled / attempts;
  if (!(rate >= t.microsoftThrottleRate)) return [];
  const ips = topIps(d, "throttled");
  return [
    {
      rule: "microsoft-throttling",
      subject: MICROSOFT_OPERATOR,
      windowKey: d.day,
      title: `Microsoft throttled ${formatPercent(rate)} of delivery attempts on ${d.day}`,
      body:
        `On ${d.day} (UTC), Microsoft throttled ${throttled} of ${attempts} delivery attempts (${formatPercent(rate)}; ` +
        `alert at ${formatPercent(t.microsoftThrottleRate)} or more), from ${describeIps(ips)}. ` +
        `Slow the ramp: lower the daily volume and hourly rate to Microsoft until throttling falls back, rather than retrying harder.`,
      metrics: {
        day: d.day,
        operator: MICROSOFT_OPERATOR,
        throttled,
        attempts,
        rate,
        threshold: t.microsoftThrottleRate,
        bySendingIp: Object.fromEntries(ips.map((x) => [x.ip, x.count])),
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Bounce and complaint rates, rolling 24 hours

function sendRates(sends: AlertMetricsSnapshot["sends"], t: AlertThresholds, now: Date): FiringAlert[] {
  if (sends.sent < t.minSample) return [];
  const alerts: FiringAlert[] = [];
  const windowKey = utcDay(now);
  const until = now.toISOString();
  const bounceRate = sends.hardBounces / sends.sent;
  if (bounceRate > t.bounceRate) {
    alerts.push({
      rule: "bounce-rate",
      subject: "all",
      windowKey,
      title: `Hard-bounce rate ${formatPercent(bounceRate)} over the last ${RATE_WINDOW_HOURS} hours`,
      body:
        `In the ${RATE_WINDOW_HOURS} hours to ${until}, ${sends.hardBounces} of ${sends.sent} messages sent bounced permanently ` +
        `(${formatPercent(bounceRate)}; alert above ${formatPercent(t.bounceRate)}). ` +
        `Pause campaigns and check where the bouncing addresses came from and how they were verified before sending to that list again.`,
      metrics: {
        hardBounces: sends.hardBounces,
        sent: sends.sent,
        rate: bounceRate,
        threshold: t.bounceRate,
        windowHours: RATE_WINDOW_HOURS,
        until,
      },
    });
  }
  const complaintRate = sends.complaints / sends.sent;
  if (complaintRate > t.complaintRate) {
    alerts.push({
      rule: "complaint-rate",
      subject: "all",
      windowKey,
      title: `Complaint rate ${formatPercent(complaintRate)} over the last ${RATE_WINDOW_HOURS} hours`,
      body:
        `In the ${RATE_WINDOW_HOURS} hours to ${until}, recipients reported ${sends.complaints} of ${sends.sent} messages sent as spam ` +
        `(${formatPercent(complaintRate)}; alert above ${formatPercent(t.complaintRate)}). ` +
        `Pause campaigns and review who is being mailed, what the message says and how visible the unsubscribe link is: Gmail and Yahoo filter senders who reach 0.3%.`,
      metrics: {
        complaints: sends.complaints,
        sent: sends.sent,
        rate: complaintRate,
        threshold: t.complaintRate,
        windowHours: RATE_WINDOW_HOURS,
        until,
      },
    });
  }
  return alerts;
}

function sorted<T>(items: T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
