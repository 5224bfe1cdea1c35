import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { PDFDocument } from "pdf-lib";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureCustomer } from "../../db/customers";
import { orderEvents, orders } from "../../db/schema";
import { signLinkToken } from "../../domain/auth/signed-link";
import { getService } from "../../domain/catalog/services";
import { readSignatureBlock, SIGNATURE_CONSENT_TEXT } from "../../domain/documents/signature-document";
import { sha256Hex } from "../../domain/documents/stamp-signature";
import { createApp } from "../../workers/app";
import { appConfig } from "../../workers/env";
import { testEnv, withTestDb } from "../support/db";
import { INTAKE_EXAMPLES } from "../support/intake-examples";
import { buyAndPay, linkIn, mailFor, orderEventsOf, waitForOrder, waitForStatus } from "../support/orders";
import { waitFor } from "../support/wait-for";
import { SIGNATURE_PAD_SCRIPT } from "../../web/pages/signature-page";

/**
 * The signing page of a signature gate against the real Postgres and R2. Statuses are set
 * directly where a test only reads them (as the OrderMachine's mirror would): refused links,
 * the page, the PDF, invalid forms. Signing itself drives a real OrderMachine: the order is
 * bought and paid through checkout, reaches awaiting_signature on its own, and is signed here.
 *
 * The app is the real one (workers/app.ts), where signatureRoutes is mounted before the other
 * /order routes; the CSP test fails if it is mounted after them.
 */

const app = createApp();
const config = appConfig(testEnv);
const SECRET = config.CUSTOMER_LINK_SECRET!;
const inAWeek = () => new Date(Date.now() + 7 * 86_400_000);

async function call(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(request, testEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}
const get = (path: string) => call(new Request(`http://docket.test${path}`));

function post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  const body = new FormData();
  for (const [k, v] of Object.entries(fields)) body.set(k, v);
  return call(
    new Request(`http://docket.test${path}`, {
      method: "POST",
      headers: { origin: "http://docket.test", ...headers },
      body,
    }),
  );
}

const signToken = (number: string, expiresAt = inAWeek(), purpose: "sign" | "order-view" | "intake" = "sign") =>
  signLinkToken(SECRET, { purpose, subject: number, expiresAt });
const signPath = (number: string, token: string, suffix = "") =>
  `/order/${number}/sign${suffix}?token=${encodeURIComponent(token)}`;

const SIGN = "CO-2026-000701";
const FILED = "CO-2026-000702";
const NO_GATE = "CO-2026-000703";
const HOSTILE = `Reyes <script>alert("x")</script> Freight & Sons`;
const ENTERED_AT = new Date("2026-05-01T09:30:00Z");
const ids: Record<string, number> = {};

/** A valid 1x1 RGBA PNG. */
const TINY_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

async function stored(number: string) {
  return (await testEnv.FILES.list({ prefix: `orders/${number}/` })).objects;
}

async function signatureEvents(number: string) {
  return (await orderEventsOf(number)).filter((e) => e.type === "signature_received");
}

