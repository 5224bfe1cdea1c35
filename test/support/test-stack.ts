import type { ProvidedHostile, ProvidedSink } from "../../scripts/lib/smtp-sink-types";

/** Names and credentials shared by the global setup (Node) and the tests (workerd). */
export const TEMPLATE_DATABASE = "docket_template";
export const TEST_DATABASE = "docket_test";
export const SMTP_TEST_AUTH = { user: "docket", pass: "sink-password" } as const;

export interface ProvidedPg {
  port: number;
  adminUrl: string;
  url: string;
  wsProxy: string;
}

export type ProvidedSmtp = ProvidedSink;

export type ProvidedSmtpHostile = ProvidedHostile;

declare module "vitest" {
  export interface ProvidedContext {
    pg: ProvidedPg;
    smtp: ProvidedSmtp;
    control: { controlUrl: string };
    smtpStarttls: ProvidedSmtp;
    smtpStarttlsWrongName: ProvidedSmtp;
    smtpImplicitTls: ProvidedSmtp;
    smtpHostile: ProvidedSmtpHostile;
    /** The HTTP capture server (scripts/lib/http-capture.ts): GET/DELETE {url}/__captured. */
    capture: { url: string };
  }
}
