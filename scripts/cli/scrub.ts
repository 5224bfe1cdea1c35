// `docket scrub [--dry-run] [--lists DIR]`: loads the exclusion lists (data/exclusions/*.txt, one
// domain a line, the list named after its file) into excluded_domains, which then mirrors the
// files exactly, and applies them retroactively: queued or deferred campaign sends to an excluded
// domain are cancelled ("excluded:<list>"), prospects at one are marked with the list, and
// prospects whose domain no longer is on any list are unmarked. A listed domain covers its
// subdomains. One transaction; --dry-run runs
// the same statements and rolls them back, so its counts are exactly what a real run would do.
import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { DatabaseUrlError, databaseUrl } from "./database-url";

export const DEFAULT_LISTS_DIR = fileURLToPath(new URL("../../data/exclusions", import.meta.url));

export interface ScrubOptions {
  env: NodeJS.ProcessEnv;
  /** Where the *.txt lists are (default data/exclusions). */
  listsDir?: string;
  dryRun?: boolean;
}

export interface ScrubListTotals {
  /** Domains the file lists. */
  domains: number;
  /** Domains put on this list (new, or moved from another list). */
  added: number;
  /** Domains taken off this list (gone from its file, or moved to another list). */
  removed: number;
  sendsCancelled: number;
  prospectsMarked: number;
  prospectsUnmarked: number;
}

export interface ScrubSummary {
  dryRun: boolean;
  listsDir: string;
  lists: Record<string, ScrubListTotals>;
  totals: ScrubListTotals;
}

/** The lists cannot be applied; nothing was changed. */
export class ScrubError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScrubError";
  }
}

export interface ExclusionListEntry {
  domain: string;
  /** The line's trailing `# comment`, if any. */
  note: string | null;
}

const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A domain as prospects and mail_domains store it: lower-case ASCII (IDNA), no trailing dot. */
export function exclusionDomain(raw: string): string | null {
  const s = raw.trim().toLowerCase().replace(/\.$/, "");
  if (s === "" || /[\s/:?#[\]@\\%]/.test(s)) return null;
  let host: string;
  try {
    host = new URL(`http://${s}`).hostname;
  } catch {
    return null;
  }
  const labels = host.split(".");
  if (host.length > 253 || labels.length < 2 || !labels.every((l) => LDH_LABEL.test(l)) || /^\d+$/.test(labels.at(-1)!))
    return null;
  return host;
}

/** One list file: a domain a line, `#` starting a comment; a line that is not a domain refuses the file. */
export function parseExclusionList(text: string, file: string): ExclusionListEntry[] {
  const entries = new Map<string, ExclusionListEntry>();
  text.split(/\r?\n/).forEach((line, i) => {
    const hash = line.indexOf("#");
    const value = (hash < 0 ? line : line.slice(0, hash)).trim();
    if (value === "") return;
    const domain = exclusionDomain(value);
    if (domain === null) throw new ScrubError(`${file}:${i + 1}: ${JSON.stringify(value)} is not a domain`);
    const note = hash < 0 ? null : line.slice(hash + 1).trim() || null;
    if (!entries.has(domain)) entries.set(domain, { domain, note });
  });
  return [...entries.values()];
}

/** Every *.txt in `dir`, by list name; a domain on two lists refuses them (which one would it be?). */
export async function readExclusionLists(dir: string): Promise<Map<string, ExclusionListEntry[]>> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".txt")).sort();
  if (files.length === 0) throw new ScrubError(`no exclusion lists (*.txt) in ${dir}`);
  const lists = new Map<string, ExclusionListEntry[]>();
  const listOf = new Map<string, string>();
  for (const file of files) {
    const name = basename(file, ".txt");
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name))
      throw new ScrubError(`${file}: a list's file name must be lower-case letters, digits and dashes`);
    const entries = parseExclusionList(await readFile(join(dir, file), "utf8"), join(dir, file));
    for (const { domain } of entries) {
      const other = listOf.get(domain);
      if (other !== undefined) throw new ScrubError(`${domain} is on two lists: ${other} and ${name}`);
      listOf.set(domain, name);
    }
    lists.set(name, entries);
  }
  return lists;
}

const emptyTotals = (): ScrubListTotals => ({
  domains: 0,
  added: 0,
  removed: 0,
  sendsCancelled: 0,
  prospectsMarked: 0,
  prospectsUnmarked: 0,
});

// A recipient's domain: what follows its last "@" (addresses are stored lower-cased).
const RECIPIENT_DOMAIN = `lower(substring(s.recipient from '@([^@]+)$'))`;

