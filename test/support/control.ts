import { inject } from "vitest";

/**
 * The global setup's control endpoint (Node side): lets a workerd test stop and restart the
 * real Postgres, to see the Worker fail and recover.
 */
export async function controlStack(action: "postgres/stop" | "postgres/start"): Promise<void> {
  const { controlUrl } = inject("control");
  const res = await fetch(`${controlUrl}/${action}`, { method: "POST" });
  if (!res.ok) throw new Error(`control ${action} failed: ${res.status} ${await res.text()}`);
}
