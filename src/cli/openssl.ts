/**
 * custody's start-up choice of OpenSSL (node:crypto) for the small, hot
 * primitives of the verification core, which stays pure JavaScript so that
 * it runs in the verifier page: SHA-256 of small things (core/digest.ts) and
 * the quick "yes" of Ed25519 verification (below).
 * Neither changes a result; both spare every command the pure-JavaScript
 * cold start (noble's base-point table alone is 55-80 ms).
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { setSha256 } from '../core/digest.js';
import { setQuickAccept } from '../custody/ed25519.js';

export function opensslSha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

export function useOpenSsl(): void {
  setSha256(opensslSha256);
  setQuickAccept(opensslAccepts);
}

/*
 * OpenSSL's Ed25519 (node:crypto) as the quick "yes" of verifyEd25519
 * (custody/ed25519.ts), installed by custody at start-up; never by the verifier page.
 *
 * Why: @noble/ed25519 builds a table of 4,224 multiples of the base point on
 * its first verification (55-80 ms, more than `custody log --case` may take
 * whole), and each verification costs about 1 ms of BigInt arithmetic more;
 * OpenSSL verifies in well under 0.1 ms and needs no table.
 *
 * Threat guarded against: a signature OpenSSL accepts that the strict rules
 * of DESIGN §4 refuse (OpenSSL accepted the identity key with an (identity, 0)
 * signature). That cannot happen, because of where it is asked: verifyEd25519
 * has already refused weak and non-canonical keys and S >= L, and believes
 * only OpenSSL's "yes". OpenSSL accepts when the 32 bytes of R equal the
 * encoding of [S]B - [k]A, k = SHA-512(R || A || M) over the same bytes noble
 * hashes; that encoding is canonical, so R decodes canonically to that point
 * and noble's cofactored equation [8]([S]B - R - [k]A) = 0 holds too. OpenSSL's
 * equation is the stricter one (a signature whose R carries a small torsion
 * point passes noble's and fails OpenSSL's): every "no" goes on to noble, so
 * the verdict is noble's whether or not this is installed.
 */

/** The DER SubjectPublicKeyInfo header of an Ed25519 key (RFC 8410): the 32 key bytes follow. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Key objects by key, per process; bounded like ed25519.ts's memos (a hostile bundle may name many keys). */
const MAX_KEYS = 4096;
const keyObjects = new Map<string, KeyObject>();

function keyObject(publicKey: Uint8Array): KeyObject {
  const hex = Buffer.from(publicKey).toString('hex');
  let key = keyObjects.get(hex);
  if (key === undefined) {
    if (keyObjects.size >= MAX_KEYS) keyObjects.clear();
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    keyObjects.set(hex, key);
  }
  return key;
}

/** True when OpenSSL verifies the signature; false for anything else, errors included. */
export function opensslAccepts(sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (sig.length !== 64 || publicKey.length !== 32) return false;
  try {
    return verify(null, message, keyObject(publicKey), sig);
  } catch {
    return false;
  }
}

