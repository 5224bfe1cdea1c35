import { readFileSync } from "node:fs";
import { join } from "node:path";
import { crc32, deflateRawSync, gzipSync } from "node:zlib";
import { gunzipSync as refGunzip, unzipSync as refUnzip, zipSync } from "fflate";
import PostalMime from "postal-mime";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DmarcParseError,
  parseDmarcInput,
  type DmarcInputOptions,
  type DmarcParseErrorCode,
} from "../../domain/dmarc/parse-aggregate-report";
import { cidrContains, isInNetworks, parseCidr, parseIp, sourceIpLabel } from "../../domain/net/cidr";
import { dmarcParse } from "../../scripts/cli/dmarc-parse";

// The parsedmarc sample corpus (shared/corpora/dmarc, see its README and MANIFEST.txt): every
// aggregate report must come out whole. Expected figures are computed here without the parser:
// decompress with fflate's own gzip/zip readers (the parser frames gzip and zip itself), then
// count <record> and sum <count> with regular expressions over the text.

const CORPUS = join(import.meta.dirname, "../../../shared/corpora/dmarc");

interface ManifestRow {
  path: string;
  category: string;
  container: string;
  notes: string;
}

const MANIFEST: ManifestRow[] = readFileSync(join(CORPUS, "MANIFEST.txt"), "utf8")
  .split("\n")
  .filter((l) => l.trim() && !l.startsWith("#"))
  .map((l) => {
    const [path = "", category = "", container = "", , , notes = ""] = l.split("\t");
    return { path, category, container, notes };
  });

const AGGREGATE = MANIFEST.filter((r) =>
  /^(aggregate|aggregate_invalid|aggregate-historical|extract_report)$/.test(r.category),
);
const NOT_AGGREGATE = MANIFEST.filter((r) => /^(failure|smtp_tls|empty)$/.test(r.category));

const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");

/** Independent extraction: the XML texts a file holds. */
async function referenceTexts(bytes: Uint8Array): Promise<string[]> {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return [latin1(refGunzip(bytes))];
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return Object.values(refUnzip(bytes)).map(latin1);
  if (latin1(bytes.subarray(0, 64)).trimStart().startsWith("<")) return [latin1(bytes)];
  const email = await PostalMime.parse(bytes);
  const out: string[] = [];
  for (const a of email.attachments) {
    if (/\.(xml|gz|zip)$/i.test(a.filename ?? ""))
      out.push(...(await referenceTexts(new Uint8Array(a.content as ArrayBuffer))));
  }
  return out;
}

