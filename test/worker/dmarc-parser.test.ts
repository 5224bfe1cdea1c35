import { zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { DmarcParseError, parseDmarcInput } from "../../domain/dmarc/parse-aggregate-report";
import { isInNetworks, parseCidr, sourceIpLabel } from "../../domain/net/cidr";

// The DMARC aggregate report parser inside workerd, where the inbound-mail consumer runs it:
// same code as in Node (htmlparser2, fflate, postal-mime are pure JS), platform streams for
// producing the compressed inputs.

const enc = (s: string) => new TextEncoder().encode(s);

function report(opts: {
  xmlns?: string;
  version?: string;
  records: { ip: string; count: number; dkim: string; spf: string }[];
}): string {
  const rows = opts.records
    .map(
      (r) => `<record><row><source_ip>${r.ip}</source_ip><count>${r.count}</count>
<policy_evaluated><disposition>none</disposition><dkim>${r.dkim}</dkim><spf>${r.spf}</spf></policy_evaluated></row>
<identifiers><header_from>Example.com</header_from></identifiers>
<auth_results><dkim><domain>example.com</domain><selector>s1</selector><result>${r.dkim}</result></dkim>
<spf><domain>example.com</domain><result>${r.spf}</result></spf></auth_results></record>`,
    )
    .join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>
<feedback${opts.xmlns ? ` xmlns="${opts.xmlns}"` : ""}>${opts.version ? `<version>${opts.version}</version>` : ""}
<report_metadata><org_name>google.com</org_name><email>noreply-dmarc-support@google.com</email>
<report_id>1234567890</report_id><date_range><begin>1700000000</begin><end>1700086399</end></date_range></report_metadata>
<policy_published><domain>example.com</domain><p>quarantine</p><np>reject</np></policy_published>
${rows}
</feedback>`;
}

const RECORDS = [
  { ip: "192.0.2.10", count: 41, dkim: "pass", spf: "fail" },
  { ip: "2001:db8:1::25", count: 7, dkim: "FAIL", spf: "Pass" },
  { ip: "203.0.113.5", count: 2, dkim: "fail", spf: "fail" },
];

async function gzip(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function refusal(p: Promise<unknown>): Promise<DmarcParseError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DmarcParseError);
  return e as DmarcParseError;
}

describe("DMARC aggregate reports in workerd", () => {
  it("classic schema, no namespace", async () => {
    const { reports } = await parseDmarcInput(enc(report({ records: RECORDS })));
    expect(reports).toHaveLength(1);
    const r = reports[0]!;
    expect(r).toMatchObject({ orgName: "google.com", reportId: "1234567890" });
    expect(r.namespace).toBeUndefined();
    expect(r.begin.toISOString()).toBe("2023-11-14T22:13:20.000Z");
    expect(r.policyPublished).toEqual({
      domain: "example.com",
      adkim: "r",
      aspf: "r",
      p: "quarantine",
      sp: "quarantine",
      pct: 100,
      np: "reject",
    });
    expect(r.records.map((x) => [x.sourceIp, x.count, x.dkimAligned, x.spfAligned, x.dmarcPass])).toEqual([
      ["192.0.2.10", 41, true, false, true],
      ["2001:db8:1::25", 7, false, true, true],
      ["203.0.113.5", 2, false, false, false],
    ]);
    expect(r.records[0]!.headerFrom).toBe("example.com");
  });

  it("RFC 9990 namespace (urn:ietf:params:xml:ns:dmarc-2.0)", async () => {
    const xml = report({ xmlns: "urn:ietf:params:xml:ns:dmarc-2.0", version: "2.0", records: RECORDS.slice(0, 1) });
    const { reports } = await parseDmarcInput(enc(xml));
    expect(reports[0]).toMatchObject({ namespace: "urn:ietf:params:xml:ns:dmarc-2.0", version: "2.0" });
    expect(reports[0]!.records[0]!.authResults.dkim).toEqual([
      { domain: "example.com", selector: "s1", result: "pass" },
    ]);
  });

  it("gzip made by the platform's CompressionStream", async () => {
    const { reports } = await parseDmarcInput(await gzip(enc(report({ records: RECORDS }))), { filename: "r.xml.gz" });
    expect(reports[0]!.records.reduce((s, r) => s + r.count, 0)).toBe(50);
  });

  it("zip, attached to an e-mail parsed with postal-mime", async () => {
    const zip = zipSync({ "google.com!example.com!1700000000!1700086399.xml": enc(report({ records: RECORDS })) });
    expect((await parseDmarcInput(zip)).reports[0]!.records).toHaveLength(3);
    let b64 = "";
    for (const byte of zip) b64 += String.fromCharCode(byte);
    const eml = [
      "From: noreply-dmarc-support@google.com",
      "To: rua@example.com",
      "Subject: Report domain: example.com Submitter: google.com Report-ID: 1234567890",
      "MIME-Version: 1.0",
      'Content-Type: multipart/mixed; boundary="b"',
      "",
      "--b",
      "Content-Type: text/plain",
      "",
      "This is an aggregate report.",
      "--b",
      'Content-Type: application/zip; name="report.zip"',
      'Content-Disposition: attachment; filename="report.zip"',
      "Content-Transfer-Encoding: base64",
      "",
      btoa(b64).replace(/.{76}/g, "$&\r\n"),
      "--b--",
      "",
    ].join("\r\n");
    const { reports } = await parseDmarcInput(enc(eml), { contentType: "message/rfc822" });
    expect(reports[0]!.records.map((r) => r.count)).toEqual([41, 7, 2]);
  });

  it("refuses an entity bomb and a gzip bomb", async () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><feedback>&b;</feedback>`;
    expect((await refusal(parseDmarcInput(enc(laughs)))).code).toBe("entities");

    const zeros = new Uint8Array(48 * 1024 * 1024);
    const bomb = await gzip(zeros);
    const e = await refusal(parseDmarcInput(bomb));
    expect(e.code).toBe("ratio");
    expect(e.inflatedBytes).toBeLessThan(4 * 1024 * 1024);
  });

  it("labels source IPs against our CIDR ranges", () => {
    const ours = ["192.0.2.0/24", "2001:db8:1::/48"].map(parseCidr);
    expect(isInNetworks("192.0.2.10", ours)).toBe(true);
    expect(isInNetworks("::ffff:192.0.2.10", ours)).toBe(true);
    expect(isInNetworks("2001:db8:1::25", ours)).toBe(true);
    expect(isInNetworks("2001:db8:2::25", ours)).toBe(false);
    expect(sourceIpLabel("203.0.113.5", ours)).toBe("external");
  });
});
