/**
 * The engine against node:crypto one-shot digests: whole, in odd-sized chunks,
 * byte by byte, through the zero-copy path, with pieces, and across reuse.
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ALGOS, type Algo } from '../src/core/algorithms.js';
import { assignJobs, HashEngine, type HashSession } from '../src/core/engine.js';
import { hashPaths, hashReadable } from '../src/core/hash-source.js';
import { merkleRootHex } from '../src/core/merkle.js';
import { tempDir, ROOT } from './helpers/cli.js';

const NODE_ALGOS = ['md5', 'sha1', 'sha256', 'sha512'] as const;
const oneShot = (algo: string, data: Uint8Array) => createHash(algo).update(data).digest('hex');

// Small slots so that tests cross slot boundaries and wait for free slots (backpressure) often.
const engine = new HashEngine({ slotSize: 64 * 1024, slots: 3 });
afterAll(() => engine.close());

async function feed(s: HashSession, data: Uint8Array, sizes: number[]): Promise<void> {
  let off = 0;
  let k = 0;
  while (off < data.length) {
    const n = Math.max(1, sizes[k++ % sizes.length]!);
    await s.update(data.subarray(off, off + n));
    off += n;
  }
}

function expectNodeDigests(d: { size: number; digests: Partial<Record<Algo, string>> }, data: Uint8Array): void {
  expect(d.size).toBe(data.length);
  for (const a of NODE_ALGOS) expect(d.digests[a]).toBe(oneShot(a, data));
}

describe('HashEngine', () => {
  const data = randomBytes(300_001);

  it('whole buffer = node:crypto one-shot, all algorithms', async () => {
    const s = engine.begin({ algos: [...ALGOS] });
    await s.update(data);
    const d = await s.finish();
    expectNodeDigests(d, data);
    expect(Object.keys(d.digests)).toEqual([...ALGOS]); // in the order asked for
  });

  it('odd-sized chunks and byte by byte give the same digests', async () => {
    const s1 = engine.begin({ algos: ['md5', 'sha1', 'sha256', 'sha512'] });
    await feed(s1, data, [1, 4095, 65537, 13, 100_000]);
    expectNodeDigests(await s1.finish(), data);
    const small = data.subarray(0, 3001);
    const s2 = engine.begin({ algos: ['md5', 'sha1', 'sha256', 'sha512', 'blake3', 'sha3-256'] });
    await feed(s2, small, [1]);
    const d2 = await s2.finish();
    expectNodeDigests(d2, small);
    const s3 = engine.begin({ algos: ['blake3', 'sha3-256'] });
    await s3.update(small);
    expect(await s3.finish()).toEqual({ size: 3001, digests: { blake3: d2.digests.blake3, 'sha3-256': d2.digests['sha3-256'] } });
  });

  it('property: any chunking of any data gives the one-shot digests', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200_000 }), fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1 }), async (bytes, sizes) => {
        const s = engine.begin({ algos: ['md5', 'sha256'], pieceSize: 10_000 });
        await feed(s, bytes, sizes);
        const d = await s.finish();
        expect(d.digests).toEqual({ md5: oneShot('md5', bytes), sha256: oneShot('sha256', bytes) });
        expect(d.pieces!.hashes.length).toBe(Math.ceil(bytes.length / 10_000));
      }),
      { numRuns: 40 },
    );
  });

  it('empty input', async () => {
    const s = engine.begin({ algos: ['md5', 'sha256'], pieceSize: 1024 });
    const d = await s.finish();
    expect(d).toEqual({
      size: 0,
      digests: { md5: 'd41d8cd98f00b204e9800998ecf8427e', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
      pieces: { pieceSize: 1024, hashes: [], merkleRoot: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
    });
  });

  it('pieces: exactly one piece, one byte more, and many', async () => {
    const P = 70_000; // not a multiple of the slot size, so pieces straddle slots
    for (const len of [P, P + 1, 5 * P - 3]) {
      const bytes = data.subarray(0, len);
      const s = engine.begin({ algos: ['sha1'], pieceSize: P });
      await feed(s, bytes, [33_333]);
      const d = await s.finish();
      const want: string[] = [];
      for (let o = 0; o < len; o += P) want.push(oneShot('sha256', bytes.subarray(o, o + P)));
      expect(d.pieces!.hashes).toEqual(want);
      expect(d.pieces!.merkleRoot).toBe(merkleRootHex(want));
      expect(d.digests.sha1).toBe(oneShot('sha1', bytes));
    }
    const one = engine.begin({ algos: ['md5'], pieceSize: P });
    await one.update(data.subarray(0, P));
    expect((await one.finish()).pieces!.hashes).toHaveLength(1);
  });

  it('piece lanes (1..4 workers): the same pieces as one hasher and as node:crypto per piece, for any size and chunking', async () => {
    const engines = [1, 2, 3, 4].map((workers) => new HashEngine({ workers, slotSize: 4096, slots: 3 }));
    try {
      const perPiece = (b: Uint8Array, P: number) => {
        const want: string[] = [];
        for (let o = 0; o < b.length; o += P) want.push(oneShot('sha256', b.subarray(o, o + P)));
        return want;
      };
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 40_000 }),
          fc.integer({ min: 1, max: 9_000 }),
          fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 5 }),
          fc.integer({ min: 0, max: 3 }),
          fc.boolean(),
          async (len, P, sizes, w, withMd5) => {
            const bytes = data.subarray(0, len);
            const algos: Algo[] = withMd5 ? ['md5'] : [];
            const lanes = engines[w]!.begin({ algos, pieceSize: P, pieceLanes: true });
            await feed(lanes, bytes, sizes);
            const got = await lanes.finish();
            const single = engine.begin({ algos: ['sha1'], pieceSize: P });
            await feed(single, bytes, sizes);
            const today = await single.finish();
            const want = perPiece(bytes, P);
            expect(got.size).toBe(len);
            expect(got.pieces!.hashes).toEqual(want);
            expect(today.pieces!.hashes).toEqual(want);
            expect(got.pieces!.merkleRoot).toBe(today.pieces!.merkleRoot);
            expect(got.pieces!.pieceSize).toBe(P);
            expect(Object.keys(got.digests)).toEqual(algos);
            if (withMd5) expect(got.digests.md5).toBe(oneShot('md5', bytes));
          },
        ),
        { numRuns: 60 },
      );
      // Edge cases on 4 lanes: empty, exactly one piece, one byte more, exactly n pieces, n pieces and a byte.
      const P = 5000;
      for (const len of [0, P, P + 1, 4 * P, 4 * P + 1, 9 * P - 1]) {
        const bytes = data.subarray(0, len);
        const s = engines[3]!.begin({ algos: [], pieceSize: P, pieceLanes: true });
        await feed(s, bytes, [1777]);
        const d = await s.finish();
        expect(d.pieces!.hashes).toEqual(perPiece(bytes, P));
        expect(d.pieces!.merkleRoot).toBe(merkleRootHex(perPiece(bytes, P)));
        expect(d.digests).toEqual({});
      }
      // Lanes without pieces is not a spec: nothing to hash.
      expect(() => engines[1]!.begin({ algos: [], pieceSize: 0, pieceLanes: true })).toThrow(/no hash algorithm/);
    } finally {
      await Promise.all(engines.map((e) => e.close()));
    }
  });

  it('zero-copy readInto path with onChunk seeing every byte once, in order', async () => {
    const s = engine.begin({ algos: ['sha256'] });
    let off = 0;
    const seen: Buffer[] = [];
    for (;;) {
      const n = await s.readInto(
        async (target) => {
          const k = Math.min(target.length, 10_007, data.length - off);
          target.set(data.subarray(off, off + k));
          off += k;
          return k;
        },
        (chunk) => void seen.push(Buffer.from(chunk)),
      );
      if (n === 0) break;
    }
    const d = await s.finish();
    expect(d.digests.sha256).toBe(oneShot('sha256', data));
    expect(Buffer.concat(seen).equals(data)).toBe(true);
  });

  it('one session at a time; abort leaves the engine usable', async () => {
    const s = engine.begin({ algos: ['md5'] });
    expect(() => engine.begin({ algos: ['md5'] })).toThrow(/one session at a time/);
    await s.update(data.subarray(0, 200_000));
    s.abort();
    const s2 = engine.begin({ algos: ['md5'] });
    await s2.update(data.subarray(0, 5));
    expect((await s2.finish()).digests.md5).toBe(oneShot('md5', data.subarray(0, 5)));
    await expect(s2.finish()).rejects.toThrow(/already finished/);
  });

  it('balances algorithms across workers by cost: md5 alone, sha1+sha256 together', () => {
    expect(assignJobs(['md5', 'sha1', 'sha256'], 2).map((j) => j.sort())).toEqual([['md5'], ['sha1', 'sha256']]);
    expect(assignJobs(['sha256'], 4)).toEqual([['sha256']]);
    expect(assignJobs(['md5', 'sha1', 'sha256', 'pieces'], 1)).toHaveLength(1);
  });

  it('rejects a bad spec', () => {
    expect(() => engine.begin({ algos: [] })).toThrow(/no hash algorithm/);
    expect(() => engine.begin({ algos: ['md5'], pieceSize: -1 })).toThrow(/piece size/);
  });
});

describe('hash sources', () => {
  const dir = tempDir();
  const parts = [randomBytes(150_000), randomBytes(1), Buffer.alloc(0), randomBytes(99_999)];
  const files = parts.map((p, i) => {
    const f = path.join(dir, `image.00${i + 1}`);
    fs.writeFileSync(f, p);
    return f;
  });
  const whole = Buffer.concat(parts);

  it('split segments hash as their concatenation, onChunk sees the same bytes, progress reaches the total', async () => {
    const seen: Buffer[] = [];
    let last = 0;
    const d = await hashPaths(engine, files, { algos: ['md5', 'sha256'], pieceSize: 65_536 }, {
      onChunk: (c) => void seen.push(Buffer.from(c)),
      onProgress: (n) => (last = n),
    });
    expect(d.digests.sha256).toBe(oneShot('sha256', whole));
    expect(Buffer.concat(seen).equals(whole)).toBe(true);
    expect(last).toBe(whole.length);
    expect(d.pieces!.hashes[1]).toBe(oneShot('sha256', whole.subarray(65_536, 131_072)));
  });

  it('a stream (stdin-like) gives the same digest', async () => {
    const d = await hashReadable(engine, fs.createReadStream(files[0]!, { highWaterMark: 777 }), { algos: ['sha1'] });
    expect(d.digests.sha1).toBe(oneShot('sha1', parts[0]!));
  });

  it('a missing segment is NOT_FOUND naming it; a read error is IO_ERROR; the engine stays usable', async () => {
    await expect(hashPaths(engine, [files[0]!, path.join(dir, 'nope')], { algos: ['md5'] })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('nope'),
    });
    // Reading /proc/self/mem at offset 0 fails with EIO even as root: an honest mid-read I/O error.
    await expect(hashPaths(engine, ['/proc/self/mem'], { algos: ['md5'] })).rejects.toMatchObject({ code: 'IO_ERROR' });
    const d = await hashPaths(engine, [files[1]!], { algos: ['md5'] });
    expect(d.digests.md5).toBe(oneShot('md5', parts[1]!));
  });
});

describe('process lifetime and memory', () => {
  it('an idle engine does not keep the process alive, even without close()', () => {
    const script = `
      import { HashEngine } from ${JSON.stringify(path.join(ROOT, 'dist/core/engine.js'))};
      const e = new HashEngine();
      const s = e.begin({ algos: ['md5', 'sha256'] });
      await s.update(new Uint8Array(10));
      console.log((await s.finish()).digests.md5);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(oneShot('md5', new Uint8Array(10)));
  });

  it('memory stays flat: 512 MiB streamed through a child process stays under 150 MB RSS', () => {
    const script = `
      import { HashEngine } from ${JSON.stringify(path.join(ROOT, 'dist/core/engine.js'))};
      const e = new HashEngine();
      const s = e.begin({ algos: ['md5', 'sha1', 'sha256'], pieceSize: 1 << 20 });
      const chunk = new Uint8Array(3 << 20).fill(7);
      for (let i = 0; i < 171; i++) await s.update(chunk);
      const d = await s.finish();
      console.log(JSON.stringify({ size: d.size, pieces: d.pieces.hashes.length, rss: process.resourceUsage().maxRSS }));
      await e.close();`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { size: number; pieces: number; rss: number };
    expect(out.size).toBe(171 * (3 << 20));
    expect(out.pieces).toBe(513);
    expect(out.rss).toBeLessThan(150 * 1024); // maxRSS is in KiB
  });
});