function expectedFigures(texts: string[]): { records: number; sum: number } {
  let records = 0;
  let sum = 0;
  for (const t of texts) {
    records += (t.match(/<(?:[\w.-]+:)?record[\s>]/g) ?? []).length;
    for (const m of t.matchAll(/<(?:[\w.-]+:)?count>\s*(\d+)\s*<\//g)) sum += Number(m[1]);
  }
  return { records, sum };
}

async function expectRefusal(
  input: Uint8Array,
  code: DmarcParseErrorCode,
  options: DmarcInputOptions = {},
): Promise<{ error: DmarcParseError; ms: number }> {
  const t0 = performance.now();
  const error = await parseDmarcInput(input, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  const ms = performance.now() - t0;
  expect(error).toBeInstanceOf(DmarcParseError);
  expect((error as DmarcParseError).code, (error as Error).message).toBe(code);
  return { error: error as DmarcParseError, ms };
}

const read = (p: string) => new Uint8Array(readFileSync(join(CORPUS, p)));

describe("DMARC corpus: aggregate reports", () => {
  it("the manifest lists the aggregate files", () => {
    expect(AGGREGATE.length).toBeGreaterThanOrEqual(24);
    expect(NOT_AGGREGATE.length).toBe(10);
  });

  it.each(AGGREGATE.map((r) => [r.path, r] as const))("%s: every record, every count", async (path, row) => {
    const bytes = read(path);
    const expected = expectedFigures(await referenceTexts(bytes));
    expect(expected.records).toBeGreaterThan(0);
    // Where the manifest states a figure, the regex count must agree with it.
    const stated = /records=(\d+)/.exec(row.notes)?.[1];
    if (stated) expect(expected.records).toBe(Number(stated));

    const { reports, failures } = await parseDmarcInput(bytes, { filename: path.split("/").pop() });
    expect(failures).toEqual([]);
    const records = reports.flatMap((r) => r.records);
    expect(records.length).toBe(expected.records);
    expect(records.reduce((s, r) => s + r.count, 0)).toBe(expected.sum);
    for (const r of records) {
      expect(Number.isInteger(r.count)).toBe(true);
      expect(parseIp(r.sourceIp), r.sourceIp).toBeDefined();
      expect(r.dmarcPass).toBe(r.dkimAligned || r.spfAligned);
    }
    for (const r of reports) {
      expect(r.reportId).not.toBe("");
      expect(r.begin.getTime()).toBeLessThanOrEqual(r.end.getTime());
      expect(r.policyPublished.domain).toMatch(/^[a-z0-9.-]+$/);
    }
  });

  it("the 2,286-record report", async () => {
    const { reports } = await parseDmarcInput(read("!large-example.com!1711897200!1711983600.xml"));
    expect(reports).toHaveLength(1);
    expect(reports[0]!.records).toHaveLength(2286);
    expect(reports[0]!.orgName).toBe("accurateplastics.com"); // empty org_name → email domain
    expect(reports[0]!.warnings.join()).toMatch(/empty org_name/);
  });

  it("RFC 9990 namespace, np/testing/discovery_method, reasons", async () => {
    const [ns] = (await parseDmarcInput(read("rfc9990-sample.xml"))).reports;
    expect(ns!.namespace).toBe("urn:ietf:params:xml:ns:dmarc-2.0");
    expect(ns!.policyPublished).toMatchObject({
      domain: "example.com",
      p: "quarantine",
      sp: "none",
      np: "none",
      testing: "n",
      discoveryMethod: "treewalk",
    });
    expect(ns!.records[0]).toMatchObject({
      count: 123,
      dkim: "pass",
      spf: "fail",
      dkimAligned: true,
      spfAligned: false,
      dmarcPass: true,
    });
    expect(ns!.records[0]!.authResults.dkim).toEqual([{ domain: "example.com", selector: "abc123", result: "pass" }]);

    const [bis] = (await parseDmarcInput(read("rfc9990-example.net!example.com!1700000000!1700086399.xml"))).reports;
    expect(bis!.version).toBe("2.0");
    expect(bis!.begin.toISOString()).toBe(new Date(1700000000 * 1000).toISOString());
    expect(bis!.records[1]).toMatchObject({
      sourceIp: "203.0.113.10",
      disposition: "reject",
      dmarcPass: false,
      envelopeFrom: "spoofed.example.com",
      reasons: [{ type: "other", comment: "sender not authorized" }],
    });
  });

  it("tolerates what receivers send", async () => {
    const upper = (await parseDmarcInput(read("aggregate_invalid/report_with_upper_cased_pass.xml"))).reports[0]!;
    expect(upper.orgName).toBe("example.com"); // trailing space trimmed
    expect(upper.policyPublished).toMatchObject({ p: "reject", sp: "reject", adkim: "r", pct: 100 });
    expect(upper.records[0]).toMatchObject({ disposition: "none", dkim: "pass", spf: "pass", dmarcPass: true });
    expect(upper.records[0]!.authResults.spf[0]!.result).toBe("pass");

    const empty = (await parseDmarcInput(read("empty_reason.xml"))).reports[0]!;
    expect(empty.records[0]!.reasons).toEqual([]);
    expect(empty.records[0]!.count).toBe(2);

    const stray = (await parseDmarcInput(read("invalid_xml.xml"))).reports[0]!;
    expect(stray.email).toBe("bad-xml@bad-xml.net");
    expect(stray.records[0]!.headerFrom).toBe("bad<xml.net");
    expect(stray.records[0]!.authResults.spf).toHaveLength(1);

    const utf8 = (await parseDmarcInput(read("invalid_utf_8.xml"))).reports[0]!;
    expect(utf8.records[0]!.headerFrom).toBe("bad_byte\ufffd");

    const wrapped = (await parseDmarcInput(read("ikea.com!example.de!1538690400!1538776800.xml"))).reports[0]!;
    expect(wrapped.records[0]!.authResults).toEqual({
      dkim: [{ domain: "example.de", selector: null, result: "pass" }],
      spf: [{ domain: "mailrelay.com", scope: "helo", result: "none" }],
    });
  });

  it("recovers every record when end tags are missing", async () => {
    const xml = readFileSync(join(CORPUS, "extract_report/nice-input.xml"), "utf8");
    const broken = xml
      .replace("</feedback>", "")
      .replace(/<\/record>/, "") // the first record never closes
      .replace(/<\/row>/, ""); // nor does a row
    const { reports } = await parseDmarcInput(new TextEncoder().encode(broken));
    expect(reports[0]!.records).toHaveLength(20);
    expect(reports[0]!.records.reduce((s, r) => s + r.count, 0)).toBe(expectedFigures([xml]).sum);
  });

  it("an e-mail whose body is the XML", async () => {
    const xml = readFileSync(join(CORPUS, "usssa.com!example.com!1538784000!1538870399.xml"), "utf8");
    for (const type of ["text/plain", "text/xml"]) {
      const eml = `From: dmarc@example.net\r\nTo: rua@example.com\r\nSubject: Report\r\nMIME-Version: 1.0\r\nContent-Type: ${type}; charset=utf-8\r\n\r\n${xml.replace(/\n/g, "\r\n")}`;
      const { reports } = await parseDmarcInput(new TextEncoder().encode(eml), { filename: "report.eml" });
      expect(reports[0]!.records, type).toHaveLength(2);
    }
  });

  it("gzip with several members and with trailing bytes", async () => {
    const xml = readFileSync(join(CORPUS, "extract_report/nice-input.xml"));
    const half = Math.floor(xml.length / 2);
    const multi = Buffer.concat([gzipSync(xml.subarray(0, half)), gzipSync(xml.subarray(half))]);
    expect((await parseDmarcInput(multi)).reports[0]!.records).toHaveLength(20);
    const junk = Buffer.concat([gzipSync(xml), Buffer.alloc(300, 0x41)]);
    expect((await parseDmarcInput(junk)).reports[0]!.records).toHaveLength(20);
  });

  it("a zip with two reports gives two", async () => {
    const zip = zipSync({
      "a.xml": read("usssa.com!example.com!1538784000!1538870399.xml"),
      "__MACOSX/._a.xml": new Uint8Array([0, 5, 22, 7]),
      "b/": new Uint8Array(0),
      "b/c.xml.gz": gzipSync(read("veeam.com!example.com!1530133200!1530219600.xml")),
    });
    const { reports } = await parseDmarcInput(zip);
    expect(reports.map((r) => r.records.length)).toEqual([2, 1]);
  });
});

describe("DMARC corpus: not aggregate reports", () => {
  it.each(NOT_AGGREGATE.map((r) => [r.path, r] as const))("%s is refused as not_a_report", async (path, row) => {
    const { error } = await expectRefusal(read(path), "not_a_report", { filename: path.split("/").pop() });
    if (row.category === "failure" && row.notes.includes("has-feedback-report"))
      expect(error.message).toMatch(/failure/);
    if (row.category === "smtp_tls") expect(error.message).toMatch(/TLS/);
  });
});

// ---------------------------------------------------------------------------------------------

/** A zip written by hand (APPNOTE 4.3), so a test can lie in it. */
function buildZip(entries: { name: string; data: Uint8Array; method: 0 | 8; crc: number; size: number }[]): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.method, 8);
    local.writeUInt32LE(e.crc, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.size, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(e.method, 10);
    cd.writeUInt32LE(e.crc, 16);
    cd.writeUInt32LE(e.data.length, 20);
    cd.writeUInt32LE(e.size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    parts.push(local, name, Buffer.from(e.data));
    central.push(cd, name);
    offset += 30 + name.length + e.data.length;
  }
  const cdBytes = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cdBytes.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...parts, cdBytes, eocd]));
}

