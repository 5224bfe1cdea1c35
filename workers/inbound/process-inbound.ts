import PostalMime from "postal-mime";
import type { AppConfig } from "../../domain/config/app-config";
import { DmarcParseError } from "../../domain/dmarc/parse-aggregate-report";
import { classifyInbound, type InboundClassification } from "../../domain/inbound/classify-inbound";
import type { Db } from "../../db/client";
import { storeDmarcReport } from "../../db/dmarc-reports";
import {
  finishInboundMessage,
  getInboundMessage,
  lockInboundMessage,
  processedTwin,
  recordInboundMessage,
  type InboundMessageRow,
} from "../../db/inbound-messages";
import type { InboundReceivedMessage } from "../../domain/queues/queue-messages";
import { findCampaignSend, unsubscribeSend } from "../../db/mail-events";
import { unsubscribeTokenFromAddress, verifyTrackingToken } from "../../domain/outreach/tracking-token";
import { raiseAlert } from "../alerts/raise-alert";
import { applyBounce } from "./apply-bounce";
import { forwardToOperator } from "./forward-to-operator";

// Header values are stored for listing and matching; bound them so a hostile header can't
// bloat a row.
const clip = (v: string | undefined, n: number) => (v === undefined ? null : v.slice(0, n));

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

export interface ProcessResult {
  row: InboundMessageRow;
  outcome: "processed" | "failed" | "duplicate" | "already_done";
}

/**
 * The inbound-mail pipeline for one raw message in R2: record it, process it once per
 * (Message-ID, content hash), act on what it is inside one transaction, then run the effects
 * that leave the database (complaint alerts, forwarding to the operator), which are themselves
 * idempotent and re-run on redelivery so none is lost between commit and send.
 *
 * Bad input (a bomb, an entity-laden report, a truncated archive) fails the message record with
 * a clear error; the raw message stays in R2 and the queue message is acked, not retried.
 */
export async function processInbound(
  db: Db,
  config: AppConfig,
  body: InboundReceivedMessage,
  raw: Uint8Array,
): Promise<ProcessResult> {
  const parsed = await PostalMime.parse(raw, { attachmentEncoding: "arraybuffer" });
  const row = await recordInboundMessage(db, {
    r2Key: body.key,
    envelopeFrom: body.envelopeFrom,
    envelopeTo: body.envelopeTo,
    rawSize: body.rawSize,
    messageId: clip(parsed.messageId, 998),
    contentHash: await sha256Hex(raw),
    fromHeader: clip(parsed.from?.address, 320),
    subject: clip(parsed.subject, 998),
    receivedAt: new Date(body.receivedAt),
  });
  if (row.status !== "received") {
    await runOutsideEffects(db, config, row, raw);
    return { row, outcome: "already_done" };
  }
  if (await processedTwin(db, row)) {
    await finishInboundMessage(db, row.id, { status: "duplicate" });
    return { row, outcome: "duplicate" };
  }

  let classification: InboundClassification;
  // The List-Unsubscribe mailto of campaign mail: the address carries the token, whatever the
  // message says (RFC 2369 3.2 asks nothing more of the mail than that it arrives).
  const unsubscribeToken = unsubscribeTokenFromAddress(row.envelopeTo, config.MAIL_SENDING_DOMAIN);
  try {
    classification =
      unsubscribeToken !== null
        ? { kind: "unsubscribe", token: unsubscribeToken }
        : await classifyInbound(
            raw,
            {
              subject: parsed.subject,
              attachments: parsed.attachments.map((a) => ({ mimeType: a.mimeType, filename: a.filename })),
            },
            {
              maxInputBytes: Math.max(config.INBOUND_MAX_BYTES, raw.byteLength),
              maxDecompressedBytes: config.DMARC_MAX_OUTPUT_BYTES,
              maxRatio: config.DMARC_MAX_RATIO,
              maxZipMembers: config.DMARC_MAX_ZIP_MEMBERS,
            },
          );
  } catch (error) {
    // Parsers throw only on input they cannot read; retrying would fail the same way.
    const reason = error instanceof Error ? error.message : String(error);
    await finishInboundMessage(db, row.id, {
      status: "failed",
      error: `could not classify the message: ${reason}`.slice(0, 2000),
    });
    return { row, outcome: "failed" };
  }

  const outcome = await db.transaction(async (tx) => {
    const locked = await lockInboundMessage(tx, row.id);
    if (!locked || locked.status !== "received") return "already_done" as const;
    const result = await act(tx, config, locked, classification);
    await finishInboundMessage(tx, row.id, result);
    return result.status;
  });
  const finished = (await getInboundMessage(db, row.id)) ?? row;
  await runOutsideEffects(db, config, finished, raw);
  return { row: finished, outcome };
}

