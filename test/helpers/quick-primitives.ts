/**
 * The one suite for a fast primitive installed under the verification core
 * (OpenSSL for most commands, cli/openssl.ts; libsodium for `log --case`,
 * cli/sodium-primitives.ts): it must change no result. SHA-256: the same
 * digests as @noble/hashes. Ed25519, as the quick "yes" of verifyEd25519: the
 * published vectors (RFC 8032, Wycheproof, ZIP 215) come out as with noble
 * alone, the primitive never accepts what the strict rules refuse, and a
 * signature only noble's cofactored equation accepts (R carrying a torsion
 * point) is still accepted, because the primitive's "no" goes on to noble.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as ed from '@noble/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { publicKeyFromSeed, signEd25519, verifyEd25519, weakKeyReason } from '../../src/custody/ed25519.js';
import { sha256Bytes, sha256Hex } from '../../src/core/digest.js';

export interface QuickPrimitives {
  /** What the suite calls it ("OpenSSL", "libsodium"). */
  name: string;
  /** Installs it under the verification core (as the CLI does). */
  install(): void;
  /** Its own SHA-256, called directly. */
  sha256(bytes: Uint8Array): Uint8Array;
  /** Its own Ed25519 answer, called directly. */
  accepts(sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  /** Whether it accepts, on its own, the identity key with the (identity, 0) signature (OpenSSL does, libsodium does not). */
  acceptsIdentityAlone: boolean;
}

const VEC = path.join(import.meta.dirname, '..', 'vectors');
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const load = (f: string) => JSON.parse(fs.readFileSync(path.join(VEC, f), 'utf8'));
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const leToBig = (b: Uint8Array) => b.reduceRight((n, x) => (n << 8n) | BigInt(x), 0n);
const bigToLe = (n: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));

/** What the strict rules say without any quick path: weak keys and S >= L refused, then noble with zip215 off. */
function strict(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  if (sig.length !== 64 || pub.length !== 32 || weakKeyReason(pub) !== null || leToBig(sig.subarray(32)) >= L) return false;
  try {
    return ed.verify(sig, msg, pub, { zip215: false });
  } catch {
    return false;
  }
}

