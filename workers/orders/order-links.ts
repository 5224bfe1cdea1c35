import { linkExpiry, linkSecret, orderViewLink, signLinkToken, type LinkSettings } from "../../domain/auth/signed-link";

/**
 * The signed, expiring links the order machine's e-mails carry. Each is made for one purpose and
 * one order (domain/auth/signed-link.ts), so a link for one page or order opens no other.
 */

async function tokenFor(
  settings: LinkSettings,
  purpose: "intake" | "sign" | "order-view" | "monitoring",
  subject: string,
  now: Date,
): Promise<string> {
  return await signLinkToken(linkSecret(settings), { purpose, subject, expiresAt: linkExpiry(settings, now) });
}

/** The intake wizard: `/order/<slug>?order=…&token=…` (never the sales page). */
export async function intakeWizardLink(
  settings: LinkSettings,
  order: { number: string; slug: string },
  now = new Date(),
): Promise<string> {
  const url = new URL(`/order/${encodeURIComponent(order.slug)}`, settings.PUBLIC_BASE_URL);
  url.searchParams.set("order", order.number);
  url.searchParams.set("token", await tokenFor(settings, "intake", order.number, now));
  return url.toString();
}

export async function signingLink(settings: LinkSettings, orderNumber: string, now = new Date()): Promise<string> {
  const url = new URL(`/order/${encodeURIComponent(orderNumber)}/sign`, settings.PUBLIC_BASE_URL);
  url.searchParams.set("token", await tokenFor(settings, "sign", orderNumber, now));
  return url.toString();
}

/**
 * The bundle invitation's page: monthly monitoring, prefilled from the bundle order
 * (`/order/<bundle number>/monitoring?token=…`, workers/routes/monitoring-invitation.tsx).
 */
export async function monitoringLink(settings: LinkSettings, orderNumber: string, now = new Date()): Promise<string> {
  const url = new URL(`/order/${encodeURIComponent(orderNumber)}/monitoring`, settings.PUBLIC_BASE_URL);
  url.searchParams.set("token", await tokenFor(settings, "monitoring", orderNumber, now));
  return url.toString();
}

/** The documents of an order live under `orders/<number>/` in R2; the link names the rest of the key. */
export async function documentLink(
  settings: LinkSettings,
  orderNumber: string,
  r2Key: string,
  now = new Date(),
): Promise<string> {
  const prefix = `orders/${orderNumber}/`;
  if (!r2Key.startsWith(prefix)) throw new Error(`${r2Key} is not a document of ${orderNumber}`);
  const rest = r2Key.slice(prefix.length).split("/").map(encodeURIComponent).join("/");
  const url = new URL(`/order/${encodeURIComponent(orderNumber)}/documents/${rest}`, settings.PUBLIC_BASE_URL);
  url.searchParams.set("token", await tokenFor(settings, "order-view", orderNumber, now));
  return url.toString();
}

export { orderViewLink };
