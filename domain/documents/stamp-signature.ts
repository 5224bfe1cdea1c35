import { PDFDocument, StandardFonts, type PDFImage } from "pdf-lib";
import { documentDate, embedDocumentFonts, INK, MUTED, PdfFlow, truncateToWidth, winAnsiLine } from "./pdf-text";
import { readSignatureBlock } from "./signature-document";

/**
 * Signs a document from `renderSignatureDocument`: draws the signature (the typed name in an
 * italic serif, or the customer's drawing) in its signature block, prints the name and the date
 * under it, and appends a signature certificate page recording what an electronic signature
 * must be attributable by (ESIGN, 15 U.S.C. 7001; UETA §9): who, when (UTC), from where (IP,
 * user agent), how (typed or drawn), the consent they agreed to, and the SHA-256 of the unsigned
 * document, so the pages before the certificate can be checked against a fresh rendering.
 *
 * Nothing here reads the clock: the same input gives the same bytes.
 */

export type SignatureStampErrorCode =
  | "not_png"
  | "png_too_large"
  | "png_dimensions"
  | "invalid_input"
  | "unreadable_pdf"
  | "no_signature_block"
  | "document_mismatch";

export class SignatureStampError extends Error {
  readonly code: SignatureStampErrorCode;
  constructor(code: SignatureStampErrorCode, message: string) {
    super(message);
    this.name = "SignatureStampError";
    this.code = code;
  }
}

/** A hand-drawn signature from the signing page is a few kilobytes; 200 KB is generous. */
export const SIGNATURE_PNG_MAX_BYTES = 200 * 1024;
export const SIGNATURE_PNG_MAX_WIDTH = 2000;
export const SIGNATURE_PNG_MAX_HEIGHT = 1000;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Checks a drawn signature before anything decodes it: the PNG signature bytes and an IHDR
 * chunk first (PNG spec, ISO/IEC 15948 §5.2, §11.2.2), the size and the dimensions.
 */
