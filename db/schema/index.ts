export * from "./inbound";
export * from "./operations";
