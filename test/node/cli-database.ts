import pg from "pg";
import { main } from "../../scripts/cli/main";

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
