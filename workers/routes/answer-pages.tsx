import { Hono, type Context } from "hono";
import { z } from "zod";
import { withDb, type Db } from "../../db/client";
import {
  eventsOf,
  findOrderWithCustomer,
  type EventView,
  type OrderWithCustomer,
} from "../../db/government-fee-orders";
import { ORDER_NUMBER } from "../../db/order-numbers";
import {
  linkExpiry,
  linkSecret,
  orderPath,
  signLinkToken,
  verifyLinkToken,
  type LinkSettings,
} from "../../domain/auth/signed-link";
import type { CustomerQuestionGate } from "../../domain/catalog/service-definition";
import { getService } from "../../domain/catalog/services";
import { answerConsequence } from "../../domain/orders/order-emails";
import { EVENT_KEYS, LIFECYCLE_EVENT_PAYLOADS } from "../../domain/orders/order-events";
import { isOrderStatus, STATUS_LABELS, TERMINAL_STATUSES, type OrderStatus } from "../../domain/orders/order-status";
import type { ApplyResult } from "../../durable-objects/order-machine";
import { AnswerPage, type Answer, type AnswerPageProps, type AnswerView } from "../../web/pages/answer-page";
import { MessagePage } from "../../web/pages/message-page";
import type { AppEnv } from "../app-env";
import { crossSite, crossSiteRefused, customerPageError, formFields } from "./customer-form";
import { customerPageHeaders, refused, render } from "./order-pages";

/**
 * The customer's answer to a catalog question (South Carolina's Form E), reached from the
 * "Yes" / "No" links of the customer_question e-mail:
 *
 *   GET  /order/:number/answer?token=…&answer=yes|no   the question and one confirm button
 *   POST /order/:number/answer?token=…   (answer=yes|no) records it: `customer_answered`
 *
 * Why the GET records nothing: mail link scanners (Microsoft Safe Links, Mimecast, Proofpoint)
 * fetch every link in a message before the customer sees it, so a one-click GET that recorded
 * the answer would record both answers, first come first served. The same reasoning makes RFC
 * 8058 require one-click unsubscribe to be a POST; HTTP GET is safe (RFC 9110 §9.2.1) and a
 * scanner relies on that. The link opens a page; only the customer's button press (a POST)
 * changes anything.
 *
 * The token is an "answer" link (domain/auth/signed-link.ts) whose subject names the order and
 * the question (`answerSubject`), so a link for one order or question opens no other. Forged,
 * foreign or expired → 403 and nothing is read or changed. The order machine is the only writer:
 * this route sends it the event, keyed `answer:<question>`, so a double submit is one event.
 */

export const answerRoutes = new Hono<AppEnv>();

const ANSWER_PATH = "/:number/answer";
answerRoutes.use(ANSWER_PATH, customerPageHeaders);

type PageContext = Context<AppEnv>;

// ---------------------------------------------------------------------------------------------
// Links

/** Question ids as the catalog writes them ("sc-form-e"). */
const QUESTION_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;

/**
 * The signed subject of an answer link: the order and the question. Link subjects are
 * `[A-Za-z0-9_-]` only, so the two are joined by "_", which no order number contains (CO-2026-…):
 * the first "_" splits them unambiguously.
 */
export function answerSubject(orderNumber: string, questionId: string): string {
  if (!ORDER_NUMBER.test(orderNumber))
    throw new Error(`answerSubject: ${JSON.stringify(orderNumber)} is not an order number`);
  if (!QUESTION_ID.test(questionId))
    throw new Error(`answerSubject: ${JSON.stringify(questionId)} is not a question id`);
  return `${orderNumber}_${questionId}`;
}

export function parseAnswerSubject(subject: string): { orderNumber: string; questionId: string } | undefined {
  const at = subject.indexOf("_");
  if (at < 0) return undefined;
  const orderNumber = subject.slice(0, at);
  const questionId = subject.slice(at + 1);
  return ORDER_NUMBER.test(orderNumber) && QUESTION_ID.test(questionId) ? { orderNumber, questionId } : undefined;
}

export function answerPath(orderNumber: string): string {
  return `${orderPath(orderNumber)}/answer`;
}

/**
 * The two links of a customer_question e-mail: one token (it names the order and the question,
 * not the answer) and the chosen answer as a plain parameter, since choosing is not answering.
 * `expiresAt` is the token's own expiry (whole seconds), for the e-mail to state.
 */
export async function answerLinks(
  settings: LinkSettings,
  orderNumber: string,
  questionId: string,
  now = new Date(),
): Promise<{ yesUrl: string; noUrl: string; expiresAt: Date }> {
  const expiresAt = new Date(Math.floor(linkExpiry(settings, now).getTime() / 1000) * 1000);
  const token = await signLinkToken(linkSecret(settings), {
    purpose: "answer",
    subject: answerSubject(orderNumber, questionId),
    expiresAt,
  });
  const url = (answer: Answer) => {
    const u = new URL(`${settings.PUBLIC_BASE_URL.replace(/\/+$/, "")}${answerPath(orderNumber)}`);
    u.searchParams.set("token", token);
    u.searchParams.set("answer", answer);
    return u.toString();
  };
  return { yesUrl: url("yes"), noUrl: url("no"), expiresAt };
}

