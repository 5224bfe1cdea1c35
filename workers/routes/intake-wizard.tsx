import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { JSX } from "hono/jsx/jsx-runtime";
import { z } from "zod";
import { withDb } from "../../db/client";
import {
  eventsOf,
  findOrderWithCustomer,
  type EventView,
  type OrderWithCustomer,
} from "../../db/government-fee-orders";
import { ORDER_NUMBER } from "../../db/order-numbers";
import { linkSecret, orderViewLink, verifyLinkToken } from "../../domain/auth/signed-link";
import { applicableGates, checkIntake, checkPartialIntake } from "../../domain/catalog/intake";
import {
  fieldErrors,
  formToIntake,
  intakeFormFor,
  intakeToForm,
  postedValues,
  type IntakeFormModel,
} from "../../domain/catalog/intake-form";
import type { ServiceDefinition } from "../../domain/catalog/service-definition";
import { getService } from "../../domain/catalog/services";
import type { AppConfig } from "../../domain/config/app-config";
import { EVENT_KEYS } from "../../domain/orders/order-events";
import { isOrderStatus, STATUS_LABELS } from "../../domain/orders/order-status";
import type { ApplyResult } from "../../durable-objects/order-machine";
import {
  IntakeClosedPage,
  IntakeCompletePage,
  IntakeWizardPage,
  type IntakeWizardPageProps,
  type Notice,
} from "../../web/pages/intake-wizard-page";
import { MessagePage } from "../../web/pages/message-page";
import type { AppEnv } from "../app-env";
import { crossSite, customerPageError, formFields } from "./customer-form";
import { customerPageHeaders, refused } from "./order-pages";

/**
 * The per-service intake wizard (OrderMachine issue, item 3), reached by the signed link in the
 * "complete your intake" e-mail:
 *
 *   GET  /order/:slug?order=CO-…&token=…   the form, prefilled from what is known
 *   POST /order/:slug?order=CO-…&token=…   save (partial) or submit
 *
 * Mounted on /order before the order pages; any path segment that is not a catalog slug falls
 * through to them (`next()`), so /order/CO-…, /order/pay and the rest are untouched.
 *
 * The token is an "intake" link for exactly that order number; the order must be of that
 * service. A save is the `intake_submitted` event, keyed by the form's nonce so a
 * double-submitted form is one event; the OrderMachine merges it and decides what comes next.
 * This route never writes Postgres: it reads what the machine mirrored. A forged, expired or
 * foreign link, an invalid value, or an order past intake changes nothing.
 */

export const intakeWizardRoutes = new Hono<AppEnv>();

/** Far above any real intake (500 staff lines fit in about 25 KB), far below the app-wide limit. */
export const INTAKE_MAX_BODY_BYTES = 64 * 1024;

/** While the order is here, the customer may save intake: before payment, and while it waits for it. */
const OPEN_FOR_INTAKE: ReadonlySet<string> = new Set([
  "pending_payment",
  "payment_processing",
  "payment_failed",
  // The instant between payment and the first gate (the machine's "not_started" stage).
  "paid",
  "awaiting_intake",
]);
const CLOSED: ReadonlySet<string> = new Set(["cancelled", "refunded"]);

const NONCE = z.uuid();
const TOKEN = z.string().min(1).max(512);
const problemsSchema = z
  .array(z.object({ field: z.string(), label: z.string(), message: z.string() }))
  .max(500)
  .catch([]);
const enrichedPayload = z.object({
  source: z.string(),
  found: z.boolean(),
  fields: z.record(z.string(), z.unknown()),
});

type PageContext = Context<AppEnv>;
type PageStatus = 200 | 400 | 403 | 404 | 409 | 413 | 415 | 422 | 500 | 503;

async function page(c: PageContext, node: JSX.Element, status: PageStatus) {
  return c.html(`<!doctype html>\n${await node.toString()}`, status);
}

const known = (c: PageContext) => getService(c.req.param("slug") ?? "");

// Customer-page headers (no-store, no Referer, CSP, no framing) on this wizard's pages only.
intakeWizardRoutes.use("/:slug", async (c, next) => {
  if (!known(c)) return await next();
  return await customerPageHeaders(c, next);
});

intakeWizardRoutes.onError(
  customerPageError({ unavailableTitle: "Order pages are unavailable", notDone: "Nothing was saved." }),
);

// ---------------------------------------------------------------------------------------------
// Links and the order

