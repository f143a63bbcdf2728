/**
 * The target name check keeps names by folder (a short key per name), where
 * it kept every path and prefix whole. It must decide exactly as the whole-
 * path check did (test/helpers/target-names-reference.ts): for any sequence
 * of names (case pairs, NFC and NFD spellings, names Windows refuses, names
 * that look like the numbered ones it makes, names added twice as extract
 * does), on a target that folds case, normalises, refuses Windows names or
 * any mix, refusing or renaming: the same path for every name or the same
 * refusal word for word, the same written path and reason for every name and
 * folder after. And it must hold less than half the heap the whole-path
 * check held for the same names.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TargetNameCheck, type NameMode, type TargetProfile } from '../src/bundle/target-names.js';
import { ReferenceTargetNameCheck } from './helpers/target-names-reference.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const component = fc.constantFrom(
  'a', 'A', 'b', 'LONE-\ud800-SURROGATE', 'lone-\ud800-surrogate', 'readme.txt', 'README.txt', 'Readme.TXT', 'caf\u00e9', 'cafe\u0301', 'CAF\u00c9', 'stra\u00dfe', 'STRASSE',
  '\u03a3\u03b1\u03c3', '\u03c3\u03b1\u03c2', 'CON', 'con.txt', 'a:b', 'a_b', 'x?', 'x_', 'trail.', 'trail_', 'a (2)', 'a (2).txt', 'a.txt', 'A.TXT', 'a (3)',
);
const name = fc.array(component, { minLength: 1, maxLength: 3 }).map((p) => p.join('/'));
const profile = fc.record({ caseInsensitive: fc.boolean(), normalisationInsensitive: fc.boolean(), windowsNames: fc.boolean() });

function outcome(f: () => string): string {
  try {
    return `ok ${f()}`;
  } catch (e) {
    return `refused ${(e as { code?: string }).code} ${(e as Error).message}`;
  }
}

describe('the target name check', () => {
  it('decides every name as the whole-path check did, in every mode and on every kind of target', () => {
    fc.assert(
      fc.property(profile, fc.constantFrom<NameMode>('refuse', 'rename'), fc.array(name, { minLength: 1, maxLength: 40 }), fc.array(fc.nat(), { maxLength: 10 }), (p: TargetProfile, mode, names, again) => {
        const ours = new TargetNameCheck(p, '/dest', mode);
        const ref = new ReferenceTargetNameCheck(p, '/dest', mode);
        // Extract adds each name twice (before writing anything, then member by member): re-add some.
        const sequence = [...names, ...again.map((k) => names[k % names.length]!)];
        for (const n of sequence) expect(outcome(() => ours.add(n)), n).toBe(outcome(() => ref.add(n)));
        const probes = new Set(sequence.flatMap((n) => n.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'))));
        for (const n of [...probes, 'never/seen', 'a/never']) {
          expect(ours.writtenPath(n), n).toBe(ref.writtenPath(n));
          expect(ours.renamedBecause(n), n).toBe(ref.renamedBecause(n));
        }
        expect(ours.renamedAny).toBe(ref.renamedAny);
      }),
      { numRuns: 3000 },
    );
  });

  it('holds 200,000 names in less than half the heap the whole-path check took', () => {
    const p: TargetProfile = { caseInsensitive: true, normalisationInsensitive: true, windowsNames: true };
    const heldBy = (check: { add(n: string): string; writtenPath(n: string): string }): number => {
      gc();
      const before = process.memoryUsage().heapUsed;
      let k = 0;
      // Names that fold (kept) and names that are their own key, 26 folders deep in 3 levels.
      for (let a = 0; a < 10; a++) for (let b = 0; b < 20; b++) for (let f = 0; f < 1000; f++) check.add(`data/export/d0-${a}/d1-${b}/f${a}${b}${f >> 6}/${f % 2 ? 'IMG' : 'img'}-${k++}.jpg`);
      gc();
      const grew = process.memoryUsage().heapUsed - before;
      expect(check.writtenPath('data/export/d0-9/d1-19/f91915/IMG-199999.jpg')).toBe('data/export/d0-9/d1-19/f91915/IMG-199999.jpg');
      return grew / 1048576;
    };
    const ours = heldBy(new TargetNameCheck(p, '/dest'));
    const reference = heldBy(new ReferenceTargetNameCheck(p, '/dest'));
    console.log(`heap held for 200,000 names: ${ours.toFixed(1)} MB, the whole-path check ${reference.toFixed(1)} MB`);
    expect(ours).toBeLessThan(reference / 2);
  });
});
