import { unzlibSync, zlibSync } from "fflate";
import { PDFDocument, PDFName, PDFRawStream, StandardFonts } from "pdf-lib";
import { describe, expect, it } from "vitest";
import { getService } from "../../domain/catalog/services";
import type { ServiceDefinition } from "../../domain/catalog/service-definition";
import {
  DocumentInputError,
  intakeSections,
  renderOrderDocument,
  type OrderDocumentInput,
} from "../../domain/documents/order-document";
import { isWinAnsi, winAnsiSafe, wrapText } from "../../domain/documents/pdf-text";
import {
  renderScreeningCertificate,
  type ScreeningCertificateInput,
} from "../../domain/documents/screening-certificate";
import {
  readSignatureBlock,
  renderSignatureDocument,
  SIGNATURE_CONSENT_TEXT,
  type SignatureDocumentInput,
} from "../../domain/documents/signature-document";
import {
  checkSignaturePng,
  sha256Hex,
  SignatureStampError,
  stampSignature,
  type StampInput,
} from "../../domain/documents/stamp-signature";
import { INTAKE_EXAMPLES } from "../support/intake-examples";

/**
 * The PDFs Docket generates, loaded back with pdf-lib and read: metadata from the information
 * dictionary, text from the (inflated) content streams. Standard fonts write text as hex
 * strings, so the reader decodes `<…> Tj` operands.
 */

const AT = new Date("2026-05-01T09:30:00Z");
const SIGNED_AT = new Date("2026-05-02T14:15:16.789Z");
const HOSTILE = `Zoë 🚚 Łódź ") Tj (x) Tj <script>alert(1)</script> \\ endstream`;

function service(slug: string): ServiceDefinition {
  const s = getService(slug);
  if (!s) throw new Error(`no service ${slug}`);
  return s;
}

/** Every string drawn, page by page, in drawing order, lines joined by a space. */
async function pdfText(bytes: Uint8Array): Promise<string[]> {
  const doc = await PDFDocument.load(bytes);
  return doc.getPages().map((page) => {
    const contents = page.node.Contents();
    const streams = contents
      ? "asArray" in contents
        ? contents.asArray().map((ref) => doc.context.lookup(ref))
        : [contents]
      : [];
    const parts: string[] = [];
    for (const stream of streams) {
      if (!(stream instanceof PDFRawStream)) continue;
      const filter = stream.dict.get(PDFName.of("Filter"));
      const raw = filter?.toString() === "/FlateDecode" ? unzlibSync(stream.contents) : stream.contents;
      let ops = "";
      for (const b of raw) ops += String.fromCharCode(b);
      for (const m of ops.matchAll(/<([0-9A-Fa-f]*)>\s*Tj/g)) {
        const hex = m[1]!;
        let s = "";
        for (let i = 0; i < hex.length; i += 2) s += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
        parts.push(s);
      }
    }
    return parts.join(" ").replace(/\s+/g, " ");
  });
}

const allText = async (bytes: Uint8Array) => (await pdfText(bytes)).join(" ");

// ---------------------------------------------------------------------------------------------
// A real PNG, built here: signature, IHDR, IDAT (zlib), IEND, each chunk with its CRC-32.

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** A width x height RGBA PNG with a dark diagonal stroke on a transparent background. */
function signaturePng(width: number, height: number): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, deflate, no filter method, no interlace
  const rows = new Uint8Array(height * (1 + width * 4));
  for (let y = 0; y < height; y++) {
    const x = Math.floor((y / height) * width);
    for (let dx = 0; dx < 4 && x + dx < width; dx++) {
      const o = y * (1 + width * 4) + 1 + (x + dx) * 4;
      rows.set([20, 24, 30, 255], o);
    }
  }
  return concat([
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", zlibSync(rows)),
    chunk("IEND", new Uint8Array()),
  ]);
}

/** Just a PNG header claiming these dimensions (the check reads no further). */
function pngHeader(width: number, height: number): Uint8Array {
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return concat([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr)]);
}

// ---------------------------------------------------------------------------------------------

