import PostalMime, { type Email } from "postal-mime";
import { describe, expect, it } from "vitest";
import { composeMessage } from "../../domain/mail/compose-message";
import { extractCampaignLinks } from "../../domain/outreach/campaign-links";
import {
  prepareCampaignTemplate,
  RenderError,
  renderCampaignMessage,
  type CampaignRenderInput,
  type CampaignRenderSettings,
} from "../../domain/outreach/render-campaign-message";
import {
  signTrackingToken,
  trackingTokenFromHex,
  unsubscribeTokenFromAddress,
  verifyTrackingToken,
} from "../../domain/outreach/tracking-token";
import { isAutomatedHit } from "../../domain/outreach/automated-clicks";

/**
 * A rendered campaign message, composed by the real composer and parsed back with postal-mime:
 * every header and part the issue asks for (item 8), the link table (campaign-links.ts), and the
 * refusals (a price, an unknown placeholder, a missing value, a From off the sending domain).
 */

const SECRET = "test-tracking-link-secret-0123456789ab";
const BASE = "https://docket.test";
const SETTINGS: CampaignRenderSettings = {
  publicBaseUrl: BASE,
  trackingSecret: SECRET,
  postalAddress: "Docket Test Co., 100 Test Street, Springfield, IL 62701",
  from: "Docket <noreply@send.docket.test>",
  replyTo: "hello@docket.test",
  sendingDomain: "send.docket.test",
};
const COMPOSE_CONFIG = {
  MAIL_FROM: SETTINGS.from,
  MAIL_SENDING_DOMAIN: SETTINGS.sendingDomain,
  MAIL_REPLY_TO: SETTINGS.replyTo,
};

const HTML = `<html><body>
<p>Hello {{ legal_name }},</p>
<p>FMCSA's records show USDOT {{usdot_number}} last filed its MCS-150 on {{mcs150_date}}.</p>
<p><a href="/mcs150?ref=mail&amp;utm_source=old">Update it with us</a>, or look yourself on
<a href="https://safer.fmcsa.dot.gov/CompanySnapshot.aspx">SAFER</a>.</p>
<p><a href="https://docket.test/services/ucr">UCR registration</a></p>
</body></html>`;
const HOSTILE = `<script>alert("x")</script> & Sons`;

function links(html = HTML) {
  const extracted = extractCampaignLinks(html, { publicBaseUrl: BASE, utmCampaign: "mcs150-spring" });
  expect(extracted.problems).toEqual([]);
  return extracted.links;
}

function input(overrides: Partial<CampaignRenderInput> = {}): CampaignRenderInput {
  return {
    campaign: { id: 42, subject: "{{legal_name}}: your MCS-150", html: HTML },
    links: links(),
    send: { id: 9001, messageId: "<c42.9001@send.docket.test>", recipient: "owner@carrier.example" },
    fields: { legal_name: HOSTILE, usdot_number: 1234567, mcs150_date: "2023-04-01", city: null },
    ...overrides,
  };
}

function header(parsed: Email, name: string): string | undefined {
  return parsed.headers.find((h) => h.key === name.toLowerCase())?.value;
}

async function renderAndParse(overrides: Partial<CampaignRenderInput> = {}) {
  const message = await renderCampaignMessage(input(overrides), SETTINGS);
  const composed = await composeMessage(message, COMPOSE_CONFIG);
  const raw = new TextDecoder().decode(composed.raw);
  return { message, composed, raw, parsed: await PostalMime.parse(composed.raw) };
}

const hrefs = (html: string) =>
  [...html.matchAll(/<a [^>]*href="([^"]*)"/g)].map((m) => m[1]!.replaceAll("&amp;", "&"));