export function quickPrimitivesSuite(p: QuickPrimitives): void {
  const wycheproof: { pk: string; msg: string; sig: string; result: string; tcId: number }[] = load('wycheproof-ed25519_test.json').testGroups.flatMap(
    (g: any) => g.tests.map((t: any) => ({ pk: g.publicKey.pk, ...t })),
  );
  const rfc: { pub: string; msg: string; sig: string }[] = load('rfc8032-ed25519.json');
  const zip215: { vk_bytes: string; sig_bytes: string }[] = load('zip215-ed25519.json');
  const accepts = (sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean => p.accepts(sig, msg, pub);

  beforeAll(() => p.install());

  describe(`SHA-256 with ${p.name} installed`, () => {
    it('gives the digests @noble/hashes gives (property), as fresh Uint8Arrays', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
          expect(sha256Bytes(bytes)).toEqual(sha256(bytes));
          expect(sha256Hex(bytes)).toBe(Buffer.from(sha256(bytes)).toString('hex'));
        }),
        { numRuns: 300 },
      );
      expect(sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
      const d = p.sha256(new Uint8Array(3));
      expect(d.constructor).toBe(Uint8Array);
      expect(d.byteLength).toBe(d.buffer.byteLength); // its own 32 bytes, not a view into a shared pool
    });
  });

  describe(`verifyEd25519 with ${p.name} installed`, () => {
    it('gives the expected answer for every Wycheproof case and every RFC 8032 vector', () => {
      const wrong = wycheproof.filter((t) => verifyEd25519(hex(t.sig), hex(t.msg), hex(t.pk)) !== (t.result === 'valid')).map((t) => t.tcId);
      expect(wrong).toEqual([]);
      for (const v of rfc) expect(verifyEd25519(hex(v.sig), hex(v.msg), hex(v.pub))).toBe(true);
    });

    it('refuses every ZIP 215 case (all weak keys) and the identity key with the (identity, 0) signature', () => {
      const msg = new TextEncoder().encode('Zcash');
      expect(zip215.filter((c) => verifyEd25519(hex(c.sig_bytes), msg, hex(c.vk_bytes))).length).toBe(0);
      const identity = hex(`01${'00'.repeat(31)}`);
      const zeroSig = hex(`01${'00'.repeat(63)}`);
      const forged = new TextEncoder().encode('transfer custody to mallory');
      // Whatever the primitive says on its own, the key check before it refuses the identity key.
      expect(accepts(zeroSig, forged, identity)).toBe(p.acceptsIdentityAlone);
      expect(verifyEd25519(zeroSig, forged, identity)).toBe(false);
    });

    it(`${p.name} accepts the honest signatures (so the quick path is the one taken)`, () => {
      for (const v of rfc) expect(accepts(hex(v.sig), hex(v.msg), hex(v.pub))).toBe(true);
      const valid = wycheproof.filter((t) => t.result === 'valid');
      expect(valid.length).toBeGreaterThan(10);
      for (const t of valid) expect(accepts(hex(t.sig), hex(t.msg), hex(t.pk))).toBe(true);
    });

    it(`a signature whose R carries a torsion point: ${p.name} says no, noble yes, and verifyEd25519 gives noble’s answer`, () => {
      const seed = new Uint8Array(32).fill(9);
      const { scalar: a, pointBytes: A } = ed.utils.getExtendedPublicKey(seed);
      const torsion = ed.Point.fromBytes(hex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'));
      expect(torsion.isSmallOrder()).toBe(true);
      const msg = new TextEncoder().encode('a record');
      const r = 0x1234567890abcdefn;
      const R = ed.Point.BASE.multiply(r).add(torsion).toBytes();
      const k = leToBig(sha512(new Uint8Array([...R, ...A, ...msg]))) % L;
      const sig = new Uint8Array([...R, ...bigToLe((r + k * a) % L)]);
      expect(accepts(sig, msg, A)).toBe(false);
      expect(strict(sig, msg, A)).toBe(true);
      expect(verifyEd25519(sig, msg, A)).toBe(true);
    });
  });

  describe(`${p.name} never accepts what the strict rules refuse`, () => {
    it('on every published vector', () => {
      const all = [
        ...wycheproof.map((t) => [t.sig, t.msg, t.pk]),
        ...rfc.map((v) => [v.sig, v.msg, v.pub]),
        ...zip215.map((c) => [c.sig_bytes, Buffer.from('Zcash').toString('hex'), c.vk_bytes]),
      ].map(([s, m, k]) => [hex(s!), hex(m!), hex(k!)] as const);
      const disagree = all.filter(([s, m, k]) => accepts(s, m, k) && !strict(s, m, k));
      // Any disagreement must be a weak key, which verifyEd25519 refuses before asking the primitive.
      for (const [, , k] of disagree) expect(weakKeyReason(k)).not.toBeNull();
    });

    it('on honest signatures with any byte changed (property)', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.uint8Array({ maxLength: 100 }),
          fc.constantFrom('sig', 'msg', 'pub'),
          fc.nat(),
          fc.integer({ min: 1, max: 255 }),
          (seed, msg, where, at, xor) => {
            const pub = publicKeyFromSeed(seed);
            const sig = signEd25519(seed, msg);
            const target = where === 'sig' ? sig : where === 'pub' ? pub : msg;
            if (target.length > 0) target[at % target.length]! ^= xor;
            if (accepts(sig, msg, pub) && weakKeyReason(pub) === null && leToBig(sig.subarray(32)) < L) {
              expect(strict(sig, msg, pub)).toBe(true);
            }
            expect(verifyEd25519(sig, msg, pub)).toBe(strict(sig, msg, pub));
          },
        ),
        { numRuns: 300 },
      );
    });
  });
}