export function checkSignaturePng(bytes: Uint8Array): { width: number; height: number } {
  if (bytes.byteLength > SIGNATURE_PNG_MAX_BYTES) {
    throw new SignatureStampError(
      "png_too_large",
      `the signature image is ${bytes.byteLength} bytes; at most ${SIGNATURE_PNG_MAX_BYTES} are accepted`,
    );
  }
  const isPng =
    bytes.byteLength >= 33 &&
    PNG_SIGNATURE.every((b, i) => bytes[i] === b) &&
    String.fromCharCode(bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!) === "IHDR";
  if (!isPng) throw new SignatureStampError("not_png", "the signature image is not a PNG");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  if (width === 0 || height === 0 || width > SIGNATURE_PNG_MAX_WIDTH || height > SIGNATURE_PNG_MAX_HEIGHT) {
    throw new SignatureStampError(
      "png_dimensions",
      `the signature image is ${width}x${height} pixels; at most ${SIGNATURE_PNG_MAX_WIDTH}x${SIGNATURE_PNG_MAX_HEIGHT} are accepted`,
    );
  }
  return { width, height };
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export interface StampInput {
  signerName: string;
  method: "typed" | "drawn";
  drawnPng?: Uint8Array;
  consentText: string;
  signedAt: Date;
  ip: string;
  userAgent: string;
  orderNumber: string;
  documentSha256: string;
}

export const SIGNER_NAME_MAX = 200;

function checkInput(input: StampInput): void {
  const name = input.signerName.trim();
  if (name.length === 0 || name.length > SIGNER_NAME_MAX) {
    throw new SignatureStampError("invalid_input", `the signer's name must be 1 to ${SIGNER_NAME_MAX} characters`);
  }
  if (input.method !== "typed" && input.method !== "drawn") {
    throw new SignatureStampError("invalid_input", "the signature method is typed or drawn");
  }
  if (input.method === "drawn" && !input.drawnPng) {
    throw new SignatureStampError("invalid_input", "a drawn signature needs its image");
  }
  if (input.method === "typed" && input.drawnPng) {
    throw new SignatureStampError("invalid_input", "a typed signature carries no image");
  }
  if (input.consentText.trim() === "") throw new SignatureStampError("invalid_input", "the consent text is missing");
  if (Number.isNaN(input.signedAt.getTime())) throw new SignatureStampError("invalid_input", "signedAt is not a date");
  if (!/^[0-9a-f]{64}$/.test(input.documentSha256)) {
    throw new SignatureStampError("invalid_input", "documentSha256 is not a lowercase hex SHA-256");
  }
}

export async function stampSignature(pdf: Uint8Array, input: StampInput): Promise<Uint8Array> {
  checkInput(input);
  const png = input.method === "drawn" ? checkSignaturePng(input.drawnPng!) : undefined;
  // The hash the certificate records must be the hash of these very bytes.
  if ((await sha256Hex(pdf)) !== input.documentSha256) {
    throw new SignatureStampError("document_mismatch", "documentSha256 is not the SHA-256 of the document given");
  }

  let doc: PDFDocument;
  try {
    // updateMetadata false: loading must not put today's date and pdf-lib's name in the info.
    doc = await PDFDocument.load(pdf, { updateMetadata: false });
  } catch (error) {
    throw new SignatureStampError("unreadable_pdf", `the document cannot be read: ${String(error)}`);
  }
  const block = readSignatureBlock(doc);
  if (!block) throw new SignatureStampError("no_signature_block", "the document has no signature block");
  const unsignedPages = doc.getPageCount();

  let image: PDFImage | undefined;
  if (input.drawnPng) {
    try {
      image = await doc.embedPng(input.drawnPng);
    } catch (error) {
      throw new SignatureStampError("not_png", `the signature image cannot be decoded: ${String(error)}`);
    }
  }

  const fonts = await embedDocumentFonts(doc);
  const script = await doc.embedFont(StandardFonts.TimesRomanItalic);
  const page = doc.getPage(block.pageIndex);
  const name = winAnsiLine(input.signerName.trim());
  const signedAt = input.signedAt.toISOString();
  const pad = 8;
  const inner = { x: block.box.x + pad, y: block.box.y + pad, w: block.box.width - 2 * pad, h: block.box.height - 22 };

  if (image) {
    const scale = Math.min(inner.w / image.width, inner.h / image.height, 1);
    page.drawImage(image, { x: inner.x, y: inner.y, width: image.width * scale, height: image.height * scale });
  } else {
    let size = 26;
    while (size > 10 && script.widthOfTextAtSize(name, size) > inner.w) size -= 1;
    page.drawText(truncateToWidth(name, script, size, inner.w), {
      x: inner.x,
      y: inner.y + 6,
      size,
      font: script,
      color: INK,
    });
  }
  const half = block.date.x - block.name.x - 24;
  page.drawText(truncateToWidth(name, fonts.regular, 10, half), {
    x: block.name.x,
    y: block.name.y,
    size: 10,
    font: fonts.regular,
    color: INK,
  });
  page.drawText(documentDate(input.signedAt), {
    x: block.date.x,
    y: block.date.y,
    size: 10,
    font: fonts.regular,
    color: INK,
  });
  page.drawText(
    truncateToWidth(
      `Signed electronically (${input.method === "typed" ? "typed name" : "drawn"}) at ${signedAt}; ` +
        `see the signature certificate on page ${unsignedPages + 1}.`,
      fonts.italic,
      8,
      block.note.width,
    ),
    { x: block.note.x, y: block.note.y, size: 8, font: fonts.italic, color: MUTED },
  );

  const [width, height] = [doc.getPage(0).getWidth(), doc.getPage(0).getHeight()];
  const flow = new PdfFlow(doc, fonts, { pageSize: [width, height] });
  const title = doc.getTitle() ?? "Document";
  flow.title("Signature certificate");
  flow.paragraph(
    `This certificate records how "${title}" for order ${input.orderNumber} was signed electronically. ` +
      `It was added when the document was signed; pages 1 to ${unsignedPages} are the document as shown to ` +
      "the signer, with the signature drawn in its signature block.",
    { after: 10 },
  );
  flow.rows([
    ["Document", title],
    ["Order", input.orderNumber],
    ["Signer", input.signerName.trim()],
    [
      "Method",
      png
        ? `Drawn on screen (PNG image, ${png.width} x ${png.height} pixels, SHA-256 ${await sha256Hex(input.drawnPng!)})`
        : "Typed name",
    ],
    ["Signed at (UTC)", signedAt],
    ["IP address", input.ip.trim() || "Not recorded"],
    ["User agent", input.userAgent.trim() || "Not recorded"],
    ["Unsigned document SHA-256", input.documentSha256],
    ["Unsigned document pages", String(unsignedPages)],
  ]);
  flow.heading("Consent to sign electronically");
  flow.paragraph("Before signing, the signer checked a box agreeing to this text:", { color: MUTED });
  flow.paragraph(input.consentText);
  flow.footer(`Docket \u00B7 ${input.orderNumber} \u00B7 Signature certificate`, {
    from: unsignedPages,
    right: (i, n) => `Certificate page ${i} of ${n}`,
  });

  doc.setModificationDate(input.signedAt);
  doc.setProducer("Docket");
  doc.setCreator("Docket");
  doc.setKeywords([...(doc.getKeywords()?.split(/\s+/).filter(Boolean) ?? []), "signed"]);
  return await doc.save();
}
