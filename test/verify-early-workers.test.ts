/**
 * custody verify in pieces mode starts its piece workers from bin/custody.js,
 * before the program is loaded, and the piece pool takes those workers: the
 * timeline (CUSTODY_TIMELINE, core/timeline.ts) shows it. The timeline goes
 * to stderr only, so the verdict on stdout is the same with it on or off, and
 * it is silent when off. --jobs 1 starts no worker at all. Once every piece
 * is in, the pool's release() ends the workers while verify goes on: a
 * released pool has given every digest and takes no more ranges. Extract
 * marks its phases on the same timeline.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashEngine } from '../src/core/engine.js';
import { merkleRootHex } from '../src/core/merkle.js';
import { PiecePool } from '../src/core/piece-pool.js';
import { publicKeyFile } from '../src/custody/identity.js';
import { runCli, tempDir } from './helpers/cli.js';
import { SEALER, sealFixture, writeTree } from './helpers/hostile-bundle.js';

const PIECE = 64 << 10;
let dir: string;
let file: string;
let pub: string;
const env = (extra: Record<string, string> = {}) => ({ CUSTODY_HOME: path.join(dir, 'home'), ...extra });

beforeAll(async () => {
  dir = tempDir('custody-early-workers-');
  const engine = new HashEngine({ workers: 1 });
  try {
    writeTree(path.join(dir, 'ev'), { 'disk.img': randomBytes(24 * PIECE + 5) });
    file = (await sealFixture(engine, dir, [{ path: path.join(dir, 'ev/disk.img'), id: 'disk01', meta: {} }], { pieceSize: PIECE, out: 'b.tar' })).file;
  } finally {
    await engine.close();
  }
  pub = path.join(dir, 'sealer.pub');
  fs.writeFileSync(pub, publicKeyFile(SEALER.identity, '2026-01-01T00:00:00.000Z'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('custody verify: piece workers started by bin/', () => {
  it('the timeline is silent when off and leaves the verdict on stdout unchanged when on', () => {
    const off = runCli(['verify', file, '--trust', pub, '--json'], { env: env() });
    const on = runCli(['verify', file, '--trust', pub, '--json'], { env: env({ CUSTODY_TIMELINE: '1' }) });
    expect(off.code).toBe(0);
    expect(on.code).toBe(0);
    expect(off.stderr).not.toMatch(/timeline/);
    const strip = (s: string) => s.replace(/"(?:at|time|verifiedAt|checkedAt)":\s*"[^"]*"/g, '');
    expect(strip(on.stdout)).toBe(strip(off.stdout));
    expect(on.stderr).toMatch(/^timeline +[0-9.]+ ms {2}exit$/m);
  });

  it.runIf(os.availableParallelism() >= 2)('the pool takes the workers started before the program loaded (by bin/ from a bundle, by entry.ts from dist/)', () => {
    const r = runCli(['verify', file, '--trust', pub], { env: env({ CUSTODY_TIMELINE: '1' }) });
    expect(r.code).toBe(0);
    const n = Math.min(os.availableParallelism(), 16) - 1;
    expect(r.stderr.match(/pool takes a worker started ahead/g)).toHaveLength(n);
    expect(r.stderr).not.toMatch(/piece worker exited|failed/);
  });

  it('--jobs 1 starts no worker: every piece is hashed on the main thread', () => {
    const r = runCli(['verify', file, '--trust', pub, '--jobs', '1'], { env: env({ CUSTODY_TIMELINE: '1' }) });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/adopted|prewarm/);
    const lanes = new Set([...r.stderr.matchAll(/lane (\d+) job \d+ end/g)].map((m) => Number(m[1])));
    expect([...lanes]).toEqual([0]);
  });
});

describe('custody extract: the timeline', () => {
  it('marks the payload read, the verdict, the file times set and the folder synced, in that order, and the verdict on stdout is the same', () => {
    const off = runCli(['extract', file, '--into', path.join(dir, 'x-off'), '--trust', pub, '--json'], { env: env() });
    const on = runCli(['extract', file, '--into', path.join(dir, 'x-on'), '--trust', pub, '--json'], { env: env({ CUSTODY_TIMELINE: '1' }) });
    expect(off.code, off.stderr).toBe(0);
    expect(on.code, on.stderr).toBe(0);
    expect(off.stderr).not.toMatch(/timeline/);
    const strip = (s: string) => s.replace(/"(?:at|time|verifiedAt|checkedAt)":\s*"[^"]*"/g, '').replace(/x-o(n|ff)/g, 'x');
    expect(strip(on.stdout)).toBe(strip(off.stdout));
    const order = ['extract: payload read, tag files begin', 'extract: verified', 'extract: every file on disk', 'extract: file times set', 'extract: synced', 'exit'];
    // The timeline prints its marks sorted by time: their order is the order they happened in.
    const seen = [...on.stderr.matchAll(/^timeline +[0-9.]+ ms {2}(.+)$/gm)].map((m) => m[1]!).filter((w) => order.includes(w));
    expect(seen).toEqual(order);
  });
});

describe('PiecePool.release', () => {
  it('ends the workers once every range is hashed: the digests are all there, more ranges are refused, close() still resolves', async () => {
    const bytes = randomBytes(9 * PIECE + 3);
    const f = path.join(dir, 'release.bin');
    fs.writeFileSync(f, bytes);
    const fd = fs.openSync(f, 'r');
    const pool = new PiecePool({ fd, workers: 2, mainLane: false, batchBytes: 2 * PIECE });
    try {
      const { result } = await pool.queue(0, bytes.length, PIECE);
      const d = await result;
      pool.release();
      const want = Array.from({ length: 10 }, (_, i) => createHash('sha256').update(bytes.subarray(i * PIECE, (i + 1) * PIECE)).digest('hex'));
      expect(d.hashes).toEqual(want);
      expect(d.merkleRoot).toBe(merkleRootHex(want)); // node:crypto's root, against @noble's
      await expect(pool.queue(0, PIECE, PIECE)).rejects.toThrow(/after settle\(\) or close\(\)/);
    } finally {
      await pool.close();
      fs.closeSync(fd);
    }
  });

  it('does nothing while a job is out: the pool still answers it', async () => {
    const bytes = randomBytes(6 * PIECE);
    const f = path.join(dir, 'busy.bin');
    fs.writeFileSync(f, bytes);
    const fd = fs.openSync(f, 'r');
    const pool = new PiecePool({ fd, workers: 1, mainLane: false });
    try {
      const { result } = await pool.queue(0, bytes.length, PIECE);
      pool.release(); // gathered, not sent yet: nothing to end
      pool.flush();
      pool.release(); // sent, not answered: nothing to end either
      expect((await result).hashes).toHaveLength(6);
    } finally {
      await pool.close();
      fs.closeSync(fd);
    }
  });
});

describe('merkleRootHex with another SHA-256', () => {
  it('node:crypto under the tree gives the roots @noble gives, for 0 to 40 leaves', () => {
    const node = (...parts: Uint8Array[]) => {
      const h = createHash('sha256');
      for (const p of parts) h.update(p);
      return new Uint8Array(h.digest());
    };
    for (let n = 0; n <= 40; n++) {
      const leaves = Array.from({ length: n }, () => randomBytes(32).toString('hex'));
      expect(merkleRootHex(leaves, node)).toBe(merkleRootHex(leaves));
    }
  });
});
