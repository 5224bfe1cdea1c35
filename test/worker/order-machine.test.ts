import { beforeAll, describe, expect, it } from "vitest";
import { loadExclusionList } from "../../db/public-data";
import { fmcsaCarriers } from "../../db/schema";
import { estimateGovernmentFee } from "../../domain/catalog/government-fees";
import { mcs150DueDate } from "../../domain/catalog/next-due";
import { getService } from "../../domain/catalog/services";
import { adminSession } from "../support/admin-session";
import { testEnv, withTestDb } from "../support/db";
import { simAndRelay, stripeFake } from "../support/fake-stripe";
import { appConfig } from "../../workers/env";
import { INTAKE_EXAMPLES } from "../support/intake-examples";
import {
  buyAndPay,
  call,
  form,
  json,
  linkIn,
  machine,
  mailFor,
  orderEventsOf,
  orderRow,
  tasksOf,
  waitForOrder,
  waitForStatus,
} from "../support/orders";
import { waitFor } from "../support/wait-for";

/**
 * The OrderMachine end to end, through the paths production uses: checkout and payment on the
 * fake Stripe with its signed webhooks, the fulfillment and filings queues, the machine's own
 * effects (enrichment from the FMCSA census in Postgres, e-mails into the SMTP sink, admin
 * tasks, government-fee child orders, certificates in R2), the customer pages the e-mails link
 * to, and the admin API. Reminders are walked by moving each machine's clock and running its
 * alarm (DEV_CLOCK_CONTROL, test-only).
 */

let session = "";
beforeAll(async () => {
  session = await adminSession();
});

const adminCall = (path: string, body: unknown = {}) =>
  call(`/api/admin${path}`, json(body, { authorization: session }));

const pathOf = (url: string) => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};

async function mailWith(address: string, subject: RegExp, count = 1) {
  return await waitFor(
    async () => {
      const found = (await mailFor(address)).filter((m) => subject.test(m.subject ?? ""));
      return found.length >= count ? found : undefined;
    },
    20_000,
    `${count} e-mail(s) to ${address} matching ${subject}`,
  );
}

/** Pays a government-fee child order by card through its pay page and the fake Stripe. */
async function payGovernmentFee(payUrl: string) {
  const u = new URL(payUrl);
  const child = u.searchParams.get("order")!;
  const res = await call("/order/pay", form({ order: child, token: u.searchParams.get("token")!, method: "card" }));
  expect(res.status).toBe(303);
  const created = (await orderEventsOf(child)).find((e) => e.type === "checkout_session_created");
  const sessionId = (created!.payload as { sessionId: string }).sessionId;
  await simAndRelay(`checkout/sessions/${sessionId}/pay`);
  return child;
}

const uuid = () => crypto.randomUUID();

