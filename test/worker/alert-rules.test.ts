import { describe, expect, it } from "vitest";
import {
  alertThresholds,
  evaluateAlertRules,
  formatPercent,
  type AlertThresholds,
} from "../../domain/alerts/alert-rules";
import {
  alertWindows,
  type AlertMetricsSnapshot,
  type DmarcSourceMetrics,
  type MtaOutcomeCount,
} from "../../domain/alerts/alert-snapshot";
import { loadAppConfig } from "../../domain/config/app-config";

// The defaults of domain/config/app-config.ts, read through the real schema.
const defaults = (() => {
  const result = loadAppConfig({
    APP_ENV: "test",
    PUBLIC_BASE_URL: "http://docket.test",
    MAIL_FROM: "Docket <noreply@send.docket.test>",
    MAIL_SENDING_DOMAIN: "send.docket.test",
    OPERATOR_EMAIL: "ops@docket.test",
    SMTP_HOST: "127.0.0.1",
  });
  if (!result.ok) throw new Error(result.problems.join("; "));
  return alertThresholds(result.config);
})();

const NOW = new Date("2026-11-22T12:05:00Z");
const TODAY = "2026-11-22";

function snapshot(
  parts: Partial<{
    ours: DmarcSourceMetrics[];
    external: DmarcSourceMetrics[];
    mta: MtaOutcomeCount[];
    sends: AlertMetricsSnapshot["sends"];
  }>,
): AlertMetricsSnapshot {
  return {
    dmarc: { ours: parts.ours ?? [], external: parts.external ?? [] },
    mta: parts.mta ?? [],
    sends: parts.sends ?? { sent: 0, hardBounces: 0, complaints: 0 },
  };
}

const source = (
  sourceIp: string,
  messages: number,
  passed: number,
  headerFrom = ["docket.test"],
): DmarcSourceMetrics => ({
  sourceIp,
  messages,
  passed,
  reports: 2,
  headerFrom,
});

/** MTA aggregate rows for one day, operator and IP: { accepted: 90, reject_reputation: 10 }. */
const mta = (
  operator: string,
  outcomes: Record<string, number>,
  sendingIp = "203.0.113.7",
  day = TODAY,
): MtaOutcomeCount[] =>
  Object.entries(outcomes).map(([outcome, count]) => ({ day, operator, sendingIp, outcome, count }));

const run = (s: AlertMetricsSnapshot, t: AlertThresholds = defaults) => evaluateAlertRules(s, t, NOW);
const fired = (s: AlertMetricsSnapshot, t: AlertThresholds = defaults) =>
  run(s, t).map((a) => `${a.rule} ${a.subject} ${a.windowKey}`);

describe("alert thresholds", () => {
  it("come from the configuration, with the documented defaults", () => {
    expect(defaults).toEqual({
      dmarcPassMin: 0.95,
      spoofMinMessages: 20,
      reputationRejectRate: 0.1,
      microsoftThrottleRate: 0.7,
      bounceRate: 0.05,
      complaintRate: 0.001,
      minSample: 50,
    });
  });

  it("formats rates for people", () => {
    expect([0.95, 0.001, 0.0123, 0.7, 1].map(formatPercent)).toEqual(["95%", "0.1%", "1.23%", "70%", "100%"]);
  });

  it("an empty snapshot fires nothing", () => {
    expect(run(snapshot({}))).toEqual([]);
  });
});

describe("dmarc-pass-rate: one of our IPs under 95% DMARC pass over 7 days", () => {
  it("fires under the minimum, keyed by the day of evaluation", () => {
    const [alert, ...rest] = run(snapshot({ ours: [source("203.0.113.7", 1000, 949)] }));
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({
      rule: "dmarc-pass-rate",
      subject: "203.0.113.7",
      windowKey: TODAY,
      metrics: { messages: 1000, passed: 949, passRate: 0.949, threshold: 0.95, windowDays: 7 },
    });
    expect(alert?.title).toContain("94.9%");
    expect(alert?.body).toContain("949 of 1000 messages");
    expect(alert?.body).toContain("under the 95% minimum");
    expect(alert?.body).toMatch(/DKIM-signed/);
  });

  it("stays quiet at exactly the minimum and above it", () => {
    expect(fired(snapshot({ ours: [source("203.0.113.7", 1000, 950), source("203.0.113.8", 100, 100)] }))).toEqual([]);
  });

  it("stays quiet below ALERT_MIN_SAMPLE messages, and fires from exactly that many", () => {
    expect(fired(snapshot({ ours: [source("203.0.113.7", 49, 0)] }))).toEqual([]);
    expect(fired(snapshot({ ours: [source("203.0.113.7", 50, 0)] }))).toEqual([`dmarc-pass-rate 203.0.113.7 ${TODAY}`]);
  });

  it("judges each IP on its own", () => {
    const s = snapshot({
      ours: [source("203.0.113.9", 200, 150), source("203.0.113.7", 200, 200), source("203.0.113.8", 200, 10)],
    });
    expect(fired(s)).toEqual([`dmarc-pass-rate 203.0.113.8 ${TODAY}`, `dmarc-pass-rate 203.0.113.9 ${TODAY}`]);
  });

  it("follows a configured minimum", () => {
    expect(fired(snapshot({ ours: [source("203.0.113.7", 100, 90)] }), { ...defaults, dmarcPassMin: 0.9 })).toEqual([]);
    expect(
      fired(snapshot({ ours: [source("203.0.113.7", 100, 89)] }), { ...defaults, dmarcPassMin: 0.9 }),
    ).toHaveLength(1);
  });
});

