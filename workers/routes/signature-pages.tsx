import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { withDb } from "../../db/client";
import {
  eventsOf,
  findOrderWithCustomer,
  type EventView,
  type OrderWithCustomer,
} from "../../db/government-fee-orders";
import { ORDER_NUMBER } from "../../db/order-numbers";
import type { ApplyResult } from "../../durable-objects/order-machine";
import { linkSecret, orderViewLink, verifyLinkToken } from "../../domain/auth/signed-link";
import { applicableGates } from "../../domain/catalog/intake";
import type { ServiceDefinition, SignatureGate } from "../../domain/catalog/service-definition";
import { getService } from "../../domain/catalog/services";
import {
  renderSignatureDocument,
  SIGNATURE_CONSENT_TEXT,
  SIGNER_LABELS,
  signatureParty,
} from "../../domain/documents/signature-document";
import {
  checkSignaturePng,
  sha256Hex,
  SIGNATURE_PNG_MAX_BYTES,
  SIGNER_NAME_MAX,
  SignatureStampError,
  stampSignature,
} from "../../domain/documents/stamp-signature";
import { EVENT_KEYS, LIFECYCLE_EVENT_PAYLOADS, type LifecyclePayload } from "../../domain/orders/order-events";
import { isOrderStatus, STATUS_LABELS } from "../../domain/orders/order-status";
import { MessagePage } from "../../web/pages/message-page";
import {
  SIGNATURE_PAD_SCRIPT,
  SignaturePage,
  SignedPage,
  type SignatureField,
  type SignaturePageProps,
} from "../../web/pages/signature-page";
import type { AppEnv } from "../app-env";
import { crossSite, customerPageError } from "./customer-form";
import { refused, render } from "./order-pages";

/**
 * The signing page of a signature gate (OrderMachine issue, item 5), reached only through the
 * signed, expiring link the machine e-mails (purpose "sign", subject the order number):
 *
 *   GET  /order/:number/sign?token=…               the document, the consent, the form
 *   GET  /order/:number/sign/document.pdf?token=…  the unsigned PDF, rendered on the fly
 *   POST /order/:number/sign?token=…               sign: stamp, store in R2, tell the machine
 *
 * The unsigned PDF depends only on the order (its intake and the time it started waiting for
 * the signature), so the copy the customer reads and the copy stamped are the same bytes, and
 * the SHA-256 the signature certificate records can be checked against a fresh rendering.
 *
 * A forged, expired or foreign link is a 403 and changes nothing. An invalid form is a 422 and
 * stores nothing. A signature is one event whatever the number of submits: its idempotency key
 * is the document (EVENT_KEYS.signature), and a page opened after signing says it is signed.
 * Mount before the other /order routes: their `/:number` page and header middleware would
 * otherwise answer first.
 */

export const signatureRoutes = new Hono<AppEnv>();

type PageContext = Context<AppEnv>;

/** A drawn signature (≤ 200 KB PNG) as a base64 data URL in a multipart form, with room for the rest. */
export const SIGNATURE_FORM_MAX_BYTES = 300 * 1024;
const DATA_URL_PREFIX = "data:image/png;base64,";
const DATA_URL_MAX = DATA_URL_PREFIX.length + Math.ceil(SIGNATURE_PNG_MAX_BYTES / 3) * 4;

// ---------------------------------------------------------------------------------------------
// Headers

let scriptHash: Promise<string> | undefined;

/** 'sha256-…' of the pad script (CSP Level 3 hash-source): computed once per isolate. */
function padScriptHash(): Promise<string> {
  scriptHash ??= crypto.subtle
    .digest("SHA-256", new TextEncoder().encode(SIGNATURE_PAD_SCRIPT))
    .then((d) => `'sha256-${btoa(String.fromCharCode(...new Uint8Array(d)))}'`);
  return scriptHash;
}

/**
 * As customerPageHeaders (order-pages.tsx), plus exactly what this page needs: its one inline
 * script by hash, and forms posted only to us. The PDF gets no CSP: browsers' PDF viewers are
 * not pages of ours and some refuse to render under one.
 */
