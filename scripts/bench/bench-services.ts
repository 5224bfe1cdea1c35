import { getService } from "../../domain/catalog/services";

/**
 * The services the commerce scenarios buy, by slug; everything else about them (price,
 * interval, methods) is read from the catalog, never written here.
 */
export const ONE_TIME_SLUG = "boc-3";
export const RECURRING_SLUG = "oig-sam-screening";

/** Fails early, with the reason, when the catalog no longer fits what the scenarios assume. */
export function assertBenchServices(): void {
  const once = getService(ONE_TIME_SLUG);
  const recurring = getService(RECURRING_SLUG);
  if (!once || once.billingInterval !== "none" || !once.allowedMethods.includes("card")) {
    throw new Error(`the catalog's ${ONE_TIME_SLUG} is no longer a one-time service payable by card: pick another`);
  }
  if (!recurring || recurring.billingInterval === "none" || !recurring.allowedMethods.includes("card")) {
    throw new Error(`the catalog's ${RECURRING_SLUG} is no longer a recurring service payable by card: pick another`);
  }
}
