import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { and, eq, inArray } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureCustomer } from "../../db/customers";
import { adminTasks, orderEvents, orders } from "../../db/schema";
import { linkExpiry, signLinkToken, verifyLinkToken } from "../../domain/auth/signed-link";
import { getService } from "../../domain/catalog/services";
import { answerConsequence } from "../../domain/orders/order-emails";
import { EVENT_KEYS } from "../../domain/orders/order-events";
import type { ApplyResult } from "../../durable-objects/order-machine";
import { createApp } from "../../workers/app";
import { appConfig } from "../../workers/env";
import { answerLinks, answerRoutes, answerSubject, parseAnswerSubject } from "../../workers/routes/answer-pages";
import { testEnv, withTestDb } from "../support/db";

/**
 * The customer-answer page (South Carolina's Form E) against the real Postgres. Statuses are set
 * directly where a test only reads them (as the OrderMachine's mirror would); the yes and no
 * paths drive a real OrderMachine from payment through the signature gate to the question.
 *
 * The central property: a GET (what a mail link scanner does to every link) never records an
 * answer, whichever link it opens and however often.
 */

const config = appConfig(testEnv);
const SECRET = config.CUSTOMER_LINK_SECRET!;
const Q = "sc-form-e";
const gate = getService("intrastate-authority")!.customerQuestion!;
const inAWeek = () => new Date(Date.now() + 7 * 86_400_000);

const OPEN = "CO-2026-000501";
const ANSWERED = "CO-2026-000502";
const CANCELLED = "CO-2026-000503";
const EARLY = "CO-2026-000504";
const NO_QUESTION = "CO-2026-000505";
const WALK_YES = "CO-2026-000506";
const WALK_NO = "CO-2026-000507";
const WALK_RACE = "CO-2026-000508";
const ids: Record<string, number> = {};

// The lead mounts answerRoutes in app.ts; mounting it here too keeps these tests independent of that.
const app = createApp((a) => a.route("/order", answerRoutes));

async function call(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(request, testEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}
const get = (path: string) => call(new Request(`http://docket.test${path}`));
const post = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  call(
    new Request(`http://docket.test${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://docket.test", ...headers },
      body: new URLSearchParams(fields).toString(),
    }),
  );

const answerToken = (number: string, questionId = Q, expiresAt = inAWeek()) =>
  signLinkToken(SECRET, { purpose: "answer", subject: answerSubject(number, questionId), expiresAt });
const page = (number: string, token: string, answer?: string) =>
  `/order/${number}/answer?token=${encodeURIComponent(token)}${answer ? `&answer=${answer}` : ""}`;

async function eventCount(numbers: string[]): Promise<number> {
  return await withTestDb(async (db) => {
    const rows = await db
      .select({ id: orderEvents.id })
      .from(orderEvents)
      .where(
        inArray(
          orderEvents.orderId,
          numbers.map((n) => ids[n]!),
        ),
      );
    return rows.length;
  });
}

async function answersOf(number: string) {
  return await withTestDb((db) =>
    db
      .select({ payload: orderEvents.payload, key: orderEvents.idempotencyKey })
      .from(orderEvents)
      .where(and(eq(orderEvents.orderId, ids[number]!), eq(orderEvents.type, "customer_answered"))),
  );
}

async function statusOf(number: string): Promise<string> {
  return await withTestDb(async (db) => {
    const [row] = await db.select({ status: orders.status }).from(orders).where(eq(orders.number, number));
    return row!.status;
  });
}

const scIntake = {
  usdotNumber: "3344556",
  legalName: "Palmetto <b>Haul</b> LLC",
  state: "SC",
  carrierKind: "property",
  applicationType: "new",
  physicalAddress: { street: "1 Main St", city: "Columbia", state: "SC", zip: "29201" },
  phone: "803-555-0100",
  email: "owner@palmetto.test",
  officer: { name: "Pat Owner", title: "President", email: "owner@palmetto.test" },
};

beforeAll(async () => {
  await withTestDb(async (db) => {
    const customer = await ensureCustomer(db, {
      email: "answers@palmetto.test",
      name: "Pat <script>alert(1)</script>",
      company: "Palmetto Haul",
    });
    const order = (number: string, over: Partial<typeof orders.$inferInsert> = {}) => ({
      number,
      customerId: customer.id,
      serviceSlug: "intrastate-authority",
      billingInterval: "none" as const,
      status: "awaiting_customer_answer",
      lines: [{ kind: "service_fee", label: "Intrastate Operating Authority", amountCents: 29_900 }],
      totalCents: 29_900,
      paymentMethod: "card" as const,
      intake: scIntake,
      ...over,
    });
    const rows = await db
      .insert(orders)
      .values([
        order(OPEN),
        order(ANSWERED),
        order(CANCELLED, { status: "cancelled" }),
        order(EARLY, { status: "awaiting_intake" }),
        order(NO_QUESTION, { serviceSlug: "ucr-registration" }),
        order(WALK_YES, { status: "pending_payment" }),
        order(WALK_NO, { status: "pending_payment" }),
        order(WALK_RACE, { status: "pending_payment" }),
      ])
      .returning();
    for (const r of rows) ids[r.number] = r.id;
    await db.insert(orderEvents).values({
      orderId: ids[ANSWERED]!,
      type: "customer_answered",
      idempotencyKey: EVENT_KEYS.answer(Q),
      fromStatus: "awaiting_customer_answer",
      toStatus: "awaiting_customer_answer",
      payload: { questionId: Q, answer: "no", actor: { kind: "customer" } },
      occurredAt: new Date(Date.UTC(2026, 4, 2, 14, 30)),
    });
  });
});

describe("answer links", () => {
  it("answerLinks: one token naming the order and the question, the answer as a parameter, its expiry", async () => {
    const now = new Date("2026-05-01T10:00:00.500Z");
    const links = await answerLinks(config, OPEN, Q, now);
    expect(links.expiresAt.getTime()).toBe(Math.floor(linkExpiry(config, now).getTime() / 1000) * 1000);
    const yes = new URL(links.yesUrl);
    const no = new URL(links.noUrl);
    expect(`${yes.origin}${yes.pathname}`).toBe(`http://docket.test/order/${OPEN}/answer`);
    expect(yes.searchParams.get("answer")).toBe("yes");
    expect(no.searchParams.get("answer")).toBe("no");
    expect(yes.searchParams.get("token")).toBe(no.searchParams.get("token"));
    const check = await verifyLinkToken(SECRET, yes.searchParams.get("token"), {
      purpose: "answer",
      subject: answerSubject(OPEN, Q),
      now,
    });
    expect(check).toMatchObject({ ok: true, expiresAt: links.expiresAt });
  });

  it("the subject splits back into the order and the question; anything else is not a subject", () => {
    expect(parseAnswerSubject(answerSubject(OPEN, Q))).toEqual({ orderNumber: OPEN, questionId: Q });
    expect(parseAnswerSubject(OPEN)).toBeUndefined();
    expect(parseAnswerSubject(`nope_${Q}`)).toBeUndefined();
    expect(() => answerSubject("CO-1", Q)).toThrow(/not an order number/);
    expect(() => answerSubject(OPEN, "Has Spaces")).toThrow(/not a question id/);
  });
});

