/**
 * Strict Ed25519 against published vectors: RFC 8032 §7.1, Wycheproof
 * (C2SP, 151 cases) and ZIP 215 (small-order / non-canonical keys). Sources
 * are in test/vectors/README.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as ed from '@noble/ed25519';
import {
  assertStrongPublicKey,
  fingerprint,
  keyId,
  publicKeyFromSeed,
  signEd25519,
  verifyEd25519,
  weakKeyReason,
} from '../src/custody/ed25519.js';
import { CustodyError } from '../src/core/errors.js';

const VEC = path.join(import.meta.dirname, 'vectors');
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const load = (f: string) => JSON.parse(fs.readFileSync(path.join(VEC, f), 'utf8'));

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const le = (n: bigint) => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
};

describe('RFC 8032 §7.1 vectors', () => {
  const vectors: { priv: string; pub: string; msg: string; sig: string }[] = load('rfc8032-ed25519.json');
  it('has the vectors', () => expect(vectors.length).toBeGreaterThanOrEqual(4));
  it.each(vectors.map((v, i) => [i, v] as const))('vector %i: key, signature and verification', (_i, v) => {
    expect(Buffer.from(publicKeyFromSeed(hex(v.priv))).toString('hex')).toBe(v.pub);
    expect(Buffer.from(signEd25519(hex(v.priv), hex(v.msg))).toString('hex')).toBe(v.sig);
    expect(verifyEd25519(hex(v.sig), hex(v.msg), hex(v.pub))).toBe(true);
    const tampered = hex(v.sig);
    tampered[0]! ^= 1;
    expect(verifyEd25519(tampered, hex(v.msg), hex(v.pub))).toBe(false);
  });
});

describe('Wycheproof ed25519_test.json', () => {
  const w = load('wycheproof-ed25519_test.json');
  const cases = w.testGroups.flatMap((g: any) => g.tests.map((t: any) => ({ pk: g.publicKey.pk as string, ...t })));
  it('has all 151 cases', () => expect(cases).toHaveLength(151));
  it('every case comes out as expected', () => {
    const wrong: string[] = [];
    for (const t of cases) {
      const got = verifyEd25519(hex(t.sig), hex(t.msg), hex(t.pk));
      if (got !== (t.result === 'valid')) wrong.push(`tc ${t.tcId} (${t.comment}): expected ${t.result}, got ${got}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('ZIP 215 vectors: weak keys are refused whatever ZIP 215 says', () => {
  const cases: { vk_bytes: string; sig_bytes: string; valid_zip215: boolean }[] = load('zip215-ed25519.json');
  const msg = new TextEncoder().encode('Zcash');
  it('refuses every case whose key is weak', () => {
    let weak = 0;
    for (const c of cases) {
      if (weakKeyReason(hex(c.vk_bytes)) !== null) {
        weak++;
        expect(verifyEd25519(hex(c.sig_bytes), msg, hex(c.vk_bytes))).toBe(false);
        // The ZIP 215 rules (noble's default) would accept them: our strictness is what refuses.
      }
    }
    expect(weak).toBe(cases.length); // every ZIP 215 vector is built on a small-order or non-canonical key
  });
  it('noble with ZIP 215 rules accepts some of them (so the test above is meaningful)', () => {
    const accepted = cases.filter((c) => ed.verify(hex(c.sig_bytes), msg, hex(c.vk_bytes), { zip215: true }));
    expect(accepted.length).toBeGreaterThan(100);
  });
});

describe('weak keys and malleable signatures', () => {
  const identityKey = hex('0100000000000000000000000000000000000000000000000000000000000000');
  const identitySig = hex('0100000000000000000000000000000000000000000000000000000000000000' + '00'.repeat(32));

  it('the identity key with the (identity, 0) signature is refused for any message', () => {
    for (const m of ['', 'anything', 'transfer custody to mallory']) {
      expect(verifyEd25519(identitySig, new TextEncoder().encode(m), identityKey)).toBe(false);
    }
    expect(weakKeyReason(identityKey)).toMatch(/small order/);
  });

  it('every small-order point is refused, including non-canonical encodings', () => {
    // The eight small-order points (canonical encodings) as listed in the ZIP 215 vectors.
    const z: { vk_bytes: string }[] = load('zip215-ed25519.json');
    const keys = [...new Set(z.map((c) => c.vk_bytes))];
    expect(keys.length).toBeGreaterThanOrEqual(8);
    for (const k of keys) expect(() => assertStrongPublicKey(hex(k), 'user')).toThrow(CustodyError);
  });

  it('a mixed-order key (good key + a torsion point) is refused', () => {
    const good = ed.Point.fromBytes(publicKeyFromSeed(new Uint8Array(32).fill(7)));
    const torsion = ed.Point.fromBytes(hex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'));
    expect(torsion.isSmallOrder()).toBe(true);
    const mixed = good.add(torsion).toBytes();
    expect(weakKeyReason(mixed)).toMatch(/mixed order/);
    try {
      assertStrongPublicKey(mixed, 'evidence');
      expect.unreachable();
    } catch (e) {
      expect((e as CustodyError).code).toBe('WEAK_KEY');
    }
    try {
      assertStrongPublicKey(mixed, 'user');
      expect.unreachable();
    } catch (e) {
      expect((e as CustodyError).code).toBe('BAD_KEY');
    }
  });

  it('a non-canonical encoding (y >= p) of a real key is refused', () => {
    // y = p + 1 encodes the same point as y = 1 (identity) in lenient decoders.
    const p = 2n ** 255n - 19n;
    expect(weakKeyReason(le(p + 1n))).toMatch(/canonical/);
    // x = 0 with the sign bit set
    const signed = le(1n);
    signed[31]! |= 0x80;
    expect(weakKeyReason(signed)).toMatch(/canonical/);
  });

  it('S >= L is refused even when S - L would verify (malleability)', () => {
    const seed = new Uint8Array(32).fill(3);
    const pub = publicKeyFromSeed(seed);
    const msg = new TextEncoder().encode('hello');
    const sig = signEd25519(seed, msg);
    let s = 0n;
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!);
    const malleated = new Uint8Array(sig);
    malleated.set(le(s + L), 32);
    expect(verifyEd25519(sig, msg, pub)).toBe(true);
    expect(verifyEd25519(malleated, msg, pub)).toBe(false);
  });

  it('wrong lengths are false, not exceptions', () => {
    const pub = publicKeyFromSeed(new Uint8Array(32));
    expect(verifyEd25519(new Uint8Array(63), new Uint8Array(), pub)).toBe(false);
    expect(verifyEd25519(new Uint8Array(64), new Uint8Array(), new Uint8Array(31))).toBe(false);
  });
});

describe('key id and fingerprint', () => {
  it('are SHA-256 of the raw key: 16 and 64 hex digits', () => {
    const pub = hex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    // sha256 of the RFC 8032 test 1 public key, computed with `xxd -r -p | sha256sum`
    expect(fingerprint(pub)).toBe('21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9');
    expect(keyId(pub)).toBe('21fe31dfa154a261');
  });
});

describe('round trip (property)', () => {
  it('sign then verify holds; a flipped message bit fails', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 200 }), (seed, msg) => {
        const pub = publicKeyFromSeed(seed);
        expect(weakKeyReason(pub)).toBeNull();
        const sig = signEd25519(seed, msg);
        expect(verifyEd25519(sig, msg, pub)).toBe(true);
        const other = new Uint8Array([...msg, 0]);
        expect(verifyEd25519(sig, other, pub)).toBe(false);
      }),
      { numRuns: 50 },
    );
  });
});
