/**
 * An age payload sealed on several lanes (bundle/age-seal-pool.ts: the main
 * thread and worker threads, each reading, sealing and writing runs of chunks
 * at their own places) must be the very bytes one lane seals in order, for
 * every size around the chunk and run boundaries, and stock age must open it.
 * A lane that fails (a file that shrank under it, a descriptor it cannot
 * write) ends the whole run with one error and no worker left writing.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { sealOnLanes } from '../src/bundle/age-seal-pool.js';
import { runSealJob, laneBuffers, JOB_CHUNKS } from '../src/bundle/age-seal-lane.js';
import { encryptFileTo } from '../src/bundle/age-files.js';
import { CHUNK_SIZE, SEALED_CHUNK_SIZE, chunkCount, sealChunks, sealedPayloadSize } from '../src/custody/age/chunks.js';
import { beginAge } from '../src/custody/age/stream.js';
import { parseX25519Recipient } from '../src/custody/age/recipients.js';
import { CustodyError } from '../src/core/errors.js';
import { tempDir } from './helpers/cli.js';

const dir = tempDir('custody-age-lanes-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const keyFile = path.join(dir, 'x25519.key');
execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
const recipient = parseX25519Recipient(/public key: (age1\S+)/.exec(fs.readFileSync(keyFile, 'utf8'))![1]!);

const RUN = JOB_CHUNKS * CHUNK_SIZE;

/** Seals `file` with `head`/`key` on `lanes` lanes (workers even for small files) into a new file; returns its bytes. */
async function sealWith(file: string, head: Uint8Array, key: Uint8Array, lanes: number, size = fs.statSync(file).size, mainLane = true): Promise<Buffer> {
  const out = path.join(dir, `out-${lanes}-${randomBytes(4).toString('hex')}.age`);
  const inFd = fs.openSync(file, 'r');
  const outFd = fs.openSync(out, 'w');
  try {
    fs.writeSync(outFd, head, 0, head.length, 0);
    const runs = await sealOnLanes({ inFd, outFd, size, key, payloadAt: head.length, lanes, input: file, output: out, bytesPerWorker: 1, mainLane });
    expect(runs.reduce((a, b) => a + b, 0)).toBe(Math.ceil(chunkCount(size) / JOB_CHUNKS));
    // Without the main thread's lane every run is a worker's (which worker takes which is up to their start-up).
    expect(runs.length).toBe(mainLane ? 1 + Math.min(lanes - 1, size) : lanes);
  } finally {
    fs.closeSync(inFd);
    fs.closeSync(outFd);
  }
  const bytes = fs.readFileSync(out);
  fs.rmSync(out);
  return bytes;
}

describe('sealing chunks in runs', () => {
  it('gives the same bytes whatever whole-chunk boundaries cut the payload into runs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 * CHUNK_SIZE + 3 }), fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 6 }), (size, cuts) => {
        const plain = randomBytes(size);
        const key = randomBytes(32);
        const whole = Buffer.alloc(sealedPayloadSize(size));
        expect(sealChunks(key, plain, 0, true, whole)).toBe(whole.length);
        const pieces: Buffer[] = [];
        let chunk = 0;
        const total = chunkCount(size);
        for (const c of cuts) {
          if (chunk + c >= total) break;
          const out = Buffer.alloc(c * SEALED_CHUNK_SIZE);
          expect(sealChunks(key, plain.subarray(chunk * CHUNK_SIZE, (chunk + c) * CHUNK_SIZE), chunk, false, out)).toBe(out.length);
          pieces.push(out);
          chunk += c;
        }
        const last = Buffer.alloc(sealedPayloadSize(size - chunk * CHUNK_SIZE));
        sealChunks(key, plain.subarray(chunk * CHUNK_SIZE), chunk, true, last);
        pieces.push(last);
        expect(Buffer.concat(pieces).equals(whole)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a partial chunk that does not end the payload', () => {
    expect(() => sealChunks(randomBytes(32), randomBytes(CHUNK_SIZE + 1), 0, false, Buffer.alloc(3 * SEALED_CHUNK_SIZE))).toThrow(/partial chunk/);
  });
});

