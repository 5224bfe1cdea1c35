/**
 * An alert as it is claimed (once per rule, subject and window) and sent to every channel:
 * what the rules produce, and what one-off alerts (a complaint) raise.
 */
export interface AlertMessage {
  rule: string;
  /** What it is about: an IP, an operator, an address, or "all". */
  subject: string;
  /** The window it is sent once per (a UTC day, or an event id for one-off alerts). */
  windowKey: string;
  /** One line. */
  title: string;
  /** What was measured, the threshold, and what to do. */
  body: string;
  metrics?: unknown;
}
