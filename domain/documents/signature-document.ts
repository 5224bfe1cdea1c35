import { PDFDocument } from "pdf-lib";
import type { ServiceDefinition, SignatureGate } from "../catalog/service-definition";
import {
  DocumentInputError,
  intakeSections,
  requireDate,
  requireText,
  writeDocumentHeader,
  writeSections,
} from "./order-document";
import { embedDocumentFonts, getInfoNumbers, LINE, MUTED, PdfFlow, setDocumentInfo, setInfoNumbers } from "./pdf-text";

/**
 * The document a signature gate asks the customer to sign (catalog: `needsSignature`): a power
 * of attorney, an officer's certification or a letter of authorization, in plain language,
 * naming the service by its display name and saying why the signature is needed (the gate's
 * `basis`), then the intake it covers, then an empty signature block.
 *
 * Where the block is drawn is written into the PDF itself (a private entry of the document
 * information dictionary), so `stampSignature` signs exactly the block this renderer drew,
 * whatever the length of the intake before it.
 */

/**
 * The consent the signing page shows and the signature certificate records. It gives what the
 * ESIGN Act asks before a consumer agrees to an electronic record (15 U.S.C. 7001(c)(1)): the
 * right to paper instead and how to ask, the right to withdraw and its consequences, what the
 * consent covers, how to get a copy, and what is needed to open the document; and the signer
 * confirms being able to open it (7001(c)(1)(C)(ii)).
 */
export const SIGNATURE_CONSENT_TEXT =
  "I agree to sign this document electronically. My electronic signature (my typed name or the mark I draw) " +
  "has the same legal effect as my handwritten signature on paper, under the Electronic Signatures in Global " +
  "and National Commerce Act (15 U.S.C. 7001 et seq.) and applicable state law. This consent covers this " +
  "document only. I have opened and read the document as a PDF on this device (a web browser or any PDF " +
  "reader opens it). I may instead ask Docket for a paper copy to sign by hand, at no charge, by replying to " +
  "any e-mail from Docket; I may withdraw this consent the same way before I sign, which does not cancel my " +
  "order but may delay it. The date and time, my IP address and my browser's user agent are recorded with " +
  "my signature, and a copy of the signed document stays available to me on my order page.";

export interface SignatureDocumentInput {
  gate: SignatureGate;
  service: ServiceDefinition;
  orderNumber: string;
  intake: Record<string, unknown>;
  preparedAt: Date;
  customerName?: string;
}

/** Where the stamp draws: the signature box, and the baselines of the printed name and the date. */
export interface SignatureBlock {
  pageIndex: number;
  box: { x: number; y: number; width: number; height: number };
  name: { x: number; y: number };
  date: { x: number; y: number };
  /** Baseline of the "signed electronically" note under the block. */
  note: { x: number; y: number; width: number };
}

/** The private information-dictionary key holding the block (a second-class name, PDF 32000-1 Annex E). */
export const SIGNATURE_BLOCK_KEY = "DocketSignatureBlock";

export const SIGNER_LABELS: Record<SignatureGate["signer"], string> = {
  company_officer: "an officer",
  authorized_official: "the authorized official",
  provider: "the provider or its authorized official",
};

const DOCUMENT_KINDS: Record<SignatureGate["document"], string> = {
  power_of_attorney: "Limited power of attorney",
  officer_certification: "Officer certification",
  authorization_letter: "Letter of authorization",
};

