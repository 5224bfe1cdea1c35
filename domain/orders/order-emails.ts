import type { IntakeProblem } from "../catalog/intake";
import type { CustomerQuestionGate } from "../catalog/service-definition";
import { CATALOG, getService } from "../catalog/services";
import type { CustomerEmail } from "./order-effects";
import { escapeHtml } from "../mail/escape-html";

/**
 * The e-mails the order machine sends a customer (the `email_customer` effect), composed from
 * the effect and the links the effect runner signed. Pure: no clock, no bindings.
 *
 * Every message:
 * - names the service by its catalog display name (the old system once sent an "MCS-150" e-mail
 *   for a UCR approval);
 * - is built from one list of blocks rendered twice, so the plaintext part says everything the
 *   HTML part says (and a client that shows only text loses nothing);
 * - escapes every interpolated value in the HTML part: names, intake labels and messages can hold
 *   what a customer typed;
 * - refuses to be built without the links its template needs (OrderEmailError): an e-mail that
 *   asks for something must say where to do it.
 */

export interface OrderEmailContext {
  /** The service's display name from the catalog (`getService(slug).displayName`). */
  serviceName: string;
  /**
   * The service's catalog slug. When given, the customer question is looked up on this service
   * (`service.customerQuestion`); otherwise by its id across the catalog.
   */
  serviceSlug?: string;
  orderNumber: string;
  customerName?: string;
  /** Absolute http(s) URLs, signed by the caller. Which are required depends on the template. */
  links: {
    /** The order's page (status, history, documents): required by every template. */
    orderUrl: string;
    /** intake_request: the intake wizard (never the sales page). */
    intakeUrl?: string;
    /** signature_request: the signing page. */
    signUrl?: string;
    /** customer_question: the two answer pages (workers/routes/answer-pages.tsx `answerLinks`). */
    answerYesUrl?: string;
    answerNoUrl?: string;
    /** completion: one per document, in the order of `documents`. */
    documentUrls?: string[];
    /** bundle_invitation: where the customer signs up for monthly monitoring. */
    monitoringUrl?: string;
  };
  /** When the signed links stop working. Required by signature_request; shown by the others when given. */
  linkExpiresAt?: Date;
}

export interface ComposedOrderEmail {
  subject: string;
  text: string;
  html: string;
}

export type OrderEmailErrorCode = "missing_link" | "invalid_link" | "unknown_question" | "unknown_service";

/** A caller bug (a link not signed, a question the catalog does not know): never the customer's input. */
export class OrderEmailError extends Error {
  constructor(
    readonly code: OrderEmailErrorCode,
    readonly template: CustomerEmail["template"],
    message: string,
  ) {
    super(`${template} e-mail: ${message}`);
    this.name = "OrderEmailError";
  }
}

/** The recurring service the Provider Compliance Bundle invites its customers to. */
export const MONITORING_SERVICE_SLUG = "oig-sam-screening";

export function composeOrderEmail(email: CustomerEmail, ctx: OrderEmailContext): ComposedOrderEmail {
  const order = requireLink(email.template, "orderUrl", ctx.links.orderUrl);
  const message = compose(email, ctx);
  const blocks: Block[] = [
    { kind: "p", text: ctx.customerName?.trim() ? `Hello ${ctx.customerName.trim()},` : "Hello," },
    ...message.blocks,
    { kind: "link", label: `Your order ${ctx.orderNumber} (status and history)`, url: order },
    ...(ctx.linkExpiresAt && email.template !== "signature_request"
      ? [{ kind: "small" as const, text: `The links in this e-mail work until ${longDate(ctx.linkExpiresAt)}.` }]
      : []),
    {
      kind: "small",
      text: "Questions? Reply to this e-mail.",
    },
    { kind: "p", text: "Thank you,\nDocket" },
  ];
  return { subject: oneLine(message.subject), text: renderText(blocks), html: renderHtml(message.subject, blocks) };
}

/** What happens after each answer, in the customer's words: the e-mail and the answer page say the same. */
export function answerConsequence(gate: CustomerQuestionGate, answer: "yes" | "no"): string {
  if (answer === "yes") {
    return gate.onYes.billsGovernmentFee
      ? "We bill the state fee for your filing and then continue with it."
      : "We continue with your filing.";
  }
  return gate.onNo.task === "insurance-broker-referral"
    ? "We hold the filing and connect you with an insurance broker who can file it. Once your coverage can be filed, we continue."
    : "We hold the filing, and a member of our team contacts you about the next step.";
}

/** The question gate `questionId`, on `serviceSlug` when given, else anywhere in the catalog. */
export function findCustomerQuestion(questionId: string, serviceSlug?: string): CustomerQuestionGate | undefined {
  if (serviceSlug !== undefined) {
    const gate = getService(serviceSlug)?.customerQuestion;
    return gate?.id === questionId ? gate : undefined;
  }
  return CATALOG.find((s) => s.customerQuestion?.id === questionId)?.customerQuestion ?? undefined;
}

