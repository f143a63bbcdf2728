/**
 * The sealer's fingerprint as a person types it after hearing it read out:
 * 64 hex digits in any case, with the spaces, colons or dashes used to group
 * them. Trust in the page comes only from this: the bundle's own sealer key is
 * trusted when its fingerprint equals what was typed.
 *
 * Threat guarded against: a short key id (16 hex digits) or a prefix taken for
 * a trust anchor. A key id is only 64 bits: a forger can make a key that
 * shares it. It names a key; it never makes one trusted (DESIGN §2).
 */

export type FingerprintInput =
  | { ok: true; fingerprint: string }
  | { ok: false; empty: boolean; message: string; hint?: string };

export function parseFingerprintInput(text: string): FingerprintInput {
  const compact = text.replace(/[\s:\-]/g, '').toLowerCase();
  if (compact === '') return { ok: false, empty: true, message: 'no fingerprint given' };
  if (!/^[0-9a-f]+$/.test(compact)) {
    return { ok: false, empty: false, message: 'a fingerprint holds only hex digits (0-9, a-f), with spaces, colons or dashes between groups' };
  }
  if (compact.length === 16) {
    return {
      ok: false,
      empty: false,
      message: 'these 16 digits are a key id: it names a key but cannot make it trusted',
      hint: "ask the sealer for the full fingerprint (64 hex digits); custody prints it with 'custody key show'",
    };
  }
  if (compact.length !== 64) {
    return { ok: false, empty: false, message: `a fingerprint has 64 hex digits; this has ${compact.length}`, hint: 'check for a missing or doubled group' };
  }
  return { ok: true, fingerprint: compact };
}
