/**
 * An --out that cannot be written is refused before a byte of evidence is
 * read: a folder (even with --force), a folder that does not exist, one we
 * may not write in, a file system with less free space than the evidence
 * needs (a 15 TB sparse image: reading it first would take days, so a quick
 * refusal proves nothing was read). Nothing is left behind.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';

let dir: string;
let home: string;
let ev: string;
const env = () => ({ CUSTODY_HOME: home });

beforeAll(() => {
  dir = tempDir('custody-out-');
  home = path.join(dir, 'home');
  expect(runCli(['key', 'new', '--name', 'Olga Out', '--no-passphrase'], { env: env() }).code).toBe(0);
  ev = path.join(dir, 'ev.bin');
  fs.writeFileSync(ev, 'evidence\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('seal --out', () => {
  it('refuses a folder, even with --force, naming a file to give instead', () => {
    const folder = path.join(dir, 'afolder');
    fs.mkdirSync(folder);
    for (const extra of [[], ['--force']]) {
      const r = runCli(['seal', ev, '--case', 'O-1', '--out', folder, ...extra], { env: env() });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^custody: --out ${folder} is a folder`));
      expect(r.stderr).not.toMatch(/EISDIR/);
    }
    expect(fs.readdirSync(folder)).toEqual([]);
  });

  it('refuses a folder that does not exist', () => {
    const r = runCli(['seal', ev, '--case', 'O-1', '--out', path.join(dir, 'nope', 'b.tar')], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^custody: the folder of --out .*nope\/b\.tar \(.*nope\) does not exist/);
  });

  it.skipIf(process.getuid?.() === 0)('refuses a folder it may not write in', () => {
    const ro = path.join(dir, 'ro');
    fs.mkdirSync(ro, { mode: 0o555 });
    const r = runCli(['seal', ev, '--case', 'O-1', '--out', path.join(ro, 'b.tar')], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^custody: cannot write in /);
  });

  it('refuses less free space than the evidence needs, before reading it', () => {
    const huge = path.join(dir, 'huge.img');
    expect(spawnSync('truncate', ['-s', '15T', huge]).status).toBe(0);
    const out = path.join(dir, 'huge.tar');
    const t0 = Date.now();
    const r = runCli(['seal', huge, '--case', 'O-1', '--out', out], { env: env(), timeout: 60_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^custody: not enough free space for .*huge\.tar: the bundle needs about \d+ bytes, .* has \d+ free; nothing was read/);
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(fs.readdirSync(dir).filter((f) => f.includes('huge.tar'))).toEqual([]);
  });
});
