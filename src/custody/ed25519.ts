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
 * start over when full. Messages are kept to compare (records are small and
 * their total is capped).
 */
const MEMO_ENTRIES = 4096;
const weakMemo = new Map<string, string | null>();
const verifyMemo = new Map<string, { message: Uint8Array; ok: boolean }>();

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
  return remember(weakMemo, key, checkPublicKey(pub));
}

function checkPublicKey(pub: Uint8Array): string | null {
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
 * again (the message is compared byte for byte).
 */
export function verifyEd25519(sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(sig instanceof Uint8Array) || sig.length !== 64) return false;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
  const key = `${bytesToHex(publicKey)}${bytesToHex(sig)}`;
  const known = verifyMemo.get(key);
  if (known !== undefined && sameBytes(known.message, message)) return known.ok;
  const ok = verifyUncached(sig, message, publicKey);
  remember(verifyMemo, key, { message: message.slice(), ok });
  return ok;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function verifyUncached(sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (weakKeyReason(publicKey) !== null) return false;
  // S must be reduced (RFC 8032 §5.1.7); checked here rather than trusting the library's path.
  const s = littleEndianToBigInt(sig.subarray(32, 64));
  if (s >= L) return false;
  const table = tableFor(publicKey);
  try {
    if (!table) return ed.verify(sig, message, publicKey, { zip215: false });
    return verifyWithTable(sig, s, message, publicKey, table);
  } catch {
    return false;
  }
}

/**
 * A key that signs many records (a custodian over a long chain) gets a table
 * of its multiples, so [k]A costs 64 point additions instead of ~250
 * doublings and ~125 additions: verification of a 400-record chain was ~1.6
 * ms a record, most of it that multiplication. The equation and every check
 * are noble's strict ones (zip215: false), with [k]A read from the table:
 * A and R canonical (A also prime-order and not small: weakKeyReason), S < L,
 * k = SHA-512(R ‖ A ‖ M) mod L, and [8](R + [k]A − [S]B) = 0. The tests
 * compare it with ed.verify on valid, forged and non-canonical signatures.
 */
const TABLE_AFTER = 8;
const MAX_TABLES = 64;
const uses = new Map<string, number>();
const tables = new Map<string, ed.Point[][]>();

function tableFor(publicKey: Uint8Array): ed.Point[][] | undefined {
  const key = bytesToHex(publicKey);
  const known = tables.get(key);
  if (known) return known;
  const n = (uses.get(key) ?? 0) + 1;
  remember(uses, key, n);
  if (n < TABLE_AFTER) return undefined;
  // table[i][j] = j · 16^i · A, for the 64 hex digits of k (k < L < 2^253).
  const table: ed.Point[][] = [];
  let base = ed.Point.fromBytes(publicKey, false);
  for (let i = 0; i < 64; i++) {
    const row = [ed.Point.ZERO, base];
    for (let j = 2; j < 16; j++) row.push(row[j - 1]!.add(base));
    table.push(row);
    base = base.double().double().double().double();
  }
  if (tables.size >= MAX_TABLES) tables.clear();
  tables.set(key, table);
  return table;
}

function verifyWithTable(sig: Uint8Array, s: bigint, message: Uint8Array, publicKey: Uint8Array, table: ed.Point[][]): boolean {
  const r = sig.subarray(0, 32);
  const R = ed.Point.fromBytes(r, false); // throws on a non-canonical encoding: false
  const k = littleEndianToBigInt(sha512(ed.etc.concatBytes(r, publicKey, message))) % L;
  let kA = ed.Point.ZERO;
  for (let i = 0, rest = k; rest > 0n; i++, rest >>= 4n) {
    const digit = Number(rest & 15n);
    if (digit !== 0) kA = kA.add(table[i]![digit]!);
  }
  const SB = ed.Point.BASE.multiply(s, false);
  return R.add(kA).subtract(SB).clearCofactor().is0();
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
