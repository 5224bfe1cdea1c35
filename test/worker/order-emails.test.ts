import { describe, expect, it } from "vitest";
import { checkIntake, type IntakeProblem } from "../../domain/catalog/intake";
import { getService } from "../../domain/catalog/services";
import type { CustomerEmail } from "../../domain/orders/order-effects";
import {
  answerConsequence,
  composeOrderEmail,
  OrderEmailError,
  type OrderEmailContext,
} from "../../domain/orders/order-emails";

/**
 * The customer e-mails of the order machine, composed without I/O: each template's subject, its
 * two parts saying the same thing, the exact list of what is missing, every hostile value
 * escaped in HTML, the service named by its catalog display name, and a programming error when
 * a link the template needs was not given.
 */

const ORDER = "CO-2026-000123";
const HOSTILE = `<script>alert("x")</script> & <img src=x onerror=alert(1)>`;
const svc = (slug: string) => {
  const s = getService(slug);
  if (!s) throw new Error(`no ${slug}`);
  return s;
};
const UCR = svc("ucr-registration");
const ISA = svc("intrastate-authority");
const BUNDLE = svc("provider-compliance-bundle");
const MONITORING = svc("oig-sam-screening");

const base = (serviceName: string, links: Partial<OrderEmailContext["links"]> = {}): OrderEmailContext => ({
  serviceName,
  orderNumber: ORDER,
  customerName: "Pat Driver",
  links: { orderUrl: `https://docket.example/order/${ORDER}?token=ov`, ...links },
});

/** The HTML part as a reader sees it: one string per paragraph, list item or line, tags removed, entities decoded. */
function visibleLines(html: string): string[] {
  return html
    .replace(/<title>[\s\S]*?<\/title>/, "")
    .replace(/<br>|<\/(p|li|blockquote)>/g, "\n")
    .replace(/<[^>]+>/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .split("\n")
    .map((l) => l.replace(/\s+/g, " ").trim())
    .filter((l) => l.length > 0);
}

const visible = (html: string) => visibleLines(html).join(" ");

/** Every href in the HTML part, decoded. */
function hrefs(html: string): string[] {
  return [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, "&"));
}

/** The plaintext says everything the HTML says: every sentence of the HTML is in the text, and every link. */
function expectSameContent(mail: { text: string; html: string }) {
  const text = mail.text.replace(/\s+/g, " ");
  const lines = visibleLines(mail.html);
  expect(lines.length).toBeGreaterThan(3);
  for (const line of lines) expect(text, `plaintext lacks: ${line}`).toContain(line);
  for (const href of hrefs(mail.html)) expect(mail.text).toContain(href);
}

/** The lines of the first "  - " list in the plaintext part. */
function firstList(text: string): string[] {
  const block = text.split("\n\n").find((b) => b.startsWith("  - "));
  return block ? block.split("\n").map((l) => l.replace(/^ {2}- /, "")) : [];
}

