import { Client, neonConfig } from "@neondatabase/serverless";
import { env } from "cloudflare:workers";
import { beforeAll } from "vitest";
import { TEMPLATE_DATABASE, TEST_DATABASE } from "./test-stack";

/**
 * Runs before each worker test file: replaces the test database with a fresh clone of the
 * migrated template, so every file starts from an empty, fully migrated schema. The Worker,
 * its Durable Objects and queue consumers all use DATABASE_URL unchanged.
 */
beforeAll(async () => {
  const testEnv = env as unknown as { TEST_PG_ADMIN_URL: string; NEON_WS_PROXY: string };
  neonConfig.wsProxy = () => testEnv.NEON_WS_PROXY;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
  const client = new Client({ connectionString: testEnv.TEST_PG_ADMIN_URL });
  client.on("error", () => {});
  await client.connect();
  try {
    await client.query(`drop database if exists ${TEST_DATABASE} with (force)`);
    await client.query(`create database ${TEST_DATABASE} template ${TEMPLATE_DATABASE}`);
  } finally {
    await client.end();
  }
});
