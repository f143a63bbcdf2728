/**
 * The shared-memory ring through which an EWF image's chunks reach the hash
 * engine's workers. The main thread only walks the tables and reads stored
 * bytes into a free slot; each hash worker, between hashing the next slot in
 * media order, takes the next undecoded slot and inflates it in place. So
 * inflating, MD5 and SHA-1 spread over every core with no thread of their
 * own, no copy of the media and no message per chunk (a worker sleeps on an
 * Atomics counter only when there is nothing to do).
 *
 * Memory stays flat: slots × (stored span + media batch) whatever the image
 * size; a slot is refilled only once every hashing worker is done with it
 * (backpressure, not buffering). A chunk that does not decode marks its slot
 * bad; the main thread meets the slots in media order, so the error it throws
 * names the first bad chunk and its media byte range.
 */
import { CustodyError, fromSystemError } from '../errors.js';
import { maxBatchSpan, type ChunkBatch, type ChunkSink } from './reader.js';

/** What the workers are given (postMessage shares SharedArrayBuffers, it does not copy them). */
export interface EwfRingShared {
  control: SharedArrayBuffer;
  inputs: SharedArrayBuffer[];
  outputs: SharedArrayBuffer[];
  /** Per slot, 5 numbers per chunk (as in ChunkBatch.chunks). */
  tables: SharedArrayBuffer;
  /** Per slot, per chunk: where a stored chunk's bytes are in the input (-1: decoded into the output). */
  direct: SharedArrayBuffer;
  /** Per slot, the reason a chunk failed (UTF-8). */
  reasons: SharedArrayBuffer;
  slots: number;
  perBatch: number;
  chunkSize: number;
}

// control (Int32Array): ring-wide words, then SLOT_WORDS per slot.
export const FILLED = 0; // slots published by the main thread so far (batch numbers 0…FILLED-1)
export const NEXT = 1; // next batch to decode (claimed with compareExchange)
export const END = 2; // 1: no more batches
export const ABORT = 3; // 1: stop now
export const GEN = 4; // bumped on every change a worker may be waiting for
const HEAD = 8;
const SLOT_WORDS = 8;
export const STATE = 0;
export const SEQ = 1; // the batch number the slot holds
export const REFS = 2; // hashing workers yet to hash it
export const LEN = 3; // media bytes once decoded
export const COUNT = 4; // chunks in the batch
export const BAD_CHUNK = 5;
export const REASON_LEN = 6;
export const slotWord = (slot: number, word: number) => HEAD + slot * SLOT_WORDS + word;

export const EMPTY = 0;
export const FILLED_STATE = 1;
export const DECODED = 2;
export const BAD = 3;
export const REASON_BYTES = 512;

/** Memory for slots: enough to keep both cores busy, bounded whatever the chunk size. */
const RING_BYTES = 24 << 20;

export interface EwfRingOptions {
  chunkSize: number;
  batchBytes: number;
  /** Called with each batch's media bytes count, in media order, once every worker hashed it. */
  onHashed?: (bytes: number) => void;
  /** The engine's failure, if a worker died: checked while waiting. */
  broken?: () => Error | undefined;
}

/** Atomics.waitAsync (ES2024, in Node since 16; TypeScript's lib here predates it). */
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, index: number, value: number, timeout: number): { async: boolean; value: Promise<string> | string };
}).waitAsync;

interface Held {
  batch: ChunkBatch;
}

export class EwfRing implements ChunkSink {
  readonly shared: EwfRingShared;
  private readonly c: Int32Array;
  private readonly inViews: Uint8Array[];
  private readonly tables: Uint32Array;
  private readonly reasons: Uint8Array;
  private readonly held: (Held | undefined)[];
  private published = 0; // batches published
  private finished = 0; // batches met hashed, in order
  private aborted = false;
  private hashers = 0;

  constructor(private readonly opts: EwfRingOptions) {
    const perBatch = Math.max(1, Math.floor(opts.batchBytes / opts.chunkSize));
    const inBytes = maxBatchSpan(opts.chunkSize, opts.batchBytes);
    // One byte of slack: a chunk is inflated with room for one byte more than it may hold, to catch an overlong one.
    const outBytes = perBatch * opts.chunkSize + 1;
    // Two slots at least (one decoding while the other is hashed): images with huge chunks (EnCase allows 16 MiB) stay near 2 × 2 chunks.
    const slots = Math.max(2, Math.min(16, Math.floor(RING_BYTES / (inBytes + outBytes))));
    const control = new SharedArrayBuffer(4 * (HEAD + slots * SLOT_WORDS));
    const inputs = Array.from({ length: slots }, () => new SharedArrayBuffer(inBytes));
    const outputs = Array.from({ length: slots }, () => new SharedArrayBuffer(outBytes));
    const tables = new SharedArrayBuffer(4 * slots * perBatch * 5);
    const direct = new SharedArrayBuffer(4 * slots * perBatch);
    const reasons = new SharedArrayBuffer(slots * REASON_BYTES);
    this.shared = { control, inputs, outputs, tables, direct, reasons, slots, perBatch, chunkSize: opts.chunkSize };
    this.c = new Int32Array(control);
    this.inViews = inputs.map((b) => new Uint8Array(b));
    this.tables = new Uint32Array(tables);
    this.reasons = new Uint8Array(reasons);
    this.held = new Array(slots);
  }

