import type { MiddlewareHandler } from "hono";
import type { AppConfig } from "../domain/config/app-config";
import { ApiError } from "./http-errors";

const encoder = new TextEncoder();

/** Constant-time comparison of two secrets (workerd's crypto.subtle.timingSafeEqual). */
export function sameSecret(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  if (a.byteLength !== b.byteLength) {
    // Still spend a comparison so length is the only thing timing can tell.
    crypto.subtle.timingSafeEqual(b, b);
    return false;
  }
  return crypto.subtle.timingSafeEqual(a, b);
}

export function isAdminRequest(authorization: string | undefined, config: AppConfig): boolean {
  const token = config.ADMIN_TOKEN;
  if (!token || !authorization) return false;
  const match = /^Bearer\s+(\S+)$/i.exec(authorization);
  return match?.[1] !== undefined && sameSecret(match[1], token);
}

/** Admin routes: `Authorization: Bearer <ADMIN_TOKEN>`, or 401. */
export function requireAdmin(): MiddlewareHandler<{ Variables: { config: AppConfig } }> {
  return async (c, next) => {
    if (!isAdminRequest(c.req.header("authorization"), c.get("config"))) {
      c.header("WWW-Authenticate", 'Bearer realm="docket-admin"');
      throw new ApiError(401, "UNAUTHORIZED", "An admin bearer token is required");
    }
    await next();
  };
}
