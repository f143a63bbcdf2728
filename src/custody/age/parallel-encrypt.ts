/**
 * age encryption of a large input on two cores. The STREAM chunks of an age
 * payload are independent (each has its own counter nonce), so segments of 16
 * chunks (1 MiB) are sealed by the main thread and by one worker thread
 * (seal-worker.ts) at once, whichever is free, and written in order. libsodium
 * seals ChaCha20-Poly1305 at ~1.2 GB/s on one core here (AVX2 ChaCha20, SSE2
 * Poly1305: ~0.85 s of CPU per GiB, against ~0.6 s for stock age's assembly),
 * and on one thread the cipher, the node runtime and the kernel's copies came
 * to 1.7 s of CPU per GiB against age's 0.95 s; split over two cores the
 * cipher no longer holds custody below age's rate.
 *
 * The input is read straight into shared memory (SharedArrayBuffer slots that
 * both threads see), each 64 KiB of plaintext where its sealed chunk will be
 * (one scattered read per segment), sealed there in place and yielded from
 * there: no copy beyond the kernel's and the cipher's, no buffer per chunk,
 * and five slots of ~1 MiB whatever the size (fresh memory costs a page fault
 * per 4 KiB, expensive in a virtual machine, so the slots are few and reused).
 *
 * The bytes are those of the one-thread encryptor (stream.ts encryptAge) for
 * the same file key and nonce: the same header code, the same chunk code
 * (stream-chunks.ts), and the same rule for the final chunk (a full segment is
 * sealed only once a read has said whether more data follows it).
 *
 * Threats guarded against: a segment written out of order or before it was
 * sealed (the consumer gets segment k only once it is sealed, after k − 1);
 * a slot refilled while its sealed bytes are still being written (a slot is
 * read into again only when the consumer has asked for the segment after the
 * next, the contract of bundle/file-source.ts); a worker left running after
 * an error or an interrupt (it is terminated when the stream ends in any way,
 * and holds the process open only while it has work).
 */
import { Worker } from 'node:worker_threads';
import { CustodyError } from '../../core/errors.js';
import { workerScript } from '../../core/worker-script.js';
import type { AgeRecipient } from './recipients.js';
import type { FromSealWorker, SealJob, SealWorkerData } from './seal-worker.js';
import { CHUNK_SIZE, SEALED_CHUNK, sealChunksInPlace } from './stream-chunks.js';
import { beginAgeEncryption, SEGMENT_CHUNKS } from './stream.js';

/**
 * Fills `views` in order with the next bytes of the input; returns how many
 * (fewer than they hold only at the end of the input, 0 once it is over).
 */
export type Fill = (views: Uint8Array[]) => Promise<number>;

const SEGMENT = SEGMENT_CHUNKS * CHUNK_SIZE;
const SEALED_SEGMENT = SEGMENT_CHUNKS * SEALED_CHUNK;
/**
 * Segments in memory at once: k − 1 being written, k and k + 1 being sealed
 * (one per thread), k + 2 read (a segment is sealed only once the read after
 * it has said whether it is the last), k + 3 being read.
 */
const SLOTS = 5;
/** Jobs queued on the worker at most, so that it never idles while a reply crosses to the main thread. */
const WORKER_DEPTH = 2;

let started = 0;
let running = 0;

/** Seal workers started in this process, and those still alive (each ends with the stream that started it). */
export function sealWorkerCounts(): { started: number; running: number } {
  return { started, running };
}

class SealWorker {
  ready = false;
  inFlight = 0;
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (length: number) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed = false;

  constructor(data: SealWorkerData, onReady: () => void, onFailure: (e: CustodyError) => void) {
    this.worker = new Worker(workerScript('../custody/age/seal-worker.js', 'age seal worker'), { workerData: data });
    started++;
    running++;
    this.worker.unref(); // an idle worker never holds the process open; ref() while it has work
    this.worker.on('message', (m: FromSealWorker) => {
      if (m.t === 'ready') {
        this.ready = true;
        onReady();
        return;
      }
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (--this.inFlight === 0) this.worker.unref();
      if (m.t === 'done') w.resolve(m.length);
      else w.reject(new CustodyError('INTERNAL', `age seal worker: ${m.message}`));
    });
    const fail = (why: string) => {
      if (this.closed) return;
      this.closed = true;
      const e = new CustodyError('INTERNAL', `age seal worker ${why}`);
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
      onFailure(e);
    };
    this.worker.on('error', (e) => fail(`failed: ${e.message}`));
    this.worker.on('exit', (code) => {
      running--;
      fail(`stopped (exit code ${code})`);
    });
  }

  seal(job: Omit<SealJob, 'id'>): Promise<number> {
    const id = this.nextId++;
    if (this.inFlight++ === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...job, id } satisfies SealJob);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }
}