describe("winAnsiSafe", () => {
  it("keeps WinAnsi, transliterates what it can, replaces the rest, and never throws", () => {
    expect(winAnsiSafe("Zoë 🚚 Łódź")).toBe("Zoë ? Lódz");
    expect(winAnsiSafe("Őrség, Ștefan, Ąžuolas")).toBe("Orség, Stefan, Ažuolas");
    expect(winAnsiSafe("Иван Петров · Αθήνα")).toBe("Ivan Petrov · Athina");
    expect(winAnsiSafe("a\u200Bb\u200Dc\uFE0Fd\u0007e\tf\r\ng")).toBe("abcde f\ng");
    expect(winAnsiSafe("ﬁle — “quoted” € 3½ ™ 中文")).toBe("file — “quoted” € 3½ ™ ??");
    expect(winAnsiSafe("unpaired \uD800 surrogate")).toBe("unpaired ? surrogate");
  });

  it("is idempotent and its output is exactly what pdf-lib's Helvetica encodes, for every BMP code point", async () => {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    const charset = new Set(font.getCharacterSet());
    // The static table agrees with pdf-lib's own WinAnsi encoding, both ways.
    for (const cp of charset) expect(isWinAnsi(cp), `U+${cp.toString(16)}`).toBe(true);
    for (let cp = 0; cp <= 0x2122; cp++) if (isWinAnsi(cp)) expect(charset.has(cp), `U+${cp.toString(16)}`).toBe(true);

    let all = "";
    for (let cp = 0; cp <= 0xffff; cp++) {
      const safe = winAnsiSafe(String.fromCharCode(cp));
      for (const ch of safe) {
        if (ch !== "\n" && !charset.has(ch.codePointAt(0)!)) throw new Error(`U+${cp.toString(16)} → ${ch}`);
      }
      if (winAnsiSafe(safe) !== safe) throw new Error(`U+${cp.toString(16)}: not idempotent`);
      all += safe.replace(/\n/g, "");
    }
    expect(() => font.encodeText(all)).not.toThrow();
    expect(() => font.widthOfTextAtSize(winAnsiSafe("🚚🧾👨‍👩‍👧 \u{1F600}"), 10)).not.toThrow();
  });
});

describe("wrapText", () => {
  it("breaks at spaces within the width, breaks an overlong word, keeps paragraph breaks", async () => {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    const hash = "a".repeat(64) + "b".repeat(64);
    const text = `The quick brown fox jumps over the lazy dog again and again.\n\n${hash} end`;
    const lines = wrapText(text, font, 10, 150);
    for (const line of lines) expect(font.widthOfTextAtSize(line, 10)).toBeLessThanOrEqual(150);
    expect(lines).toContain("");
    expect(lines.join("").replace(/\s/g, "")).toBe(text.replace(/\s/g, ""));
    expect(lines.filter((l) => /^[ab]+$/.test(l)).length).toBeGreaterThan(1);
    expect(lines.at(-1)).toMatch(/end$/);
  });
});

