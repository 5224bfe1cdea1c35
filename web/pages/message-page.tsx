import type { Child, FC } from "hono/jsx";
import { Layout } from "../layout";

/** A page that only says something: a refused link, a missing order, a provider that did not answer. */
export const MessagePage: FC<{ title: string; children?: Child }> = ({ title, children }) => (
  <Layout title={title}>
    <h1>{title}</h1>
    {children}
  </Layout>
);

export interface LinkRefusedProps {
  reason: "expired" | "invalid";
  ttlDays: number;
  contact: string;
  orderNumber?: string;
}

/** 403 for a missing, forged, foreign or expired link: what happened and how to get a new one. */
export const LinkRefusedPage: FC<LinkRefusedProps> = (p) => (
  <MessagePage title={p.reason === "expired" ? "This link has expired" : "This link does not work"}>
    <p>
      {p.reason === "expired"
        ? `For your security, the links in our e-mails work for ${p.ttlDays} days.`
        : "The link is incomplete, was changed, or belongs to another page. Open the latest link we e-mailed you, exactly as it is."}
    </p>
    <h2>Getting a new link</h2>
    <p>
      Reply to any e-mail from us, or write to <a href={`mailto:${p.contact}`}>{p.contact}</a>
      {p.orderNumber ? `, mentioning order ${p.orderNumber}` : ", mentioning your order number"}, and we will send you a
      fresh link.
    </p>
  </MessagePage>
);
