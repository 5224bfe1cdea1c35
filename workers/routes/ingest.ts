import { Hono } from "hono";
import { MAX_REPORTED_ERRORS, type MtaLogIngestResult } from "../../domain/mta-log/ingest-result";
import { withDb } from "../../db/client";
import { COUNTED_SERVICES, recordMtaDeliveries } from "../../db/mta-aggregates";
import { SIGNATURE_HEADER, verifySignature, type SignatureFailure } from "../../domain/mta-log/ingest-signature";
import {
  aggregateKey,
  parsePostfixLine,
  PostfixLogParseError,
  type PostfixDelivery,
} from "../../domain/mta-log/postfix-log";
import type { AppEnv } from "../app-env";
import { ApiError } from "../http-errors";

/**
 * POST /ingest/mta-log: Postfix log lines from our MTAs → daily deliverability aggregates
 * (DESIGN.md, "Deliverability loop").
 *
 * - Body: text/plain, one syslog line per line (LF or CRLF), at most MAX_LINES lines and
 *   HTTP_MAX_BODY_BYTES bytes (the app's body limit, 413 above it).
 * - Auth: `X-Docket-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t." + body>` with
 *   MTA_LOG_HMAC_SECRET (ingest-signature.ts). Missing, malformed, forged, or more than five
 *   minutes off → 401, and nothing is read further or written.
 * - Without MTA_LOG_HMAC_SECRET the endpoint is off and answers 404 INGEST_DISABLED: the
 *   feature is absent rather than broken (a 503 would page whoever watches for 5xx and make
 *   shippers retry forever), and the message says which setting turns it on.
 * - Idempotent per line: a line already counted is a duplicate (db/mta-aggregates.ts), so a
 *   shipper that is unsure whether an upload landed simply sends it again.
 * - Answer: 200 `{ lines, deliveries, counted, duplicates, ignored, malformed, errors }`, where
 *   lines = deliveries + ignored + malformed, deliveries = counted + duplicates, and errors are
 *   the first MAX_REPORTED_ERRORS malformed lines as `{ line: <1-based number>, error }`.
 *   Only postfix/smtp deliveries count; other lines (connects, qmgr, local delivery) are ignored.
 * - Classic syslog timestamps carry no year and no zone: they are read as UTC, in the year
 *   that puts them at or before now.
 */

export const MAX_LINES = 50_000;

const SIGNATURE_PROBLEMS: Record<SignatureFailure, string> = {
  missing: `The ${SIGNATURE_HEADER} header is missing`,
  malformed: `The ${SIGNATURE_HEADER} header is not "t=<unix seconds>,v1=<hex>"`,
  expired: `The ${SIGNATURE_HEADER} timestamp is more than five minutes from the server's clock; sign each request when sending it`,
  mismatch: `The ${SIGNATURE_HEADER} signature does not match the body`,
};

export const ingestRoutes = new Hono<AppEnv>();

ingestRoutes.post("/mta-log", async (c) => {
  const config = c.get("config");
  const secret = config.MTA_LOG_HMAC_SECRET;
  if (secret === undefined) {
    throw new ApiError(404, "INGEST_DISABLED", "MTA log ingest is off: set MTA_LOG_HMAC_SECRET to enable it");
  }

  // The MAC covers the bytes as sent: verify before decoding, so no text conversion can differ
  // between shipper and receiver.
  const body = new Uint8Array(await c.req.arrayBuffer());
  const check = await verifySignature(secret, c.req.header(SIGNATURE_HEADER), body);
  if (!check.ok) throw new ApiError(401, "UNAUTHORIZED", SIGNATURE_PROBLEMS[check.reason]);

  const type = c.req.header("content-type") ?? "";
  if (!/^text\/plain\b/i.test(type)) {
    throw new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Send the log as text/plain, one line per line");
  }

  // Non-UTF-8 bytes (a remote server's reply can carry anything) become U+FFFD, the same way
  // on every upload, so the line's hash stays stable.
  const text = new TextDecoder("utf-8").decode(body);
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.length > MAX_LINES) {
    throw new ApiError(
      413,
      "TOO_MANY_LINES",
      `The body has ${lines.length} lines; send at most ${MAX_LINES} per request`,
    );
  }

  const result: MtaLogIngestResult = {
    lines: lines.length,
    deliveries: 0,
    counted: 0,
    duplicates: 0,
    ignored: 0,
    malformed: 0,
    errors: [],
  };
  const options = { referenceDate: new Date(), sendingIps: config.MTA_INSTANCE_IPS };
  const pending: { line: string; delivery: PostfixDelivery }[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === "") {
      result.ignored++;
      return;
    }
    try {
      const delivery = parsePostfixLine(line, options);
      if (delivery && COUNTED_SERVICES.includes(delivery.service)) pending.push({ line, delivery });
      else result.ignored++;
    } catch (error) {
      if (!(error instanceof PostfixLogParseError)) throw error;
      result.malformed++;
      if (result.errors.length < MAX_REPORTED_ERRORS) result.errors.push({ line: index + 1, error: error.message });
    }
  });

  result.deliveries = pending.length;
  if (pending.length > 0) {
    const hashed = await Promise.all(
      pending.map(async ({ line, delivery }) => ({ hash: await aggregateKey(line), delivery })),
    );
    const recorded = await withDb(config, (db) => recordMtaDeliveries(db, hashed), c.executionCtx);
    result.counted = recorded.counted;
    result.duplicates = recorded.duplicates;
  }
  return c.json(result, 200);
});
