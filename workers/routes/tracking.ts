import { Hono, type Context } from "hono";
import { setCookie } from "hono/cookie";
import { withDb } from "../../db/client";
import { findCampaignSend, findClickTarget, recordMailEvent, unsubscribeSend } from "../../db/mail-events";
import { isAutomatedHit } from "../../domain/outreach/automated-clicks";
import {
  ATTRIBUTION_COOKIE,
  ATTRIBUTION_DAYS,
  signTrackingToken,
  verifyTrackingToken,
  type TrackingPurpose,
} from "../../domain/outreach/tracking-token";
import { trackingLinkNotFoundHtml, unsubscribePageHtml } from "../../web/pages/unsubscribe-page";
import type { AppEnv } from "../app-env";
import { customerPageHeaders } from "./order-pages";

/**
 * Campaign mail's tracking endpoints (mounted at "/"):
 *
 *   GET|HEAD /l/<token>  a tracked link: the target comes from the campaign's link table only
 *                        (no open redirect), the click is recorded (scanners flagged), a
 *                        first-party cookie remembers the send for checkout attribution, 302.
 *   GET|HEAD /o/<token>  the open pixel: the open is recorded, a 1×1 transparent GIF.
 *   GET      /u/<token>  the unsubscribe confirmation page; records nothing (scanners GET links).
 *   POST     /u/<token>  unsubscribes, whatever the body (RFC 8058 one-click sends
 *                        `List-Unsubscribe=One-Click`; some clients send nothing): suppression at
 *                        once, the recipient's waiting sends cancelled, 200 and a page, no
 *                        redirect (RFC 8058 3.2: the POST must not need one to complete).
 *
 * Tokens are signed (domain/outreach/tracking-token.ts). A token that fails the check and one that
 * names no send get the same 404, so the answer tells a forger nothing.
 */

export const trackingRoutes = new Hono<AppEnv>();

type TrackingContext = Context<AppEnv>;

/** 43 bytes: GIF89a, 1×1, one transparent colour. */
const PIXEL = Uint8Array.from(atob("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"), (ch) =>
  ch.charCodeAt(0),
);

const NO_STORE = "private, no-store, max-age=0";

async function notFound(c: TrackingContext): Promise<Response> {
  c.header("Cache-Control", NO_STORE);
  return c.html(await trackingLinkNotFoundHtml(), 404);
}

/** The send id (and link index) a token names, or null for anything not signed by us for `purpose`. */
async function verified(c: TrackingContext, purpose: TrackingPurpose) {
  const secret = c.get("config").TRACKING_LINK_SECRET;
  // No secret, no token was ever issued: every token is unknown.
  if (secret === undefined || secret === "") return null;
  const check = await verifyTrackingToken(secret, c.req.param("token"), purpose);
  return check.ok ? { ...check, secret } : null;
}

function clientOf(c: TrackingContext) {
  return { userAgent: c.req.header("user-agent") ?? null, ip: c.req.header("cf-connecting-ip") ?? null };
}

// GET also answers HEAD (Hono runs the GET handler and drops the body); c.req.method tells them apart.
trackingRoutes.get("/l/:token", async (c) => {
  const token = await verified(c, "click");
  if (token === null || token.linkIdx === undefined) return await notFound(c);
  const client = clientOf(c);
  const now = new Date();
  const target = await withDb(
    c.get("config"),
    async (db) => {
      const found = await findClickTarget(db, token.sendId, token.linkIdx!);
      if (found === undefined) return undefined;
      const verdict = isAutomatedHit({
        kind: "click",
        method: c.req.method,
        userAgent: client.userAgent,
        sentAt: found.send.sentAt,
        now,
      });
      await recordMailEvent(db, {
        sendId: found.send.id,
        kind: "click",
        linkIdx: token.linkIdx!,
        automated: verdict.automated,
        ...client,
      });
      return found;
    },
    c.executionCtx,
  );
  if (target === undefined) return await notFound(c);
  // First-party and HttpOnly: only our own checkout reads it, scripts never see it. Lax, so that
  // it is sent on the top-level navigation this redirect starts.
  setCookie(
    c,
    ATTRIBUTION_COOKIE,
    await signTrackingToken(token.secret, { purpose: "attribution", sendId: target.send.id, issuedAt: now }),
    {
      httpOnly: true,
      secure: new URL(c.req.url).protocol === "https:",
      sameSite: "Lax",
      path: "/",
      maxAge: ATTRIBUTION_DAYS * 86_400,
    },
  );
  c.header("Cache-Control", NO_STORE);
  c.header("Referrer-Policy", "no-referrer");
  return c.redirect(target.url, 302);
});

trackingRoutes.get("/o/:token", async (c) => {
  const token = await verified(c, "open");
  if (token === null) return await notFound(c);
  const config = c.get("config");
  const client = clientOf(c);
  const recorded = await withDb(
    config,
    async (db) => {
      const send = await findCampaignSend(db, token.sendId);
      if (send === undefined) return false;
      const verdict = isAutomatedHit({
        kind: "open",
        method: c.req.method,
        userAgent: client.userAgent,
        sentAt: send.sentAt,
        now: new Date(),
      });
      await recordMailEvent(db, { sendId: send.id, kind: "open", automated: verdict.automated, ...client });
      return true;
    },
    c.executionCtx,
  );
  if (!recorded) return await notFound(c);
  // no-store: a cached pixel would hide every later open.
  return c.body(PIXEL, 200, { "Content-Type": "image/gif", "Cache-Control": NO_STORE });
});

trackingRoutes.use("/u/*", customerPageHeaders);

trackingRoutes.get("/u/:token", async (c) => {
  const token = await verified(c, "unsubscribe");
  if (token === null) return await notFound(c);
  const send = await withDb(c.get("config"), (db) => findCampaignSend(db, token.sendId), c.executionCtx);
  if (send === undefined) return await notFound(c);
  // The form posts back to this very URL: a relative reference of the token alone resolves to
  // /u/<token> (RFC 3986 5.2), whatever path prefix the site is served under.
  return c.html(
    await unsubscribePageHtml({ kind: "confirm", props: { address: send.recipient, action: c.req.param("token") } }),
  );
});

trackingRoutes.post("/u/:token", async (c) => {
  const token = await verified(c, "unsubscribe");
  if (token === null) return await notFound(c);
  // The body is not read: RFC 8058's `List-Unsubscribe=One-Click`, a form's empty body and
  // anything else mean the same thing here.
  const client = clientOf(c);
  const send = await withDb(
    c.get("config"),
    async (db) => {
      const found = await findCampaignSend(db, token.sendId);
      if (found !== undefined) await unsubscribeSend(db, found, client);
      return found;
    },
    c.executionCtx,
  );
  if (send === undefined) return await notFound(c);
  return c.html(await unsubscribePageHtml({ kind: "done", props: { address: send.recipient } }));
});
