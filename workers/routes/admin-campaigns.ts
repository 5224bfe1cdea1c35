import { Hono, type Context } from "hono";
import { z } from "zod";
import { queuedSendsOf, cancelQueuedSendsOf } from "../../db/campaign-sends";
import { campaignFunnel } from "../../db/campaign-funnel";
import {
  applyCampaignAction,
  approveCampaign,
  createCampaign,
  findCampaign,
  linksOf,
  listCampaigns,
  updateDraft,
  type CampaignRow,
} from "../../db/campaigns";
import { withDb, type Db } from "../../db/client";
import { campaignContentProblems, campaignInputSchema } from "../../domain/outreach/campaign-definition";
import { extractCampaignLinks } from "../../domain/outreach/campaign-links";
import { allowedActions, type CampaignAction, type CampaignStatus } from "../../domain/outreach/campaign-status";
import { sendMessagesFor } from "../../domain/outreach/send-batches";
import type { CampaignSendMessage } from "../../domain/queues/queue-messages";
import type { ThrottleStatus } from "../../domain/outreach/throttle-policy";
import type { Env } from "../env";
import { ApiError, readJson } from "../http-errors";
import { AudienceBuildError, buildAudience } from "../outreach/build-audience";
import { enqueueSendMessages } from "../outreach/enqueue-sends";
import { tagUntaggedDomains } from "../outreach/mx-tagging";
import type { AdminApiEnv } from "./admin-api";

/**
 * Campaigns and the outreach machinery, for admins (issue 6 items 4–6). Mounted on /api/admin
 * after the session guard. A campaign is created as a draft, approved by an admin (content and
 * link rules checked, links numbered), started, paused, resumed and finished; each move is a
 * conditional update, so a move the status does not allow is a 409 naming what is allowed.
 */

export const adminCampaignRoutes = new Hono<AdminApiEnv>();

const idParam = z.coerce.number().int().positive();

function campaignIdOf(c: Context<AdminApiEnv>): number {
  const id = idParam.safeParse(c.req.param("id"));
  if (!id.success) throw new ApiError(404, "CAMPAIGN_NOT_FOUND", `No campaign ${c.req.param("id")}`);
  return id.data;
}

function view(row: CampaignRow) {
  return { ...row, allowedActions: allowedActions(row.status as CampaignStatus) };
}

function withCampaignDb<T>(c: Context<AdminApiEnv>, fn: (db: Db) => Promise<T>): Promise<T> {
  return withDb(c.get("config"), fn, c.executionCtx);
}

async function requireCampaign(db: Db, id: number): Promise<CampaignRow> {
  const row = await findCampaign(db, id);
  if (!row) throw new ApiError(404, "CAMPAIGN_NOT_FOUND", `No campaign ${id}`);
  return row;
}

function refused(row: CampaignRow, action: string): never {
  throw new ApiError(409, "CAMPAIGN_STATE", `Campaign ${row.id} is ${row.status}: cannot ${action}`, {
    status: row.status,
    allowed: allowedActions(row.status as CampaignStatus),
  });
}

adminCampaignRoutes.post("/campaigns", async (c) => {
  const input = await readJson(c, campaignInputSchema);
  const row = await withCampaignDb(c, (db) => createCampaign(db, input, c.get("adminEmail")));
  return c.json({ campaign: view(row), problems: campaignContentProblems(input) }, 201);
});

adminCampaignRoutes.get("/campaigns", async (c) => {
  const rows = await withCampaignDb(c, (db) => listCampaigns(db));
  c.header("Cache-Control", "no-store");
  return c.json({ campaigns: rows.map(view) });
});

adminCampaignRoutes.get("/campaigns/:id", async (c) => {
  const id = campaignIdOf(c);
  const { row, links } = await withCampaignDb(c, async (db) => ({
    row: await requireCampaign(db, id),
    links: await linksOf(db, id),
  }));
  c.header("Cache-Control", "no-store");
  return c.json({ campaign: view(row), links });
});