describe("campaign links (the link table)", () => {
  it("numbers links in document order: own site tracked with UTM, government links untracked as they are", () => {
    expect(links()).toEqual([
      {
        idx: 1,
        url: `${BASE}/mcs150?ref=mail&utm_source=docket&utm_medium=email&utm_campaign=mcs150-spring&utm_content=link-1`,
        tracked: true,
      },
      { idx: 2, url: "https://safer.fmcsa.dot.gov/CompanySnapshot.aspx", tracked: false },
      {
        idx: 3,
        url: `${BASE}/services/ucr?utm_source=docket&utm_medium=email&utm_campaign=mcs150-spring&utm_content=link-3`,
        tracked: true,
      },
    ]);
  });

  it("refuses other hosts, scripts, data, mailto, placeholders in links and plain-http government links", () => {
    const { problems, links: ok } = extractCampaignLinks(
      `<a href="https://evil.example/x">a</a><a href="javascript:alert(1)">b</a><a href="data:text/html,x">c</a>
       <a href="mailto:x@docket.test">d</a><a href="/x?id={{usdot_number}}">e</a><a href="http://safer.fmcsa.dot.gov/">f</a>
       <a href="https://docket.test.evil.example/">g</a><a href="https://www.irs.gov/form2290">h</a>`,
      { publicBaseUrl: BASE, utmCampaign: "c" },
    );
    expect(problems).toHaveLength(7);
    expect(problems.map((p) => p.slice(0, 7))).toEqual([
      "link 1 ",
      "link 2 ",
      "link 3 ",
      "link 4 ",
      "link 5 ",
      "link 6 ",
      "link 7 ",
    ]);
    expect(ok).toEqual([{ idx: 8, url: "https://www.irs.gov/form2290", tracked: false }]);
  });
});

