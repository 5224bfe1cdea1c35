import { randomBytes } from "node:crypto";
import pg from "pg";
import { main } from "../../scripts/cli/main";
import { TEMPLATE_DATABASE } from "../support/test-stack";

/** For node tests of the `docket` CLI against the real Postgres: one query on a fresh client. */
export async function pgQuery<T extends pg.QueryResultRow>(
  connectionString: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** Runs `docket <args>` in process, collecting what it writes. */
export async function runDocket(args: string[], env: NodeJS.ProcessEnv) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), env });
  return { status, out, err };
}

/** A database of this test file's own, cloned from the migrated template; drop() removes it. */
export async function scratchDatabase(
  adminUrl: string,
  prefix: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `docket_${prefix}_${randomBytes(4).toString("hex")}`;
  await pgQuery(adminUrl, `create database ${name} template ${TEMPLATE_DATABASE}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await pgQuery(adminUrl, `drop database if exists ${name} with (force)`);
    },
  };
}
