/**
 * libsodium's Ed25519 key check, as the CLI installs it under the strict one
 * (cli/sodium-keys.ts), says "strong" exactly where the strict rules of
 * custody/ed25519.ts (checkPublicKey, @noble/ed25519) accept the key: on
 * random keys, on random keys plus each of the eight torsion points, on the
 * small-order points, on non-canonical encodings (y >= p, x = 0 with the sign
 * bit) and on arbitrary bytes (mostly off the curve). And where it is
 * installed, every weak key is still refused with the strict check's reason.
 */
import * as ed from '@noble/ed25519';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPublicKey, publicKeyFromSeed, setQuickStrongKey, weakKeyReason } from '../src/custody/ed25519.js';
import { loadSodium, sodiumStrongKey, useSodiumKeyCheck, type SodiumEd25519 } from '../src/cli/sodium-keys.js';

const P = 2n ** 255n - 19n;
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const le = (n: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
const withSign = (b: Uint8Array) => {
  const c = new Uint8Array(b);
  c[31]! |= 0x80;
  return c;
};

const sodium = loadSodium();
if (sodium === null) throw new Error('sodium-native did not load: the CLI would run without the quick key check');
const s: SodiumEd25519 = sodium;

/** The eight points of order dividing 8: multiples of a point of order 8. */
const T8 = ed.Point.fromBytes(hex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'));
const TORSION = Array.from({ length: 8 }, (_, k) => (k === 0 ? ed.Point.ZERO : T8.multiply(BigInt(k))));

/** The claim: libsodium says strong exactly where the strict rules find nothing wrong. */
function agrees(pub: Uint8Array): void {
  const strict = checkPublicKey(pub);
  expect(sodiumStrongKey(s, pub), `${Buffer.from(pub).toString('hex')}: strict says ${strict ?? 'strong'}`).toBe(strict === null);
}

describe('libsodium key check against the strict rules', () => {
  it('the torsion points are the eight small-order points, and T8 has order 8', () => {
    const encodings = new Set(TORSION.map((t) => t.toHex()));
    expect(encodings.size).toBe(8);
    for (const t of TORSION) expect(t.isSmallOrder()).toBe(true);
    expect(T8.multiply(4n).equals(ed.Point.ZERO)).toBe(false);
  });

  it('random keys are strong to both (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        const pub = publicKeyFromSeed(seed);
        expect(checkPublicKey(pub)).toBeNull();
        expect(sodiumStrongKey(s, pub)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a random key plus each torsion point: strong only with the identity added (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 0, max: 7 }), (seed, k) => {
        const key = ed.Point.fromBytes(publicKeyFromSeed(seed)).add(TORSION[k]!).toBytes();
        agrees(key);
        expect(sodiumStrongKey(s, key)).toBe(k === 0);
      }),
      { numRuns: 400 },
    );
  });

  it('every key plus each torsion point, both signs: one fixed key through all eight', () => {
    const base = ed.Point.fromBytes(publicKeyFromSeed(new Uint8Array(32).fill(7)));
    for (const t of TORSION) {
      const key = base.add(t).toBytes();
      agrees(key);
      agrees(base.negate().add(t).toBytes());
    }
  });

  it('libsodium’s point validation alone accepts a key with an order-2 component (why the multiplication is asked too)', () => {
    const key = ed.Point.fromBytes(publicKeyFromSeed(new Uint8Array(32).fill(7))).add(TORSION[4]!).toBytes();
    expect(TORSION[4]!.toHex()).toBe(le(P - 1n).reduce((h, b) => h + b.toString(16).padStart(2, '0'), ''));
    expect(s.crypto_core_ed25519_is_valid_point(key)).toBe(true);
    expect(checkPublicKey(key)).toMatch(/mixed order/);
    expect(sodiumStrongKey(s, key)).toBe(false);
  });

  it('the small-order points, with and without the sign bit and as y + p where that fits, are weak to both', () => {
    for (const t of TORSION) {
      const b = t.toBytes();
      agrees(b);
      agrees(withSign(b));
      const y = new Uint8Array(b);
      y[31]! &= 0x7f;
      const yv = y.reduceRight((n, x) => (n << 8n) | BigInt(x), 0n);
      if (yv + P < 2n ** 255n) {
        agrees(le(yv + P));
        agrees(withSign(le(yv + P)));
      }
      expect(sodiumStrongKey(s, b)).toBe(false);
    }
  });

  it('every y >= p, with either sign bit, is weak to both (non-canonical encodings)', () => {
    for (let y = P; y < 2n ** 255n; y++) {
      agrees(le(y));
      agrees(withSign(le(y)));
      expect(sodiumStrongKey(s, le(y))).toBe(false);
    }
  });

  it('x = 0 with the sign bit (y = 1 and y = p - 1) is weak to both', () => {
    for (const y of [1n, P - 1n]) {
      agrees(withSign(le(y)));
      expect(checkPublicKey(withSign(le(y)))).not.toBeNull();
    }
  });

  it('arbitrary 32 bytes (mostly off the curve, some points of every order) agree (property)', () => {
    let onCurve = 0;
    let strong = 0;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        agrees(bytes);
        try {
          ed.Point.fromBytes(bytes, false);
          onCurve++;
        } catch {
          /* off the curve */
        }
        if (sodiumStrongKey(s, bytes)) strong++;
      }),
      { numRuns: 3000 },
    );
    // About half of all y are on the curve, and an eighth of those in the prime-order subgroup.
    expect(onCurve).toBeGreaterThan(1000);
    expect(strong).toBeGreaterThan(50);
  });

  it('every y below 19, and its second spelling y + p, agree (both signs)', () => {
    // Only y < 19 can be written again as y + p in 255 bits.
    for (let y = 0n; y < 19n; y++) {
      for (const b of [le(y), withSign(le(y))]) {
        agrees(b);
        agrees(le(y + P));
        agrees(withSign(le(y + P)));
      }
    }
  });

  it('a failed multiplication counts only with the identity written out (a binding that throws early says nothing)', () => {
    const pub = publicKeyFromSeed(new Uint8Array(32).fill(7));
    const throwsEarly: SodiumEd25519 = {
      crypto_core_ed25519_is_valid_point: (p) => s.crypto_core_ed25519_is_valid_point(p),
      crypto_scalarmult_ed25519_noclamp: () => {
        throw new Error('argument check');
      },
    };
    expect(sodiumStrongKey(throwsEarly, pub)).toBe(false);
    expect(sodiumStrongKey(s, pub)).toBe(true);
  });

  it('wrong lengths and non-arrays are not strong', () => {
    expect(sodiumStrongKey(s, new Uint8Array(31))).toBe(false);
    expect(sodiumStrongKey(s, new Uint8Array(33))).toBe(false);
    expect(sodiumStrongKey(s, [1, 2, 3] as unknown as Uint8Array)).toBe(false);
  });
});