describe("dmarc-spoofing: an external IP with 20 or more failing messages claiming our domain", () => {
  it("fires at exactly 20 failing messages", () => {
    const [alert, ...rest] = run(
      snapshot({ external: [source("198.51.100.23", 25, 5, ["docket.test", "news.docket.test"])] }),
    );
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({
      rule: "dmarc-spoofing",
      subject: "198.51.100.23",
      windowKey: TODAY,
      metrics: { failing: 20, messages: 25, threshold: 20, headerFrom: ["docket.test", "news.docket.test"] },
    });
    expect(alert?.body).toContain("20 messages claiming docket.test, news.docket.test from 198.51.100.23");
    expect(alert?.body).toContain("alert at 20 or more");
    expect(alert?.body).toContain("unlisted sending IP of ours");
    expect(alert?.body).toContain("p=reject");
  });

  it("stays quiet at 19 failing messages, however many passed", () => {
    expect(
      fired(snapshot({ external: [source("198.51.100.23", 19, 0), source("198.51.100.24", 5000, 4981)] })),
    ).toEqual([]);
  });

  it("is a count, not a rate: ALERT_MIN_SAMPLE does not apply", () => {
    expect(fired(snapshot({ external: [source("198.51.100.23", 20, 0)] }), { ...defaults, minSample: 1000 })).toEqual([
      `dmarc-spoofing 198.51.100.23 ${TODAY}`,
    ]);
  });

  it("follows a configured minimum", () => {
    expect(
      fired(snapshot({ external: [source("198.51.100.23", 20, 0)] }), { ...defaults, spoofMinMessages: 21 }),
    ).toEqual([]);
  });
});

describe("reputation-rejects: 10% or more reputation rejects at one operator in a day", () => {
  it("fires at exactly 10% of the day's verdicts, keyed by the day of the data", () => {
    const rows = [
      ...mta("yahoo", { accepted: 60, reject_reputation: 8 }, "203.0.113.7", "2026-11-21"),
      ...mta("yahoo", { accepted: 30, reject_reputation: 2 }, "203.0.113.8", "2026-11-21"),
    ];
    const [alert, ...rest] = run(snapshot({ mta: rows }));
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({
      rule: "reputation-rejects",
      subject: "yahoo",
      windowKey: "2026-11-21",
      metrics: {
        rejects: 10,
        verdicts: 100,
        rate: 0.1,
        threshold: 0.1,
        bySendingIp: { "203.0.113.7": 8, "203.0.113.8": 2 },
      },
    });
    expect(alert?.body).toContain("yahoo refused 10 of 100 messages");
    expect(alert?.body).toContain("alert at 10% or more");
    expect(alert?.body).toContain("203.0.113.7 (8), 203.0.113.8 (2)");
  });

  it("stays quiet just under 10%", () => {
    expect(fired(snapshot({ mta: mta("yahoo", { accepted: 901, reject_reputation: 99 }) }))).toEqual([]);
  });

  it("counts verdicts only: deferrals and throttles are retried attempts and do not dilute the rate", () => {
    const rows = mta("google", {
      accepted: 45,
      reject_reputation: 5,
      reject_recipient: 0,
      deferred: 400,
      throttled: 100,
    });
    expect(fired(snapshot({ mta: rows }))).toEqual([`reputation-rejects google ${TODAY}`]);
  });

  it("stays quiet below ALERT_MIN_SAMPLE verdicts, and fires from exactly that many", () => {
    expect(fired(snapshot({ mta: mta("yahoo", { accepted: 24, reject_reputation: 25, deferred: 500 }) }))).toEqual([]);
    expect(fired(snapshot({ mta: mta("yahoo", { accepted: 25, reject_reputation: 25 }) }))).toEqual([
      `reputation-rejects yahoo ${TODAY}`,
    ]);
  });

  it("judges each operator and each day on its own, and never the unknown bucket", () => {
    const rows = [
      ...mta("yahoo", { accepted: 90, reject_reputation: 10 }, "203.0.113.7", "2026-11-21"),
      ...mta("yahoo", { accepted: 95, reject_reputation: 5 }, "203.0.113.7", TODAY),
      ...mta("google", { accepted: 80, reject_reputation: 20 }),
      ...mta("unknown", { accepted: 0, reject_reputation: 500 }),
    ];
    expect(fired(snapshot({ mta: rows }))).toEqual([
      `reputation-rejects yahoo 2026-11-21`,
      `reputation-rejects google ${TODAY}`,
    ]);
  });
});