interface AnswerLink {
  orderNumber: string;
  questionId: string;
  token: string;
  expiresAt: Date;
}

/**
 * The token must be an "answer" link whose subject is `answerSubject(number, question)` for the
 * order in the path. The question id is read from the subject only after the MAC is checked, so
 * it is ours; a token for another order (or anything that is not an answer link) is refused.
 */
async function verifyAnswerLink(
  c: PageContext,
  number: string,
  raw: string | undefined,
): Promise<{ ok: true; link: AnswerLink } | { ok: false; response: Promise<Response> }> {
  const secret = linkSecret(c.get("config"));
  if (!ORDER_NUMBER.test(number) || raw === undefined || raw.length === 0 || raw.length > 512) {
    return { ok: false, response: refused(c, "invalid", number) };
  }
  const check = await verifyLinkToken(secret, raw, { purpose: "answer" });
  if (!check.ok) {
    return { ok: false, response: refused(c, check.reason === "expired" ? "expired" : "invalid", number) };
  }
  const subject = parseAnswerSubject(check.subject);
  if (!subject || subject.orderNumber !== number) return { ok: false, response: refused(c, "invalid", number) };
  return { ok: true, link: { ...subject, token: raw, expiresAt: check.expiresAt } };
}

// ---------------------------------------------------------------------------------------------
// What the order says about the question

interface Loaded {
  found: OrderWithCustomer;
  status: OrderStatus;
  events: EventView[];
  gate: CustomerQuestionGate;
  serviceName: string;
}

async function load(db: Db, link: AnswerLink): Promise<Loaded | undefined> {
  const found = await findOrderWithCustomer(db, link.orderNumber);
  if (!found || found.order.parentOrderId !== null || !isOrderStatus(found.order.status)) return undefined;
  const service = getService(found.order.serviceSlug);
  const gate = service?.customerQuestion;
  if (!service || !gate || gate.id !== link.questionId) return undefined;
  const events = await eventsOf(db, found.order.id);
  return { found, status: found.order.status, events, gate, serviceName: service.displayName };
}

const answeredPayload = LIFECYCLE_EVENT_PAYLOADS.customer_answered;

/** The answer that stands: the last `customer_answered` for this question (an admin may correct a "no"). */
function lastAnswer(events: readonly EventView[], questionId: string) {
  let last: { answer: Answer; at: Date; byTeam: boolean } | undefined;
  for (const e of events) {
    if (e.type !== "customer_answered") continue;
    const p = answeredPayload.safeParse(e.payload);
    if (!p.success || p.data.questionId !== questionId) continue;
    last = { answer: p.data.answer, at: e.occurredAt, byTeam: p.data.actor.kind === "admin" };
  }
  return last;
}

/** Stages before the question is asked; anything else (but payment_failed) is past it. */
const BEFORE_QUESTION: readonly OrderStatus[] = [
  "pending_payment",
  "payment_processing",
  "paid",
  "awaiting_intake",
  "awaiting_signature",
];

function notOpenMessage(status: OrderStatus): string {
  if (status === "payment_failed") {
    return "Your order's payment needs attention first; we will ask again once it is settled.";
  }
  if (BEFORE_QUESTION.includes(status)) return "Your order is not at this step yet; we will e-mail you when it is.";
  return "Your order no longer needs this answer.";
}

/** The page for an order whose question cannot be answered now, or undefined when it can. */
function settledView(loaded: Loaded, questionId: string): AnswerView | undefined {
  const label = STATUS_LABELS[loaded.status];
  const answered = lastAnswer(loaded.events, questionId);
  if (answered) {
    const next =
      loaded.status === "awaiting_customer_answer"
        ? answerConsequence(loaded.gate, answered.answer)
        : `Your order has moved on since; its status is now "${label}".`;
    return { kind: "answered", ...answered, next };
  }
  if (TERMINAL_STATUSES.includes(loaded.status)) return { kind: "closed", statusLabel: label };
  if (loaded.status !== "awaiting_customer_answer") {
    return { kind: "not_open", statusLabel: label, message: notOpenMessage(loaded.status) };
  }
  return undefined;
}

async function pageProps(c: PageContext, loaded: Loaded, link: AnswerLink, view: AnswerView): Promise<AnswerPageProps> {
  const config = c.get("config");
  // The order page, expiring with the link the customer came with.
  const orderToken = await signLinkToken(linkSecret(config), {
    purpose: "order-view",
    subject: link.orderNumber,
    expiresAt: link.expiresAt,
  });
  return {
    serviceName: loaded.serviceName,
    orderNumber: link.orderNumber,
    question: loaded.gate.question,
    ...(loaded.gate.guidance ? { guidance: loaded.gate.guidance } : {}),
    orderUrl: `${orderPath(link.orderNumber)}?token=${encodeURIComponent(orderToken)}`,
    view,
  };
}

