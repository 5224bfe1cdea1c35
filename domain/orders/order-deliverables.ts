/**
 * What an order has delivered, read from its event log: the documents (signed forms, generated
 * filings, certificates), the confirmation numbers, per cycle. The order page lists them and
 * the document route serves only these keys: a link can never reach another R2 object (an
 * evidence screenshot, another order's file) by editing the path.
 */

export interface Deliverable {
  label: string;
  r2Key: string;
  /** When it was recorded (the event's time). */
  at: Date;
}

export interface Deliverables {
  documents: Deliverable[];
  /** Confirmation numbers, oldest first (one per completed cycle at most). */
  confirmations: { confirmation: string; at: Date }[];
}

interface LogEvent {
  type: string;
  payload: unknown;
  occurredAt: Date;
}

const DOCUMENT_EVENTS = new Set(["filing_succeeded", "filed_manually", "document_generated"]);

export function deliverablesOf(events: readonly LogEvent[]): Deliverables {
  const documents: Deliverable[] = [];
  const confirmations: Deliverables["confirmations"] = [];
  const seen = new Set<string>();
  const add = (label: unknown, r2Key: unknown, at: Date) => {
    if (typeof label !== "string" || typeof r2Key !== "string" || seen.has(r2Key)) return;
    seen.add(r2Key);
    documents.push({ label, r2Key, at });
  };
  for (const e of events) {
    const p = (e.payload ?? {}) as Record<string, unknown>;
    if (e.type === "signature_received")
      add(`Signed ${String(p.document ?? "document").replace(/_/g, " ")}`, p.r2Key, e.occurredAt);
    if (DOCUMENT_EVENTS.has(e.type) && Array.isArray(p.documents)) {
      for (const d of p.documents as Record<string, unknown>[]) add(d.label, d.r2Key, e.occurredAt);
    }
    if (
      (e.type === "filing_succeeded" || e.type === "filed_manually") &&
      typeof p.confirmation === "string" &&
      p.confirmation
    ) {
      confirmations.push({ confirmation: p.confirmation, at: e.occurredAt });
    }
  }
  return { documents, confirmations };
}
