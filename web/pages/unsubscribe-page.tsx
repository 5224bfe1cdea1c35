import type { FC } from "hono/jsx";
import { Layout } from "../layout";

/**
 * The unsubscribe link's pages (workers/routes/tracking.ts). GET only asks: link scanners and
 * prefetchers follow every link in a message, so a GET that unsubscribed would unsubscribe people
 * who never asked (RFC 8058 1: "the mail sender needs to prevent that"). The button POSTs to the
 * same URL, as a mail client's one-click unsubscribe does.
 */

export interface UnsubscribeConfirmProps {
  /** The address, shown so that someone with several addresses knows which one this is. */
  address: string;
  /** The same /u/<token> path the form posts to. */
  action: string;
}

export const UnsubscribeConfirmPage: FC<UnsubscribeConfirmProps> = ({ address, action }) => (
  <Layout title="Unsubscribe">
    <h1>Unsubscribe</h1>
    <p>
      Stop all marketing e-mail from Docket to <strong>{address}</strong>?
    </p>
    <form method="post" action={action}>
      <button type="submit">Unsubscribe</button>
    </form>
    <p class="muted">It takes effect at once. Messages about orders you place with us are not affected.</p>
  </Layout>
);

export const UnsubscribedPage: FC<{ address: string }> = ({ address }) => (
  <Layout title="Unsubscribed">
    <h1>You are unsubscribed</h1>
    <div class="notice ok">
      <p>
        We will not send marketing e-mail to <strong>{address}</strong> again.
      </p>
    </div>
    <p class="muted">If this was a mistake, reply to any of our e-mails and we will put it right.</p>
  </Layout>
);

/** A whole HTML document, for routes written in plain TypeScript. */
export async function unsubscribePageHtml(
  page: { kind: "confirm"; props: UnsubscribeConfirmProps } | { kind: "done"; props: { address: string } },
): Promise<string> {
  const node =
    page.kind === "confirm" ? <UnsubscribeConfirmPage {...page.props} /> : <UnsubscribedPage {...page.props} />;
  return `<!doctype html>\n${await node.toString()}`;
}

/** 404 for a tracking or unsubscribe link that is not ours (changed, cut short, or unknown). */
export async function trackingLinkNotFoundHtml(): Promise<string> {
  const node = (
    <Layout title="This link does not work">
      <h1>This link does not work</h1>
      <p>The link is incomplete or was changed. Open it again from the e-mail, exactly as it is.</p>
    </Layout>
  );
  return `<!doctype html>\n${await node.toString()}`;
}