describe("a UCR order from payment to a completed filing", () => {
  it("is enriched from the census, asks only for what is missing, bills the fee, waits for approval, and is filed by hand", async () => {
    await withTestDb((db) =>
      db.insert(fmcsaCarriers).values({
        usdotNumber: "3141592",
        legalName: "REYES FREIGHT LLC",
        phyStreet: "1200 COMMERCE DR",
        phyCity: "COLUMBIA",
        phyState: "SC",
        phyZip: "29201",
        telephone: "(803) 555-0142",
        emailAddress: "dispatch@reyesfreight.example",
        powerUnits: 4,
        drivers: 5,
      }),
    );
    const email = "ucr-walk@carrier.test";
    const { orderNumber } = await buyAndPay({ slug: "ucr-registration", email, intake: { usdotNumber: "3141592" } });

    // Enrichment first: legal name, state, power units and e-mail from the census.
    const waiting = await waitForStatus(orderNumber, "awaiting_intake");
    await waitForOrder(orderNumber, (o) => (o.intake as Record<string, unknown>)?.legalName !== undefined, "enriched");
    const enriched = (await orderRow(orderNumber))!.intake as Record<string, unknown>;
    expect(enriched).toMatchObject({ legalName: "REYES FREIGHT LLC", baseState: "SC", powerUnits: 4 });
    expect(waiting.status).toBe("awaiting_intake");

    // One e-mail listing exactly what is missing, linking to the wizard (never the sales page).
    const [request] = await mailWith(email, /Action needed/);
    const wizard = await linkIn(request!.id, "/order/ucr-registration?");
    expect(new URL(wizard).searchParams.get("order")).toBe(orderNumber);
    const page = await (await call(pathOf(wizard))).text();
    expect(page).toContain("REYES FREIGHT LLC");

    // The customer completes it: classification and year.
    const saved = await call(
      pathOf(wizard),
      form({ nonce: uuid(), classification: "motor_carrier", registrationYear: "2027" }),
    );
    expect(saved.status).toBe(200);

    // The fee gate: a child order for the 2027 fee of a 3–5 power-unit fleet, e-mailed once.
    await waitForStatus(orderNumber, "awaiting_government_fee");
    const expected = estimateGovernmentFee(getService("ucr-registration")!, {
      ...enriched,
      registrationYear: 2027,
      classification: "motor_carrier",
    });
    expect(expected.kind).toBe("itemised");
    const [feeMail] = await mailWith(email, /government fee/i);
    const child = await payGovernmentFee(await linkIn(feeMail!.id, "/order/pay?"));
    expect((await orderRow(child))!.totalCents).toBe(expected.kind === "itemised" ? expected.totalCents : -1);

    // Paid: ready to file, with an approval task for an admin.
    await waitForStatus(orderNumber, "ready_to_file");
    expect((await tasksOf(orderNumber, "open")).map((t) => t.kind)).toContain("approval");

    const approve = await adminCall(`/orders/${orderNumber}/approve`);
    expect(approve.status, await approve.clone().text()).toBe(200);
    // No portal script is installed: the filings job hands it to a person, naming the service.
    await waitForStatus(orderNumber, "needs_manual_filing");
    const filingTask = await waitFor(
      async () => (await tasksOf(orderNumber, "open")).find((t) => t.kind === "manual_filing"),
      20_000,
      "the manual filing task",
    );
    expect(filingTask.title).toContain("UCR Annual Registration");
    expect(filingTask.title).not.toContain("MCS-150");
    expect((await tasksOf(orderNumber)).find((t) => t.kind === "approval")?.status).toBe("done");

    // An admin claims the task and records the filing with the confirmation number.
    const claim = await adminCall(`/tasks/${filingTask.id}/claim`);
    expect(claim.status).toBe(200);
    const filed = await adminCall(`/orders/${orderNumber}/filed`, { confirmation: "UCR-2027-551234" });
    expect(filed.status, await filed.clone().text()).toBe(200);
    const done = await waitForStatus(orderNumber, "completed");
    expect(done.nextDueOn).toBe("2027-12-31");
    expect((await tasksOf(orderNumber)).find((t) => t.id === filingTask.id)?.status).toBe("done");

    const [completion] = await mailWith(email, /complete/i);
    expect(completion!.subject).toContain("UCR Annual Registration");
    // The order page shows the confirmation and when it is due again.
    const orderPage = await (await call(pathOf(await linkIn(completion!.id, `/order/${orderNumber}?`)))).text();
    expect(orderPage).toContain("UCR-2027-551234");
    expect(orderPage).toContain("2027-12-31");

    // The log tells the story, with who did what.
    const events = await orderEventsOf(orderNumber);
    const types = events.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining([
        "payment_succeeded",
        "intake_enriched",
        "intake_submitted",
        "government_fee_requested",
        "government_fee_paid",
        "approved",
        "filing_failed",
        "filed_manually",
      ]),
    );
    const approved = events.find((e) => e.type === "approved")!;
    expect(approved.payload).toMatchObject({ actor: { kind: "admin" } });

    // An action the state no longer allows is 409 with the state and what it allows.
    const again = await adminCall(`/orders/${orderNumber}/approve`);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: "EVENT_NOT_ALLOWED", details: { status: "completed" } });
  });
});

