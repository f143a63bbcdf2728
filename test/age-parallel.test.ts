/**
 * The two-thread age encryptor (custody/age/parallel-encrypt.ts) must write
 * exactly the bytes of the one-thread one (stream.ts encryptAge) for the same
 * file key and nonce — at every size around the chunk (64 KiB) and segment
 * (1 MiB) boundaries, and past the point where its shared slots are reused —
 * and stock age must open what it writes. The file key and nonces come from a
 * seeded generator here (only here) so that two encryptions can be compared
 * byte for byte; the worker thread draws no random bytes.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes as realRandom } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { inPieces } from './helpers/age-vectors.js';
import { tempDir } from './helpers/cli.js';

const seeded = vi.hoisted(() => ({ counter: 0 }));

vi.mock('../src/custody/age/primitives.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/custody/age/primitives.js')>();
  const { createHash: hash } = await import('node:crypto');
  return {
    ...real,
    randomBytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let o = 0; o < n; o += 32) out.set(hash('sha256').update(`seed ${seeded.counter++}`).digest().subarray(0, n - o), o);
      return out;
    },
  };
});

const { aead } = await import('../src/custody/age/primitives.js');
const { encryptAge } = await import('../src/custody/age/stream.js');
const { encryptAgeInParallel, sealWorkerCounts } = await import('../src/custody/age/parallel-encrypt.js');
const { parseX25519Recipient } = await import('../src/custody/age/recipients.js');
const { encryptFileTo, TWO_THREADS_FROM } = await import('../src/bundle/age-files.js');

const KiB = 1024;
const MiB = 1024 * KiB;
const dir = tempDir('custody-age-parallel-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const keyFile = path.join(dir, 'id.txt');
execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
const recipient = parseX25519Recipient(/public key: (age1\S+)/.exec(fs.readFileSync(keyFile, 'utf8'))![1]!);

/** A Fill over bytes in memory that answers on a later turn of the event loop, as a file read does. */
function fillFrom(bytes: Uint8Array): (views: Uint8Array[]) => Promise<number> {
  let at = 0;
  return async (views) => {
    await new Promise((r) => setImmediate(r));
    let got = 0;
    for (const v of views) {
      const n = Math.min(v.length, bytes.length - at);
      v.set(bytes.subarray(at, at + n));
      at += n;
      got += n;
    }
    return got;
  };
}

type Stats = { worker: number; main: number; workerReady?: boolean };

/** Waits (up to 20 s) until the worker is up: the main thread seals alone until then. */
async function workerUp(stats: Stats): Promise<void> {
  for (let waited = 0; !stats.workerReady && waited < 20_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
}

/** The stream's bytes; with `stats`, the first segment is taken only once the worker is up, so that it seals a share of the rest. */
async function collect(stream: AsyncIterable<Uint8Array>, stats?: Stats): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) {
    if (stats) await workerUp(stats);
    parts.push(Buffer.from(c));
  }
  return Buffer.concat(parts);
}

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

beforeEach(() => {
  seeded.counter = 0;
});