describe("intake_request", () => {
  const partial = { usdotNumber: "1234567", legalName: "Q&A Freight" };
  const check = checkIntake(UCR, partial);
  if (check.complete) throw new Error("the fixture must be incomplete");
  const missing = check.problems;
  const intakeUrl = `https://docket.example/order/ucr-registration?order=${ORDER}&token=in`;

  it("the first request: a specific subject, exactly the missing fields by label, the wizard link", () => {
    const mail = composeOrderEmail(
      { template: "intake_request", missing, reminder: 0 },
      base(UCR.displayName, { intakeUrl }),
    );
    expect(mail.subject).toBe(
      `Action needed: ${missing.length} details for your UCR Annual Registration (order ${ORDER})`,
    );
    const lines = firstList(mail.text);
    expect(lines).toHaveLength(missing.length);
    expect(lines).toEqual(
      missing.map((p) =>
        p.message === `${p.label} is required` ? `${p.label} (required)` : `${p.label}: ${p.message}`,
      ),
    );
    // Nothing that is already known is asked for again.
    expect(mail.text).not.toMatch(/USDOT number \(required\)/);
    expect(mail.text).not.toMatch(/Legal name \(required\)/);
    expect(mail.text).toContain(intakeUrl);
    expect(hrefs(mail.html)).toContain(intakeUrl);
    // Never the sales page: the only links are the wizard and the order page.
    expect(hrefs(mail.html).sort()).toEqual([intakeUrl, base("").links.orderUrl].sort());
    expect(mail.text).not.toMatch(/Reminder|reminder \d/);
    expectSameContent(mail);
  });

  it("a reminder says which one in the subject and the body", () => {
    const mail = composeOrderEmail(
      { template: "intake_request", missing, reminder: 4 },
      base(UCR.displayName, { intakeUrl }),
    );
    expect(mail.subject).toBe(
      `Reminder 4: ${missing.length} details still needed for your UCR Annual Registration (order ${ORDER})`,
    );
    expect(mail.text).toContain("This is reminder 4.");
    expectSameContent(mail);
  });

  it("one missing detail is singular; a wrong value keeps its message", () => {
    const one: IntakeProblem[] = [
      { field: "physicalAddress.zip", label: "ZIP code", message: "a ZIP code (12345 or 12345-6789)" },
    ];
    const mail = composeOrderEmail(
      { template: "intake_request", missing: one, reminder: 0 },
      base(UCR.displayName, { intakeUrl }),
    );
    expect(mail.subject).toBe(`Action needed: 1 detail for your UCR Annual Registration (order ${ORDER})`);
    expect(firstList(mail.text)).toEqual(["ZIP code: a ZIP code (12345 or 12345-6789)"]);
  });

  it("hostile labels, messages and names are escaped in HTML and kept as text in plaintext", () => {
    const hostile: IntakeProblem[] = [{ field: "x", label: HOSTILE, message: `${HOSTILE} is wrong` }];
    const mail = composeOrderEmail(
      { template: "intake_request", missing: hostile, reminder: 0 },
      { ...base(UCR.displayName, { intakeUrl }), customerName: HOSTILE },
    );
    expect(mail.html).not.toContain("<script");
    expect(mail.html).not.toContain("<img");
    expect(mail.html).toContain(
      "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;",
    );
    expect(mail.text).toContain(`Hello ${HOSTILE},`);
    expect(firstList(mail.text)).toEqual([`${HOSTILE}: ${HOSTILE} is wrong`]);
    expectSameContent(mail);
  });

  it("without the wizard link it is a programming error", () => {
    expect(() =>
      composeOrderEmail({ template: "intake_request", missing, reminder: 0 }, base(UCR.displayName)),
    ).toThrowError(OrderEmailError);
    try {
      composeOrderEmail({ template: "intake_request", missing, reminder: 0 }, base(UCR.displayName));
    } catch (e) {
      expect((e as OrderEmailError).code).toBe("missing_link");
    }
  });

  it("a link that is not http(s) is refused (a javascript: URL never reaches an href)", () => {
    expect(() =>
      composeOrderEmail(
        { template: "intake_request", missing, reminder: 0 },
        base(UCR.displayName, { intakeUrl: "javascript:alert(1)" }),
      ),
    ).toThrowError(/not an http\(s\) URL/);
  });
});

describe("signature_request", () => {
  const email: CustomerEmail = {
    template: "signature_request",
    document: "power_of_attorney",
    title: "Power of attorney for the intrastate authority application",
  };
  const signUrl = `https://docket.example/order/${ORDER}/sign?token=sg`;

  it("names the document and the service, links to the signing page and says until when the link works", () => {
    const mail = composeOrderEmail(email, {
      ...base(ISA.displayName, { signUrl }),
      linkExpiresAt: new Date("2026-06-07T12:00:00Z"),
    });
    expect(mail.subject).toBe(
      `Signature needed: Power of attorney for the intrastate authority application for your Intrastate Operating Authority (order ${ORDER})`,
    );
    expect(mail.text).toContain(signUrl);
    expect(hrefs(mail.html)).toContain(signUrl);
    expect(mail.text).toContain("The link works until June 7, 2026 (UTC)");
    expect(mail.text).toContain("Intrastate Operating Authority");
    expectSameContent(mail);
  });

  it("a hostile title is escaped", () => {
    const mail = composeOrderEmail(
      { ...email, title: HOSTILE },
      { ...base(ISA.displayName, { signUrl }), linkExpiresAt: new Date("2026-06-07T12:00:00Z") },
    );
    expect(mail.html).not.toContain("<script");
    expect(mail.text).toContain(HOSTILE);
    expect(mail.subject).not.toMatch(/[\r\n]/);
  });

  it("without the signing link or the expiry it is a programming error", () => {
    expect(() => composeOrderEmail(email, { ...base(ISA.displayName), linkExpiresAt: new Date() })).toThrowError(
      /links.signUrl is required/,
    );
    expect(() => composeOrderEmail(email, base(ISA.displayName, { signUrl }))).toThrowError(/linkExpiresAt/);
  });
});

