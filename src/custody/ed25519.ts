/**
 * Ed25519 with the strict rules of DESIGN §4: RFC 8032 verification
 * (`zip215: false`), S < L, and no weak public keys.
 *
 * Threats: a small-order or mixed-order public key lets one signature verify
 * for many messages (or a forger pick a key that "verifies" anything with the
 * (identity, 0) signature — OpenSSL accepted that here); a non-canonical
 * encoding gives one key two spellings, so a key id or a trust check could be
 * dodged; S >= L makes signatures malleable.
 */
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256Hex } from '../core/digest.js';
import { CustodyError } from '../core/errors.js';

// @noble/ed25519 needs a synchronous SHA-512: @noble/hashes' (pure JavaScript, same author,
// runs in the verifier page). Messages signed here are small, so it costs little against OpenSSL.
ed.hashes.sha512 = sha512;

/** The group order L (RFC 8032 §5.1). */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  if (seed.length !== 32) throw new CustodyError('BAD_KEY', 'an Ed25519 secret key (seed) is 32 bytes');
  return ed.getPublicKey(seed);
}

export function signEd25519(seed: Uint8Array, message: Uint8Array): Uint8Array {
  if (seed.length !== 32) throw new CustodyError('BAD_KEY', 'an Ed25519 secret key (seed) is 32 bytes');
  return ed.sign(message, seed);
}

function littleEndianToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/**
 * Results of the two costly checks, per process (one command): a chain of
 * 400 records is signed by a handful of keys, and checking each key's
 * subgroup on every record (a full scalar multiplication, ~3 ms) was 44% of
 * `custody log`. Both functions are pure, so a remembered answer is the
 * answer; the maps are bounded (a hostile bundle may name many keys) and
 * start over when full.
 */
const MEMO_ENTRIES = 4096;
const weakMemo = new Map<string, string | null>();
const verifyMemo = new Map<string, boolean>();

function remember<V>(memo: Map<string, V>, key: string, value: V): V {
  if (memo.size >= MEMO_ENTRIES) memo.clear();
  memo.set(key, value);
  return value;
}

/**
 * Why a 32-byte public key is unacceptable, or null when it is a canonical
 * encoding of a point in the prime-order subgroup other than the identity.
 */
export function weakKeyReason(pub: Uint8Array): string | null {
  if (!(pub instanceof Uint8Array) || pub.length !== 32) return 'an Ed25519 public key is 32 bytes';
  const key = bytesToHex(pub);
  const known = weakMemo.get(key);
  if (known !== undefined) return known;
  return remember(weakMemo, key, quicklyStrong(pub) ? null : checkPublicKey(pub));
}

/**
 * A faster key check a host may install (custody installs libsodium's:
 * cli/sodium-keys.ts; the verifier page installs none): true only when the
 * key is a canonical encoding of a point of the prime-order subgroup other
 * than the identity, exactly what checkPublicKey accepts. Only its "strong"
 * is believed: anything else (false, a throw) goes to checkPublicKey, which
 * stays the judge of every key it refuses and words the reason.
 *
 * Why: the subgroup check below is a scalar multiplication in BigInt
 * arithmetic; the first one of a run costs ~15 ms of JIT warm-up here, more
 * than the rest of reading a key.
 */
export type QuickStrongKey = (pub: Uint8Array) => boolean;
let quickStrongKey: QuickStrongKey | undefined;

export function setQuickStrongKey(check: QuickStrongKey | undefined): void {
  quickStrongKey = check;
}

function quicklyStrong(pub: Uint8Array): boolean {
  try {
    return quickStrongKey?.(pub) === true;
  } catch {
    return false;
  }
}

/**
 * Why a 32-byte key is weak, or null, by the strict rules alone (no memo, no
 * installed check): what weakKeyReason remembers, and what a host's quick
 * check is tested against.
 */
export function checkPublicKey(pub: Uint8Array): string | null {
  let point: ed.Point;
  try {
    // zip215=false: y must be < p and x = 0 must not carry a sign bit.
    point = ed.Point.fromBytes(pub, false);
  } catch {
    return 'the public key is not a canonical encoding of a curve point';
  }
  // Belt and braces: the one canonical encoding re-encodes to the same bytes.
  const again = point.toBytes();
  if (again.length !== 32 || again.some((b, i) => b !== pub[i])) {
    return 'the public key is not a canonical encoding of a curve point';
  }
  if (point.isSmallOrder()) return 'the public key is a point of small order';
  if (!point.isTorsionFree()) return 'the public key is a point of mixed order (it has a torsion component)';
  return null;
}

/**
 * Throws when a key is weak. A key the user gave us (made, imported,
 * trusted) is a usage error (BAD_KEY, exit 2); one met inside evidence means
 * the evidence does not verify (WEAK_KEY, exit 1).
 */
export function assertStrongPublicKey(pub: Uint8Array, source: 'user' | 'evidence', what = 'public key'): void {
  const reason = weakKeyReason(pub);
  if (reason === null) return;
  const message = `refusing ${what}: ${reason.replace(/^the public key /, 'it ')}`;
  throw new CustodyError(source === 'user' ? 'BAD_KEY' : 'WEAK_KEY', message);
}

/**
 * RFC 8032 strict verification; anything malformed or weak is simply `false`.
 * A (key, signature, message) already checked in this process is not checked
 * again: the message is named by its SHA-256.
 */
export function verifyEd25519(sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(sig instanceof Uint8Array) || sig.length !== 64) return false;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
  const key = `${bytesToHex(publicKey)}${bytesToHex(sig)}${sha256Hex(message)}`;
  const known = verifyMemo.get(key);
  if (known !== undefined) return known;
  return remember(verifyMemo, key, verifyUncached(sig, message, publicKey));
}

/**
 * A faster check a host may install (custody installs OpenSSL's at start-up:
 * cli/openssl.ts; the verifier page installs none). It is asked only after
 * the key and S checks above have passed, and only its "yes" is believed: a
 * "no" (or a throw) falls through to the strict verification below, which stays
 * the judge of every signature it refuses.
 */
export type QuickAccept = (sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;
let quickAccept: QuickAccept | undefined;

export function setQuickAccept(accept: QuickAccept | undefined): void {
  quickAccept = accept;
}

function verifyUncached(sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (weakKeyReason(publicKey) !== null) return false;
  // S must be reduced (RFC 8032 §5.1.7); checked here rather than trusting the library's path.
  if (littleEndianToBigInt(sig.subarray(32, 64)) >= L) return false;
  try {
    if (quickAccept?.(sig, message, publicKey) === true) return true;
  } catch {
    /* the strict verification below decides */
  }
  try {
    return ed.verify(sig, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** First 16 hex digits of SHA-256 of the raw 32-byte key (DESIGN §4). */
export function keyId(pub: Uint8Array): string {
  return sha256Hex(pub).slice(0, 16);
}

/** All 64 hex digits of SHA-256 of the raw 32-byte key (DESIGN §4). */
export function fingerprint(pub: Uint8Array): string {
  return sha256Hex(pub);
}

/** A fingerprint in groups of four, easier to read aloud when confirming it out of band. */
export function groupedFingerprint(fp: string): string {
  return fp.replace(/(.{4})(?=.)/g, '$1 ');
}
