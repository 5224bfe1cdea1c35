import { z } from "zod";
import { parseCidr } from "../net/cidr";
import { getService } from "../catalog/services";

/**
 * The one schema for Docket's configuration. Every value arrives as a string (Worker vars,
 * secrets, or process environment variables in the local stack) and is parsed here once;
 * the rest of the code trusts the typed result.
 *
 * Three kinds of key:
 * - secrets: required wherever they are used, and in production never a placeholder;
 * - development-only switches: stand-ins for third parties (payment simulator, SMTP sink,
 *   fixture portals, the local Postgres proxy). Production refuses to serve with any of them on;
 * - ordinary settings with defaults.
 */

export const APP_ENVS = ["development", "test", "production"] as const;
export type AppEnv = (typeof APP_ENVS)[number];

const flag = z
  .enum(["true", "false", "1", "0", "on", "off", "yes", "no", ""])
  .default("false")
  .transform((v) => v === "true" || v === "1" || v === "on" || v === "yes");

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

export const appConfigSchema = z.object({
  APP_ENV: z.enum(APP_ENVS),
  PUBLIC_BASE_URL: z.url(),

  // Secrets.
  DATABASE_URL: optionalString,
  ADMIN_TOKEN: optionalString,
  SMTP_PASSWORD: optionalString,

  // Outbound mail.
  MAIL_FROM: z.string().min(3),
  MAIL_SENDING_DOMAIN: z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$|^localhost$/i, "a bare domain name"),
  MAIL_REPLY_TO: optionalString,
  OPERATOR_EMAIL: z.email(),
  SMTP_HOST: z.string().min(1),
  SMTP_PORT: z.coerce.number().int().min(1).max(65535).default(587),
  SMTP_SECURITY: z.enum(["starttls", "tls", "none"]).default("starttls"),
  SMTP_USER: optionalString,
  SMTP_TIMEOUT_MS: positiveInt(30_000),

  // Limits and pacing.
  /** First retry delay of a failed queue message, doubled per attempt; 0 = the queue's own. */
  QUEUE_RETRY_BASE_SECONDS: z.coerce.number().int().min(0).max(3600).default(10),
  INBOUND_MAX_BYTES: positiveInt(10 * 1024 * 1024),
  HTTP_MAX_BODY_BYTES: positiveInt(1024 * 1024),

  // Deliverability (DESIGN.md, "Deliverability loop").
  /** Our sending networks, comma-separated CIDR ranges: DMARC source IPs inside are "ours". */
  SENDING_NETWORKS: z
    .string()
    .default("")
    .transform((v, ctx) => {
      const ranges = v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      for (const range of ranges) {
        try {
          parseCidr(range);
        } catch {
          ctx.addIssue({ code: "custom", message: `"${range}" is not a CIDR range` });
        }
      }
      return ranges;
    }),
  /** MTA instance or transport name → sending IP, as JSON ({"postfix-out01": "203.0.113.7"}). */
  MTA_INSTANCE_IPS: z
    .string()
    .default("{}")
    .transform((v, ctx) => {
      try {
        return z.record(z.string(), z.string()).parse(JSON.parse(v));
      } catch {
        ctx.addIssue({ code: "custom", message: "must be a JSON object of instance name to IP" });
        return z.NEVER;
      }
    }),
  /** Shared secret for POST /ingest/mta-log (HMAC-SHA256); the endpoint is off without it. */
  MTA_LOG_HMAC_SECRET: optionalString,
  /** Soft bounces to the same address before it is suppressed. */
  SOFT_BOUNCE_SUPPRESS_AFTER: positiveInt(3),
  /** DMARC report decompression limits (zip and gzip bombs). */
  DMARC_MAX_OUTPUT_BYTES: positiveInt(32 * 1024 * 1024),
  DMARC_MAX_RATIO: positiveInt(400),
  DMARC_MAX_ZIP_MEMBERS: positiveInt(20),

  // Alert rules: thresholds and channels. An alert is sent once per rule, subject and window.
  ALERT_DMARC_PASS_MIN: z.coerce.number().min(0).max(1).default(0.95),
  ALERT_SPOOF_MIN_MESSAGES: positiveInt(20),
  ALERT_REPUTATION_REJECT_RATE: z.coerce.number().min(0).max(1).default(0.1),
  ALERT_MICROSOFT_THROTTLE_RATE: z.coerce.number().min(0).max(1).default(0.7),
  ALERT_BOUNCE_RATE: z.coerce.number().min(0).max(1).default(0.05),
  ALERT_COMPLAINT_RATE: z.coerce.number().min(0).max(1).default(0.001),
  /** Below this many messages in a window, rate rules stay quiet (a 1-of-3 bounce is noise). */
  ALERT_MIN_SAMPLE: positiveInt(50),
  TELEGRAM_BOT_TOKEN: optionalString,
  TELEGRAM_CHAT_ID: optionalString,
  TELEGRAM_API_BASE: z.url().default("https://api.telegram.org"),
  ALERT_WEBHOOK_URL: optionalString,
  ALERT_WEBHOOK_FORMAT: z.enum(["slack", "generic"]).default("generic"),
  ALERT_EMAIL_TO: optionalString,

  // Commerce (Stripe).
  STRIPE_SECRET_KEY: optionalString,
  STRIPE_WEBHOOK_SECRET: optionalString,
  /** Signs the links customers use to see their orders and answer questions (HMAC-SHA256). */
  CUSTOMER_LINK_SECRET: optionalString,
  /** Signs admin API sessions (JWT HS256). */
  ADMIN_JWT_SECRET: optionalString,
  CUSTOMER_LINK_TTL_DAYS: positiveInt(30),
  /** How long a Stripe Checkout Session (and a discount reserved by it) stays open: 30 min–24 h. */
  CHECKOUT_SESSION_TTL_MINUTES: z.coerce.number().int().min(30).max(1440).default(60),
  /** Surcharges in basis points (1% = 100) on card and Klarna; ACH carries none by default. */
  SURCHARGE_CARD_BPS: z.coerce.number().int().min(0).max(1000).default(300),
  SURCHARGE_KLARNA_BPS: z.coerce.number().int().min(0).max(1500).default(600),
  SURCHARGE_ACH_BPS: z.coerce.number().int().min(0).max(1000).default(0),

  // The order machine (domain/orders/transition-table.ts).
  /**
   * Services whose approval gate passes by itself (comma-separated catalog slugs). Only services
   * the catalog marks `automatic_when_enabled` can be listed; the rest always wait for an admin.
   */
  AUTO_FILING_SERVICES: z
    .string()
    .default("")
    .transform((v, ctx) => {
      const slugs = v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      for (const slug of slugs) {
        const service = getService(slug);
        if (!service) ctx.addIssue({ code: "custom", message: `"${slug}" is not a service in the catalog` });
        else if (service.approval !== "automatic_when_enabled") {
          ctx.addIssue({ code: "custom", message: `${slug} always needs an admin's approval` });
        }
      }
      return slugs;
    }),
  /** Intake reminders: this many at the first interval (daily), then the later one (weekly), up to the maximum. */
  INTAKE_REMINDER_FIRST_COUNT: positiveInt(10),
  INTAKE_REMINDER_MAX: positiveInt(60),
  INTAKE_REMINDER_FIRST_INTERVAL_SECONDS: positiveInt(86_400),
  INTAKE_REMINDER_LATER_INTERVAL_SECONDS: positiveInt(604_800),
  /** A bundle customer is invited to monthly monitoring once, in this window after paying. */
  BUNDLE_INVITATION_AFTER_DAYS: positiveInt(21),
  BUNDLE_INVITATION_UNTIL_DAYS: positiveInt(120),

  // Outreach (domain/outreach/, DESIGN.md "Outreach").
  /** Signs the tracking, open and unsubscribe tokens of campaign mail (at least 32 characters). */
  TRACKING_LINK_SECRET: optionalString,
  /** The sender's postal address, shown in every campaign message's footer (CAN-SPAM, 15 U.S.C. 7704(a)(5)). */
  OUTREACH_POSTAL_ADDRESS: optionalString,
  /** Day 1 of the sending IPs' warm-up (YYYY-MM-DD, UTC). No audience is built without it. */
  OUTREACH_WARMUP_START: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()))
    .pipe(z.iso.date().optional()),
  /**
   * Per-operator daily caps along the warm-up: [[fromDay, cap], …] ascending, counted from the
   * day an operator is let in (day 1 for most, OUTREACH_BIG_OPERATOR_DAY for the big ones).
   */
  OUTREACH_RAMP: z
    .string()
    .default("[[1,50],[4,100],[8,200],[15,400],[22,800],[29,1500],[36,3000],[43,6000]]")
    .transform((v, ctx) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(v);
      } catch {
        ctx.addIssue({ code: "custom", message: "not JSON" });
        return z.NEVER;
      }
      const steps = z
        .array(z.tuple([z.number().int().positive(), z.number().int().nonnegative()]))
        .min(1)
        .safeParse(parsed);
      if (
        !steps.success ||
        steps.data[0]![0] !== 1 ||
        steps.data.some((s, i) => i > 0 && s[0] <= steps.data[i - 1]![0])
      ) {
        ctx.addIssue({ code: "custom", message: "must be [[1,cap],[day,cap],…] with ascending days" });
        return z.NEVER;
      }
      return steps.data;
    }),
  /** The warm-up day from which the big operators (mailbox providers, consumer ISPs) get mail. */
  OUTREACH_BIG_OPERATOR_DAY: positiveInt(30),
  /** Comma-separated operator labels held out until then; empty = domain/mail/mail-operators BIG_OPERATORS. */
  OUTREACH_BIG_OPERATORS: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  /** Daily cap on recipients at untagged domains; unset = the larger of the campaign's quota and 200. */
  OUTREACH_UNTAGGED_CAP: z.coerce.number().int().nonnegative().optional(),
  /** A prospect mailed by any campaign is not mailed again for this many days. */
  OUTREACH_COOL_OFF_DAYS: z.coerce.number().int().nonnegative().default(30),
  /** Catch-all addresses: "auto" (the gate decides), "on" or "off" (forced). */
  OUTREACH_CATCH_ALL: z.enum(["auto", "on", "off"]).default("auto"),
  OUTREACH_CATCH_ALL_MIN_DAY: positiveInt(21),
  OUTREACH_CATCH_ALL_MAX_BOUNCE_PCT: z.coerce.number().min(0).max(100).default(8),
  OUTREACH_CATCH_ALL_MIN_SENDS: positiveInt(300),
  /** MxThrottle: messages per minute per operator at full speed, and the cool-down after throttling. */
  OUTREACH_RATE_PER_MINUTE: positiveInt(120),
  OUTREACH_COOLDOWN_SECONDS: positiveInt(900),
  /** Send ids per campaign-send queue message. */
  OUTREACH_SEND_BATCH: z.coerce.number().int().min(1).max(500).default(100),
  /** SMTP sessions the campaign sender keeps open side by side per batch, each carrying many messages. */
  OUTREACH_SMTP_CONNECTIONS: z.coerce.number().int().min(1).max(32).default(4),
  /** A deferred campaign send is tried this many times in all. */
  OUTREACH_MAX_ATTEMPTS: positiveInt(4),
  /** A send left `sending` this long (the Worker died mid-send) is reconciled to `unknown`. */
  OUTREACH_RECONCILE_AFTER_MINUTES: positiveInt(30),
  /** DNS over HTTPS (RFC 8484, JSON form) for MX lookups. */
  DOH_ENDPOINT: z.url().default("https://cloudflare-dns.com/dns-query"),
  /**
   * Domains one run tags, and lookups in flight. A Worker invocation keeps at most 6 connections
   * open at once and has a subrequest budget (each domain is one or two lookups), so one run
   * stays well inside both; the backlog drains over several days, new domains first.
   */
  MX_TAG_DAILY_LIMIT: positiveInt(4_000),
  MX_TAG_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(6),

  // Development-only switches. Each names a stand-in for something real.
  /** The local Stripe stand-in (scripts/lib/fake-stripe) instead of api.stripe.com. */
  STRIPE_API_BASE: optionalString,
  NEON_WS_PROXY: optionalString,
  DEV_SMTP_SINK: flag,
  DEV_PAYMENT_SIMULATOR: flag,
  DEV_FIXTURE_PORTALS: flag,
  /** Lets tests and benchmarks move an OrderMachine's clock forward to fire its reminders. */
  DEV_CLOCK_CONTROL: flag,
});