describe("DMARC parser refuses bombs and broken input", () => {
  const BOMB_SIZE = 200 * 1024 * 1024;
  let gzBomb: Uint8Array;
  let deflated: Uint8Array;
  let bombCrc: number;

  beforeAll(() => {
    // 200 MiB of zeros: about 200 KB compressed (deflate's ~1000:1 ceiling).
    const zeros = Buffer.alloc(BOMB_SIZE);
    gzBomb = new Uint8Array(gzipSync(zeros, { level: 9 }));
    deflated = new Uint8Array(deflateRawSync(zeros, { level: 9 }));
    bombCrc = crc32(zeros);
  }, 60_000);

  it("gzip bomb: stops at the size limit, without inflating it", async () => {
    const { error, ms } = await expectRefusal(gzBomb, "too_large", {
      limits: { maxDecompressedBytes: 8 * 1024 * 1024, maxRatio: 10_000 },
    });
    expect(error.inflatedBytes).toBeLessThan(8 * 1024 * 1024 + 3 * 1024 * 1024);
    expect(ms).toBeLessThan(3000);
  });

  it("gzip bomb: stops at the ratio limit (default limits)", async () => {
    const { error, ms } = await expectRefusal(gzBomb, "ratio");
    // The ratio is judged as input is consumed, so a bomb is caught within a few slices.
    expect(error.inflatedBytes).toBeLessThan(4 * 1024 * 1024);
    expect(ms).toBeLessThan(1000);
  });

  it("zip bomb: refused while inflating, even when it declares a small size", async () => {
    const honest = buildZip([{ name: "report.xml", data: deflated, method: 8, crc: bombCrc, size: BOMB_SIZE }]);
    const a = await expectRefusal(honest, "too_large", {
      limits: { maxDecompressedBytes: 8 * 1024 * 1024, maxRatio: 10_000 },
    });
    expect(a.error.inflatedBytes).toBeLessThan(11 * 1024 * 1024);
    expect(a.ms).toBeLessThan(3000);
    const lying = buildZip([{ name: "report.xml", data: deflated, method: 8, crc: 0, size: 1000 }]);
    const b = await expectRefusal(lying, "ratio");
    expect(b.ms).toBeLessThan(1000);
    expect(b.error.inflatedBytes).toBeLessThan(4 * 1024 * 1024);
    // A bomb inside a zip inside an e-mail is caught the same way.
    const eml = `From: a@example.net\r\nSubject: r\r\nMIME-Version: 1.0\r\nContent-Type: application/zip; name="r.zip"\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(honest).toString("base64").replace(/.{76}/g, "$&\r\n")}\r\n`;
    await expectRefusal(new TextEncoder().encode(eml), "ratio");
  });

  it("zip with 1000 members: refused before inflating any", async () => {
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 1000; i++) files[`r${i}.xml`] = new TextEncoder().encode("<feedback/>");
    const zip = zipSync(files, { level: 0 });
    const { error, ms } = await expectRefusal(zip, "too_many_members");
    expect(error.message).toMatch(/1000/);
    expect(ms).toBeLessThan(1000);
    // The end record may lie about the count: members are counted, not believed.
    const lying = zip.slice();
    const eocd = lying.length - 22;
    new DataView(lying.buffer).setUint16(eocd + 8, 1, true);
    new DataView(lying.buffer).setUint16(eocd + 10, 1, true);
    await expectRefusal(lying, "too_many_members");
  });

  it("truncated gzip and zip", async () => {
    const gz = gzipSync(readFileSync(join(CORPUS, "!large-example.com!1711897200!1711983600.xml")));
    const cut = await expectRefusal(new Uint8Array(gz.subarray(0, gz.length >> 1)), "truncated");
    expect(cut.error.message).toMatch(/truncated/);
    await expectRefusal(new Uint8Array(gz.subarray(0, gz.length - 4)), "truncated"); // trailer cut
    await expectRefusal(new Uint8Array(gz.subarray(0, 6)), "truncated"); // header cut
    const zip = read("extract_report/nice-input.xml.zip");
    await expectRefusal(zip.subarray(0, zip.length >> 1), "truncated");
    const corrupt = gz.slice();
    corrupt[gz.length - 6]! ^= 0xff; // CRC-32 no longer matches
    await expectRefusal(corrupt, "truncated");
  });

  it("XML with <!ENTITY> or <!DOCTYPE> is refused, never expanded", async () => {
    const laughs =
      '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n' +
      Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i || ""};`.repeat(10)}">`).join("\n") +
      "\n]>\n<feedback><report_metadata><org_name>&lol9;</org_name></report_metadata></feedback>";
    const { error, ms } = await expectRefusal(new TextEncoder().encode(laughs), "entities");
    expect(error.message).toMatch(/DTD/);
    expect(ms).toBeLessThan(500);
    await expectRefusal(new Uint8Array(gzipSync(laughs)), "entities", { filename: "r.xml.gz" });
    const xxe =
      '<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY x SYSTEM "file:///etc/passwd">]><feedback>&x;</feedback>';
    await expectRefusal(new TextEncoder().encode(xxe), "entities");
    await expectRefusal(new TextEncoder().encode('<!ENTITY x "y"><feedback/>'), "entities");
  });

  it("raw input over the size limit", async () => {
    await expectRefusal(new Uint8Array(2048).fill(0x3c), "too_large", { limits: { maxInputBytes: 1024 } });
  });

  it("XML that is not a report, and a report without its identity", async () => {
    await expectRefusal(new TextEncoder().encode("<html><body>hi</body></html>"), "not_a_report");
    await expectRefusal(
      new TextEncoder().encode("<feedback><record><row><count>1</count></row></record></feedback>"),
      "invalid_report",
    );
  });
});

