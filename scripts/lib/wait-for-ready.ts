/**
 * Waits until `url` answers 200, polling. Stops early when `gaveUp()` says the server's
 * process is gone, or when `signal` aborts (Ctrl-C during start). The error says what the
 * last answer was, since a deep health check names its failing dependency.
 */
export async function waitForHttpOk(
  url: string,
  options: { timeoutMs: number; gaveUp?: () => string | undefined; signal?: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last = "no answer yet";
  for (;;) {
    options.signal?.throwIfAborted();
    const reason = options.gaveUp?.();
    if (reason) throw new Error(`${reason} (last answer from ${url}: ${last})`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      const body = await res.text();
      if (res.status === 200) return;
      last = `${res.status} ${body.slice(0, 600)}`;
    } catch (error) {
      last =
        error instanceof Error ? `${error.message}${error.cause ? ` (${String(error.cause)})` : ""}` : String(error);
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `${url} did not answer 200 within ${Math.round(options.timeoutMs / 1000)} s; last answer: ${last}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
