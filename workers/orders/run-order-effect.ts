import { and, eq, inArray, notInArray, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { findOrderWithCustomer } from "../../db/government-fee-orders";
import { openAdminTask, resolveAdminTask } from "../../db/order-payments";
import { findCarrier } from "../../db/public-data";
import { adminTasks, orders } from "../../db/schema";
import { linkExpiry } from "../../domain/auth/signed-link";
import { getService } from "../../domain/catalog/services";
import type { AppConfig } from "../../domain/config/app-config";
import { intakeSections, renderOrderDocument } from "../../domain/documents/order-document";
import { intakeFromCensus } from "../../domain/enrichment/fmcsa-census";
import type { OrderEffect } from "../../domain/orders/order-effects";
import { composeOrderEmail, type OrderEmailContext } from "../../domain/orders/order-emails";
import { EVENT_KEYS } from "../../domain/orders/order-events";
import type { OrderState } from "../../domain/orders/order-state";
import { NOT_LIVE_STATUSES } from "../../domain/orders/order-status";
import type { FilingJobMessage } from "../../domain/queues/queue-messages";
import { answerLinks } from "../routes/answer-pages";
import type { Env } from "../env";
import { createMailer } from "../mailer/mailer";
import { sendRecorded } from "../mailer/recorded-send";
import { createStripe } from "../payments/stripe-client";
import { requestGovernmentFee } from "./government-fee";
import { documentLink, intakeWizardLink, monitoringLink, orderViewLink, signingLink } from "./order-links";
import { runScreening, ScreeningDataMissingError } from "./run-screening";

/**
 * Runs one effect the transition table asked for (domain/orders/order-effects.ts). Called by
 * the OrderMachine after the event that asked for it is stored, and again from its alarm if it
 * failed, so every effect here must be safe to repeat: see the note on each. An effect whose
 * work produces a fact for the order (enrichment found a carrier, a screening finished) returns
 * that fact as a follow-up event, which the machine applies like any other.
 */

export interface EffectDeps {
  env: Env;
  config: AppConfig;
  db(): Db;
  now: Date;
}

export interface FollowUpEvent {
  type: string;
  key: string;
  at: string;
  payload: Record<string, unknown>;
}

export interface EffectOutcome {
  followUps: FollowUpEvent[];
  /** For the machine's log line: what happened (sent, already sent, skipped and why). */
  detail?: string;
}

const SYSTEM = (source: string) => ({ kind: "system" as const, source });

export async function runOrderEffect(deps: EffectDeps, state: OrderState, effect: OrderEffect): Promise<EffectOutcome> {
  const none: EffectOutcome = { followUps: [] };
  const at = deps.now.toISOString();
  switch (effect.kind) {
    case "schedule":
    case "unschedule":
      // The machine's own schedule table: applied in its storage transaction, never here.
      return none;

    case "enrich_intake": {
      // Public data already in our database; other sources have no dataset loaded yet, which is
      // recorded as "not found" so the customer is asked instead of waiting for nothing.
      const service = getService(state.slug);
      let fields: Record<string, unknown> = {};
      let found = false;
      if (effect.source === "fmcsa_census" && service) {
        const carrier = await findCarrier(deps.db(), effect.key);
        if (carrier) {
          found = true;
          fields = intakeFromCensus(service, carrier);
        }
      }
      return {
        followUps: [
          {
            type: "intake_enriched",
            key: EVENT_KEYS.enrichment(),
            at,
            payload: { source: effect.source, found, fields },
          },
        ],
        detail: found ? `found ${Object.keys(fields).length} fields` : "not found",
      };
    }

    case "email_customer":
      return { followUps: [], detail: await emailCustomer(deps, state, effect) };

    case "open_task": {
      const orderId = await orderIdOf(deps.db(), state.orderNumber);
      const opened = await openAdminTask(deps.db(), { ...effect.task, orderId });
      return { followUps: [], detail: opened ? "opened" : "already open" };
    }

    case "resolve_task": {
      const resolved = await resolveAdminTask(deps.db(), effect.dedupeKey, effect.note);
      return { followUps: [], detail: resolved ? "resolved" : "none open" };
    }

    case "close_order_tasks": {
      const orderId = await orderIdOf(deps.db(), state.orderNumber);
      const closed = await deps
        .db()
        .update(adminTasks)
        .set({ status: "done", doneAt: sql`now()`, resolutionNote: effect.note, resolvedBy: "order machine" })
        .where(and(eq(adminTasks.orderId, orderId), eq(adminTasks.status, "open")))
        .returning({ id: adminTasks.id });
      return { followUps: [], detail: `${closed.length} closed` };
    }

    case "cancel_subscription": {
      const [row] = await deps
        .db()
        .select({ subscription: orders.stripeSubscriptionId })
        .from(orders)
        .where(eq(orders.number, state.orderNumber));
      if (!row?.subscription) return { followUps: [], detail: "no subscription yet" };
      try {
        // https://docs.stripe.com/api/subscriptions/cancel: immediate, no proration; the key
        // makes a retry the same request.
        await createStripe(deps.config).subscriptions.cancel(
          row.subscription,
          { cancellation_details: { comment: effect.reason.slice(0, 500) } },
          { idempotencyKey: `cancel:${state.orderNumber}` },
        );
      } catch (error) {
        // Already cancelled (by the customer, by Stripe after failed payments): nothing to do.
        const code = (error as { code?: string; statusCode?: number }).code;
        if (code !== "resource_missing" && (error as { statusCode?: number }).statusCode !== 404) throw error;
      }
      return { followUps: [], detail: `cancelled ${row.subscription}` };
    }

    case "request_government_fee": {
      // Idempotent: while an open child with the same items exists, the same child comes back.
      const found = await findOrderWithCustomer(deps.db(), state.orderNumber);
      if (!found) throw new Error(`order ${state.orderNumber} is not in Postgres`);
      const result = await requestGovernmentFee(
        deps.db(),
        deps.config,
        { id: found.order.id, number: found.order.number },
        {
          items: effect.items.map((i) => ({
            label: i.label,
            cents: i.cents,
            source: i.source,
            kind: i.kind,
            agency: i.agency,
          })),
          totalCents: effect.totalCents,
        },
        { env: deps.env, now: deps.now },
      );
      return {
        followUps: [
          {
            type: "government_fee_requested",
            key: EVENT_KEYS.governmentFeeRequested(result.child.number),
            at,
            payload: { childOrder: result.child.number, totalCents: result.child.totalCents, actor: SYSTEM("gate") },
          },
        ],
        detail: `${result.child.number} (${result.created ? "created" : "existing"}, e-mail ${result.email})`,
      };
    }

    case "dispatch_filing": {
      // At least once: the consumer's result is applied under (cycle, attempt), so twice is once.
      const message: FilingJobMessage = {
        type: "filing.run",
        orderNumber: state.orderNumber,
        script: effect.script,
        cycle: effect.cycle,
        attempt: effect.attempt,
      };
      await deps.env.FILINGS_QUEUE.send(message);
      return { followUps: [], detail: `queued ${effect.script}` };
    }

    case "generate_document": {
      const service = getService(state.slug);
      if (!service) throw new Error(`service ${state.slug} is not in the catalog`);
      const pdf = await renderOrderDocument({
        title: service.displayName,
        serviceName: service.displayName,
        orderNumber: state.orderNumber,
        regulation: service.regulation,
        preparedAt: deps.now,
        sections: intakeSections(service, state.intake),
      });
      // Same cycle and attempt, same key: a repeat overwrites the object with an equal one.
      const r2Key = `orders/${state.orderNumber}/documents/${effect.template}-${safeName(effect.cycle)}-${effect.attempt}.pdf`;
      await deps.env.FILES.put(r2Key, pdf, {
        httpMetadata: { contentType: "application/pdf" },
        customMetadata: { order: state.orderNumber, template: effect.template, cycle: effect.cycle },
      });
      return {
        followUps: [
          {
            type: "document_generated",
            key: EVENT_KEYS.documentGenerated(effect.cycle, effect.attempt),
            at,
            payload: {
              cycle: effect.cycle,
              attempt: effect.attempt,
              documents: [{ label: `${service.displayName} (prepared)`, r2Key }],
            },
          },
        ],
        detail: r2Key,
      };
    }

    case "run_screening": {
      try {
        const result = await runScreening(
          { db: deps.db(), files: deps.env.FILES, now: deps.now },
          { number: state.orderNumber, serviceSlug: state.slug, intake: state.intake },
          { id: effect.cycle, label: effect.cycleLabel },
        );
        const key = effect.included
          ? EVENT_KEYS.includedResult(effect.cycle, effect.included)
          : EVENT_KEYS.filingResult(effect.cycle, effect.attempt);
        return {
          followUps: [
            {
              type: "filing_succeeded",
              key,
              at,
              payload: {
                cycle: effect.cycle,
                documents: result.documents,
                matches: result.matches,
                by: "screening",
                ...(effect.included ? { included: effect.included } : {}),
              },
            },
          ],
          detail: `${result.matches} possible matches`,
        };
      } catch (error) {
        if (!(error instanceof ScreeningDataMissingError)) throw error;
        // Never certify against nothing: a person runs it once the lists are loaded.
        if (effect.included) {
          const orderId = await orderIdOf(deps.db(), state.orderNumber);
          await openAdminTask(deps.db(), {
            kind: "screening",
            title: `Run the included exclusion screening for order ${state.orderNumber}: no exclusion list is loaded`,
            detail: { order: state.orderNumber, cycle: effect.cycle, reason: error.message },
            orderId,
            dedupeKey: `screening-data:${state.orderNumber}:${effect.cycle}`,
          });
          return { followUps: [], detail: "no exclusion data: admin task" };
        }
        return {
          followUps: [
            {
              type: "filing_failed",
              key: EVENT_KEYS.filingResult(effect.cycle, effect.attempt),
              at,
              payload: { cycle: effect.cycle, attempt: effect.attempt, reason: error.message },
            },
          ],
          detail: "no exclusion data",
        };
      }
    }
  }
}

async function orderIdOf(db: Db, number: string): Promise<number> {
  const [row] = await db.select({ id: orders.id }).from(orders).where(eq(orders.number, number));
  if (!row) throw new Error(`order ${number} is not in Postgres`);
  return row.id;
}

function safeName(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 80);
}