describe("intake reminders", () => {
  it("come daily for 10 days, then weekly, on schedule, and stop when intake completes", async () => {
    const email = "late-intake@carrier.test";
    const { orderNumber } = await buyAndPay({ slug: "boc-3", email });
    await waitForStatus(orderNumber, "awaiting_intake");
    await mailWith(email, /Action needed/);
    const m = machine(orderNumber);

    const dues: string[] = [];
    for (let n = 1; n <= 12; n++) {
      const before = await m.snapshot();
      const next = before.schedule.find((r) => r.kind === "intake");
      expect(next?.n).toBe(n);
      dues.push(next!.dueAt);
      expect(await m.fireAt(next!.dueAt), `alarm for reminder ${n} (armed ${before.alarmAt})`).toBe(true);
    }
    const reminders = await mailWith(email, /Reminder/, 12);
    expect(reminders).toHaveLength(12);
    const gaps = dues.map((d, i) => (i === 0 ? 0 : (Date.parse(d) - Date.parse(dues[i - 1]!)) / 86_400_000));
    expect(gaps.slice(1, 10)).toEqual(Array(9).fill(1));
    expect(gaps.slice(10)).toEqual([7, 7]);

    // The customer completes intake: the schedule empties and the alarm sends nothing more.
    const fields = INTAKE_EXAMPLES["boc-3"]!;
    const r = await m.apply(orderNumber, {
      type: "intake_submitted",
      key: `intake:${uuid()}`,
      at: new Date().toISOString(),
      payload: { fields, actor: { kind: "customer" } },
    });
    expect(r.outcome).toBe("applied");
    const after = await m.snapshot();
    expect(after.schedule.filter((s) => s.kind === "intake")).toEqual([]);
    expect(after.status).not.toBe("awaiting_intake");
    await m.fireAt(new Date(Date.parse(dues[dues.length - 1]!) + 30 * 86_400_000));
    expect(await mailFor(email).then((all) => all.filter((x) => /Reminder/.test(x.subject ?? "")))).toHaveLength(12);
  });

  it("an admin re-arms them, and resends the intake link", async () => {
    const email = "rearm@carrier.test";
    const { orderNumber } = await buyAndPay({ slug: "boc-3", email });
    await waitForStatus(orderNumber, "awaiting_intake");
    const rearm = await adminCall(`/orders/${orderNumber}/reminders/rearm`);
    expect(rearm.status).toBe(200);
    const snap = await machine(orderNumber).snapshot();
    expect(snap.schedule).toEqual([expect.objectContaining({ kind: "intake", n: 1, round: 2 })]);
    expect((await adminCall(`/orders/${orderNumber}/intake-link`)).status).toBe(200);
    await mailWith(email, /Action needed/, 2);
  });
});

/** Signs the order's document on the signing page the e-mail links to (typed signature). */
async function signFromEmail(email: string, orderNumber: string) {
  const [request] = await mailWith(email, /sign/i);
  const link = await linkIn(request!.id, `/order/${orderNumber}/sign?`);
  const page = await call(pathOf(link));
  expect(page.status).toBe(200);
  const res = await call(
    pathOf(link),
    form({ nonce: uuid(), signerName: "Dana Reyes", method: "typed", consent: "on", drawn: "" }),
  );
  expect(res.status, await res.clone().text()).toBe(200);
}