// ---------------------------------------------------------------------------------------------
// Templates

interface Message {
  subject: string;
  blocks: Block[];
}

function compose(email: CustomerEmail, ctx: OrderEmailContext): Message {
  const service = ctx.serviceName;
  const order = `order ${ctx.orderNumber}`;
  switch (email.template) {
    case "intake_request": {
      const url = requireLink(email.template, "intakeUrl", ctx.links.intakeUrl);
      const count = email.missing.length;
      const what = count === 1 ? "1 detail" : `${count} details`;
      const subject =
        count === 0
          ? `Please review the details for your ${service} (${order})`
          : email.reminder > 0
            ? `Reminder ${email.reminder}: ${what} still needed for your ${service} (${order})`
            : `Action needed: ${what} for your ${service} (${order})`;
      const blocks: Block[] =
        count === 0
          ? [{ kind: "p", text: `Here is the link to review the details we have for your ${service}.` }]
          : [
              {
                kind: "p",
                text: `To file your ${service}, we still need the following from you:`,
              },
              { kind: "list", items: email.missing.map(problemLine) },
            ];
      blocks.push(
        { kind: "button", label: count === 0 ? "Review your details" : "Complete your details", url },
        {
          kind: "p",
          text: "The form saves as you go and asks for no payment. Nothing is filed until these details are complete.",
        },
      );
      if (email.reminder > 0) {
        blocks.push({
          kind: "small",
          text: `This is reminder ${email.reminder}. They stop as soon as the details are complete; if something is unclear, reply and we will help.`,
        });
      }
      return { subject, blocks };
    }

    case "signature_request": {
      const url = requireLink(email.template, "signUrl", ctx.links.signUrl);
      if (!ctx.linkExpiresAt) {
        throw new OrderEmailError(
          "missing_link",
          email.template,
          "linkExpiresAt is required (the e-mail says how long the link works)",
        );
      }
      return {
        subject: `Signature needed: ${email.title} for your ${service} (${order})`,
        blocks: [
          {
            kind: "p",
            text: `Before we can file your ${service}, we need your signature on this document: ${email.title}.`,
          },
          { kind: "button", label: "Review and sign", url },
          {
            kind: "p",
            text: `You can type or draw your signature. The link works until ${longDate(ctx.linkExpiresAt)}; if it has expired, reply to this e-mail and we will send a new one.`,
          },
        ],
      };
    }

    case "customer_question": {
      const gate = findCustomerQuestion(email.questionId, ctx.serviceSlug);
      if (!gate) {
        throw new OrderEmailError(
          "unknown_question",
          email.template,
          `no catalog question "${email.questionId}"${ctx.serviceSlug ? ` on ${ctx.serviceSlug}` : ""}`,
        );
      }
      const yes = requireLink(email.template, "answerYesUrl", ctx.links.answerYesUrl);
      const no = requireLink(email.template, "answerNoUrl", ctx.links.answerNoUrl);
      return {
        subject: `One question before we file your ${service} (${order})`,
        blocks: [
          { kind: "p", text: `Before we file your ${service}, we need one answer from you:` },
          { kind: "quote", text: gate.question },
          ...(gate.guidance ? [{ kind: "p" as const, text: gate.guidance }] : []),
          { kind: "button", label: "Yes", url: yes },
          { kind: "button", label: "No", url: no },
          {
            kind: "list",
            items: [
              `If you answer Yes, ${lowerFirst(answerConsequence(gate, "yes"))}`,
              `If you answer No, ${lowerFirst(answerConsequence(gate, "no"))}`,
            ],
          },
          {
            kind: "small",
            text: "Each link opens a page where you confirm your answer; nothing is recorded until you do.",
          },
        ],
      };
    }

    case "completion": {
      const urls = ctx.links.documentUrls ?? [];
      if (urls.length !== email.documents.length) {
        throw new OrderEmailError(
          "missing_link",
          email.template,
          `${email.documents.length} documents but ${urls.length} document links`,
        );
      }
      const documents = email.documents.map((d, i) => ({
        kind: "link" as const,
        label: d.label,
        url: requireLink(email.template, `documentUrls[${i}]`, urls[i]),
      }));
      const confirmation = email.confirmation?.trim();
      return {
        subject: `Completed: your ${service} (${email.cycleLabel}, ${order})`,
        blocks: [
          { kind: "p", text: `Your ${service} is complete.` },
          {
            kind: "list",
            items: [
              `Service: ${service}`,
              `Cycle: ${email.cycleLabel}`,
              ...(confirmation ? [`Confirmation number: ${confirmation}`] : []),
            ],
          },
          ...(documents.length > 0
            ? [
                { kind: "p" as const, text: documents.length === 1 ? "Your document:" : "Your documents:" },
                ...documents,
              ]
            : []),
          {
            kind: "p",
            text: "Your order page keeps these documents and the full history. Please keep this e-mail for your records.",
          },
        ],
      };
    }

    case "bundle_invitation": {
      const monitoring = getService(MONITORING_SERVICE_SLUG);
      if (!monitoring) {
        throw new OrderEmailError(
          "unknown_service",
          email.template,
          `${MONITORING_SERVICE_SLUG} is not in the catalog`,
        );
      }
      const url = requireLink(email.template, "monitoringUrl", ctx.links.monitoringUrl);
      // No price here: the sign-up page shows it with its terms (and this e-mail stays true when it changes).
      return {
        subject: `${monitoring.displayName} after your ${service} (${order})`,
        blocks: [
          {
            kind: "p",
            text: `Your ${service} included one OIG/SAM exclusion screening. Exclusion lists change every month, so a clean screening is only current until the next update.`,
          },
          {
            kind: "p",
            text: "HHS-OIG adds names to its exclusion list (the LEIE) every month and advises providers to check it regularly; under 42 CFR 1001.1901, federal health care programs pay nothing for items or services furnished by an excluded person, so an employee or contractor excluded after your last check puts those claims at risk and can lead to civil monetary penalties.",
          },
          {
            kind: "p",
            text: `With ${monitoring.displayName}, we screen your practice and staff against the current OIG and SAM lists every month and send you a new dated certificate each time.`,
          },
          { kind: "button", label: `About ${monitoring.displayName}`, url },
          {
            kind: "small",
            text: "We send this invitation once. If you already screen monthly, you can ignore it.",
          },
        ],
      };
    }
  }
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** "USDOT number (required)" for a missing field, "ZIP code: must be 5 digits" for a wrong one. */
function problemLine(problem: IntakeProblem): string {
  const message = problem.message.trim();
  if (message === `${problem.label} is required`) return `${problem.label} (required)`;
  return `${problem.label}: ${message}`;
}

function requireLink(template: CustomerEmail["template"], name: string, url: string | undefined): string {
  if (url === undefined || url === "") throw new OrderEmailError("missing_link", template, `links.${name} is required`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OrderEmailError("invalid_link", template, `links.${name} is not an absolute URL`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new OrderEmailError("invalid_link", template, `links.${name} is not an http(s) URL`);
  }
  return url;
}

// ---------------------------------------------------------------------------------------------
// Rendering: one block list, two parts

type Block =
  | { kind: "p"; text: string }
  | { kind: "small"; text: string }
  | { kind: "quote"; text: string }
  | { kind: "list"; items: string[] }
  /** A call to action: a button in HTML, the label and the URL on their own lines in text. */
  | { kind: "button"; label: string; url: string }
  | { kind: "link"; label: string; url: string };

function renderText(blocks: readonly Block[]): string {
  const parts: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case "p":
      case "small":
        parts.push(b.text);
        break;
      case "quote":
        parts.push(
          b.text
            .split("\n")
            .map((line) => `> ${line}`)
            .join("\n"),
        );
        break;
      case "list":
        parts.push(b.items.map((i) => `  - ${i}`).join("\n"));
        break;
      case "button":
        parts.push(`${b.label}:\n${b.url}`);
        break;
      case "link":
        parts.push(`${b.label}: ${b.url}`);
        break;
    }
  }
  return `${parts.join("\n\n")}\n`;
}

