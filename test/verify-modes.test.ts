/**
 * verify's two modes: pieces (the
 * piece SHA-256s only, in parallel lanes) and full (every flat hash too).
 * Both must pass a good bundle, fail a flipped data byte naming its piece
 * range, and fail a flipped manifest-md5.txt (the signed tagmanifest covers
 * it); a bundle with piece size 0 always gets the full mode.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashEngine } from '../src/core/engine.js';
import { VERIFICATION_CODES } from '../src/core/errors.js';
import { verifyBundle, type BundleVerdict, type ReadMode } from '../src/bundle/verify.js';
import { runCli, tempDir } from './helpers/cli.js';
import { chunks, hostileBundles, MALLORY, SEALER, sealFixture, writeTree, type HostileBundle } from './helpers/hostile-bundle.js';

const PIECE = 4096;
let engine: HashEngine;
let dir: string;
let good: Uint8Array;
let flat: Uint8Array; // piece size 0
let cases: HostileBundle[];

const verify = (bytes: Uint8Array, mode: ReadMode, chunk = 3000): Promise<BundleVerdict> =>
  verifyBundle(chunks(bytes, chunk), { engine, mode, trusted: [SEALER.identity.publicKey] });
const modeLine = (v: BundleVerdict) => v.checks.find((c) => c.check === 'mode')!.detail;

beforeAll(async () => {
  engine = new HashEngine({ workers: 3, slotSize: 8192, slots: 4 });
  dir = tempDir('custody-modes-');
  const src = path.join(dir, 'src');
  writeTree(src, {
    'disk/image.dd': new Uint8Array(7 * PIECE + 5).map((_, i) => (i * 13 + 1) & 0xff),
    'export/one.bin': 'x',
    'export/empty.bin': '',
    'export/exact.bin': new Uint8Array(PIECE).fill(7),
  });
  const reqs = [
    { path: path.join(src, 'disk/image.dd'), meta: {} },
    { path: path.join(src, 'export'), id: 'phone', meta: {} },
  ];
  good = (await sealFixture(engine, dir, reqs, { pieceSize: PIECE })).bytes;
  flat = (await sealFixture(engine, dir, reqs, { pieceSize: 0, out: 'flat.tar' })).bytes;
  const mallory = (await sealFixture(engine, dir, reqs, { pieceSize: PIECE, signer: MALLORY, out: 'mallory.tar' })).bytes;
  cases = await hostileBundles(good, PIECE, mallory);
});
afterAll(async () => {
  await engine.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('verify modes', () => {
  it('a good bundle verifies in both modes; pieces mode computes no flat hash and says so', async () => {
    const p = await verify(good, 'pieces');
    expect(p.error?.message).toBeUndefined();
    expect(p.ok).toBe(true);
    expect(p.mode).toBe('pieces');
    expect(modeLine(p)).toMatch(/^pieces \(every byte against the signed piece hashes, on 3 worker thread\(s\); flat md5, sha1, sha256 not recomputed — use --full\)/);
    expect(p.read!.payload.every((f) => Object.keys(f.digests).length === 0)).toBe(true);
    expect(p.checks.map((c) => c.check)).toContain('payload against custody/pieces-sha256.txt');
    expect(p.checks.find((c) => c.check === 'manifest-md5.txt')!.detail).toMatch(/not recomputed/);

    const f = await verify(good, 'full');
    expect(f.ok).toBe(true);
    expect(f.mode).toBe('full');
    expect(modeLine(f)).toMatch(/^full \(every flat hash md5, sha1, sha256 and every piece SHA-256 recomputed/);
    expect(f.read!.payload[0]!.digests).toHaveProperty('md5');
    // Same pieces either way (lanes merge back in piece order).
    expect(p.read!.payload.map((x) => x.pieces)).toEqual(f.read!.payload.map((x) => x.pieces));
  });

  it('a flipped data byte fails in both modes and names the piece byte range', async () => {
    const c = cases.find((x) => x.id === 'flipped data byte in the second piece')!;
    for (const mode of ['pieces', 'full'] as const) {
      const v = await verify(c.bytes, mode);
      expect(v.ok, mode).toBe(false);
      expect(v.error, mode).toMatchObject({ code: 'HASH_MISMATCH', item: 'image.dd', range: [PIECE, 2 * PIECE - 1] });
      expect(v.error!.message).toMatch(mode === 'pieces' ? /piece SHA-256 differs from custody\/pieces-sha256\.txt; first differing piece: bytes 4096-8191/ : /md5 differs from manifest-md5\.txt/);
    }
  });

  it('a flipped manifest-md5.txt fails in both modes: the signed tagmanifest catches it', async () => {
    const c = cases.find((x) => x.id === 'flipped md5 manifest')!;
    for (const mode of ['pieces', 'full'] as const) {
      const v = await verify(c.bytes, mode);
      expect(v.ok, mode).toBe(false);
      expect(v.error!.code).toBe('HASH_MISMATCH');
      expect(v.error!.message).toMatch(/tag file manifest-md5\.txt does not match its SHA-256 in tagmanifest/);
    }
  });

  it('every hostile bundle fails in pieces mode too, with a verification code', async () => {
    const failures: string[] = [];
    for (const c of cases) {
      const v = await verify(c.bytes, 'pieces', 4096);
      if (v.ok || !v.error) failures.push(`${c.id}: verified`);
      else if (!(VERIFICATION_CODES as readonly string[]).includes(v.error.code)) failures.push(`${c.id}: code ${v.error.code}`);
      else if (c.code !== '' && v.error.code !== c.code) failures.push(`${c.id}: code ${v.error.code} (${v.error.message}), expected ${c.code}`);
    }
    expect(failures).toEqual([]);
  });

  it('a bundle with piece size 0 is always verified in full, and a flip is still caught by the flat hashes', async () => {
    const v = await verify(flat, 'pieces');
    expect(v.ok).toBe(true);
    expect(v.mode).toBe('full');
    expect(modeLine(v)).toMatch(/^full \(every flat hash md5, sha1, sha256 recomputed from the data\) \(the piece size is 0/);
    expect(v.read!.payload[0]!.digests).toHaveProperty('md5');
    // Flip the first data byte of the image (the first payload member, after two 512-byte tag members and its header).
    const members = await (await import('./helpers/hostile-bundle.js')).membersOf(flat);
    const at = members.members.findIndex((m) => m.name.endsWith('data/image.dd/image.dd'));
    expect(at).toBeGreaterThan(0);
    const mutated = flat.slice();
    const offset = Buffer.from(flat).indexOf(Buffer.from(members.members[at]!.data.subarray(0, 64)));
    mutated[offset + 10]! ^= 1;
    const bad = await verify(mutated, 'pieces');
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatchObject({ code: 'HASH_MISMATCH', item: 'image.dd' });
    expect(bad.error!.message).toMatch(/md5 differs from manifest-md5\.txt/);
  });
});

describe('verify modes (CLI)', () => {
  it('the help of verify says which checks each mode makes; receive says it verifies in full', () => {
    const v = runCli(['verify', '--help']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/default \(pieces\)/);
    expect(v.stdout).toMatch(/--full: also recomputes every flat hash/);
    expect(v.stdout).toMatch(/always verified\s+in full/);
    const r = runCli(['receive', '--help']);
    expect(r.stdout).toMatch(/custody verify --full/);
  });
});