describe('sealing a file on several lanes', () => {
  const sizes = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, RUN - 1, RUN, RUN + 1, 3 * RUN, 3 * RUN + 17, 7 * RUN + CHUNK_SIZE];
  it('writes, on 2, 3 and 5 lanes (worker threads only, and the main thread with workers), the bytes one lane writes, and stock age opens them, at every size around the chunk and run boundaries', async () => {
    for (const size of sizes) {
      const file = path.join(dir, `plain-${size}`);
      const plain = randomBytes(size);
      fs.writeFileSync(file, plain);
      const { head, key } = beginAge([recipient]);
      const one = await sealWith(file, head, key, 1);
      expect(one.length, `size ${size}`).toBe(head.length + sealedPayloadSize(size));
      for (const lanes of [2, 3, 5]) {
        expect((await sealWith(file, head, key, lanes, size, false)).equals(one), `size ${size} on ${lanes} worker lanes`).toBe(true);
        expect((await sealWith(file, head, key, lanes)).equals(one), `size ${size} on ${lanes} lanes`).toBe(true);
      }
      expect(execFileSync('age', ['-d', '-i', keyFile], { input: one, maxBuffer: 1 << 24 }).equals(plain), `size ${size}`).toBe(true);
      fs.rmSync(file);
    }
  });

  it('ends with "changed while it was encrypted" when the file is shorter than it was, on any lane', async () => {
    const file = path.join(dir, 'short');
    fs.writeFileSync(file, randomBytes(4 * RUN));
    const { head, key } = beginAge([recipient]);
    for (const [lanes, main] of [[1, true], [3, false]] as const) {
      const e = await sealWith(file, head, key, lanes, 6 * RUN, main).catch((x: unknown) => x);
      expect(e, `${lanes} lanes`).toBeInstanceOf(CustodyError);
      expect((e as CustodyError).code).toBe('IO_ERROR');
      expect((e as CustodyError).message).toMatch(/changed while it was encrypted \(the file ends at offset \d+\)/);
    }
  });

  it('ends with one error, and every worker stopped, when the output cannot be written', async () => {
    const file = path.join(dir, 'unwritable');
    fs.writeFileSync(file, randomBytes(4 * RUN));
    const readOnly = path.join(dir, 'read-only.age');
    fs.writeFileSync(readOnly, '');
    const inFd = fs.openSync(file, 'r');
    const outFd = fs.openSync(readOnly, 'r');
    try {
      const { key } = beginAge([recipient]);
      const e = await sealOnLanes({ inFd, outFd, size: 4 * RUN, key, payloadAt: 0, lanes: 3, input: file, output: readOnly, bytesPerWorker: 1, mainLane: false }).catch((x: unknown) => x);
      expect((e as CustodyError).code).toBe('IO_ERROR');
      expect((e as CustodyError).message).toMatch(/^cannot encrypt .*unwritable to .*read-only\.age: EBADF/);
    } finally {
      fs.closeSync(inFd);
      fs.closeSync(outFd);
    }
    expect(fs.statSync(readOnly).size).toBe(0);
  });

  it('answers a short read as an error reply, not a throw (a worker must answer)', () => {
    const file = path.join(dir, 'tiny');
    fs.writeFileSync(file, randomBytes(10));
    const fd = fs.openSync(file, 'r');
    try {
      const reply = runSealJob({ t: 'seal', id: 7, key: randomBytes(32), inFd: fd, outFd: fd, first: 0, bytes: 100, endsPayload: true, payloadAt: 0 }, laneBuffers());
      expect(reply).toEqual({ t: 'error', id: 7, message: 'the file ends at offset 10', short: true });
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe('encryptFileTo', () => {
  it('leaves nothing at the output when the input is missing, and writes what stock age opens otherwise', async () => {
    const out = path.join(dir, 'missing.age');
    await expect(encryptFileTo(path.join(dir, 'no-such-bundle.tar'), [recipient], out)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(fs.readdirSync(dir).filter((f) => f.includes('missing.age'))).toEqual([]);
    const file = path.join(dir, 'bundle.tar');
    const plain = randomBytes(2 * RUN + 5);
    fs.writeFileSync(file, plain);
    const r = await encryptFileTo(file, [recipient], out, false, { jobs: 2 });
    expect(r.bytes).toBe(fs.statSync(out).size);
    expect(execFileSync('age', ['-d', '-i', keyFile, out], { maxBuffer: 1 << 24 }).equals(plain)).toBe(true);
  });

  it('reads a named pipe in order, from the one descriptor it opened, into what stock age opens', async () => {
    const fifo = path.join(dir, 'bundle.fifo');
    execFileSync('mkfifo', [fifo]);
    const plain = randomBytes(RUN + 3);
    fs.writeFileSync(path.join(dir, 'fifo-src'), plain);
    // One writer, once: the pipe's bytes reach only the descriptor that is read.
    const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'x', path.join(dir, 'fifo-src'), fifo], { stdio: 'ignore' });
    const written = new Promise((resolve) => writer.once('exit', resolve));
    const out = path.join(dir, 'fifo.age');
    const r = await encryptFileTo(fifo, [recipient], out);
    expect(await written).toBe(0);
    expect(r.bytes).toBe(fs.statSync(out).size);
    expect(execFileSync('age', ['-d', '-i', keyFile, out], { maxBuffer: 1 << 24 }).equals(plain)).toBe(true);
  });
});
