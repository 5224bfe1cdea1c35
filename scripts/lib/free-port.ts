import { createServer } from "node:net";

// Ports this process has handed out. The kernel may offer a just-closed port again, so two
// calls (even sequential ones) could otherwise give two servers the same port.
const handedOut = new Set<number>();

/** Asks the kernel for a free TCP port on loopback, never one this process handed out before. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await kernelPort(host);
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("could not find a free port not already handed out");
}

async function kernelPort(host: string): Promise<number> {
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
