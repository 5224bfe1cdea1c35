import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "./client";
import { campaignLinks, campaigns } from "./schema";
import type { CampaignInput } from "../domain/outreach/campaign-definition";
import { CAMPAIGN_ACTIONS, type CampaignAction } from "../domain/outreach/campaign-status";

export type CampaignRow = typeof campaigns.$inferSelect;
export type CampaignLinkRow = typeof campaignLinks.$inferSelect;

/** The columns an admin writes (create, and edit while a draft). */
function contentOf(input: CampaignInput) {
  return {
    name: input.name,
    subject: input.subject,
    html: input.html,
    claims: input.claims,
    audience: input.audience,
    dailyQuota: input.dailyQuota,
    schedule: input.schedule,
  };
}

export async function createCampaign(db: Db, input: CampaignInput, createdBy: string): Promise<CampaignRow> {
  const [row] = await db
    .insert(campaigns)
    .values({
      ...contentOf(input),
      // Filled in below from the id when the admin gave none.
      utmCampaign: input.utmCampaign ?? "pending",
      createdBy,
    })
    .returning();
  if (input.utmCampaign !== undefined) return row!;
  const [named] = await db
    .update(campaigns)
    .set({ utmCampaign: `campaign-${row!.id}` })
    .where(eq(campaigns.id, row!.id))
    .returning();
  return named!;
}

/** Replaces a draft's content; undefined when the campaign is not (or no longer) a draft. */
export async function updateDraft(db: Db, id: number, input: CampaignInput): Promise<CampaignRow | undefined> {
  const [row] = await db
    .update(campaigns)
    .set({
      ...contentOf(input),
      ...(input.utmCampaign !== undefined ? { utmCampaign: input.utmCampaign } : {}),
      updatedAt: sql`now()`,
    })
    .where(and(eq(campaigns.id, id), eq(campaigns.status, "draft")))
    .returning();
  return row;
}

export async function findCampaign(db: Db, id: number): Promise<CampaignRow | undefined> {
  const [row] = await db.select().from(campaigns).where(eq(campaigns.id, id));
  return row;
}

export async function listCampaigns(db: Db): Promise<CampaignRow[]> {
  return await db.select().from(campaigns).orderBy(desc(campaigns.id)).limit(200);
}

export async function linksOf(db: Db, id: number): Promise<CampaignLinkRow[]> {
  return await db.select().from(campaignLinks).where(eq(campaignLinks.campaignId, id)).orderBy(campaignLinks.idx);
}

/**
 * Moves a campaign along CAMPAIGN_ACTIONS, only from a status the action allows (a conditional
 * update: two admins pressing at once cannot both win). Undefined when the status did not allow it.
 */
export async function applyCampaignAction(
  db: Db,
  id: number,
  action: CampaignAction,
  extra: Partial<Pick<CampaignRow, "approvedBy" | "pausedReason">> = {},
): Promise<CampaignRow | undefined> {
  const { from, to } = CAMPAIGN_ACTIONS[action];
  const [row] = await db
    .update(campaigns)
    .set({
      status: to,
      updatedAt: sql`now()`,
      ...(action === "approve" ? { approvedBy: extra.approvedBy ?? null, approvedAt: sql`now()` } : {}),
      ...(action === "pause" ? { pausedReason: extra.pausedReason ?? null } : {}),
      ...(action === "resume" ? { pausedReason: null } : {}),
      ...(action === "finish" ? { finishedAt: sql`now()` } : {}),
    })
    .where(and(eq(campaigns.id, id), inArray(campaigns.status, [...from])))
    .returning();
  return row;
}

/** Approves a draft and stores its numbered links, in one transaction. */
export async function approveCampaign(
  db: Db,
  id: number,
  approvedBy: string,
  links: { idx: number; url: string; tracked: boolean }[],
): Promise<CampaignRow | undefined> {
  return await db.transaction(async (tx) => {
    const row = await applyCampaignAction(tx as unknown as Db, id, "approve", { approvedBy });
    if (!row) return undefined;
    await tx.delete(campaignLinks).where(eq(campaignLinks.campaignId, id));
    if (links.length > 0) await tx.insert(campaignLinks).values(links.map((l) => ({ ...l, campaignId: id })));
    return row;
  });
}

/** Pauses a running campaign for a reason the system found (a template that cannot render). */
export async function pauseCampaign(db: Db, id: number, reason: string): Promise<void> {
  await applyCampaignAction(db, id, "pause", { pausedReason: reason.slice(0, 500) });
  console.error(JSON.stringify({ level: "error", event: "campaign_paused", campaignId: id, reason }));
}

export async function anyRunningCampaign(db: Db): Promise<boolean> {
  const [row] = await db.select({ id: campaigns.id }).from(campaigns).where(eq(campaigns.status, "running")).limit(1);
  return row !== undefined;
}
