/**
 * core/blocks.ts keeps per-file data of big exports in fixed blocks: byte
 * strings (names) never straddle two blocks and come back as they went in,
 * empty ones included, wherever a block ends.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteRuns, float64s } from '../src/core/blocks.js';

describe('ByteRuns', () => {
  it('gives back every string as pushed, across block boundaries, empty ones and ones of a whole block included (property)', () => {
    const len = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 3000 }) }, { weight: 1, arbitrary: fc.integer({ min: 200_000, max: 1 << 20 }) }, { weight: 1, arbitrary: fc.constant(0) });
    fc.assert(
      fc.property(fc.array(len, { minLength: 1, maxLength: 60 }), (lens) => {
        const runs = new ByteRuns();
        const want = lens.map((n, i) => new Uint8Array(n).fill((i * 37 + 1) & 0xff));
        want.forEach((w, i) => expect(runs.push(w)).toBe(i));
        expect(runs.length).toBe(want.length);
        want.forEach((w, i) => {
          const got = runs.at(i);
          expect(got.length).toBe(w.length);
          expect(got.every((b) => b === ((i * 37 + 1) & 0xff))).toBe(true);
        });
      }),
      { numRuns: 60 },
    );
  });

  it('gives back strings that end exactly at a block end, fill a whole block, or are empty there', () => {
    for (const lens of [[(1 << 20) - 10, 10, 5], [1 << 20, 0, 1 << 20, 3], [0, (1 << 20) - 1, 1, 0, 2]]) {
      const runs = new ByteRuns();
      lens.forEach((n, i) => runs.push(new Uint8Array(n).fill(i + 1)));
      expect(lens.map((_, i) => [runs.at(i).length, runs.at(i).every((b) => b === i + 1)])).toEqual(lens.map((n) => [n, true]));
    }
  });

  it('refuses a string longer than a block', () => {
    expect(() => new ByteRuns().push(new Uint8Array((1 << 20) + 1))).toThrow(RangeError);
  });
});

describe('Numbers', () => {
  it('gives back numbers past the first blocks of 65,536', () => {
    const n = float64s();
    for (let i = 0; i < 200_000; i++) n.push(i * 1.5);
    expect([0, 65_535, 65_536, 131_072, 199_999].map((i) => n.get(i))).toEqual([0, 65_535 * 1.5, 65_536 * 1.5, 131_072 * 1.5, 199_999 * 1.5]);
  });
});
