import { createServer } from "node:net";
import { portFromEnv } from "./free-port";

/**
 * The local stack's ports: fixed defaults so URLs stay the same from one start to the next
 * (bookmarks, psql history), each overridable by an environment variable; 0 means any free
 * port (tests, the bench, a second stack beside the first).
 */
export const PORT_SETTINGS = {
  worker: { env: "DOCKET_PORT", fallback: 8787 },
  postgres: { env: "DOCKET_PG_PORT", fallback: 54329 },
  proxy: { env: "DOCKET_PROXY_PORT", fallback: 54330 },
  smtp: { env: "DOCKET_SMTP_PORT", fallback: 1025 },
  smtpHttp: { env: "DOCKET_SMTP_HTTP_PORT", fallback: 8025 },
  // 12111 is stripe-mock's port: a Stripe stand-in where people look for one.
  stripe: { env: "DOCKET_STRIPE_PORT", fallback: 12111 },
  // The local DNS-over-HTTPS resolver (DOH_ENDPOINT); 8053 is the customary unprivileged DNS port.
  doh: { env: "DOCKET_DOH_PORT", fallback: 8053 },
  // 0 by default: a fixed inspector port would collide with any other Node debugger.
  inspector: { env: "DOCKET_INSPECTOR_PORT", fallback: 0 },
} as const;

export type StackPorts = Record<keyof typeof PORT_SETTINGS, number>;

export async function resolveStackPorts(env: NodeJS.ProcessEnv = process.env): Promise<StackPorts> {
  const entries = await Promise.all(
    Object.entries(PORT_SETTINGS).map(async ([name, { env: variable, fallback }]) => {
      const raw = env[variable];
      const effective = raw === undefined || raw.trim() === "" ? String(fallback) : raw.trim();
      return [name, await portFromEnv(variable, { [variable]: effective })] as const;
    }),
  );
  const ports = Object.fromEntries(entries) as StackPorts;
  const seen = new Map<number, string>();
  for (const [name, port] of Object.entries(ports)) {
    const other = seen.get(port);
    if (other) throw new Error(`ports: ${name} and ${other} are both set to ${port}`);
    seen.set(port, name);
  }
  return ports;
}

/**
 * Fails early, naming the variable to change, when a port is taken: otherwise the clash
 * surfaces later as one piece's cryptic EADDRINUSE, after others have started.
 */
export async function assertPortsFree(ports: Partial<StackPorts>, host = "127.0.0.1"): Promise<void> {
  const busy: string[] = [];
  await Promise.all(
    Object.entries(ports).map(async ([name, port]) => {
      if (!port) return;
      const free = await new Promise<boolean>((resolve) => {
        const server = createServer();
        server.once("error", () => resolve(false));
        server.listen(port, host, () => server.close(() => resolve(true)));
      });
      const setting = PORT_SETTINGS[name as keyof StackPorts];
      if (!free) busy.push(`${host}:${port} (${name}, ${setting.env})`);
    }),
  );
  if (busy.length > 0) {
    throw new Error(
      `ports already in use: ${busy.join(", ")}. Set those variables to free ports, or 0 for any free port.`,
    );
  }
}
