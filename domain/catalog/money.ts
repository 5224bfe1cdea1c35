/**
 * Money helpers for the catalog: integer cents only, and one explicit rounding rule.
 *
 * Every fractional amount (a percent discount, a surcharge) is rounded half-up to the cent:
 * 0.5 cent and above goes up, below goes down. Amounts are never negative here, so "half-up"
 * and "half away from zero" agree. The arithmetic runs in BigInt so no product of cents and
 * basis points can lose precision, however large the order.
 */

/** Basis points in one whole (100% = 10,000 bps). */
export const BPS_PER_WHOLE = 10_000;

/** round_half_up(amount × numerator / denominator) for non-negative integers. */
export function mulDivHalfUp(amount: number, numerator: number, denominator: number): number {
  assertCents(amount, "amount");
  if (!Number.isSafeInteger(numerator) || numerator < 0)
    throw new RangeError(`numerator must be a non-negative integer, got ${numerator}`);
  if (!Number.isSafeInteger(denominator) || denominator <= 0)
    throw new RangeError(`denominator must be a positive integer, got ${denominator}`);
  const product = BigInt(amount) * BigInt(numerator);
  const d = BigInt(denominator);
  // floor((2·p + d) / 2d) = floor(p/d + 1/2): half-up.
  return Number((2n * product + d) / (2n * d));
}

/** Half-up share of an amount at a rate in basis points (300 bps of 7,900 ¢ = 237 ¢). */
export function applyBps(amountCents: number, bps: number): number {
  return mulDivHalfUp(amountCents, bps, BPS_PER_WHOLE);
}

export function assertCents(value: number, what = "cents"): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${what} must be a non-negative integer number of cents, got ${value}`);
}

/** "$1,163" for whole dollars, "$2.37" otherwise; for display, never for arithmetic. */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  const dollars = String(Math.trunc(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const rest = abs % 100;
  return `${sign}$${dollars}${rest === 0 ? "" : `.${String(rest).padStart(2, "0")}`}`;
}
