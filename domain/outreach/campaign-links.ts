import type { Document, Element } from "domhandler";
import { DomUtils, parseDocument } from "htmlparser2";
import { isUntrackedHost } from "./untracked-hosts";

/**
 * The links of a campaign template, numbered when it is approved (the campaign_links table).
 *
 * Every `<a href>` is numbered in document order from 1, the same walk the renderer
 * (render-campaign-message.ts) does, so a click token's index names the same link. A link to our
 * own site (same origin as PUBLIC_BASE_URL; relative links resolve against it) is tracked and
 * gets UTM parameters; an https link to an allowlisted government self-service page
 * (untracked-hosts.ts) is kept as it is; anything else is a problem and the campaign cannot be
 * approved: a third-party link through our redirect would vouch for a site we do not control, and
 * `javascript:`, `data:` or `mailto:` links have no place in campaign mail.
 */

export interface CampaignLink {
  /** 1-based, document order. */
  idx: number;
  /** Where the link lands; for tracked links with utm_* parameters. */
  url: string;
  tracked: boolean;
}

export interface ExtractedLinks {
  links: CampaignLink[];
  /** Each link that cannot go out, in words; empty when the template's links are all fine. */
  problems: string[];
}

export interface LinkSettings {
  publicBaseUrl: string;
  utmCampaign: string;
}

/** Template HTML as a DOM, the way every outreach module reads it. */
export function parseTemplate(html: string): Document {
  return parseDocument(html, { decodeEntities: true });
}

/** The `<a>` elements that carry an href, in document order: what link indexes count. */
export function anchorsInOrder(doc: Document): Element[] {
  return DomUtils.findAll((el) => el.name === "a" && el.attribs.href !== undefined, doc.children);
}

export function extractCampaignLinks(html: string, settings: LinkSettings): ExtractedLinks {
  const base = new URL(settings.publicBaseUrl);
  const links: CampaignLink[] = [];
  const problems: string[] = [];
  anchorsInOrder(parseTemplate(html)).forEach((anchor, i) => {
    const idx = i + 1;
    const href = (anchor.attribs.href ?? "").trim();
    const problem = (why: string) => problems.push(`link ${idx} (${JSON.stringify(href.slice(0, 200))}): ${why}`);
    if (href === "") return problem("empty href");
    if (href.includes("{{")) return problem("a placeholder in a link: links are the same for every recipient");
    let url: URL;
    try {
      url = new URL(href, base);
    } catch {
      return problem("not a URL");
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      return problem(`${url.protocol} links are not allowed in campaign mail`);
    }
    if (url.username !== "" || url.password !== "") return problem("a URL with credentials");
    if (url.origin === base.origin) {
      for (const key of [...url.searchParams.keys()])
        if (key.toLowerCase().startsWith("utm_")) url.searchParams.delete(key);
      url.searchParams.set("utm_source", "docket");
      url.searchParams.set("utm_medium", "email");
      url.searchParams.set("utm_campaign", settings.utmCampaign);
      url.searchParams.set("utm_content", `link-${idx}`);
      links.push({ idx, url: url.toString(), tracked: true });
      return;
    }
    if (isUntrackedHost(url.hostname)) {
      if (url.protocol !== "https:") return problem("government links must be https");
      links.push({ idx, url: href, tracked: false });
      return;
    }
    problem(
      `${url.host} is neither our site (${base.origin}) nor an allowlisted government page (domain/outreach/untracked-hosts.ts)`,
    );
  });
  return { links, problems };
}
