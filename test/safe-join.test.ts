/**
 * safeJoin, the last check of every path extract writes, sets a time on or
 * renames: it remembers the folder it checked last and the root's joined
 * form, and must still give, call after call, exactly what checking every
 * component and path.join give — the same path or the same refusal.
 */
import path from 'node:path';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { safeJoin } from '../src/bundle/extract.js';
import { componentProblem } from '../src/bundle/layout.js';

/** The definition: every component checked in order, then joined by path.join, then kept inside the root. */
function reference(root: string, rel: string): string {
  const parts = rel.split('/');
  for (const c of parts) {
    const p = componentProblem(c);
    if (p) throw new Error(`refusing to extract ${JSON.stringify(rel)}: it has ${p}`);
  }
  const full = path.join(root, ...parts);
  if (!full.startsWith(root + path.sep)) throw new Error(`refusing to extract ${JSON.stringify(rel)}: outside the destination`);
  return full;
}

const outcome = (f: () => string): { ok: string } | { error: string } => {
  try {
    return { ok: f() };
  } catch (e) {
    return { error: (e as Error).message };
  }
};

it('gives what checking every component and path.join give, call after call, for any roots and names (property)', () => {
  const component = fc.oneof(
    fc.constantFrom('a', 'b', 'data', 'x.bin', '.', '..', '', ' ', 'é', 'a\u0001b', 'x'.repeat(90), 'é'.repeat(130)),
    fc.string({ unit: fc.constantFrom('a', '.', '/', '\\', ' ', '-'), maxLength: 4 }),
  );
  const rel = fc.array(component, { minLength: 1, maxLength: 5 }).map((c) => c.join('/'));
  const root = fc.constantFrom('/tmp/x', '/tmp/x/', '/tmp//x', '/tmp/./x', '/tmp/y/../x', '/', 'rel/dir', 'rel/../dir', '.', '');
  // Runs of calls, each often in the folder of the one before, under one root or two.
  fc.assert(
    fc.property(fc.array(fc.tuple(root, rel, fc.boolean()), { minLength: 1, maxLength: 12 }), (calls) => {
      let prev = 'data/a';
      for (const [r, p, sameFolder] of calls) {
        const rel = sameFolder ? `${prev.slice(0, prev.lastIndexOf('/') + 1)}${p.split('/').pop()}` : p;
        expect(outcome(() => safeJoin(r, rel)), `${r} ${JSON.stringify(rel)}`).toEqual(outcome(() => reference(r, rel)));
        prev = rel;
      }
    }),
    { numRuns: 2000 },
  );
});

it('refuses a bad component in a folder it checked a moment before under another name, and a bad name in a good folder', () => {
  expect(safeJoin('/r', 'data/a/b/f1')).toBe('/r/data/a/b/f1');
  expect(() => safeJoin('/r', 'data/a/../f2')).toThrow(/it has a '\.\.' path component/);
  expect(() => safeJoin('/r', 'data/a/b/..')).toThrow(/it has a '\.\.' path component/);
  expect(safeJoin('/r', 'data/a/b/f3')).toBe('/r/data/a/b/f3');
});
