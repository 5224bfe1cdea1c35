import { createExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureCustomer } from "../../db/customers";
import { orderEvents, orders } from "../../db/schema";
import { signLinkToken } from "../../domain/auth/signed-link";
import { checkIntake, checkPartialIntake } from "../../domain/catalog/intake";
import {
  fieldErrors,
  formToIntake,
  intakeFormFor,
  intakeToForm,
  parseList,
  postedValues,
  RESERVED_FORM_NAMES,
  type FormField,
  type IntakeFormModel,
} from "../../domain/catalog/intake-form";
import { CATALOG, getService } from "../../domain/catalog/services";
import type { ApplyResult } from "../../durable-objects/order-machine";
import type { AppEnv } from "../../workers/app-env";
import { appConfig } from "../../workers/env";
import { requestId } from "../../workers/request-id";
import { intakeWizardRoutes } from "../../workers/routes/intake-wizard";
import { orderPageRoutes } from "../../workers/routes/order-pages";
import { testEnv, withTestDb } from "../support/db";

/**
 * The intake wizard: the form model derived from each service's zod intake, the form ⇄ intake
 * conversions, and the /order/:slug pages against the real Postgres and OrderMachine.
 *
 * Route tests run on an app that mounts the wizard exactly as workers/app.ts must (before the
 * order pages, on /order), so the fall-through to /order/:number is tested too; one test goes
 * through the Worker itself to prove the mount is there.
 */

const config = appConfig(testEnv);
const SECRET = config.CUSTOMER_LINK_SECRET!;
const inAWeek = () => new Date(Date.now() + 7 * 86_400_000);

const app = new Hono<AppEnv>();
app.use("*", requestId());
app.use("*", async (c, next) => {
  c.set("config", config);
  await next();
});
app.route("/order", intakeWizardRoutes);
app.route("/order", orderPageRoutes);

const call = (path: string, init?: RequestInit) =>
  app.fetch(new Request(`http://docket.test${path}`, init), testEnv, createExecutionContext());

const intakeToken = (subject: string, expiresAt = inAWeek()) =>
  signLinkToken(SECRET, { purpose: "intake", subject, expiresAt });
const wizardPath = async (slug: string, number: string, token?: string) =>
  `/order/${slug}?order=${number}&token=${encodeURIComponent(token ?? (await intakeToken(number)))}`;
const post = (fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://docket.test", ...headers },
  body: new URLSearchParams(fields).toString(),
});

const service = (slug: string) => {
  const s = getService(slug);
  if (!s) throw new Error(`no service ${slug}`);
  return s;
};
const field = (model: IntakeFormModel, name: string): FormField => {
  const f = model.fields.find((x) => x.name === name);
  if (!f) throw new Error(`no field ${name}`);
  return f;
};

const HOSTILE = "<script>alert(1)</script>";
const NPI_OK = "1234567893";

const UCR_INTAKE = {
  usdotNumber: "1234567",
  legalName: "Acme Haulers LLC",
  baseState: "TX",
  email: "ops@acme.test",
  classification: "motor_carrier",
  powerUnits: 7,
  fleetSizeBracket: "6-20",
  registrationYear: 2026,
};

const MCS150_INTAKE = {
  usdotNumber: "2345678",
  legalName: "Buckeye Freight Inc",
  physicalAddress: { street: "1 Main St", city: "Columbus", state: "OH", zip: "43215" },
  phone: "614-555-0100",
  email: "office@buckeye.test",
  carrierOperation: "interstate",
  operationClassification: "authorized_for_hire",
  powerUnits: 3,
  trailers: 4,
  drivers: 3,
  milesTraveledLastYear: 120_000,
  milesYear: 2025,
  officer: { name: "Dana Reyes", title: "President", email: "dana@buckeye.test" },
};

const OIG_INTAKE = {
  npi: NPI_OK,
  providerName: "Sunrise Clinic",
  state: "FL",
  email: "compliance@sunrise.test",
  staff: [
    { firstName: "Mary Ann", lastName: "Smith" },
    { firstName: "John", lastName: "Doe", npi: NPI_OK },
  ],
};