describe('the two-thread age encryptor', () => {
  it('runs on libsodium here (the two-thread path is taken only then)', () => {
    expect(aead.name).toBe('libsodium');
  });

  it('writes byte for byte what the one-thread encryptor writes, at sizes around chunk and segment boundaries and past the reuse of its slots', async () => {
    const sizes = [0, 1, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, MiB - 1, MiB, MiB + 1, MiB + 64 * KiB, 2 * MiB - 16, 2 * MiB, 3 * MiB + 12345, 8 * MiB, 9 * MiB + 1, 16 * MiB, 17 * MiB + 64 * KiB + 5];
    const all = realRandom(sizes[sizes.length - 1]!);
    for (const size of sizes) {
      const plain = all.subarray(0, size);
      seeded.counter = 0;
      const one = await collect(encryptAge(inPieces(plain, 100_003), [recipient]));
      for (const threads of [2, 1] as const) {
        seeded.counter = 0;
        const stats: Stats = { worker: 0, main: 0 };
        const two = await collect(encryptAgeInParallel(fillFrom(plain), [recipient], { threads, stats }), threads === 2 ? stats : undefined);
        expect(two.length, `${size} bytes, ${threads} thread(s)`).toBe(one.length);
        expect(sha(two), `${size} bytes, ${threads} thread(s)`).toBe(sha(one));
        // Past the segments read ahead before the worker was up, the worker sealed some of them.
        if (threads === 2 && size > 9 * MiB) expect(stats.worker, `${size} bytes: ${JSON.stringify(stats)}`).toBeGreaterThan(0);
        if (threads === 1) expect(stats.worker).toBe(0);
      }
    }
  });

  it('keeps every yielded segment intact until the one after the next is asked for', async () => {
    const plain = realRandom(12 * MiB + 777);
    let previous: { view: Uint8Array; copy: Buffer } | undefined;
    const parts: Buffer[] = [];
    const stats: Stats = { worker: 0, main: 0 };
    for await (const c of encryptAgeInParallel(fillFrom(plain), [recipient], { threads: 2, stats })) {
      // The reads and seals run ahead of a slow consumer, as of a slow disk.
      await workerUp(stats);
      await new Promise((r) => setTimeout(r, 5));
      if (previous) expect(Buffer.from(previous.view).equals(previous.copy), 'the segment before was changed too early').toBe(true);
      previous = { view: c, copy: Buffer.from(c) };
      parts.push(Buffer.from(c));
    }
    const file = path.join(dir, 'slow.age');
    fs.writeFileSync(file, Buffer.concat(parts));
    expect(execFileSync('age', ['-d', '-i', keyFile, file], { maxBuffer: 16 * MiB }).equals(plain)).toBe(true);
    // Both threads sealed: the worker took segments once it was up, the main thread the others.
    expect(stats.worker, JSON.stringify(stats)).toBeGreaterThan(0);
    expect(stats.main, JSON.stringify(stats)).toBeGreaterThan(0);
    expect(stats.worker + stats.main).toBe(13);
  });

  it('is opened by stock age -d when a file of the two-thread size is encrypted, also one of whole segments; a smaller file starts no worker', async () => {
    for (const size of [TWO_THREADS_FROM - 1, TWO_THREADS_FROM, TWO_THREADS_FROM + 3 * MiB + 65_537]) {
      const before = sealWorkerCounts().started;
      const plain = realRandom(size);
      const input = path.join(dir, `in-${size}.bin`);
      const out = path.join(dir, `in-${size}.bin.age`);
      const back = path.join(dir, `in-${size}.bin.back`);
      fs.writeFileSync(input, plain);
      const r = await encryptFileTo(input, [recipient], out);
      expect(r.bytes).toBe(fs.statSync(out).size);
      execFileSync('age', ['-d', '-i', keyFile, '-o', back, out]);
      expect(sha(fs.readFileSync(back))).toBe(sha(plain));
      expect(sealWorkerCounts().started - before, `${size} bytes`).toBe(size >= TWO_THREADS_FROM ? 1 : 0);
      for (const f of [input, out, back]) fs.rmSync(f);
    }
  });

  it('stops with the reader’s error, and when its consumer stops early, and leaves no worker running either way', async () => {
    const plain = realRandom(10 * MiB);
    let calls = 0;
    const failing = fillFrom(plain);
    const stream = encryptAgeInParallel(
      async (views) => {
        if (++calls === 6) throw new Error('the disk went away');
        return failing(views);
      },
      [recipient],
      { threads: 2 },
    );
    await expect(collect(stream)).rejects.toThrow('the disk went away');
    expect(sealWorkerCounts().running).toBe(0);
    const early = encryptAgeInParallel(fillFrom(plain), [recipient], { threads: 2 });
    for await (const c of early) {
      if (c.length > MiB) {
        expect(sealWorkerCounts().running).toBe(1);
        break;
      }
    }
    expect(sealWorkerCounts().running).toBe(0);
  });
});