describe('weakKeyReason with libsodium installed', () => {
  let quick = 0;
  beforeAll(() => {
    useSodiumKeyCheck();
  });
  afterAll(() => setQuickStrongKey(undefined));

  it('gives the strict check’s answer and reason for weak and strong keys alike (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 0, max: 7 }), fc.boolean(), (seed, k, raw) => {
        const key = raw ? seed : ed.Point.fromBytes(publicKeyFromSeed(seed)).add(TORSION[k]!).toBytes();
        expect(weakKeyReason(key)).toBe(checkPublicKey(key));
      }),
      { numRuns: 400 },
    );
  });

  it('takes the quick path for a strong key (the strict subgroup check is not run)', () => {
    const original = ed.Point.prototype.isTorsionFree;
    let strictRuns = 0;
    ed.Point.prototype.isTorsionFree = function (this: ed.Point) {
      strictRuns++;
      return original.call(this);
    };
    try {
      const pub = publicKeyFromSeed(new Uint8Array(32).fill(42));
      expect(weakKeyReason(pub)).toBeNull();
      const mixed = ed.Point.fromBytes(publicKeyFromSeed(new Uint8Array(32).fill(43))).add(TORSION[4]!).toBytes();
      expect(weakKeyReason(mixed)).toMatch(/mixed order/);
      quick = strictRuns;
    } finally {
      ed.Point.prototype.isTorsionFree = original;
    }
    // Only the mixed-order key went on to the strict check.
    expect(quick).toBe(1);
  });

  it('a quick check that throws or says no leaves the verdict to the strict check', () => {
    setQuickStrongKey(() => {
      throw new Error('broken addon');
    });
    const mixed = ed.Point.fromBytes(publicKeyFromSeed(new Uint8Array(32).fill(44))).add(TORSION[2]!).toBytes();
    expect(weakKeyReason(mixed)).toMatch(/mixed order/);
    setQuickStrongKey(() => false);
    expect(weakKeyReason(publicKeyFromSeed(new Uint8Array(32).fill(45)))).toBeNull();
    useSodiumKeyCheck();
  });
});
