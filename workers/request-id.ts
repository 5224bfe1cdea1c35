import type { MiddlewareHandler } from "hono";

export type RequestIdVariables = { requestId: string };

/** Tags each request with an id (Cloudflare's ray id when present) echoed in X-Request-Id. */
export function requestId(): MiddlewareHandler<{ Variables: RequestIdVariables }> {
  return async (c, next) => {
    const ray = c.req.header("cf-ray");
    const id = ray && /^[A-Za-z0-9-]{1,64}$/.test(ray) ? ray : crypto.randomUUID();
    c.set("requestId", id);
    await next();
    c.header("X-Request-Id", id);
  };
}
