import { errorText } from "./alert-errors";

const HTTP_TIMEOUT_MS = 10_000;

/**
 * POSTs JSON and returns the response's text; throws on a network error, a timeout or a non-2xx
 * answer. The URL is never in the error: a Telegram URL carries the bot token.
 */
export async function postJson(url: string, body: unknown): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
  } catch (error) {
    // AbortSignal.timeout rejects with a DOMException named TimeoutError.
    const name = typeof error === "object" && error !== null && "name" in error ? String(error.name) : "";
    const message =
      name === "TimeoutError" ? `no answer within ${HTTP_TIMEOUT_MS} ms` : `request failed: ${errorText(error)}`;
    throw new Error(message, { cause: error });
  }
  const text = await res.text().catch(() => "");
  if (!res.ok) throw new Error(`HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}`);
  return text;
}
