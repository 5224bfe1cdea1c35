import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createExecutionContext } from "cloudflare:test";
import { createApp } from "../../workers/app";
import { testEnv } from "../support/db";

const call = (path: string, init?: RequestInit) =>
  exports.default.fetch(new Request(`http://docket.test${path}`, init));
const admin = { authorization: `Bearer ${testEnv.ADMIN_TOKEN}` };

describe("bad input at the HTTP edge", () => {
  it("an unknown route is a 404 in JSON", async () => {
    const res = await call("/no/such/route");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: "NOT_FOUND", message: "No route for GET /no/such/route" });
  });

  it("admin routes need the bearer token", async () => {
    const res = await call("/admin/mail/test", { method: "POST" });
    expect(res.status).toBe(401);
    const wrong = await call("/admin/mail/test", { method: "POST", headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
  });

  it("malformed JSON is a 400 that says what was wrong", async () => {
    const res = await call("/admin/mail/test", {
      method: "POST",
      headers: { ...admin, "content-type": "application/json" },
      body: '{"to": "a@b.test",',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe("MALFORMED_JSON");
    expect(body.message).toMatch(/not valid JSON: .+/);
  });

  it("a body that does not fit the schema is a 422 naming the field", async () => {
    const res = await call("/admin/mail/test", {
      method: "POST",
      headers: { ...admin, "content-type": "application/json" },
      body: JSON.stringify({ to: "not-an-address", subject: "hi\r\nBcc: victim@example.com" }),
    });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { details: { path: string }[] };
    expect(body.details.map((d) => d.path).sort()).toEqual(["subject", "to"]);
  });

  it("a body over the limit is a 413", async () => {
    const res = await call("/admin/mail/test", {
      method: "POST",
      headers: { ...admin, "content-type": "application/json" },
      body: JSON.stringify({ to: "a@b.test", pad: "x".repeat(1024 * 1024 + 1) }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: "PAYLOAD_TOO_LARGE" });
  });

  it("the bench's bare route exists only in development", async () => {
    expect((await call("/__bench/bare")).status).toBe(404);
    const dev = { ...testEnv, APP_ENV: "development" } as Cloudflare.Env;
    const res = await createApp().fetch(new Request("http://docket.test/__bench/bare"), dev, createExecutionContext());
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok");
  });

  it("an uncaught error is a 500 with a request id and no stack outside development", async () => {
    // The production app plus one route that fails the way real code fails: an exception
    // nobody caught.
    const app = createApp((a) =>
      a.get("/__test/throws", () => {
        throw new Error("boom: secret internals");
      }),
    );
    const res = await app.fetch(new Request("http://docket.test/__test/throws"), testEnv, createExecutionContext());
    expect(res.status).toBe(500);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.error).toBe("INTERNAL");
    expect(body.requestId).toBe(res.headers.get("x-request-id"));
    expect(JSON.stringify(body)).not.toMatch(/boom|stack|at /);
  });
});