describe("South Carolina intrastate authority: signature and the Form E question", () => {
  const intake = INTAKE_EXAMPLES["intrastate-authority"]!;

  it("yes: the power of attorney is signed, the $25 SCDMV fee is billed and the order proceeds", async () => {
    const email = "sc-yes@carrier.test";
    const { orderNumber } = await buyAndPay({ slug: "intrastate-authority", email, intake });
    await waitForStatus(orderNumber, "awaiting_signature");
    await signFromEmail(email, orderNumber);
    await waitForStatus(orderNumber, "awaiting_customer_answer");
    const signed = (await machine(orderNumber).snapshot()).state.signature!;
    expect(signed.status).toBe("signed");
    const object = await testEnv.FILES.get(signed.r2Key!);
    expect(object?.httpMetadata?.contentType).toBe("application/pdf");
    expect(new Uint8Array(await object!.arrayBuffer()).slice(0, 5)).toEqual(new TextEncoder().encode("%PDF-"));

    const [question] = await mailWith(email, /One question/);
    const yes = await linkIn(question!.id, "answer=yes");
    // A GET (what a mail scanner does) records nothing.
    expect((await call(pathOf(yes))).status).toBe(200);
    expect((await machine(orderNumber).snapshot()).state.question?.status).toBe("asked");
    const u = new URL(yes);
    const post = await call(`${u.pathname}?token=${u.searchParams.get("token")}`, form({ answer: "yes" }));
    expect(post.status).toBe(200);
    // Twice is once.
    await call(`${u.pathname}?token=${u.searchParams.get("token")}`, form({ answer: "yes" }));

    await waitForStatus(orderNumber, "awaiting_government_fee");
    const [feeMail] = await mailWith(email, /government fee/i);
    const child = await payGovernmentFee(await linkIn(feeMail!.id, "/order/pay?"));
    expect((await orderRow(child))!.lines).toEqual(
      expect.arrayContaining([expect.objectContaining({ amountCents: 2_500 })]),
    );
    await waitForStatus(orderNumber, "ready_to_file");
    expect((await adminCall(`/orders/${orderNumber}/approve`)).status).toBe(200);
    await waitForStatus(orderNumber, "needs_manual_filing");
    const task = (await tasksOf(orderNumber, "open")).find((t) => t.kind === "manual_filing");
    expect(task?.title).toContain("Intrastate Operating Authority");
    expect((await orderEventsOf(orderNumber)).filter((e) => e.type === "customer_answered")).toHaveLength(1);
  });

  it("no: a broker-referral task opens and the order holds; an admin records the later yes", async () => {
    const email = "sc-no@carrier.test";
    const { orderNumber } = await buyAndPay({ slug: "intrastate-authority", email, intake });
    await waitForStatus(orderNumber, "awaiting_signature");
    await signFromEmail(email, orderNumber);
    await waitForStatus(orderNumber, "awaiting_customer_answer");
    const [question] = await mailWith(email, /One question/);
    const no = new URL(await linkIn(question!.id, "answer=no"));
    expect((await call(`${no.pathname}?token=${no.searchParams.get("token")}`, form({ answer: "no" }))).status).toBe(
      200,
    );
    const referral = await waitFor(
      async () => (await tasksOf(orderNumber, "open")).find((t) => t.kind === "insurance-broker-referral"),
      20_000,
      "the broker-referral task",
    );
    expect(referral.title).toContain("broker");
    expect((await orderRow(orderNumber))!.status).toBe("awaiting_customer_answer");
    // The customer cannot flip it with the other link; an admin records it once cover is found.
    const flip = await call(`${no.pathname}?token=${no.searchParams.get("token")}`, form({ answer: "yes" }));
    expect([200, 409]).toContain(flip.status);
    expect((await orderRow(orderNumber))!.status).toBe("awaiting_customer_answer");
    const recorded = await adminCall(`/orders/${orderNumber}/answer`, { questionId: "sc-form-e", answer: "yes" });
    expect(recorded.status, await recorded.clone().text()).toBe(200);
    await waitForStatus(orderNumber, "awaiting_government_fee");
    expect((await tasksOf(orderNumber)).find((t) => t.id === referral.id)?.status).toBe("done");
  });
});