// Only these pages: the sub-app is mounted on /order ahead of the other order pages, whose
// headers must stay theirs.
signatureRoutes.use("/:number/sign/*", async (c, next) => {
  await next();
  c.header("Cache-Control", "private, no-store");
  c.header("Referrer-Policy", "no-referrer");
  c.header("X-Content-Type-Options", "nosniff");
  c.header("X-Frame-Options", "DENY");
  if (c.res.headers.get("content-type")?.startsWith("application/pdf")) return;
  c.header(
    "Content-Security-Policy",
    `default-src 'none'; script-src ${await padScriptHash()}; style-src 'unsafe-inline'; img-src 'self'; ` +
      "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  );
});

signatureRoutes.onError(
  customerPageError({
    unavailableTitle: "Signing is unavailable",
    notDone:
      "Your signature may not have been recorded: open the link from our e-mail again, it will say whether the document is signed.",
  }),
);

// ---------------------------------------------------------------------------------------------
// The link and the order

const tokenParam = z.string().min(1).max(512);

/** The token must be for "sign" and this order; anything else is the 403 page. */
async function verifySignLink(
  c: PageContext,
): Promise<{ ok: true; number: string } | { ok: false; response: Promise<Response> }> {
  const number = c.req.param("number") ?? "";
  const safeNumber = ORDER_NUMBER.test(number) ? number : undefined;
  const secret = linkSecret(c.get("config"));
  const raw = tokenParam.safeParse(c.req.query("token"));
  if (!raw.success || !safeNumber) return { ok: false, response: refused(c, "invalid", safeNumber) };
  const check = await verifyLinkToken(secret, raw.data, { purpose: "sign", subject: safeNumber });
  if (!check.ok)
    return { ok: false, response: refused(c, check.reason === "expired" ? "expired" : "invalid", safeNumber) };
  return { ok: true, number: safeNumber };
}

interface Signable {
  found: OrderWithCustomer;
  service: ServiceDefinition;
  gate: SignatureGate;
  intake: Record<string, unknown>;
  preparedAt: Date;
}

type Loaded =
  | { kind: "signable"; signable: Signable }
  | { kind: "signed"; found: OrderWithCustomer; service: ServiceDefinition; gate: SignatureGate; signedAt?: Date }
  | { kind: "not_found" }
  | { kind: "not_needed"; found: OrderWithCustomer }
  | { kind: "wrong_status"; found: OrderWithCustomer; status: string };

function signatureEvent(events: readonly EventView[], document: string): EventView | undefined {
  return events.findLast(
    (e) =>
      e.type === "signature_received" &&
      typeof e.payload === "object" &&
      e.payload !== null &&
      (e.payload as { document?: unknown }).document === document,
  );
}

/**
 * When the order started waiting for this signature: the date the document carries. Taken from
 * the history, not the clock, so every rendering of it is the same PDF.
 */
function preparedAtOf(found: OrderWithCustomer, events: readonly EventView[]): Date {
  const entered = events.findLast((e) => e.toStatus === "awaiting_signature" && e.fromStatus !== "awaiting_signature");
  return entered?.occurredAt ?? found.order.createdAt;
}

async function loadOrder(c: PageContext, number: string): Promise<Loaded> {
  const { found, events } = await withDb(
    c.get("config"),
    async (db) => {
      const found = await findOrderWithCustomer(db, number);
      return { found, events: found ? await eventsOf(db, found.order.id) : [] };
    },
    c.executionCtx,
  );
  if (!found) return { kind: "not_found" };
  const service = found.order.parentOrderId === null ? getService(found.order.serviceSlug) : undefined;
  const intake = isRecord(found.order.intake) ? found.order.intake : {};
  const gate = service ? applicableGates(service, intake).signature : null;
  if (!service || !gate) return { kind: "not_needed", found };
  const signed = signatureEvent(events, gate.document);
  if (signed) return { kind: "signed", found, service, gate, signedAt: signed.occurredAt };
  if (found.order.status !== "awaiting_signature") return { kind: "wrong_status", found, status: found.order.status };
  return { kind: "signable", signable: { found, service, gate, intake, preparedAt: preparedAtOf(found, events) } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function statusLabel(status: string): string {
  return isOrderStatus(status) ? STATUS_LABELS[status] : status.replace(/_/g, " ");
}

/** Every outcome but "signable" as its page. */
async function notSignablePage(c: PageContext, number: string, loaded: Exclude<Loaded, { kind: "signable" }>) {
  switch (loaded.kind) {
    case "not_found":
      return render(
        c,
        <MessagePage title="We cannot find this order">
          <p>There is no order {number} any more. If you think this is a mistake, reply to our e-mail.</p>
        </MessagePage>,
        404,
      );
    case "signed":
      return render(
        c,
        <SignedPage
          already
          orderNumber={number}
          serviceName={loaded.service.displayName}
          documentTitle={loaded.gate.title}
          orderUrl={await orderViewLink(c.get("config"), { number })}
          {...(loaded.signedAt ? { signedAt: loaded.signedAt } : {})}
        />,
      );
    case "not_needed":
      return render(
        c,
        <MessagePage title="No signature is needed">
          <p>
            Order {number} does not need a signature from you.{" "}
            <a href={await orderViewLink(c.get("config"), { number })}>See the order</a>.
          </p>
        </MessagePage>,
        409,
      );
    case "wrong_status":
      return render(
        c,
        <MessagePage title="This order is not waiting for a signature">
          <p>
            Order {number} is at "{statusLabel(loaded.status)}", so there is nothing to sign now. If we need your
            signature later, we will e-mail you a new link.{" "}
            <a href={await orderViewLink(c.get("config"), { number })}>See the order</a>.
          </p>
        </MessagePage>,
        409,
      );
  }
}

function renderUnsigned(s: Signable): Promise<Uint8Array> {
  return renderSignatureDocument({
    gate: s.gate,
    service: s.service,
    orderNumber: s.found.order.number,
    intake: s.intake,
    preparedAt: s.preparedAt,
    ...(s.found.customer.name ? { customerName: s.found.customer.name } : {}),
  });
}

const DOCUMENT_KINDS: Record<SignatureGate["document"], string> = {
  power_of_attorney: "Power of attorney",
  officer_certification: "Certification",
  authorization_letter: "Letter of authorization",
};

function signPath(number: string, token: string, suffix = ""): string {
  return `/order/${encodeURIComponent(number)}/sign${suffix}?token=${encodeURIComponent(token)}`;
}

function newNonce(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function pageProps(c: PageContext, s: Signable): SignaturePageProps {
  const number = s.found.order.number;
  const token = c.req.query("token") ?? "";
  const party = signatureParty(s.intake, s.found.customer.name ?? undefined);
  return {
    orderNumber: number,
    serviceName: s.service.displayName,
    documentTitle: s.gate.title,
    documentKind: DOCUMENT_KINDS[s.gate.document],
    basis: `Why: ${s.gate.basis.trim().replace(/\.$/, "")}.`,
    signer: `${SIGNER_LABELS[s.gate.signer]} of ${party.company}`,
    pdfUrl: signPath(number, token, "/document.pdf"),
    formAction: signPath(number, token),
    consentText: SIGNATURE_CONSENT_TEXT,
    formNonce: newNonce(),
  };
}

// ---------------------------------------------------------------------------------------------
// GET the page and the PDF

signatureRoutes.get("/:number/sign", async (c) => {
  const link = await verifySignLink(c);
  if (!link.ok) return link.response;
  const loaded = await loadOrder(c, link.number);
  if (loaded.kind !== "signable") return notSignablePage(c, link.number, loaded);
  return render(c, <SignaturePage {...pageProps(c, loaded.signable)} />);
});

signatureRoutes.get("/:number/sign/document.pdf", async (c) => {
  const link = await verifySignLink(c);
  if (!link.ok) return link.response;
  const loaded = await loadOrder(c, link.number);
  if (loaded.kind !== "signable") return notSignablePage(c, link.number, loaded);
  const pdf = await renderUnsigned(loaded.signable);
  return c.body(pdf as Uint8Array<ArrayBuffer>, 200, {
    "Content-Type": "application/pdf",
    "Content-Disposition": `inline; filename="${loaded.signable.gate.document}-${link.number}.pdf"`,
  });
});

// ---------------------------------------------------------------------------------------------
// POST: sign

const ONE_LINE = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$/u;

const signForm = z.object({
  signerName: z
    .string({ error: "Please type your full name." })
    .trim()
    .min(1, "Please type your full name.")
    .max(SIGNER_NAME_MAX, `Please keep your name under ${SIGNER_NAME_MAX} characters.`)
    .regex(ONE_LINE, "Please type your name on one line, without special characters."),
  method: z.enum(["typed", "drawn"], { error: "Please choose whether to type or draw your signature." }),
  consent: z.enum(["yes", "on"], { error: "Please tick the box to agree to sign electronically." }),
  drawn: z.string().max(DATA_URL_MAX, "The drawing is too large; please clear it and sign again.").optional(),
  nonce: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .optional()
    .catch(undefined),
});

type FormResult =
  | { ok: true; signerName: string; method: "typed" | "drawn"; png?: Uint8Array; nonce?: string }
  | { ok: false; errors: Partial<Record<SignatureField, string>>; values: SignaturePageProps["values"] };

/** A drawn signature as PNG bytes, or the message the form shows. */
function drawnPng(dataUrl: string | undefined): { png: Uint8Array } | { error: string } {
  if (!dataUrl || dataUrl === "") return { error: "Please draw your signature in the box, or choose to type it." };
  if (!dataUrl.startsWith(DATA_URL_PREFIX))
    return { error: "The drawing did not arrive as an image; please sign again." };
  let bytes: Uint8Array;
  try {
    const binary = atob(dataUrl.slice(DATA_URL_PREFIX.length));
    bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  } catch {
    return { error: "The drawing did not arrive as an image; please sign again." };
  }
  try {
    checkSignaturePng(bytes);
  } catch (error) {
    if (!(error instanceof SignatureStampError)) throw error;
    return {
      error:
        error.code === "not_png"
          ? "The drawing did not arrive as an image; please sign again."
          : "The drawing is too large; please clear it and sign again.",
    };
  }
  return { png: bytes };
}

function readForm(fields: Record<string, string>): FormResult {
  const parsed = signForm.safeParse(fields);
  const values: SignaturePageProps["values"] = {
    signerName: (fields.signerName ?? "").slice(0, SIGNER_NAME_MAX),
    ...(fields.method === "typed" || fields.method === "drawn" ? { method: fields.method } : {}),
    consent: fields.consent === "yes" || fields.consent === "on",
  };
  const errors: Partial<Record<SignatureField, string>> = {};
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = String(issue.path[0]) as SignatureField;
      errors[field] ??= issue.message;
    }
    return { ok: false, errors, values };
  }
  const form = parsed.data;
  if (form.method === "drawn") {
    const drawn = drawnPng(form.drawn);
    if ("error" in drawn) return { ok: false, errors: { drawn: drawn.error }, values };
    return {
      ok: true,
      signerName: form.signerName,
      method: "drawn",
      png: drawn.png,
      ...(form.nonce ? { nonce: form.nonce } : {}),
    };
  }
  return { ok: true, signerName: form.signerName, method: "typed", ...(form.nonce ? { nonce: form.nonce } : {}) };
}

async function formFields(c: PageContext): Promise<Record<string, string>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type)) return {};
  const body = await c.req.parseBody();
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === "string") fields[k] = v;
  return fields;
}

