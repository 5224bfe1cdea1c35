import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { z } from "zod";

/**
 * A local DNS-over-HTTPS resolver for `npm start`, the tests and the bench: it speaks the JSON
 * API the way Cloudflare's https://cloudflare-dns.com/dns-query does (GET ?name=&type= with
 * `accept: application/dns-json`) and answers MX questions from fixture zones, so MX tagging
 * runs end to end without touching the real DNS.
 *
 * A zone is JSON: `{ "<domain>": { "mx": [[10, "aspmx.l.google.com"], …] } | { "rcode": "NXDOMAIN" | "SERVFAIL" } }`.
 * `"mx": []` is a name that exists without MX records (NODATA); `[[0, "."]]` is a null MX
 * (RFC 7505). Names not listed are NXDOMAIN. Zones loaded later replace earlier entries.
 */

/** DNS RCODEs (RFC 1035 4.1.1) as the JSON API reports them in `Status`. */
const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const;

/** RR type numbers (RFC 1035 3.2.2 and later) accepted by name in `type`. */
const RR_TYPES: Record<string, number> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  DS: 43,
  DNSKEY: 48,
  HTTPS: 65,
  CAA: 257,
};
const MX_TYPE = 15;
const ANSWER_TTL = 300;
const DNS_JSON = "application/dns-json";

const mxHostSchema = z
  .string()
  .transform((h) => h.trim().toLowerCase().replace(/\.$/, ""))
  .refine((h) => h === "" || /^[a-z0-9_]([a-z0-9_.-]{0,251}[a-z0-9])?$/.test(h), "an MX host name");

const zoneEntrySchema = z.union([
  z.object({ mx: z.array(z.tuple([z.number().int().min(0).max(65535), mxHostSchema])) }).strict(),
  z.object({ rcode: z.enum(["NXDOMAIN", "SERVFAIL"]) }).strict(),
]);

export const dohZoneSchema = z.record(z.string().min(1), zoneEntrySchema);
export type DohZone = z.input<typeof dohZoneSchema>;

/** Answers kept per name: the `Status` and, for NOERROR, the MX `data` strings in presentation format. */
interface NameAnswer {
  status: number;
  mx: string[];
}

function normaliseName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, "");
}

// A DNS name as a query may carry it: labels of 1–63 characters, 253 in all (RFC 1035 2.3.4).
function isQueryName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name.split(".").every((label) => label.length >= 1 && label.length <= 63 && /^[a-z0-9_-]+$/.test(label));
}

function compileZone(raw: unknown, origin: string): Map<string, NameAnswer> {
  const parsed = dohZoneSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`DoH zone ${origin}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  const out = new Map<string, NameAnswer>();
  for (const [rawName, entry] of Object.entries(parsed.data)) {
    const name = normaliseName(rawName);
    if (!isQueryName(name)) throw new Error(`DoH zone ${origin}: "${rawName}" is not a domain name`);
    if ("rcode" in entry) out.set(name, { status: RCODE[entry.rcode], mx: [] });
    else {
      const mx = [...entry.mx]
        .sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
        // The root name "." is a null MX's exchange (RFC 7505); every other host gets its root dot.
        .map(([preference, host]) => `${preference} ${host === "" ? "." : `${host}.`}`);
      out.set(name, { status: RCODE.NOERROR, mx });
    }
  }
  return out;
}

export interface DohResolverOptions {
  /** 0 for any free port. */
  port: number;
  host?: string;
  /** JSON zone files, loaded in order (a later file's entry for a name wins). */
  zoneFiles?: string[];
  /** A zone given inline, applied after the files. */
  zone?: DohZone;
}

export interface DohResolver {
  /** The dns-query endpoint (DOH_ENDPOINT). */
  url: string;
  port: number;
  /** Adds or replaces names; validated like a zone file (throws, changing nothing, on a bad zone). */
  addZone(zone: DohZone): void;
  /** Number of names the resolver answers for. */
  size(): number;
  stop(): Promise<void>;
}

export async function startDohResolver(options: DohResolverOptions): Promise<DohResolver> {
  const host = options.host ?? "127.0.0.1";
  const names = new Map<string, NameAnswer>();
  const merge = (compiled: Map<string, NameAnswer>) => {
    for (const [name, answer] of compiled) names.set(name, answer);
  };
  for (const file of options.zoneFiles ?? []) {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, "utf8")) as unknown;
    } catch (error) {
      throw new Error(`DoH zone ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    merge(compileZone(raw, file));
  }
  if (options.zone) merge(compileZone(options.zone, "(inline)"));

  const server = createServer((req, res) => answer(req, res, names));
  // Clients (workerd, undici) keep connections alive between lookups; that is most of the speed.
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("DoH resolver: no TCP address");
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${address.port}/dns-query`,
    port: address.port,
    addZone: (zone) => merge(compileZone(zone, "(added)")),
    size: () => names.size,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown, contentType = DNS_JSON): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(text),
    "cache-control": `max-age=${ANSWER_TTL}`,
  });
  res.end(text);
}

function answer(req: IncomingMessage, res: ServerResponse, names: ReadonlyMap<string, NameAnswer>): void {
  const url = new URL(req.url ?? "/", "http://resolver");
  if (url.pathname !== "/dns-query") return send(res, 404, { error: "Not found: the endpoint is /dns-query" });
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    return send(res, 405, { error: "Method not allowed: the JSON API is GET only" });
  }
  // Like Cloudflare: the JSON form is chosen by the Accept header or by ct=; RFC 8484's binary
  // form (?dns=) is not served here.
  const accept = req.headers.accept ?? "";
  const wantsJson = accept.includes(DNS_JSON) || accept.includes("application/json") || url.searchParams.has("ct");
  if (!wantsJson || url.searchParams.has("dns")) {
    return send(res, 400, { error: `Only the JSON API is served: send accept: ${DNS_JSON}` }, "application/json");
  }
  const rawName = url.searchParams.get("name");
  if (rawName === null || rawName.trim() === "") return send(res, 400, { error: "Missing name" }, "application/json");
  const name = normaliseName(rawName);
  if (!isQueryName(name)) return send(res, 400, { error: "Invalid query name" }, "application/json");
  const rawType = (url.searchParams.get("type") ?? "A").trim();
  const type = /^\d{1,5}$/.test(rawType) ? Number(rawType) : RR_TYPES[rawType.toUpperCase()];
  if (type === undefined || type < 1 || type > 65535) {
    return send(res, 400, { error: "Invalid query type" }, "application/json");
  }

  const fqdn = `${name}.`;
  const entry = names.get(name);
  const status = entry?.status ?? RCODE.NXDOMAIN;
  const body: Record<string, unknown> = {
    Status: status,
    TC: false,
    RD: true,
    RA: true,
    AD: false,
    CD: false,
    Question: [{ name: fqdn, type }],
  };
  if (status === RCODE.NOERROR && type === MX_TYPE && entry && entry.mx.length > 0) {
    body.Answer = entry.mx.map((data) => ({ name: fqdn, type: MX_TYPE, TTL: ANSWER_TTL, data }));
  }
  send(res, 200, body);
}
