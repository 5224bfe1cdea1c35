/**
 * A campaign's life: draft → approved → running ⇄ paused → finished. Only an admin approves;
 * nothing is sent unless the campaign is running, and it can only run once approved. Editing
 * is allowed in draft only, so what was approved is what goes out.
 */

export const CAMPAIGN_STATUSES = ["draft", "approved", "running", "paused", "finished"] as const;

export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

export const CAMPAIGN_ACTIONS = {
  approve: { from: ["draft"], to: "approved" },
  start: { from: ["approved"], to: "running" },
  pause: { from: ["running"], to: "paused" },
  resume: { from: ["paused"], to: "running" },
  finish: { from: ["approved", "running", "paused"], to: "finished" },
} as const satisfies Record<string, { from: readonly CampaignStatus[]; to: CampaignStatus }>;

export type CampaignAction = keyof typeof CAMPAIGN_ACTIONS;

export function canApply(action: CampaignAction, status: CampaignStatus): boolean {
  return (CAMPAIGN_ACTIONS[action].from as readonly CampaignStatus[]).includes(status);
}

export function allowedActions(status: CampaignStatus): CampaignAction[] {
  return (Object.keys(CAMPAIGN_ACTIONS) as CampaignAction[]).filter((a) => canApply(a, status));
}
