/**
 * Which argv bin/custody.js may run from the log-case bundle (the log bundle
 * without its bundle readers): `log --case <id>` with global options and
 * nothing else (argv-command.ts logCaseOnly). Anything that could read a
 * bundle, ask for help or carry an option the case read does not take goes to
 * the whole log bundle.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { logCaseOnly } from '../src/cli/argv-command.js';
import { ROOT, runCli, tempDir } from './helpers/cli.js';

const argv = (...a: string[]) => ['node', 'custody', ...a];

describe('logCaseOnly', () => {
  it('takes log --case with global options before or after the command', () => {
    for (const a of [
      ['log', '--case', 'C-1'],
      ['log', '--case=C-1'],
      ['--home', 'h', '--ledger', 'postgres://x/y', 'log', '--case', 'C-1', '--json'],
      ['--ledger=postgres://x/y', '-q', 'log', '--no-color', '--case', 'C-1'],
      ['log', '--case', '--json'], // commander takes --json as the case id: still a case read
      ['log', '--case', 'A', '--case', 'B'],
    ]) {
      expect(logCaseOnly(argv(...a)), a.join(' ')).toBe(true);
    }
  });

  it('leaves to the whole log bundle anything else', () => {
    for (const a of [
      ['log', 'b.tar'],
      ['log', '--case', 'C-1', 'b.tar'],
      ['log', 'b.tar', '--case', 'C-1'],
      ['log', '--case', 'C-1', '--receipt', 'r.json'],
      ['log', '--case', 'C-1', '--help'],
      ['log', '--case', 'C-1', '-h'],
      ['log', '--case'],
      ['log', '--', '--case', 'C-1'],
      ['log', '--case', 'C-1', '--identity', 'k'],
      ['log'],
      ['verify', '--case', 'C-1'],
      ['--home', 'log', 'verify', '--case', 'C-1'],
      ['--bogus', 'log', '--case', 'C-1'],
      [],
    ]) {
      expect(logCaseOnly(argv(...a)), a.join(' ')).toBe(false);
    }
  });
});

describe('the log-case bundle', () => {
  it('imports only builtins that log --case loads anyway (the build gives it one namespace per builtin, made at start)', () => {
    const text = fs.readFileSync(path.join(ROOT, 'dist', 'bundled', 'log-case.cjs'), 'latin1');
    const imported = [...new Set([...text.matchAll(/require\("node:([a-z_/]+)"\)/g)].map((m) => m[1]!))];
    expect(imported).toContain('fs');
    const dir = tempDir('custody-log-case-');
    try {
      const out = path.join(dir, 'loaded.json');
      const preload = path.join(dir, 'watch.cjs');
      fs.writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.moduleLoadList)));\n`);
      fs.mkdirSync(path.join(dir, 'home'));
      const r = runCli(['--home', path.join(dir, 'home'), 'log', '--case', 'C-1', '--json'], { env: { NODE_OPTIONS: `--require ${preload}` } });
      expect(r.stdout).toMatch(/"ok":false/);
      const loaded = new Set((JSON.parse(fs.readFileSync(out, 'utf8')) as string[]).map((m) => m.replace(/^NativeModule /, '')));
      expect(imported.filter((b) => !loaded.has(b))).toEqual([]);
      // What a case read never uses is loaded on first use only (scripts/build-cli.mjs LAZY_BUILTINS).
      expect(['child_process', 'fs/promises', 'readline', 'dgram', 'crypto'].filter((b) => loaded.has(b))).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