describe("customer_question", () => {
  const email: CustomerEmail = { template: "customer_question", questionId: "sc-form-e" };
  const gate = ISA.customerQuestion!;
  const answerYesUrl = `https://docket.example/order/${ORDER}/answer?token=an&answer=yes`;
  const answerNoUrl = `https://docket.example/order/${ORDER}/answer?token=an&answer=no`;

  it("asks the catalog's question with its guidance, two links, and what each answer does", () => {
    const mail = composeOrderEmail(email, {
      ...base(ISA.displayName, { answerYesUrl, answerNoUrl }),
      serviceSlug: ISA.slug,
    });
    expect(mail.subject).toBe(`One question before we file your Intrastate Operating Authority (order ${ORDER})`);
    expect(mail.text).toContain(`> ${gate.question}`);
    expect(mail.text).toContain(gate.guidance!);
    expect(mail.text).toContain(`Yes:\n${answerYesUrl}`);
    expect(mail.text).toContain(`No:\n${answerNoUrl}`);
    expect(mail.text).toContain(`If you answer Yes, we bill the state fee`);
    expect(mail.text).toContain(`If you answer No, we hold the filing and connect you with an insurance broker`);
    expect(answerConsequence(gate, "yes")).toMatch(/state fee/);
    expect(answerConsequence(gate, "no")).toMatch(/insurance broker/);
    expect(hrefs(mail.html)).toEqual(expect.arrayContaining([answerYesUrl, answerNoUrl]));
    // The HTML escapes the question's "$" amounts and apostrophes like any other value.
    expect(visible(mail.html)).toContain(gate.question);
    expectSameContent(mail);
  });

  it("without a slug, the question is found by its id in the catalog", () => {
    const mail = composeOrderEmail(email, base(ISA.displayName, { answerYesUrl, answerNoUrl }));
    expect(mail.text).toContain(gate.question);
  });

  it("an unknown question, a question of another service, or a missing link is a programming error", () => {
    const ctx = base(ISA.displayName, { answerYesUrl, answerNoUrl });
    expect(() => composeOrderEmail({ template: "customer_question", questionId: "nope" }, ctx)).toThrowError(
      /no catalog question "nope"/,
    );
    expect(() => composeOrderEmail(email, { ...ctx, serviceSlug: UCR.slug })).toThrowError(OrderEmailError);
    expect(() => composeOrderEmail(email, base(ISA.displayName, { answerYesUrl }))).toThrowError(
      /links.answerNoUrl is required/,
    );
  });
});

