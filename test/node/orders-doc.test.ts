import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ORDERS_DOC, withGeneratedBlock } from "../../scripts/docs/order-state-diagram";

describe("docs/orders.md", () => {
  it("holds the state diagram and table generated from the transition table (npm run docs:orders)", () => {
    const doc = readFileSync(ORDERS_DOC, "utf8");
    expect(doc).toBe(withGeneratedBlock(doc));
  });
});
