import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { audienceBuildScenario } from "./audience-build.scenario";
import { campaignSendScenario } from "./campaign-send.scenario";
import { checkoutCreateScenario } from "./checkout-create.scenario";
import { mxTaggingScenario } from "./mx-tagging.scenario";
import { orderEventsScenario, orderRemindersScenario } from "./order-machine.scenario";
import type { ScenarioContext, ScenarioOutcome, StackScenario } from "./stack-scenario";
import { webhookBurstScenario } from "./webhook-burst.scenario";

/**
 * The scenario benchmarks (stack-scenario.ts), as entries of the harness's benchmark list
 * (benchmarks.ts): `--only` selects them by name, run.ts runs them on the stack it started, in
 * list order after the GET benchmarks, and puts their rows in the same table, ratios against
 * the same baseline. `with: ["health"]`: /health is measured in the same run, to read them
 * against.
 */
export const SCENARIO_BENCHMARKS: readonly {
  name: string;
  path: string;
  description: string;
  scenario: StackScenario;
  with: string[];
}[] = [
  checkoutCreateScenario,
  webhookBurstScenario,
  orderEventsScenario,
  orderRemindersScenario,
  mxTaggingScenario,
  audienceBuildScenario,
  campaignSendScenario,
].map((scenario) => ({
  name: scenario.name,
  path: scenario.path,
  description: scenario.description,
  scenario,
  with: ["health"],
}));

/**
 * The Worker configuration the selected scenarios need on the bench's stack (their
 * `stackConfig`, merged); two scenarios asking for different values of one key is an error.
 */
export function scenarioStackConfig(scenarios: readonly StackScenario[]): Record<string, string> {
  const merged: Record<string, string> = {};
  const askedBy: Record<string, string> = {};
  for (const scenario of scenarios) {
    for (const [key, value] of Object.entries(scenario.stackConfig ?? {})) {
      if (value === undefined) continue;
      if (key in merged && merged[key] !== value) {
        throw new Error(
          `scenarios ${askedBy[key]} and ${scenario.name} need different ${key} (${merged[key]} and ${value}): run them separately`,
        );
      }
      merged[key] = value;
      askedBy[key] = scenario.name;
    }
  }
  return merged;
}

/** Runs one scenario, logging its start; its rows are for the harness's table. */
export async function runScenario(scenario: StackScenario, ctx: ScenarioContext): Promise<ScenarioOutcome> {
  ctx.log(`${scenario.name}: ${scenario.description}`);
  return await scenario.run(ctx);
}

/** Notes and checks under the table; true when every check passed. */
export function printScenarioOutcomes(outcomes: readonly ScenarioOutcome[]): boolean {
  let ok = true;
  for (const outcome of outcomes) {
    for (const note of outcome.notes) console.log(`  ${note}`);
    for (const check of outcome.checks) {
      console.log(`  ${outcome.name}: ${check.name}: ${check.pass ? "PASS" : "FAIL"}`);
      if (!check.pass) ok = false;
    }
  }
  return ok;
}

/** The scenarios' details (plans, counts, findings) beside latest.json. */
export async function writeScenarioReport(file: string, outcomes: readonly ScenarioOutcome[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ finishedAt: new Date().toISOString(), outcomes }, null, 2)}\n`);
  await rename(tmp, file);
}

/** The password-bearing Postgres URL for scenarios: the stack's, or DATABASE_URL when external. */
export function scenarioDatabaseUrl(info: { databaseUrl: string; embeddedPostgres: boolean }): string {
  if (info.embeddedPostgres) return info.databaseUrl;
  const url = process.env.DATABASE_URL?.trim();
  if (!url) throw new Error("the stack uses an external Postgres but DATABASE_URL is not set here");
  return url;
}
