import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { classifyBounce, type BounceClassification } from "../../domain/bounces/classify-bounce";
import { bounceClassify } from "../../scripts/cli/bounce-classify";

// The Sisimai "set-of-emails" corpus (shared/corpora/bounces, see its README files):
// expected.tsv holds Sisimai 5.2's reading of every recipient of every bounce. The classifier
// must agree on the reason for at least 90% of the recipients and on the hard-bounce flag for
// at least 97%. Sisimai later merged speeding with toomanyconn and mesgtoobig with exceedlimit
// (REASONS.tsv), so those pairs count as the same reason. Recipients are matched by position.

const CORPUS = join(import.meta.dirname, "../../../shared/corpora/bounces");

interface ExpectedRow {
  file: string;
  index: number;
  reason: string;
  status: string;
  hard: boolean;
}

const EXPECTED: ExpectedRow[] = readFileSync(join(CORPUS, "expected.tsv"), "utf8")
  .split("\n")
  .slice(1)
  .filter((l) => l.trim())
  .map((l) => {
    const [file = "", index = "", , reason = "", status = "", , hard = ""] = l.split("\t");
    return { file, index: Number(index), reason, status, hard: hard === "true" };
  });

const NOT_BOUNCES: string[] = readFileSync(join(CORPUS, "expected_not_bounce.tsv"), "utf8")
  .split("\n")
  .slice(1)
  .filter((l) => l.trim())
  .map((l) => l.split("\t")[0]!);

const MERGED: Record<string, string> = { speeding: "toomanyconn", mesgtoobig: "exceedlimit" };
const sameReason = (a: string, b: string) => (MERGED[a] ?? a) === (MERGED[b] ?? b);

async function classifyFile(file: string): Promise<BounceClassification> {
  return classifyBounce(new Uint8Array(readFileSync(join(CORPUS, file))));
}

