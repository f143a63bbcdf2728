/**
 * The layers of DESIGN §7 hold in the import graph: core → custody →
 * bundle, ledger → ops → cli → page (the verifier page, built apart for the browser), each importing only those below it; no
 * command imports another command; and there is no import cycle.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '..', 'src');
const LAYER: Record<string, number> = { core: 0, custody: 1, bundle: 2, ledger: 2, ops: 3, cli: 4, page: 5 };
const IMPORT = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative imports of each file, resolved to .ts files under src/. */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
    const deps: string[] = [];
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!;
      if (!spec.startsWith('.')) continue;
      deps.push(path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts'));
    }
    g.set(file, deps);
  }
  return g;
}

const layerOf = (file: string): string => path.relative(SRC, file).split(path.sep)[0]!;
const rel = (file: string): string => path.relative(SRC, file);

describe('the import graph', () => {
  const g = graph();

  it('reads the source tree (so the checks below check something)', () => {
    expect(g.size).toBeGreaterThan(80);
    for (const l of Object.keys(LAYER)) expect([...g.keys()].some((f) => layerOf(f) === l), l).toBe(true);
  });

  it('has no upward arrow and no import between layers of the same level', () => {
    const bad: string[] = [];
    for (const [file, deps] of g) {
      const a = layerOf(file);
      for (const d of deps) {
        const b = layerOf(d);
        if (a in LAYER && b in LAYER && a !== b && LAYER[b]! >= LAYER[a]!) bad.push(`${rel(file)} imports ${rel(d)}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('has no command importing another command', () => {
    const bad: string[] = [];
    for (const [file, deps] of g) {
      if (!rel(file).startsWith(path.join('cli', 'commands')) || file.endsWith('index.ts')) continue;
      for (const d of deps) if (rel(d).startsWith(path.join('cli', 'commands'))) bad.push(`${rel(file)} imports ${rel(d)}`);
    }
    expect(bad).toEqual([]);
  });

  it('has no cycle', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, stack: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...stack.slice(stack.indexOf(f)), f].map(rel).join(' → '));
        return;
      }
      state.set(f, 'open');
      for (const d of g.get(f) ?? []) visit(d, [...stack, f]);
      state.set(f, 'done');
    };
    for (const f of g.keys()) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
