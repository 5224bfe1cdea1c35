import { PDFDocument } from "pdf-lib";
import { DocumentInputError, NUMBER_COLUMN, requireDate, requireText } from "./order-document";
import { documentDate, embedDocumentFonts, MUTED, PdfFlow, setDocumentInfo } from "./pdf-text";

/**
 * The dated certificate of one exclusion screening run (the OIG/SAM service, one per monthly
 * cycle): who was screened, against which lists and how current each list was, and the result:
 * no matches, or the possible matches a person must review. A possible match is never called an
 * exclusion here: names collide, and only the source confirms one.
 */

export interface ScreeningCertificateInput {
  orderNumber: string;
  serviceName: string;
  providerName: string;
  npi: string;
  cycleLabel: string;
  screenedAt: Date;
  subjects: { name: string; npi?: string }[];
  sources: { name: string; dataAsOf: string | null; entries: number }[];
  matches: { subject: string; source: string; reason: string }[];
}

export const SCREENING_CERTIFICATE_TITLE = "Exclusion screening certificate";

const count = new Intl.NumberFormat("en-US");

function plural(n: number, one: string, many: string): string {
  return `${count.format(n)} ${n === 1 ? one : many}`;
}

function sourcePhrase(source: ScreeningCertificateInput["sources"][number]): string {
  return `${source.name} (data as of ${source.dataAsOf ?? "an unknown date"})`;
}

function listPhrase(items: string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

export async function renderScreeningCertificate(input: ScreeningCertificateInput): Promise<Uint8Array> {
  requireText(input.orderNumber, "orderNumber");
  requireText(input.providerName, "providerName");
  requireDate(input.screenedAt, "screenedAt");
  // A certificate that names no list or no one screened would certify nothing.
  if (input.subjects.length === 0) throw new DocumentInputError("a screening certificate needs at least one subject");
  if (input.sources.length === 0) throw new DocumentInputError("a screening certificate needs at least one source");
  for (const source of input.sources) {
    requireText(source.name, "source name");
    if (!Number.isInteger(source.entries) || source.entries < 0) {
      throw new DocumentInputError(`source ${source.name}: entries must be a whole number`);
    }
  }

  const doc = await PDFDocument.create();
  const flow = new PdfFlow(doc, await embedDocumentFonts(doc));
  flow.title(SCREENING_CERTIFICATE_TITLE);
  flow.paragraph(input.serviceName, { size: 12, after: 8 });
  flow.rows([
    ["Order", input.orderNumber],
    ["Provider", input.providerName],
    ["NPI", input.npi || "-"],
    ["Cycle", input.cycleLabel],
    ["Screened at", documentDate(input.screenedAt)],
  ]);

  const screened = plural(input.subjects.length, "individual or entity", "individuals and entities");
  const against = listPhrase(input.sources.map(sourcePhrase));
  const date = input.screenedAt.toISOString().slice(0, 10);
  flow.heading("Result");
  if (input.matches.length === 0) {
    flow.paragraph(`On ${date}, Docket screened ${screened} against ${against}: no matches.`, {
      font: "bold",
      size: 11,
    });
  } else {
    flow.paragraph(
      `On ${date}, Docket screened ${screened} against ${against}: ` +
        `${plural(input.matches.length, "possible match", "possible matches")} to review.`,
    );
    flow.paragraph(
      "A possible match is a similarity of name or identifier, not a finding that anyone is excluded. Each one " +
        "is checked against the source (the LEIE's and SAM.gov's own search, with date of birth or NPI) before " +
        "anyone acts on it.",
      { font: "italic", color: MUTED },
    );
    flow.rows(input.matches.map((m) => [m.subject, `${m.source}: ${m.reason}`]));
  }

  flow.heading("Lists screened against");
  flow.rows(
    input.sources.map((s) => [
      s.name,
      `Data as of ${s.dataAsOf ?? "an unknown date"}; ${plural(s.entries, "entry", "entries")}`,
    ]),
  );

  flow.heading(`Screened (${count.format(input.subjects.length)})`);
  flow.rows(
    input.subjects.map((s, i) => [`${i + 1}.`, s.npi ? `${s.name}, NPI ${s.npi}` : s.name]),
    { labelWidth: NUMBER_COLUMN },
  );

  flow.heading("What this certificate covers");
  flow.bullets([
    "The lists and data dates named above, on the date screened. A person excluded later is found by the next screening.",
    "The names and NPIs the provider gave us for this cycle.",
  ]);

  flow.footer(`Docket \u00B7 ${input.orderNumber} \u00B7 ${SCREENING_CERTIFICATE_TITLE} \u00B7 ${input.cycleLabel}`);
  setDocumentInfo(doc, {
    title: `${SCREENING_CERTIFICATE_TITLE}: ${input.providerName}, ${input.cycleLabel}`,
    subject: input.orderNumber,
    keywords: [input.orderNumber, "screening"],
    createdAt: input.screenedAt,
  });
  return await doc.save();
}
