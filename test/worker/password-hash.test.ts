import { describe, expect, it } from "vitest";
import { toBase64Url, utf8 } from "../../domain/auth/bytes";
import {
  formatPasswordHash,
  hashPassword,
  needsRehash,
  parsePasswordHash,
  PasswordHashFormatError,
  PBKDF2_ITERATIONS,
  UNMATCHABLE_PASSWORD_HASH,
  verifyPassword,
  WORKERS_PBKDF2_MAX_ITERATIONS,
} from "../../domain/auth/password-hash";

const FORMAT = /^pbkdf2-sha256\$(\d+)\$([A-Za-z0-9_-]{22})\$([A-Za-z0-9_-]{43})$/;

const hex = (h: string) => new Uint8Array(h.match(/../g)!.map((b) => parseInt(b, 16)));

describe("password hashing (PBKDF2-SHA256, Web Crypto)", () => {
  it("stores pbkdf2-sha256$<iterations>$<salt>$<hash> with the current count and a fresh salt", async () => {
    const a = await hashPassword("correct horse battery staple");
    const b = await hashPassword("correct horse battery staple");
    expect(a).toMatch(FORMAT);
    expect(FORMAT.exec(a)![1]).toBe(String(PBKDF2_ITERATIONS));
    expect(FORMAT.exec(a)![2]).not.toBe(FORMAT.exec(b)![2]);
    expect(a).not.toBe(b);
  });

  it("derives what RFC 8018's PBKDF2-HMAC-SHA256 derives (published test vector)", async () => {
    // P = "passwordPASSWORDpassword", S = "saltSALTsaltSALTsaltSALTsaltSALTsalt", c = 4096.
    const stored = formatPasswordHash({
      iterations: 4096,
      salt: utf8("saltSALTsaltSALTsaltSALTsaltSALTsalt"),
      hash: hex("348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1"),
    });
    expect(await verifyPassword("passwordPASSWORDpassword", stored)).toEqual({ ok: true, needsRehash: true });
    expect((await verifyPassword("passwordPASSWORDpassworD", stored)).ok).toBe(false);
  });

  it("verifies the right password and refuses a wrong one", async () => {
    const stored = await hashPassword("s3cret-Passw0rd");
    expect(await verifyPassword("s3cret-Passw0rd", stored)).toEqual({ ok: true, needsRehash: false });
    expect(await verifyPassword("s3cret-passw0rd", stored)).toEqual({ ok: false, needsRehash: false });
    expect(await verifyPassword("", stored)).toEqual({ ok: false, needsRehash: false });
  });

  it("treats composed and decomposed Unicode as the same password (NFKC)", async () => {
    const stored = await hashPassword("caf\u00e9-cr\u00e8me");
    expect((await verifyPassword("cafe\u0301-cre\u0300me", stored)).ok).toBe(true);
  });

  it("says when a matching hash was made with another iteration count, and only when it matches", async () => {
    const old = await hashPassword("rotate-me", 1_000);
    expect(needsRehash(old)).toBe(true);
    expect(await verifyPassword("rotate-me", old)).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword("not-it", old)).toEqual({ ok: false, needsRehash: false });
    expect(needsRehash(await hashPassword("rotate-me"))).toBe(false);
    expect(needsRehash(old, 1_000)).toBe(false);
  });

  it("stays within the Workers runtime's per-call PBKDF2 ceiling (production refuses more)", async () => {
    expect(PBKDF2_ITERATIONS).toBeLessThanOrEqual(WORKERS_PBKDF2_MAX_ITERATIONS);
    expect(WORKERS_PBKDF2_MAX_ITERATIONS).toBe(100_000);
    await expect(hashPassword("x", 100_001)).rejects.toThrow(RangeError);
    const tooMany = formatPasswordHash({ iterations: 600_000, salt: new Uint8Array(16), hash: new Uint8Array(32) });
    expect(() => parsePasswordHash(tooMany)).toThrow(/exceed what Workers allow/);
  });

  it("refuses stored values it cannot check", async () => {
    const good = await hashPassword("x");
    const [scheme, iterations, salt, hash] = good.split("$") as [string, string, string, string];
    const bad = [
      "",
      "plaintext",
      `bcrypt$${iterations}$${salt}$${hash}`,
      `${scheme}$0$${salt}$${hash}`,
      `${scheme}$01000$${salt}$${hash}`,
      `${scheme}$-5$${salt}$${hash}`,
      `${scheme}$${iterations}$${salt}`,
      `${scheme}$${iterations}$${salt}$${hash}$extra`,
      `${scheme}$${iterations}$${salt}$${hash.slice(0, -2)}`,
      `${scheme}$${iterations}$AAAA$${hash}`,
      `${scheme}$${iterations}$${salt}$${hash.replace(/.$/, "+")}`,
    ];
    for (const value of bad) {
      expect(() => parsePasswordHash(value), value).toThrow(PasswordHashFormatError);
      await expect(verifyPassword("x", value), value).rejects.toThrow(PasswordHashFormatError);
    }
  });

  it("has an unmatchable hash that costs the same derivation as a real one", async () => {
    const parsed = parsePasswordHash(UNMATCHABLE_PASSWORD_HASH);
    expect(parsed.iterations).toBe(PBKDF2_ITERATIONS);
    expect(parsed.salt.byteLength).toBe(parsePasswordHash(await hashPassword("x")).salt.byteLength);
    expect(toBase64Url(parsed.hash)).toBe("A".repeat(43));
    for (const guess of ["", "password", "admin", "\u0000"]) {
      expect((await verifyPassword(guess, UNMATCHABLE_PASSWORD_HASH)).ok).toBe(false);
    }
  });
});
