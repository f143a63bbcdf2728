/**
 * Pieces mode on a bundle file: the piece pool's workers read and hash the
 * payload at its offsets while the strict tar reader jumps past it. The
 * pieces must equal a single sequential hasher's for any piece size, any
 * member offset and length and 1–8 workers; a hostile or truncated bundle
 * must get the same verdict, word for word, as when it is streamed.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashEngine } from '../src/core/engine.js';
import { CustodyError } from '../src/core/errors.js';
import { merkleRootHex } from '../src/core/merkle.js';
import { PiecePool } from '../src/core/piece-pool.js';
import { SeekableFile } from '../src/bundle/seekable-file.js';
import { readTarStrict } from '../src/bundle/tar-reader.js';
import { verifyBundle, type BundleVerdict, type ReadMode } from '../src/bundle/verify.js';
import { openBundleInput } from '../src/ops/bundle-input.js';
import { verifyInput } from '../src/ops/verify.js';
import { runCli, tempDir } from './helpers/cli.js';
import { chunks, hostileBundles, MALLORY, SEALER, sealFixture, writeTree, type HostileBundle } from './helpers/hostile-bundle.js';
import { HOSTILE_CASES, validArchive } from './helpers/hostile-tar.js';

const PIECE = 4096;
let dir: string;
let engine: HashEngine;

beforeAll(() => {
  dir = tempDir('custody-positioned-');
  engine = new HashEngine({ workers: 1, slotSize: 8192, slots: 3 });
});
afterAll(async () => {
  await engine.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The single-thread reference: node:crypto over each piece, cut from the range's own start. */
function reference(bytes: Uint8Array, P: number): string[] {
  const out: string[] = [];
  for (let o = 0; o < bytes.length; o += P) out.push(createHash('sha256').update(bytes.subarray(o, o + P)).digest('hex'));
  return out;
}

async function withPool<T>(file: string, workers: number, batchBytes: number, f: (pool: PiecePool) => Promise<T>): Promise<T> {
  const fd = fs.openSync(file, 'r');
  const pool = new PiecePool({ fd, workers, batchBytes, label: 'the test file' });
  try {
    return await f(pool);
  } finally {
    await pool.close();
    fs.closeSync(fd);
  }
}

describe('piece pool (positioned reads on every worker)', () => {
  const data = randomBytes(200_003);
  let file: string;
  beforeAll(() => {
    file = path.join(dir, 'data.bin');
    fs.writeFileSync(file, data);
  });

  it('gives the pieces of a single sequential hasher for any ranges, piece sizes and 1–8 workers', async () => {
    for (const workers of [1, 2, 3, 4, 5, 6, 7, 8]) {
      await withPool(file, workers, 1 + (workers * 7919) % 20_000, async (pool) => {
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 1, max: 9_000 }),
            // Members anywhere in the file (most start mid-piece), of any length, zero included.
            fc.array(fc.tuple(fc.integer({ min: 0, max: data.length }), fc.integer({ min: 0, max: 60_000 })), { minLength: 1, maxLength: 12 }),
            async (P, raw) => {
              // At most 64 pieces a range: tiny pieces are tested, without hashing 60,000 one-byte pieces each time.
              const ranges = raw.map(([o, n]) => [o, Math.min(n, data.length - o, 64 * P)] as const);
              const queued = [];
              for (const [o, n] of ranges) queued.push((await pool.queue(o, n, P)).result);
              pool.flush();
              const got = await Promise.all(queued);
              ranges.forEach(([o, n], i) => {
                const want = reference(data.subarray(o, o + n), P);
                expect(got[i]!.hashes).toEqual(want);
                expect(got[i]!.pieceSize).toBe(P);
                expect(got[i]!.merkleRoot).toBe(merkleRootHex(want));
              });
            },
          ),
          { numRuns: workers <= 2 ? 30 : 10 },
        );
      });
    }
  }, 300_000);

  it('agrees with the streaming engine on the edge cases: empty, one piece, a byte more, n pieces and a byte', async () => {
    await withPool(file, 4, 3 * 5000, async (pool) => {
      const P = 5000;
      for (const [o, n] of [[0, 0], [17, P], [17, P + 1], [4095, 4 * P], [1, 4 * P + 1], [123, 9 * P - 1], [data.length - 1, 1]] as const) {
        const { result } = await pool.queue(o, n, P);
        pool.flush();
        const got = await result;
        const s = engine.begin({ algos: [], pieceSize: P });
        await s.update(data.subarray(o, o + n));
        const want = await s.finish();
        expect(got).toEqual(want.pieces);
      }
    });
  });

  it('refuses a range past the end of the file as a truncation, never as a short piece, and goes on (the reader names the truncation)', async () => {
    await withPool(file, 2, 1 << 20, async (pool) => {
      const { result } = await pool.queue(data.length - 100, 5000, 4096);
      pool.flush();
      await expect(result).rejects.toMatchObject({ code: 'MALFORMED_BUNDLE', message: expect.stringMatching(/the test file ends at offset 200003 inside a payload member/) });
      // Not broken by it: whether the reader or a lane meets the end first must not change the verdict.
      const next = await pool.queue(0, 10, 4096);
      pool.flush();
      const s = engine.begin({ algos: [], pieceSize: 4096 });
      await s.update(data.subarray(0, 10));
      expect(await next.result).toEqual((await s.finish()).pieces);
    });
  });

  it('holds the caller back while every worker has its jobs (bounded work in flight)', async () => {
    await withPool(file, 1, 4096, async (pool) => {
      // One piece a job; the one worker takes two; the third queue() waits for a reply, which cannot come within microtasks.
      const a = pool.queue(0, 4096, 4096);
      const b = pool.queue(4096, 4096, 4096);
      let third = false;
      const c = pool.queue(8192, 4096, 4096).then((r) => ((third = true), r));
      for (let i = 0; i < 20; i++) await Promise.resolve();
      expect(third).toBe(false);
      const got = await Promise.all([(await a).result, (await b).result, (await c).result]);
      expect(got.map((g) => g.hashes[0])).toEqual(reference(data.subarray(0, 3 * 4096), 4096));
    });
  });

  it('settle() drops gathered work and returns only when no worker reads the file any more', async () => {
    await withPool(file, 2, 10_000, async (pool) => {
      const big = await pool.queue(0, 150_000, 1000);
      const small = await pool.queue(5, 10, 1000); // gathered, not sent
      await pool.settle();
      await expect(small.result).rejects.toThrow(/dropped/);
      expect((await big.result).hashes).toHaveLength(150);
    });
  });
});

