import type { AppConfig } from "../domain/config/app-config";
import type { Env } from "./env";

/** Hono's typing for the app: bindings plus what middleware puts on the context. */
export type AppEnv = {
  Bindings: Env;
  Variables: { requestId: string; config: AppConfig };
};
