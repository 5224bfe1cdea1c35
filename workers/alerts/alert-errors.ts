/** An error as one line for the alert record: the message, capped. */
export function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.slice(0, 500) || "failed";
}