describe("an MCS-150 update: a generated document a person submits", () => {
  it("is signed by the officer, approved, prepared as a PDF, submitted by hand and due again on the USDOT schedule", async () => {
    const email = "mcs150@carrier.test";
    const { orderNumber } = await buyAndPay({
      slug: "mcs150-update",
      email,
      intake: INTAKE_EXAMPLES["mcs150-update"]!,
    });
    await waitForStatus(orderNumber, "awaiting_signature");
    await signFromEmail(email, orderNumber);
    await waitForStatus(orderNumber, "ready_to_file");
    expect((await adminCall(`/orders/${orderNumber}/approve`)).status).toBe(200);
    await waitForStatus(orderNumber, "needs_manual_filing");
    const task = await waitFor(
      async () => (await tasksOf(orderNumber, "open")).find((t) => t.kind === "manual_filing"),
      20_000,
      "the submit task",
    );
    expect(task.title).toContain("Submit the generated MCS-150 Biennial Update");
    const prepared = (await machine(orderNumber).snapshot()).state.cycles[0]!.documents;
    expect(prepared).toHaveLength(1);
    const pdf = await testEnv.FILES.get(prepared[0]!.r2Key);
    expect(pdf?.httpMetadata?.contentType).toBe("application/pdf");

    expect((await adminCall(`/orders/${orderNumber}/filed`, { confirmation: "FMCSA-3141592-0226" })).status).toBe(200);
    const done = await waitForStatus(orderNumber, "completed");
    // USDOT 3141592: last digit 2 → February; next-to-last 9 (odd) → odd years (49 CFR 390.19(b)).
    expect(done.nextDueOn).toBe(mcs150DueDate("3141592", done.completedAt!));
    expect(done.nextDueOn).toMatch(/^\d{4}-02-28$/);
    expect(Number(done.nextDueOn!.slice(0, 4)) % 2).toBe(1);
    const [completion] = await mailWith(email, /Completed/);
    // The signed form and the prepared filing are both linked from the e-mail.
    expect(await linkIn(completion!.id, `/order/${orderNumber}/documents/documents/`)).toBeTruthy();
  });
});

describe("monthly OIG/SAM monitoring", () => {
  it("runs one labelled cycle per paid invoice, re-screening against current data with a new dated certificate", async () => {
    await withTestDb((db) =>
      loadExclusionList(db, {
        source: "oig_leie",
        dataAsOf: "2026-11-01",
        entries: [exclusion("1", "MORALES", "RITA", "1093817465")],
      }),
    );
    const email = "clinic-monitoring@provider.test";
    const intake = INTAKE_EXAMPLES["oig-sam-screening"]!;
    const { orderNumber, sessionId } = await buyAndPay({ slug: "oig-sam-screening", email, intake });
    await waitForStatus(orderNumber, "ready_to_file");
    expect((await adminCall(`/orders/${orderNumber}/approve`)).status).toBe(200);
    await waitForStatus(orderNumber, "completed");

    const row = await orderRow(orderNumber);
    const subscription = row!.stripeSubscriptionId!;
    expect(subscription).toBeTruthy();
    void sessionId;
    for (let cycle = 2; cycle <= 3; cycle++) {
      if (cycle === 3) {
        // The list changed: a staff member is now excluded. The next cycle finds it.
        await withTestDb((db) =>
          loadExclusionList(db, {
            source: "oig_leie",
            dataAsOf: "2026-12-01",
            entries: [exclusion("1", "MORALES", "RITA", "1093817465"), exclusion("2", "ORTIZ", "ANA", "1987654328")],
          }),
        );
      }
      await simAndRelay(`subscriptions/${subscription}/renew`);
      await waitFor(
        async () => {
          const snap = await machine(orderNumber).snapshot();
          return snap.state.cycles.length === cycle && snap.status === "completed" ? snap : undefined;
        },
        20_000,
        `cycle ${cycle} to complete`,
      );
    }
    const snap = await machine(orderNumber).snapshot();
    expect(snap.state.cycles.map((c) => c.label)).toEqual(["Monthly cycle 1", "Monthly cycle 2", "Monthly cycle 3"]);
    expect(snap.state.cycles.map((c) => c.matches)).toEqual([0, 0, 1]);
    const keys = snap.state.cycles.map((c) => c.documents[0]!.r2Key);
    expect(new Set(keys).size).toBe(3);
    for (const key of keys) expect(await testEnv.FILES.head(key)).not.toBeNull();
    expect((await tasksOf(orderNumber, "open")).map((t) => t.kind)).toContain("screening_review");
    const [third] = await mailWith(email, /Monthly cycle 3/);

    // The certificate link in the e-mail serves that PDF; an edited path or token does not.
    const certificate = await linkIn(third!.id, `/order/${orderNumber}/documents/`);
    const pdf = await call(pathOf(certificate));
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get("content-type")).toBe("application/pdf");
    expect(new Uint8Array(await pdf.arrayBuffer()).slice(0, 5)).toEqual(new TextEncoder().encode("%PDF-"));
    const u = new URL(certificate);
    const token = u.searchParams.get("token")!;
    expect((await call(`${u.pathname}?token=${token.slice(0, -2)}xx`)).status).toBe(403);
    expect((await call(`/order/${orderNumber}/documents/signatures/other.pdf?token=${token}`)).status).toBe(404);
    expect((await call(`/order/${orderNumber}/documents/..%2F..%2Finbound%2Fx.eml?token=${token}`)).status).toBe(404);
  });
});

