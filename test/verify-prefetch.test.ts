/**
 * custody verify starts hashing a bundle file's payload before the verifier
 * is loaded: a quick walk over the tar headers queues the pieces of the large
 * payload members (bundle/payload-prefetch.ts), and the strict reader takes
 * the queued pieces for exactly the ranges it asks for. The walk decides
 * nothing: every bundle, good or hostile, must get the verdict it gets when
 * streamed, word for word, with the pieces queued ahead actually used on a
 * good one. Also: the main thread as one of the piece lanes gives the pieces
 * a pool of worker threads alone gives.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashEngine } from '../src/core/engine.js';
import { PiecePool } from '../src/core/piece-pool.js';
import { withSmallDigests } from '../src/core/small-hasher.js';
import { EarlyPieces } from '../src/bundle/payload-prefetch.js';
import { verifyBundle, type BundleVerdict } from '../src/bundle/verify.js';
import { openBundleInput } from '../src/ops/bundle-input.js';
import { verifyInput } from '../src/ops/verify.js';
import { tempDir } from './helpers/cli.js';
import { chunks, hostileBundles, MALLORY, SEALER, sealFixture, writeTree, type HostileBundle } from './helpers/hostile-bundle.js';

/** Pieces of 64 KiB; members over 256 KiB are hashed at their offset, smaller ones where they are read. */
const PIECE = 64 << 10;
let dir: string;
let engine: HashEngine;
let good: { file: string; bytes: Uint8Array };
let cases: HostileBundle[];

beforeAll(async () => {
  dir = tempDir('custody-prefetch-');
  engine = new HashEngine({ workers: 1 });
  const src = path.join(dir, 'src');
  writeTree(src, {
    'disk/image.dd': randomBytes(20 * PIECE + 17),
    'export/a.bin': randomBytes(5 * PIECE - 1),
    'export/b.txt': 'small',
    'export/c.bin': randomBytes(300 << 10),
  });
  const reqs = [
    { path: path.join(src, 'disk/image.dd'), meta: {} },
    { path: path.join(src, 'export'), id: 'phone', meta: {} },
  ];
  good = await sealFixture(engine, dir, reqs, { pieceSize: PIECE });
  const mallory = (await sealFixture(engine, dir, reqs, { pieceSize: PIECE, signer: MALLORY, out: 'mallory.tar' })).bytes;
  cases = await hostileBundles(good.bytes, PIECE, mallory);
}, 120_000);
afterAll(async () => {
  await engine.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const summary = (v: BundleVerdict) => ({ ok: v.ok, failed: v.failed, code: v.error?.code, message: v.error?.message, range: v.error?.range, checks: v.checks.filter((c) => c.id !== 'verify.mode') });

/** The same bytes streamed (no positioned reads, nothing queued ahead), named as the file is. */
const streamed = (bytes: Uint8Array, label: string): Promise<BundleVerdict> =>
  verifyBundle(chunks(bytes, 3000), { engine: withSmallDigests(engine), mode: 'pieces', trusted: [SEALER.identity.publicKey], keepFiles: false, label });

/** The verify use case on a file, its pieces queued ahead by EarlyPieces as custody verify does. */
async function early(file: string, lanes: number): Promise<{ v: BundleVerdict; guessed: number; taken: number }> {
  const e = await EarlyPieces.start(file, lanes);
  expect(e).toBeDefined();
  const v = await verifyInput({ input: await openBundleInput(file), mode: 'pieces', trusted: [SEALER.identity.publicKey], jobs: lanes, early: e!, keepFiles: false });
  return { v, guessed: e!.guessed, taken: e!.taken };
}

describe('pieces queued before the verifier runs', () => {
  it('a good bundle gets the streamed verdict and pieces on 1–4 lanes, and the pieces queued ahead are the ones used', async () => {
    const want = await streamed(good.bytes, good.file);
    expect(want.ok).toBe(true);
    for (const lanes of [1, 2, 3, 4]) {
      const { v, guessed, taken } = await early(good.file, lanes);
      expect(summary(v)).toEqual(summary(want));
      expect(v.read!.payload).toEqual(want.read!.payload);
      expect(v.checks.find((c) => c.id === 'verify.mode')!.detail).toContain(`on ${lanes} lane${lanes === 1 ? '' : 's'} (this thread`);
      // disk/image.dd, export/a.bin and export/c.bin are over 256 KiB: the walk guesses them, the reader takes what was guessed.
      expect(guessed).toBeGreaterThanOrEqual(1);
      expect(taken).toBe(guessed);
    }
  }, 120_000);

  it('every hostile bundle gets the same verdict, word for word, as when it is streamed', async () => {
    for (const c of cases) {
      const file = path.join(dir, 'hostile.tar');
      fs.writeFileSync(file, c.bytes);
      const want = summary(await streamed(c.bytes, file));
      expect(want.ok, c.id).toBe(false);
      expect(summary((await early(file, 2)).v), c.id).toEqual(want);
    }
  }, 300_000);

  it('a file that is not a bundle gets nothing queued, and one that cannot be opened starts nothing', async () => {
    const junk = path.join(dir, 'junk.bin');
    fs.writeFileSync(junk, randomBytes(1 << 20));
    const e = await EarlyPieces.start(junk, 2);
    await e!.close();
    expect(e!.guessed).toBe(0);
    expect(await EarlyPieces.start(path.join(dir, 'missing.tar'), 2)).toBeUndefined();
  });

  it('the main thread as one of the lanes gives the pieces worker threads alone give', async () => {
    const fd = fs.openSync(good.file, 'r');
    try {
      const pieces = async (mainLane: boolean, workers: number) => {
        const pool = new PiecePool({ fd, workers, mainLane, batchBytes: 3 * PIECE });
        try {
          const { result } = await pool.queue(1000, 20 * PIECE + 5, PIECE);
          pool.flush();
          return await result;
        } finally {
          await pool.close();
        }
      };
      const want = await pieces(false, 2);
      expect(want.hashes).toHaveLength(21);
      for (const w of [1, 2, 3]) expect(await pieces(true, w)).toEqual(want);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('a held main-thread lane takes no job until it is released (the verifier loads first)', async () => {
    const fd = fs.openSync(good.file, 'r');
    const pool = new PiecePool({ fd, workers: 1, batchBytes: PIECE });
    try {
      pool.holdMainLane(true);
      let queued = false;
      const q = pool.queue(0, 3 * PIECE, PIECE).then((r) => ((queued = true), r));
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(queued).toBe(false);
      pool.holdMainLane(false);
      expect((await (await q).result).hashes).toHaveLength(3);
    } finally {
      await pool.close();
      fs.closeSync(fd);
    }
  });
});
