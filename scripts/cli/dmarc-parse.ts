// `docket dmarc-parse FILE…`: parses DMARC aggregate reports (.xml, .xml.gz, .zip, .eml) and
// prints one JSON object per report, snake_case like the XML (RFC 7489 Appendix C). A file that
// cannot be read or parsed prints {"file", "error", "code"} and the run goes on.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { DmarcParseError, parseDmarcInput, type DmarcAggregateReport } from "../../domain/dmarc/parse-aggregate-report";

function reportJson(file: string, r: DmarcAggregateReport): Record<string, unknown> {
  const pp = r.policyPublished;
  return {
    file,
    org_name: r.orgName,
    report_id: r.reportId,
    begin: r.begin.toISOString(),
    end: r.end.toISOString(),
    policy_published: {
      domain: pp.domain,
      adkim: pp.adkim,
      aspf: pp.aspf,
      p: pp.p,
      sp: pp.sp,
      pct: pp.pct,
      ...(pp.np ? { np: pp.np } : {}),
      ...(pp.testing ? { testing: pp.testing } : {}),
      ...(pp.discoveryMethod ? { discovery_method: pp.discoveryMethod } : {}),
      ...(pp.fo ? { fo: pp.fo } : {}),
    },
    records: r.records.map((x) => ({
      source_ip: x.sourceIp,
      count: x.count,
      disposition: x.disposition,
      dkim: x.dkim,
      spf: x.spf,
      dkim_aligned: x.dkimAligned,
      spf_aligned: x.spfAligned,
      dmarc_pass: x.dmarcPass,
      header_from: x.headerFrom,
    })),
  };
}

/** Parses each file in turn and calls `out` once per report (or once per failed file). */
export async function dmarcParse(files: string[], out: (line: string) => void): Promise<void> {
  for (const file of files) {
    try {
      const bytes = await readFile(file);
      const { reports } = await parseDmarcInput(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
        filename: file,
      });
      for (const r of reports) out(JSON.stringify(reportJson(file, r)));
    } catch (error) {
      const code = error instanceof DmarcParseError ? error.code : ((error as { code?: unknown }).code ?? "unreadable");
      out(JSON.stringify({ file, error: error instanceof Error ? error.message : String(error), code }));
    }
  }
}

// Also runnable on its own: `tsx scripts/cli/dmarc-parse.ts FILE…`.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: dmarc-parse FILE… (.xml, .xml.gz, .zip or .eml)");
    process.exit(2);
  }
  await dmarcParse(files, (line) => console.log(line));
}