describe("CIDR", () => {
  const ours = ["192.0.2.0/24", "198.51.100.7", "2001:db8:abcd::/48"].map(parseCidr);

  it("IPv4", () => {
    expect(isInNetworks("192.0.2.1", ours)).toBe(true);
    expect(isInNetworks("192.0.2.255", ours)).toBe(true);
    expect(isInNetworks("192.0.3.0", ours)).toBe(false);
    expect(isInNetworks("198.51.100.7", ours)).toBe(true);
    expect(isInNetworks("198.51.100.8", ours)).toBe(false);
    expect(isInNetworks("10.1.2.3", ["10.0.0.0/8"])).toBe(true);
    expect(isInNetworks("11.0.0.0", ["10.0.0.0/8"])).toBe(false);
    expect(isInNetworks("203.0.113.9", ["0.0.0.0/0"])).toBe(true);
    expect(parseCidr("192.0.2.77/24")).toEqual(parseCidr("192.0.2.0/24")); // host bits cleared
    expect(isInNetworks("172.16.5.4", ["172.16.0.0/12"])).toBe(true);
    expect(isInNetworks("172.32.0.0", ["172.16.0.0/12"])).toBe(false);
  });

  it("IPv6", () => {
    expect(isInNetworks("2001:db8:abcd:12::1", ours)).toBe(true);
    expect(isInNetworks("2001:DB8:ABCD:FFFF:FFFF:FFFF:FFFF:FFFF", ours)).toBe(true);
    expect(isInNetworks("2001:db8:abce::1", ours)).toBe(false);
    expect(isInNetworks("2a00:1450:4864:20::22a", ["2a00:1450::/32"])).toBe(true);
    expect(isInNetworks("2a00:1451::1", ["2a00:1450::/32"])).toBe(false);
    expect(isInNetworks("::1", ["::1/128"])).toBe(true);
    expect(isInNetworks("fe80::1", ["fe80::/10"])).toBe(true);
    expect(isInNetworks("fec0::1", ["fe80::/10"])).toBe(false);
    expect(isInNetworks("2001:db8::1", ["2001:0db8:0000:0000:0000:0000:0000:0000/64"])).toBe(true);
    expect(isInNetworks("[2001:db8::1]", ["2001:db8::/64"])).toBe(true);
    expect(cidrContains(parseCidr("2001:db8::/33"), parseIp("2001:db8:7fff::")!)).toBe(true);
    expect(cidrContains(parseCidr("2001:db8::/33"), parseIp("2001:db8:8000::")!)).toBe(false);
  });

  it("IPv4-mapped IPv6 matches IPv4 ranges, and families never cross otherwise", () => {
    expect(isInNetworks("::ffff:192.0.2.10", ours)).toBe(true);
    expect(isInNetworks("::FFFF:c000:020a", ours)).toBe(true);
    expect(isInNetworks("::ffff:192.0.3.10", ours)).toBe(false);
    expect(isInNetworks("192.0.2.10", ["::ffff:192.0.2.0/120"])).toBe(true);
    expect(isInNetworks("192.0.3.10", ["::ffff:192.0.2.0/120"])).toBe(false);
    expect(isInNetworks("192.0.2.1", ["::/0"])).toBe(false);
    expect(isInNetworks("2001:db8::1", ["0.0.0.0/0"])).toBe(false);
    expect(parseIp("::192.0.2.1")).toEqual({ family: 6, words: [0, 0, 0, 0xc0000201] });
  });

  it("invalid input", () => {
    for (const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",
      "1.2.3.-1",
      "1::2::3",
      ":::",
      "12345::",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7::8:9",
      "fe80::1%eth0",
      "g::1",
    ]) {
      expect(parseIp(bad), bad).toBeUndefined();
    }
    for (const bad of [
      "192.0.2.0/33",
      "2001:db8::/129",
      "192.0.2.0/",
      "192.0.2.0/x",
      "a/1",
      "1.2.3.4/8/9",
      "::ffff:1.2.3.4/90",
    ]) {
      expect(() => parseCidr(bad), bad).toThrow();
    }
    expect(isInNetworks("not an ip", ["0.0.0.0/0"])).toBe(false);
    expect(parseIp("1:2:3:4:5:6:7:8")).toEqual({ family: 6, words: [0x10002, 0x30004, 0x50006, 0x70008] });
  });

  it("labels a report's source IPs", () => {
    expect(sourceIpLabel("192.0.2.9", ours)).toBe("ours");
    expect(sourceIpLabel("209.85.220.41", ours)).toBe("external");
  });
});

