import { constantTimeEqual, fromBase64Url, toBase64Url, utf8 } from "./bytes";

/**
 * Admin passwords: PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) through Web Crypto, so the Worker checks
 * and Node (`npm start`'s development admin) creates hashes with this one module.
 *
 * Stored as `pbkdf2-sha256$<iterations>$<salt>$<hash>` (salt and hash in unpadded base64url):
 * self-describing, so the iteration count can change without a migration. A hash made with
 * another count still verifies, and `needsRehash` says to store a fresh one at the next login.
 *
 * The iteration count. OWASP's Password Storage Cheat Sheet asks 600,000 for PBKDF2-HMAC-SHA256.
 * Cloudflare's runtime refuses any single PBKDF2 call above 100,000 iterations in production
 * ("NotSupportedError: Pbkdf2 failed: iteration counts above 100000 are not supported"), while
 * local workerd and Node accept more: a higher count would pass every test and then fail every
 * login once deployed. So 100,000, the most one call may do, and `parsePasswordHash` refuses
 * anything above it. Measured in workerd on the development machines: 13–22 ms of CPU per
 * derivation, well inside a paid Worker's CPU budget (and login is rare); on the free plan's
 * 10 ms it would not fit at all. The gap to OWASP's figure is covered by what surrounds it:
 * admin accounts only, a per-address attempt limit (workers/routes/admin-api.ts), and long
 * generated passwords for the development admin. Chaining six 100,000-round derivations would
 * reach OWASP's work factor but is not PBKDF2 as specified; if the runtime's cap is lifted,
 * raising PBKDF2_ITERATIONS is enough and existing hashes upgrade at their next login.
 *
 * Salt: 16 random bytes per password (RFC 8018 §4.1 asks at least 64 bits; NIST SP 800-132,
 * 128). Output: 32 bytes, SHA-256's size (more would only cost the defender).
 */

export const PBKDF2_ITERATIONS = 100_000;
/** Cloudflare Workers' ceiling for one PBKDF2 call (see above). */
export const WORKERS_PBKDF2_MAX_ITERATIONS = 100_000;
const SCHEME = "pbkdf2-sha256";
const SALT_BYTES = 16;
const HASH_BYTES = 32;

export interface ParsedPasswordHash {
  iterations: number;
  salt: Uint8Array<ArrayBuffer>;
  hash: Uint8Array<ArrayBuffer>;
}

export class PasswordHashFormatError extends Error {
  constructor(reason: string) {
    super(`not a usable password hash: ${reason}`);
    this.name = "PasswordHashFormatError";
  }
}

/**
 * NIST SP 800-63B §5.1.1.2: normalise Unicode (NFKC) before hashing, so the same password typed
 * on two keyboards (composed or decomposed accents) is the same password.
 */
function passwordBytes(password: string): Uint8Array<ArrayBuffer> {
  return utf8(password.normalize("NFKC"));
}

async function derive(
  password: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey("raw", passwordBytes(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    HASH_BYTES * 8,
  );
  return new Uint8Array(bits);
}

export function formatPasswordHash(parsed: ParsedPasswordHash): string {
  return `${SCHEME}$${parsed.iterations}$${toBase64Url(parsed.salt)}$${toBase64Url(parsed.hash)}`;
}

/** Reads a stored hash; PasswordHashFormatError when it is not one this module can check. */
export function parsePasswordHash(encoded: string): ParsedPasswordHash {
  const parts = encoded.split("$");
  if (parts.length !== 4 || parts[0] !== SCHEME)
    throw new PasswordHashFormatError(`expected ${SCHEME}$<iterations>$<salt>$<hash>`);
  const [, iterationsText, saltText, hashText] = parts as [string, string, string, string];
  if (!/^[1-9]\d{0,8}$/.test(iterationsText)) throw new PasswordHashFormatError("iterations is not a positive integer");
  const iterations = Number(iterationsText);
  if (iterations > WORKERS_PBKDF2_MAX_ITERATIONS) {
    throw new PasswordHashFormatError(
      `${iterations} iterations exceed what Workers allow per call (${WORKERS_PBKDF2_MAX_ITERATIONS})`,
    );
  }
  const salt = fromBase64Url(saltText);
  const hash = fromBase64Url(hashText);
  if (salt === null || salt.byteLength < 8)
    throw new PasswordHashFormatError("the salt is not base64url of at least 8 bytes");
  if (hash === null || hash.byteLength !== HASH_BYTES)
    throw new PasswordHashFormatError(`the hash is not base64url of ${HASH_BYTES} bytes`);
  return { iterations, salt, hash };
}

/** A new hash of `password` with a fresh random salt. */
export async function hashPassword(password: string, iterations: number = PBKDF2_ITERATIONS): Promise<string> {
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > WORKERS_PBKDF2_MAX_ITERATIONS) {
    throw new RangeError(`iterations must be 1…${WORKERS_PBKDF2_MAX_ITERATIONS}`);
  }
  const salt = new Uint8Array(SALT_BYTES);
  crypto.getRandomValues(salt);
  return formatPasswordHash({ iterations, salt, hash: await derive(password, salt, iterations) });
}

/** True when `encoded` was made with other parameters than a new hash would be. */
export function needsRehash(encoded: string, iterations: number = PBKDF2_ITERATIONS): boolean {
  const parsed = parsePasswordHash(encoded);
  return parsed.iterations !== iterations || parsed.salt.byteLength !== SALT_BYTES;
}

export interface PasswordCheck {
  ok: boolean;
  /** The password matched and the stored hash should be replaced by `hashPassword(password)`. */
  needsRehash: boolean;
}

/** Checks `password` against a stored hash; the comparison of the derived keys is constant-time. */
export async function verifyPassword(password: string, encoded: string): Promise<PasswordCheck> {
  const parsed = parsePasswordHash(encoded);
  const ok = constantTimeEqual(await derive(password, parsed.salt, parsed.iterations), parsed.hash);
  return { ok, needsRehash: ok && needsRehash(encoded) };
}

/**
 * A hash no password matches in practice (all-zero salt and key, current iteration count). A
 * login for an unknown address is checked against it, so it costs the same derivation as a
 * wrong password for a real one and the response time does not tell which addresses exist.
 */
export const UNMATCHABLE_PASSWORD_HASH = formatPasswordHash({
  iterations: PBKDF2_ITERATIONS,
  salt: new Uint8Array(SALT_BYTES),
  hash: new Uint8Array(HASH_BYTES),
});