export async function renderSignatureDocument(input: SignatureDocumentInput): Promise<Uint8Array> {
  const { gate, service, orderNumber } = input;
  requireText(orderNumber, "orderNumber");
  requireDate(input.preparedAt, "preparedAt");
  if (!(gate.document in DOCUMENT_KINDS)) throw new DocumentInputError(`unknown signature document "${gate.document}"`);

  const party = signatureParty(input.intake, input.customerName);
  const doc = await PDFDocument.create();
  const flow = new PdfFlow(doc, await embedDocumentFonts(doc));
  writeDocumentHeader(flow, {
    title: gate.title,
    serviceName: service.displayName,
    orderNumber,
    preparedAt: input.preparedAt,
    regulation: service.regulation,
  });

  flow.heading(DOCUMENT_KINDS[gate.document]);
  for (const paragraph of statement(gate, service, orderNumber, party)) flow.paragraph(paragraph);
  flow.paragraph(`Why a signature is needed: ${sentence(gate.basis)}`, { font: "italic", color: MUTED });

  writeSections(flow, intakeSections(service, input.intake));

  const block = writeSignatureBlock(flow, gate, party);
  setInfoNumbers(doc, SIGNATURE_BLOCK_KEY, [
    block.pageIndex,
    block.box.x,
    block.box.y,
    block.box.width,
    block.box.height,
    block.name.x,
    block.name.y,
    block.date.x,
    block.date.y,
    block.note.x,
    block.note.y,
    block.note.width,
  ]);

  flow.footer(`Docket \u00B7 ${orderNumber} \u00B7 ${gate.title}`);
  setDocumentInfo(doc, {
    title: gate.title,
    subject: orderNumber,
    keywords: [orderNumber, gate.document, gate.template, service.slug],
    createdAt: input.preparedAt,
  });
  return await doc.save();
}

/** The signature block this document carries, or undefined (not one of ours, or damaged). */
export function readSignatureBlock(doc: PDFDocument): SignatureBlock | undefined {
  const n = getInfoNumbers(doc, SIGNATURE_BLOCK_KEY);
  if (!n || n.length !== 12 || !n.every(Number.isFinite)) return undefined;
  const [pageIndex, bx, by, bw, bh, nx, ny, dx, dy, tx, ty, tw] = n as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (!Number.isInteger(pageIndex) || pageIndex < 0 || pageIndex >= doc.getPageCount()) return undefined;
  if (bw <= 0 || bh <= 0) return undefined;
  return {
    pageIndex,
    box: { x: bx, y: by, width: bw, height: bh },
    name: { x: nx, y: ny },
    date: { x: dx, y: dy },
    note: { x: tx, y: ty, width: tw },
  };
}

// ---------------------------------------------------------------------------------------------

interface Party {
  company: string;
  signerName?: string;
  signerTitle?: string;
}

