/**
 * The hash behind the compact name set (src/bundle/name-set.ts) is a
 * polynomial over the name's bytes modulo 2^31 - 1 at a random point: a
 * hostile archive cannot choose names that collide without knowing the
 * point. It is computed four bytes a step and reduced without the
 * floating-point remainder, and the header walk takes the hash of every
 * folder above a member from the same pass over its name. These tests hold
 * the fast form to the plain byte-by-byte definition, at the extreme points
 * and at random ones, and the folder hashes to the hashes of the folders'
 * own names; then the name tracker's refusals, which rely on them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NameSet } from '../src/bundle/name-set.js';
import { NameTracker } from '../src/bundle/tar-names.js';
import { compareBytes } from '../src/custody/encoding.js';

const P = 2147483647;

/** The definition, one byte at a time, in BigInt (no rounding anywhere). */
function reference(point: number, bytes: Uint8Array): number {
  const x = BigInt(point);
  let h = 0n;
  for (const b of bytes) h = (h * x + BigInt(b) + 1n) % BigInt(P);
  return Number(h);
}

const POINTS = [1, 2, 65535, 65536, 65537, 2 ** 30, P - 2, P - 1];

describe('the name hash', () => {
  it('is the byte-by-byte polynomial at the extreme points, for names of every length up to 40 bytes of any value', () => {
    for (const point of POINTS) {
      const s = new NameSet(point);
      for (let len = 0; len <= 40; len++) {
        for (const fill of [0x00, 0x2f, 0x7f, 0xfe, 0xff]) {
          const b = new Uint8Array(len).fill(fill);
          expect(s.hash(b), `point ${point} length ${len} fill ${fill}`).toBe(reference(point, b));
        }
      }
    }
  });

  it('is the byte-by-byte polynomial for any bytes at any point, and so is the hash of each prefix before a separator (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: P - 1 }), fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 255 }), (point, bytes, sep) => {
        const s = new NameSet(point);
        expect(s.hash(bytes)).toBe(reference(point, bytes));
        const out = new Int32Array(bytes.length + 1);
        const n = s.prefixHashes(bytes, sep, out);
        const cuts = [...bytes.keys()].filter((i) => bytes[i] === sep);
        expect(n).toBe(cuts.length);
        cuts.forEach((at, k) => expect(out[k]).toBe(reference(point, bytes.subarray(0, at))));
        expect(out[n]).toBe(reference(point, bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('finds names added on a second set made at the same point from the first set hashes', () => {
    const a = new NameSet();
    const b = new NameSet(a.point);
    const enc = new TextEncoder();
    const names = Array.from({ length: 3000 }, (_, i) => enc.encode(`case/data/d${i % 37}/f${i}.bin`));
    names.forEach((n, i) => expect(b.addNewHashed(n, 0, a.hash(n))).toBe(i));
    names.forEach((n, i) => expect(b.find(n)).toBe(i));
    expect(b.find(enc.encode('case/data/d1/f0.bin'))).toBe(-1);
  });

  it('tells names apart by their bytes when every hash collides (point 1: any reordering of a name), kept whole or after a folder', () => {
    const enc = new TextEncoder();
    const folders = new NameSet(1);
    const names = new NameSet(1, folders);
    const dirs = ['ab', 'ba', 'a', 'b', 'aab'];
    dirs.forEach((d) => folders.add(enc.encode(d), 0));
    const want = new Map<string, number>();
    for (const [f, d] of dirs.entries()) {
      for (const base of ['xy', 'yx', 'x']) {
        const n = `${d}/${base}`;
        want.set(n, names.addNewHashed(enc.encode(n), 0, names.hash(enc.encode(n)), f));
      }
    }
    want.set('ba', names.add(enc.encode('ba'), 0));
    for (const [n, k] of want) expect(names.find(enc.encode(n)), n).toBe(k);
    for (const n of ['ab/yy', 'a/bxy', 'b/axy', 'ab', 'aab/', 'a', 'ab/xyx', 'b/a/xy']) expect(names.find(enc.encode(n)), n).toBe(-1);
    expect(names.addNewHashed(enc.encode('ba/yx'), 0, names.hash(enc.encode('ba/yx')), 1)).toBe(~want.get('ba/yx')!);
    // Two bytes with the hash of 'aab/x' (at point 1, the sum of byte + 1): shorter than its folder alone.
    const sum = [...enc.encode('aab/x')].reduce((t, c) => t + c + 1, 0);
    const short = Uint8Array.of(Math.floor(sum / 2) - 1, sum - Math.floor(sum / 2) - 1);
    expect(names.hash(short)).toBe(names.hash(enc.encode('aab/x')));
    expect(names.find(short)).toBe(-1);
  });

  it('refuses a point outside 1 .. 2^31 - 2', () => {
    for (const bad of [0, P, -1, 1.5, Number.NaN]) expect(() => new NameSet(bad)).toThrow(RangeError);
  });
});

describe('the name tracker, hashing each name once', () => {
  const refusal = (names: [string, 'file' | 'dir'][], withBytes: boolean): string | undefined => {
    const t = new NameTracker();
    const enc = new TextEncoder();
    try {
      for (const [n, type] of names) t.add(n, type, withBytes ? enc.encode(n) : undefined);
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('refuses duplicates, a file named like an earlier folder and a member inside a file, given the bytes or not', () => {
    for (const withBytes of [false, true]) {
      expect(refusal([['a/b/c', 'file'], ['a/b/d', 'file'], ['a/b/c', 'file']], withBytes)).toMatch(/duplicate name/);
      expect(refusal([['a/b/c', 'file'], ['a/b', 'file']], withBytes)).toMatch(/same name as a directory/);
      expect(refusal([['a/b', 'file'], ['a/b/c', 'file']], withBytes)).toMatch(/inside "a\/b", which is a regular file/);
      expect(refusal([['ü/ä/ö', 'file'], ['ü/ä', 'file']], withBytes)).toMatch(/same name as a directory/);
      expect(refusal([['a/b', 'dir'], ['a/b/c', 'file'], ['a/bc', 'file'], ['a/b/e', 'dir'], ['a/b/e/f', 'file']], withBytes)).toBeUndefined();
      expect(refusal([['x', 'dir'], ['x/y', 'file'], ['x', 'dir']], withBytes)).toMatch(/duplicate name/);
    }
  });

  it('keeps each name as its folder and the bytes after it, and gives back the same bytes, lookups and byte order as the whole name (property)', () => {
    const enc = new TextEncoder();
    const sign = (x: number): number => Math.sign(x);
    const part = fc.constantFrom('a', 'b', 'ab', 'é', '', 'z/');
    const name = fc.array(part, { minLength: 1, maxLength: 6 }).map((p) => p.join('/'));
    fc.assert(
      fc.property(fc.uniqueArray(name, { maxLength: 40 }), fc.array(fc.uint8Array({ maxLength: 12 }), { maxLength: 5 }), (names, probes) => {
        const t = new NameTracker();
        const kept: Uint8Array[] = [];
        let refused = false;
        for (const n of names) {
          try {
            t.add(n, 'file');
            kept.push(enc.encode(n));
          } catch {
            refused = true;
            break; // an unsafe name (a file where a folder was …) ends the archive's reading
          }
        }
        if (!refused) expect(t.count).toBe(kept.length);
        kept.forEach((b, k) => {
          expect(t.bytesOf(k)).toEqual(b);
          expect(t.has(new TextDecoder().decode(b))).toBe(true);
          for (const probe of [...probes, ...kept]) {
            for (const skip of [0, 1, 3, b.length]) expect(sign(t.compareWith(k, probe, skip))).toBe(sign(compareBytes(b.subarray(skip), probe)));
          }
        });
        expect(t.has('a/b/none')).toBe(kept.some((b) => new TextDecoder().decode(b) === 'a/b/none'));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps 20,000 names in 400 folders and finds each', () => {
    const t = new NameTracker();
    for (let i = 0; i < 20_000; i++) t.add(`bag/data/d${i % 400}/e${i % 7}/f${i}.bin`, 'file');
    expect(t.count).toBe(20_000);
    expect(t.has('bag/data/d3/e3/f3.bin')).toBe(true);
    expect(t.has('bag/data/d3/e3/f4.bin')).toBe(false);
  });
});
