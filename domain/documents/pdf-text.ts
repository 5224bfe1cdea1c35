import {
  PDFArray,
  PDFDict,
  PDFName,
  PDFNumber,
  rgb,
  StandardFonts,
  type PDFDocument,
  type PDFFont,
  type PDFPage,
  type RGB,
} from "pdf-lib";

/**
 * Text and layout for the PDFs Docket generates (order documents, signature documents,
 * screening certificates): pure, pdf-lib only, no bindings.
 *
 * The standard 14 fonts need no embedding (so a document stays a few kilobytes and renders the
 * same everywhere), but they only encode WinAnsi (Windows-1252, PDF 32000-1 Annex D.2): pdf-lib
 * throws on anything else. Customer text can hold anything ("Zoë 🚚 Łódź"), so every string drawn
 * goes through `winAnsiSafe` first, which keeps what WinAnsi has, transliterates what it can and
 * replaces the rest with "?". It never throws.
 *
 * Text is drawn with pdf-lib's text operators, which write each string as a hex string: a
 * customer's ") Tj" or "<script>" is glyphs on the page, never PDF syntax or markup.
 */

// ---------------------------------------------------------------------------------------------
// WinAnsi

/** The 27 characters WinAnsi puts in 0x80–0x9F (PDF 32000-1, Annex D.2), as Unicode. */
const WIN_ANSI_EXTRAS =
  "\u20AC\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u017D\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u017E\u0178";

const WIN_ANSI: ReadonlySet<number> = new Set<number>([
  ...range(0x20, 0x7e),
  ...range(0xa0, 0xff),
  ...Array.from(WIN_ANSI_EXTRAS, (c) => c.codePointAt(0)!),
]);

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** True when a standard font can draw this code point. */
export function isWinAnsi(codePoint: number): boolean {
  return WIN_ANSI.has(codePoint);
}

/** Letters with no decomposition to a base letter, and punctuation WinAnsi lacks. */
const TRANSLITERATIONS: Readonly<Record<string, string>> = {
  Ł: "L",
  ł: "l",
  Đ: "D",
  đ: "d",
  Ħ: "H",
  ħ: "h",
  ı: "i",
  Ŀ: "L",
  ŀ: "l",
  Ŋ: "N",
  ŋ: "n",
  Ŧ: "T",
  ŧ: "t",
  ĸ: "k",
  ſ: "s",
  Ə: "E",
  ə: "e",
  "\u2010": "-",
  "\u2011": "-",
  "\u2012": "-",
  "\u2015": "-",
  "\u2212": "-",
  "\u2032": "'",
  "\u2033": '"',
  "\u2190": "<-",
  "\u2192": "->",
  "\u2194": "<->",
  "\u21D2": "=>",
  "\u2264": "<=",
  "\u2265": ">=",
  "\u2260": "!=",
  "\u2248": "~",
  "\u2713": "v",
  "\u2714": "v",
  "\u2717": "x",
  "\u2718": "x",
  "\u2116": "No.",
};

// Cyrillic (Russian and Ukrainian letters) and Greek, letter by letter: names in these scripts
// stay readable instead of becoming a row of question marks.
const CYRILLIC_UPPER = "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯЄІЇҐ";
const CYRILLIC_LATIN = [
  "A",
  "B",
  "V",
  "G",
  "D",
  "E",
  "Yo",
  "Zh",
  "Z",
  "I",
  "Y",
  "K",
  "L",
  "M",
  "N",
  "O",
  "P",
  "R",
  "S",
  "T",
  "U",
  "F",
  "Kh",
  "Ts",
  "Ch",
  "Sh",
  "Shch",
  "",
  "Y",
  "",
  "E",
  "Yu",
  "Ya",
  "Ye",
  "I",
  "Yi",
  "G",
];
const GREEK_UPPER = "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ";
const GREEK_LATIN = [
  "A",
  "V",
  "G",
  "D",
  "E",
  "Z",
  "I",
  "Th",
  "I",
  "K",
  "L",
  "M",
  "N",
  "X",
  "O",
  "P",
  "R",
  "S",
  "T",
  "Y",
  "F",
  "Ch",
  "Ps",
  "O",
];

const SCRIPT_LETTERS: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>();
  const add = (upper: string, latin: readonly string[]) =>
    Array.from(upper).forEach((letter, i) => {
      const l = latin[i] ?? "";
      map.set(letter, l);
      map.set(letter.toLowerCase(), l.toLowerCase());
    });
  add(CYRILLIC_UPPER, CYRILLIC_LATIN);
  add(GREEK_UPPER, GREEK_LATIN);
  map.set("ς", "s");
  return map;
})();

