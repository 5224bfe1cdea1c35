import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { main } from "../../scripts/cli/main";
import { DEFAULT_LISTS_DIR, parseExclusionList, readExclusionLists } from "../../scripts/cli/scrub";
import { pgQuery, scratchDatabase } from "./cli-database";

/**
 * `docket scrub`: the exclusion lists (data, one domain a line) loaded into excluded_domains and
 * applied retroactively to queued campaign sends and prospects, in a real Postgres.
 */

let database: Awaited<ReturnType<typeof scratchDatabase>> | undefined;
let url = "";
let lists = "";

const query = <T extends pg.QueryResultRow>(text: string, params: unknown[] = [], on = url) =>
  pgQuery<T>(on, text, params);

async function docket(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), env: { DATABASE_URL: url } });
  return { status, out, err, summary: out[0] ? JSON.parse(out[0]) : undefined };
}

const writeLists = async (consumer: string[], dead: string[]) => {
  await writeFile(join(lists, "consumer-mailboxes.txt"), `# test list\n${consumer.join("\n")}\n`);
  await writeFile(join(lists, "dead-isps.txt"), dead.join("\n"));
};

let campaignId = 0;
let nextProspect = 1;

/** A prospect at `email`, and a campaign send to it in `status`. */
async function prospectWithSend(email: string, status = "queued", kind = "campaign") {
  const key = String(nextProspect++);
  const [p] = await query<{ id: number }>(
    `insert into prospects (source, source_key, email, domain, fields) values ('fmcsa', $1, $2, $3, '{}') returning id`,
    [key, email, email.split("@")[1]],
  );
  await query(
    `insert into mail_sends (message_id, kind, recipient, campaign_id, status, prospect_id)
     values ($1, $2, $3, $4, $5, $6)`,
    [`<${key}@send.docket.test>`, kind, email, kind === "campaign" ? campaignId : null, status, p!.id],
  );
  return p!.id;
}

const sends = () =>
  query<{ recipient: string; status: string; cancel_reason: string | null }>(
    "select recipient, status, cancel_reason from mail_sends order by id",
  );
const prospects = () =>
  query<{ email: string; excluded_by: string | null }>("select email, excluded_by from prospects order by id");
const excluded = () =>
  query<{ domain: string; list: string }>("select domain, list from excluded_domains order by domain");

beforeAll(async () => {
  database = await scratchDatabase(inject("pg").adminUrl, "scrub");
  url = database.url;
  lists = await mkdtemp(join(tmpdir(), "docket-scrub-"));
  const [c] = await query<{ id: number }>(
    `insert into campaigns (name, subject, html, claims, audience, daily_quota, schedule, utm_campaign, created_by)
     values ('t', 's', '<p>h</p>', '[]', '{}', 10, '{}', 'utm', 'test') returning id`,
  );
  campaignId = c!.id;
});

afterAll(async () => {
  await database?.drop();
  if (lists) await rm(lists, { recursive: true, force: true });
});

