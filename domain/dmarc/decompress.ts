import { Inflate } from "fflate";
import { DmarcParseError, type DmarcLimits } from "./report-types";

// Bounded gzip (RFC 1952) and zip (PKWARE APPNOTE 6.3.x) extraction for report attachments.
//
// Why fflate rather than DecompressionStream: it is pure JS and synchronous, so it behaves the
// same in workerd and Node, and we can check the limits after every small input slice and stop
// there (never inflate a bomb to find out). DecompressionStream also rejects any byte after the
// gzip trailer, and real reports carry some (Mimecast appends CRLF to its .xml.gz).

/** Input per inflate step. Deflate expands at most ~1032:1, so one step yields ≤ ~2 MiB. */
const SLICE = 2048;

/**
 * Steps in a row that produce nothing, after which the DEFLATE stream is taken to be over.
 * fflate holds back a stored block (≤ 65535 bytes, RFC 1951 §3.2.4) until all of it is in, so
 * fewer than 33 idle steps are normal; many more mean the stream has ended and what follows is
 * junk, which fflate would otherwise copy again at every step (quadratic).
 */
const MAX_IDLE_STEPS = 64;

/** Shared by every stream of one input, so nested archives cannot multiply the allowance. */
export class DecompressionBudget {
  private total = 0;
  constructor(readonly limits: DmarcLimits) {}

  get inflatedBytes(): number {
    return this.total;
  }

