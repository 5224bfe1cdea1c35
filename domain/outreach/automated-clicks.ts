/**
 * Whether a hit on a tracked link (/l) or the open pixel (/o) came from a machine rather than the
 * recipient. Corporate mail filters open every link of an incoming message to scan the page
 * behind it, and link previews fetch them too; counted as clicks, they would make every message
 * to a Proofpoint or Microsoft 365 customer look clicked within seconds. Such hits are recorded
 * (mail_events.automated) and counted apart, never dropped: the numbers stay auditable.
 *
 * Signals, any one of which is enough:
 * - a HEAD request (browsers follow links with GET; scanners probe with HEAD);
 * - no User-Agent at all (every browser sends one);
 * - a User-Agent naming a scanner, a preview fetcher, an HTTP library or a headless browser
 *   (names as the vendors publish them or as they appear in access logs: Barracuda, Mimecast,
 *   Proofpoint URL Defense, Microsoft Defender Safe Links / BingPreview, Google's link preview
 *   fetchers, Slack and other unfurlers, python-requests, curl, Go-http-client, HeadlessChrome);
 * - a hit within SCAN_WINDOW_SECONDS of the send: a person does not read and click that fast,
 *   a filter scanning the message on arrival does.
 *
 * Opens differ in one respect: Gmail fetches every image through its image proxy
 * ("GoogleImageProxy", https://gmail.googleblog.com/2013/12/images-now-showing.html) when the
 * recipient opens the message, so that fetch is the only open signal Gmail gives and counts as
 * an open. Apple Mail Privacy Protection prefetches images without the recipient opening
 * anything, with an ordinary browser User-Agent; it cannot be told apart here, which is why the
 * funnel counts a click as an open too and treats opens as a rough figure.
 */

/** Seconds after the send within which a hit is taken for a filter's scan. */
export const SCAN_WINDOW_SECONDS = 10;

export type TrackingHitKind = "click" | "open";

export interface TrackingHit {
  kind: TrackingHitKind;
  method: string;
  userAgent: string | null | undefined;
  /** When the message was handed to the relay (mail_sends.sent_at); null when unknown. */
  sentAt: Date | null;
  now: Date;
}

export type AutomatedReason = "head_request" | "no_user_agent" | "scanner_user_agent" | "too_soon_after_send";

export interface AutomatedVerdict {
  automated: boolean;
  reason?: AutomatedReason;
}

/** User-Agent fragments of scanners, preview fetchers, libraries and headless browsers (case-insensitive). */
const MACHINE_AGENTS = [
  "barracuda",
  "mimecast",
  "proofpoint",
  "urldefense",
  "safelinks",
  "bingpreview",
  "microsoft office existence discovery",
  "ms-office",
  "msoffice",
  "google-safety",
  "googlesafebrowsing",
  "google web preview",
  "google-http-java-client",
  "googleimageproxy",
  "slackbot",
  "linkexpanding",
  "facebookexternalhit",
  "twitterbot",
  "discordbot",
  "whatsapp",
  "skypeuripreview",
  "python-requests",
  "python-urllib",
  "aiohttp",
  "curl/",
  "wget/",
  "go-http-client",
  "okhttp",
  "java/",
  "apache-httpclient",
  "libwww-perl",
  "node-fetch",
  "axios/",
  "headlesschrome",
  "phantomjs",
  "puppeteer",
  "playwright",
  // Generic crawler words, with the slash of a product token: a bare "bot" would also match
  // phone models in ordinary browser agents ("CUBOT").
  "bot/",
  "crawler",
  "spider",
  "scanner",
] as const;

/** Fetchers that stand for the recipient opening the message (see the module comment). */
const OPEN_PROXIES = ["googleimageproxy"] as const;

export function isAutomatedHit(hit: TrackingHit): AutomatedVerdict {
  if (hit.method.toUpperCase() === "HEAD") return { automated: true, reason: "head_request" };
  const agent = (hit.userAgent ?? "").trim().toLowerCase();
  if (agent === "") return { automated: true, reason: "no_user_agent" };
  const proxyOpen = hit.kind === "open" && OPEN_PROXIES.some((p) => agent.includes(p));
  if (!proxyOpen && MACHINE_AGENTS.some((m) => agent.includes(m))) {
    return { automated: true, reason: "scanner_user_agent" };
  }
  if (hit.sentAt !== null && hit.now.getTime() - hit.sentAt.getTime() < SCAN_WINDOW_SECONDS * 1000) {
    return { automated: true, reason: "too_soon_after_send" };
  }
  return { automated: false };
}
