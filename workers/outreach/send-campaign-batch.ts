import { inArray } from "drizzle-orm";
import { pauseCampaign } from "../../db/campaigns";
import {
  cancelUnsendable,
  claimCampaignSends,
  noteWaiting,
  pendingCampaignSends,
  recordCampaignOutcomes,
  recordRecipientRejections,
  releaseCampaignSends,
  type ClaimedSend,
  type PendingSend,
  type SendRecord,
} from "../../db/campaign-sends";
import type { Db } from "../../db/client";
import { campaignLinks, campaigns } from "../../db/schema";
import type { AppConfig } from "../../domain/config/app-config";
import { composeMessage, ComposeError } from "../../domain/mail/compose-message";
import { formatReturnPath, SEND_ID_HEADER } from "../../domain/mail/return-path";
import { classifySmtpOutcome } from "../../domain/mail/smtp-outcome";
import { RenderError, renderCampaignMessage } from "../../domain/outreach/render-campaign-message";
import { MAX_QUEUE_DELAY_SECONDS, sendMessagesFor } from "../../domain/outreach/send-batches";
import {
  emptyOutcomes,
  UNTAGGED_OPERATOR as UNTAGGED_THROTTLE,
  type ThrottleGrant,
  type ThrottleOutcomes,
} from "../../domain/outreach/throttle-policy";
import type { CampaignSendMessage } from "../../domain/queues/queue-messages";
import type { Env } from "../env";
import { enqueueSendMessages } from "./enqueue-sends";
import { smtpBulkTransport, type BulkMailTransport, type SubmissionResult } from "../mailer/bulk-transport";
import type { OutboundSubmission } from "../mailer/mailer";

/**
 * The campaign-send consumer's work for one queue batch (DESIGN.md, "Outreach"; issue 6 item 7):
 *
 *  1. withdraw sends that must no longer go (suppressed, excluded, hard-bounced since the build);
 *  2. ask each receiving operator's MxThrottle once for as many as are pending for it;
 *  3. claim the granted rows atomically (queued → sending) and render them;
 *  4. hand them to the relay over a few reused SMTP sessions;
 *  5. record every answer in one statement, and report the outcomes to each throttle;
 *  6. put what was not granted, or was deferred, back on the queue with a delay.
 *
 * At most once: a row is claimed before the relay sees it and only a claimed row is sent. If the
 * Worker dies after the relay accepted but before step 5, the row stays `sending`; the reconcile
 * job turns it into `unknown`, never back into `queued`.
 */

export interface CampaignBatchItem {
  body: CampaignSendMessage;
  attempts: number;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}

export interface CampaignBatchDeps {
  env: Env;
  config: AppConfig;
  db: Db;
  /** The relay; the configured SMTP relay by default. Tests wrap it to inject a crash. */
  transport?: BulkMailTransport;
  now?: () => Date;
}

export interface CampaignBatchSummary {
  messages: number;
  cancelled: number;
  granted: number;
  claimed: number;
  accepted: number;
  deferred: number;
  rejected: number;
  unknown: number;
  requeued: number;
}

interface ThrottleStub {
  acquire(request: { operator: string; n: number }): Promise<ThrottleGrant>;
  report(request: { operator: string; outcomes: ThrottleOutcomes }): Promise<unknown>;
}

function throttleFor(env: Env, operator: string): ThrottleStub {
  return env.MX_THROTTLE.get(env.MX_THROTTLE.idFromName(operator)) as unknown as ThrottleStub;
}

