/**
 * Errors in Stripe's shape and with Stripe's status codes
 * (https://docs.stripe.com/api/errors): `{ error: { type, code?, message, param?, doc_url? } }`,
 * 400 for a bad request, 401 for a missing or wrong key, 404 for an unknown object, 409 for a
 * conflicting concurrent request. The Stripe SDK turns these into its typed errors
 * (StripeInvalidRequestError, StripeAuthenticationError, StripeIdempotencyError…) by status
 * and type, so the platform's error handling runs the production path.
 */

export type StripeErrorType =
  "api_error" | "card_error" | "idempotency_error" | "invalid_request_error" | "rate_limit_error";

export interface StripeErrorBody {
  error: {
    type: StripeErrorType;
    message: string;
    code?: string;
    param?: string;
    decline_code?: string;
    doc_url?: string;
  };
}

export class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: StripeErrorType,
    message: string,
    readonly detail: { code?: string; param?: string; declineCode?: string } = {},
  ) {
    super(message);
    this.name = "StripeApiError";
  }

  body(): StripeErrorBody {
    const { code, param, declineCode } = this.detail;
    return {
      error: {
        type: this.type,
        message: this.message,
        ...(code ? { code, doc_url: `https://stripe.com/docs/error-codes/${code.replaceAll("_", "-")}` } : {}),
        ...(param ? { param } : {}),
        ...(declineCode ? { decline_code: declineCode } : {}),
      },
    };
  }
}

export function invalidRequest(message: string, detail: { code?: string; param?: string } = {}): StripeApiError {
  return new StripeApiError(400, "invalid_request_error", message, detail);
}

export function missingParam(param: string): StripeApiError {
  return invalidRequest(`Missing required param: ${param}.`, { code: "parameter_missing", param });
}

export function unknownParam(param: string): StripeApiError {
  return invalidRequest(`Received unknown parameter: ${param}`, { code: "parameter_unknown", param });
}

/** Stripe words these "No such customer: 'cus_…'" and answers 404 with code resource_missing. */
export function noSuch(what: string, id: string, param = "id", status = 404): StripeApiError {
  return new StripeApiError(status, "invalid_request_error", `No such ${what}: '${id}'`, {
    code: "resource_missing",
    param,
  });
}

/** A parameter the fake knows Stripe accepts but does not implement: said plainly, never ignored. */
export function unsupported(param: string, what: string): StripeApiError {
  return invalidRequest(`The fake Stripe API does not support ${what} (${param}).`, { param });
}
