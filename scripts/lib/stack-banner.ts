import { relative } from "node:path";
import type { StackInfo } from "./local-stack";

/** The one block `npm start` prints once the Worker answers: every URL and where data lives. */
export const BANNER_TITLE = "Docket is running";

function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") ? rel : path;
}

export function formatBanner(info: StackInfo): string {
  const { layout } = info;
  const devVars = shown(layout.devVarsFile);
  const fromEnv = (key: string) => info.overridden.includes(key as never);
  const rows: [string, string][] = [
    ["Worker", info.workerUrl],
    ["Health", `${info.workerUrl}/health  ·  ${info.workerUrl}/health/deep`],
    [
      "Admin token",
      `${info.adminToken.slice(0, 12)}…  (Authorization: Bearer <token>; ` +
        (fromEnv("ADMIN_TOKEN") ? "from ADMIN_TOKEN in your environment)" : `full value: ADMIN_TOKEN in ${devVars})`),
    ],
    [
      "Admin login",
      `${info.admin.email}  (POST /api/admin/login; password: ` +
        (info.admin.passwordFromEnv
          ? "ADMIN_PASSWORD from your environment)"
          : `adminPassword in ${shown(layout.secretsFile)})`),
    ],
    [
      "Postgres",
      info.embeddedPostgres
        ? `${info.databaseUrl}  (embedded; data in ${shown(layout.postgresDir)})`
        : `${info.databaseUrl}  (from DATABASE_URL)`,
    ],
    ["DB proxy", `ws://${info.neonWsProxy}  (NEON_WS_PROXY)`],
    [
      "SMTP sink",
      `smtp://${info.smtp.host}:${info.smtp.port}  (user ${info.smtp.user}, no TLS; password: SMTP_PASSWORD in ${devVars})`,
    ],
    ["Outbox", `${info.smtp.httpUrl}/messages  (raw: /messages/<id>/raw)`],
    ["Stripe (fake)", `${info.stripe.url}  (dashboard; checkout pages /checkout/<session>; STRIPE_API_BASE)`],
    [
      "DNS (DoH)",
      `${info.doh.url}  (${fromEnv("DOH_ENDPOINT") ? "unused: DOH_ENDPOINT is set in your environment" : "DOH_ENDPOINT"}; ` +
        `${info.doh.names} names from ${info.doh.zoneFiles.join(", ")})`,
    ],
    ["Debugger", `ws://127.0.0.1:${info.ports.inspector}  (Worker inspector)`],
    [
      "Data",
      `${shown(layout.dataDir)}  (wrangler state ${shown(layout.wranglerDir)}, config ${devVars}, logs ${shown(layout.logsDir)})`,
    ],
    ["Demo data", info.seed.defined === 0 ? "none defined yet" : `${info.seed.total} rows upserted`],
  ];
  if (info.overridden.length > 0) rows.push(["From env", info.overridden.join(", ")]);
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  const rule = "─".repeat(72);
  return [
    rule,
    ` ${BANNER_TITLE} (development). Ctrl-C stops everything.`,
    rule,
    ...rows.map(([k, v]) => ` ${k.padEnd(width)}${v}`),
    rule,
  ].join("\n");
}