describe("bounce classifier on the Sisimai corpus", () => {
  it("agrees with Sisimai 5.2 on >= 90% of reasons and >= 97% of hard-bounce flags", async () => {
    const results = new Map<string, BounceClassification>();
    for (const file of new Set(EXPECTED.map((r) => r.file))) results.set(file, await classifyFile(file));

    let reasonAgree = 0;
    let hardAgree = 0;
    const disagreements: string[] = [];
    for (const row of EXPECTED) {
      const result = results.get(row.file)!;
      const got = result.recipients[row.index - 1];
      const reasonOk = !!got && sameReason(got.reason, row.reason);
      const hardOk = (got?.hardBounce ?? false) === row.hard;
      if (reasonOk) reasonAgree++;
      if (hardOk) hardAgree++;
      if (!reasonOk || !hardOk) {
        disagreements.push(
          `${row.file}#${row.index}: expected ${row.reason} ${row.status || "-"} hard=${row.hard}; ` +
            (got
              ? `got ${got.reason} ${got.status ?? "-"} hard=${got.hardBounce} (${result.kind}) ${(got.diagnostic ?? "").slice(0, 100)}`
              : `got no recipient #${row.index} (${result.kind}, ${result.recipients.length} recipients)`),
        );
      }
    }
    const reasonRate = reasonAgree / EXPECTED.length;
    const hardRate = hardAgree / EXPECTED.length;
    console.log(
      `bounce corpus: ${EXPECTED.length} recipients in ${results.size} files; ` +
        `reason agreement ${(reasonRate * 100).toFixed(2)}%, hard-bounce agreement ${(hardRate * 100).toFixed(2)}%\n` +
        `disagreements (${disagreements.length}):\n  ${disagreements.join("\n  ")}`,
    );
    expect(reasonRate).toBeGreaterThanOrEqual(0.9);
    expect(hardRate).toBeGreaterThanOrEqual(0.97);
  });

  it("reads a person's message as no bounce", async () => {
    const result = await classifyFile("maildir/not/is-not-bounce-01.eml");
    expect(result).toEqual({ kind: "not_bounce", recipients: [] });
    // The other "not a bounce" file is a real mailbox-full notice that Sisimai 5.2 misses
    // (rb-sisimai issue 368); reading it as a bounce is the better answer, so it is only shown.
    for (const file of NOT_BOUNCES.filter((f) => !f.endsWith("is-not-bounce-01.eml"))) {
      const other = await classifyFile(file);
      console.log(`${file}: ${other.kind} ${other.recipients.map((r) => `${r.recipient} ${r.reason}`).join(", ")}`);
    }
  });

  it("reads the same message alike whatever its line endings (bsd LF, dos CRLF, mac CR)", async () => {
    for (const name of [
      "lhost-qmail-01.eml",
      "lhost-exim-01.eml",
      "arf-01.eml",
      "rfc3834-01.eml",
      "lhost-postfix-01.eml",
    ]) {
      const [lf, crlf, cr] = await Promise.all(["bsd", "dos", "mac"].map((d) => classifyFile(`maildir/${d}/${name}`)));
      expect(crlf, name).toEqual(lf);
      expect(cr, name).toEqual(lf);
    }
  });

  it("names the returned message and its X-Docket headers", async () => {
    const result = await classifyFile("maildir/bsd/lhost-sendmail-01.eml");
    expect(result.kind).toBe("bounce");
    expect(result.originalMessageId).toMatch(/^<.+@.+>$/);
    expect(result.originalHeaders?.["message-id"]).toBe(result.originalMessageId);

    const raw = [
      "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)",
      "To: bounces@send.docket.test",
      "Subject: Undelivered Mail Returned to Sender",
      "MIME-Version: 1.0",
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
      "",
      "--b",
      "Content-Type: text/plain",
      "",
      "<gone@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1 <gone@example.org>:",
      "    Recipient address rejected: User unknown (in reply to RCPT TO command)",
      "--b",
      "Content-Type: message/delivery-status",
      "",
      "Reporting-MTA: dns; mx.example.net",
      "Original-Envelope-Id: send-42",
      "",
      "Final-Recipient: rfc822; gone@example.org",
      "Action: failed",
      "Status: 5.1.1",
      "Diagnostic-Code: smtp; 550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown",
      "--b",
      "Content-Type: text/rfc822-headers",
      "",
      "Return-Path: <bounces@send.docket.test>",
      "Message-ID: <send-42@send.docket.test>",
      "X-Docket-Send-Id: send-42",
      "From: Docket <noreply@send.docket.test>",
      "To: gone@example.org",
      "Subject: Your filing",
      "--b--",
      "",
    ].join("\r\n");
    const dsn = await classifyBounce(raw);
    expect(dsn.kind).toBe("bounce");
    expect(dsn.recipients).toMatchObject([
      { recipient: "gone@example.org", reason: "userunknown", status: "5.1.1", replyCode: 550, hardBounce: true },
    ]);
    expect(dsn.originalMessageId).toBe("<send-42@send.docket.test>");
    expect(dsn.originalHeaders).toMatchObject({
      "x-docket-send-id": "send-42",
      "return-path": "<bounces@send.docket.test>",
      "original-envelope-id": "send-42",
    });
  });
});

describe("docket bounce-classify", () => {
  it("prints one tab-separated line per recipient, index 0 and reason none for no bounce", async () => {
    const lines: string[] = [];
    await bounceClassify(
      [
        join(CORPUS, "maildir/bsd/lhost-qmail-17.eml"),
        join(CORPUS, "maildir/not/is-not-bounce-01.eml"),
        join(CORPUS, "maildir/bsd/arf-19.eml"),
      ],
      (line) => lines.push(line),
    );
    expect(lines).toEqual([
      `${join(CORPUS, "maildir/bsd/lhost-qmail-17.eml")}\t1\tuserunknown\t5.1.1\ttrue`,
      `${join(CORPUS, "maildir/bsd/lhost-qmail-17.eml")}\t2\tmailboxfull\t5.2.2\tfalse`,
      `${join(CORPUS, "maildir/not/is-not-bounce-01.eml")}\t0\tnone\t\tfalse`,
      `${join(CORPUS, "maildir/bsd/arf-19.eml")}\t1\tfeedback\t\tfalse`,
    ]);
  });

  it("reports an unreadable file and goes on", async () => {
    const lines: string[] = [];
    await bounceClassify(["/nonexistent/x.eml", join(CORPUS, "maildir/bsd/lhost-qmail-01.eml")], (l) => lines.push(l));
    expect(lines[0]).toBe("/nonexistent/x.eml\t0\terror\tENOENT\tfalse");
    expect(lines[1]).toMatch(/\t1\tuserunknown\t5\.5\.0\ttrue$/);
  });
});