/** An in-memory source that can jump (as SeekableFile does). */
function jumpable(bytes: Uint8Array, chunk: number): { stream: AsyncIterable<Uint8Array>; skip: (n: number) => Promise<number> } {
  let pos = 0;
  return {
    stream: (async function* () {
      while (pos < bytes.length) {
        const c = bytes.slice(pos, pos + chunk);
        pos += c.length;
        yield c;
      }
    })(),
    skip: async (n) => {
      const k = Math.min(n, bytes.length - pos);
      pos += k;
      return k;
    },
  };
}

async function readSkipping(bytes: Uint8Array, chunk: number): Promise<{ names: string[]; endOfData: number | undefined; error?: CustodyError }> {
  const src = jumpable(bytes, chunk);
  const reader = readTarStrict(src.stream, { skip: src.skip });
  const names: string[] = [];
  try {
    for await (const e of reader) {
      names.push(`${e.name}@${e.dataOffset}`);
      e.skip();
    }
  } catch (e) {
    if (e instanceof CustodyError) return { names, endOfData: undefined, error: e };
    throw e;
  }
  return { names, endOfData: reader.endOfData };
}

describe('strict tar reader: members skipped by a seekable source', () => {
  it('a valid archive gives the same members, offsets and end as when every body is read', async () => {
    for (const chunk of [1, 100, 600, 4096]) {
      const r = await readSkipping(validArchive(), chunk);
      expect(r.error).toBeUndefined();
      expect(r.names).toEqual(['dir@512', 'ok.txt@1024', 'dir/a.bin@2048']);
      expect(r.endOfData).toBe(512 + 1024 + 512 + 1024);
    }
  });

  it('every hostile archive is refused with the same code and rule when members are skipped', async () => {
    for (const c of HOSTILE_CASES) {
      for (const chunk of [7, 512, 1 << 16]) {
        const r = await readSkipping(c.bytes(), chunk);
        expect(r.error, `${c.id} chunk ${chunk}`).toBeDefined();
        expect(r.error!.code, `${c.id}: ${r.error!.message}`).toBe(c.code);
        expect(r.error!.message).toMatch(c.rule);
      }
    }
  });
});

