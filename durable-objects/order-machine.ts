import { DurableObject } from "cloudflare:workers";
import type { Env } from "../workers/env";
import { storagePing, type PingResult } from "./storage-ping";

/**
 * One instance per order, the only writer of that order's state (DESIGN.md, "The order
 * machine"). SQLite-backed (`new_sqlite_classes`); native RPC methods on the prototype.
 */
export class OrderMachine extends DurableObject<Env> {
  async ping(): Promise<PingResult> {
    return storagePing(this.ctx, "OrderMachine");
  }
}