describe("completion", () => {
  const documents = [
    { label: "UCR receipt", r2Key: `orders/${ORDER}/documents/ucr-receipt.pdf` },
    { label: `Evidence ${HOSTILE}`, r2Key: `orders/${ORDER}/documents/evidence.png` },
  ];
  const documentUrls = [
    `https://docket.example/order/${ORDER}/documents/documents/ucr-receipt.pdf?token=d1`,
    `https://docket.example/order/${ORDER}/documents/documents/evidence.png?token=d2`,
  ];

  it("the service, the cycle, the confirmation number and a link to each document and to the order", () => {
    const mail = composeOrderEmail(
      { template: "completion", cycle: "initial", cycleLabel: "Filing", confirmation: "UCR-99812", documents },
      base(UCR.displayName, { documentUrls }),
    );
    expect(mail.subject).toBe(`Completed: your UCR Annual Registration (Filing, order ${ORDER})`);
    expect(firstList(mail.text)).toEqual([
      "Service: UCR Annual Registration",
      "Cycle: Filing",
      "Confirmation number: UCR-99812",
    ]);
    expect(mail.text).toContain(`UCR receipt: ${documentUrls[0]}`);
    expect(mail.text).toContain(`Evidence ${HOSTILE}: ${documentUrls[1]}`);
    expect(hrefs(mail.html)).toEqual([...documentUrls, base("").links.orderUrl]);
    expect(mail.html).not.toContain("<script");
    expectSameContent(mail);
  });

  it("a monthly cycle without a confirmation number", () => {
    const mail = composeOrderEmail(
      { template: "completion", cycle: "in_123", cycleLabel: "Monthly cycle 3", documents: [documents[0]!] },
      base(MONITORING.displayName, { documentUrls: [documentUrls[0]!] }),
    );
    expect(mail.subject).toBe(
      `Completed: your OIG/SAM Exclusion Screening (Monthly Monitoring) (Monthly cycle 3, order ${ORDER})`,
    );
    expect(mail.text).not.toContain("Confirmation number");
    expect(mail.text).toContain("Your document:");
    expectSameContent(mail);
  });

  it("a document without its link is a programming error", () => {
    expect(() =>
      composeOrderEmail(
        { template: "completion", cycle: "initial", cycleLabel: "Filing", documents },
        base(UCR.displayName, { documentUrls: [documentUrls[0]!] }),
      ),
    ).toThrowError(/2 documents but 1 document links/);
  });
});

describe("bundle_invitation", () => {
  const monitoringUrl = "https://docket.example/services/oig-sam-screening";

  it("names monitoring by its catalog name, says why monthly screening matters, links to it, and states no price", () => {
    const mail = composeOrderEmail({ template: "bundle_invitation" }, base(BUNDLE.displayName, { monitoringUrl }));
    expect(mail.subject).toBe(
      `OIG/SAM Exclusion Screening (Monthly Monitoring) after your Provider Compliance Bundle (order ${ORDER})`,
    );
    expect(mail.text).toContain(MONITORING.displayName);
    expect(mail.text).toContain("Provider Compliance Bundle");
    expect(mail.text).toContain("42 CFR 1001.1901");
    expect(mail.text).toContain("HHS-OIG");
    expect(mail.text).toContain(monitoringUrl);
    expect(hrefs(mail.html)).toContain(monitoringUrl);
    for (const part of [mail.subject, mail.text, mail.html]) {
      expect(part).not.toContain("$");
      expect(part).not.toMatch(/\b79\b|per month|\/mo\b/);
    }
    expectSameContent(mail);
  });

  it("without the monitoring link it is a programming error", () => {
    expect(() => composeOrderEmail({ template: "bundle_invitation" }, base(BUNDLE.displayName))).toThrowError(
      /links.monitoringUrl is required/,
    );
  });
});

describe("every template", () => {
  it("needs the order link and greets without a name when there is none", () => {
    const ctx = base(BUNDLE.displayName, { monitoringUrl: "https://docket.example/services/oig-sam-screening" });
    expect(() =>
      composeOrderEmail({ template: "bundle_invitation" }, { ...ctx, links: { ...ctx.links, orderUrl: "" } }),
    ).toThrowError(/links.orderUrl is required/);
    const { customerName: _drop, ...anonymous } = ctx;
    const mail = composeOrderEmail({ template: "bundle_invitation" }, anonymous);
    expect(mail.text.startsWith("Hello,\n")).toBe(true);
  });

  it("a hostile service name or order number cannot break the subject line or the HTML", () => {
    const mail = composeOrderEmail(
      { template: "bundle_invitation" },
      { ...base(`Bundle\r\nBcc: x@evil.test ${HOSTILE}`, { monitoringUrl: "https://docket.example/m" }) },
    );
    expect(mail.subject).not.toMatch(/[\r\n]/);
    expect(mail.html).not.toContain("<script");
    expect(mail.html).not.toContain("<img");
  });

  it("shows until when the links work, when the caller says", () => {
    const mail = composeOrderEmail(
      { template: "bundle_invitation" },
      {
        ...base(BUNDLE.displayName, { monitoringUrl: "https://docket.example/m" }),
        linkExpiresAt: new Date("2026-01-31T23:59:59Z"),
      },
    );
    expect(mail.text).toContain("The links in this e-mail work until January 31, 2026 (UTC).");
    expectSameContent(mail);
  });
});