export type AppConfig = z.infer<typeof appConfigSchema>;

/** Keys of the schema, in order: the local stack uses them to pass overrides through. */
export const APP_CONFIG_KEYS = Object.keys(appConfigSchema.shape) as (keyof AppConfig)[];

const SECRET_KEYS = [
  "DATABASE_URL",
  "ADMIN_TOKEN",
  "SMTP_PASSWORD",
  "STRIPE_SECRET_KEY",
  "STRIPE_WEBHOOK_SECRET",
  "CUSTOMER_LINK_SECRET",
  "ADMIN_JWT_SECRET",
  "TRACKING_LINK_SECRET",
] as const;
/** Secrets that may be absent (their feature is then off) but never a placeholder. */
const OPTIONAL_SECRET_KEYS = ["MTA_LOG_HMAC_SECRET", "TELEGRAM_BOT_TOKEN"] as const;

/** Development-only switches and the stand-in each one means, for the refusal message. */
const DEV_ONLY: { key: keyof AppConfig; what: string }[] = [
  { key: "DEV_PAYMENT_SIMULATOR", what: "the payment simulator" },
  { key: "DEV_SMTP_SINK", what: "the SMTP sink" },
  { key: "DEV_FIXTURE_PORTALS", what: "fixture agency portals" },
  { key: "DEV_CLOCK_CONTROL", what: "the order machines' test clock" },
  { key: "NEON_WS_PROXY", what: "the local Postgres WebSocket proxy" },
  { key: "STRIPE_API_BASE", what: "the local Stripe stand-in" },
];

