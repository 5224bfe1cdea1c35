import { exports } from "cloudflare:workers";
import { inject } from "vitest";

/**
 * The fake Stripe (scripts/lib/fake-stripe) from inside workerd. The Worker under test listens
 * on no port, so the fake cannot post webhooks to it: a test drives the fake (`/__sim/...`),
 * asks it for each resulting event signed exactly as Stripe signs it, and posts that to the
 * Worker's real /webhooks/stripe route.
 */
export const stripeFake = () => inject("stripe");

export interface SimEvent {
  id: string;
  type: string;
  object: string | null;
}

export async function sim<T = { events: SimEvent[] }>(path: string, body: unknown = {}): Promise<T> {
  const res = await fetch(`${stripeFake().url}/__sim/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`fake stripe ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Posts one recorded event to the Worker, signed by the fake; returns the Worker's response. */
export async function relayEvent(eventId: string): Promise<Response> {
  const { payload, signature } = await sim<{ payload: string; signature: string }>(`events/${eventId}/signed`);
  return await exports.default.fetch(
    new Request("http://docket.test/webhooks/stripe", {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": signature },
      body: payload,
    }),
  );
}

/** Runs a simulator action and relays every event it caused, in order. */
export async function simAndRelay(path: string, body: unknown = {}): Promise<SimEvent[]> {
  const { events } = await sim(path, body);
  for (const event of events) {
    const res = await relayEvent(event.id);
    if (res.status !== 200) throw new Error(`webhook ${event.type} answered ${res.status}: ${await res.text()}`);
  }
  return events;
}