export async function scrub(options: ScrubOptions): Promise<ScrubSummary> {
  let url: string;
  try {
    url = databaseUrl(options.env);
  } catch (error) {
    if (error instanceof DatabaseUrlError) throw new ScrubError(error.message);
    throw error;
  }
  const listsDir = options.listsDir ?? DEFAULT_LISTS_DIR;
  const lists = await readExclusionLists(listsDir);
  const summary: ScrubSummary = { dryRun: options.dryRun === true, listsDir, lists: {}, totals: emptyTotals() };
  const totalsFor = (list: string) => (summary.lists[list] ??= emptyTotals());
  const rows = [...lists].flatMap(([list, entries]) => {
    totalsFor(list).domains = entries.length;
    return entries.map((e) => ({ list, ...e }));
  });

  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  try {
    await client.query("begin");
    await client.query(
      "create temporary table scrub_list (domain text primary key, list text not null, note text) on commit drop",
    );
    await client.query("insert into scrub_list select * from unnest($1::text[], $2::text[], $3::text[])", [
      rows.map((r) => r.domain),
      rows.map((r) => r.list),
      rows.map((r) => r.note),
    ]);
    const count = async (sql: string, field: keyof ScrubListTotals) => {
      const result = await client.query<{ list: string; n: number }>(sql);
      for (const { list, n } of result.rows) totalsFor(list)[field] += n;
    };
    await count(
      `select l.list, count(*)::int as n from scrub_list l left join excluded_domains e using (domain)
       where e.list is distinct from l.list group by l.list`,
      "added",
    );
    await count(
      `select e.list, count(*)::int as n from excluded_domains e left join scrub_list l using (domain)
       where l.list is distinct from e.list group by e.list`,
      "removed",
    );
    // The table mirrors the files: a domain taken out of its file is no longer excluded.
    await client.query(
      "delete from excluded_domains e where not exists (select 1 from scrub_list l where l.domain = e.domain)",
    );
    await client.query(
      `insert into excluded_domains (domain, list, note) select domain, list, note from scrub_list
       on conflict (domain) do update set list = excluded.list, note = excluded.note,
         added_at = case when excluded_domains.list = excluded.list then excluded_domains.added_at else now() end
       where (excluded_domains.list, excluded_domains.note) is distinct from (excluded.list, excluded.note)`,
    );
    // Every domain a prospect or a waiting send is at, with the list of its closest listed
    // parent (itself included): a list entry covers its subdomains (nc.rr.com is rr.com's).
    await client.query(
      `create temporary table scrub_hits on commit drop as
       select d.domain, hit.list
       from (select domain from mail_domains
             union select domain from prospects
             union select ${RECIPIENT_DOMAIN} from mail_sends s
               where s.kind = 'campaign' and s.campaign_id is not null and s.status in ('queued', 'deferred')) d
       cross join lateral (
         select e.list from excluded_domains e
         where e.domain = any (array(
           select array_to_string(parts[i:], '.')
           from (select string_to_array(d.domain, '.') as parts) p, generate_series(1, array_length(parts, 1) - 1) i))
         order by length(e.domain) desc limit 1) hit
       where d.domain is not null`,
    );
    await client.query("create index on scrub_hits (domain)");
    // Sends not yet handed to the relay; one already sending is past withdrawing.
    await count(
      `with cancelled as (
         update mail_sends s set status = 'cancelled', cancel_reason = 'excluded:' || h.list
         from scrub_hits h
         where s.kind = 'campaign' and s.campaign_id is not null and s.status in ('queued', 'deferred')
           and h.domain = ${RECIPIENT_DOMAIN}
         returning h.list)
       select list, count(*)::int as n from cancelled group by list`,
      "sendsCancelled",
    );
    await count(
      `with marked as (
         update prospects p set excluded_by = h.list from scrub_hits h
         where h.domain = p.domain and p.excluded_by is distinct from h.list
         returning h.list)
       select list, count(*)::int as n from marked group by list`,
      "prospectsMarked",
    );
    await count(
      `with unmarked as (
         update prospects p set excluded_by = null
         from (select id, excluded_by as list from prospects q
               where q.excluded_by is not null
                 and not exists (select 1 from scrub_hits h where h.domain = q.domain)) old
         where p.id = old.id
         returning old.list)
       select list, count(*)::int as n from unmarked group by list`,
      "prospectsUnmarked",
    );
    await client.query(summary.dryRun ? "rollback" : "commit");
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
  for (const totals of Object.values(summary.lists))
    for (const key of Object.keys(totals) as (keyof ScrubListTotals)[]) summary.totals[key] += totals[key];
  return summary;
}
