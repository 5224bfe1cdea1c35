import type { FC } from "hono/jsx";
import { when } from "../components";
import { Layout } from "../layout";

/**
 * /order/:number/answer: the customer's answer to a catalog question (South Carolina's Form E).
 * The e-mail's "Yes" and "No" links open this page with that answer chosen; only the button
 * records it (a POST), because mail scanners open every link in a message
 * (workers/routes/answer-pages.tsx says why).
 */

export type Answer = "yes" | "no";

export type AnswerView =
  /** The question with a confirm button for `chosen`, or both buttons when none was chosen. */
  | {
      kind: "ask";
      chosen?: Answer;
      /** Where the form posts (the token travels in it). */
      action: string;
      /** The same page with the other answer chosen. */
      chooseUrl: Record<Answer, string>;
      consequences: Record<Answer, string>;
      expiresAt: Date;
      error?: string;
    }
  /** This request recorded the answer. */
  | { kind: "recorded"; answer: Answer; next: string }
  /** Answered before (by the customer or our team). */
  | { kind: "answered"; answer: Answer; at?: Date; byTeam: boolean; next: string }
  /** Cancelled or refunded: nothing to answer. */
  | { kind: "closed"; statusLabel: string }
  /** The order is not waiting for this answer (not yet, or no longer). */
  | { kind: "not_open"; statusLabel: string; message: string };

export interface AnswerPageProps {
  serviceName: string;
  orderNumber: string;
  question: string;
  guidance?: string;
  orderUrl: string;
  view: AnswerView;
}

const LABEL: Record<Answer, string> = { yes: "Yes", no: "No" };

export const AnswerPage: FC<AnswerPageProps> = (p) => (
  <Layout title={`A question about your ${p.serviceName}`}>
    <h1>A question about your {p.serviceName}</h1>
    <p class="muted">Order {p.orderNumber}</p>
    <blockquote class="notice">
      <strong>{p.question}</strong>
    </blockquote>
    <AnswerSection {...p} />
    <p>
      <a href={p.orderUrl}>See this order and its history</a>
    </p>
  </Layout>
);

const AnswerSection: FC<AnswerPageProps> = (p) => {
  const v = p.view;
  switch (v.kind) {
    case "ask":
      return (
        <>
          {p.guidance ? <p>{p.guidance}</p> : null}
          {v.error ? (
            <p class="error" role="alert">
              {v.error}
            </p>
          ) : null}
          {v.chosen ? (
            <>
              <p>
                Your answer: <strong>{LABEL[v.chosen]}</strong>. {v.consequences[v.chosen]}
              </p>
              <ConfirmForm action={v.action} answer={v.chosen} />
              <p>
                <small>
                  Not right? <a href={v.chooseUrl[other(v.chosen)]}>Answer {LABEL[other(v.chosen)]} instead</a>.
                </small>
              </p>
            </>
          ) : (
            <ul class="methods">
              {(["yes", "no"] as const).map((a) => (
                <li>
                  <span>
                    <strong>{LABEL[a]}</strong>: {v.consequences[a]}
                  </span>
                  <ConfirmForm action={v.action} answer={a} />
                </li>
              ))}
            </ul>
          )}
          <p>
            <small>
              Nothing is recorded until you press the button. You answer once; this link works until {when(v.expiresAt)}
              .
            </small>
          </p>
        </>
      );
    case "recorded":
      return (
        <div class="notice ok" role="status">
          <h2>Thank you: we have your answer</h2>
          <p>
            You answered <strong>{LABEL[v.answer]}</strong>. {v.next}
          </p>
          <p>We will e-mail you when anything else is needed.</p>
        </div>
      );
    case "answered":
      return (
        <div class="notice" role="status">
          <h2>This question is already answered</h2>
          <p>
            {v.byTeam ? "Our team recorded the answer" : "You answered"} <strong>{LABEL[v.answer]}</strong>
            {v.at ? ` on ${when(v.at)}` : ""}. {v.next}
          </p>
          <p>If that is not right, reply to our e-mail and we will correct it.</p>
        </div>
      );
    case "closed":
      return (
        <div class="notice warn" role="status">
          <h2>This order is closed</h2>
          <p>
            The order is {v.statusLabel.toLowerCase()}, so there is nothing to answer. If you think this is a mistake,
            reply to our e-mail.
          </p>
        </div>
      );
    case "not_open":
      return (
        <div class="notice" role="status">
          <h2>This question is not open</h2>
          <p>
            {v.message} Current status: <strong>{v.statusLabel}</strong>.
          </p>
        </div>
      );
  }
};

function other(a: Answer): Answer {
  return a === "yes" ? "no" : "yes";
}

const ConfirmForm: FC<{ action: string; answer: Answer }> = ({ action, answer }) => (
  <form method="post" action={action}>
    <input type="hidden" name="answer" value={answer} />
    <button type="submit">Confirm: {LABEL[answer]}</button>
  </form>
);