async function act(
  tx: Db,
  config: AppConfig,
  row: InboundMessageRow,
  c: InboundClassification,
): Promise<{ status: "processed" | "failed"; kind: InboundMessageRow["kind"]; detail?: unknown; error?: string }> {
  switch (c.kind) {
    case "dmarc_report": {
      if ("error" in c) {
        return { status: "failed", kind: "dmarc_report", error: describeDmarcError(c.error) };
      }
      const reports = [];
      for (const report of c.dmarc.reports)
        reports.push(await storeDmarcReport(tx, report, config.SENDING_NETWORKS, row.id));
      const failures = c.dmarc.failures.map((f) => `${f.source}: ${describeDmarcError(f.error)}`);
      return { status: "processed", kind: "dmarc_report", detail: { reports, failures } };
    }
    case "bounce":
    case "delay":
    case "delivered":
    case "complaint": {
      const effects = await applyBounce(tx, config, row.id, row.envelopeTo, c.bounce);
      return { status: "processed", kind: c.kind, detail: effects };
    }
    case "auto_reply":
      // An out-of-office says nothing about deliverability or intent: change nothing.
      return { status: "processed", kind: "auto_reply" };
    case "agency_reply":
      return { status: "processed", kind: "agency_reply", detail: { agency: c.agency } };
    case "unsubscribe": {
      const checked = config.TRACKING_LINK_SECRET
        ? await verifyTrackingToken(config.TRACKING_LINK_SECRET, c.token, "unsubscribe")
        : ({ ok: false, reason: "no TRACKING_LINK_SECRET" } as const);
      const send = checked.ok ? await findCampaignSend(tx, checked.sendId) : undefined;
      // A forged or unknown token unsubscribes nobody; the record says why.
      if (!send)
        return {
          status: "processed",
          kind: "unsubscribe",
          detail: { ignored: checked.ok ? "no such send" : checked.reason },
        };
      const result = await unsubscribeSend(tx, send, {});
      return { status: "processed", kind: "unsubscribe", detail: { sendId: send.id, ...result } };
    }
    case "other":
      return { status: "processed", kind: "other" };
  }
}

function describeDmarcError(error: DmarcParseError): string {
  return `DMARC report refused (${error.code}): ${error.message}`;
}

/**
 * Effects that leave the database, run after the transaction commits and again on any
 * redelivery; each is idempotent (alerts claim once per window, forwards claim a send).
 */
async function runOutsideEffects(db: Db, config: AppConfig, row: InboundMessageRow, raw: Uint8Array): Promise<void> {
  if (row.status !== "processed") return;
  if (row.kind === "complaint") {
    const complaints = (row.detail as { complaints?: string[] } | null)?.complaints ?? [];
    for (const address of complaints) {
      await raiseAlert(
        { config, db },
        {
          rule: "complaint",
          subject: address,
          windowKey: `inbound:${row.id}`,
          title: `Spam complaint from ${address}`,
          body: `A recipient reported our mail as spam (ARF feedback report from ${row.envelopeFrom}). The address is suppressed; check which campaign reached them and whether its audience rules held.`,
          metrics: { inboundMessageId: row.id },
        },
      );
    }
  }
  if (row.kind === "other" || row.kind === "agency_reply") {
    const why =
      row.kind === "agency_reply"
        ? `An agency answered one of our requests (${JSON.stringify((row.detail as { agency?: unknown } | null)?.agency)}). Enter the fee or the answer on the order.`
        : "A message arrived for a person (not a report, bounce or auto-reply).";
    await forwardToOperator(
      db,
      config,
      {
        inboundId: row.id,
        envelopeFrom: row.envelopeFrom,
        envelopeTo: row.envelopeTo,
        subject: row.subject,
        fromHeader: row.fromHeader,
        receivedAt: row.receivedAt,
        raw,
      },
      why,
    );
  }
}