describe("the Provider Compliance Bundle", () => {
  it("includes the first screening only, and invites its customer to monitoring once, 21 days after paying", async () => {
    await withTestDb((db) =>
      loadExclusionList(db, {
        source: "oig_leie",
        dataAsOf: "2026-11-01",
        entries: [exclusion("1", "MORALES", "RITA", null)],
      }),
    );
    const email = "bundle@provider.test";
    const { orderNumber } = await buyAndPay({
      slug: "provider-compliance-bundle",
      email,
      intake: INTAKE_EXAMPLES["provider-compliance-bundle"]!,
    });
    await waitForStatus(orderNumber, "ready_to_file");
    expect((await adminCall(`/orders/${orderNumber}/approve`)).status).toBe(200);
    await waitForStatus(orderNumber, "needs_manual_filing");
    // The included screening ran on the first cycle, without completing the bundle.
    const withCertificate = await waitFor(
      async () => {
        const s = await machine(orderNumber).snapshot();
        return s.state.cycles[0]!.documents.length > 0 ? s : undefined;
      },
      20_000,
      "the included screening",
    );
    expect(withCertificate.status).toBe("needs_manual_filing");

    const m = machine(orderNumber);
    const invitation = withCertificate.schedule.find((s) => s.kind === "bundle_invitation")!;
    const paidAt = Date.parse(withCertificate.state.paidAt!);
    expect(Date.parse(invitation.dueAt) - paidAt).toBe(21 * 86_400_000);
    await m.fireAt(invitation.dueAt);
    await m.fireAt(new Date(Date.parse(invitation.dueAt) + 86_400_000));
    const invites = await mailWith(email, /monitoring/i);
    expect(invites).toHaveLength(1);
    expect((await m.snapshot()).state.invitation?.status).toBe("done");
  });

  it("does not invite a customer who already has monitoring", async () => {
    const email = "has-monitoring@provider.test";
    const monitoring = await buyAndPay({
      slug: "oig-sam-screening",
      email,
      intake: INTAKE_EXAMPLES["oig-sam-screening"]!,
    });
    await waitForOrder(monitoring.orderNumber, (o) => o.status !== "payment_processing", "paid");
    const { orderNumber } = await buyAndPay({
      slug: "provider-compliance-bundle",
      email,
      intake: INTAKE_EXAMPLES["provider-compliance-bundle"]!,
    });
    await waitForStatus(orderNumber, "ready_to_file");
    const m = machine(orderNumber);
    const due = (await m.snapshot()).schedule.find((s) => s.kind === "bundle_invitation")!;
    await m.fireAt(due.dueAt);
    await waitFor(
      async () => ((await m.snapshot()).outbox.length === 0 ? true : undefined),
      10_000,
      "the invitation effect to run",
    );
    expect(
      (await mailFor(email)).filter((x) => /monitoring/i.test(x.subject ?? "") && !/Payment/.test(x.subject ?? "")),
    ).toHaveLength(0);
  });
});

