/**
 * How a bounce finds the send it belongs to. Each send we record carries its id twice:
 * - in the envelope sender (RFC 5321 4.4 Return-Path), VERP style: `bounce+<id>@<sending
 *   domain>`, so a DSN addressed back to it names the send even when it quotes nothing of the
 *   original (RFC 3464 does not require the original to be returned);
 * - in an `X-Docket-Send` header, which returned originals and ARF reports usually include.
 * The id is a number, not the recipient's address, so no address leaks into the return path.
 */

export const SEND_ID_HEADER = "X-Docket-Send";

export function formatReturnPath(sendId: number, sendingDomain: string): string {
  return `bounce+${sendId}@${sendingDomain}`;
}

/** The send id in a VERP return path of ours, or undefined. */
export function sendIdFromReturnPath(address: string | undefined | null, sendingDomain: string): number | undefined {
  if (!address) return undefined;
  const m = /^<?bounce\+(\d{1,15})@([^>\s]+)>?$/i.exec(address.trim());
  if (!m?.[1] || m[2]?.toLowerCase() !== sendingDomain.toLowerCase()) return undefined;
  return Number(m[1]);
}

export function sendIdFromHeader(value: string | undefined | null): number | undefined {
  const m = value ? /^\s*(\d{1,15})\s*$/.exec(value) : null;
  return m?.[1] ? Number(m[1]) : undefined;
}