/**
 * Dropped: controls (Cc), invisible format characters (Cf: zero-width joiners, direction marks,
 * the BOM, the soft hyphen) and marks left alone after NFC (M: variation selectors, stray accents).
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{M}]/u;
/** Spaces of other widths become a plain space. */
const ODD_SPACE = /[\u2000-\u200A\u202F\u205F\u3000]/u;
const COMBINING = /\p{M}/gu;

function transliterate(char: string): string {
  const mapped = TRANSLITERATIONS[char] ?? SCRIPT_LETTERS.get(char);
  if (mapped !== undefined) return mapped;
  // Accented letters outside Latin-1 (ő, ș, ą) and compatibility forms (ﬁ, ℃, ①): decompose,
  // drop the marks, keep the result if all of it is drawable.
  const base = char.normalize("NFKD").replace(COMBINING, "");
  if (base.length > 0 && Array.from(base).every((c) => WIN_ANSI.has(c.codePointAt(0)!))) return base;
  const decomposed = char.normalize("NFD").replace(COMBINING, "");
  const letter = SCRIPT_LETTERS.get(decomposed);
  if (letter !== undefined) return letter;
  return "?";
}

/**
 * `text` as WinAnsi-only text that a standard font can draw: line ends become "\n", tabs and
 * odd spaces a space, control and invisible characters are dropped, letters are transliterated
 * when possible and anything else (emoji, CJK) becomes "?". Idempotent; never throws.
 */
export function winAnsiSafe(text: string): string {
  let out = "";
  for (const char of String(text).normalize("NFC").replace(/\r\n?/g, "\n")) {
    const cp = char.codePointAt(0)!;
    if (char === "\n") out += "\n";
    else if (WIN_ANSI.has(cp) && cp !== 0xad) out += char;
    else if (char === "\t" || ODD_SPACE.test(char)) out += " ";
    else if (INVISIBLE.test(char)) continue;
    else out += transliterate(char);
  }
  return out;
}

/** One line: `winAnsiSafe` with line ends turned into spaces (labels, table cells, footers). */
export function winAnsiLine(text: string): string {
  return winAnsiSafe(text).replace(/\n+/g, " ");
}

// ---------------------------------------------------------------------------------------------
// Wrapping

/**
 * Breaks `text` into lines no wider than `maxWidth` at `size`, measured with `font`. Breaks at
 * spaces; a word wider than a line (a URL, a hash) is broken between characters. Paragraph
 * breaks ("\n") are kept; an empty paragraph is an empty line.
 */
export function wrapText(text: string, font: PDFFont, size: number, maxWidth: number): string[] {
  const width = (s: string) => font.widthOfTextAtSize(s, size);
  const lines: string[] = [];
  for (const paragraph of winAnsiSafe(text).split("\n")) {
    const words = paragraph.split(/ +/).filter((w) => w.length > 0);
    if (words.length === 0) {
      lines.push("");
      continue;
    }
    let line = "";
    for (const word of words) {
      const candidate = line === "" ? word : `${line} ${word}`;
      if (width(candidate) <= maxWidth) {
        line = candidate;
        continue;
      }
      if (line !== "") lines.push(line);
      let rest = word;
      while (width(rest) > maxWidth) {
        const cut = fittingPrefix(rest, width, maxWidth);
        lines.push(rest.slice(0, cut));
        rest = rest.slice(cut);
      }
      line = rest;
    }
    lines.push(line);
  }
  return lines;
}