describe("GET /order/:number/answer", () => {
  it("shows the question, its guidance and one confirm button for the chosen answer, and records nothing", async () => {
    const before = await eventCount([OPEN]);
    const token = await answerToken(OPEN);
    const res = await get(page(OPEN, token, "yes"));
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await res.text();
    expect(html).toContain("A question about your Intrastate Operating Authority");
    expect(html).toContain("Can your insurance company file a Form E");
    expect(html).toContain("Please call your insurance agent");
    expect(html).toContain(answerConsequence(gate, "yes"));
    // One form, posting "yes"; the other answer is a link to this page, not a form.
    expect(html.match(/<form /g)).toHaveLength(1);
    expect(html).toContain('<input type="hidden" name="answer" value="yes"/>');
    expect(html).toContain(`action="?token=${encodeURIComponent(token)}"`);
    expect(html).toContain(`href="?token=${encodeURIComponent(token)}&amp;answer=no"`);
    expect(html).toContain("Answer No instead");
    expect(await eventCount([OPEN])).toBe(before);
  });

  it("a link scanner opening both links, repeatedly, records nothing and never wakes the order machine", async () => {
    const before = await eventCount([OPEN]);
    const token = await answerToken(OPEN);
    for (const answer of ["yes", "no", "yes", "no", undefined, "maybe"]) {
      expect((await get(page(OPEN, token, answer))).status).toBe(200);
    }
    // HEAD too (some scanners use it).
    expect((await call(new Request(`http://docket.test${page(OPEN, token, "yes")}`, { method: "HEAD" }))).status).toBe(
      200,
    );
    expect(await eventCount([OPEN])).toBe(before);
    expect(await statusOf(OPEN)).toBe("awaiting_customer_answer");
    const machine = testEnv.ORDER_MACHINE.get(testEnv.ORDER_MACHINE.idFromName(OPEN));
    expect(await machine.snapshot()).toBeNull();
  });

  it("without a chosen answer, offers both, each with what happens next", async () => {
    const html = await (await get(page(OPEN, await answerToken(OPEN)))).text();
    expect(html.match(/<form /g)).toHaveLength(2);
    expect(html).toContain(answerConsequence(gate, "yes"));
    expect(html).toContain(answerConsequence(gate, "no"));
  });

  it("forged, expired, foreign, wrong-purpose and missing tokens: 403 and nothing changes", async () => {
    const before = await eventCount([OPEN, ANSWERED]);
    const good = await answerToken(OPEN);
    const forged = good.slice(0, -2) + (good.endsWith("AA") ? "BB" : "AA");
    const expired = await answerToken(OPEN, Q, new Date(Date.now() - 1000));
    const otherOrders = await answerToken(ANSWERED);
    const orderView = await signLinkToken(SECRET, { purpose: "order-view", subject: OPEN, expiresAt: inAWeek() });
    const otherSecret = await signLinkToken("another-secret-0123456789abcdef", {
      purpose: "answer",
      subject: answerSubject(OPEN, Q),
      expiresAt: inAWeek(),
    });
    for (const [token, title] of [
      [forged, "This link does not work"],
      [expired, "This link has expired"],
      [otherOrders, "This link does not work"],
      [orderView, "This link does not work"],
      [otherSecret, "This link does not work"],
    ] as const) {
      const res = await get(page(OPEN, token, "yes"));
      expect(res.status, title).toBe(403);
      expect(await res.text()).toContain(title);
    }
    expect((await get(`/order/${OPEN}/answer?answer=yes`)).status).toBe(403);
    expect((await get(`/order/not-an-order/answer?token=${encodeURIComponent(good)}`)).status).toBe(403);
    expect(await eventCount([OPEN, ANSWERED])).toBe(before);
  });

  it("a valid token for a question the order's service does not ask: 404", async () => {
    expect((await get(page(OPEN, await answerToken(OPEN, "other-question"), "yes"))).status).toBe(404);
    expect((await get(page(NO_QUESTION, await answerToken(NO_QUESTION), "yes"))).status).toBe(404);
  });

  it("already answered: says what was answered and when, with no button", async () => {
    const res = await get(page(ANSWERED, await answerToken(ANSWERED), "yes"));
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("This question is already answered");
    expect(html).toContain("You answered <strong>No</strong> on 2026-05-02 14:30 UTC");
    expect(html).toContain(answerConsequence(gate, "no"));
    expect(html).not.toContain("<form");
  });

  it("a cancelled order is closed; an order not at this step says so", async () => {
    const closed = await (await get(page(CANCELLED, await answerToken(CANCELLED), "yes"))).text();
    expect(closed).toContain("This order is closed");
    expect(closed).not.toContain("<form");
    const early = await (await get(page(EARLY, await answerToken(EARLY), "yes"))).text();
    expect(early).toContain("This question is not open");
    expect(early).toContain("not at this step yet");
    expect(early).not.toContain("<form");
  });
});

