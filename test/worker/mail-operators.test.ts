import { describe, expect, it } from "vitest";
import {
  BIG_OPERATORS,
  CONSUMER_ISP_OPERATORS,
  ENTERPRISE_FILTER_OPERATORS,
  MAILBOX_PROVIDER_OPERATORS,
  isBigOperator,
  isNamedOperator,
  operatorForHost,
  operatorForMx,
  parseMxData,
  registrableDomain,
} from "../../domain/mail/mail-operators";

describe("operatorForHost", () => {
  it.each([
    // Google: Gmail, Google Workspace (old and new MX), legacy googlemail
    ["gmail-smtp-in.l.google.com", "google"],
    ["alt4.gmail-smtp-in.l.google.com", "google"],
    ["aspmx.l.google.com", "google"],
    ["ALT1.ASPMX.L.GOOGLE.COM.", "google"],
    ["aspmx2.googlemail.com", "google"],
    ["smtp.google.com", "google"],
    // Microsoft: Exchange Online tenants, Outlook.com consumer domains
    ["fleettwo-com.mail.protection.outlook.com", "microsoft"],
    ["hotmail-com.olc.protection.outlook.com", "microsoft"],
    ["eur.olc.protection.outlook.com", "microsoft"],
    // Yahoo, including Yahoo Small Business, AOL and AT&T's consumer domains
    ["mta5.am0.yahoodns.net", "yahoo"],
    ["mx-biz.mail.am0.yahoodns.net", "yahoo"],
    ["mx-aol.mail.gm0.yahoodns.net", "yahoo"],
    ["mx-att.mail.am0.yahoodns.net", "yahoo"],
    ["mx01.mail.icloud.com", "apple"],
    // filtering gateways
    ["mx0a-00123456.pphosted.com", "proofpoint"],
    ["mx1-us1.ppe-hosted.com", "proofpoint"],
    ["us-smtp-inbound-1.mimecast.com", "mimecast"],
    ["d123456a.ess.barracudanetworks.com", "barracuda"],
    ["mx1.hc1234-56.iphmx.com", "cisco"],
    ["cluster1.us.messagelabs.com", "symantec"],
    // consumer ISPs
    ["mx1a1.comcast.net", "comcast"],
    ["cxr.mx.a.cloudfilter.net", "cox"],
    ["ff-ip4-mx-vip1.prodigy.net", "att"],
    ["mx01.earthlink-vadesecure.net", "earthlink"],
    ["mx.windstream.net", "windstream"],
    ["mx.tds.net", "tds"],
    ["mx.centurylink.net", "centurylink"],
    // other mailbox providers and hosts
    ["mx.zoho.com", "zoho"],
    ["in1-smtp.messagingengine.com", "fastmail"],
    ["mx00.gmx.net", "gmx"],
    ["mx01.mail.com", "gmx"],
    ["mx.yandex.ru", "yandex"],
    ["mxs.mail.ru", "mailru"],
    ["smtp.secureserver.net", "godaddy"],
    ["mx1.emailsrvr.com", "rackspace"],
    // everyone else: mx:<registrable domain>
    ["mx1.securemx.jp", "mx:securemx.jp"],
    ["mail.haulage-example.co.uk", "mx:haulage-example.co.uk"],
    ["mx2.freight-example.com.au", "mx:freight-example.com.au"],
    ["mx.carrier-example.com", "mx:carrier-example.com"],
    ["other.mx.a.cloudfilter.net", "mx:cloudfilter.net"],
    ["mx1.mail.yahoo.co.jp", "mx:yahoo.co.jp"],
    // suffixes match on label boundaries only
    ["mail.notgoogle.com", "mx:notgoogle.com"],
    ["google.com.evil.example", "mx:evil.example"],
  ])("%s → %s", (host, operator) => {
    expect(operatorForHost(host)).toBe(operator);
  });

  it.each([
    "",
    ".",
    "none",
    "local",
    "localhost",
    "192.0.2.10",
    "[192.0.2.10]",
    "2001:db8::1",
    "not a host",
    "private/dovecot-lmtp",
  ])("%j is not a host name", (host) => {
    expect(operatorForHost(host)).toBeNull();
  });
});