/** PUT /campaigns/:id: replaces a draft's content. What was approved is what goes out. */
adminCampaignRoutes.put("/campaigns/:id", async (c) => {
  const id = campaignIdOf(c);
  const input = await readJson(c, campaignInputSchema);
  const row = await withCampaignDb(
    c,
    async (db) => (await updateDraft(db, id, input)) ?? refused(await requireCampaign(db, id), "edit"),
  );
  return c.json({ campaign: view(row), problems: campaignContentProblems(input) });
});

/** POST /campaigns/:id/approve: checks content and links, numbers the links, approves. */
adminCampaignRoutes.post("/campaigns/:id/approve", async (c) => {
  const id = campaignIdOf(c);
  const config = c.get("config");
  const row = await withCampaignDb(c, async (db) => {
    const draft = await requireCampaign(db, id);
    if (draft.status !== "draft") refused(draft, "approve");
    const input = campaignInputSchema.parse({
      name: draft.name,
      subject: draft.subject,
      html: draft.html,
      claims: draft.claims,
      audience: draft.audience,
      dailyQuota: draft.dailyQuota,
      schedule: draft.schedule,
      utmCampaign: draft.utmCampaign,
    });
    const extracted = extractCampaignLinks(input.html, {
      publicBaseUrl: config.PUBLIC_BASE_URL,
      utmCampaign: draft.utmCampaign,
    });
    const problems = [...campaignContentProblems(input), ...extracted.problems];
    if (problems.length > 0) {
      throw new ApiError(422, "CAMPAIGN_NOT_APPROVABLE", `Campaign ${id} cannot be approved`, { problems });
    }
    return (await approveCampaign(db, id, c.get("adminEmail"), extracted.links)) ?? refused(draft, "approve");
  });
  return c.json({ campaign: view(row) });
});

const pauseBody = z.strictObject({ reason: z.string().trim().min(1).max(500).optional() });

async function move(c: Context<AdminApiEnv>, action: CampaignAction, extra: { pausedReason?: string } = {}) {
  const id = campaignIdOf(c);
  return await withCampaignDb(c, async (db) => {
    const row = (await applyCampaignAction(db, id, action, extra)) ?? refused(await requireCampaign(db, id), action);
    let requeued = 0;
    let cancelled = 0;
    // What was queued while paused goes back on the queue; nothing is lost by a pause.
    if (action === "resume" || action === "start")
      requeued = await enqueueQueued(c.env, db, id, c.get("config").OUTREACH_SEND_BATCH);
    if (action === "finish") cancelled = await cancelQueuedSendsOf(db, id, "campaign finished");
    return { campaign: view(row), requeued, cancelled };
  });
}

export async function enqueueQueued(env: Env, db: Db, campaignId: number, batchSize: number): Promise<number> {
  const sends = await queuedSendsOf(db, campaignId);
  await enqueueAll(env, sendMessagesFor(campaignId, sends, batchSize));
  return sends.length;
}

adminCampaignRoutes.post("/campaigns/:id/start", async (c) => c.json(await move(c, "start")));
adminCampaignRoutes.post("/campaigns/:id/resume", async (c) => c.json(await move(c, "resume")));
adminCampaignRoutes.post("/campaigns/:id/finish", async (c) => c.json(await move(c, "finish")));
adminCampaignRoutes.post("/campaigns/:id/pause", async (c) => {
  const body = c.req.header("content-type")?.includes("json") ? await readJson(c, pauseBody) : {};
  return c.json(await move(c, "pause", body.reason ? { pausedReason: body.reason } : {}));
});

const buildQuery = z.object({ dryRun: z.enum(["1", "0", "true", "false"]).optional() });

