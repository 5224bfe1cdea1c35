import { createServer } from "node:net";

/** Asks the kernel for a free TCP port on loopback. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("could not determine a free port"));
      });
    });
  });
}

/** The port from an environment variable, or a free one when it is unset or 0. */
export async function portFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const raw = env[name];
  if (raw === undefined || raw === "" || raw === "0") return await freePort();
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${name}=${raw} is not a TCP port`);
  }
  return port;
}