const P = "margin:0 0 16px";

function renderHtml(title: string, blocks: readonly Block[]): string {
  const body = blocks
    .map((b) => {
      switch (b.kind) {
        case "p":
          return `<p style="${P}">${lines(b.text)}</p>`;
        case "small":
          return `<p style="${P};font-size:13px;color:#57606a">${lines(b.text)}</p>`;
        case "quote":
          return `<blockquote style="${P};padding:8px 12px;border-left:4px solid #0b5cad;background:#eef5fc">${lines(b.text)}</blockquote>`;
        case "list":
          return `<ul style="${P};padding-left:20px">${b.items.map((i) => `<li>${lines(i)}</li>`).join("")}</ul>`;
        case "button":
          return `<p style="${P}"><a href="${escapeHtml(b.url)}" style="display:inline-block;padding:10px 18px;border-radius:6px;background:#0b5cad;color:#ffffff;text-decoration:none;font-weight:600">${escapeHtml(b.label)}</a></p>`;
        case "link":
          return `<p style="${P}"><a href="${escapeHtml(b.url)}" style="color:#0b5cad">${escapeHtml(b.label)}</a></p>`;
      }
    })
    .join("\n");
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(oneLine(title))}</title></head>`,
    '<body style="margin:0;padding:16px;font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1b1f24">',
    '<div style="max-width:560px">',
    body,
    "</div></body></html>",
    "",
  ].join("\n");
}

/** Escaped text with its line breaks kept. */
function lines(text: string): string {
  return text.split("\n").map(escapeHtml).join("<br>");
}

/** A subject is one header line: whatever a name or title holds, no line break gets into it. */
function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** "May 8, 2026 (UTC)": a date no reader misreads, whatever their locale. */
function longDate(date: Date): string {
  return `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}, ${date.getUTCFullYear()} (UTC)`;
}