export interface ParallelOptions {
  /** 2: seal on the main thread and one worker; 1: on the main thread only (same bytes, no worker started). */
  threads: 1 | 2;
  /** Filled in as it runs: segments sealed on the worker and on the main thread, and whether the worker is up. */
  stats?: { worker: number; main: number; workerReady?: boolean };
}

/**
 * Encrypts the input `fill` reads to every recipient; yields the age file's
 * bytes as stream.ts encryptAge does (the header, then sealed segments of
 * ~1 MiB, each valid until the segment after the next is requested).
 */
export async function* encryptAgeInParallel(fill: Fill, recipients: AgeRecipient[], opts: ParallelOptions): AsyncGenerator<Uint8Array> {
  const { head, key } = beginAgeEncryption(recipients);
  const buffers = Array.from({ length: SLOTS }, () => new SharedArrayBuffer(SEALED_SEGMENT));
  const slots = buffers.map((b) => new Uint8Array(b));
  // Where each chunk's plaintext is read to: its place in the sealed segment.
  const chunkViews = slots.map((s) => Array.from({ length: SEGMENT_CHUNKS }, (_, i) => s.subarray(i * SEALED_CHUNK, i * SEALED_CHUNK + CHUNK_SIZE)));

  /** Plaintext bytes read into segment j's slot. */
  const readBytes = new Map<number, number>();
  /** Sealed length of segment j, once sealed. */
  const sealedBytes = new Map<number, number>();
  const assigned = new Set<number>();
  let nextRead = 0;
  let reading: Promise<void> | undefined;
  /** The index of the last segment, once a read has shown where the input ends. */
  let lastSegment = -1;
  /** The segment the consumer is waiting for: every slot of a segment before k − 1 is free. */
  let k = 0;
  let failure: unknown;
  let stopped = false;
  let wake: (() => void) | undefined;
  let pumpQueued = false;

  const fail = (e: unknown) => {
    failure ??= e;
    wake?.();
  };
  const onWorkerReady = () => {
    if (opts.stats) opts.stats.workerReady = true;
    pump();
  };
  // Started before the first read: it takes tens of milliseconds to come up, and this thread seals alone until then.
  const worker = opts.threads > 1 ? new SealWorker({ key, slots: buffers }, onWorkerReady, fail) : undefined;

  /** Whether segment j is read and it is known whether it is the last. */
  const ready = (j: number) => readBytes.has(j) && (lastSegment >= 0 || readBytes.has(j + 1));
  const sealed1 = (j: number, length: number) => {
    sealedBytes.set(j, length);
    if (j === k) wake?.();
  };

  /** Starts what can start: the next read, a job for the worker, one seal on this thread (then lets the event loop run). */
  function pump(): void {
    if (stopped || failure !== undefined) return;
    if (!reading && lastSegment < 0 && nextRead <= k + SLOTS - 2) {
      const j = nextRead++;
      reading = fill(chunkViews[j % SLOTS]!).then(
        (n) => {
          reading = undefined;
          if (n > 0 || j === 0) readBytes.set(j, n);
          if (n < SEGMENT) lastSegment = n > 0 || j === 0 ? j : j - 1;
          pump();
        },
        (e) => {
          reading = undefined;
          fail(e);
        },
      );
    }
    let sealedHere = false;
    for (let j = k; ready(j) && (lastSegment < 0 || j <= lastSegment); j++) {
      if (assigned.has(j)) continue;
      const job = { slot: j % SLOTS, n: readBytes.get(j)!, counter: j * SEGMENT_CHUNKS, last: j === lastSegment };
      if (worker?.ready && worker.inFlight < WORKER_DEPTH) {
        assigned.add(j);
        if (opts.stats) opts.stats.worker++;
        worker.seal(job).then((length) => (sealed1(j, length), pump()), fail);
        continue;
      }
      if (sealedHere) break;
      assigned.add(j);
      try {
        sealed1(j, sealChunksInPlace(key, slots[job.slot]!, job.n, job.counter, job.last));
      } catch (e) {
        fail(e);
        return;
      }
      sealedHere = true;
      if (opts.stats) opts.stats.main++;
    }
    if (sealedHere && !pumpQueued) {
      // One segment at a time on this thread: replies from the worker and finished reads get in between.
      pumpQueued = true;
      setImmediate(() => {
        pumpQueued = false;
        pump();
      });
    }
  }

  try {
    for (const h of head) yield h;
    for (;; k++) {
      pump();
      while (!sealedBytes.has(k)) {
        if (failure !== undefined) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      if (failure !== undefined) throw failure;
      // What is known of earlier segments is dropped as they go: the maps stay a few entries long whatever the size.
      readBytes.delete(k - 1);
      sealedBytes.delete(k - 1);
      assigned.delete(k - 1);
      yield slots[k % SLOTS]!.subarray(0, sealedBytes.get(k)!);
      if (k === lastSegment) return;
    }
  } finally {
    stopped = true;
    await reading?.catch(() => {}); // no read left in flight on a descriptor the caller closes
    await worker?.close();
  }
}