beforeAll(async () => {
  await withTestDb(async (db) => {
    const customer = await ensureCustomer(db, { email: "signer@carrier.test", name: "Dana <b>Reyes</b>" });
    const row = (number: string, slug: string, status: string) => ({
      number,
      customerId: customer.id,
      serviceSlug: slug,
      billingInterval: "none" as const,
      status,
      lines: [{ kind: "service_fee", label: "Service fee", amountCents: 9_900 }],
      totalCents: 9_900,
      paymentMethod: "card" as const,
      intake: { ...INTAKE_EXAMPLES[slug]!, legalName: HOSTILE },
    });
    const rows = await db
      .insert(orders)
      .values([
        row(SIGN, "mcs150-update", "awaiting_signature"),
        row(FILED, "mcs150-update", "ready_to_file"),
        row(NO_GATE, "boc-3", "awaiting_signature"),
      ])
      .returning();
    for (const r of rows) ids[r.number] = r.id;
    await db.insert(orderEvents).values({
      orderId: ids[SIGN]!,
      type: "intake_submitted",
      idempotencyKey: "intake:test",
      fromStatus: "awaiting_intake",
      toStatus: "awaiting_signature",
      payload: {},
      occurredAt: ENTERED_AT,
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe("refused links change nothing", () => {
  it("a forged, foreign, wrong-purpose or expired token is a 403 page, on the page, the PDF and the form", async () => {
    const good = await signToken(SIGN);
    const forged = `${good.slice(0, -3)}${good.endsWith("AAA") ? "BBB" : "AAA"}`;
    const cases: [string, string][] = [
      [forged, "This link does not work"],
      [await signToken(FILED), "This link does not work"], // another order's link
      [await signToken(SIGN, inAWeek(), "order-view"), "This link does not work"],
      [await signToken(SIGN, inAWeek(), "intake"), "This link does not work"],
      [await signToken(SIGN, new Date(Date.now() - 1000)), "This link has expired"],
      ["", "This link does not work"],
    ];
    for (const [token, title] of cases) {
      for (const res of [
        await get(signPath(SIGN, token)),
        await get(signPath(SIGN, token, "/document.pdf")),
        await post(signPath(SIGN, token), { signerName: "Dana Reyes", method: "typed", consent: "yes" }),
      ]) {
        expect(res.status).toBe(403);
        expect(res.headers.get("content-type")).toMatch(/^text\/html/);
        expect(await res.text()).toContain(title);
      }
    }
    expect(await stored(SIGN)).toEqual([]);
    expect(await signatureEvents(SIGN)).toEqual([]);
    expect((await withTestDb((db) => db.select().from(orders).where(eq(orders.number, SIGN))))[0]!.status).toBe(
      "awaiting_signature",
    );
  });

  it("a POST from another site is refused before anything is read", async () => {
    const res = await post(
      signPath(SIGN, await signToken(SIGN)),
      { signerName: "Dana Reyes", method: "typed", consent: "yes" },
      { origin: "https://evil.example" },
    );
    expect(res.status).toBe(403);
    expect(await stored(SIGN)).toEqual([]);
  });
});

describe("GET /order/:number/sign", () => {
  it("shows the document, the consent and the form, escaping what the customer typed", async () => {
    const token = await signToken(SIGN);
    const res = await get(signPath(SIGN, token));
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("<h1>MCS-150 certification</h1>");
    expect(html).toContain("MCS-150 Biennial Update");
    expect(html).toContain(`href="/order/${SIGN}/sign/document.pdf?token=${encodeURIComponent(token)}"`);
    // The consent shown is the one the certificate records (hono/jsx escapes the apostrophes).
    expect(html).toContain(SIGNATURE_CONSENT_TEXT.replace(/'/g, "&#39;"));
    expect(html).toMatch(/<input type="hidden" name="nonce" value="[0-9a-f]{32}"/);
    expect(html).toContain('name="signerName"');
    expect(html).toContain('<canvas id="pad"');
    expect(html).toContain('name="consent"');
    expect(html).toContain('enctype="multipart/form-data"');
    // The intake's legal name is shown, as text.
    expect(html).toContain("Reyes &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Freight &amp; Sons");
    expect(html).not.toContain('<script>alert("x")');

    // The only script is the pad, allowed by its hash and nothing else.
    const csp = res.headers.get("content-security-policy") ?? "";
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).toEqual([SIGNATURE_PAD_SCRIPT]);
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(scripts[0]));
    const hash = btoa(String.fromCharCode(...new Uint8Array(digest)));
    expect(csp).toContain(`script-src 'sha256-${hash}';`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-eval");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");

    // The other order pages keep their own, script-free policy.
    const orderPage = await get(`/order/${SIGN}?token=${await signToken(SIGN, inAWeek(), "order-view")}`);
    expect(orderPage.status).toBe(200);
    expect(orderPage.headers.get("content-security-policy")).not.toContain("script-src");
  });

  it("serves the unsigned PDF, the same bytes every time, dated when the order started waiting", async () => {
    const token = await signToken(SIGN);
    const first = await get(signPath(SIGN, token, "/document.pdf"));
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe("application/pdf");
    expect(first.headers.get("cache-control")).toBe("private, no-store");
    expect(first.headers.get("content-disposition")).toBe(`inline; filename="officer_certification-${SIGN}.pdf"`);
    const bytes = new Uint8Array(await first.arrayBuffer());
    const doc = await PDFDocument.load(bytes, { updateMetadata: false });
    expect(doc.getTitle()).toBe("MCS-150 certification");
    expect(doc.getSubject()).toBe(SIGN);
    expect(doc.getCreationDate()?.toISOString()).toBe(ENTERED_AT.toISOString());
    expect(readSignatureBlock(doc)).toBeDefined();
    const again = new Uint8Array(await (await get(signPath(SIGN, token, "/document.pdf"))).arrayBuffer());
    expect(await sha256Hex(again)).toBe(await sha256Hex(bytes));
  });

  it("an order not waiting for a signature, or needing none, gets a page saying so (409)", async () => {
    const filed = await get(signPath(FILED, await signToken(FILED)));
    expect(filed.status).toBe(409);
    const text = await filed.text();
    expect(text).toContain("This order is not waiting for a signature");
    expect(text).toContain("Ready to file");
    expect((await get(signPath(FILED, await signToken(FILED), "/document.pdf"))).status).toBe(409);

    const noGate = await get(signPath(NO_GATE, await signToken(NO_GATE)));
    expect(noGate.status).toBe(409);
    expect(await noGate.text()).toContain("No signature is needed");

    const missing = await get(signPath("CO-2026-000799", await signToken("CO-2026-000799")));
    expect(missing.status).toBe(404);
  });
});

describe("POST /order/:number/sign: invalid forms store nothing", () => {
  const valid = { signerName: "Dana Reyes", method: "typed", consent: "yes" };
  const cases: [string, Record<string, string>, string][] = [
    ["no consent", { signerName: "Dana Reyes", method: "typed" }, "Please tick the box"],
    ["an empty name", { ...valid, signerName: "   " }, "Please type your full name."],
    ["a name over 200 characters", { ...valid, signerName: "x".repeat(201) }, "under 200 characters"],
    ["a name on two lines", { ...valid, signerName: "Dana\nReyes" }, "on one line"],
    ["no method", { signerName: "Dana Reyes", consent: "yes" }, "type or draw your signature"],
    ["drawn with no drawing", { ...valid, method: "drawn" }, "Please draw your signature"],
    [
      "drawn with something that is not a PNG",
      { ...valid, method: "drawn", drawn: `data:image/png;base64,${btoa("GIF89a not a png at all, no")}` },
      "did not arrive as an image",
    ],
    [
      "drawn as an SVG",
      { ...valid, method: "drawn", drawn: `data:image/svg+xml;base64,${btoa("<svg onload=alert(1)>")}` },
      "did not arrive as an image",
    ],
    [
      "drawn as a PNG header over garbage",
      { ...valid, method: "drawn", drawn: `data:image/png;base64,${TINY_PNG.slice(0, 48)}${"A".repeat(200)}` },
      "did not arrive as an image",
    ],
    ["drawn with broken base64", { ...valid, method: "drawn", drawn: "data:image/png;base64,@@@" }, "did not arrive"],
  ];

  it.each(cases)("%s → 422 with the error inline, nothing stored", async (_, fields, message) => {
    const res = await post(signPath(SIGN, await signToken(SIGN)), fields);
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain("Nothing was signed yet.");
    expect(html).toContain(message);
    expect(await stored(SIGN)).toEqual([]);
    expect(await signatureEvents(SIGN)).toEqual([]);
  });

  it("keeps what was typed, escaped", async () => {
    const res = await post(signPath(SIGN, await signToken(SIGN)), {
      signerName: `<img src=x onerror=alert(1)>`,
      method: "typed",
    });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('value="&lt;img src=x onerror=alert(1)&gt;"');
    expect(html).not.toContain("<img src=x");
  });

  it("a body over the limit is refused with 413 before it is read", async () => {
    const res = await post(signPath(SIGN, await signToken(SIGN)), {
      ...valid,
      method: "drawn",
      drawn: `data:image/png;base64,${"A".repeat(310 * 1024)}`,
    });
    expect(res.status).toBe(413);
    expect(await res.text()).toContain("This form is too large");
    expect(await stored(SIGN)).toEqual([]);
  });

  it("an order not waiting for a signature takes none (409), nothing stored", async () => {
    const res = await post(signPath(FILED, await signToken(FILED)), valid);
    expect(res.status).toBe(409);
    expect(await stored(FILED)).toEqual([]);
    expect(await signatureEvents(FILED)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Signing, through a real OrderMachine.

describe("POST /order/:number/sign: signing", () => {
  it("stores the stamped PDF in R2 and applies signature_received once, however often it is sent", async () => {
    const { orderNumber: n } = await buyAndPay({
      slug: "mcs150-update",
      email: "typed-signer@carrier.test",
      intake: INTAKE_EXAMPLES["mcs150-update"]!,
    });
    await waitForStatus(n, "awaiting_signature");
    // The machine's e-mail carries the link: its token is what the customer signs with.
    const emailed = await waitFor(
      async () => {
        for (const m of await mailFor("typed-signer@carrier.test")) {
          const link = await linkIn(m.id, `/order/${n}/sign?token=`).catch(() => undefined);
          if (link) return new URL(link);
        }
        return undefined;
      },
      10_000,
      "the signature request e-mail",
    );
    const token = emailed.searchParams.get("token")!;
    const page = await (await get(`${emailed.pathname}${emailed.search}`)).text();
    expect(page).toContain("<h1>MCS-150 certification</h1>");
    const nonce = /name="nonce" value="([0-9a-f]{32})"/.exec(page)![1]!;
    const unsigned = new Uint8Array(await (await get(signPath(n, token, "/document.pdf"))).arrayBuffer());
    const unsignedSha = await sha256Hex(unsigned);
    const unsignedPages = (await PDFDocument.load(unsigned)).getPageCount();

    const fields = { signerName: "Dana Reyes", method: "typed", consent: "yes", nonce };
    const headers = { "cf-connecting-ip": "198.51.100.23", "user-agent": "DocketTest/1.0 (signing)" };
    // A double click: two submits at once.
    const [a, b] = await Promise.all([
      post(signPath(n, token), fields, headers),
      post(signPath(n, token), fields, headers),
    ]);
    for (const res of [a, b]) {
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("Thank you: signed");
    }

    const events = await signatureEvents(n);
    expect(events).toHaveLength(1);
    const payload = events[0]!.payload as Record<string, string>;
    expect(events[0]!.idempotencyKey).toBe("signature:officer_certification");
    expect(payload).toMatchObject({
      document: "officer_certification",
      signerName: "Dana Reyes",
      method: "typed",
      ip: "198.51.100.23",
      userAgent: "DocketTest/1.0 (signing)",
    });
    expect(payload.r2Key).toMatch(new RegExp(`^orders/${n}/signatures/officer_certification-[0-9a-f]{12}\\.pdf$`));

    // The copy of record is in R2; the loser of the race removed its own.
    const objects = await waitFor(
      async () => {
        const list = await testEnv.FILES.list({ prefix: `orders/${n}/signatures/` });
        return list.objects.length === 1 ? list.objects : undefined;
      },
      5_000,
      "one signed copy in R2",
    );
    expect(objects[0]!.key).toBe(payload.r2Key);
    const object = (await testEnv.FILES.get(payload.r2Key!))!;
    expect(object.httpMetadata?.contentType).toBe("application/pdf");
    expect(object.customMetadata).toMatchObject({
      orderNumber: n,
      document: "officer_certification",
      method: "typed",
      unsignedSha256: unsignedSha,
      formNonce: nonce,
    });
    const signed = new Uint8Array(await object.arrayBuffer());
    expect(await sha256Hex(signed)).toBe(payload.sha256);
    expect(payload.r2Key).toContain((payload.sha256 ?? "").slice(0, 12));
    const doc = await PDFDocument.load(signed, { updateMetadata: false });
    expect(doc.getPageCount()).toBe(unsignedPages + 1);
    expect(doc.getKeywords()).toContain("signed");

    await waitForOrder(n, (o) => o.status !== "awaiting_signature", "the machine to move past the signature");

    // Later: the link now says it is signed, and a resubmit changes nothing.
    const later = await post(signPath(n, token), fields, headers);
    expect(later.status).toBe(200);
    expect(await later.text()).toContain("This document is already signed");
    expect((await get(signPath(n, token))).status).toBe(200);
    expect(await signatureEvents(n)).toHaveLength(1);
    expect(await testEnv.FILES.list({ prefix: `orders/${n}/signatures/` }).then((l) => l.objects.length)).toBe(1);
  });

  it("a drawn signature is embedded and recorded as drawn", async () => {
    const { orderNumber: n } = await buyAndPay({
      slug: "npi-reactivation",
      email: "drawn-signer@clinic.test",
      intake: INTAKE_EXAMPLES["npi-reactivation"]!,
    });
    await waitForStatus(n, "awaiting_signature");
    const token = await signToken(n);
    const res = await post(signPath(n, token), {
      signerName: "Ana Ortiz",
      method: "drawn",
      drawn: `data:image/png;base64,${TINY_PNG}`,
      consent: "on",
    });
    expect(res.status).toBe(200);
    const [event] = await signatureEvents(n);
    const payload = event!.payload as Record<string, string>;
    expect(payload).toMatchObject({ document: "authorization_letter", method: "drawn", signerName: "Ana Ortiz" });
    const object = (await testEnv.FILES.get(payload.r2Key!))!;
    const doc = await PDFDocument.load(new Uint8Array(await object.arrayBuffer()));
    expect(doc.getTitle()).toBe(getService("npi-reactivation")!.needsSignature!.title);
    expect(object.customMetadata?.method).toBe("drawn");
  });
});