describe("intakeSections", () => {
  it("labels fields as the wizard does, puts addresses on one line and nested objects in their own section", () => {
    const sections = intakeSections(service("mcs150-update"), {
      ...INTAKE_EXAMPLES["mcs150-update"],
      dbaName: "",
      legalName: HOSTILE,
    });
    const [details, officer] = sections;
    expect(details!.heading).toBe("Details");
    expect(details!.rows).toContainEqual(["USDOT number", "3141592"]);
    expect(details!.rows).toContainEqual(["Legal name", HOSTILE]);
    expect(details!.rows).toContainEqual(["Principal place of business", "1200 Commerce Dr, Columbia, SC 29201"]);
    expect(details!.rows).toContainEqual(["Operation classification", "Authorized for hire"]);
    // Optional and empty: left out, not "Not provided".
    expect(details!.rows.some(([label]) => label === "DBA name" || label === "Mailing address")).toBe(false);
    expect(officer).toEqual({
      heading: "Signing officer",
      rows: [
        ["Officer name", "Dana Reyes"],
        ["Officer title", "President"],
        ["Officer email", "dana@reyesfreight.example"],
      ],
    });
  });

  it("says 'Not provided' for a missing required field and formats lists, dollars and yes/no", () => {
    const mcs = intakeSections(service("mcs150-update"), { usdotNumber: "1234" });
    expect(mcs[0]!.rows).toContainEqual(["Legal name", "Not provided"]);

    const ifta = intakeSections(service("ifta-license"), {
      ...INTAKE_EXAMPLES["ifta-license"],
      fuelTypes: ["diesel", "lng"],
    });
    expect(ifta[0]!.rows).toContainEqual(["Fuel types", "Diesel, LNG"]);

    const fcc = intakeSections(service("fcc-499a"), INTAKE_EXAMPLES["fcc-499a"]!);
    expect(fcc[0]!.rows).toContainEqual(["Total telecommunications revenue", "$1,250,000"]);
    expect(fcc[0]!.rows).toContainEqual(["Interstate revenue", "$400,000"]); // given as the form's "400000"

    const cpni = intakeSections(service("cpni-certification"), { actionsAgainstDataBrokers: false });
    expect(cpni[0]!.rows).toContainEqual(["Actions taken against data brokers", "No"]);

    const screening = intakeSections(service("oig-sam-screening"), {
      ...INTAKE_EXAMPLES["oig-sam-screening"],
      staff: [
        { firstName: "Ana", lastName: "Ortiz", npi: "1987654328" },
        { firstName: "Bo", lastName: "Li" },
      ],
    });
    expect(screening[1]).toEqual({
      heading: "Staff to screen (2)",
      rows: [
        ["1.", "Ana Ortiz, NPI 1987654328"],
        ["2.", "Bo Li"],
      ],
    });
  });
});

describe("renderOrderDocument", () => {
  const input = (over: Partial<OrderDocumentInput> = {}): OrderDocumentInput => ({
    title: "MCS-150 update",
    serviceName: "MCS-150 Biennial Update",
    orderNumber: "CO-2026-000123",
    regulation: "49 CFR 390.19",
    preparedAt: AT,
    sections: intakeSections(service("mcs150-update"), INTAKE_EXAMPLES["mcs150-update"]!),
    notes: ["Filed by Docket on the customer's behalf."],
    ...over,
  });

  it("renders a loadable PDF with its metadata, the same bytes for the same input", async () => {
    const pdf = await renderOrderDocument(input());
    const doc = await PDFDocument.load(pdf, { updateMetadata: false });
    expect(doc.getPageCount()).toBe(1);
    expect(doc.getTitle()).toBe("MCS-150 update");
    expect(doc.getSubject()).toBe("CO-2026-000123");
    expect(doc.getProducer()).toBe("Docket");
    expect(doc.getCreationDate()?.toISOString()).toBe(AT.toISOString());
    expect(doc.getModificationDate()?.toISOString()).toBe(AT.toISOString());
    const text = await allText(pdf);
    expect(text).toContain("MCS-150 Biennial Update");
    expect(text).toContain("1200 Commerce Dr, Columbia, SC 29201");
    expect(text).toContain("Filed by Docket on the customer's behalf.");
    expect(text).toContain("Page 1 of 1");

    expect(Buffer.from(await renderOrderDocument(input())).equals(Buffer.from(pdf))).toBe(true);
    const later = await renderOrderDocument(input({ preparedAt: new Date(AT.getTime() + 1000) }));
    expect(Buffer.from(later).equals(Buffer.from(pdf))).toBe(false);
  });

  it("flows onto as many pages as it needs, numbering each", async () => {
    const staff = Array.from({ length: 300 }, (_, i) => ({ firstName: `Person${i}`, lastName: "Example" }));
    const pdf = await renderOrderDocument(
      input({
        sections: intakeSections(service("oig-sam-screening"), { ...INTAKE_EXAMPLES["oig-sam-screening"], staff }),
      }),
    );
    const pages = await pdfText(pdf);
    expect(pages.length).toBeGreaterThan(5);
    expect(pages[0]).toContain("Staff to screen (300)");
    expect(pages.at(-1)).toContain(`Page ${pages.length} of ${pages.length}`);
    const all = pages.join(" ");
    for (const i of [0, 150, 299]) expect(all).toContain(`${i + 1}. Person${i} Example`);
  });

  it("draws non-WinAnsi and hostile text as text", async () => {
    const pdf = await renderOrderDocument(
      input({
        title: `Title ${HOSTILE}`,
        sections: [{ heading: HOSTILE, rows: [[HOSTILE, `${HOSTILE}\n`.repeat(40)]] }],
        notes: [HOSTILE],
      }),
    );
    const doc = await PDFDocument.load(pdf, { updateMetadata: false });
    expect(doc.getTitle()).toBe(`Title ${HOSTILE}`); // the information dictionary is UTF-16: kept whole
    const text = await allText(pdf);
    expect(text).toContain(`Zoë ? Lódz ") Tj (x) Tj <script>alert(1)</script> \\ endstream`);
  });

  it("refuses input no document can be made of", async () => {
    await expect(renderOrderDocument(input({ title: " " }))).rejects.toBeInstanceOf(DocumentInputError);
    await expect(renderOrderDocument(input({ preparedAt: new Date("nope") }))).rejects.toBeInstanceOf(
      DocumentInputError,
    );
  });
});