describe('verify, pieces mode, through positioned reads', () => {
  let good: Uint8Array;
  let cases: HostileBundle[];
  beforeAll(async () => {
    const src = path.join(dir, 'src');
    writeTree(src, {
      'disk/image.dd': new Uint8Array(11 * PIECE + 5).map((_, i) => (i * 13 + 1) & 0xff),
      'export/one.bin': 'x',
      'export/empty.bin': '',
      'export/exact.bin': new Uint8Array(PIECE).fill(7),
      'export/odd.bin': new Uint8Array(3 * PIECE - 1).fill(9),
    });
    const reqs = [
      { path: path.join(src, 'disk/image.dd'), meta: {} },
      { path: path.join(src, 'export'), id: 'phone', meta: {} },
    ];
    good = (await sealFixture(engine, dir, reqs, { pieceSize: PIECE })).bytes;
    const mallory = (await sealFixture(engine, dir, reqs, { pieceSize: PIECE, signer: MALLORY, out: 'mallory.tar' })).bytes;
    cases = await hostileBundles(good, PIECE, mallory);
  });

  const streamed = (bytes: Uint8Array, mode: ReadMode = 'pieces'): Promise<BundleVerdict> =>
    verifyBundle(chunks(bytes, 3000), { engine, mode, trusted: [SEALER.identity.publicKey] });

  async function positioned(bytes: Uint8Array, workers: number, chunk: number): Promise<BundleVerdict> {
    const file = path.join(dir, `case-${workers}-${chunk}.tar`);
    fs.writeFileSync(file, bytes);
    const f = await SeekableFile.open(file);
    const pool = new PiecePool({ fd: f.fd, workers, batchBytes: 3 * PIECE });
    try {
      return await verifyBundle(f.chunks(chunk), {
        engine,
        mode: 'pieces',
        trusted: [SEALER.identity.publicKey],
        seekable: { hasher: pool, skip: (n) => f.skip(n) },
      });
    } finally {
      await pool.close();
      await f.close();
      fs.rmSync(file);
    }
  }

  const summary = (v: BundleVerdict) => ({ ok: v.ok, failed: v.failed, code: v.error?.code, message: v.error?.message, range: v.error?.range, checks: v.checks.filter((c) => c.id !== 'verify.mode') });

  it('a good bundle verifies with the same pieces as the streamed verify, on 1–8 workers', async () => {
    const want = await streamed(good);
    expect(want.ok).toBe(true);
    for (let w = 1; w <= 8; w++) {
      const v = await positioned(good, w, [700, 4096, 1 << 20][w % 3]!);
      expect(v.error?.message).toBeUndefined();
      expect(summary(v)).toEqual(summary(want));
      expect(v.read!.payload).toEqual(want.read!.payload);
      expect(v.checks.find((c) => c.id === 'verify.mode')!.detail).toContain(`on ${w} lane${w === 1 ? '' : 's'} (this thread`);
    }
  }, 120_000);

  it('every hostile bundle gets the same verdict, word for word, as when it is streamed', async () => {
    for (const c of cases) {
      const want = summary(await streamed(c.bytes));
      expect(want.ok, c.id).toBe(false);
      expect(summary(await positioned(c.bytes, 2, 1000)), c.id).toEqual(want);
    }
  }, 300_000);

  it('a bundle cut anywhere (in a header, inside a payload member, in its padding, in the tag files) gets the same verdict', async () => {
    const offsets = new Set<number>();
    for await (const e of readTarStrict(chunks(good, 1 << 20))) {
      for (const at of [e.headerOffset + 100, e.dataOffset, e.dataOffset + 1, e.dataOffset + Math.floor(e.size / 2), e.dataOffset + e.size, e.dataOffset + e.size + 1]) {
        if (at < good.length) offsets.add(at);
      }
    }
    expect(offsets.size).toBeGreaterThan(40);
    for (const at of offsets) {
      const cut = good.subarray(0, at);
      const want = summary(await streamed(cut));
      expect(want.ok, `cut at ${at}`).toBe(false);
      expect(summary(await positioned(cut, 2, 2048)), `cut at ${at}`).toEqual(want);
    }
  }, 300_000);

  it('the verify use case reads a bundle file with positioned reads on --jobs workers, and stdin through the stream', async () => {
    const file = path.join(dir, 'good.tar');
    fs.writeFileSync(file, good);
    for (const jobs of [1, 3]) {
      const v = await verifyInput({ input: await openBundleInput(file), mode: 'pieces', trusted: [SEALER.identity.publicKey], jobs });
      expect(v.ok).toBe(true);
      expect(v.checks.find((c) => c.id === 'verify.mode')!.detail).toContain(`on ${jobs} lane${jobs === 1 ? '' : 's'} (this thread`);
    }
    await expect(verifyInput({ input: await openBundleInput(file), mode: 'pieces', trusted: [], jobs: 0 })).rejects.toMatchObject({ code: 'USAGE' });
    const cli = runCli(['verify', file, '--trust', path.join(dir, 'sealer.pub'), '--jobs', 'two']);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/^custody: --jobs must be a whole number from 1 to 256/);
  });
});

describe('verify --jobs (CLI)', () => {
  it('the help says which mode scales with the cores and which does not', () => {
    const h = runCli(['verify', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/--jobs <n>/);
    expect(h.stdout).toMatch(/this mode scales with the cores/);
    expect(h.stdout).toMatch(/Each flat hash is one sequential stream that cannot be\s+split/);
  });
});