  /** How many workers hash every batch (each must pass a slot before it is reused); set before the first put. */
  setHashers(n: number): void {
    this.hashers = n;
  }

  async put(batch: ChunkBatch): Promise<void> {
    if (this.hashers < 1) throw new CustodyError('INTERNAL', 'EWF ring: no hashing worker');
    if (batch.chunkSize !== this.shared.chunkSize) throw new CustodyError('INTERNAL', 'EWF ring: chunk size changed');
    if (batch.count > this.shared.perBatch) throw new CustodyError('INTERNAL', 'EWF ring: batch larger than a slot');
    const b = this.published;
    const s = b % this.shared.slots;
    if (b >= this.shared.slots) await this.meet(b - this.shared.slots);
    const target = this.inViews[s]!.subarray(0, batch.span);
    let got = 0;
    while (got < batch.span) {
      let r: number;
      try {
        r = await batch.segment.readInto(batch.fileOffset + got, target.subarray(got));
      } catch (e) {
        throw fromSystemError(e, batch.segment.name);
      }
      if (r === 0) throw new CustodyError('SEGMENT_TRUNCATED', `segment ${batch.segment.name} is truncated: chunk ${batch.firstChunk} runs past its end`);
      got += r;
    }
    this.tables.set(batch.chunks.subarray(0, batch.count * 5), s * this.shared.perBatch * 5);
    this.held[s] = { batch };
    const c = this.c;
    c[slotWord(s, SEQ)] = b;
    c[slotWord(s, COUNT)] = batch.count;
    c[slotWord(s, REFS)] = this.hashers;
    c[slotWord(s, LEN)] = 0;
    Atomics.store(c, slotWord(s, STATE), FILLED_STATE);
    this.published = b + 1;
    Atomics.store(c, FILLED, b + 1); // publishes the writes above (Atomics are sequentially consistent)
    this.wake();
  }

  /** Waits until every batch given so far is hashed (or throws for the first bad chunk), then tells the workers to stop. */
  async flush(): Promise<void> {
    const last = this.published;
    for (let b = this.finished; b < last; b++) await this.meet(b);
    Atomics.store(this.c, END, 1);
    this.wake();
  }

  /** Stops the workers (after an error): they leave the ring at once. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    Atomics.store(this.c, ABORT, 1);
    this.wake();
  }

  private wake(): void {
    Atomics.add(this.c, GEN, 1);
    Atomics.notify(this.c, GEN);
  }

  /** Waits for batch `b` (the oldest not met) to be hashed by every worker, in media order. */
  private async meet(b: number): Promise<void> {
    const s = b % this.shared.slots;
    const at = slotWord(s, STATE);
    for (;;) {
      const st = Atomics.load(this.c, at);
      if (st === EMPTY && this.c[slotWord(s, SEQ)] === b) break;
      if (st === BAD) throw this.badChunk(s);
      const broken = this.opts.broken?.();
      if (broken) throw broken;
      // Workers notify this word when they empty the slot or mark it bad; the timeout only guards against a dead worker.
      const w = waitAsync(this.c, at, st, 500);
      if (w.async) await w.value;
    }
    this.finished = b + 1;
    this.opts.onHashed?.(this.c[slotWord(s, LEN)]!);
  }

  private badChunk(s: number): CustodyError {
    const { batch } = this.held[s]!;
    const j = this.c[slotWord(s, BAD_CHUNK)]!;
    const n = this.c[slotWord(s, REASON_LEN)]!;
    const reason = new TextDecoder().decode(this.reasons.slice(s * REASON_BYTES, s * REASON_BYTES + n));
    const index = batch.firstChunk + j;
    const start = index * batch.chunkSize;
    return new CustodyError('CHUNK_CORRUPT', `chunk ${index} of the image (media bytes ${start}–${start + batch.chunkSize - 1}, in ${batch.segment.name}) ${reason}`, {
      range: [start, start + batch.chunkSize],
    });
  }
}
