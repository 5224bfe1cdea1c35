// Shapes the SMTP sink hands to the tests (through vitest's provide/inject). No Node imports:
// the workerd tests import these types too.

export interface ProvidedSink {
  host: string;
  port: number;
  httpPort: number;
  user: string;
  pass: string;
}

export type HostileBehaviour =
  | "silent"
  | "huge-line"
  | "endless-reply"
  | "garbage"
  | "drop-after-ehlo"
  | "starttls-injection"
  | "refuse-greeting"
  | "closing-at-rcpt";

export interface ProvidedHostile {
  host: string;
  /** One port per behaviour; see startHostileSmtpServer. */
  ports: Record<HostileBehaviour, number>;
  /** A port nothing listens on (connection refused). */
  closedPort: number;
}