// ---------------------------------------------------------------------------------------------

function signatureInput(slug: string, over: Partial<SignatureDocumentInput> = {}): SignatureDocumentInput {
  const s = service(slug);
  return {
    gate: s.needsSignature!,
    service: s,
    orderNumber: "CO-2026-000777",
    intake: { ...INTAKE_EXAMPLES[slug]! },
    preparedAt: AT,
    customerName: "Dana Reyes",
    ...over,
  };
}

describe("renderSignatureDocument", () => {
  it.each([
    ["mcs150-update", "I certify that I am an officer of Reyes Freight LLC"],
    ["ifta-license", "appoints Docket, acting through the staff it assigns to this order, as its attorney-in-fact"],
    ["npi-reactivation", "authorize Docket to act for Ana Ortiz, MD"],
  ])(
    "%s: the document's text, the service, the basis, the intake and an empty signature block",
    async (slug, phrase) => {
      const input = signatureInput(slug);
      const pdf = await renderSignatureDocument(input);
      const doc = await PDFDocument.load(pdf, { updateMetadata: false });
      expect(doc.getTitle()).toBe(input.gate.title);
      expect(doc.getSubject()).toBe("CO-2026-000777");
      expect(doc.getProducer()).toBe("Docket");
      expect(doc.getCreationDate()?.toISOString()).toBe(AT.toISOString());
      const block = readSignatureBlock(doc);
      expect(block).toBeDefined();
      expect(block!.pageIndex).toBe(doc.getPageCount() - 1);

      const text = await allText(pdf);
      expect(text).toContain(phrase);
      expect(text).toContain(input.service.displayName);
      expect(text).toContain(input.gate.basis.slice(1, 40));
      expect(text).toContain("Signature");
      expect(text).toContain("Date (UTC)");
      expect(text).not.toContain("Signature certificate");
      expect(Buffer.from(await renderSignatureDocument(input)).equals(Buffer.from(pdf))).toBe(true);
    },
  );

  it("keeps the block whole after an intake long enough to need several pages", async () => {
    const input = signatureInput("rmd-filing", {
      intake: {
        ...INTAKE_EXAMPLES["rmd-filing"],
        legalName: HOSTILE,
        mitigationPlan: "We block calls that fail STIR/SHAKEN attestation. ".repeat(300),
      },
    });
    const pdf = await renderSignatureDocument(input);
    const doc = await PDFDocument.load(pdf);
    expect(doc.getPageCount()).toBeGreaterThan(2);
    const block = readSignatureBlock(doc)!;
    expect(block.pageIndex).toBe(doc.getPageCount() - 1);
    expect(block.note.y).toBeGreaterThan(0);
    expect(await allText(pdf)).toContain('Zoë ? Lódz ") Tj (x) Tj <script>alert(1)</script>');
  });
});

// ---------------------------------------------------------------------------------------------

async function stampInput(pdf: Uint8Array, over: Partial<StampInput> = {}): Promise<StampInput> {
  return {
    signerName: "Dana Reyes",
    method: "typed",
    consentText: SIGNATURE_CONSENT_TEXT,
    signedAt: SIGNED_AT,
    ip: "198.51.100.7",
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    orderNumber: "CO-2026-000777",
    documentSha256: await sha256Hex(pdf),
    ...over,
  };
}

