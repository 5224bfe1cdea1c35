import { describe, expect, it } from "vitest";
import { testEnv } from "../support/db";

describe("Durable Objects answer typed RPC", () => {
  it("OrderMachine.ping reads its own SQLite storage", async () => {
    const stub = testEnv.ORDER_MACHINE.get(testEnv.ORDER_MACHINE.idFromName("CO-2026-000001"));
    const pong = await stub.ping();
    expect(pong).toMatchObject({ ok: true, object: "OrderMachine" });
    const again = await stub.ping();
    expect(again.pings).toBe(pong.pings + 1);
    expect(pong.id).toBe(testEnv.ORDER_MACHINE.idFromName("CO-2026-000001").toString());
  });

  it("MxThrottle.ping reads its own SQLite storage", async () => {
    const pong = await testEnv.MX_THROTTLE.get(testEnv.MX_THROTTLE.idFromName("google")).ping();
    expect(pong).toMatchObject({ ok: true, object: "MxThrottle" });
  });
});