describe("POST /order/:number/answer: refusals change nothing", () => {
  it("forged or expired token → 403", async () => {
    const before = await eventCount([OPEN]);
    const good = await answerToken(OPEN);
    const forged = good.slice(0, -2) + (good.endsWith("AA") ? "BB" : "AA");
    expect((await post(page(OPEN, forged), { answer: "yes" })).status).toBe(403);
    expect(
      (await post(page(OPEN, await answerToken(OPEN, Q, new Date(Date.now() - 1000))), { answer: "yes" })).status,
    ).toBe(403);
    expect((await post(page(OPEN, await answerToken(ANSWERED)), { answer: "yes" })).status).toBe(403);
    expect(await eventCount([OPEN])).toBe(before);
  });

  it("from another site → 403", async () => {
    const before = await eventCount([OPEN]);
    const token = await answerToken(OPEN);
    expect((await post(page(OPEN, token), { answer: "yes" }, { origin: "https://evil.test" })).status).toBe(403);
    expect((await post(page(OPEN, token), { answer: "yes" }, { "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect(await eventCount([OPEN])).toBe(before);
  });

  it("no answer, or not yes/no → 422 with the question again", async () => {
    const before = await eventCount([OPEN]);
    const token = await answerToken(OPEN);
    for (const fields of [{}, { answer: "maybe" }, { answer: "YES<script>" }] as Record<string, string>[]) {
      const res = await post(page(OPEN, token), fields);
      expect(res.status).toBe(422);
      const html = await res.text();
      expect(html).toContain("Please choose Yes or No.");
      expect(html).not.toContain("<script>");
    }
    expect(await eventCount([OPEN])).toBe(before);
  });

  it("already answered → the 'already answered' page; cancelled or not at this step → 409", async () => {
    const before = await eventCount([ANSWERED, CANCELLED, EARLY]);
    const answered = await post(page(ANSWERED, await answerToken(ANSWERED)), { answer: "yes" });
    expect(answered.status).toBe(200);
    expect(await answered.text()).toContain("This question is already answered");
    const cancelled = await post(page(CANCELLED, await answerToken(CANCELLED)), { answer: "yes" });
    expect(cancelled.status).toBe(409);
    expect(await cancelled.text()).toContain("This order is closed");
    expect((await post(page(EARLY, await answerToken(EARLY)), { answer: "no" })).status).toBe(409);
    expect(await eventCount([ANSWERED, CANCELLED, EARLY])).toBe(before);
  });
});

// -------------------------------------------------------------------------------------------------
// Through the OrderMachine (these depend on the machine: payment → enrichment → signature → question)

async function driveToQuestion(number: string): Promise<void> {
  const machine = testEnv.ORDER_MACHINE.get(testEnv.ORDER_MACHINE.idFromName(number));
  const at = new Date().toISOString();
  const apply = async (type: string, key: string, payload: Record<string, unknown>) =>
    (await machine.apply(number, { type, key, at, payload })) as ApplyResult;
  expect(await apply("payment_succeeded", `evt_paid_${number}`, { attempt: "initial" })).toMatchObject({
    outcome: "applied",
  });
  expect(await statusOf(number)).toBe("awaiting_signature");
  expect(
    await apply("signature_received", EVENT_KEYS.signature("power_of_attorney"), {
      document: "power_of_attorney",
      r2Key: `orders/${number}/signatures/power-of-attorney.pdf`,
      sha256: "a".repeat(64),
      signerName: "Pat Owner",
      method: "typed",
      ip: "203.0.113.7",
      userAgent: "vitest",
      signedAt: at,
    }),
  ).toMatchObject({ outcome: "applied", status: "awaiting_customer_answer" });
  expect(await statusOf(number)).toBe("awaiting_customer_answer");
}

describe("the yes and no paths (through the OrderMachine)", () => {
  it("yes: one customer_answered event, the thank-you page says the state fee is billed; a second POST is the same one event", async () => {
    await driveToQuestion(WALK_YES);
    const token = await answerToken(WALK_YES);
    const scanned = await eventCount([WALK_YES]);
    await get(page(WALK_YES, token, "yes"));
    await get(page(WALK_YES, token, "no"));
    expect(await eventCount([WALK_YES])).toBe(scanned);

    const res = await post(page(WALK_YES, token), { answer: "yes" });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Thank you: we have your answer");
    expect(html).toContain("You answered <strong>Yes</strong>");
    expect(html).toContain(answerConsequence(gate, "yes"));
    const answers = await answersOf(WALK_YES);
    expect(answers).toEqual([
      { key: EVENT_KEYS.answer(Q), payload: { questionId: Q, answer: "yes", actor: { kind: "customer" } } },
    ]);
    expect(await statusOf(WALK_YES)).toBe("awaiting_government_fee");

    const again = await post(page(WALK_YES, token), { answer: "no" });
    expect(again.status).toBe(200);
    expect(await again.text()).toContain("This question is already answered");
    expect(await answersOf(WALK_YES)).toHaveLength(1);
  });

  it("no: the filing is held and a broker-referral task opened; the other link afterwards changes nothing", async () => {
    await driveToQuestion(WALK_NO);
    const token = await answerToken(WALK_NO);
    const res = await post(page(WALK_NO, token), { answer: "no" });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("You answered <strong>No</strong>");
    expect(html).toContain("insurance broker");
    expect(await statusOf(WALK_NO)).toBe("awaiting_customer_answer");
    const tasks = await withTestDb((db) =>
      db
        .select({ kind: adminTasks.kind, status: adminTasks.status })
        .from(adminTasks)
        .where(eq(adminTasks.orderId, ids[WALK_NO]!)),
    );
    expect(tasks).toContainEqual({ kind: "insurance-broker-referral", status: "open" });

    const shown = await (await get(page(WALK_NO, token, "yes"))).text();
    expect(shown).toContain("You answered <strong>No</strong>");
    expect(shown).not.toContain("<form");
    const yesLater = await post(page(WALK_NO, token), { answer: "yes" });
    expect(yesLater.status).toBe(200);
    expect(await answersOf(WALK_NO)).toHaveLength(1);
    expect(await statusOf(WALK_NO)).toBe("awaiting_customer_answer");
  });

  it("a double-submitted form (two POSTs at once) is one event", async () => {
    await driveToQuestion(WALK_RACE);
    const token = await answerToken(WALK_RACE);
    const [a, b] = await Promise.all([
      post(page(WALK_RACE, token), { answer: "yes" }),
      post(page(WALK_RACE, token), { answer: "yes" }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const bodies = [await a.text(), await b.text()];
    expect(bodies.filter((h) => h.includes("Thank you: we have your answer"))).toHaveLength(1);
    expect(await answersOf(WALK_RACE)).toHaveLength(1);
  });
});