describe("microsoft-throttling: Microsoft throttling 70% or more", () => {
  it("fires at exactly 70% of the day's attempts", () => {
    const [alert, ...rest] = run(snapshot({ mta: mta("microsoft", { throttled: 70, accepted: 25, deferred: 5 }) }));
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({
      rule: "microsoft-throttling",
      subject: "microsoft",
      windowKey: TODAY,
      metrics: { throttled: 70, attempts: 100, rate: 0.7, threshold: 0.7 },
    });
    expect(alert?.body).toContain("Microsoft throttled 70 of 100 delivery attempts");
    expect(alert?.body).toContain("alert at 70% or more");
    expect(alert?.body).toContain("Slow the ramp");
  });

  it("stays quiet just under 70%", () => {
    expect(fired(snapshot({ mta: mta("microsoft", { throttled: 699, accepted: 301 }) }))).toEqual([]);
  });

  it("stays quiet below ALERT_MIN_SAMPLE attempts", () => {
    expect(fired(snapshot({ mta: mta("microsoft", { throttled: 49 }) }))).toEqual([]);
    expect(fired(snapshot({ mta: mta("microsoft", { throttled: 50 }) }))).toEqual([
      `microsoft-throttling microsoft ${TODAY}`,
    ]);
  });

  it("is about Microsoft only", () => {
    expect(fired(snapshot({ mta: mta("yahoo", { throttled: 100 }) }))).toEqual([]);
  });

  it("sums Microsoft's attempts over our sending IPs", () => {
    const rows = [
      ...mta("microsoft", { throttled: 40, accepted: 10 }, "203.0.113.7"),
      ...mta("microsoft", { throttled: 35, accepted: 15 }, "203.0.113.8"),
    ];
    const [alert] = run(snapshot({ mta: rows }));
    expect(alert?.metrics).toMatchObject({
      throttled: 75,
      attempts: 100,
      bySendingIp: { "203.0.113.7": 40, "203.0.113.8": 35 },
    });
  });
});

describe("bounce-rate: bounce rate over 5%, last 24 hours", () => {
  it("fires over 5%, keyed by the day of evaluation", () => {
    const [alert, ...rest] = run(snapshot({ sends: { sent: 1000, hardBounces: 51, complaints: 0 } }));
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({
      rule: "bounce-rate",
      subject: "all",
      windowKey: TODAY,
      metrics: { hardBounces: 51, sent: 1000, rate: 0.051, threshold: 0.05, windowHours: 24, until: NOW.toISOString() },
    });
    expect(alert?.body).toContain("51 of 1000 messages sent bounced permanently (5.1%; alert above 5%)");
  });

  it("stays quiet at exactly 5%", () => {
    expect(fired(snapshot({ sends: { sent: 1000, hardBounces: 50, complaints: 0 } }))).toEqual([]);
  });

  it("stays quiet below ALERT_MIN_SAMPLE sends, and fires from exactly that many", () => {
    expect(fired(snapshot({ sends: { sent: 49, hardBounces: 49, complaints: 0 } }))).toEqual([]);
    expect(fired(snapshot({ sends: { sent: 50, hardBounces: 3, complaints: 0 } }))).toEqual([
      `bounce-rate all ${TODAY}`,
    ]);
  });
});

describe("complaint-rate: complaint rate over 0.1%, last 24 hours", () => {
  it("fires over 0.1%", () => {
    const [alert, ...rest] = run(snapshot({ sends: { sent: 1000, hardBounces: 0, complaints: 2 } }));
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({
      rule: "complaint-rate",
      subject: "all",
      windowKey: TODAY,
      metrics: { complaints: 2, sent: 1000, rate: 0.002 },
    });
    expect(alert?.body).toContain("2 of 1000 messages sent as spam (0.2%; alert above 0.1%)");
  });

  it("stays quiet at exactly 0.1%", () => {
    expect(fired(snapshot({ sends: { sent: 1000, hardBounces: 0, complaints: 1 } }))).toEqual([]);
  });

  it("stays quiet below ALERT_MIN_SAMPLE sends", () => {
    expect(fired(snapshot({ sends: { sent: 49, hardBounces: 0, complaints: 10 } }))).toEqual([]);
  });

  it("fires together with the bounce rule, each on its own threshold", () => {
    expect(fired(snapshot({ sends: { sent: 100, hardBounces: 6, complaints: 1 } }))).toEqual([
      `bounce-rate all ${TODAY}`,
      `complaint-rate all ${TODAY}`,
    ]);
  });
});

describe("alert windows", () => {
  it("DMARC over the 7 days before evaluation, operators from yesterday's UTC day, rates over 24 hours", () => {
    const w = alertWindows(new Date("2026-11-22T00:05:00Z"));
    expect(w.dmarcSince.toISOString()).toBe("2026-11-15T00:05:00.000Z");
    expect(w.operatorFromDay).toBe("2026-11-21");
    expect(w.ratesSince.toISOString()).toBe("2026-11-21T00:05:00.000Z");
  });
});
