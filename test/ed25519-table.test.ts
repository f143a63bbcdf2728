/**
 * A key that signs many records is verified with a table of its multiples
 * (src/custody/ed25519.ts): the answer must be noble's strict ed.verify's,
 * signature for signature — valid ones, forged ones, malleated S, and
 * non-canonical or small-order R — once the table is in use.
 */
import { randomBytes } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { publicKeyFromSeed, signEd25519, verifyEd25519 } from '../src/custody/ed25519.js';

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;

function le(n: bigint, len = 32): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}
function fromLe(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

const strict = (sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean => {
  try {
    return ed.verify(sig, msg, pub, { zip215: false });
  } catch {
    return false;
  }
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('verification with a per-key table', () => {
  it('is used once a key has signed a few records, and agrees with ed.verify on valid and altered signatures', () => {
    const seed = randomBytes(32);
    const pub = publicKeyFromSeed(seed);
    // Enough verifications of one key for its table to be built.
    for (let i = 0; i < 12; i++) {
      const m = randomBytes(200 + i);
      expect(verifyEd25519(signEd25519(seed, m), m, pub)).toBe(true);
    }
    const multiply = vi.spyOn(ed.Point.prototype, 'multiply');
    // Multiplications of a point other than the base point, other than by the cofactor: [k]A.
    const byA = () => multiply.mock.calls.filter((c, k) => c[0] !== 8n && !(multiply.mock.contexts[k] as ed.Point).equals(ed.Point.BASE)).length;
    let ours = 0;
    let cases = 0;
    let valid = 0;
    for (let i = 0; i < 25; i++) {
      const msg = randomBytes(1 + ((i * 97) % 1600));
      const sig = signEd25519(seed, msg);
      const s = fromLe(sig.subarray(32));
      const variants: [string, Uint8Array, Uint8Array][] = [
        ['valid', sig, msg],
        ['message bit', sig, Uint8Array.from(msg, (b, k) => (k === 0 ? b ^ 1 : b))],
        ['R bit', Uint8Array.from(sig, (b, k) => (k === i % 32 ? b ^ 4 : b)), msg],
        ['S bit', Uint8Array.from(sig, (b, k) => (k === 32 + (i % 31) ? b ^ 1 : b)), msg],
        ['S + L', Uint8Array.from([...sig.subarray(0, 32), ...le(s + L)]), msg],
        ['S = 0', Uint8Array.from([...sig.subarray(0, 32), ...le(0n)]), msg],
        // y = p + 1 is the non-canonical spelling of y = 1 (the identity): strict decoding refuses it.
        ['R non-canonical', Uint8Array.from([...le(P + 1n), ...sig.subarray(32)]), msg],
        // R = the identity (small order): only a forger would send it.
        ['R identity', Uint8Array.from([...le(1n), ...sig.subarray(32)]), msg],
      ];
      for (const [what, g, m] of variants) {
        const expected = strict(g, m, pub);
        const before = byA();
        expect(verifyEd25519(g, m, pub), `${what} #${i}`).toBe(expected);
        ours += byA() - before;
        cases++;
        if (expected) valid++;
      }
    }
    expect(valid).toBe(25);
    expect(cases).toBe(200);
    // ed.verify (the reference) multiplied A for each signature it got that far with; ours never did: [k]A came from the table.
    expect(byA()).toBeGreaterThanOrEqual(25);
    expect(ours).toBe(0);
  });

  it('refuses a signature by another key and a weak key, table or not', () => {
    const seed = randomBytes(32);
    const other = randomBytes(32);
    const pub = publicKeyFromSeed(seed);
    for (let i = 0; i < 12; i++) {
      const m = randomBytes(64);
      verifyEd25519(signEd25519(seed, m), m, pub);
    }
    const m = randomBytes(64);
    expect(verifyEd25519(signEd25519(other, m), m, pub)).toBe(false);
    // The identity as a key, with the (identity, 0) signature that OpenSSL accepted.
    const identity = le(1n);
    const forged = Uint8Array.from([...le(1n), ...le(0n)]);
    for (let i = 0; i < 12; i++) expect(verifyEd25519(forged, randomBytes(10), identity)).toBe(false);
  });
});
