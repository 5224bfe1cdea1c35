// DMARC aggregate parsing: records per second on the largest report in the corpus (2,286 records),
// through parseDmarcInput exactly as the inbound queue calls it, against two floors measured in
// the same run on the same bytes:
// - htmlparser2 tokenising alone (xmlMode, the options our parser uses, no-op callbacks): what
//   any streaming parser on this library pays before building anything;
// - decoding the bytes and finding each <record> with a regex: the cost of touching the text.
// Reference for the ratios: the tokeniser. `tsx scripts/bench/dmarc-parse.bench.ts [passes]`
// runs it alone.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Parser } from "htmlparser2";
import { parseDmarcInput } from "../../domain/dmarc/parse-aggregate-report";
import { rowsFrom, runAlone, timeInterleaved, type InProcessBenchmark } from "./passes";

const root = fileURLToPath(new URL("../..", import.meta.url));
/** The corpus sits beside the repository (../shared), as in CI; DOCKET_CORPORA overrides. */
export const CORPORA = process.env.DOCKET_CORPORA ?? resolve(root, "../shared/corpora");
export const LARGE_REPORT = resolve(CORPORA, "dmarc/!large-example.com!1711897200!1711983600.xml");

const TOKENISE = "htmlparser2-tokenise";

export const dmarcParseBench: InProcessBenchmark = {
  name: "dmarc-parse",
  description: "parseDmarcInput on the 2,286-record aggregate report, records/s",
  async run({ log, passes = 20 }) {
    const bytes = new Uint8Array(await readFile(LARGE_REPORT));
    const first = await parseDmarcInput(bytes, { filename: LARGE_REPORT });
    const records = first.reports.reduce((n, r) => n + r.records.length, 0);
    const warmup = Math.max(3, Math.ceil(passes / 4));
    log(
      `dmarc-parse: ${(bytes.byteLength / 1024).toFixed(0)} KiB, ${records} records; ${warmup} warm-up + ${passes} passes, the three taking turns`,
    );

    const [ours, tokenise, scan] = await timeInterleaved(
      [
        async () => {
          const { reports } = await parseDmarcInput(bytes, { filename: LARGE_REPORT });
          if (reports[0]!.records.length !== records) throw new Error("parseDmarcInput gave a different answer");
        },
        () => {
          let tags = 0;
          const parser = new Parser(
            { onopentag: () => void tags++, ontext: () => {}, onclosetag: () => {} },
            { xmlMode: true, decodeEntities: true, recognizeCDATA: true },
          );
          parser.write(new TextDecoder("utf-8").decode(bytes));
          parser.end();
          if (tags === 0) throw new Error("the tokeniser saw no tags");
        },
        () => {
          const found = new TextDecoder("utf-8").decode(bytes).match(/<record>/g)?.length ?? 0;
          if (found !== records) throw new Error(`the regex found ${found} records, not ${records}`);
        },
      ],
      passes,
      warmup,
    );

    const unit = "records";
    return {
      name: "dmarc-parse",
      reference: TOKENISE,
      rows: rowsFrom(
        [
          {
            name: "parseDmarcInput",
            description: "our parser: decode, tokenise, build and validate each record",
            unit,
            items: records,
            passesMs: ours!,
          },
          {
            name: TOKENISE,
            description: "htmlparser2 in xmlMode with no-op callbacks on the decoded text",
            unit,
            items: records,
            passesMs: tokenise!,
          },
          {
            name: "decode+regex",
            description: "TextDecoder plus one regex over the text",
            unit,
            items: records,
            passesMs: scan!,
          },
        ],
        TOKENISE,
      ),
      notes: [`input: ${LARGE_REPORT} (${bytes.byteLength.toLocaleString("en-US")} bytes)`],
    };
  },
};

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href)
  await runAlone(dmarcParseBench);
