import { createConnection } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";

/**
 * WebSocket-to-TCP proxy so `@neondatabase/serverless` (Postgres over WebSocket) reaches a
 * plain Postgres. The driver opens `ws://host:port/v1?address=…`; every connection is piped
 * to the one configured Postgres, whatever address it asks for, so the proxy can't be used to
 * reach anything else.
 */

export interface WsProxy {
  port: number;
  /** The value for NEON_WS_PROXY. */
  neonWsProxy: string;
  close(): Promise<void>;
}

export async function startWsProxy(options: {
  port: number;
  target: { host: string; port: number };
  host?: string;
}): Promise<WsProxy> {
  const host = options.host ?? "127.0.0.1";
  const wss = new WebSocketServer({ host, port: options.port, path: "/v1" });
  wss.on("connection", (ws: WebSocket) => {
    const tcp = createConnection(options.target);
    tcp.setNoDelay(true);
    ws.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => {
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      tcp.write(chunk);
    });
    tcp.on("data", (chunk) => {
      if (ws.readyState === ws.OPEN) ws.send(chunk);
    });
    const end = () => {
      tcp.destroy();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
    };
    ws.on("close", end);
    ws.on("error", end);
    tcp.on("close", end);
    tcp.on("error", end);
  });
  await new Promise<void>((resolve, reject) => {
    wss.once("listening", resolve);
    wss.once("error", reject);
  });
  return {
    port: options.port,
    neonWsProxy: `${host}:${options.port}/v1`,
    async close() {
      // Clients still open or mid-close-handshake would keep the server (and the process) alive.
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
