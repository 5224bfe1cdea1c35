/**
 * The catalog: what Docket sells, its prices, intake, gates and government fees. Pure data and
 * functions; adapters import from here and never write a price or an interval themselves.
 */
export * from "./service-definition";
export * from "./payment-methods";
export * from "./money";
export * from "./intake-fields";
export * from "./intake";
export * from "./government-fee-schedules";
export * from "./government-fees";
export * from "./services";
export * from "./pricing";
export * from "./next-due";
export * from "./validate-catalog";
