import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

/**
 * `npm ci` refuses a lockfile that names an optional dependency without an entry for it. The
 * registry mirror these machines use lacks some platform builds (workerd for macOS and
 * Windows), so a plain `npm install` here drops their entries and breaks `npm ci` for everyone:
 * this test catches it before CI does (docs/decisions/0004-lockfile-platform-entries.md).
 */
describe("package-lock.json", () => {
  it("has an entry for every optional dependency it names, so npm ci accepts it", () => {
    const lock = JSON.parse(readFileSync(new URL("../../package-lock.json", import.meta.url), "utf8")) as {
      packages: Record<string, { optionalDependencies?: Record<string, string> }>;
    };
    const missing: string[] = [];
    for (const [path, pkg] of Object.entries(lock.packages)) {
      for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
        const nested = `${path ? `${path}/` : ""}node_modules/${dep}`;
        if (!lock.packages[nested] && !lock.packages[`node_modules/${dep}`])
          missing.push(`${path || "(root)"} → ${dep}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
