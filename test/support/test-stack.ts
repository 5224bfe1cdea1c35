import type { ProvidedHostile, ProvidedSink } from "../../scripts/lib/smtp-sink-types";

/** Names and credentials shared by the global setup (Node) and the tests (workerd). */
export const TEMPLATE_DATABASE = "docket_template";
export const TEST_DATABASE = "docket_test";
export const SMTP_TEST_AUTH = { user: "docket", pass: "sink-password" } as const;
/** The fake Stripe's credentials in tests: the only key its API accepts, the secret it signs webhooks with. */
export const STRIPE_TEST = {
  secretKey: "sk_test_docket_local_0000000000000000",
  webhookSecret: "whsec_test_docket_0000000000000000",
} as const;

export interface ProvidedStripe {
  /** STRIPE_API_BASE for the Worker; also the stand-in pages and the simulator (`/__sim`). */
  url: string;
  secretKey: string;
  webhookSecret: string;
}

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
    /** The fake Stripe (scripts/lib/fake-stripe). */
    stripe: ProvidedStripe;
    /** The local DNS-over-HTTPS resolver (scripts/lib/doh-resolver.ts): `url` is the dns-query endpoint. */
    doh: { url: string };
  }
}
