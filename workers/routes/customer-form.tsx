import type { Context } from "hono";
import type { JSX } from "hono/jsx/jsx-runtime";
import { LinkSecretMissingError } from "../../domain/auth/signed-link";
import { MessagePage } from "../../web/pages/message-page";
import type { AppEnv } from "../app-env";
import { render } from "./order-pages";

/**
 * What every customer page that takes a form POST shares: the same-origin check and the form
 * reader. The pages carry no cookie (the signed token is the credential), but a cross-site form
 * could still replay a token it learned, so a POST from another site is refused before
 * anything is read.
 */

type PageContext = Context<AppEnv>;

/** Same-origin POSTs only: the Origin header, when sent, must be ours (and Fetch Metadata must not say cross-site). */
export function crossSite(c: PageContext): boolean {
  const origin = c.req.header("origin");
  if (origin !== undefined) {
    const ours = new Set([new URL(c.req.url).origin, new URL(c.get("config").PUBLIC_BASE_URL).origin]);
    if (!ours.has(origin)) return true;
  }
  return c.req.header("sec-fetch-site") === "cross-site";
}

/** The 403 page for a POST that did not come from our own pages. */
export function crossSiteRefused(c: PageContext) {
  return render(
    c,
    <MessagePage title="This form must be sent from our site">
      <p>For your security we only accept this form from our own pages. Open the link from our e-mail and try again.</p>
    </MessagePage>,
    403,
  );
}

/** The string fields of a urlencoded or multipart form; anything else (JSON, files) reads as empty. */
export async function formFields(c: PageContext): Promise<Record<string, string>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type)) return {};
  const body = await c.req.parseBody();
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === "string") fields[k] = v;
  return fields;
}

/**
 * The error handler of a customer page: customer links switched off (no secret) → 503 saying
 * so; anything else → logged with the request id and a 500 page that says what did not happen
 * (`notDone`, e.g. "Nothing was charged.") and the reference to quote.
 */
export function customerPageError(options: { unavailableTitle: string; notDone: string }) {
  const show = (c: PageContext, node: JSX.Element, status: 500 | 503) => render(c, node, status);
  return async (error: Error, c: PageContext): Promise<Response> => {
    if (error instanceof LinkSecretMissingError) {
      return await show(
        c,
        <MessagePage title={options.unavailableTitle}>
          <p>Customer links are switched off on this server. Please write to us and we will help.</p>
        </MessagePage>,
        503,
      );
    }
    const requestId = c.get("requestId") ?? "";
    console.error(
      JSON.stringify({ level: "error", requestId, route: c.req.path, error: String(error), stack: error.stack }),
    );
    return await show(
      c,
      <MessagePage title="Something went wrong on our side">
        <p>
          {options.notDone} Please try again in a minute; if it keeps happening, write to us and quote reference{" "}
          {requestId}.
        </p>
      </MessagePage>,
      500,
    );
  };
}
