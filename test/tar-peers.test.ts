/**
 * A sealed bundle read by the six tar readers a receiving authority may have
 * — GNU tar, bsdtar (libarchive), Python's tarfile, BusyBox tar, 7-Zip and
 * MirBSD pax — gives the same names, sizes and bytes in every one of them,
 * non-ASCII and long names included (pax `path` records). bsdtar told to
 * read raw header names as CP1252 still lists the right names (the pax
 * record is UTF-8 by definition), and bagit-python validates the bag that
 * comes out. The strict reader refuses a non-ASCII name written without its
 * pax record (not the canonical form).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTarStrict } from '../src/bundle/tar-reader.js';
import { runCli, tempDir } from './helpers/cli.js';
import { chunked } from './helpers/tar-read.js';
import { BAGIT, EXTRACTORS, treeOf } from './helpers/tar-peers.js';

/** A one-member tar (empty file) whose name sits as raw UTF-8 in the ustar name field, with no pax record. */
function bareUstar(name: string): Uint8Array {
  const h = new Uint8Array(512);
  h.set(Buffer.from(name), 0);
  for (const [off, s] of [[100, '0000644\0'], [108, '0000000\0'], [116, '0000000\0'], [124, '00000000000\0'], [136, '00000000000\0'], [329, '0000000\0'], [337, '0000000\0']] as const) {
    h.set(Buffer.from(s, 'latin1'), off);
  }
  h[156] = 0x30;
  h.set(Buffer.from('ustar\u000000', 'latin1'), 257);
  h.fill(0x20, 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  h.set(Buffer.from(`${sum.toString(8).padStart(6, '0')}\0 `, 'latin1'), 148);
  const tar = new Uint8Array(512 * 3);
  tar.set(h, 0);
  return tar;
}

const LONG_ASCII = `${'a'.repeat(60)}/${'b'.repeat(60)}/${'c'.repeat(60)}.txt`; // > 100 bytes, splits into prefix/name
const LONG_UTF8 = `${'é'.repeat(70)}.bin`; // one 144-byte component: no ustar split holds it
const NAMES = ['café.txt', '日本語/証拠 ファイル.bin', 'Ünïcödé dir/naïve.txt', 'plain ascii name.txt', LONG_ASCII, LONG_UTF8];

let dir: string;
let home: string;
let bundle: string;
let expected: Map<string, [number, string]>;

beforeAll(() => {
  dir = tempDir('custody-tar-peers-');
  home = path.join(dir, 'home');
  const k = runCli(['key', 'new', '--name', 'Pax Tester', '--no-passphrase'], { env: { CUSTODY_HOME: home } });
  expect(k.code, k.stderr).toBe(0);
  const ev = path.join(dir, 'ev');
  NAMES.forEach((n, i) => {
    fs.mkdirSync(path.dirname(path.join(ev, n)), { recursive: true });
    fs.writeFileSync(path.join(ev, n), Buffer.alloc(1000 * i + 3, i + 65));
  });
  bundle = path.join(dir, 'peers.tar');
  const r = runCli(['seal', ev, '--case', 'PAX-1', '--item', 'ev', '--out', bundle, '--piece', '0'], { env: { CUSTODY_HOME: home } });
  expect(r.code, r.stderr).toBe(0);
  const x = path.join(dir, 'reference');
  fs.mkdirSync(x);
  expect(spawnSync('tar', ['-xf', bundle], { cwd: x }).status).toBe(0);
  expected = treeOf(x);
  for (const n of NAMES) expect(expected.has(`peers/data/ev/${n}`), n).toBe(true);
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a bundle with non-ASCII and long names', () => {
  for (const [reader, cmd] of Object.entries(EXTRACTORS)) {
    it(`extracts with the same names, sizes and bytes in ${reader}`, () => {
      const x = path.join(dir, `x-${reader.replace(/\W+/g, '-')}`);
      fs.mkdirSync(x);
      const [bin, args] = cmd(bundle);
      const r = spawnSync(bin, args, { cwd: x, encoding: 'utf8' });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
      expect(treeOf(x)).toEqual(expected);
    });
  }

  it('is listed with the right names by bsdtar reading header names as CP1252', () => {
    const r = spawnSync('bsdtar', ['--options', 'hdrcharset=CP1252', '-tf', bundle], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const listed = new Set(r.stdout.split('\n'));
    for (const n of NAMES) expect(listed.has(`peers/data/ev/${n}`), n).toBe(true);
    // Without the pax record the same reader mangles the name: the check above is not vacuous.
    const bare = path.join(dir, 'bare.tar');
    fs.writeFileSync(bare, bareUstar('b/café.txt'));
    const m = spawnSync('bsdtar', ['--options', 'hdrcharset=CP1252', '-tf', bare], { encoding: 'utf8' });
    expect(m.stdout.trim()).not.toBe('b/café.txt');
  });

  it('gives a bag that bagit-python validates', () => {
    const x = path.join(dir, 'x-bagit');
    fs.mkdirSync(x);
    expect(spawnSync('tar', ['-xf', bundle], { cwd: x }).status).toBe(0);
    const r = spawnSync(BAGIT, ['--validate', path.join(x, 'peers')], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stderr).toMatch(/is valid/);
  });

  it('carries a pax path record for each name that is not printable ASCII, and none for plain short names', async () => {
    const bytes = fs.readFileSync(bundle);
    const withPax: string[] = [];
    for await (const e of readTarStrict(chunked(bytes, 1 << 20), { canonical: true })) {
      if (e.dataOffset - e.headerOffset > 512) withPax.push(e.name.replace(/^peers\/data\/ev\//, ''));
    }
    expect(withPax.sort()).toEqual(NAMES.filter((n) => n !== 'plain ascii name.txt' && n !== LONG_ASCII).sort());
  });
});

describe('the strict reader', () => {
  it('refuses a non-ASCII name in a bare ustar header (no pax path record): not the canonical form', async () => {
    const tar = bareUstar('b/café.txt');
    const lenient = [];
    for await (const e of readTarStrict(chunked(tar, 512))) lenient.push(e.name);
    expect(lenient).toEqual(['b/café.txt']);
    await expect(async () => {
      for await (const _ of readTarStrict(chunked(tar, 512), { canonical: true })) {
        // read
      }
    }).rejects.toThrow(/not in the canonical form/);
  });
});
