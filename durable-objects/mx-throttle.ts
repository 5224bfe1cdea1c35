import { DurableObject } from "cloudflare:workers";
import type { Env } from "../workers/env";
import { storagePing, type PingResult } from "./storage-ping";

/**
 * One instance per receiving mail operator (google, microsoft, …): the send throttle the
 * campaign consumer asks for grants (DESIGN.md, "Outreach"). SQLite-backed; native RPC.
 */
export class MxThrottle extends DurableObject<Env> {
  async ping(): Promise<PingResult> {
    return storagePing(this.ctx, "MxThrottle");
  }
}
