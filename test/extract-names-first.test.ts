/**
 * Extract of a bundle file onto a target that cannot hold two of its names
 * refuses before it writes a byte: every member name goes through the target
 * check as the header walk meets it, before any data is read. From stdin the
 * same refusal comes member by member (names-as-they-are.test.ts), so its
 * words cannot tell the two apart; a tripwire can. The extract runs under a
 * file-size limit (`ulimit -f`) smaller than the bundle's first member: a
 * write of that member would end the process with SIGXFSZ. The target is
 * simulated (this machine cannot mount a case-insensitive file system).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';

const ROOT = path.resolve(__dirname, '..');
let dir: string;
let bundle: string;
let pub: string;

/** Runs extractBundle from dist/ in a child under `ulimit -f 16` (16 KiB files at most), onto a target that folds case or not. */
function extractLimited(into: string, caseInsensitive: boolean): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const script = `
    const fs = require('node:fs');
    (async () => {
      const { extractBundle } = await import(${JSON.stringify(path.join(ROOT, 'dist/ops/extract.js'))});
      const { openBundleInput } = await import(${JSON.stringify(path.join(ROOT, 'dist/ops/bundle-input.js'))});
      const { parsePublicKeyFile } = await import(${JSON.stringify(path.join(ROOT, 'dist/custody/identity.js'))});
      const sealer = parsePublicKeyFile(fs.readFileSync(process.argv[3])).publicKey;
      try {
        await extractBundle({ input: await openBundleInput(process.argv[1]), into: process.argv[2], trusted: [sealer], target: { caseInsensitive: process.argv[4] === 'fold', normalisationInsensitive: false, windowsNames: false } });
        console.log('extracted');
      } catch (e) {
        console.log(e.code + ' ' + e.message);
      }
    })();`;
  return spawnSync('sh', ['-c', `ulimit -f 16 && exec "$0" -e "$1" "$2" "$3" "$4" "$5"`, process.execPath, script, bundle, into, pub, caseInsensitive ? 'fold' : 'keep'], { encoding: 'utf8' });
}

beforeAll(() => {
  dir = tempDir('custody-names-first-');
  const home = path.join(dir, 'home');
  const k = runCli(['--json', 'key', 'new', '--name', 'Nina Names', '--no-passphrase'], { env: { CUSTODY_HOME: home } });
  expect(k.code, k.stderr).toBe(0);
  pub = JSON.parse(k.stdout).pubFile;
  const ev = path.join(dir, 'ev');
  fs.mkdirSync(ev);
  fs.writeFileSync(path.join(ev, 'A-first.bin'), Buffer.alloc(1 << 20, 7)); // first member, 1 MiB: over the limit, and written as it is read (not batched)
  fs.writeFileSync(path.join(ev, 'README.txt'), 'one\n');
  fs.writeFileSync(path.join(ev, 'Readme.txt'), 'two\n');
  bundle = path.join(dir, 'names.tar');
  const r = runCli(['seal', ev, '--case', 'N-2', '--item', 'ev', '--out', bundle], { env: { CUSTODY_HOME: home } });
  expect(r.code, r.stderr).toBe(0);
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('extract of a bundle file onto a target that cannot hold two of its names', () => {
  it('the tripwire works: onto a target that holds both names, writing the first member trips the limit', () => {
    const r = extractLimited(path.join(dir, 'plain'), false);
    expect(r.stdout).not.toMatch(/extracted|USAGE/);
    expect(r.signal === 'SIGXFSZ' || /EFBIG|too large/i.test(r.stdout), `${r.signal} ${r.stdout} ${r.stderr}`).toBe(true);
  });

  it('refuses, naming both members, before writing a byte of the first one', () => {
    const into = path.join(dir, 'out');
    const r = extractLimited(into, true);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.stdout.trim()).toMatch(/^USAGE cannot extract into .*: "data\/ev\/README\.txt" and "data\/ev\/Readme\.txt" would be one file there \(its file system ignores case\); nothing was written to /);
    expect(fs.existsSync(into)).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.includes('custody-tmp'))).toEqual([]);
  });
});