describe("operatorForMx", () => {
  it("takes the most preferred host", () => {
    expect(
      operatorForMx([
        { preference: 10, exchange: "alt1.aspmx.l.google.com." },
        { preference: 1, exchange: "aspmx.l.google.com." },
        { preference: 20, exchange: "backup.carrier-example.com." },
      ]),
    ).toBe("google");
    expect(
      operatorForMx([
        { preference: 20, exchange: "aspmx.l.google.com." },
        { preference: 10, exchange: "carrier-example-com.mail.protection.outlook.com." },
      ]),
    ).toBe("microsoft");
    // A filtering gateway in front of the mailbox host decides, because mail goes to it first.
    expect(
      operatorForMx([
        { preference: 10, exchange: "mx0a-00123456.pphosted.com." },
        { preference: 20, exchange: "carrier-example-com.mail.protection.outlook.com." },
      ]),
    ).toBe("proofpoint");
  });

  it("falls back across hosts when the preferred one is unusable", () => {
    expect(
      operatorForMx([
        { preference: 0, exchange: "192.0.2.10" },
        { preference: 10, exchange: "mx-biz.mail.am0.yahoodns.net." },
      ]),
    ).toBe("yahoo");
    expect(operatorForMx([{ preference: 5, exchange: "mx1.securemx.jp." }])).toBe("mx:securemx.jp");
  });

  it("prefers a named operator among hosts of equal preference, whatever the record order", () => {
    const records = [
      { preference: 10, exchange: "mx.carrier-example.com." },
      { preference: 10, exchange: "mx01.mail.icloud.com." },
    ];
    expect(operatorForMx(records)).toBe("apple");
    expect(operatorForMx([...records].reverse())).toBe("apple");
  });

  it("is null for a null MX (RFC 7505) or no records", () => {
    expect(operatorForMx([{ preference: 0, exchange: "." }])).toBeNull();
    expect(operatorForMx([])).toBeNull();
  });

  it("reads DNS-over-HTTPS MX answers", () => {
    expect(parseMxData("10 aspmx.l.google.com.")).toEqual({ preference: 10, exchange: "aspmx.l.google.com." });
    expect(parseMxData("0 .")).toEqual({ preference: 0, exchange: "." });
    expect(parseMxData("aspmx.l.google.com.")).toBeNull();
    expect(parseMxData("70000 mx.example.com.")).toBeNull();
    const answers = ["5 gmail-smtp-in.l.google.com.", "40 alt4.gmail-smtp-in.l.google.com."].map(parseMxData);
    expect(operatorForMx(answers.filter((a) => a !== null))).toBe("google");
  });
});

describe("big operators", () => {
  it("holds out the mailbox providers and the consumer ISPs, as data", () => {
    expect(BIG_OPERATORS).toEqual([...MAILBOX_PROVIDER_OPERATORS, ...CONSUMER_ISP_OPERATORS]);
    for (const operator of [
      "google",
      "microsoft",
      "yahoo",
      "apple",
      "comcast",
      "charter",
      "cox",
      "centurylink",
      "att",
      "verizon",
      "earthlink",
      "windstream",
      "tds",
    ]) {
      expect(isBigOperator(operator), operator).toBe(true);
    }
    expect(isBigOperator("proofpoint")).toBe(false);
    expect(isBigOperator("mx:securemx.jp")).toBe(false);
  });

  it("labels the custom domains the old system let slip (yahoodns.net, icloud) as big operators", () => {
    expect(isBigOperator(operatorForHost("mx-biz.mail.am0.yahoodns.net")!)).toBe(true);
    expect(isBigOperator(operatorForHost("mx02.mail.icloud.com")!)).toBe(true);
  });

  it("only lists operators that have MX suffixes", () => {
    for (const operator of [...BIG_OPERATORS, ...ENTERPRISE_FILTER_OPERATORS])
      expect(isNamedOperator(operator), operator).toBe(true);
    expect(isNamedOperator("mx:securemx.jp")).toBe(false);
    expect(isNamedOperator("toString")).toBe(false);
  });
});

describe("registrableDomain", () => {
  it.each([
    ["mx1.securemx.jp", "securemx.jp"],
    ["mail.example.co.jp", "example.co.jp"],
    ["a.b.example.org.uk", "example.org.uk"],
    ["mx.example.com.br", "example.com.br"],
    ["mx.example.de", "example.de"],
    ["example.com", "example.com"],
    ["MX.Example.COM.", "example.com"],
  ])("%s → %s", (host, domain) => {
    expect(registrableDomain(host)).toBe(domain);
  });
});