// ---------------------------------------------------------------------------------------------
// The form model

describe("the form model, from each service's intake schema", () => {
  it("UCR: one field per intake field, with labels, kinds, options and what is required", () => {
    const model = intakeFormFor(service("ucr-registration"));
    expect(model.groups.map((g) => g.name)).toEqual(Object.keys(service("ucr-registration").intakeFields.shape));
    expect(model.groups.every((g) => !g.fieldset)).toBe(true);
    expect(field(model, "usdotNumber")).toMatchObject({ label: "USDOT number", kind: "text", required: true });
    expect(field(model, "email")).toMatchObject({ kind: "email", required: true });
    expect(field(model, "powerUnits")).toMatchObject({ label: "Power units", kind: "number", encoding: "number" });
    const baseState = field(model, "baseState");
    expect(baseState).toMatchObject({ label: "Base state", kind: "select", required: true });
    expect(baseState.options).toHaveLength(51);
    expect(baseState.options).toContainEqual({ value: "SC", label: "SC" });
    expect(field(model, "classification").options).toContainEqual({ value: "motor_carrier", label: "Motor carrier" });
    // Optional in the schema → optional on the form; the bracket ids are shown as they are.
    expect(field(model, "fleetSizeBracket")).toMatchObject({ kind: "select", required: false });
    expect(field(model, "fleetSizeBracket").options?.map((o) => o.label)).toEqual([
      "0-2",
      "3-5",
      "6-20",
      "21-100",
      "101-1000",
      "1001+",
    ]);
    expect(field(model, "legalName").maxLength).toBe(200);
  });

  it("MCS-150: addresses and the officer are fieldsets of dotted fields; an optional address's parts are not required", () => {
    const model = intakeFormFor(service("mcs150-update"));
    const physical = model.groups.find((g) => g.name === "physicalAddress")!;
    expect(physical).toMatchObject({ label: "Principal place of business", fieldset: true, required: true });
    expect(physical.fields.map((f) => [f.name, f.label, f.kind, f.required])).toEqual([
      ["physicalAddress.street", "Street", "text", true],
      ["physicalAddress.city", "City", "text", true],
      ["physicalAddress.state", "State", "select", true],
      ["physicalAddress.zip", "ZIP code", "text", true],
    ]);
    const mailing = model.groups.find((g) => g.name === "mailingAddress")!;
    expect(mailing.required).toBe(false);
    expect(mailing.fields.every((f) => !f.required)).toBe(true);
    const officer = model.groups.find((g) => g.name === "officer")!;
    expect(officer.fields.map((f) => [f.name, f.kind])).toEqual([
      ["officer.name", "text"],
      ["officer.title", "text"],
      ["officer.email", "email"],
    ]);
    expect(field(model, "phone").kind).toBe("tel");
    expect(field(model, "dbaName").required).toBe(false);
    expect(field(model, "trailers")).toMatchObject({ label: "Trailers", kind: "number", required: true });
  });

  it("OIG/SAM: the staff list is a textarea, one person per line, with an optional NPI", () => {
    const model = intakeFormFor(service("oig-sam-screening"));
    const staff = field(model, "staff");
    expect(staff).toMatchObject({ label: "Staff to screen", kind: "textarea", encoding: "list", required: false });
    expect(staff.list?.maxItems).toBe(500);
    expect(staff.list?.columns.map((c) => [c.keys, c.required])).toEqual([
      [["firstName", "lastName"], true],
      [["npi"], false],
    ]);
    expect(staff.hint).toBe("One per line: First name and last name, NPI (optional).");
  });

  it("other shapes: choice lists are checkboxes, yes/no is a select, long text a textarea, dates a date", () => {
    const fuel = field(intakeFormFor(service("ifta-license")), "fuelTypes");
    expect(fuel).toMatchObject({ kind: "checkbox", encoding: "choices", required: true });
    expect(fuel.options).toContainEqual({ value: "lng", label: "LNG" });
    const brokers = field(intakeFormFor(service("cpni-certification")), "actionsAgainstDataBrokers");
    expect(brokers).toMatchObject({ kind: "select", encoding: "boolean", required: true });
    expect(brokers.options?.map((o) => o.value)).toEqual(["yes", "no"]);
    expect(field(intakeFormFor(service("rmd-filing")), "mitigationPlan")).toMatchObject({
      kind: "textarea",
      maxLength: 20_000,
    });
    expect(field(intakeFormFor(service("medicare-revalidation")), "revalidationDueDate")).toMatchObject({
      kind: "date",
      required: false,
    });
    const vehicles = field(intakeFormFor(service("irp-registration")), "vehicles");
    expect(vehicles.list?.columns.map((c) => c.label)).toEqual([
      "VIN",
      "Unit number",
      "Model year",
      "Registered gross weight (lbs)",
    ]);
    expect(vehicles.list?.minItems).toBe(1);
  });

  it("every catalog service has a form covering each intake field, and none takes a name the wizard uses", () => {
    for (const s of CATALOG) {
      const model = intakeFormFor(s);
      expect(model.groups.map((g) => g.name)).toEqual(Object.keys(s.intakeFields.shape));
      for (const f of model.fields) {
        expect(f.label.length, `${s.slug} ${f.name}`).toBeGreaterThan(0);
        expect(RESERVED_FORM_NAMES).not.toContain(f.name.split(".")[0]);
      }
      // The same model object each time: it is built once per schema.
      expect(intakeFormFor(s)).toBe(model);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Form ⇄ intake

describe("form ⇄ intake", () => {
  it.each([
    ["ucr-registration", UCR_INTAKE],
    ["mcs150-update", MCS150_INTAKE],
    ["oig-sam-screening", OIG_INTAKE],
  ])("%s: a complete intake survives the round trip through the form", (slug, intake) => {
    const s = service(slug);
    const model = intakeFormFor(s);
    const form = intakeToForm(intake, model);
    const back = formToIntake(form, model);
    const original = checkIntake(s, intake);
    const again = checkIntake(s, back);
    expect(original.complete).toBe(true);
    expect(again).toEqual(original);
  });

  it("shows what is known as strings: numbers, nested objects by dotted name, lists one per line", () => {
    const form = intakeToForm(MCS150_INTAKE, intakeFormFor(service("mcs150-update")));
    expect(form["physicalAddress.zip"]).toBe("43215");
    expect(form["officer.email"]).toBe("dana@buckeye.test");
    expect(form.milesTraveledLastYear).toBe("120000");
    expect(form).not.toHaveProperty("mailingAddress.street");
    const oig = intakeToForm(OIG_INTAKE, intakeFormFor(service("oig-sam-screening")));
    expect(oig.staff).toBe(`Mary Ann Smith\nJohn Doe, ${NPI_OK}`);
    const cpni = intakeToForm({ actionsAgainstDataBrokers: false }, intakeFormFor(service("cpni-certification")));
    expect(cpni.actionsAgainstDataBrokers).toBe("no");
    const ifta = intakeToForm({ fuelTypes: ["diesel", "lng"] }, intakeFormFor(service("ifta-license")));
    expect(ifta).toEqual({ "fuelTypes.diesel": "on", "fuelTypes.lng": "on" });
  });

  it("drops empty inputs: an empty field means 'not given', never ''", () => {
    const model = intakeFormFor(service("mcs150-update"));
    const intake = formToIntake(
      {
        usdotNumber: "  ",
        legalName: "",
        dbaName: "Buckeye",
        "physicalAddress.street": "",
        "physicalAddress.city": "",
        "mailingAddress.street": "2 Side St",
        "mailingAddress.city": "   ",
        powerUnits: "",
        "officer.name": "",
      },
      model,
    );
    expect(intake).toEqual({ dbaName: "Buckeye", mailingAddress: { street: "2 Side St" } });
  });

  it("converts yes/no and checkboxes, keeps textarea line ends as typed, ignores names the form does not have", () => {
    // JSON.parse makes "__proto__" an own property, as a hostile form body would.
    const posted = JSON.parse(
      '{"actionsAgainstDataBrokers":"no","customerComplaints":"0","__proto__":"x","constructor":"y","nonce":"n"}',
    ) as Record<string, string>;
    const cpni = formToIntake(posted, intakeFormFor(service("cpni-certification")));
    expect(cpni).toEqual({ actionsAgainstDataBrokers: false, customerComplaints: "0" });
    expect(Object.getPrototypeOf(cpni)).toBe(Object.prototype);
    const ifta = formToIntake(
      { "fuelTypes.diesel": "on", "fuelTypes.propane": "on", "fuelTypes.bogus": "on", "fuelTypes.lng": "" },
      intakeFormFor(service("ifta-license")),
    );
    expect(ifta).toEqual({ fuelTypes: ["diesel", "propane"] });
    const rmd = formToIntake({ mitigationPlan: "line one\r\nline two\r\n" }, intakeFormFor(service("rmd-filing")));
    expect(rmd).toEqual({ mitigationPlan: "line one\nline two" });
  });

  it("parses the staff list: 'First Last' or 'First Last, NPI', blank lines skipped", () => {
    const model = intakeFormFor(service("oig-sam-screening"));
    const intake = formToIntake({ staff: `Mary Ann Smith\r\n\r\n  John Doe , ${NPI_OK}  \nCher` }, model);
    expect(intake.staff).toEqual([
      { firstName: "Mary Ann", lastName: "Smith" },
      { firstName: "John", lastName: "Doe", npi: NPI_OK },
      { firstName: "Cher" },
    ]);
    // "Cher" has no last name: the schema says so, on its line.
    const check = checkPartialIntake(service("oig-sam-screening"), intake);
    expect(check.complete).toBe(false);
    if (check.complete) return;
    expect(fieldErrors(check.problems, model, intake)).toEqual({ staff: "Line 3: Last name is required" });
  });

  it("an extra comma stays in the last column, so a mistyped line is flagged, not silently cut", () => {
    const model = intakeFormFor(service("oig-sam-screening"));
    const intake = formToIntake({ staff: `Jane Roe, ${NPI_OK}, extra` }, model);
    expect(intake.staff).toEqual([{ firstName: "Jane", lastName: "Roe", npi: `${NPI_OK}, extra` }]);
    const check = checkPartialIntake(service("oig-sam-screening"), intake);
    expect(check.complete).toBe(false);
    if (check.complete) return;
    // One message per value, although the NPI fails two checks.
    expect(fieldErrors(check.problems, model, intake)).toEqual({ staff: "Line 1: NPI: an NPI is 10 digits" });
  });

  it("caps every value just above its limit: the schema names the problem, and nothing huge is kept", () => {
    const s = service("ucr-registration");
    const model = intakeFormFor(s);
    const intake = formToIntake({ legalName: "x".repeat(10_000), usdotNumber: "9".repeat(5_000) }, model);
    expect((intake.legalName as string).length).toBe(201);
    expect((intake.usdotNumber as string).length).toBe(101);
    const check = checkPartialIntake(s, intake);
    expect(check.complete).toBe(false);
    if (check.complete) return;
    expect(Object.keys(fieldErrors(check.problems, model, intake)).sort()).toEqual(["legalName", "usdotNumber"]);
    const staff = field(intakeFormFor(service("oig-sam-screening")), "staff");
    const lines = Array.from({ length: 2_000 }, (_, i) => `Person ${i}`).join("\n");
    expect(parseList(lines, staff.list!)).toHaveLength(501);
    expect(postedValues({ legalName: "y".repeat(10_000) }, model).legalName).toHaveLength(201);
  });

  it("names a missing part of an object as required, at its dotted name", () => {
    const s = service("mcs150-update");
    const model = intakeFormFor(s);
    const intake = formToIntake({ "physicalAddress.street": "1 Main St", "physicalAddress.zip": "4321" }, model);
    const check = checkPartialIntake(s, intake);
    expect(check.complete).toBe(false);
    if (check.complete) return;
    expect(fieldErrors(check.problems, model, intake)).toEqual({
      "physicalAddress.city": "City is required",
      "physicalAddress.state": "State is required",
      "physicalAddress.zip": "a ZIP code (12345 or 12345-6789)",
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The pages

let customerId = 0;
let seq = 700;

async function makeOrder(
  slug: string,
  over: { status?: string; intake?: unknown; parentOrderId?: number; prefix?: "CO" | "CG" } = {},
) {
  const number = `${over.prefix ?? "CO"}-2026-${String(++seq).padStart(6, "0")}`;
  const [row] = await withTestDb((db) =>
    db
      .insert(orders)
      .values({
        number,
        customerId,
        serviceSlug: slug,
        billingInterval: "none",
        status: over.status ?? "pending_payment",
        lines: [{ kind: "service_fee", label: "Service", amountCents: 8_900 }],
        totalCents: 8_900,
        paymentMethod: "card",
        intake: over.intake ?? null,
        ...(over.parentOrderId !== undefined ? { parentOrderId: over.parentOrderId } : {}),
      })
      .returning(),
  );
  return row!;
}

const eventsFor = (orderId: number) =>
  withTestDb((db) => db.select().from(orderEvents).where(eq(orderEvents.orderId, orderId)));
const intakeOf = async (orderId: number) =>
  (await withTestDb((db) => db.select({ intake: orders.intake }).from(orders).where(eq(orders.id, orderId))))[0]
    ?.intake;

beforeAll(async () => {
  const customer = await withTestDb((db) =>
    ensureCustomer(db, { email: "wizard@carrier.test", name: "Pat", company: "Acme Haulers" }),
  );
  customerId = customer.id;
});

describe("GET /order/:slug: refusals change nothing", () => {
  it("a forged, expired, foreign or wrong-purpose link is a 403 page", async () => {
    const order = await makeOrder("ucr-registration");
    const other = await makeOrder("ucr-registration");
    const valid = await intakeToken(order.number);
    const forged = `${valid.slice(0, -2)}${valid.endsWith("AA") ? "BB" : "AA"}`;
    const cases: [string, RegExp][] = [
      [forged, /This link does not work/],
      [await intakeToken(order.number, new Date(Date.now() - 60_000)), /This link has expired/],
      [await intakeToken(other.number), /This link does not work/],
      [
        await signLinkToken(SECRET, { purpose: "order-view", subject: order.number, expiresAt: inAWeek() }),
        /This link does not work/,
      ],
      ["", /This link does not work/],
    ];
    for (const [token, text] of cases) {
      const res = await call(`/order/ucr-registration?order=${order.number}&token=${encodeURIComponent(token)}`);
      expect(res.status).toBe(403);
      expect(res.headers.get("cache-control")).toBe("private, no-store");
      expect(await res.text()).toMatch(text);
    }
    expect(await eventsFor(order.id)).toEqual([]);
  });

  it("an order of another service, a government-fee child order or no order at all is a 404", async () => {
    const boc = await makeOrder("boc-3");
    expect((await call(await wizardPath("ucr-registration", boc.number))).status).toBe(404);
    const parent = await makeOrder("irp-registration", { status: "awaiting_government_fee" });
    const child = await makeOrder("irp-registration", { parentOrderId: parent.id, prefix: "CG" });
    expect((await call(await wizardPath("irp-registration", child.number))).status).toBe(404);
    expect((await call(await wizardPath("ucr-registration", "CO-2026-999999"))).status).toBe(404);
  });

  it("paths that are not a service fall through to the order pages", async () => {
    const order = await makeOrder("boc-3");
    const token = await signLinkToken(SECRET, { purpose: "order-view", subject: order.number, expiresAt: inAWeek() });
    const res = await call(`/order/${order.number}?token=${encodeURIComponent(token)}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`Order ${order.number}`);
    expect((await call(`/order/not-a-service?order=${order.number}&token=x`)).status).toBe(403);
  });
});

describe("GET /order/:slug: the wizard", () => {
  it("prefills what is known, escapes it, lists what is missing, notes census values, asks no money", async () => {
    const order = await makeOrder("ucr-registration", {
      status: "awaiting_intake",
      intake: { usdotNumber: "1234567", legalName: HOSTILE, baseState: "TX", powerUnits: 7 },
    });
    await withTestDb((db) =>
      db.insert(orderEvents).values({
        orderId: order.id,
        type: "intake_enriched",
        idempotencyKey: "enriched:initial",
        fromStatus: "awaiting_intake",
        toStatus: "awaiting_intake",
        // The census's legal name differs from what we hold now: only power units keeps the note.
        payload: { source: "fmcsa_census", found: true, fields: { legalName: "ACME HAULERS", powerUnits: 7 } },
        occurredAt: new Date(),
      }),
    );
    const res = await call(await wizardPath("ucr-registration", order.number));
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await res.text();

    expect(html).toContain("<h1>UCR Annual Registration");
    expect(html).toContain(`Order ${order.number}`);
    // The stored value is shown, escaped, never as markup.
    expect(html).toContain('value="&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(html).not.toContain(HOSTILE);
    expect(html).not.toMatch(/<script/i);
    expect(html).toMatch(/name="usdotNumber" value="1234567"/);
    expect(html).toMatch(/<option value="TX" selected="">TX<\/option>/);
    // What is still needed, by label.
    expect(html).toContain("Still needed (3)");
    for (const label of ["Email is required", "UCR classification is required", "Registration year is required"]) {
      expect(html).toContain(label);
    }
    // The census note, next to power units only.
    expect(html.match(/from the FMCSA census/g)).toHaveLength(1);
    expect(html).toMatch(/Power units[\s\S]{0,200}from the FMCSA census/);
    // One fresh nonce, the two buttons, no price or payment.
    expect(html).toMatch(/name="nonce" value="[0-9a-f-]{36}"/);
    expect(html).toContain("Save for later");
    expect(html).toContain(">Submit<");
    expect(html).not.toMatch(/\$|payment|pay now|card/i);
    expect(await eventsFor(order.id)).toHaveLength(1);
  });

  it("past intake: a read-only summary with the order link; cancelled: a closed page", async () => {
    const done = await makeOrder("ucr-registration", { status: "ready_to_file", intake: UCR_INTAKE });
    const res = await call(await wizardPath("ucr-registration", done.number));
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Intake complete");
    expect(html).toContain("Acme Haulers LLC");
    expect(html).toContain("Ready to file");
    expect(html).toContain(`/order/${done.number}?token=`);
    expect(html).not.toContain("<form");

    const cancelled = await makeOrder("ucr-registration", { status: "cancelled" });
    const closed = await call(await wizardPath("ucr-registration", cancelled.number));
    expect(closed.status).toBe(200);
    const closedHtml = await closed.text();
    expect(closedHtml).toContain(`Order ${cancelled.number} is closed`);
    expect(closedHtml).not.toContain("<form");
  });
});

describe("POST /order/:slug: bad input changes nothing", () => {
  it("a forged or expired link is a 403 and the machine hears nothing", async () => {
    const order = await makeOrder("ucr-registration", { intake: { legalName: "Before" } });
    const fields = { nonce: crypto.randomUUID(), intent: "save", legalName: "After" };
    const expired = await intakeToken(order.number, new Date(Date.now() - 1_000));
    for (const token of ["forged.token", expired]) {
      const res = await call(await wizardPath("ucr-registration", order.number, token), post(fields));
      expect(res.status).toBe(403);
    }
    expect(await eventsFor(order.id)).toEqual([]);
    expect(await intakeOf(order.id)).toEqual({ legalName: "Before" });
  });

  it("invalid values: 422 with inline errors and what was typed (escaped); no event, no change", async () => {
    const order = await makeOrder("ucr-registration", { intake: { legalName: "Before" } });
    const res = await call(
      await wizardPath("ucr-registration", order.number),
      post({
        nonce: crypto.randomUUID(),
        intent: "submit",
        usdotNumber: "DOT 0123",
        email: "not-an-address",
        legalName: HOSTILE,
        powerUnits: "seven",
      }),
    );
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain("Nothing was saved yet");
    expect(html).toContain("a USDOT number is 1 to 8 digits");
    expect(html).toContain("Power units must be a whole number");
    expect(html).toMatch(/name="email" value="not-an-address"[^>]*aria-invalid="true"/);
    expect(html).toContain('value="&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(html).not.toContain(HOSTILE);
    expect(await eventsFor(order.id)).toEqual([]);
    expect(await intakeOf(order.id)).toEqual({ legalName: "Before" });
  });

  it("a missing or malformed nonce is a 400; a foreign origin a 403; not a form a 415; too large a 413", async () => {
    const order = await makeOrder("ucr-registration");
    const path = await wizardPath("ucr-registration", order.number);
    expect((await call(path, post({ legalName: "X" }))).status).toBe(400);
    expect((await call(path, post({ nonce: "1234", legalName: "X" }))).status).toBe(400);
    const nonce = crypto.randomUUID();
    expect((await call(path, post({ nonce, legalName: "X" }, { origin: "https://evil.test" }))).status).toBe(403);
    const json = await call(path, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://docket.test" },
      body: JSON.stringify({ nonce, legalName: "X" }),
    });
    expect(json.status).toBe(415);
    const big = await call(path, post({ nonce, legalName: "X", staff: "y".repeat(70 * 1024) }));
    expect(big.status).toBe(413);
    expect(await big.text()).toContain("This form is too large");
    expect(await eventsFor(order.id)).toEqual([]);
  });

  it("an order past intake answers 409 with the read-only page, and nothing is sent", async () => {
    const order = await makeOrder("ucr-registration", { status: "completed", intake: UCR_INTAKE });
    const res = await call(
      await wizardPath("ucr-registration", order.number),
      post({ nonce: crypto.randomUUID(), intent: "save", legalName: "Changed" }),
    );
    expect(res.status).toBe(409);
    const html = await res.text();
    expect(html).toContain("Nothing was changed");
    expect(html).toContain("Acme Haulers LLC");
    expect(await eventsFor(order.id)).toEqual([]);
    const cancelled = await makeOrder("ucr-registration", { status: "refunded" });
    const closed = await call(
      await wizardPath("ucr-registration", cancelled.number),
      post({ nonce: crypto.randomUUID(), intent: "save", legalName: "Changed" }),
    );
    expect(closed.status).toBe(409);
    expect(await eventsFor(cancelled.id)).toEqual([]);
  });
});

// These need the OrderMachine to accept `intake_submitted` (the lead's machine, issue 5).
describe("POST /order/:slug: saves through the OrderMachine", () => {
  it("a valid partial save is one intake_submitted event, merged and shown back (text kept as text)", async () => {
    const order = await makeOrder("oig-sam-screening", { intake: { email: "old@sunrise.test", state: "FL" } });
    const nonce = crypto.randomUUID();
    const res = await call(
      await wizardPath("oig-sam-screening", order.number),
      post({
        nonce,
        intent: "save",
        state: "FL",
        npi: ` ${NPI_OK} `,
        providerName: `${HOSTILE} & Co`,
        email: "",
        staff: `Mary Ann Smith\r\nJohn Doe, ${NPI_OK}`,
      }),
    );
    expect(res.status).toBe(200);
    const html = await res.text();
    // Everything is known now, but the order is not paid yet: saved, and it waits.
    expect(html).toContain("Saved: we have everything we need");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co");
    expect(html).not.toContain(HOSTILE);

    const events = (await eventsFor(order.id)).filter((e) => e.type === "intake_submitted");
    expect(events).toHaveLength(1);
    expect(events[0]!.idempotencyKey).toBe(`intake:${nonce}`);
    expect(events[0]!.payload).toMatchObject({
      actor: { kind: "customer" },
      fields: {
        npi: NPI_OK,
        providerName: `${HOSTILE} & Co`,
        staff: [
          { firstName: "Mary Ann", lastName: "Smith" },
          { firstName: "John", lastName: "Doe", npi: NPI_OK },
        ],
      },
    });
    // The empty e-mail field was "not given": the known address stays. The state was sent back
    // as prefilled: not a change, so not in the event.
    const sent = (events[0]!.payload as { fields: Record<string, unknown> }).fields;
    expect(Object.keys(sent).sort()).toEqual(["npi", "providerName", "staff"]);
    expect(await intakeOf(order.id)).toMatchObject({
      email: "old@sunrise.test",
      state: "FL",
      npi: NPI_OK,
      providerName: `${HOSTILE} & Co`,
    });
  });

  it("the same form sent twice is one event", async () => {
    const order = await makeOrder("ucr-registration");
    const path = await wizardPath("ucr-registration", order.number);
    const fields = { nonce: crypto.randomUUID(), intent: "save", legalName: "Twice Trucking", powerUnits: "4" };
    const [first, second] = await Promise.all([call(path, post(fields)), call(path, post(fields))]);
    expect([first.status, second.status]).toEqual([200, 200]);
    // Sent at once: the machine takes one, and the other is the same event again.
    const texts = await Promise.all([first.text(), second.text()]);
    expect(texts.filter((t) => t.includes("Saved. Come back to this link any time to finish."))).toHaveLength(1);
    expect(texts.filter((t) => t.includes("This form was already sent"))).toHaveLength(1);
    const third = await call(path, post(fields));
    expect(third.status).toBe(200);
    expect(await third.text()).toContain("This form was already sent");
    const events = (await eventsFor(order.id)).filter((e) => e.type === "intake_submitted");
    expect(events).toHaveLength(1);
    expect(await intakeOf(order.id)).toMatchObject({ legalName: "Twice Trucking", powerUnits: 4 });
  });

  it("submitting an incomplete intake saves it and marks what is still missing", async () => {
    const order = await makeOrder("ucr-registration");
    const res = await call(
      await wizardPath("ucr-registration", order.number),
      post({ nonce: crypto.randomUUID(), intent: "submit", legalName: "Part Way LLC" }),
    );
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("we still need the items listed below");
    expect(html).toMatch(/Email is required/);
    expect(html).toMatch(/name="legalName" value="Part Way LLC"/);
  });
});

describe("completing intake (through the OrderMachine)", () => {
  it("a paid order waiting for intake: Submit with everything → thank-you page, the order moves on, the link then shows the summary", async () => {
    const order = await makeOrder("foreign-qualification");
    const machine = testEnv.ORDER_MACHINE.get(testEnv.ORDER_MACHINE.idFromName(order.number));
    const paid = (await machine.apply(order.number, {
      type: "payment_succeeded",
      key: `evt_paid_${order.number}`,
      at: new Date().toISOString(),
      payload: { attempt: "initial" },
    })) as ApplyResult;
    expect(paid).toMatchObject({ outcome: "applied", status: "awaiting_intake" });

    const path = await wizardPath("foreign-qualification", order.number);
    const res = await call(
      path,
      post({
        nonce: crypto.randomUUID(),
        intent: "submit",
        legalName: "Granite Holdings LLC",
        entityType: "llc",
        homeState: "DE",
        targetState: "SC",
        "principalAddress.street": "9 Harbor Rd",
        "principalAddress.city": "Wilmington",
        "principalAddress.state": "DE",
        "principalAddress.zip": "19801",
        email: "legal@granite.test",
        "officer.name": "Lee Park",
        "officer.title": "Manager",
        "officer.email": "lee@granite.test",
      }),
    );
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Thank you: intake complete");
    expect(html).toContain("Granite Holdings LLC");
    expect(html).not.toContain("<form");
    const [row] = await withTestDb((db) =>
      db.select({ status: orders.status }).from(orders).where(eq(orders.id, order.id)),
    );
    expect(row?.status).not.toBe("awaiting_intake");

    const again = await call(path);
    expect(again.status).toBe(200);
    expect(await again.text()).toContain("Intake complete");
  });
});

describe("the Worker mounts the wizard", () => {
  // Needs `app.route("/order", intakeWizardRoutes)` before the order pages in workers/app.ts.
  it("GET /order/:slug through the Worker itself is the wizard", async () => {
    const order = await makeOrder("boc-3");
    const res = await exports.default.fetch(
      new Request(`http://docket.test${await wizardPath("boc-3", order.number)}`),
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("BOC-3 Process Agent Filing");
  });
});