  /**
   * Called after each step with the bytes it produced, the stream's output so far and the
   * compressed bytes fed so far: judging the ratio as we go stops a bomb within a few slices.
   */
  charge(produced: number, streamOutput: number, consumed: number): void {
    this.total += produced;
    const { maxDecompressedBytes, maxRatio, ratioGraceBytes } = this.limits;
    if (this.total > maxDecompressedBytes) {
      throw new DmarcParseError(
        "too_large",
        `decompressed data exceeds ${maxDecompressedBytes} bytes; stopped`,
        this.total,
      );
    }
    if (streamOutput > ratioGraceBytes && streamOutput > maxRatio * Math.max(consumed, 1)) {
      throw new DmarcParseError(
        "ratio",
        `compression ratio exceeds ${maxRatio}:1 (${streamOutput} bytes from ${consumed}); stopped`,
        this.total,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// CRC-32 (ISO 3309, as in RFC 1952 §8 and APPNOTE 4.4.7): both containers carry one.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32Update(crc: number, data: Uint8Array): number {
  let c = ~crc;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

// ---------------------------------------------------------------------------------------------

interface InflateRun {
  chunks: Uint8Array[];
  length: number;
  crc: number;
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function fflateError(e: unknown, what: string, budget: DecompressionBudget): DmarcParseError {
  if (e instanceof DmarcParseError) return e;
  const code = (e as { code?: unknown }).code;
  const msg = e instanceof Error ? e.message : String(e);
  // fflate code 0 is "unexpected EOF": the deflate stream stops before its final block.
  if (code === 0) return new DmarcParseError("truncated", `${what} is truncated (${msg})`, budget.inflatedBytes);
  return new DmarcParseError("corrupt", `${what}: invalid deflate data (${msg})`, budget.inflatedBytes);
}

/**
 * Raw DEFLATE from data[start, end), one slice at a time, charging the budget after each.
 * `stopAfter(pushedEnd, producedNothing)` may end the run early (gzip: trailer found).
 */
function inflateRaw(
  data: Uint8Array,
  start: number,
  end: number,
  budget: DecompressionBudget,
  what: string,
  stopAfter?: (pushedEnd: number, producedNothing: boolean, run: InflateRun) => boolean,
): InflateRun {
  const run: InflateRun = { chunks: [], length: 0, crc: 0 };
  let produced = 0;
  let idle = 0;
  const inflater = new Inflate((chunk) => {
    if (chunk.length === 0) return;
    run.chunks.push(chunk);
    run.length += chunk.length;
    run.crc = crc32Update(run.crc, chunk);
    produced += chunk.length;
  });
  try {
    if (start >= end) inflater.push(new Uint8Array(0), true);
    for (let at = start; at < end; at += SLICE) {
      const stop = Math.min(at + SLICE, end);
      produced = 0;
      inflater.push(data.subarray(at, stop), stop === end);
      budget.charge(produced, run.length, stop - start);
      idle = produced === 0 ? idle + 1 : 0;
      if (idle > MAX_IDLE_STEPS) break; // the caller's size/CRC checks judge what we have
      if (stopAfter && stop < end && stopAfter(stop, produced === 0, run)) break;
    }
  } catch (e) {
    throw fflateError(e, what, budget);
  }
  return run;
}

// ---------------------------------------------------------------------------------------------
// gzip (RFC 1952)

export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** Returns the offset of the DEFLATE data after a member header at `pos` (RFC 1952 §2.3.1). */
function gzipHeaderEnd(b: Uint8Array, pos: number): number {
  const need = (n: number) => {
    if (n > b.length) throw new DmarcParseError("truncated", "gzip header is truncated");
  };
  need(pos + 10);
  if (b[pos] !== 0x1f || b[pos + 1] !== 0x8b) throw new DmarcParseError("corrupt", "not a gzip member");
  if (b[pos + 2] !== 8)
    throw new DmarcParseError("unsupported", `gzip compression method ${b[pos + 2]} (only 8, deflate)`);
  const flg = b[pos + 3]!;
  if (flg & 0xe0) throw new DmarcParseError("corrupt", "gzip header has reserved flag bits set");
  let at = pos + 10;
  if (flg & 0x04) {
    // FEXTRA: XLEN little-endian, then XLEN bytes.
    need(at + 2);
    at += 2 + (b[at]! | (b[at + 1]! << 8));
  }
  for (const bit of [0x08, 0x10]) {
    // FNAME, FCOMMENT: zero-terminated ISO 8859-1.
    if (flg & bit) {
      while (at < b.length && b[at] !== 0) at++;
      need(at + 1);
      at++;
    }
  }
  if (flg & 0x02) at += 2; // FHCRC
  need(at);
  return at;
}

function findTrailer(b: Uint8Array, t: Uint8Array, from: number, to: number): number {
  const last = Math.min(to, b.length - 8);
  outer: for (let i = Math.max(from, 0); i <= last; i++) {
    for (let k = 0; k < 8; k++) if (b[i + k] !== t[k]) continue outer;
    return i;
  }
  return -1;
}

function trailerBytes(crc: number, length: number): Uint8Array {
  const t = new Uint8Array(8);
  const v = new DataView(t.buffer);
  v.setUint32(0, crc, true);
  v.setUint32(4, length >>> 0, true); // ISIZE is the length modulo 2^32
  return t;
}

/**
 * Inflates every member (RFC 1952 §2.2 allows several), verifying each CRC-32/ISIZE trailer.
 * Bytes after the last trailer that do not start a member are ignored, as gzip(1) does.
 */
export function gunzip(data: Uint8Array, budget: DecompressionBudget): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  let pos = 0;
  for (;;) {
    const body = gzipHeaderEnd(data, pos);
    let trailerAt = -1;
    // fflate does not say where the DEFLATE stream ended, and feeding it past the end costs a
    // copy per step; so once a step yields nothing, look for this member's trailer (CRC-32 and
    // size of everything produced so far) among the last bytes fed, and stop when it is there.
    const run = inflateRaw(data, body, data.length, budget, "gzip data", (pushedEnd, nothing, r) => {
      if (!nothing || r.length === 0) return false;
      trailerAt = findTrailer(data, trailerBytes(r.crc, r.length), pushedEnd - 3 * SLICE - 8, pushedEnd + 8);
      return trailerAt >= 0;
    });
    if (trailerAt < 0) trailerAt = findTrailer(data, trailerBytes(run.crc, run.length), body, data.length);
    if (trailerAt < 0) {
      throw new DmarcParseError(
        "truncated",
        "gzip trailer (CRC-32, ISIZE) missing or wrong: the file is truncated or corrupt",
        budget.inflatedBytes,
      );
    }
    parts.push(concat(run.chunks, run.length));
    total += run.length;
    pos = trailerAt + 8;
    if (!(pos + 1 < data.length && data[pos] === 0x1f && data[pos + 1] === 0x8b)) break;
  }
  return concat(parts, total);
}

// ---------------------------------------------------------------------------------------------
// zip (PKWARE APPNOTE.TXT 6.3.10)

export function isZip(b: Uint8Array): boolean {
  // Local file header (4.3.7) or, for an empty archive, the end of central directory (4.3.16).
  return b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && ((b[2] === 3 && b[3] === 4) || (b[2] === 5 && b[3] === 6));
}

export interface ZipMember {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;

function u64(v: DataView, at: number): number {
  return v.getUint32(at + 4, true) * 2 ** 32 + v.getUint32(at, true);
}

/**
 * Reads the central directory (4.3.12) and refuses the archive when it holds more members than
 * allowed, before anything is inflated. Directories are left out.
 */
export function listZipMembers(data: Uint8Array, limits: DmarcLimits): ZipMember[] {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  // The EOCD record is the last 22 bytes plus a comment of at most 65535 bytes (4.3.16).
  let eocd = -1;
  for (let i = data.length - 22; i >= 0 && i >= data.length - 22 - 0xffff; i--) {
    if (v.getUint32(i, true) === SIG_EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0)
    throw new DmarcParseError("truncated", "zip end of central directory not found: truncated or not a zip");
  let entries = v.getUint16(eocd + 10, true);
  let cdSize = v.getUint32(eocd + 12, true);
  let cdOffset = v.getUint32(eocd + 16, true);
  if ((entries === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff) && eocd >= 20) {
    // Zip64 (4.3.14, 4.3.15).
    if (v.getUint32(eocd - 20, true) === SIG_EOCD64_LOCATOR) {
      const at = u64(v, eocd - 12);
      if (at + 56 > data.length || v.getUint32(at, true) !== SIG_EOCD64) {
        throw new DmarcParseError("corrupt", "zip64 end of central directory is missing");
      }
      entries = u64(v, at + 32);
      cdSize = u64(v, at + 40);
      cdOffset = u64(v, at + 48);
    }
  }
  if (entries > limits.maxZipMembers) {
    throw new DmarcParseError(
      "too_many_members",
      `zip has ${entries} members; at most ${limits.maxZipMembers} allowed`,
    );
  }
  if (cdOffset + cdSize > data.length)
    throw new DmarcParseError("truncated", "zip central directory lies past the end of the file");

  const members: ZipMember[] = [];
  let count = 0;
  let at = cdOffset;
  const names = new TextDecoder();
  while (at + 46 <= cdOffset + cdSize && v.getUint32(at, true) === SIG_CENTRAL) {
    // Count what is really there: the EOCD's figure is only a claim.
    if (++count > limits.maxZipMembers) {
      throw new DmarcParseError("too_many_members", `zip has more than ${limits.maxZipMembers} members`);
    }
    const flags = v.getUint16(at + 8, true);
    const method = v.getUint16(at + 10, true);
    const crc = v.getUint32(at + 16, true);
    let compressedSize = v.getUint32(at + 20, true);
    let uncompressedSize = v.getUint32(at + 24, true);
    const nameLen = v.getUint16(at + 28, true);
    const extraLen = v.getUint16(at + 30, true);
    const commentLen = v.getUint16(at + 32, true);
    let localHeaderOffset = v.getUint32(at + 42, true);
    const nameEnd = at + 46 + nameLen;
    if (nameEnd + extraLen > data.length)
      throw new DmarcParseError("truncated", "zip central directory entry is truncated");
    const name = names.decode(data.subarray(at + 46, nameEnd));
    // Zip64 extended information (4.5.3): only the fields saturated above are present, in order.
    for (let x = nameEnd; x + 4 <= nameEnd + extraLen;) {
      const id = v.getUint16(x, true);
      const size = v.getUint16(x + 2, true);
      if (id === 0x0001) {
        let f = x + 4;
        const fieldsEnd = x + 4 + size;
        if (uncompressedSize === 0xffffffff && f + 8 <= fieldsEnd) {
          uncompressedSize = u64(v, f);
          f += 8;
        }
        if (compressedSize === 0xffffffff && f + 8 <= fieldsEnd) {
          compressedSize = u64(v, f);
          f += 8;
        }
        if (localHeaderOffset === 0xffffffff && f + 8 <= fieldsEnd) localHeaderOffset = u64(v, f);
      }
      x += 4 + size;
    }
    at = nameEnd + extraLen + commentLen;
    if (name.endsWith("/")) continue; // a directory entry
    members.push({ name, method, flags, crc, compressedSize, uncompressedSize, localHeaderOffset });
  }
  if (count < entries)
    throw new DmarcParseError("truncated", `zip central directory lists ${count} of ${entries} members`);
  return members;
}

/** Inflates one member, bounded by the budget, and checks its size and CRC-32 (4.4.7–4.4.9). */
export function extractZipMember(data: Uint8Array, m: ZipMember, budget: DecompressionBudget): Uint8Array {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const what = `zip member ${JSON.stringify(m.name)}`;
  if (m.flags & 0x0001) throw new DmarcParseError("unsupported", `${what} is encrypted`);
  if (m.localHeaderOffset + 30 > data.length || v.getUint32(m.localHeaderOffset, true) !== SIG_LOCAL) {
    throw new DmarcParseError("corrupt", `${what}: local header not found`);
  }
  // The local header's name/extra lengths may differ from the central directory's (4.3.7).
  const start =
    m.localHeaderOffset +
    30 +
    v.getUint16(m.localHeaderOffset + 26, true) +
    v.getUint16(m.localHeaderOffset + 28, true);
  const end = start + m.compressedSize;
  if (end > data.length) throw new DmarcParseError("truncated", `${what} is truncated`);

  let out: Uint8Array;
  let crc: number;
  if (m.method === 0) {
    out = data.subarray(start, end);
    budget.charge(out.length, out.length, out.length);
    crc = crc32Update(0, out);
  } else if (m.method === 8) {
    const run = inflateRaw(data, start, end, budget, what);
    out = concat(run.chunks, run.length);
    crc = run.crc;
  } else {
    throw new DmarcParseError("unsupported", `${what} uses compression method ${m.method} (only stored and deflate)`);
  }
  if (out.length !== m.uncompressedSize) {
    throw new DmarcParseError("corrupt", `${what}: ${out.length} bytes inflated, ${m.uncompressedSize} declared`);
  }
  if (crc !== m.crc) throw new DmarcParseError("corrupt", `${what}: CRC-32 mismatch`);
  return out;
}