describe("dmarc-parse CLI", () => {
  it("prints one JSON line per report, and one error line per bad file", async () => {
    const lines: string[] = [];
    const files = [
      join(CORPUS, "rfc9990-example.net!example.com!1700000000!1700086399.xml"),
      join(CORPUS, "does-not-exist.xml"),
      join(CORPUS, "smtp_tls/rfc8460.json"),
      join(CORPUS, "fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz"),
    ];
    await dmarcParse(files, (l) => lines.push(l));
    const out = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out).toHaveLength(4);
    expect(out[0]).toMatchObject({
      file: files[0],
      org_name: "example.net",
      report_id: "dmarcbis-test-report-001",
      begin: "2023-11-14T22:13:20.000Z",
      policy_published: { domain: "example.com", p: "reject", np: "reject" },
      records: [
        {
          source_ip: "198.51.100.1",
          count: 5,
          disposition: "none",
          dkim: "pass",
          spf: "pass",
          dkim_aligned: true,
          spf_aligned: true,
          dmarc_pass: true,
          header_from: "example.com",
        },
        { source_ip: "203.0.113.10", count: 2, dmarc_pass: false },
      ],
    });
    expect(out[1]).toMatchObject({ file: files[1], code: "ENOENT" });
    expect(out[1]!.error).toEqual(expect.any(String));
    expect(out[2]).toMatchObject({ file: files[2], code: "not_a_report" });
    expect(out[3]).toMatchObject({ file: files[3], org_name: "FastMail Pty Ltd" });
  });
});
