/**
 * Buffer's base64 under the verification core (cli/node-base64.ts) changes no
 * result: the same text for any bytes, and for any text the same answer from
 * decodeBase64Canonical and fromBase64Strict — the bytes for the one canonical
 * spelling, refusal for every other (junk, bad padding, non-zero unused bits).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeBase64Canonical, fromBase64Strict, setBase64, toBase64 } from '../src/custody/encoding.js';
import { nodeBase64, useNodeBase64 } from '../src/cli/node-base64.js';

/** Runs fn with the core's own codec, then with Buffer's installed; returns both answers. */
function both<T>(fn: () => T): [T, T] {
  setBase64(undefined);
  const pure = fn();
  useNodeBase64();
  const node = fn();
  return [pure, node];
}
const outcome = (fn: () => unknown) => () => {
  try {
    return { ok: fn() };
  } catch (e) {
    return { error: (e as Error).message };
  }
};

afterEach(() => setBase64(undefined));

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Texts near base64: alphabet characters, padding in and out of place, a little junk. */
const nearBase64 = fc
  .array(fc.oneof({ weight: 20, arbitrary: fc.constantFrom(...ALPHABET) }, { weight: 2, arbitrary: fc.constant('=') }, { weight: 1, arbitrary: fc.constantFrom(' ', '-', '_', '\n', 'é') }), { maxLength: 40 })
  .map((cs) => cs.join(''));

describe('Buffer base64 under the core', () => {
  it('encodes any bytes (and views into a larger buffer) as the core does (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(8), (bytes, skip) => {
        const view = new Uint8Array(bytes.length + skip);
        view.set(bytes, skip);
        const [a, b] = both(() => toBase64(view.subarray(skip)));
        expect(b).toBe(a);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes the canonical spelling of any bytes to those bytes, as the core does (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = Buffer.from(bytes).toString('base64');
        const [a, b] = both(() => decodeBase64Canonical(text));
        expect(a).toEqual(bytes);
        expect(b).toEqual(bytes);
        expect(b!.constructor).toBe(Uint8Array);
      }),
      { numRuns: 500 },
    );
  });

  it('gives the core’s answer for any near-base64 text: bytes, or refusal with the same message (property)', () => {
    let refused = 0;
    let accepted = 0;
    fc.assert(
      fc.property(nearBase64, (text) => {
        const [a, b] = both(outcome(() => fromBase64Strict(text, 'the field')));
        expect(b).toEqual(a);
        const [c, d] = both(() => decodeBase64Canonical(text));
        expect(d).toEqual(c);
        if (c === null) refused++;
        else accepted++;
      }),
      { numRuns: 3000 },
    );
    expect(refused).toBeGreaterThan(100);
    expect(accepted).toBeGreaterThan(100);
  });

  it('refuses the second spellings Buffer itself would read: unused bits set, junk, padding inside', () => {
    useNodeBase64();
    for (const text of ['QR==', 'QQ=', 'QQ', 'Q Q==', 'QQ==QQ==', 'QUI=\n', 'QUJ=', '====']) {
      expect(decodeBase64Canonical(text), text).toBeNull();
    }
    // Buffer alone reads 'QR==' as the byte 'QQ==' spells: the re-encoding is what refuses it.
    expect(new Uint8Array(Buffer.from('QR==', 'base64'))).toEqual(new Uint8Array([0x41]));
    expect(decodeBase64Canonical('QUI=')).toEqual(new Uint8Array([0x41, 0x42]));
    expect(nodeBase64.encode(new Uint8Array())).toBe('');
  });
});
