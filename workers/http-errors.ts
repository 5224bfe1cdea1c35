import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";

/**
 * Every error the HTTP edge answers has one shape: `{ error: CODE, message, details?,
 * requestId }`. Handlers throw ApiError; the app's onError turns it into a response.
 */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export function errorBody(code: string, message: string, requestId: string, details?: unknown) {
  return details === undefined ? { error: code, message, requestId } : { error: code, message, details, requestId };
}

/**
 * Reads a JSON body and validates it: 415 when it is not JSON, 400 with the parser's words
 * when it does not parse, 422 with each failing field when it does not fit the schema.
 */
export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/(.+\+)?json\b/i.test(type)) {
    throw new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json");
  }
  const text = await c.req.text();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, "MALFORMED_JSON", `The body is not valid JSON: ${(error as Error).message}`);
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ApiError(
      422,
      "VALIDATION_FAILED",
      "The body does not have the expected shape",
      result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    );
  }
  return result.data;
}
