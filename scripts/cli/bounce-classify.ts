// `docket bounce-classify FILE…`: classifies raw messages (.eml, RFC 5322) as bounces and
// prints one tab-separated line per recipient: file, recipient index (from 1), reason, RFC 3463
// status, hard bounce (true/false). Complaints and auto-replies print their recipients too
// (reason "feedback" / "vacation"); a file that reports on no recipient prints index 0 and
// reason "none". A file that cannot be read prints reason "error" and the run goes on.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { classifyBounce } from "../../domain/bounces/classify-bounce";

/** Classifies each file in turn and calls `out` once per recipient (or once for a file without any). */
export async function bounceClassify(files: string[], out: (line: string) => void): Promise<void> {
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      const code = (error as { code?: unknown }).code ?? "unreadable";
      out([file, "0", "error", String(code), "false"].join("\t"));
      continue;
    }
    const result = await classifyBounce(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    if (result.recipients.length === 0) {
      out([file, "0", "none", "", "false"].join("\t"));
      continue;
    }
    result.recipients.forEach((r, i) => {
      out([file, String(i + 1), r.reason, r.status ?? "", String(r.hardBounce)].join("\t"));
    });
  }
}

// Also runnable on its own: `tsx scripts/cli/bounce-classify.ts FILE…`.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: bounce-classify FILE… (raw RFC 5322 messages)");
    process.exit(2);
  }
  await bounceClassify(files, (line) => console.log(line));
}
