/**
 * Exports of many small files (phone extractions, mail stores): seal takes
 * them in batches and streams its manifests, and what it writes must still
 * be what stock tools and custody's own verify accept; what a reader would
 * refuse (TAG_LIMITS in src/bundle/layout.ts) is refused before sealing.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';
import { TAG_LIMITS } from '../src/bundle/layout.js';

let dir: string;
let home: string;
const env = () => ({ CUSTODY_HOME: home });
const FILES = 20_000;

function sh(cmd: string, cwd: string): { code: number; out: string } {
  const r = spawnSync('sh', ['-c', cmd], { cwd, encoding: 'utf8', maxBuffer: 256 << 20 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
  dir = tempDir('custody-many-');
  home = path.join(dir, 'home');
  expect(runCli(['key', 'new', '--name', 'Ann Examiner', '--no-passphrase'], { env: env() }).code).toBe(0);
  // 20,000 files of 0–199 bytes, 100 to a folder, 3 levels; names that sort differently by path and by folder
  // ("a.b" before "a/…", "a-b") so the manifests' order is put to the test.
  const ev = path.join(dir, 'export');
  const made = new Set<string>();
  for (let i = 0; i < FILES; i++) {
    const sub = path.join(ev, `d${i % 7}`, i % 3 === 0 ? 'a' : i % 3 === 1 ? 'a.b' : 'a-b', `f${Math.floor(i / 100)}`);
    if (!made.has(sub)) fs.mkdirSync(sub, { recursive: true });
    made.add(sub);
    fs.writeFileSync(path.join(sub, `m${i}.eml`), `message ${i}\n${'x'.repeat(i % 187)}`);
  }
  fs.writeFileSync(path.join(ev, 'a'), 'a file named like the folders below it');
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }), 300_000);

describe('a tree of 20,000 small files', () => {
  it('seals, and the bundle checks out with tar -x and sha256sum -c / md5sum -c and with custody verify', () => {
    const bundle = path.join(dir, 'export.tar');
    const r = runCli(['--json', 'seal', path.join(dir, 'export'), '--case', 'CASE-MANY', '--out', bundle, '--item', 'export'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const sealed = JSON.parse(r.stdout);
    expect(sealed.files).toBe(FILES + 1);
    expect(sealed.items[0].files).toBe(FILES + 1);

    const x = path.join(dir, 'x');
    fs.mkdirSync(x);
    expect(sh(`tar -xf ${JSON.stringify(bundle)}`, x).code).toBe(0);
    const bag = path.join(x, 'export');
    const sums = sh('sha256sum -c --quiet manifest-sha256.txt && md5sum -c --quiet manifest-md5.txt && sha256sum -c --quiet tagmanifest-sha256.txt', bag);
    expect(sums.out).toBe('');
    expect(sums.code).toBe(0);
    expect(sh('wc -l < manifest-sha256.txt', bag).out.trim()).toBe(String(FILES + 1));
    // Sorted by path bytes, as BagIt and our readers expect (LC_ALL=C sort is byte order).
    expect(sh("cut -c67- manifest-sha256.txt | LC_ALL=C sort -c && echo sorted", bag).out.trim()).toBe('sorted');
    const manifest = JSON.parse(fs.readFileSync(path.join(bag, 'custody/manifest.json'), 'utf8'));
    expect(manifest.files.length).toBe(FILES + 1);

    const v = runCli(['verify', bundle], { env: env() });
    expect(v.code, v.stdout + v.stderr).toBe(0);
  }, 600_000);

  it('hash -r gives the same digests as sha256sum, file for file, each folder in name order', () => {
    const sub = path.join(dir, 'export', 'd3');
    const r = runCli(['hash', '-r', '--format', 'sums', sub]);
    expect(r.code, r.stderr).toBe(0);
    const mine = r.stdout.trim().split('\n');
    const files = mine.map((l) => l.slice(66));
    expect(files.length).toBe(Array.from({ length: FILES }, (_, i) => i).filter((i) => i % 7 === 3).length);
    expect(files.slice(0, 2)).toEqual([path.join(sub, 'a', 'f0', 'm24.eml'), path.join(sub, 'a', 'f0', 'm3.eml')]);
    fs.writeFileSync(path.join(dir, 'list'), `${files.join('\n')}\n`);
    const stock = sh("xargs -d '\\n' sha256sum < list", dir).out.trim().split('\n');
    expect(mine).toEqual(stock);
  }, 300_000);
});

describe('limits a reader enforces', () => {
  it(`refuses before reading a path whose manifest line would pass ${TAG_LIMITS.tagLineBytes} bytes, in one line, leaving nothing`, () => {
    // 15 folders of 250 '%' each: under the 4096-byte name limit, but each '%' is '%25' in the manifests.
    const deep = path.join(dir, 'percent', ...Array.from({ length: 15 }, () => '%'.repeat(250)));
    fs.mkdirSync(deep, { recursive: true });
    fs.writeFileSync(path.join(deep, 'f'), 'x');
    const out = path.join(dir, 'percent.tar');
    const r = runCli(['seal', path.join(dir, 'percent'), '--case', 'CASE-P', '--out', out], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^custody: cannot seal data/percent/%+/.*more than the ${TAG_LIMITS.tagLineBytes} a bundle reader takes`));
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('.percent.tar'))).toEqual([]);
  });
});