describe("a rendered campaign message", () => {
  it("has From on the sending subdomain, Reply-To on the root domain, the send's Message-ID on the sending domain", async () => {
    const { parsed, composed } = await renderAndParse();
    expect(parsed.from).toMatchObject({ address: "noreply@send.docket.test" });
    expect(parsed.replyTo).toEqual([expect.objectContaining({ address: "hello@docket.test" })]);
    expect(parsed.messageId).toBe("<c42.9001@send.docket.test>");
    expect(composed.envelope.to).toEqual(["owner@carrier.example"]);
    expect(parsed.to).toEqual([expect.objectContaining({ address: "owner@carrier.example" })]);
    expect(header(parsed, "X-Docket-Campaign")).toBe("42");
  });

  it("carries List-Unsubscribe with an https URL and a mailto, and List-Unsubscribe-Post (RFC 2369, RFC 8058)", async () => {
    const { parsed } = await renderAndParse();
    const value = header(parsed, "List-Unsubscribe")!.replace(/\s+/g, " ");
    const m =
      /^<(https:\/\/docket\.test\/u\/([A-Za-z0-9_-]+))>, <mailto:unsubscribe\+([0-9a-f]+)@send\.docket\.test\?subject=unsubscribe>$/.exec(
        value,
      );
    expect(m, value).not.toBeNull();
    expect(await verifyTrackingToken(SECRET, m![2], "unsubscribe")).toEqual({ ok: true, sendId: 9001 });
    // The mailto names the same token, in a form that survives a case-folded local part.
    expect(trackingTokenFromHex(m![3]!.toUpperCase())).toBe(m![2]);
    const mailbox = `UNSUBSCRIBE+${m![3]!.toUpperCase()}@Send.Docket.Test`;
    expect(unsubscribeTokenFromAddress(mailbox, "send.docket.test")).toBe(m![2]);
    expect(unsubscribeTokenFromAddress(`unsubscribe+${m![3]}@docket.test`, "send.docket.test")).toBeNull();
    expect(header(parsed, "List-Unsubscribe-Post")).toBe("List-Unsubscribe=One-Click");
  });

  it("is multipart/alternative with a plain-text part and an HTML part", async () => {
    const { raw, parsed } = await renderAndParse();
    expect(raw).toMatch(/^Content-Type: multipart\/alternative;/m);
    expect(raw).toMatch(/Content-Type: text\/plain/);
    expect(raw).toMatch(/Content-Type: text\/html/);
    expect(parsed.text!.replace(/\s+/g, " ")).toContain("last filed its MCS-150 on 2023-04-01");
    expect(parsed.html).toContain("last filed its MCS-150 on 2023-04-01");
  });

  it("rewrites tracked links to /l/<token> naming the send and the link, leaves the government link as it is", async () => {
    const { parsed } = await renderAndParse();
    const found = hrefs(parsed.html!);
    // Three template links, then the footer's unsubscribe link.
    expect(found).toHaveLength(4);
    expect(found[1]).toBe("https://safer.fmcsa.dot.gov/CompanySnapshot.aspx");
    for (const [i, idx] of [
      [0, 1],
      [2, 3],
    ] as const) {
      const token = /^https:\/\/docket\.test\/l\/([A-Za-z0-9_-]+)$/.exec(found[i]!)?.[1];
      expect(token, found[i]).toBeDefined();
      expect(token!.length).toBeLessThanOrEqual(40);
      expect(await verifyTrackingToken(SECRET, token, "click")).toEqual({ ok: true, sendId: 9001, linkIdx: idx });
    }
    // The targets live in the link table only; the mail never spells them.
    expect(parsed.html).not.toContain("/mcs150");
    expect(parsed.html).not.toContain("utm_");
    expect(parsed.text).toContain("https://safer.fmcsa.dot.gov/CompanySnapshot.aspx");
    expect(parsed.text).toContain(found[0]);
    expect(parsed.text).toContain(found[2]);
  });

  it("appends an open pixel and a footer with the unsubscribe link and the postal address, in both parts", async () => {
    const { parsed } = await renderAndParse();
    const html = parsed.html!;
    const pixel = /<img src="https:\/\/docket\.test\/o\/([A-Za-z0-9_-]+)" width="1" height="1" alt="">/.exec(html);
    expect(pixel).not.toBeNull();
    expect(await verifyTrackingToken(SECRET, pixel![1], "open")).toEqual({ ok: true, sendId: 9001 });
    const unsubscribe = hrefs(html)[3]!;
    expect(unsubscribe).toMatch(/^https:\/\/docket\.test\/u\//);
    expect(html).toMatch(/<a href="https:\/\/docket\.test\/u\/[^"]+">unsubscribe<\/a>/);
    expect(html).toContain(SETTINGS.postalAddress);
    // The footer and pixel are inside <body>.
    expect(html.indexOf(SETTINGS.postalAddress)).toBeLessThan(html.indexOf("</body>"));
    expect(parsed.text).toContain(unsubscribe);
    expect(parsed.text).toContain(SETTINGS.postalAddress);
    expect(parsed.text).not.toContain("/o/");
  });

  it("escapes placeholder values in HTML and keeps them out of the subject's structure", async () => {
    const { parsed, message } = await renderAndParse({
      fields: { legal_name: `${HOSTILE}\r\nBcc: victim@example.com`, usdot_number: 1234567, mcs150_date: "2023-04-01" },
    });
    expect(parsed.html).not.toContain("<script>");
    expect(parsed.html).toContain("Hello &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Sons");
    expect(parsed.text).toContain(`Hello ${HOSTILE}`);
    expect(message.subject).toBe(`${HOSTILE} Bcc: victim@example.com: your MCS-150`);
    expect(parsed.subject).toBe(message.subject);
    expect(parsed.bcc ?? []).toEqual([]);
    expect(header(parsed, "Bcc")).toBeUndefined();
  });

  it("refuses a template that shows a price", async () => {
    for (const html of ["<p>Only $99!</p>", "<p>Just 49 dollars</p>", "<p>120 USD flat</p>"]) {
      await expect(
        renderCampaignMessage(input({ campaign: { id: 43, subject: "Hi", html }, links: [] }), SETTINGS),
      ).rejects.toMatchObject({
        name: "RenderError",
        code: "price",
      });
    }
    await expect(
      renderCampaignMessage(
        input({ campaign: { id: 44, subject: "Save $50", html: "<p>Hi</p>" }, links: [] }),
        SETTINGS,
      ),
    ).rejects.toBeInstanceOf(RenderError);
  });

  it("refuses an unknown placeholder and a missing value for a placeholder the template uses", async () => {
    await expect(
      renderCampaignMessage(
        input({ campaign: { id: 45, subject: "Hi", html: "<p>{{ssn}}</p>" }, links: [] }),
        SETTINGS,
      ),
    ).rejects.toMatchObject({ code: "unknown_placeholder" });
    await expect(
      renderCampaignMessage(
        input({ fields: { legal_name: "Acme", usdot_number: null, mcs150_date: "2023-04-01" } }),
        SETTINGS,
      ),
    ).rejects.toMatchObject({ code: "missing_field" });
    await expect(
      renderCampaignMessage(
        input({ fields: { legal_name: "  ", usdot_number: 1, mcs150_date: "2023-04-01" } }),
        SETTINGS,
      ),
    ).rejects.toMatchObject({ code: "missing_field" });
  });

  it("refuses a From off the sending domain, a Reply-To off its root, a Message-ID on another domain", async () => {
    await expect(
      renderCampaignMessage(input(), { ...SETTINGS, from: "Docket <noreply@docket.test>" }),
    ).rejects.toMatchObject({
      code: "sender",
    });
    await expect(renderCampaignMessage(input(), { ...SETTINGS, replyTo: "hello@other.example" })).rejects.toMatchObject(
      {
        code: "sender",
      },
    );
    await expect(
      renderCampaignMessage(
        input({ send: { id: 1, messageId: "<x@relay.example>", recipient: "a@b.example" } }),
        SETTINGS,
      ),
    ).rejects.toMatchObject({ code: "message_id" });
  });

  it("refuses a link table that does not match the template", () => {
    expect(() => prepareCampaignTemplate(input().campaign, links().slice(0, 2), SETTINGS)).toThrow(RenderError);
  });

  it("uses a changed template at once (the per-campaign cache is checked against the template)", async () => {
    await renderCampaignMessage(input(), SETTINGS);
    const html = HTML.replace("Hello", "Good morning");
    const message = await renderCampaignMessage(input({ campaign: { id: 42, subject: "Hi", html } }), SETTINGS);
    expect(message.html).toContain("Good morning");
    expect(message.subject).toBe("Hi");
  });
});

describe("tracking tokens", () => {
  it("are short, purpose-bound and refuse any change", async () => {
    const token = await signTrackingToken(SECRET, { purpose: "click", sendId: 123_456_789, linkIdx: 12 });
    expect(token.length).toBeLessThanOrEqual(40);
    expect(await verifyTrackingToken(SECRET, token, "click")).toEqual({ ok: true, sendId: 123_456_789, linkIdx: 12 });
    expect(await verifyTrackingToken(SECRET, token, "open")).toEqual({ ok: false, reason: "wrong_purpose" });
    expect(await verifyTrackingToken(`${SECRET}x`, token, "click")).toEqual({ ok: false, reason: "bad_signature" });
    for (let i = 0; i < token.length; i++) {
      const changed = token.slice(0, i) + (token[i] === "A" ? "B" : "A") + token.slice(i + 1);
      expect((await verifyTrackingToken(SECRET, changed, "click")).ok, `position ${i}`).toBe(false);
    }
    expect(await verifyTrackingToken(SECRET, "", "click")).toEqual({ ok: false, reason: "malformed" });
    expect(await verifyTrackingToken(SECRET, "a".repeat(500), "click")).toEqual({ ok: false, reason: "malformed" });
  });
});

describe("automated hits", () => {
  const sentAt = new Date("2026-03-02T10:00:00Z");
  const later = new Date("2026-03-02T11:00:00Z");
  const browser =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";
  const hit = (o: Partial<Parameters<typeof isAutomatedHit>[0]>) =>
    isAutomatedHit({ kind: "click", method: "GET", userAgent: browser, sentAt, now: later, ...o });

  it("tells scanners, HEAD requests, missing agents and too-early hits from a person", () => {
    expect(hit({})).toEqual({ automated: false });
    expect(hit({ method: "HEAD" })).toMatchObject({ automated: true, reason: "head_request" });
    expect(hit({ userAgent: null })).toMatchObject({ automated: true, reason: "no_user_agent" });
    for (const ua of [
      "python-requests/2.31",
      "curl/8.5.0",
      "Go-http-client/1.1",
      "Mozilla/5.0 (compatible; BingPreview/1.0b)",
      "Barracuda Sentinel",
      "Mozilla/5.0 HeadlessChrome/120.0",
    ]) {
      expect(hit({ userAgent: ua }), ua).toMatchObject({ automated: true, reason: "scanner_user_agent" });
    }
    expect(hit({ now: new Date(sentAt.getTime() + 3000) })).toMatchObject({
      automated: true,
      reason: "too_soon_after_send",
    });
    // Gmail's image proxy fetches the pixel when the recipient opens the message: an open.
    const gmail = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
    expect(hit({ kind: "open", userAgent: gmail })).toEqual({ automated: false });
    expect(hit({ kind: "click", userAgent: gmail })).toMatchObject({ automated: true });
  });
});