function log(level: "info" | "warn" | "error", event: string, fields: Record<string, unknown>): void {
  console[level === "info" ? "log" : level](JSON.stringify({ level, event, ...fields }));
}

signatureRoutes.post(
  "/:number/sign",
  bodyLimit({
    maxSize: SIGNATURE_FORM_MAX_BYTES,
    // A constant page: nothing from the request is in it.
    onError: async (c) =>
      c.html(
        `<!doctype html>\n${await (
          <MessagePage title="This form is too large">
            <p>
              We accept up to {Math.round(SIGNATURE_FORM_MAX_BYTES / 1024)} KB. Please clear the drawing and sign again,
              or sign with your typed name. Nothing was signed.
            </p>
          </MessagePage>
        ).toString()}`,
        413,
      ),
  }),
  async (c) => {
    const config = c.get("config");
    if (crossSite(c)) {
      return render(
        c,
        <MessagePage title="This form must be sent from our site">
          <p>
            For your security we only accept this form from our own pages. Open the link from our e-mail and try again.
          </p>
        </MessagePage>,
        403,
      );
    }
    const link = await verifySignLink(c);
    if (!link.ok) return link.response;
    const fields = await formFields(c);
    const loaded = await loadOrder(c, link.number);
    if (loaded.kind !== "signable") return notSignablePage(c, link.number, loaded);
    const s = loaded.signable;

    const form = readForm(fields);
    if (!form.ok) {
      return render(c, <SignaturePage {...pageProps(c, s)} values={form.values} errors={form.errors} />, 422);
    }

    const number = s.found.order.number;
    const unsigned = await renderUnsigned(s);
    const unsignedSha256 = await sha256Hex(unsigned);
    const signedAt = new Date();
    const ip = (c.req.header("cf-connecting-ip") ?? "").trim().slice(0, 100);
    const userAgent = (c.req.header("user-agent") ?? "").trim().slice(0, 1000);
    let stamped: Uint8Array;
    try {
      stamped = await stampSignature(unsigned, {
        signerName: form.signerName,
        method: form.method,
        ...(form.png ? { drawnPng: form.png } : {}),
        consentText: SIGNATURE_CONSENT_TEXT,
        signedAt,
        ip,
        userAgent,
        orderNumber: number,
        documentSha256: unsignedSha256,
      });
    } catch (error) {
      // A PNG whose header passed but whose image data does not decode: the customer's input.
      if (!(error instanceof SignatureStampError) || error.code !== "not_png") throw error;
      return render(
        c,
        <SignaturePage
          {...pageProps(c, s)}
          values={{ signerName: form.signerName, method: "drawn", consent: true }}
          errors={{ drawn: "The drawing did not arrive as an image; please sign again." }}
        />,
        422,
      );
    }
    const sha256 = await sha256Hex(stamped);
    const r2Key = `orders/${number}/signatures/${s.gate.document}-${sha256.slice(0, 12)}.pdf`;
    const payload: LifecyclePayload<"signature_received"> = LIFECYCLE_EVENT_PAYLOADS.signature_received.parse({
      document: s.gate.document,
      r2Key,
      sha256,
      signerName: form.signerName,
      method: form.method,
      ip,
      userAgent,
      signedAt: signedAt.toISOString(),
    });

    // Stored before the event: the event points at it, so it must exist when the event does.
    await c.env.FILES.put(r2Key, stamped, {
      sha256,
      httpMetadata: {
        contentType: "application/pdf",
        contentDisposition: `attachment; filename="${s.gate.document}-${number}-signed.pdf"`,
      },
      customMetadata: {
        orderNumber: number,
        document: s.gate.document,
        method: form.method,
        signedAt: payload.signedAt,
        unsignedSha256,
        ...(form.nonce ? { formNonce: form.nonce } : {}),
      },
    });

    const machine = c.env.ORDER_MACHINE.get(c.env.ORDER_MACHINE.idFromName(number));
    const result = (await machine.apply(number, {
      type: "signature_received",
      key: EVENT_KEYS.signature(s.gate.document),
      at: payload.signedAt,
      payload,
    })) as ApplyResult;

    if (result.outcome === "rejected") {
      // Nothing refers to the stored copy: remove it so R2 holds only signatures of record.
      await c.env.FILES.delete(r2Key);
      log("warn", "signature_rejected", { order: number, code: result.code, status: result.status });
      return render(
        c,
        <MessagePage title="We could not record your signature">
          <p>
            Order {number} is at "{statusLabel(result.status)}", which does not take a signature now, so nothing was
            signed. If we still need your signature, we will e-mail you a new link.{" "}
            <a href={await orderViewLink(config, { number })}>See the order</a>.
          </p>
        </MessagePage>,
        409,
      );
    }
    if (result.outcome === "duplicate") {
      // Signed twice at once (two tabs): the first signature is the one of record.
      c.executionCtx.waitUntil(dropUnrecorded(c, number, s.gate.document, r2Key));
    }
    log("info", "signature_received", { order: number, document: s.gate.document, outcome: result.outcome, r2Key });
    return render(
      c,
      <SignedPage
        already={result.outcome === "duplicate"}
        orderNumber={number}
        serviceName={s.service.displayName}
        documentTitle={s.gate.title}
        orderUrl={await orderViewLink(config, { number })}
        {...(result.outcome === "applied" ? { signedAt } : {})}
      />,
    );
  },
);

/** Deletes our copy when the order's recorded signature is another one. */
async function dropUnrecorded(c: PageContext, number: string, document: string, ours: string): Promise<void> {
  try {
    const events = await withDb(c.get("config"), async (db) => {
      const found = await findOrderWithCustomer(db, number);
      return found ? await eventsOf(db, found.order.id) : [];
    });
    const recorded = (signatureEvent(events, document)?.payload as { r2Key?: unknown } | undefined)?.r2Key;
    if (typeof recorded === "string" && recorded !== ours) await c.env.FILES.delete(ours);
  } catch (error) {
    log("warn", "signature_duplicate_cleanup_failed", { order: number, r2Key: ours, error: String(error) });
  }
}