function stringAt(value: unknown, ...path: string[]): string | undefined {
  let current = value;
  for (const key of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return typeof current === "string" && current.trim() !== "" ? current.trim() : undefined;
}

/** Who the document is for and who is expected to sign, from the intake. */
export function signatureParty(intake: Readonly<Record<string, unknown>>, customerName?: string): Party {
  const company =
    stringAt(intake, "legalName") ?? stringAt(intake, "providerName") ?? customerName?.trim() ?? "the customer";
  const signerName = stringAt(intake, "officer", "name") ?? stringAt(intake, "authorizedOfficial", "name");
  const signerTitle = stringAt(intake, "officer", "title") ?? stringAt(intake, "authorizedOfficial", "title");
  return {
    company: company === "" ? "the customer" : company,
    ...(signerName ? { signerName } : {}),
    ...(signerTitle ? { signerTitle } : {}),
  };
}

/** "the base state acts…" → "The base state acts….": the catalog writes bases as clauses. */
function sentence(text: string): string {
  const t = text.trim();
  const capital = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

function statement(gate: SignatureGate, service: ServiceDefinition, orderNumber: string, party: Party): string[] {
  const filing = `the ${service.displayName} (order ${orderNumber})`;
  const company = party.company;
  switch (gate.document) {
    case "power_of_attorney":
      return [
        `${company} ("the Company") appoints Docket, acting through the staff it assigns to this order, as its ` +
          `attorney-in-fact for one purpose only: to prepare, sign where an agent may sign, submit and follow up ` +
          `${filing}, using the information below, and to correspond with the agency about it.`,
        "This power of attorney does not let Docket borrow, sign contracts, move money (other than paying the " +
          "government fees the Company has paid to Docket for this filing) or act on any other matter. It ends " +
          "when the filing is complete, or earlier if the Company revokes it in writing.",
        `The person signing below states that they are ${SIGNER_LABELS[gate.signer]} of the Company with ` +
          "authority to grant this power of attorney.",
      ];
    case "officer_certification":
      return [
        `I certify that I am ${SIGNER_LABELS[gate.signer]} of ${company}, authorized to sign for it, and that I ` +
          `have reviewed the information below, which Docket will submit for ${filing}.`,
        "To the best of my knowledge and belief the information is true, correct and complete. I authorize " +
          `Docket to submit it, with this certification, on behalf of ${company}.`,
        "I understand that a false or misleading statement in a government filing may be punished by law " +
          "(for a federal filing, 18 U.S.C. 1001).",
      ];
    case "authorization_letter":
      return [
        `I, the undersigned, ${SIGNER_LABELS[gate.signer]} of ${company}, authorize Docket to act for ` +
          `${company} in ${filing}: to prepare and submit the information below and to correspond with the ` +
          "agency about it.",
        "This authorization covers this request only. It ends when the request is complete, or earlier if I " +
          "revoke it in writing, and it does not let Docket act on any other matter.",
      ];
  }
}

const BOX_HEIGHT = 80;
/** Under the box: the name and date lines with their labels, then the stamp's note. */
const LINES_HEIGHT = 34;
const NOTE_HEIGHT = 14;

function writeSignatureBlock(flow: PdfFlow, gate: SignatureGate, party: Party): SignatureBlock {
  const expected = [party.signerName, party.signerTitle].filter(Boolean).join(", ");
  // The heading, the lines under it and the block stay together on one page.
  flow.ensureSpace(40 + 4 * 9.5 * 1.35 + 4 + BOX_HEIGHT + LINES_HEIGHT + NOTE_HEIGHT);
  flow.heading("Signature");
  flow.paragraph(
    `To be signed by ${SIGNER_LABELS[gate.signer]} of ${party.company}` +
      (expected ? ` (expected: ${expected})` : "") +
      ". Sign through the signing link we e-mailed you; when it is signed, a signature certificate recording " +
      "when and how is added at the end of this document.",
    { size: 9.5, color: MUTED },
  );
  flow.space(4);
  // One reservation, so the box, the lines and the note are on the same page.
  const area = flow.reserve(BOX_HEIGHT + LINES_HEIGHT + NOTE_HEIGHT);
  const page = flow.page;
  const fonts = flow.fonts;
  const box = { x: area.x, y: area.y + LINES_HEIGHT + NOTE_HEIGHT, width: area.width, height: BOX_HEIGHT };
  page.drawRectangle({ ...box, borderColor: LINE, borderWidth: 0.75 });
  page.drawText("Signature", { x: box.x + 6, y: box.y + box.height - 12, size: 8, font: fonts.regular, color: MUTED });

  const half = (area.width - 24) / 2;
  const lineY = area.y + NOTE_HEIGHT + 18;
  const nameX = area.x;
  const dateX = area.x + half + 24;
  for (const [x, label] of [
    [nameX, "Name"],
    [dateX, "Date (UTC)"],
  ] as const) {
    page.drawLine({ start: { x, y: lineY }, end: { x: x + half, y: lineY }, thickness: 0.75, color: MUTED });
    page.drawText(label, { x, y: lineY - 11, size: 8, font: fonts.regular, color: MUTED });
  }
  return {
    pageIndex: area.pageIndex,
    box,
    name: { x: nameX + 2, y: lineY + 4 },
    date: { x: dateX + 2, y: lineY + 4 },
    note: { x: area.x, y: area.y + 3, width: area.width },
  };
}
