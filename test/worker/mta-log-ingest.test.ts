import { createExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { asc, like, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { mtaDailyAggregates, mtaLogLines } from "../../db/schema";
import { signatureHeader } from "../../domain/mta-log/ingest-signature";
import { createApp } from "../../workers/app";
import { testEnv, withTestDb } from "../support/db";

/**
 * POST /ingest/mta-log end to end: signed Postfix lines → mta_daily_aggregates in the real
 * Postgres. vitest.config.ts binds MTA_LOG_HMAC_SECRET and MTA_INSTANCE_IPS
 * ({"postfix-out01": "203.0.113.10", "postfix-out02": "203.0.113.11"}).
 */

const env = testEnv as typeof testEnv & { MTA_LOG_HMAC_SECRET: string };
const SECRET = env.MTA_LOG_HMAC_SECRET;
if (!SECRET) throw new Error("vitest.config.ts must bind MTA_LOG_HMAC_SECRET (and MTA_INSTANCE_IPS) for this file");

const post = async (body: string, headers: Record<string, string | null> = {}) => {
  const h = new Headers({
    "content-type": "text/plain; charset=utf-8",
    "x-docket-signature": await signatureHeader(SECRET, body),
  });
  for (const [k, v] of Object.entries(headers)) {
    if (v === null) h.delete(k);
    else h.set(k, v);
  }
  return exports.default.fetch(new Request("http://docket.test/ingest/mta-log", { method: "POST", headers: h, body }));
};

/** Aggregate rows of the days starting with `dayPrefix` (each test uses its own days). */
const aggregates = (dayPrefix: string) =>
  withTestDb((db) =>
    db
      .select({
        day: mtaDailyAggregates.day,
        sendingIp: mtaDailyAggregates.sendingIp,
        operator: mtaDailyAggregates.operator,
        outcome: mtaDailyAggregates.outcome,
        reasonCode: mtaDailyAggregates.reasonCode,
        count: mtaDailyAggregates.count,
      })
      .from(mtaDailyAggregates)
      .where(like(sql`${mtaDailyAggregates.day}::text`, `${dayPrefix}%`))
      .orderBy(asc(mtaDailyAggregates.day), asc(mtaDailyAggregates.sendingIp), asc(mtaDailyAggregates.operator)),
  );
const recordedLines = (dayPrefix: string) =>
  withTestDb(async (db) => {
    const rows = await db
      .select({ n: sql<number>`count(*)::int` })
      .from(mtaLogLines)
      .where(like(sql`${mtaLogLines.day}::text`, `${dayPrefix}%`));
    return rows[0]!.n;
  });

// One of each: accepted twice at Google, a Yahoo throttle, a Microsoft reputation reject, a
// recipient reject the next day, an instance missing from MTA_INSTANCE_IPS, a local delivery
// and a qmgr line (ignored), and two malformed delivery lines.
const LOG = (day: string) => [
  `${day}-20T10:00:01+00:00 mta1 postfix-out01/smtp[23817]: 4Bx7Zk1Qz9z9tQ2: to=<dispatch@carrier-one.example>, relay=aspmx.l.google.com[142.250.27.26]:25, delay=1.4, delays=0.05/0.01/0.42/0.92, dsn=2.0.0, status=sent (250 2.0.0 OK  1732183201 a640c23a62f3a-aa4b3c1d2e3si1234567.512 - gsmtp)`,
  `${day}-20T10:00:02+00:00 mta1 postfix-out01/smtp[23818]: 4Bx7Zk1Qz9z9tQ3: to=<ops@carrier-one.example>, relay=aspmx.l.google.com[142.250.27.26]:25, delay=0.9, delays=0.05/0.01/0.42/0.42, dsn=2.0.0, status=sent (250 2.0.0 OK  1732183202 a640c23a62f3a-aa4b3c1d2e3si1234567.513 - gsmtp)`,
  `${day}-20T10:00:03+00:00 mta1 postfix-out01/smtp[23818]: 4Bx7Zm3ABCz9tQ4: to=<owner@yahoo.com>, relay=none, delay=31, delays=0.02/0.01/31/0, dsn=4.7.0, status=deferred (delivery temporarily suspended: host mta7.am0.yahoodns.net[67.195.204.79] refused to talk to me: 421 4.7.0 [TSS04] Messages from 203.0.113.10 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes)`,
  `${day}-20T10:00:08+00:00 mta1 postfix-out02/smtp[23823]: 4Bx7Zs8PQRz9tQ9: to=<driver@hotmail.com>, relay=hotmail-com.olc.protection.outlook.com[52.101.8.33]:25, delay=0.7, delays=0.01/0/0.4/0.29, dsn=5.7.1, status=bounced (host hotmail-com.olc.protection.outlook.com[52.101.8.33] said: 550 5.7.1 Unfortunately, messages from [203.0.113.11] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). [DB3EUR04FT007.eop-eur04.prod.protection.outlook.com] (in reply to MAIL FROM command))`,
  `${day}-21T00:00:05+00:00 mta1 postfix-out02/smtp[23819]: 4Bx7Zp5GHIz9tQ6: to=<nobody-here@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.27.27]:25, delay=0.8, delays=0.02/0/0.31/0.47, dsn=5.1.1, status=bounced (host gmail-smtp-in.l.google.com[142.250.27.27] said: 550-5.1.1 The email account that you tried to reach does not exist. 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser - gsmtp (in reply to RCPT TO command))`,
  `${day}-20T10:00:11+00:00 mta1 postfix/local[1250]: 4Bx7Zw1YZAz9tR2: to=<root@mta1.docket.test>, orig_to=<root>, relay=local, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)`,
  `${day}-20T10:00:15+00:00 mta1 postfix/qmgr[812]: 4Bx7Zx2BCDz9tR3: from=<bounce+abc@send.docket.test>, size=2048, nrcpt=1 (queue active)`,
  `${day}-20T10:00:16+00:00 mta1 postfix-edge/smtp[23840]: 4Bx7ZzJKLMz9tS5: to=<boss@icloud.com>, relay=mx01.mail.icloud.com[17.57.155.23]:25, delay=0.5, delays=0.01/0/0.2/0.29, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 6A1B2C3D4E)`,
  `${day}-20T10:00:21+00:00 mta1 postfix-out01/smtp[23835]: 4Bx7ZzDTUVz9tS0: to=<x@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.27.27]:25, delay=0.3, delays=0/0/0.2/0.1, dsn=2.0, status=sent (250 2.0.0 OK)`,
  `${day}-20T10:00:23+00:00 mta1 postfix-out01/smtp[23837]: 4Bx7ZzFZABz9tS2: to=<x@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.27.27]:25, delay=0.3, delays=0/0/0.2/0.1, dsn=2.0.0, status=delivered (250 2.0.0 OK)`,
];
const body = (lines: string[]) => `${lines.join("\n")}\n`;

describe("POST /ingest/mta-log", () => {
  it("counts each delivery into the daily aggregate of its sending IP, operator, outcome and reason", async () => {
    const res = await post(body(LOG("2026-11")));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      lines: 10,
      deliveries: 6,
      counted: 6,
      duplicates: 0,
      ignored: 2,
      malformed: 2,
      errors: [
        { line: 9, error: "malformed delivery line: missing or invalid dsn=" },
        { line: 10, error: "malformed delivery line: unknown status=delivered" },
      ],
    });
    expect(await aggregates("2026-11")).toEqual([
      {
        day: "2026-11-20",
        sendingIp: "203.0.113.10",
        operator: "google",
        outcome: "accepted",
        reasonCode: "2.0.0",
        count: 2,
      },
      {
        day: "2026-11-20",
        sendingIp: "203.0.113.10",
        operator: "yahoo",
        outcome: "throttled",
        reasonCode: "4.7.0:TSS04",
        count: 1,
      },
      {
        day: "2026-11-20",
        sendingIp: "203.0.113.11",
        operator: "microsoft",
        outcome: "reject_reputation",
        reasonCode: "5.7.1:S3150",
        count: 1,
      },
      {
        day: "2026-11-20",
        sendingIp: "unknown",
        operator: "apple",
        outcome: "accepted",
        reasonCode: "2.0.0",
        count: 1,
      },
      {
        day: "2026-11-21",
        sendingIp: "203.0.113.11",
        operator: "google",
        outcome: "reject_recipient",
        reasonCode: "5.1.1",
        count: 1,
      },
    ]);
    expect(await recordedLines("2026-11")).toBe(6);
  });

  it("counts a line once: re-posting, overlapping uploads, repeats and CRLF change nothing", async () => {
    const lines = LOG("2026-09");
    expect(await (await post(body(lines))).json()).toMatchObject({ deliveries: 6, counted: 6, duplicates: 0 });
    const before = await aggregates("2026-09");

    // The same upload again (a shipper unsure whether it landed), freshly signed.
    expect(await (await post(body(lines))).json()).toMatchObject({ deliveries: 6, counted: 0, duplicates: 6 });
    // The same lines with CRLF ends, each twice.
    const crlf = lines.flatMap((l) => [l, l]).join("\r\n");
    expect(await (await post(crlf)).json()).toMatchObject({ lines: 20, deliveries: 12, counted: 0, duplicates: 12 });
    expect(await aggregates("2026-09")).toEqual(before);

    // An overlapping upload (a rotated file shipped again plus one new line): only the new line counts.
    const fresh = lines[0]!.replace("10:00:01", "11:00:01").replace("4Bx7Zk1Qz9z9tQ2", "4Bx7Zk1Qz9z9tZZ");
    expect(await (await post(body([...lines.slice(0, 3), fresh, fresh]))).json()).toMatchObject({
      deliveries: 5,
      counted: 1,
      duplicates: 4,
    });
    const after = await aggregates("2026-09");
    const google = (rows: typeof after) =>
      rows.find((r) => r.sendingIp === "203.0.113.10" && r.operator === "google" && r.outcome === "accepted")!.count;
    expect(google(after)).toBe(google(before) + 1);
    expect(after.length).toBe(before.length);
    expect(await recordedLines("2026-09")).toBe(7);
  });

  it("needs a valid, fresh signature: missing, forged, tampered, stale or future → 401 and nothing written", async () => {
    const text = body(LOG("2026-08"));
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, Record<string, string | null>][] = [
      ["missing", { "x-docket-signature": null }],
      ["malformed", { "x-docket-signature": "sha256=abc" }],
      ["forged", { "x-docket-signature": await signatureHeader("not-the-secret-0123456789abcdef0123", text) }],
      ["tampered", { "x-docket-signature": await signatureHeader(SECRET, text.replace("owner@", "other@")) }],
      ["stale", { "x-docket-signature": await signatureHeader(SECRET, text, now - 301) }],
      ["future", { "x-docket-signature": await signatureHeader(SECRET, text, now + 301) }],
      [
        "re-dated",
        {
          "x-docket-signature": (await signatureHeader(SECRET, text, now - 600)).replace(`t=${now - 600}`, `t=${now}`),
        },
      ],
    ];
    for (const [what, headers] of cases) {
      const res = await post(text, headers);
      expect(res.status, what).toBe(401);
      expect(await res.json(), what).toMatchObject({ error: "UNAUTHORIZED" });
    }
    expect(await recordedLines("2026-08")).toBe(0);
    expect(await aggregates("2026-08")).toEqual([]);

    // Within the tolerance is fine; one of several v1 entries may match (secret rotation).
    const old = await signatureHeader("the-previous-secret-0123456789abcdef", text, now - 200);
    const current = await signatureHeader(SECRET, text, now - 200);
    const res = await post(text, { "x-docket-signature": `${old},${current.split(",")[1]}` });
    expect(res.status).toBe(200);
    expect(await recordedLines("2026-08")).toBe(6);
  });

  it("signs `${t}.${body}` with HMAC-SHA256, hex (the scheme shippers implement)", async () => {
    const text = body(LOG("2026-07").slice(0, 1));
    const t = Math.floor(Date.now() / 1000);
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(SECRET),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${t}.${text}`));
    const hex = [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
    const res = await post(text, { "x-docket-signature": `t=${t},v1=${hex}` });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ counted: 1 });
  });

  it("refuses other media types (415) and too many lines (413)", async () => {
    const res = await post("x\n", { "content-type": "application/json" });
    expect(res.status).toBe(415);
    const many = await post("x\n".repeat(50_001));
    expect(many.status).toBe(413);
    expect(await many.json()).toMatchObject({ error: "TOO_MANY_LINES" });
  });

  it("is off (404 INGEST_DISABLED) without MTA_LOG_HMAC_SECRET", async () => {
    const app = createApp();
    const text = body(LOG("2026-06"));
    const req = new Request("http://docket.test/ingest/mta-log", {
      method: "POST",
      headers: { "content-type": "text/plain", "x-docket-signature": await signatureHeader(SECRET, text) },
      body: text,
    });
    const res = await app.fetch(req, { ...testEnv, MTA_LOG_HMAC_SECRET: "" }, createExecutionContext());
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({
      error: "INGEST_DISABLED",
      message: expect.stringMatching(/MTA_LOG_HMAC_SECRET/),
    });
    expect(await recordedLines("2026-06")).toBe(0);
  });
});