describe("admin actions", () => {
  it("cancel is recorded with who did it; any action on the cancelled order is 409 and changes nothing", async () => {
    const { orderNumber } = await buyAndPay({ slug: "boc-3", email: "cancel-me@carrier.test" });
    await waitForStatus(orderNumber, "awaiting_intake");
    const cancel = await adminCall(`/orders/${orderNumber}/cancel`, { reason: "customer asked by phone" });
    expect(cancel.status).toBe(200);
    await waitForStatus(orderNumber, "cancelled");
    const before = (await orderEventsOf(orderNumber)).length;
    for (const [path, body] of [
      ["approve", {}],
      ["cancel", { reason: "again" }],
      ["notes", { text: "hello" }],
      ["intake-link", {}],
      ["filed", { confirmation: "X" }],
    ] as const) {
      const res = await adminCall(`/orders/${orderNumber}/${path}`, body);
      expect(res.status, path).toBe(409);
      expect(await res.json()).toMatchObject({ details: { status: "cancelled" } });
    }
    expect((await orderEventsOf(orderNumber)).length).toBe(before);
    expect((await machine(orderNumber).snapshot()).schedule).toEqual([]);
    const cancelled = (await orderEventsOf(orderNumber)).find((e) => e.type === "admin_cancelled");
    expect(cancelled?.payload).toMatchObject({ actor: { kind: "admin" }, reason: "customer asked by phone" });
  });

  it("cancelling a monitoring subscription stops it in Stripe", async () => {
    const { orderNumber } = await buyAndPay({
      slug: "oig-sam-screening",
      email: "stop-monitoring@provider.test",
      intake: INTAKE_EXAMPLES["oig-sam-screening"]!,
    });
    const paid = await waitForStatus(orderNumber, "ready_to_file");
    expect((await adminCall(`/orders/${orderNumber}/cancel`, { reason: "practice closed" })).status).toBe(200);
    const subscription = await waitFor(
      async () => {
        const res = await fetch(`${stripeFake().url}/v1/subscriptions/${paid.stripeSubscriptionId}`, {
          headers: { authorization: `Bearer ${appConfig(testEnv).STRIPE_SECRET_KEY}` },
        });
        const body = (await res.json()) as { status: string };
        return body.status === "canceled" ? body : undefined;
      },
      20_000,
      "the subscription to be cancelled in Stripe",
    );
    expect(subscription.status).toBe("canceled");
    expect((await machine(orderNumber).snapshot()).outbox).toEqual([]);
  });

  it("needs a session", async () => {
    const res = await call("/api/admin/orders/CO-2026-000001/approve", json({}));
    expect(res.status).toBe(401);
  });
});

function exclusion(key: string, last: string, first: string, npi: string | null) {
  return {
    naturalKey: key,
    lastName: last,
    firstName: first,
    middleName: null,
    businessName: null,
    npi,
    generalCategory: null,
    specialty: null,
    exclusionType: "1128a1",
    exclusionDate: "2020-01-15",
    reinstatementDate: null,
    waiverDate: null,
    waiverState: null,
    address: null,
    city: null,
    state: "SC",
    zip: null,
  };
}
