/**
 * Hostile bundles through the CLI: verify and extract exit 1 with one
 * `custody:` line naming the reason (no stack trace), the JSON verdict names
 * member, item and byte range, and extract leaves nothing behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashEngine } from '../src/core/engine.js';
import { publicKeyFile } from '../src/custody/identity.js';
import { runCli, tempDir } from './helpers/cli.js';
import { hostileBundles, MALLORY, SEALER, sealFixture, writeTree, type HostileBundle } from './helpers/hostile-bundle.js';

let dir: string;
let pub: string;
let cases: HostileBundle[];
let goodFile: string;
const PIECE = 4096;
const home = () => ({ CUSTODY_HOME: path.join(dir, 'home') });

beforeAll(async () => {
  dir = tempDir('custody-verify-cli-');
  const engine = new HashEngine({ workers: 2 });
  try {
    writeTree(path.join(dir, 'ev'), { 'disk.img': new Uint8Array(4 * PIECE + 9).map((_, i) => i % 251), 'notes/n.txt': 'notes\n' });
    const reqs = [
      { path: path.join(dir, 'ev/disk.img'), id: 'disk01', meta: {} },
      { path: path.join(dir, 'ev/notes'), meta: {} },
    ];
    const good = await sealFixture(engine, dir, reqs, { pieceSize: PIECE, out: 'good.tar' });
    goodFile = good.file;
    const bad = await sealFixture(engine, dir, reqs, { pieceSize: PIECE, out: 'mallory.tar', signer: MALLORY });
    cases = await hostileBundles(good.bytes, PIECE, bad.bytes);
  } finally {
    await engine.close();
  }
  pub = path.join(dir, 'sealer.pub');
  fs.writeFileSync(pub, publicKeyFile(SEALER.identity, '2026-01-01T00:00:00.000Z'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function hostile(id: string): string {
  const c = cases.find((x) => x.id === id);
  if (!c) throw new Error(`no case ${id}`);
  const f = path.join(dir, `${id.replace(/\W+/g, '_')}.tar`);
  fs.writeFileSync(f, c.bytes);
  return f;
}

describe('verify (CLI) on hostile bundles', () => {
  it('the good bundle verifies', () => {
    const r = runCli(['verify', goodFile, '--trust', pub], { env: home() });
    expect(r.code, r.stderr).toBe(0);
  });

  it('a flipped data byte: exit 1, one line naming the file, item and byte range; JSON has them too (default pieces mode)', () => {
    const f = hostile('flipped data byte in the second piece');
    const r = runCli(['verify', f, '--trust', pub], { env: home() });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^custody: data\/disk01\/disk\.img \(item disk01\): piece SHA-256 differs from custody\/pieces-sha256\.txt.* bytes 4096-8191/);
    expect(r.stdout).toMatch(/^NOT VERIFIED/);
    expect(r.stdout).toMatch(/mode +pieces/);
    const j = runCli(['--json', 'verify', f, '--trust', pub], { env: home() });
    const doc = JSON.parse(j.stdout);
    expect(doc.ok).toBe(false);
    expect(doc.verdict.mode).toBe('pieces');
    expect(doc.error).toMatchObject({ code: 'HASH_MISMATCH', member: 'data/disk01/disk.img', item: 'disk01', range: [4096, 8191] });
    // The flat manifests are not recomputed in this mode: only the piece-based checks fail.
    expect(doc.verdict.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { check: string }) => c.check)).toEqual([
      'payload against custody/pieces-sha256.txt',
      'custody/manifest.json',
      'custody/pieces-sha256.txt',
    ]);
  });

  it('a flipped data byte with --full: the md5 manifest names it first, every flat manifest fails too', () => {
    const f = hostile('flipped data byte in the second piece');
    const r = runCli(['verify', f, '--trust', pub, '--full'], { env: home() });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^custody: data\/disk01\/disk\.img \(item disk01\): md5 differs .* bytes 4096-8191/);
    expect(r.stdout).toMatch(/mode +full/);
    const j = runCli(['--json', 'verify', f, '--trust', pub, '--full'], { env: home() });
    const doc = JSON.parse(j.stdout);
    expect(doc.verdict.mode).toBe('full');
    expect(doc.error).toMatchObject({ code: 'HASH_MISMATCH', member: 'data/disk01/disk.img', item: 'disk01', range: [4096, 8191] });
    expect(doc.verdict.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { check: string }) => c.check)).toEqual([
      'manifest-md5.txt',
      'manifest-sha1.txt',
      'manifest-sha256.txt',
      'custody/manifest.json',
      'custody/pieces-sha256.txt',
    ]);
  });

  it.each([
    ['re-sealed by an untrusted key', 'UNTRUSTED_KEY'],
    ['flipped raw signature', 'SIGNATURE_ERROR'],
    ['flipped manifest', 'HASH_MISMATCH'],
    ['removed tag file', 'MALFORMED_BUNDLE'],
    ['tar: symlink', 'UNSAFE_BUNDLE'],
    ['tar: dotDotName', 'UNSAFE_BUNDLE'],
    ['appended garbage', 'UNSAFE_BUNDLE'],
  ])('%s → exit 1, %s, no stack trace', (id, code) => {
    const r = runCli(['--json', 'verify', hostile(id), '--trust', pub], { env: home() });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe(code);
    const t = runCli(['verify', hostile(id), '--trust', pub], { env: home() });
    expect(t.stderr).toMatch(/^custody: /);
    expect(t.stderr).not.toMatch(/\n\s+at /);
  });

  it('usage errors exit 2', () => {
    expect(runCli(['verify', path.join(dir, 'missing.tar')], { env: home() }).code).toBe(2);
    expect(runCli(['verify', goodFile, '--trust', path.join(dir, 'missing.pub')], { env: home() }).code).toBe(2);
    expect(runCli(['verify'], { env: home() }).code).toBe(2);
  });
});

describe('extract (CLI)', () => {
  it('leaves nothing at --into, and no temporary folder, when the bundle does not verify', () => {
    const into = path.join(dir, 'out-bad');
    for (const id of ['flipped data byte in the second piece', 'tar: dotDotName', 'flipped raw signature']) {
      const r = runCli(['extract', hostile(id), '--into', into, '--trust', pub], { env: home() });
      expect(r.code, id).toBe(1);
      expect(fs.existsSync(into)).toBe(false);
      expect(fs.readdirSync(dir).filter((n) => n.includes('custody-tmp'))).toEqual([]);
    }
  });

  it('extracts into an empty folder, refuses a non-empty one and an untrusted sealer', () => {
    const into = path.join(dir, 'out-empty');
    fs.mkdirSync(into);
    const un = runCli(['extract', goodFile, '--into', into], { env: home() });
    expect(un.code).toBe(1);
    expect(fs.readdirSync(into)).toEqual([]);
    const r = runCli(['--json', 'extract', goodFile, '--into', into, '--trust', pub], { env: home() });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, extracted: true, into });
    expect(fs.readFileSync(path.join(into, 'data/notes/n.txt'), 'utf8')).toBe('notes\n');
    expect(fs.readdirSync(into).sort()).toEqual(
      ['VERIFY.txt', 'bag-info.txt', 'bagit.txt', 'custody', 'data', 'manifest-md5.txt', 'manifest-sha1.txt', 'manifest-sha256.txt', 'tagmanifest-sha256.txt'].sort(),
    );
  });
});