// Values people leave in place of a real secret or setting. Matched case-insensitively
// against the whole value (or, for URLs and addresses, against the host).
const PLACEHOLDER_WORDS =
  /^(change[-_ ]?me|change[-_ ]?this.*|changeit|placeholder|replace[-_ ]?me|todo|tbd|xxx+|secret|password|dummy|fake|test|dev|none|null|undefined|<.*>|\$\{.*\}|your[-_ ].*)$/i;
const PLACEHOLDER_FRAGMENTS =
  /(change[-_ ]?this|change[-_ ]?me|placeholder|replace[-_ ]?me|your[-_]?(secret|token|password|key))/i;
// RFC 2606 reserves these names for documentation: a production URL or address on them is
// a setting nobody filled in.
const RESERVED_HOST = /(^|\.)(example\.(com|net|org)|example|invalid|test|localhost)$/i;

export function isPlaceholder(value: string): boolean {
  const v = value.trim();
  return v === "" || PLACEHOLDER_WORDS.test(v) || PLACEHOLDER_FRAGMENTS.test(v);
}

function hostOf(value: string): string | undefined {
  const at = value.match(/@([^>\s]+)>?\s*$/);
  if (at?.[1]) return at[1];
  try {
    return new URL(value).hostname;
  } catch {
    return /^[a-z0-9.-]+$/i.test(value) ? value : undefined;
  }
}