/** POST /campaigns/:id/build[?dryRun=1]: today's audience now (the daily cron does the same). */
adminCampaignRoutes.post("/campaigns/:id/build", async (c) => {
  const id = campaignIdOf(c);
  const query = buildQuery.safeParse(c.req.query());
  if (!query.success) throw new ApiError(422, "VALIDATION_FAILED", "dryRun must be 1 or 0");
  const dryRun = query.data.dryRun === "1" || query.data.dryRun === "true";
  const report = await withCampaignDb(c, async (db) => {
    const row = await requireCampaign(db, id);
    // Nothing is queued for a campaign nobody approved and started; a dry run shows what would be.
    if (!dryRun && row.status !== "running") refused(row, "build an audience (only a running campaign; try dryRun=1)");
    try {
      return await buildAudience(db, c.get("config"), {
        now: new Date(),
        campaignId: id,
        dryRun,
        enqueue: (bodies) => enqueueAll(c.env, bodies),
      });
    } catch (error) {
      if (error instanceof AudienceBuildError) throw new ApiError(409, "AUDIENCE_BUILD_REFUSED", error.message);
      throw error;
    }
  });
  c.header("Cache-Control", "no-store");
  return c.json(report);
});

export async function enqueueAll(env: Env, bodies: readonly CampaignSendMessage[]): Promise<void> {
  await enqueueSendMessages(
    env.CAMPAIGN_SEND_QUEUE,
    bodies.map((body) => ({ body })),
  );
}

/** GET /campaigns/:id/funnel: sent → delivered → opened → clicked → checkout → paid, in all and per operator. */
adminCampaignRoutes.get("/campaigns/:id/funnel", async (c) => {
  const id = campaignIdOf(c);
  const funnel = await withCampaignDb(c, async (db) => {
    await requireCampaign(db, id);
    return await campaignFunnel(db, id);
  });
  c.header("Cache-Control", "no-store");
  return c.json({ campaignId: id, ...funnel });
});

const tagQuery = z.object({ limit: z.coerce.number().int().min(1).max(100_000).optional() });

/** POST /outreach/mx-tag[?limit=N]: tags untagged domains now (the daily cron does the same). */
adminCampaignRoutes.post("/outreach/mx-tag", async (c) => {
  const query = tagQuery.safeParse(c.req.query());
  if (!query.success) throw new ApiError(422, "VALIDATION_FAILED", "limit must be 1–100000");
  const result = await withCampaignDb(c, (db) =>
    tagUntaggedDomains(db, c.get("config"), query.data.limit === undefined ? {} : { limit: query.data.limit }),
  );
  return c.json(result);
});

const operatorParam = z.string().regex(/^(?:[a-z0-9]+|mx:[a-z0-9.-]+)$/, "an operator label");

function throttleOf(c: Context<AdminApiEnv>) {
  const operator = operatorParam.safeParse(c.req.param("operator"));
  if (!operator.success) throw new ApiError(404, "OPERATOR_NOT_FOUND", "No such operator");
  return { operator: operator.data, stub: c.env.MX_THROTTLE.get(c.env.MX_THROTTLE.idFromName(operator.data)) };
}

/** GET /outreach/throttles/:operator: the operator's throttle (cap, rate, cool-down, pause). */
adminCampaignRoutes.get("/outreach/throttles/:operator", async (c) => {
  const { operator, stub } = throttleOf(c);
  const status = (await stub.status()) as ThrottleStatus | null;
  if (!status) throw new ApiError(404, "OPERATOR_NOT_FOUND", `No mail has been sent to ${operator} yet`);
  c.header("Cache-Control", "no-store");
  return c.json(status);
});

/** POST /outreach/throttles/:operator/resume: lifts a pause after a reputation rejection. */
adminCampaignRoutes.post("/outreach/throttles/:operator/resume", async (c) => {
  const { operator, stub } = throttleOf(c);
  // A throttle that never granted anything has no operator of its own to resume.
  if ((await stub.status()) === null)
    throw new ApiError(404, "OPERATOR_NOT_FOUND", `No mail has been sent to ${operator} yet`);
  return c.json((await stub.resume({ by: c.get("adminEmail") })) as ThrottleStatus);
});
