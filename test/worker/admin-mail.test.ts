import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { inject } from "vitest";
import { testEnv } from "../support/db";

const send = (body: unknown) =>
  exports.default.fetch(
    new Request("http://docket.test/admin/mail/test", {
      method: "POST",
      headers: { authorization: `Bearer ${testEnv.ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );

describe("POST /admin/mail/test", () => {
  it("sends through the configured relay and answers with the SMTP outcome", async () => {
    const res = await send({ to: "operator@carrier.test", subject: "relay check 42" });
    expect(res.status).toBe(200);
    const outcome = (await res.json()) as { status: string; code: number; messageId: string; stage: string };
    expect(outcome).toMatchObject({ status: "accepted", code: 250, stage: "done" });
    expect(outcome.messageId).toMatch(/@send\.docket\.test>$/);

    const { httpPort } = inject("smtp");
    const listed = (await (await fetch(`http://127.0.0.1:${httpPort}/messages`)).json()) as {
      subject: string;
      envelope: { to: string[] };
    }[];
    expect(listed.find((m) => m.subject === "relay check 42")?.envelope.to).toEqual(["operator@carrier.test"]);
  });

  it("answers 502 with the refusal when the relay rejects the recipient", async () => {
    const res = await send({ to: "reject-me@carrier.test" });
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ status: "rejected", code: 550, enhancedCode: "5.1.1", stage: "rcpt" });
  });
});
