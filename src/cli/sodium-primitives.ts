/**
 * libsodium (sodium-native) for the small, hot primitives of the verification
 * core in `custody log --case`: SHA-256 of small things (core/digest.ts) and
 * the quick "yes" of Ed25519 verification (custody/ed25519.ts setQuickAccept)
 * — what cli/openssl.ts installs from OpenSSL for every other command. The
 * log-case bundle's main installs these (scripts/build-cli.mjs); the verifier
 * page installs none.
 *
 * Why: a case read needs nothing else of node:crypto, and loading it (with the
 * streams it brings) and OpenSSL's first hash and first verification cost ~7
 * ms here, a tenth of what `log --case` may take beyond node's own start.
 * sodium-native is loaded for that command anyway (the key check,
 * cli/sodium-keys.ts), and its hash and verification need no set-up.
 *
 * Threat guarded against: a signature libsodium accepts that the strict rules
 * of DESIGN §4 refuse. As with OpenSSL, only libsodium's "yes" is believed,
 * and only after verifyEd25519 has refused weak and non-canonical keys and S
 * >= L. libsodium (crypto_sign_verify_detached) accepts when the 32 bytes of R
 * equal the encoding of [S]B - [k]A, k = SHA-512(R || A || M): that encoding
 * is canonical, so R decodes canonically to that point and noble's cofactored
 * equation holds too; a signature whose R carries a torsion point passes
 * noble's equation and fails libsodium's, and every "no" goes on to noble, so
 * the verdict is noble's whether or not this is installed
 * (test/sodium-primitives.test.ts holds it to the published vectors).
 */
import { setSha256 } from '../core/digest.js';
import { setQuickAccept } from '../custody/ed25519.js';
import { loadSodium } from './sodium-keys.js';

/** The two functions of sodium-native used here. */
export interface SodiumPrimitives {
  crypto_hash_sha256(out: Uint8Array, input: Uint8Array): void;
  crypto_sign_verify_detached(sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

/** sodium-native's SHA-256 and Ed25519 verification, or null where its binary does not load. */
export function loadSodiumPrimitives(): SodiumPrimitives | null {
  const s = loadSodium() as Partial<SodiumPrimitives> | null;
  return s !== null && typeof s.crypto_hash_sha256 === 'function' && typeof s.crypto_sign_verify_detached === 'function' ? (s as SodiumPrimitives) : null;
}

export function sodiumSha256(sodium: SodiumPrimitives, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  sodium.crypto_hash_sha256(out, bytes);
  return out;
}

/** True when libsodium verifies the signature; false for anything else, errors included. */
export function sodiumAccepts(sodium: SodiumPrimitives, sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (sig.length !== 64 || publicKey.length !== 32) return false;
  try {
    return sodium.crypto_sign_verify_detached(sig, message, publicKey) === true;
  } catch {
    return false;
  }
}

/** Installs libsodium's SHA-256 and quick "yes"; false (nothing installed) where sodium-native does not load. */
export function useSodiumPrimitives(): boolean {
  const sodium = loadSodiumPrimitives();
  if (sodium === null) return false;
  setSha256((bytes) => sodiumSha256(sodium, bytes));
  setQuickAccept((sig, message, publicKey) => sodiumAccepts(sodium, sig, message, publicKey));
  return true;
}