export async function sendCampaignBatch(
  items: CampaignBatchItem[],
  deps: CampaignBatchDeps,
): Promise<CampaignBatchSummary> {
  const { env, config, db } = deps;
  const now = deps.now ?? (() => new Date());
  const summary: CampaignBatchSummary = {
    messages: items.length,
    cancelled: 0,
    granted: 0,
    claimed: 0,
    accepted: 0,
    deferred: 0,
    rejected: 0,
    unknown: 0,
    requeued: 0,
  };
  const allIds = [...new Set(items.flatMap((i) => i.body.sendIds))];
  // Where a batch's time goes, logged once per batch (what limits throughput, in production too).
  const phases: Record<string, number> = {};
  let mark = performance.now();
  const phase = (name: string) => {
    const at = performance.now();
    phases[name] = Math.round(at - mark);
    mark = at;
  };
  summary.cancelled = await cancelUnsendable(db, allIds);
  const pending = await pendingCampaignSends(db, allIds);

  // One grant per operator for everything pending for it in this batch.
  const byOperator = new Map<string, PendingSend[]>();
  for (const send of pending) {
    const key = send.operator ?? UNTAGGED_THROTTLE;
    const list = byOperator.get(key);
    if (list) list.push(send);
    else byOperator.set(key, [send]);
  }
  phase("select");
  const grants = new Map<string, ThrottleGrant>();
  await Promise.all(
    [...byOperator].map(async ([operator, sends]) => {
      grants.set(operator, await throttleFor(env, operator).acquire({ operator, n: sends.length }));
    }),
  );
  const chosen: number[] = [];
  const notGranted: { send: PendingSend; retryAfter: number }[] = [];
  for (const [operator, sends] of byOperator) {
    const grant = grants.get(operator)!;
    summary.granted += grant.granted;
    sends.forEach((send, i) => {
      if (i < grant.granted) chosen.push(send.id);
      else notGranted.push({ send, retryAfter: Math.max(1, Math.ceil(grant.retryAfterSeconds)) });
    });
  }

  phase("throttle");
  const claimed = await claimCampaignSends(db, chosen);
  phase("claim");
  summary.claimed = claimed.length;
  const heldIds = new Set<number>();
  let context: RenderContext;
  try {
    context = await loadRenderContext(db, config, claimed);
  } catch (error) {
    // Nothing has reached a relay: the rows go back untouched.
    await releaseCampaignSends(
      db,
      claimed.map((c) => c.id),
    );
    throw error;
  }
  // Render and send overlap: while one chunk is on its SMTP session, the next is composed.
  // At most OUTREACH_SMTP_CONNECTIONS chunks are in flight, one session each.
  const prepared: PreparedSend[] = [];
  const results = new Map<number, SubmissionResult>();
  const brokenCampaigns = new Map<number, string>();
  const transport = deps.transport ?? smtpBulkTransport(config);
  const inflight = new Set<Promise<void>>();
  let renderMs = 0;
  for (let i = 0; i < claimed.length; i += SEND_CHUNK) {
    const started = performance.now();
    const chunk: PreparedSend[] = [];
    for (const send of claimed.slice(i, i + SEND_CHUNK))
      chunk.push(await prepareSend(context, config, send, brokenCampaigns));
    prepared.push(...chunk);
    renderMs += performance.now() - started;
    const sendable = chunk.filter((p) => p.submission !== undefined && !brokenCampaigns.has(p.send.campaignId));
    if (sendable.length === 0) continue;
    const sending = transport
      .submitAll(
        sendable.map((p) => p.submission!),
        { sessions: 1 },
      )
      .then((answers) => {
        answers.forEach((answer, j) => results.set(sendable[j]!.send.id, answer));
      });
    inflight.add(sending);
    void sending.finally(() => inflight.delete(sending)).catch(() => {});
    // A failing transport stops the batch here; what it took stays `sending` (reconciled, never resent).
    if (inflight.size >= config.OUTREACH_SMTP_CONNECTIONS) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  phases.render = Math.round(renderMs);
  if (brokenCampaigns.size > 0) {
    // A template or setting that cannot render is the campaign's fault, not its recipients':
    // pause the campaign (an admin sees why) and put its sends back untouched. A broken template
    // fails for every recipient, so none of the campaign's sends went out.
    const held = prepared.filter((p) => brokenCampaigns.has(p.send.campaignId)).map((p) => p.send.id);
    for (const id of held) heldIds.add(id);
    await releaseCampaignSends(db, held);
    for (const [campaignId, reason] of brokenCampaigns) await pauseCampaign(db, campaignId, reason);
    summary.claimed -= held.length;
  }
  const { records, rejectedRecipients } = recordsFor(
    prepared.filter((p) => !heldIds.has(p.send.id)),
    results,
    config,
    now(),
  );
  phase("smtp");
  await recordCampaignOutcomes(db, records);
  await recordRecipientRejections(db, rejectedRecipients);

  // Tell each throttle what happened, granted-but-unclaimed included (it gives them back).
  const reports = new Map<string, ThrottleOutcomes>();
  for (const operator of byOperator.keys()) reports.set(operator, emptyOutcomes());
  const claimedById = new Map(claimed.map((c) => [c.id, c]));
  for (const record of records) {
    const send = claimedById.get(record.id)!;
    const outcomes = reports.get(send.operator ?? UNTAGGED_THROTTLE)!;
    countOutcome(outcomes, record);
    if (record.status === "accepted") summary.accepted++;
    else if (record.status === "deferred") summary.deferred++;
    else if (record.status === "unknown") summary.unknown++;
    else summary.rejected++;
  }
  const claimedPerOperator = new Map<string, number>();
  for (const c of claimed) {
    if (heldIds.has(c.id)) continue;
    const key = c.operator ?? UNTAGGED_THROTTLE;
    claimedPerOperator.set(key, (claimedPerOperator.get(key) ?? 0) + 1);
  }
  for (const [operator, grant] of grants) {
    reports.get(operator)!.unused += Math.max(0, grant.granted - (claimedPerOperator.get(operator) ?? 0));
  }
  await Promise.all(
    [...reports].map(([operator, outcomes]) =>
      isEmpty(outcomes) ? Promise.resolve() : throttleFor(env, operator).report({ operator, outcomes }),
    ),
  );

  // What waits goes back on the queue with its delay; the original messages are done.
  const later: { message: CampaignSendMessage; delaySeconds: number }[] = [];
  const campaignOf = new Map(items.flatMap((i) => i.body.sendIds.map((id) => [id, i.body.campaignId] as const)));
  const byDelay = new Map<number, Map<number, PendingSend[]>>();
  const wait = (campaignId: number, send: PendingSend, delay: number) => {
    const d = Math.min(MAX_QUEUE_DELAY_SECONDS, delay);
    const perCampaign = byDelay.get(d) ?? new Map<number, PendingSend[]>();
    byDelay.set(d, perCampaign);
    perCampaign.set(campaignId, [...(perCampaign.get(campaignId) ?? []), send]);
  };
  for (const { send, retryAfter } of notGranted) wait(campaignOf.get(send.id)!, send, retryAfter);
  for (const record of records) {
    if (record.status !== "deferred" || record.nextAttemptAt === null) continue;
    const send = claimedById.get(record.id)!;
    wait(send.campaignId, send, Math.ceil((record.nextAttemptAt.getTime() - now().getTime()) / 1000));
  }
  for (const [delaySeconds, perCampaign] of byDelay) {
    for (const [campaignId, sends] of perCampaign) {
      for (const message of sendMessagesFor(campaignId, sends, config.OUTREACH_SEND_BATCH)) {
        later.push({ message, delaySeconds });
      }
    }
  }
  await enqueueSendMessages(
    env.CAMPAIGN_SEND_QUEUE,
    later.map(({ message, delaySeconds }) => ({ body: message, delaySeconds })),
  );
  await noteWaiting(
    db,
    later.flatMap(({ message, delaySeconds }) => message.sendIds.map((id) => ({ id, delaySeconds }))),
  );
  summary.requeued = later.reduce((n, l) => n + l.message.sendIds.length, 0);
  phase("record");
  for (const item of items) item.ack();
  console.log(JSON.stringify({ level: "info", event: "campaign_batch", ...summary, ms: phases }));
  return summary;
}

interface PreparedSend {
  send: ClaimedSend;
  submission?: OutboundSubmission;
  /** Why it cannot be sent (a template or address the composer refuses). */
  refusal?: string;
}

/** Messages composed (and handed to one SMTP session) at a time. */
const SEND_CHUNK = 100;

interface RenderContext {
  campaignById: Map<number, { id: number; subject: string; html: string }>;
  linksByCampaign: Map<number, (typeof campaignLinks.$inferSelect)[]>;
  settings: Parameters<typeof renderCampaignMessage>[1];
}

/** The batch's campaigns, their link tables and the settings every message needs. */
async function loadRenderContext(db: Db, config: AppConfig, claimed: ClaimedSend[]): Promise<RenderContext> {
  const ids = [...new Set(claimed.map((c) => c.campaignId))];
  const settings = {
    publicBaseUrl: config.PUBLIC_BASE_URL,
    trackingSecret: requireSetting(config.TRACKING_LINK_SECRET, "TRACKING_LINK_SECRET"),
    postalAddress: requireSetting(config.OUTREACH_POSTAL_ADDRESS, "OUTREACH_POSTAL_ADDRESS"),
    from: config.MAIL_FROM,
    replyTo: requireSetting(config.MAIL_REPLY_TO, "MAIL_REPLY_TO"),
    sendingDomain: config.MAIL_SENDING_DOMAIN,
  };
  if (ids.length === 0) return { campaignById: new Map(), linksByCampaign: new Map(), settings };
  const rows = await db
    .select({ id: campaigns.id, subject: campaigns.subject, html: campaigns.html })
    .from(campaigns)
    .where(inArray(campaigns.id, ids));
  const links = await db.select().from(campaignLinks).where(inArray(campaignLinks.campaignId, ids));
  const linksByCampaign = new Map<number, (typeof campaignLinks.$inferSelect)[]>();
  for (const link of links)
    linksByCampaign.set(link.campaignId, [...(linksByCampaign.get(link.campaignId) ?? []), link]);
  return { campaignById: new Map(rows.map((r) => [r.id, r])), linksByCampaign, settings };
}

/** Renders and composes one send; a refusal is recorded on it, a broken template on the campaign. */
async function prepareSend(
  context: RenderContext,
  config: AppConfig,
  send: ClaimedSend,
  brokenCampaigns: Map<number, string>,
): Promise<PreparedSend> {
  const broken = brokenCampaigns.get(send.campaignId);
  if (broken !== undefined) return { send, refusal: broken };
  try {
    const message = await renderCampaignMessage(
      {
        campaign: context.campaignById.get(send.campaignId)!,
        links: context.linksByCampaign.get(send.campaignId) ?? [],
        send: { id: send.id, messageId: send.messageId, recipient: send.recipient },
        fields: send.fields,
      },
      context.settings,
    );
    const composed = await composeMessage(
      {
        ...message,
        envelopeFrom: formatReturnPath(send.id, config.MAIL_SENDING_DOMAIN),
        headers: { ...message.headers, [SEND_ID_HEADER]: String(send.id) },
      },
      config,
    );
    return { send, submission: { envelope: composed.envelope, raw: composed.raw, messageId: composed.messageId } };
  } catch (error) {
    // One recipient's refusal (a value the composer rejects, a field their data lacks) must not
    // hold up the batch; anything else about the template stops the campaign.
    if (error instanceof ComposeError || (error instanceof RenderError && error.code === "missing_field")) {
      return { send, refusal: error.message };
    }
    if (error instanceof RenderError) {
      brokenCampaigns.set(send.campaignId, `${error.code}: ${error.message}`);
      return { send, refusal: error.message };
    }
    throw error;
  }
}

function requireSetting(value: string | undefined, key: string): string {
  if (value === undefined) throw new Error(`${key} is not set: campaign mail cannot be sent without it`);
  return value;
}

function recordsFor(
  prepared: PreparedSend[],
  results: Map<number, SubmissionResult>,
  config: AppConfig,
  now: Date,
): { records: SendRecord[]; rejectedRecipients: { id: number; recipient: string }[] } {
  const records: SendRecord[] = [];
  const rejectedRecipients: { id: number; recipient: string }[] = [];
  for (const { send, submission, refusal } of prepared) {
    if (submission === undefined) {
      records.push({
        id: send.id,
        status: "cancelled",
        code: null,
        enhanced: null,
        text: `not sent: ${refusal ?? "refused"}`,
        outcome: null,
        nextAttemptAt: null,
      });
      continue;
    }
    const result = results.get(send.id);
    if (result === undefined) throw new Error(`the transport returned no answer for send ${send.id}`);
    const classified = classifySmtpOutcome({ code: result.code, enhanced: result.enhancedCode, text: result.text });
    const base = { id: send.id, code: result.code, enhanced: result.enhancedCode, text: result.text };
    if (result.status === "accepted") {
      records.push({ ...base, status: "accepted", outcome: classified.outcome, nextAttemptAt: null });
    } else if (result.status === "rejected") {
      records.push({ ...base, status: "rejected", outcome: classified.outcome, nextAttemptAt: null });
      // Only a verdict at RCPT or DATA is about the recipient; earlier stages are about us.
      if (classified.outcome === "reject_recipient" && (result.stage === "rcpt" || result.stage === "data")) {
        rejectedRecipients.push({ id: send.id, recipient: send.recipient });
      }
    } else if (result.stage === "data" && result.code === null) {
      // The message went out and no answer came back: it may have been delivered. Never resend.
      records.push({ ...base, status: "unknown", outcome: null, nextAttemptAt: null });
    } else {
      const more = send.attempts < config.OUTREACH_MAX_ATTEMPTS;
      records.push({
        ...base,
        status: "deferred",
        outcome: result.code === null ? "deferred" : classified.outcome,
        nextAttemptAt: more ? new Date(now.getTime() + deferralDelaySeconds(send.attempts) * 1000) : null,
      });
    }
  }
  return { records, rejectedRecipients };
}

/** 5 min, 20 min, 80 min…: RFC 5321 4.5.4.1 asks for at least 30 minutes between retries overall. */
export function deferralDelaySeconds(attempts: number): number {
  return Math.min(MAX_QUEUE_DELAY_SECONDS, 300 * 4 ** Math.max(0, attempts - 1));
}

function isEmpty(outcomes: ThrottleOutcomes): boolean {
  return Object.values(outcomes).every((n) => n === 0);
}

function countOutcome(outcomes: ThrottleOutcomes, record: SendRecord): void {
  switch (record.status) {
    case "accepted":
      outcomes.accepted++;
      return;
    case "cancelled":
      // Never offered to the relay: its grant goes back.
      outcomes.unused++;
      return;
    case "unknown":
      outcomes.deferred++;
      return;
    default:
      break;
  }
  switch (record.outcome) {
    case "throttled":
      outcomes.throttled++;
      return;
    case "reject_reputation":
      outcomes.rejectReputation++;
      return;
    case "reject_recipient":
      outcomes.rejectRecipient++;
      return;
    case "deferred":
      outcomes.deferred++;
      return;
    default:
      if (record.status === "deferred") outcomes.deferred++;
      else outcomes.rejectOther++;
  }
}