/** The longest prefix (at least one character) of `word` that fits; binary search on width. */
function fittingPrefix(word: string, width: (s: string) => number, maxWidth: number): number {
  let lo = 1;
  let hi = word.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (width(word.slice(0, mid)) <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** `text` cut to fit one line, with an ellipsis when cut. */
export function truncateToWidth(text: string, font: PDFFont, size: number, maxWidth: number): string {
  const line = winAnsiLine(text);
  if (font.widthOfTextAtSize(line, size) <= maxWidth) return line;
  const ellipsis = "\u2026";
  const cut = fittingPrefix(line, (s) => font.widthOfTextAtSize(s + ellipsis, size), maxWidth);
  return line.slice(0, cut) + ellipsis;
}

// ---------------------------------------------------------------------------------------------
// Fonts, colours, page geometry

export interface DocumentFonts {
  regular: PDFFont;
  bold: PDFFont;
  italic: PDFFont;
  mono: PDFFont;
}

export type FontName = keyof DocumentFonts;

export async function embedDocumentFonts(doc: PDFDocument): Promise<DocumentFonts> {
  return {
    regular: await doc.embedFont(StandardFonts.Helvetica),
    bold: await doc.embedFont(StandardFonts.HelveticaBold),
    italic: await doc.embedFont(StandardFonts.HelveticaOblique),
    mono: await doc.embedFont(StandardFonts.Courier),
  };
}

export const INK: RGB = rgb(0.11, 0.12, 0.14);
export const MUTED: RGB = rgb(0.34, 0.38, 0.42);
export const LINE: RGB = rgb(0.8, 0.83, 0.86);
export const ACCENT: RGB = rgb(0.04, 0.36, 0.68);

/** US Letter in points: the paper every agency we file with prints on. */
export const LETTER: readonly [number, number] = [612, 792];
export const MARGIN = 60;

// ---------------------------------------------------------------------------------------------
// A flowing layout

export interface ParagraphOptions {
  font?: FontName;
  size?: number;
  color?: RGB;
  /** Points from the left margin. */
  indent?: number;
  /** Space after the paragraph. */
  after?: number;
}

export interface ReservedBox {
  pageIndex: number;
  /** Bottom-left corner, PDF user space. */
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Writes top to bottom, starting a new page when the next line does not fit. Headings keep
 * with the lines after them; table rows break across pages line by line only when one row is
 * taller than what is left. Every string drawn goes through `winAnsiSafe`.
 */
export class PdfFlow {
  readonly doc: PDFDocument;
  readonly fonts: DocumentFonts;
  readonly pageSize: readonly [number, number];
  readonly margin: number;
  #page: PDFPage;
  #y: number;

  constructor(
    doc: PDFDocument,
    fonts: DocumentFonts,
    options: { pageSize?: readonly [number, number]; margin?: number } = {},
  ) {
    this.doc = doc;
    this.fonts = fonts;
    this.pageSize = options.pageSize ?? LETTER;
    this.margin = options.margin ?? MARGIN;
    this.#page = doc.addPage([this.pageSize[0], this.pageSize[1]]);
    this.#y = this.top;
  }

  get page(): PDFPage {
    return this.#page;
  }

  get pageIndex(): number {
    return this.doc.getPageCount() - 1;
  }

  get y(): number {
    return this.#y;
  }

  get top(): number {
    return this.pageSize[1] - this.margin;
  }

  /** Lowest y text may reach; the footer lives below it. */
  get bottom(): number {
    return this.margin;
  }

  get left(): number {
    return this.margin;
  }

  get width(): number {
    return this.pageSize[0] - 2 * this.margin;
  }

  newPage(): void {
    this.#page = this.doc.addPage([this.pageSize[0], this.pageSize[1]]);
    this.#y = this.top;
  }

  /** Starts a new page unless `height` points still fit on this one (or this page is empty). */
  ensureSpace(height: number): void {
    if (this.#y - height < this.bottom && this.#y < this.top) this.newPage();
  }

  space(height: number): void {
    this.#y -= height;
    if (this.#y < this.bottom) this.newPage();
  }

  /** Draws one already-measured line at the cursor and moves down. */
  #line(text: string, font: PDFFont, size: number, color: RGB, x: number): void {
    const lineHeight = size * 1.35;
    this.ensureSpace(lineHeight);
    this.#y -= size;
    if (text !== "") this.#page.drawText(text, { x, y: this.#y, size, font, color });
    this.#y -= lineHeight - size;
  }

  paragraph(text: string, options: ParagraphOptions = {}): void {
    const font = this.fonts[options.font ?? "regular"];
    const size = options.size ?? 10.5;
    const indent = options.indent ?? 0;
    for (const line of wrapText(text, font, size, this.width - indent)) {
      this.#line(line, font, size, options.color ?? INK, this.left + indent);
    }
    this.space(options.after ?? size * 0.6);
  }

  title(text: string): void {
    this.paragraph(text, { font: "bold", size: 18, after: 4 });
  }

  /** A section heading, kept on the same page as at least three lines after it. */
  heading(text: string): void {
    this.ensureSpace(13 * 1.35 + 4 + 3 * 10.5 * 1.35);
    this.space(6);
    this.paragraph(text, { font: "bold", size: 13, color: ACCENT, after: 2 });
    this.rule();
  }

  bullets(items: readonly string[], options: { size?: number } = {}): void {
    const size = options.size ?? 10.5;
    const font = this.fonts.regular;
    for (const item of items) {
      const lines = wrapText(item, font, size, this.width - 14);
      lines.forEach((line, i) => {
        if (i === 0) {
          this.ensureSpace(size * 1.35);
          this.#page.drawText("\u2022", { x: this.left + 2, y: this.#y - size, size, font, color: MUTED });
        }
        this.#line(line, font, size, INK, this.left + 14);
      });
      this.space(2);
    }
  }

  /** A horizontal rule across the text width. */
  rule(color: RGB = LINE): void {
    this.ensureSpace(6);
    this.#y -= 3;
    this.#page.drawLine({
      start: { x: this.left, y: this.#y },
      end: { x: this.left + this.width, y: this.#y },
      thickness: 0.75,
      color,
    });
    this.#y -= 5;
  }

  /**
   * Label/value rows, the label in a narrow column on the left. A row that fits on a page is
   * never split; a longer one (a 20,000-character plan) continues on the next page.
   */
  rows(rows: readonly (readonly [string, string])[], options: { labelWidth?: number; size?: number } = {}): void {
    const size = options.size ?? 10;
    const lineHeight = size * 1.35;
    const labelWidth = options.labelWidth ?? Math.round(this.width * 0.34);
    const gap = 12;
    const valueWidth = this.width - labelWidth - gap;
    for (const [label, value] of rows) {
      const labelLines = wrapText(label, this.fonts.bold, size, labelWidth);
      const valueLines = wrapText(value === "" ? "-" : value, this.fonts.regular, size, valueWidth);
      const count = Math.max(labelLines.length, valueLines.length);
      this.ensureSpace(Math.min(count * lineHeight, this.top - this.bottom) + 4);
      for (let i = 0; i < count; i++) {
        this.ensureSpace(lineHeight);
        const baseline = this.#y - size;
        const l = labelLines[i];
        const v = valueLines[i];
        if (l) this.#page.drawText(l, { x: this.left, y: baseline, size, font: this.fonts.bold, color: MUTED });
        if (v) {
          this.#page.drawText(v, {
            x: this.left + labelWidth + gap,
            y: baseline,
            size,
            font: this.fonts.regular,
            color: INK,
          });
        }
        this.#y -= lineHeight;
      }
      this.#y -= 4;
    }
  }

  /** Takes `height` points at the cursor (on a new page if needed) and says where they are. */
  reserve(height: number): ReservedBox {
    this.ensureSpace(height);
    this.#y -= height;
    return { pageIndex: this.pageIndex, x: this.left, y: this.#y, width: this.width, height };
  }

  /**
   * Draws a footer on every page from `from` on: `left` text, and on the right "Page i of n"
   * (or what `right` says), counting only those pages.
   */
  footer(left: string, options: { from?: number; right?: (page: number, count: number) => string } = {}): void {
    const from = options.from ?? 0;
    const pages = this.doc.getPages().slice(from);
    const size = 8;
    const font = this.fonts.regular;
    pages.forEach((page, i) => {
      const right = winAnsiLine(
        options.right ? options.right(i + 1, pages.length) : `Page ${i + 1} of ${pages.length}`,
      );
      const rightWidth = font.widthOfTextAtSize(right, size);
      const y = this.margin / 2;
      const leftText = truncateToWidth(left, font, size, this.width - rightWidth - 20);
      page.drawText(leftText, { x: this.left, y, size, font, color: MUTED });
      page.drawText(right, { x: this.left + this.width - rightWidth, y, size, font, color: MUTED });
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Metadata

export interface DocumentInfo {
  title: string;
  subject: string;
  keywords?: string[];
  author?: string;
  createdAt: Date;
  modifiedAt?: Date;
}

/**
 * Sets the document information dictionary (PDF 32000-1 §14.3.3) from the input alone, never
 * the clock: the same input gives the same bytes, so the SHA-256 recorded when a document is
 * signed can be checked against a fresh rendering.
 */
export function setDocumentInfo(doc: PDFDocument, info: DocumentInfo): void {
  doc.setTitle(info.title, { showInWindowTitleBar: true });
  doc.setSubject(info.subject);
  doc.setAuthor(info.author ?? "Docket");
  doc.setCreator("Docket");
  doc.setProducer("Docket");
  if (info.keywords) doc.setKeywords(info.keywords);
  doc.setCreationDate(info.createdAt);
  doc.setModificationDate(info.modifiedAt ?? info.createdAt);
}

/** The document information dictionary (PDF 32000-1 §14.3.3), created if missing. */
export function infoDict(doc: PDFDocument): PDFDict {
  const existing = doc.context.lookupMaybe(doc.context.trailerInfo.Info, PDFDict);
  if (existing) return existing;
  const created = doc.context.obj({});
  doc.context.trailerInfo.Info = doc.context.register(created);
  return created;
}

/** A private entry of numbers in the information dictionary (second-class names are allowed there). */
export function setInfoNumbers(doc: PDFDocument, key: string, values: readonly number[]): void {
  infoDict(doc).set(PDFName.of(key), doc.context.obj(values.map((v) => Math.round(v * 100) / 100)));
}

export function getInfoNumbers(doc: PDFDocument, key: string): number[] | undefined {
  const array = infoDict(doc).lookupMaybe(PDFName.of(key), PDFArray);
  if (!array) return undefined;
  const numbers: number[] = [];
  for (let i = 0; i < array.size(); i++) {
    const n = array.lookupMaybe(i, PDFNumber);
    if (!n) return undefined;
    numbers.push(n.asNumber());
  }
  return numbers;
}

/** "2026-05-01 09:30 UTC": how dates read in our documents (ISO 8601, unambiguous). */
export function documentDate(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
