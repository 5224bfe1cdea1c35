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
  const testEnv = env as unknown as { TEST_PG_ADMIN_URL: string; NEON_WS_PROXY: string; DATABASE_URL: string };
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
  // Order and checkout numbers start at a random block per file: the fake Stripe (its
  // idempotency keys are checkout numbers) and the Durable Objects (named by order number)
  // outlive one file's database, and a number reused by the next file would meet the last
  // file's session or machine.
  const db = new Client({ connectionString: testEnv.DATABASE_URL });
  db.on("error", () => {});
  await db.connect();
  try {
    const start = (1 + Math.floor(Math.random() * 8_900)) * 100;
    await db.query(`select setval('order_number_seq', ${start}), setval('checkout_number_seq', ${start})`);
  } finally {
    await db.end();
  }
});