describe("stampSignature", () => {
  it("typed: draws the name in the block and appends a certificate with time, IP, user agent, consent and hash", async () => {
    const unsigned = await renderSignatureDocument(signatureInput("mcs150-update"));
    const before = (await PDFDocument.load(unsigned)).getPageCount();
    const input = await stampInput(unsigned, { signerName: "Zoë Łukasz 🚚" });
    const signed = await stampSignature(unsigned, input);

    const doc = await PDFDocument.load(signed, { updateMetadata: false });
    expect(doc.getPageCount()).toBe(before + 1);
    expect(doc.getTitle()).toBe("MCS-150 certification");
    expect(doc.getProducer()).toBe("Docket");
    expect(doc.getCreationDate()?.toISOString()).toBe(AT.toISOString());
    // PDF dates carry whole seconds (PDF 32000-1 §7.9.4); the certificate keeps the milliseconds.
    expect(doc.getModificationDate()?.toISOString()).toBe("2026-05-02T14:15:16.000Z");
    expect(doc.getKeywords()).toContain("signed");

    const pages = await pdfText(signed);
    const blockPage = pages[before - 1]!;
    expect(blockPage).toContain("Zoë Lukasz ?");
    expect(blockPage).toContain("2026-05-02 14:15 UTC");
    expect(blockPage).toContain(`see the signature certificate on page ${before + 1}`);

    const certificate = pages.slice(before).join(" ");
    expect(certificate).toContain("Signature certificate");
    expect(certificate).toContain("CO-2026-000777");
    expect(certificate).toContain("Typed name");
    expect(certificate).toContain("2026-05-02T14:15:16.789Z");
    expect(certificate).toContain("198.51.100.7");
    expect(certificate).toContain("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0");
    // The hash may wrap; its characters are all there, in order.
    expect(certificate.replace(/ /g, "")).toContain(input.documentSha256);
    expect(certificate).toContain("Consent to sign electronically");
    expect(certificate).toContain("Electronic Signatures in Global and National Commerce Act (15 U.S.C. 7001");

    expect(Buffer.from(await stampSignature(unsigned, input)).equals(Buffer.from(signed))).toBe(true);
  });

  it("drawn: embeds the PNG in the block and records its size and hash", async () => {
    const unsigned = await renderSignatureDocument(signatureInput("ifta-license"));
    const png = signaturePng(600, 200);
    const signed = await stampSignature(unsigned, await stampInput(unsigned, { method: "drawn", drawnPng: png }));
    const doc = await PDFDocument.load(signed);
    const blockPage = doc.getPage(readSignatureBlock(doc)!.pageIndex);
    const xObjects = blockPage.node.Resources()?.lookup(PDFName.of("XObject"));
    expect(xObjects?.toString()).toMatch(/\/Image-\d+/);
    const text = await allText(signed);
    expect(text).toContain("PNG image, 600 x 200 pixels");
    expect(text.replace(/ /g, "")).toContain(await sha256Hex(png));
    expect(text).toContain("Signed electronically (drawn)");
  });

  it("rejects a drawn signature that is not a PNG, too big in bytes, or too large in pixels", async () => {
    const unsigned = await renderSignatureDocument(signatureInput("mcs150-update"));
    const code = async (over: Partial<StampInput>) => {
      try {
        await stampSignature(unsigned, await stampInput(unsigned, over));
        return "stamped";
      } catch (error) {
        expect(error).toBeInstanceOf(SignatureStampError);
        return (error as SignatureStampError).code;
      }
    };
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, ...new Array(60).fill(0)]);
    expect(await code({ method: "drawn", drawnPng: jpeg })).toBe("not_png");
    expect(await code({ method: "drawn", drawnPng: new TextEncoder().encode("<svg onload=alert(1)>") })).toBe(
      "not_png",
    );
    const corrupt = signaturePng(50, 20);
    corrupt.fill(0, 40); // a valid header, garbage after it
    expect(await code({ method: "drawn", drawnPng: corrupt })).toBe("not_png");
    const big = new Uint8Array(200 * 1024 + 1);
    big.set(pngHeader(100, 100));
    expect(await code({ method: "drawn", drawnPng: big })).toBe("png_too_large");
    expect(await code({ method: "drawn", drawnPng: pngHeader(2001, 100) })).toBe("png_dimensions");
    expect(await code({ method: "drawn", drawnPng: pngHeader(100, 1001) })).toBe("png_dimensions");
    expect(checkSignaturePng(pngHeader(2000, 1000))).toEqual({ width: 2000, height: 1000 });
    expect(await code({ method: "drawn" })).toBe("invalid_input");
    expect(await code({ signerName: "  " })).toBe("invalid_input");
    expect(await code({ documentSha256: "0".repeat(64) })).toBe("document_mismatch");
  });

  it("refuses a document without a signature block", async () => {
    const plain = await renderOrderDocument({
      title: "Not signable",
      serviceName: "x",
      orderNumber: "CO-2026-000001",
      preparedAt: AT,
      sections: [],
    });
    await expect(stampSignature(plain, await stampInput(plain))).rejects.toMatchObject({
      code: "no_signature_block",
    });
    const garbage = new TextEncoder().encode("GIF89a: this is not a PDF at all");
    await expect(stampSignature(garbage, await stampInput(garbage))).rejects.toMatchObject({
      code: "unreadable_pdf",
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe("renderScreeningCertificate", () => {
  const input = (over: Partial<ScreeningCertificateInput> = {}): ScreeningCertificateInput => ({
    orderNumber: "CO-2026-000900",
    serviceName: "OIG/SAM Exclusion Screening (Monthly Monitoring)",
    providerName: "Lowcountry Family Practice",
    npi: "1234567893",
    cycleLabel: "Monthly cycle, May 2026",
    screenedAt: AT,
    subjects: [
      { name: "Lowcountry Family Practice", npi: "1234567893" },
      { name: "Ana Ortiz", npi: "1987654328" },
      { name: HOSTILE },
    ],
    sources: [
      { name: "HHS-OIG LEIE", dataAsOf: "2026-04-30", entries: 81_234 },
      { name: "SAM.gov exclusions", dataAsOf: null, entries: 150_000 },
    ],
    matches: [],
    ...over,
  });

  it("no matches: a dated statement naming the lists and how current they are", async () => {
    const pdf = await renderScreeningCertificate(input());
    const doc = await PDFDocument.load(pdf, { updateMetadata: false });
    expect(doc.getTitle()).toBe("Exclusion screening certificate: Lowcountry Family Practice, Monthly cycle, May 2026");
    expect(doc.getSubject()).toBe("CO-2026-000900");
    expect(doc.getCreationDate()?.toISOString()).toBe(AT.toISOString());
    const text = await allText(pdf);
    expect(text).toContain(
      "On 2026-05-01, Docket screened 3 individuals and entities against HHS-OIG LEIE (data as of 2026-04-30) and SAM.gov exclusions (data as of an unknown date): no matches.",
    );
    expect(text).toContain("81,234 entries");
    expect(text).toContain("Ana Ortiz, NPI 1987654328");
    expect(text).toContain("Zoë ? Lódz");
  });

  it("possible matches: listed for review, never called exclusions", async () => {
    const pdf = await renderScreeningCertificate(
      input({
        subjects: [{ name: "Ana Ortiz" }],
        matches: [{ subject: "Ana Ortiz", source: "HHS-OIG LEIE", reason: "same first and last name, NPI not listed" }],
      }),
    );
    const text = await allText(pdf);
    expect(text).toContain("Docket screened 1 individual or entity against");
    expect(text).toContain("1 possible match to review");
    expect(text).toContain("HHS-OIG LEIE: same first and last name, NPI not listed");
    expect(text).not.toContain("no matches");
  });

  it("refuses to certify a screening of nobody, or against nothing", async () => {
    await expect(renderScreeningCertificate(input({ subjects: [] }))).rejects.toBeInstanceOf(DocumentInputError);
    await expect(renderScreeningCertificate(input({ sources: [] }))).rejects.toBeInstanceOf(DocumentInputError);
  });
});