async function emailCustomer(
  deps: EffectDeps,
  state: OrderState,
  effect: Extract<OrderEffect, { kind: "email_customer" }>,
): Promise<string> {
  const { config, now } = deps;
  const db = deps.db();
  const found = await findOrderWithCustomer(db, state.orderNumber);
  if (!found) throw new Error(`order ${state.orderNumber} is not in Postgres`);
  const service = getService(state.slug);
  const serviceName = service?.displayName ?? state.slug;
  const links: OrderEmailContext["links"] = { orderUrl: await orderViewLink(config, found.order, now) };
  const email = effect.email;

  switch (email.template) {
    case "intake_request":
      links.intakeUrl = await intakeWizardLink(config, { number: state.orderNumber, slug: state.slug }, now);
      break;
    case "signature_request":
      links.signUrl = await signingLink(config, state.orderNumber, now);
      break;
    case "customer_question": {
      const answer = await answerLinks(config, state.orderNumber, email.questionId, now);
      links.answerYesUrl = answer.yesUrl;
      links.answerNoUrl = answer.noUrl;
      break;
    }
    case "completion":
      links.documentUrls = await Promise.all(
        email.documents.map((d) => documentLink(config, state.orderNumber, d.r2Key, now)),
      );
      break;
    case "bundle_invitation": {
      // "Unless they already have it": any paid, live order of the invited service.
      const invited = state.invitation?.slug ?? "oig-sam-screening";
      const [existing] = await db
        .select({ number: orders.number })
        .from(orders)
        .where(
          and(
            eq(orders.customerId, found.customer.id),
            inArray(orders.serviceSlug, [invited]),
            notInArray(orders.status, [...NOT_LIVE_STATUSES]),
          ),
        )
        .limit(1);
      if (existing) return `skipped: the customer already has ${existing.number}`;
      links.monitoringUrl = await monitoringLink(config, state.orderNumber, now);
      break;
    }
  }

  const composed = composeOrderEmail(email, {
    serviceName,
    serviceSlug: state.slug,
    linkExpiresAt: linkExpiry(config, now),
    orderNumber: state.orderNumber,
    ...(found.customer.name ? { customerName: found.customer.name } : {}),
    links,
  });
  const localPart = `order.${effect.messageKey}.${state.orderNumber}`.replace(/[^A-Za-z0-9._-]/g, "-");
  const result = await sendRecorded(
    db,
    config,
    createMailer(config),
    {
      to: found.customer.email,
      messageId: `<${localPart}@${config.MAIL_SENDING_DOMAIN}>`,
      subject: composed.subject,
      text: composed.text,
      html: composed.html,
      headers: { "X-Docket-Kind": `order-${email.template}`, "X-Docket-Order": state.orderNumber },
    },
    { kind: "transactional" },
  );
  if (!result.sent) return "already sent";
  if (result.outcome.status === "deferred") {
    // A temporary failure: the claim is released by nobody, so this e-mail is not retried
    // automatically (at most once). Say so loudly; the admin can resend the intake link.
    console.warn(
      JSON.stringify({
        level: "warn",
        event: "order_email_deferred",
        order: state.orderNumber,
        key: effect.messageKey,
      }),
    );
  }
  return `${email.template}: ${result.outcome.status}`;
}
