/**
 * bin/custody.js starts a command from its bundle in dist/bundled/ with V8's code
 * cache (scripts/build-cli.mjs), and from the ES modules in dist/ whenever the
 * bundles are not what dist/ holds now. These check that the build made them,
 * that V8 takes the caches, that a bundled run answers as the modules do, and that
 * a stale or altered bundle or a foreign cache is never what runs.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_NAMES } from '../src/cli/entry.js';
import { ROOT, runCli, tempDir } from './helpers/cli.js';

const BUNDLED = path.join(ROOT, 'dist', 'bundled');

interface Manifest {
  stamp: number;
  commands: string[];
  bundles: Record<string, { size: number; mtimeMs: number; cacheSize: number }>;
}
const manifest = (root = ROOT): Manifest => JSON.parse(fs.readFileSync(path.join(root, 'dist', 'bundled', 'manifest.json'), 'utf8'));

/** The same argv run from the ES modules in dist/ (what bin/ falls back to). */
function runModules(args: string[]) {
  const entry = path.join(ROOT, 'dist', 'cli', 'entry.js');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(entry)}).then((m) => m.main(['node', 'custody', ...process.argv.slice(1)]))`, '--', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs bin/custody.js of another copy of the package (its dist/ a copy, node_modules shared). */
function runCopy(root: string, args: string[]) {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'custody.js'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the bundled start', () => {
  it('has a bundle for every command, --version and the whole program, each with its code cache', () => {
    const m = manifest();
    expect([...m.commands].sort()).toEqual([...COMMAND_NAMES].sort());
    expect(Object.keys(m.bundles).sort()).toEqual([...COMMAND_NAMES, 'all', 'version', 'log-case'].sort());
    expect(m.stamp, 'tsc rebuilt dist/ after the bundles: run npm run build (or node scripts/build-cli.mjs)').toBe(fs.statSync(path.join(ROOT, 'dist', 'cli', 'entry.js')).mtimeMs);
    for (const [name, b] of Object.entries(m.bundles)) {
      expect(fs.statSync(path.join(BUNDLED, `${name}.cjs`)).size, name).toBe(b.size);
      expect(fs.statSync(path.join(BUNDLED, `${name}.cache`)).size, name).toBe(b.cacheSize);
    }
  });

  it('has code caches that this node accepts', () => {
    // A plain node child: V8 refuses a cache made under other flags, and vitest's workers run with some.
    const code = `const b = require(${JSON.stringify(path.join(ROOT, 'bin', 'custody.js'))}); const fs = require('node:fs');
      const out = {}; for (const n of process.argv.slice(1)) out[n] = b.compileBundle(${JSON.stringify(BUNDLED)} + '/' + n + '.cjs', fs.readFileSync(${JSON.stringify(BUNDLED)} + '/' + n + '.cache')).cachedDataRejected;
      console.log(JSON.stringify(out));`;
    const names = ['version', 'log', 'log-case', 'all'];
    const r = spawnSync(process.execPath, ['-e', code, '--', ...names], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ version: false, log: false, 'log-case': false, all: false });
  });

  it('answers as the modules in dist/ do: output, errors and exit codes', () => {
    const home = tempDir();
    try {
      expect(runCli(['--home', home, 'case', 'new', 'B-1', '--title', 'Bundled'])).toMatchObject({ code: 0 });
      for (const args of [['--version'], ['--home', home, 'case', 'list', '--json'], ['--home', home, 'log', '--case', 'B-1', '--json'], ['--home', home, 'log', '--case', 'NONE'], ['log', '--bogus'], ['--help']]) {
        const bundled = runCli(args);
        expect({ code: bundled.code, stdout: bundled.stdout, stderr: bundled.stderr }, args.join(' ')).toEqual(runModules(args));
      }
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  describe('in a copy of the package', () => {
    let root: string;
    beforeAll(() => {
      root = tempDir('custody-bundle-');
      fs.cpSync(path.join(ROOT, 'bin'), path.join(root, 'bin'), { recursive: true, preserveTimestamps: true });
      fs.cpSync(path.join(ROOT, 'dist'), path.join(root, 'dist'), { recursive: true, preserveTimestamps: true });
      fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(root, 'package.json'));
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
    });
    afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

    /** Replaces a bundle by one that says so when it runs, keeping its size and time (what the manifest checks). */
    function impostor(name: string): void {
      const file = path.join(root, 'dist', 'bundled', `${name}.cjs`);
      const st = fs.statSync(file);
      const text = "exports.main = () => { console.log('IMPOSTOR'); };";
      fs.writeFileSync(file, `${text}${' '.repeat(st.size - text.length)}`);
      fs.utimesSync(file, st.atime, st.mtime);
    }

    it('runs the bundle the manifest names (so the checks below check something)', () => {
      impostor('version');
      fs.rmSync(path.join(root, 'dist', 'bundled', 'version.cache'));
      expect(runCopy(root, ['--version']).stdout).toBe('IMPOSTOR\n');
    });

    it('runs log --case alone from the log-case bundle, and every other log argv from the whole log bundle', () => {
      impostor('log-case');
      fs.rmSync(path.join(root, 'dist', 'bundled', 'log-case.cache')); // the cache V8 would run instead of the impostor
      for (const args of [['log', '--case', 'C-1'], ['--home', root, 'log', '--case=C-1', '--json'], ['log', '--json', '--case', 'C-1', '--ledger', 'x.db']]) {
        expect(runCopy(root, args).stdout, args.join(' ')).toBe('IMPOSTOR\n');
      }
      for (const args of [['log', 'b.tar'], ['log', '--case', 'C-1', 'b.tar'], ['log', '--case', 'C-1', '--help'], ['log', '--case', 'C-1', '--receipt', 'r.json'], ['log', '--case'], ['log', '--', '--case']]) {
        expect(runCopy(root, args).stdout, args.join(' ')).not.toBe('IMPOSTOR\n');
      }
      // Back to the bundle the build wrote, for the tests below.
      for (const f of ['log-case.cjs', 'log-case.cache']) fs.copyFileSync(path.join(BUNDLED, f), path.join(root, 'dist', 'bundled', f));
      fs.utimesSync(path.join(root, 'dist', 'bundled', 'log-case.cjs'), new Date(), new Date(manifest(root).bundles['log-case']!.mtimeMs));
    });

    it('starts from dist/ when a bundle is not the file the build wrote', () => {
      const file = path.join(root, 'dist', 'bundled', 'version.cjs');
      fs.appendFileSync(file, '\n');
      expect(runCopy(root, ['--version'])).toMatchObject({ code: 0, stdout: '0.1.0\n' });
      fs.appendFileSync(file, '\n');
      fs.utimesSync(file, new Date(), new Date(manifest(root).bundles.version!.mtimeMs + 1000));
      expect(runCopy(root, ['--version']).stdout).toBe(`${JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}\n`);
    });

    it('starts from dist/ once tsc has rewritten it after the bundles were made', () => {
      impostor('log');
      const entry = path.join(root, 'dist', 'cli', 'entry.js');
      fs.utimesSync(entry, new Date(), new Date(Date.now() + 5000));
      const r = runCopy(root, ['log', '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Usage: custody log');
    });

    it('gives V8 no cache but the one made beside the bundle, and runs right when V8 refuses one', () => {
      // Back to a fresh copy of dist/bundled (the tests above altered it).
      fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
      fs.cpSync(path.join(ROOT, 'dist'), path.join(root, 'dist'), { recursive: true, preserveTimestamps: true });
      const cache = path.join(root, 'dist', 'bundled', 'log-case.cache');
      const size = fs.statSync(cache).size;
      fs.writeFileSync(cache, Buffer.alloc(size, 0x5a)); // the size the manifest expects, bytes V8 refuses
      const home = tempDir();
      try {
        const r = runCopy(root, ['--home', home, 'log', '--case', 'NONE', '--json']);
        expect(r.code).toBe(2);
        expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
        fs.writeFileSync(cache, fs.readFileSync(path.join(BUNDLED, 'version.cache')));
        expect(runCopy(root, ['--home', home, 'log', '--case', 'NONE', '--json']).stdout).toBe(r.stdout);
      } finally {
        fs.rmSync(home, { recursive: true, force: true });
      }
    });
  });
});
