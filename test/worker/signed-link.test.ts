import { describe, expect, it } from "vitest";
import { fromBase64Url, toBase64Url, utf8 } from "../../domain/auth/bytes";
import {
  customerOrdersLink,
  linkSecret,
  LinkSecretMissingError,
  orderViewLink,
  signLinkToken,
  verifyLinkToken,
  type LinkSettings,
} from "../../domain/auth/signed-link";

const SECRET = "test-link-secret-0123456789abcdef0123";
const NOW = new Date("2026-11-21T12:00:00Z");
const LATER = new Date("2026-12-21T12:00:00Z");

const settings: LinkSettings = {
  PUBLIC_BASE_URL: "https://docket.example/",
  CUSTOMER_LINK_SECRET: SECRET,
  CUSTOMER_LINK_TTL_DAYS: 30,
};

/** Replaces one field of a token's payload and keeps its original tag (a forgery attempt). */
function withPayload(token: string, edit: (payload: string) => string): string {
  const [payload, tag] = token.split(".") as [string, string];
  const text = new TextDecoder().decode(fromBase64Url(payload)!);
  return `${toBase64Url(utf8(edit(text)))}.${tag}`;
}

async function hmacTag(secret: string, payload: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(payload)), 0, 16));
}

describe("signed customer links", () => {
  it("round-trips purpose, subject and expiry in a short, URL-safe token", async () => {
    const token = await signLinkToken(SECRET, { purpose: "customer-orders", subject: 42, expiresAt: LATER });
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(token.length).toBeLessThan(80);
    const check = await verifyLinkToken(SECRET, token, { purpose: "customer-orders", now: NOW });
    expect(check).toEqual({ ok: true, purpose: "customer-orders", subject: "42", expiresAt: LATER });
  });

  it("carries nothing but the purpose, the subject and the expiry", async () => {
    const token = await signLinkToken(SECRET, { purpose: "order-view", subject: "CO-2026-000123", expiresAt: LATER });
    const payload = new TextDecoder().decode(fromBase64Url(token.split(".")[0]!)!);
    expect(payload).toBe(`v1.order-view.CO-2026-000123.${LATER.getTime() / 1000}`);
    expect(token).not.toContain(SECRET);
  });

  it("refuses a changed subject, purpose or expiry, a changed tag, and another secret (bad_signature)", async () => {
    const token = await signLinkToken(SECRET, { purpose: "customer-orders", subject: 42, expiresAt: LATER });
    const expect_ = { purpose: "customer-orders" as const, now: NOW };
    const forged = [
      withPayload(token, (p) => p.replace(".42.", ".43.")),
      withPayload(token, (p) => p.replace("customer-orders", "order-view")),
      withPayload(token, (p) => p.replace(/\d+$/, String(LATER.getTime() / 1000 + 86_400 * 365))),
      `${token.split(".")[0]}.${(await hmacTag("another-secret-0123456789abcdef0123", "x")).slice(0, 22)}`,
      token.slice(0, -1) + (token.endsWith("A") ? "Q" : "A"),
    ];
    for (const candidate of forged) {
      expect(await verifyLinkToken(SECRET, candidate, expect_), candidate).toEqual({
        ok: false,
        reason: "bad_signature",
      });
    }
    expect(await verifyLinkToken("another-secret-0123456789abcdef0123", token, expect_)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
  });

  it("says malformed for anything that is not a token of ours", async () => {
    const token = await signLinkToken(SECRET, { purpose: "customer-orders", subject: 42, expiresAt: LATER });
    const [payload, tag] = token.split(".") as [string, string];
    const signedButUnknown = `${toBase64Url(utf8("v2.customer-orders.42.1"))}.${await hmacTag(SECRET, "v2.customer-orders.42.1")}`;
    const candidates: (string | null | undefined)[] = [
      undefined,
      null,
      "",
      payload,
      `${payload}.${tag}.extra`,
      `${payload}.${tag.slice(0, 20)}`,
      `${payload}.${tag}AA`,
      `${payload}!.${tag}`,
      `${payload}=.${tag}`,
      `${payload}.${tag}`.padEnd(300, "A"),
      signedButUnknown,
    ];
    for (const candidate of candidates) {
      expect(
        await verifyLinkToken(SECRET, candidate, { purpose: "customer-orders", now: NOW }),
        String(candidate),
      ).toEqual({
        ok: false,
        reason: "malformed",
      });
    }
  });

  it("refuses a token for another purpose, then one for another subject", async () => {
    const orderView = await signLinkToken(SECRET, {
      purpose: "order-view",
      subject: "CO-2026-000001",
      expiresAt: LATER,
    });
    expect(await verifyLinkToken(SECRET, orderView, { purpose: "customer-orders", now: NOW })).toEqual({
      ok: false,
      reason: "wrong_purpose",
    });
    expect(
      await verifyLinkToken(SECRET, orderView, { purpose: "order-view", subject: "CO-2026-000002", now: NOW }),
    ).toEqual({
      ok: false,
      reason: "wrong_subject",
    });
    expect(
      (await verifyLinkToken(SECRET, orderView, { purpose: "order-view", subject: "CO-2026-000001", now: NOW })).ok,
    ).toBe(true);
  });

  it("expires at its expiry, not a second later", async () => {
    const token = await signLinkToken(SECRET, { purpose: "answer", subject: "CO-2026-000009", expiresAt: LATER });
    const at = (ms: number) =>
      verifyLinkToken(SECRET, token, { purpose: "answer", now: new Date(LATER.getTime() + ms) });
    expect((await at(-1000)).ok).toBe(true);
    expect(await at(0)).toEqual({ ok: false, reason: "expired" });
    expect(await at(86_400_000)).toEqual({ ok: false, reason: "expired" });
  });

  it("checks the signature before believing the expiry or the purpose", async () => {
    const expired = await signLinkToken(SECRET, { purpose: "customer-orders", subject: 42, expiresAt: NOW });
    const forged = withPayload(expired, (p) => p.replace(".42.", ".43."));
    expect(await verifyLinkToken(SECRET, forged, { purpose: "order-view", now: LATER })).toEqual({
      ok: false,
      reason: "bad_signature",
    });
  });

  it("refuses to sign what it could not carry", async () => {
    for (const subject of ["", "a.b", "with space", "x".repeat(65), "ä"]) {
      await expect(
        signLinkToken(SECRET, { purpose: "customer-orders", subject, expiresAt: LATER }),
        subject,
      ).rejects.toThrow();
    }
    await expect(signLinkToken("", { purpose: "customer-orders", subject: 1, expiresAt: LATER })).rejects.toThrow(
      /empty/,
    );
    await expect(
      signLinkToken(SECRET, { purpose: "customer-orders", subject: 1, expiresAt: new Date(Number.NaN) }),
    ).rejects.toThrow();
  });

  it("builds absolute links from PUBLIC_BASE_URL that expire after CUSTOMER_LINK_TTL_DAYS", async () => {
    const link = new URL(await customerOrdersLink(settings, { id: 7 }, NOW));
    expect(`${link.origin}${link.pathname}`).toBe("https://docket.example/orders");
    const check = await verifyLinkToken(SECRET, link.searchParams.get("token"), {
      purpose: "customer-orders",
      now: NOW,
    });
    expect(check).toEqual({
      ok: true,
      purpose: "customer-orders",
      subject: "7",
      expiresAt: new Date(NOW.getTime() + 30 * 86_400_000),
    });

    const order = new URL(
      await orderViewLink(
        { ...settings, PUBLIC_BASE_URL: "https://shop.example/docket" },
        { number: "CG-2026-000031" },
        NOW,
      ),
    );
    expect(`${order.origin}${order.pathname}`).toBe("https://shop.example/docket/order/CG-2026-000031");
    expect(
      (
        await verifyLinkToken(SECRET, order.searchParams.get("token"), {
          purpose: "order-view",
          subject: "CG-2026-000031",
          now: NOW,
        })
      ).ok,
    ).toBe(true);
  });

  it("names the missing secret instead of signing with nothing", async () => {
    expect(() => linkSecret({ CUSTOMER_LINK_SECRET: undefined })).toThrow(LinkSecretMissingError);
    await expect(customerOrdersLink({ ...settings, CUSTOMER_LINK_SECRET: undefined }, { id: 1 })).rejects.toThrow(
      /CUSTOMER_LINK_SECRET/,
    );
  });
});