export type ConfigResult = { ok: true; config: AppConfig } | { ok: false; config?: AppConfig; problems: string[] };

/**
 * Parses raw string configuration. In production it also lists every reason to refuse
 * service: a missing or placeholder secret, a development-only switch turned on, or a
 * setting still pointing at a documentation domain. One problem per line, each naming its key
 * and never its value.
 */
export function loadAppConfig(raw: Record<string, unknown>): ConfigResult {
  const strings: Record<string, string | undefined> = {};
  for (const key of APP_CONFIG_KEYS) {
    const v = raw[key];
    strings[key] = typeof v === "string" ? v : v === undefined || v === null ? undefined : String(v);
  }
  const parsed = appConfigSchema.safeParse(strings);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((i) => `config ${i.path.join(".") || "(root)"}: ${i.message}`),
    };
  }
  const config = parsed.data;
  const problems: string[] = [];
  // AUTH needs both halves (RFC 4954); one without the other is a half-finished setting.
  if ((config.SMTP_USER === undefined) !== (config.SMTP_PASSWORD === undefined)) {
    problems.push("config SMTP_USER/SMTP_PASSWORD: set both or neither");
  }
  if (config.APP_ENV !== "production") {
    return problems.length === 0 ? { ok: true, config } : { ok: false, config, problems };
  }

  for (const key of SECRET_KEYS) {
    const value = config[key];
    if (value === undefined) problems.push(`config ${key}: required in production but not set`);
    else if (isPlaceholder(value)) problems.push(`config ${key}: still a placeholder`);
  }
  for (const key of OPTIONAL_SECRET_KEYS) {
    const value = config[key];
    if (value !== undefined && isPlaceholder(value)) problems.push(`config ${key}: still a placeholder`);
  }
  if (config.MTA_LOG_HMAC_SECRET !== undefined && config.MTA_LOG_HMAC_SECRET.length < 32) {
    problems.push("config MTA_LOG_HMAC_SECRET: shorter than 32 characters");
  }
  for (const key of ["CUSTOMER_LINK_SECRET", "ADMIN_JWT_SECRET", "TRACKING_LINK_SECRET"] as const) {
    const value = config[key];
    if (value !== undefined && value.length < 32) problems.push(`config ${key}: shorter than 32 characters`);
  }
  // A test-mode key in production takes no money; a live key anywhere else can.
  if (config.STRIPE_SECRET_KEY !== undefined && !/^(sk|rk)_live_/.test(config.STRIPE_SECRET_KEY)) {
    problems.push("config STRIPE_SECRET_KEY: not a live key (sk_live_… or rk_live_…)");
  }
  if (config.ADMIN_TOKEN !== undefined && config.ADMIN_TOKEN.length < 32) {
    problems.push("config ADMIN_TOKEN: shorter than 32 characters");
  }
  for (const { key, what } of DEV_ONLY) {
    if (config[key]) problems.push(`config ${key}: ${what} is development-only and must be off in production`);
  }
  if (config.SMTP_SECURITY === "none") {
    problems.push("config SMTP_SECURITY: plaintext SMTP is development-only; use starttls or tls");
  }
  for (const key of [
    "PUBLIC_BASE_URL",
    "MAIL_FROM",
    "MAIL_SENDING_DOMAIN",
    "MAIL_REPLY_TO",
    "OPERATOR_EMAIL",
    "SMTP_HOST",
  ] as const) {
    const value = config[key];
    if (value === undefined) continue;
    const host = hostOf(value);
    if (isPlaceholder(value) || (host !== undefined && RESERVED_HOST.test(host))) {
      problems.push(`config ${key}: still points at a placeholder or reserved domain`);
    }
  }
  if (config.OUTREACH_POSTAL_ADDRESS === undefined || isPlaceholder(config.OUTREACH_POSTAL_ADDRESS)) {
    problems.push("config OUTREACH_POSTAL_ADDRESS: campaign mail must show a real postal address (CAN-SPAM)");
  }
  if (!config.DOH_ENDPOINT.startsWith("https://")) {
    problems.push("config DOH_ENDPOINT: must be https in production (the local fixture resolver is development-only)");
  }
  if (!config.PUBLIC_BASE_URL.startsWith("https://")) {
    problems.push("config PUBLIC_BASE_URL: must be https in production");
  }
  return problems.length === 0 ? { ok: true, config } : { ok: false, config, problems };
}
