export * from "./alerts";
export * from "./bounces";
export * from "./commerce";
export * from "./dmarc";
export * from "./inbound";
export * from "./mail";
export * from "./mta-log";
export * from "./operations";