/** The question with its confirm button(s); URLs are relative to this page (they keep any path prefix). */
function askView(loaded: Loaded, link: AnswerLink, chosen?: Answer, error?: string): AnswerView {
  const token = `?token=${encodeURIComponent(link.token)}`;
  return {
    kind: "ask",
    ...(chosen ? { chosen } : {}),
    action: token,
    chooseUrl: { yes: `${token}&answer=yes`, no: `${token}&answer=no` },
    consequences: { yes: answerConsequence(loaded.gate, "yes"), no: answerConsequence(loaded.gate, "no") },
    expiresAt: link.expiresAt,
    ...(error ? { error } : {}),
  };
}

function noQuestion(c: PageContext, number: string) {
  return render(
    c,
    <MessagePage title="We cannot find this question">
      <p>Order {number} has no open question for you. If you think this is a mistake, reply to our e-mail.</p>
    </MessagePage>,
    404,
  );
}

// ---------------------------------------------------------------------------------------------
// Routes

answerRoutes.onError(
  customerPageError({ unavailableTitle: "This page is unavailable", notDone: "Your answer was not recorded." }),
);

const answerField = z.enum(["yes", "no"]);

// Safe: shows the question and a confirm button; records nothing (see the module comment).
answerRoutes.get(ANSWER_PATH, async (c) => {
  const config = c.get("config");
  const verified = await verifyAnswerLink(c, c.req.param("number"), c.req.query("token"));
  if (!verified.ok) return verified.response;
  const { link } = verified;
  const chosen = answerField.safeParse(c.req.query("answer")).data;
  const loaded = await withDb(config, (db) => load(db, link), c.executionCtx);
  if (!loaded) return noQuestion(c, link.orderNumber);
  const view = settledView(loaded, link.questionId) ?? askView(loaded, link, chosen);
  return render(c, <AnswerPage {...await pageProps(c, loaded, link, view)} />);
});

answerRoutes.post(ANSWER_PATH, async (c) => {
  const config = c.get("config");
  if (crossSite(c)) return crossSiteRefused(c);
  const verified = await verifyAnswerLink(c, c.req.param("number"), c.req.query("token"));
  if (!verified.ok) return verified.response;
  const { link } = verified;
  const form = await formFields(c);
  const answer = answerField.safeParse(form.answer).data;

  const loaded = await withDb(config, (db) => load(db, link), c.executionCtx);
  if (!loaded) return noQuestion(c, link.orderNumber);
  const settled = settledView(loaded, link.questionId);
  if (settled) {
    // Answered before (a double submit, or the other link pressed later): the first answer stands.
    const status = settled.kind === "answered" ? 200 : 409;
    return render(c, <AnswerPage {...await pageProps(c, loaded, link, settled)} />, status);
  }
  if (!answer) {
    const view = askView(loaded, link, undefined, "Please choose Yes or No.");
    return render(c, <AnswerPage {...await pageProps(c, loaded, link, view)} />, 422);
  }

  const machine = c.env.ORDER_MACHINE.get(c.env.ORDER_MACHINE.idFromName(link.orderNumber));
  const result = (await machine.apply(link.orderNumber, {
    type: "customer_answered",
    key: EVENT_KEYS.answer(link.questionId),
    at: new Date().toISOString(),
    payload: { questionId: link.questionId, answer, actor: { kind: "customer" } },
  })) as ApplyResult;

  if (result.outcome === "applied") {
    const view: AnswerView = { kind: "recorded", answer, next: answerConsequence(loaded.gate, answer) };
    return render(c, <AnswerPage {...await pageProps(c, loaded, link, view)} />);
  }

  // Duplicate (a concurrent submit won) or rejected: say what the order now holds.
  const after = (await withDb(config, (db) => load(db, link), c.executionCtx)) ?? loaded;
  if (result.outcome === "rejected") {
    console.warn(
      JSON.stringify({
        level: "warn",
        event: "customer_answer_rejected",
        order: link.orderNumber,
        code: result.code,
        status: result.status,
      }),
    );
  }
  const view: AnswerView = settledView(after, link.questionId) ?? {
    kind: "not_open",
    statusLabel: STATUS_LABELS[after.status],
    message:
      result.outcome === "duplicate"
        ? "We already have an answer to this question."
        : "We could not record your answer at this step. Please reply to our e-mail and we will sort it out.",
  };
  return render(
    c,
    <AnswerPage {...await pageProps(c, after, link, view)} />,
    result.outcome === "duplicate" ? 200 : 409,
  );
});

// ---------------------------------------------------------------------------------------------