describe("docket scrub", () => {
  it("cancels queued sends and marks prospects at each list's domains; --dry-run changes nothing", async () => {
    await prospectWithSend("joe@gmail.com");
    await prospectWithSend("ann@nc.rr.com", "deferred");
    await prospectWithSend("old@adelphia.net");
    await prospectWithSend("ops@acme-trucking.com");
    // Already handed to the relay, or not campaign mail: not withdrawn.
    await prospectWithSend("sam@gmail.com", "sending");
    await prospectWithSend("pat@gmail.com", "queued", "transactional");
    await writeLists(["gmail.com  # Google", "RR.com."], ["adelphia.net"]);

    const before = { sends: await sends(), prospects: await prospects() };
    const dry = await docket(["scrub", "--dry-run", "--lists", lists]);
    expect(dry.status).toBe(0);
    const expected = {
      "consumer-mailboxes": {
        domains: 2,
        added: 2,
        removed: 0,
        sendsCancelled: 2,
        prospectsMarked: 4,
        prospectsUnmarked: 0,
      },
      "dead-isps": { domains: 1, added: 1, removed: 0, sendsCancelled: 1, prospectsMarked: 1, prospectsUnmarked: 0 },
    };
    expect(dry.summary).toMatchObject({ dryRun: true, lists: expected });
    expect(await sends()).toEqual(before.sends);
    expect(await prospects()).toEqual(before.prospects);
    expect(await excluded()).toEqual([]);

    const real = await docket(["scrub", "--lists", lists]);
    expect(real.summary).toMatchObject({ dryRun: false, lists: expected, totals: { sendsCancelled: 3 } });
    expect(await sends()).toEqual([
      { recipient: "joe@gmail.com", status: "cancelled", cancel_reason: "excluded:consumer-mailboxes" },
      { recipient: "ann@nc.rr.com", status: "cancelled", cancel_reason: "excluded:consumer-mailboxes" },
      { recipient: "old@adelphia.net", status: "cancelled", cancel_reason: "excluded:dead-isps" },
      { recipient: "ops@acme-trucking.com", status: "queued", cancel_reason: null },
      { recipient: "sam@gmail.com", status: "sending", cancel_reason: null },
      { recipient: "pat@gmail.com", status: "queued", cancel_reason: null },
    ]);
    expect(await prospects()).toEqual([
      { email: "joe@gmail.com", excluded_by: "consumer-mailboxes" },
      { email: "ann@nc.rr.com", excluded_by: "consumer-mailboxes" },
      { email: "old@adelphia.net", excluded_by: "dead-isps" },
      { email: "ops@acme-trucking.com", excluded_by: null },
      { email: "sam@gmail.com", excluded_by: "consumer-mailboxes" },
      { email: "pat@gmail.com", excluded_by: "consumer-mailboxes" },
    ]);
    expect(await excluded()).toEqual([
      { domain: "adelphia.net", list: "dead-isps" },
      { domain: "gmail.com", list: "consumer-mailboxes" },
      { domain: "rr.com", list: "consumer-mailboxes" },
    ]);
    const [note] = await query("select note from excluded_domains where domain = 'gmail.com'");
    expect(note).toEqual({ note: "Google" });

    // Run again: nothing left to do.
    const again = await docket(["scrub", "--lists", lists]);
    expect(again.summary.totals).toEqual({
      domains: 3,
      added: 0,
      removed: 0,
      sendsCancelled: 0,
      prospectsMarked: 0,
      prospectsUnmarked: 0,
    });
  });

  it("applies a grown list retroactively and un-marks what a shrunk list no longer lists", async () => {
    await prospectWithSend("info@excite.com");
    await writeLists(["gmail.com", "rr.com"], ["adelphia.net", "excite.com"]);
    const grown = await docket(["scrub", "--lists", lists]);
    expect(grown.summary.lists["dead-isps"]).toMatchObject({ added: 1, sendsCancelled: 1, prospectsMarked: 1 });
    expect((await sends()).at(-1)).toEqual({
      recipient: "info@excite.com",
      status: "cancelled",
      cancel_reason: "excluded:dead-isps",
    });

    // rr.com leaves the consumer list; gmail.com moves to the dead list (a made-up move, to test one).
    await writeLists([], ["adelphia.net", "excite.com", "gmail.com"]);
    const shrunk = await docket(["scrub", "--lists", lists]);
    expect(shrunk.summary.lists).toEqual({
      "consumer-mailboxes": {
        domains: 0,
        added: 0,
        removed: 2,
        sendsCancelled: 0,
        prospectsMarked: 0,
        prospectsUnmarked: 1,
      },
      "dead-isps": { domains: 3, added: 1, removed: 0, sendsCancelled: 0, prospectsMarked: 3, prospectsUnmarked: 0 },
    });
    expect(await prospects()).toEqual([
      { email: "joe@gmail.com", excluded_by: "dead-isps" },
      { email: "ann@nc.rr.com", excluded_by: null },
      { email: "old@adelphia.net", excluded_by: "dead-isps" },
      { email: "ops@acme-trucking.com", excluded_by: null },
      { email: "sam@gmail.com", excluded_by: "dead-isps" },
      { email: "pat@gmail.com", excluded_by: "dead-isps" },
      { email: "info@excite.com", excluded_by: "dead-isps" },
    ]);
    expect((await excluded()).map((e) => e.domain)).toEqual(["adelphia.net", "excite.com", "gmail.com"]);
    // A cancelled send stays cancelled: the audience build chooses again, from the lists as they are.
    expect((await sends())[1]).toMatchObject({ recipient: "ann@nc.rr.com", status: "cancelled" });
  });

  it("refuses lists it cannot read, changing nothing", async () => {
    const before = await excluded();
    await writeLists(["gmail.com", "not a domain"], []);
    const bad = await docket(["scrub", "--lists", lists]);
    expect(bad.status).toBe(1);
    expect(bad.err.join("\n")).toMatch(/consumer-mailboxes\.txt:3: "not a domain" is not a domain/);
    await writeLists(["gmail.com"], ["gmail.com"]);
    const twice = await docket(["scrub", "--lists", lists]);
    expect(twice.err.join("\n")).toMatch(/gmail\.com is on two lists: consumer-mailboxes and dead-isps/);
    const empty = await mkdtemp(join(tmpdir(), "docket-scrub-empty-"));
    expect((await docket(["scrub", "--lists", empty])).err.join("\n")).toMatch(/no exclusion lists/);
    await rm(empty, { recursive: true });
    expect(await excluded()).toEqual(before);
    expect((await docket(["scrub", "extra"])).status).toBe(2);
  });

  it("ships lists that parse, with Apple's, Google's and Microsoft's consumer domains", async () => {
    const shipped = await readExclusionLists(DEFAULT_LISTS_DIR);
    expect([...shipped.keys()]).toEqual(["consumer-mailboxes", "dead-isps"]);
    const consumer = new Set(shipped.get("consumer-mailboxes")!.map((e) => e.domain));
    for (const d of ["icloud.com", "me.com", "mac.com", "gmail.com", "hotmail.com", "outlook.com", "yahoo.com"])
      expect(consumer.has(d), d).toBe(true);
    expect(shipped.get("dead-isps")!.map((e) => e.domain)).toContain("adelphia.net");
    expect(parseExclusionList("Bücher.example # IDN\n\n# only a comment\n", "x.txt")).toEqual([
      { domain: "xn--bcher-kva.example", note: "IDN" },
    ]);
  });
});