type Link = { ok: true; number: string; token: string; expiresAt: Date } | { ok: false; response: Promise<Response> };

/** An "intake" token naming exactly the order in `?order=`; anything else is the 403 page. */
async function verifyIntakeLink(c: PageContext): Promise<Link> {
  const number = c.req.query("order");
  const token = TOKEN.safeParse(c.req.query("token"));
  if (number === undefined || !ORDER_NUMBER.test(number) || !token.success) {
    return { ok: false, response: refused(c, "invalid", number) };
  }
  const check = await verifyLinkToken(linkSecret(c.get("config")), token.data, { purpose: "intake", subject: number });
  if (!check.ok) return { ok: false, response: refused(c, check.reason === "expired" ? "expired" : "invalid", number) };
  return { ok: true, number, token: token.data, expiresAt: check.expiresAt };
}

interface Loaded {
  found: OrderWithCustomer;
  events: EventView[];
  intake: Record<string, unknown>;
}

/** The order, when it exists, is a parent order and is of this service. */
async function loadOrder(config: AppConfig, c: PageContext, number: string, slug: string): Promise<Loaded | undefined> {
  return await withDb(
    config,
    async (db) => {
      const found = await findOrderWithCustomer(db, number);
      if (!found || found.order.serviceSlug !== slug || found.order.parentOrderId !== null) return undefined;
      const events = await eventsOf(db, found.order.id);
      return { found, events, intake: asRecord(found.order.intake) };
    },
    c.executionCtx,
  );
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function notFound(c: PageContext) {
  return page(
    c,
    <MessagePage title="We cannot find this order">
      <p>This link does not match any of our orders for this service. Open the latest link we e-mailed you.</p>
    </MessagePage>,
    404,
  );
}

function statusLabel(status: string): string {
  return isOrderStatus(status) ? STATUS_LABELS[status] : status;
}

// ---------------------------------------------------------------------------------------------
// What the page shows

/** Values that came from public data and are still what we hold (a customer's own edit removes the note). */
export function enrichedFields(events: readonly EventView[], intake: Readonly<Record<string, unknown>>) {
  const from: Record<string, string> = {};
  for (const event of events) {
    if (event.type !== "intake_enriched") continue;
    const payload = enrichedPayload.safeParse(event.payload);
    if (!payload.success || !payload.data.found) continue;
    for (const [field, value] of Object.entries(payload.data.fields)) {
      if (value !== undefined && value !== null && sameJson(intake[field], value)) from[field] = payload.data.source;
    }
  }
  return from;
}

/** Deep equality of JSON values, ignoring key order (Postgres jsonb reorders object keys). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every(
      (k) => Object.hasOwn(b, k) && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
}

/** One short paragraph: what follows intake for this service (never a price). */
function nextSteps(service: ServiceDefinition, intake: Readonly<Record<string, unknown>>): string[] {
  const gates = applicableGates(service, intake);
  const steps = [
    checkIntake(service, intake).complete
      ? "Check the details below and press Submit."
      : "Fill in what is missing below and press Submit.",
  ];
  if (gates.signature) steps.push(`Next we e-mail you the ${gates.signature.title} to sign online.`);
  if (gates.customerQuestion) steps.push("We may e-mail you one short yes/no question.");
  if (gates.approval === "admin") steps.push("Our team checks everything before it is filed.");
  steps.push(
    service.fulfillment.kind === "screening_run"
      ? "Then we run the screening and e-mail you its dated certificate."
      : `Then we take care of your ${service.displayName} and e-mail you the confirmation.`,
  );
  return [steps.join(" ")];
}

interface WizardView {
  service: ServiceDefinition;
  model: IntakeFormModel;
  loaded: Loaded;
  link: { number: string; token: string; expiresAt: Date };
  values?: Record<string, string>;
  errors?: Record<string, string>;
  notice?: Notice;
}

async function wizardProps(c: PageContext, v: WizardView): Promise<IntakeWizardPageProps> {
  const config = c.get("config");
  const { order } = v.loaded.found;
  const check = checkIntake(v.service, v.loaded.intake);
  return {
    serviceName: v.service.displayName,
    orderNumber: order.number,
    model: v.model,
    values: v.values ?? intakeToForm(v.loaded.intake, v.model),
    errors: v.errors ?? {},
    missing: check.complete ? [] : check.problems,
    enrichedFrom: enrichedFields(v.loaded.events, v.loaded.intake),
    nonce: crypto.randomUUID(),
    action: `/order/${encodeURIComponent(v.service.slug)}?order=${encodeURIComponent(order.number)}&token=${encodeURIComponent(v.link.token)}`,
    nextSteps: nextSteps(v.service, v.loaded.intake),
    orderUrl: await orderViewLink(config, order),
    linkExpiresAt: v.link.expiresAt,
    ...(v.notice ? { notice: v.notice } : {}),
  };
}

async function completePage(
  c: PageContext,
  service: ServiceDefinition,
  loaded: Loaded,
  status: string,
  options: { thankYou?: boolean; unchanged?: boolean },
  code: PageStatus,
) {
  const model = intakeFormFor(service);
  const { order } = loaded.found;
  return page(
    c,
    <IntakeCompletePage
      serviceName={service.displayName}
      orderNumber={order.number}
      statusLabel={statusLabel(status)}
      model={model}
      values={intakeToForm(loaded.intake, model)}
      orderUrl={await orderViewLink(c.get("config"), order)}
      {...options}
    />,
    code,
  );
}

async function closedPage(
  c: PageContext,
  service: ServiceDefinition,
  loaded: Loaded,
  status: string,
  unchanged: boolean,
  code: PageStatus,
) {
  const { order } = loaded.found;
  return page(
    c,
    <IntakeClosedPage
      serviceName={service.displayName}
      orderNumber={order.number}
      statusLabel={statusLabel(status)}
      orderUrl={await orderViewLink(c.get("config"), order)}
      unchanged={unchanged}
    />,
    code,
  );
}

// ---------------------------------------------------------------------------------------------
// GET

intakeWizardRoutes.get("/:slug", async (c, next) => {
  const service = known(c);
  if (!service) return await next();
  const link = await verifyIntakeLink(c);
  if (!link.ok) return link.response;
  const loaded = await loadOrder(c.get("config"), c, link.number, service.slug);
  if (!loaded) return notFound(c);
  const status = loaded.found.order.status;
  if (CLOSED.has(status)) return closedPage(c, service, loaded, status, false, 200);
  if (!OPEN_FOR_INTAKE.has(status)) return completePage(c, service, loaded, status, {}, 200);
  const props = await wizardProps(c, { service, model: intakeFormFor(service), loaded, link });
  return page(c, <IntakeWizardPage {...props} />, 200);
});

// ---------------------------------------------------------------------------------------------
// POST

const FORM_TYPE = /^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i;

const limitBody = bodyLimit({
  maxSize: INTAKE_MAX_BODY_BYTES,
  onError: (c) =>
    page(
      c as PageContext,
      <MessagePage title="This form is too large">
        <p>
          Nothing was saved. The form can carry up to {INTAKE_MAX_BODY_BYTES / 1024} KB; please shorten the longest
          answers (or the list of names) and send it again.
        </p>
      </MessagePage>,
      413,
    ),
});

function message(c: PageContext, title: string, text: string, status: PageStatus) {
  return page(
    c,
    <MessagePage title={title}>
      <p>{text}</p>
    </MessagePage>,
    status,
  );
}

/** `fields` with each object the customer touched completed from what is known, so a partial address keeps its other parts. */
function withKnownParts(fields: Record<string, unknown>, intake: Readonly<Record<string, unknown>>) {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    const before = intake[key];
    out[key] = isPlainObject(value) && isPlainObject(before) ? mergeObjects(before, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function mergeObjects(base: Record<string, unknown>, update: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(update)) {
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? mergeObjects(out[key], value) : value;
  }
  return out;
}

intakeWizardRoutes.post(
  "/:slug",
  async (c, next) => {
    if (!known(c)) return await next();
    return await limitBody(c, next);
  },
  async (c, next) => {
    const service = known(c);
    if (!service) return await next();
    const config = c.get("config");
    if (crossSite(c)) {
      return message(
        c,
        "This form must be sent from our site",
        "For your security we only accept this form from our own pages. Open the link from our e-mail and try again.",
        403,
      );
    }
    const link = await verifyIntakeLink(c);
    if (!link.ok) return link.response;
    if (!FORM_TYPE.test(c.req.header("content-type") ?? "")) {
      return message(c, "This form could not be read", "Nothing was saved. Please send the form from our page.", 415);
    }
    const form = await formFields(c);

    const loaded = await loadOrder(config, c, link.number, service.slug);
    if (!loaded) return notFound(c);
    const status = loaded.found.order.status;
    if (CLOSED.has(status)) return closedPage(c, service, loaded, status, true, 409);
    if (!OPEN_FOR_INTAKE.has(status)) return completePage(c, service, loaded, status, { unchanged: true }, 409);

    const nonce = NONCE.safeParse(form.nonce);
    if (!nonce.success) {
      return message(
        c,
        "This form could not be read",
        "Nothing was saved: the form is incomplete. Please open the link from our e-mail again and resend it.",
        400,
      );
    }

    const model = intakeFormFor(service);
    const typed = postedValues(form, model);
    const given = withKnownParts(formToIntake(form, model), loaded.intake);
    const check = checkPartialIntake(service, given);
    if (!check.complete) {
      // Inline errors, what the customer typed kept, and nothing sent to the machine.
      const errors = fieldErrors(check.problems, model, given);
      const props = await wizardProps(c, {
        service,
        model,
        loaded,
        link,
        values: typed,
        errors,
        notice: { tone: "bad", text: "Nothing was saved yet: please correct the fields marked below." },
      });
      return page(c, <IntakeWizardPage {...props} />, 422);
    }
    // What the schema made of each given value (trimmed, normalised), and only the given ones
    // that differ from what is known: defaults for absent fields must never overwrite a value,
    // and a prefilled census value sent back unchanged is not the customer's own.
    const parsed = check.data as Record<string, unknown>;
    const fields = Object.fromEntries(
      Object.keys(given)
        .map((k) => [k, parsed[k] ?? given[k]] as const)
        .filter(([k, v]) => !sameJson(loaded.intake[k], v)),
    );

    const machine = c.env.ORDER_MACHINE.get(c.env.ORDER_MACHINE.idFromName(link.number));
    const result = (await machine.apply(link.number, {
      type: "intake_submitted",
      key: EVENT_KEYS.intakeSubmission(nonce.data),
      at: new Date().toISOString(),
      payload: { fields, actor: { kind: "customer" } },
    })) as ApplyResult;

    if (result.outcome === "rejected") {
      if (result.code === "INVALID_INTAKE") {
        const problems = problemsSchema.parse((result as { problems?: unknown }).problems);
        const props = await wizardProps(c, {
          service,
          model,
          loaded,
          link,
          values: typed,
          errors: fieldErrors(problems, model, given),
          notice: { tone: "bad", text: "Nothing was saved yet: please correct the fields marked below." },
        });
        return page(c, <IntakeWizardPage {...props} />, 422);
      }
      if (result.code === "ORDER_NOT_FOUND") return notFound(c);
      const now = String(result.status);
      if (CLOSED.has(now)) return closedPage(c, service, loaded, now, true, 409);
      if (!OPEN_FOR_INTAKE.has(now)) return completePage(c, service, loaded, now, { unchanged: true }, 409);
      return message(
        c,
        "We could not save this",
        `Nothing was changed: your order is "${statusLabel(now)}" and cannot take these details right now. Reply to our e-mail and we will help.`,
        409,
      );
    }

    // Saved (or saved before, under the same nonce): show what the machine now holds.
    const fresh = (await loadOrder(config, c, link.number, service.slug)) ?? loaded;
    const now = String(result.status);
    if (CLOSED.has(now)) return closedPage(c, service, fresh, now, result.outcome === "duplicate", 200);
    if (!OPEN_FOR_INTAKE.has(now)) return completePage(c, service, fresh, now, { thankYou: true }, 200);

    const after = checkIntake(service, fresh.intake);
    const submitting = form.intent === "submit";
    let notice: Notice;
    let errors: Record<string, string> = {};
    if (result.outcome === "duplicate") {
      notice = { tone: "warn", text: "This form was already sent. Below is what we have on file now." };
    } else if (after.complete) {
      notice = { tone: "ok", text: "Saved: we have everything we need, and start as soon as your order is confirmed." };
    } else if (submitting) {
      notice = { tone: "warn", text: "Saved, but we still need the items listed below before we can start." };
      errors = fieldErrors(after.problems, model, fresh.intake);
    } else {
      notice = { tone: "ok", text: "Saved. Come back to this link any time to finish." };
    }
    const props = await wizardProps(c, { service, model, loaded: fresh, link, errors, notice });
    return page(c, <IntakeWizardPage {...props} />, 200);
  },
);
