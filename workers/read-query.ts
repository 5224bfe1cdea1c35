import type { Context } from "hono";
import type { z } from "zod";
import { ApiError } from "./http-errors";

/**
 * Reads the query string and validates it, as readJson does a body: 422 VALIDATION_FAILED with
 * each failing parameter. A repeated parameter counts once (its first value).
 */
export function readQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const result = schema.safeParse(c.req.query());
  if (!result.success) {
    throw new ApiError(
      422,
      "VALIDATION_FAILED",
      "The query parameters do not have the expected shape",
      result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    );
  }
  return result.data;
}
