/**
 * libsodium (sodium-native) as the quick "strong" of the Ed25519 key check
 * (custody/ed25519.ts setQuickStrongKey), installed by custody at start-up;
 * never by the verifier page.
 *
 * Why: every key custody reads — the home's own keys, the trust store, each
 * signer of a record — is checked for a torsion component, a scalar
 * multiplication by the group order L. In @noble/ed25519 that is BigInt
 * arithmetic: the first check of a run costs ~15 ms of JIT warm-up here
 * (`custody log --case` checks two or three keys in all). libsodium does it in
 * a few microseconds. sodium-native is loaded on the first key checked, so a
 * command that checks none does not load it.
 *
 * Threat guarded against: a weak key called strong. Neither libsodium call
 * alone decides "P is in the prime-order subgroup":
 * `crypto_core_ed25519_is_valid_point(P)` refuses non-canonical encodings
 * (y >= p), the small-order points (whatever the sign bit) and points off the
 * curve, but of [L]P it tests only that x = 0: it accepts P + (0, -1), a key
 * with an order-2 component, since [L](P + T) = T for that T. Given a valid
 * point, `crypto_scalarmult_ed25519_noclamp(q, L, P)` writes [L]P to q and
 * fails exactly when that is the identity (its other failures are the
 * validity checks P has passed, and a zero scalar, which L is not). So "strong"
 * is said only when P is a valid point, the multiplication failed, and q holds
 * the identity's encoding; anything else — a throw of another kind, a result,
 * an addon that did not load — is "not known", and the strict check in
 * ed25519.ts decides. test/sodium-keys.test.ts holds this against that check
 * on random keys, keys plus each torsion point, the small-order points and
 * non-canonical and off-curve encodings.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { setQuickStrongKey } from '../custody/ed25519.js';

/** The two functions of sodium-native used here. */
export interface SodiumEd25519 {
  crypto_core_ed25519_is_valid_point(p: Uint8Array): boolean;
  crypto_scalarmult_ed25519_noclamp(q: Uint8Array, n: Uint8Array, p: Uint8Array): void;
}

/** The group order L = 2^252 + 27742317777372353535851937790883648493 (RFC 8032 §5.1), 32 bytes little-endian. */
const L_BYTES = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
]);

/** Whether q is the encoding of the identity (0, 1): 01 00 … 00. */
function isIdentity(q: Uint8Array): boolean {
  if (q[0] !== 1) return false;
  for (let i = 1; i < 32; i++) if (q[i] !== 0) return false;
  return true;
}

/** True only when `pub` is a canonical encoding of a point of the prime-order subgroup other than the identity. */
export function sodiumStrongKey(sodium: SodiumEd25519, pub: Uint8Array): boolean {
  if (!(pub instanceof Uint8Array) || pub.length !== 32) return false;
  if (sodium.crypto_core_ed25519_is_valid_point(pub) !== true) return false;
  const q = new Uint8Array(32);
  try {
    sodium.crypto_scalarmult_ed25519_noclamp(q, L_BYTES, pub);
  } catch {
    // Failed after the checks pub has passed: [L]P is the identity, and libsodium wrote it to q.
    return isIdentity(q);
  }
  return false; // [L]P is a point other than the identity: P has a torsion component
}

const load = createRequire(import.meta.url);

/**
 * sodium-native's prebuilt binary for this platform, loaded by its path: the
 * package's own index.js finds the same file through node-gyp-build, which
 * costs about as much again as the binary's load (~3 ms here) in look-ups.
 * Where that file is not there or does not load, the package's own way.
 */
function loadBinding(): unknown {
  try {
    const dir = path.dirname(load.resolve('sodium-native/package.json'));
    return load(path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`, 'sodium-native.node'));
  } catch {
    return load('sodium-native');
  }
}

/** sodium-native, or null where its prebuilt binary does not load (the strict check then does all the work). */
export function loadSodium(): SodiumEd25519 | null {
  try {
    const s = loadBinding() as Partial<SodiumEd25519>;
    if (typeof s.crypto_core_ed25519_is_valid_point === 'function' && typeof s.crypto_scalarmult_ed25519_noclamp === 'function') {
      return s as SodiumEd25519;
    }
  } catch {
    /* no binary for this platform */
  }
  return null;
}

/** Installs libsodium's check under the Ed25519 key check; sodium-native loads on the first key checked. */
export function useSodiumKeyCheck(): void {
  let sodium: SodiumEd25519 | null | undefined;
  setQuickStrongKey((pub) => {
    if (sodium === undefined) sodium = loadSodium();
    return sodium !== null && sodiumStrongKey(sodium, pub);
  });
}
