import { createServer, type IncomingMessage } from "node:http";

/**
 * A stand-in for third-party HTTP endpoints the Worker calls (the Telegram Bot API, an alert
 * webhook): it answers every request and keeps it, so tests see exactly what went out.
 *
 * - any request: recorded, answered 200 `{"ok":true}`; under `/status/<code>/…` answered with
 *   that status instead (`{"ok":false,…}`), to see a failing endpoint;
 * - `GET /__captured`: the recorded requests, oldest first;
 * - `DELETE /__captured`: forgets them.
 */

export interface CapturedRequest {
  method: string;
  /** Path and query, as requested. */
  path: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  /** Parsed JSON when the body is JSON, else its text; null when empty. */
  body: unknown;
  receivedAt: string;
}

export interface HttpCapture {
  url: string;
  port: number;
  requests(): CapturedRequest[];
  clear(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_REQUESTS = 1000;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseBody(text: string, contentType: string | undefined): unknown {
  if (text === "") return null;
  if (contentType?.includes("json")) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

export async function startHttpCapture(opts: { port: number; host?: string }): Promise<HttpCapture> {
  const host = opts.host ?? "127.0.0.1";
  let captured: CapturedRequest[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? "/";
    const reply = (status: number, body?: unknown) => {
      if (body === undefined) return res.writeHead(status).end();
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (path === "/__captured") {
      if (req.method === "GET") return reply(200, captured);
      if (req.method === "DELETE") {
        captured = [];
        return reply(204);
      }
      return reply(405, { ok: false });
    }
    readBody(req).then(
      (text) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) {
          if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
        }
        captured.push({
          method: req.method ?? "GET",
          path,
          headers,
          body: parseBody(text, req.headers["content-type"]),
          receivedAt: new Date().toISOString(),
        });
        if (captured.length > MAX_REQUESTS) captured.shift();
        const status = /^\/status\/([2-5]\d\d)(\/|$|\?)/.exec(path)?.[1];
        if (status) reply(Number(status), { ok: false, description: `capture answered ${status}` });
        else reply(200, { ok: true });
      },
      () => reply(400, { ok: false }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;
  return {
    url: `http://${host}:${port}`,
    port,
    requests: () => [...captured],
    clear: () => {
      captured = [];
    },
    async close() {
      // workerd keeps connections alive; close them or close() waits for their timeout.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
