/**
 * A ChunkSink that decodes EWF chunk batches on worker threads and hands the
 * media bytes on strictly in media order. The main thread only reads the
 * stored bytes into a fixed ring of shared buffers; inflating runs in
 * parallel with the hash engine's workers. Memory stays flat: slots × (input
 * span + plain batch) whatever the image size; a slot is reused only once its
 * media bytes were consumed (backpressure, not buffering).
 */
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CustodyError, fromSystemError } from '../errors.js';
import type { ChunkJob, ChunkReply } from './chunk-worker.js';
import { maxBatchSpan, type ChunkBatch, type ChunkSink } from './reader.js';

function workerPath(): string {
  const here = import.meta.url;
  const url = here.endsWith('.ts') ? new URL('../../../dist/core/ewf/chunk-worker.js', here) : new URL('./chunk-worker.js', here);
  const p = fileURLToPath(url);
  if (!fs.existsSync(p)) throw new CustodyError('INTERNAL', `chunk worker missing at ${p}`, { hint: 'run npm run build' });
  return p;
}

interface InFlight {
  slot: number;
  batch: ChunkBatch;
  reply: Promise<ChunkReply>;
}

export interface ChunkPoolOptions {
  /** Receives the media bytes of each batch in order; the view is valid until the promise resolves. */
  onMedia: (bytes: Uint8Array, batch: ChunkBatch) => Promise<void>;
  chunkSize: number;
  batchBytes: number;
  workers?: number;
}

export class ChunkPool implements ChunkSink {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly inViews: Uint8Array[];
  private readonly outViews: Uint8Array[];
  private readonly free: number[];
  private readonly queue: InFlight[] = [];
  private readonly waiting = new Map<number, (r: ChunkReply) => void>();
  private nextId = 0;
  private failed: CustodyError | undefined;

  constructor(private readonly opts: ChunkPoolOptions) {
    const n = Math.max(1, opts.workers ?? Math.min(os.availableParallelism(), 4));
    const slots = n + 2; // every worker busy, one batch being hashed, one being read
    const perBatch = Math.max(1, Math.floor(opts.batchBytes / opts.chunkSize));
    const inputs = Array.from({ length: slots }, () => new SharedArrayBuffer(maxBatchSpan(opts.chunkSize, opts.batchBytes)));
    // One byte of slack: a chunk is inflated with room for one byte more than it may hold, to catch an overlong one.
    const outputs = Array.from({ length: slots }, () => new SharedArrayBuffer(perBatch * opts.chunkSize + 1));
    this.inViews = inputs.map((b) => new Uint8Array(b));
    this.outViews = outputs.map((b) => new Uint8Array(b));
    this.free = inputs.map((_, i) => i);
    const path = workerPath();
    for (let i = 0; i < n; i++) {
      const w = new Worker(path, { workerData: { inputs, outputs }, execArgv: [] });
      w.on('message', (r: ChunkReply) => {
        this.load[i]!--;
        const resolve = this.waiting.get(r.id);
        this.waiting.delete(r.id);
        resolve?.(r);
      });
      w.on('error', (e) => this.fail(`chunk worker failed: ${e.message}`));
      w.on('exit', (code) => {
        if (this.workers.length > 0) this.fail(`chunk worker exited (${code})`);
      });
      this.workers.push(w);
      this.load.push(0);
    }
  }

  async put(batch: ChunkBatch): Promise<void> {
    if (this.failed) throw this.failed;
    if (batch.chunkSize !== this.opts.chunkSize) throw new CustodyError('INTERNAL', 'chunk pool: chunk size changed');
    if (this.free.length === 0) await this.drainOne();
    const slot = this.free.pop()!;
    const target = this.inViews[slot]!.subarray(0, batch.span);
    let got = 0;
    while (got < batch.span) {
      let r: number;
      try {
        r = await batch.segment.readInto(batch.fileOffset + got, target.subarray(got));
      } catch (e) {
        throw fromSystemError(e, batch.segment.name);
      }
      if (r === 0) {
        throw new CustodyError('SEGMENT_TRUNCATED', `segment ${batch.segment.name} is truncated: chunk ${batch.firstChunk} runs past its end`);
      }
      got += r;
    }
    const id = this.nextId++;
    const w = this.load.indexOf(Math.min(...this.load));
    this.load[w]!++;
    const reply = new Promise<ChunkReply>((resolve) => this.waiting.set(id, resolve));
    const job: ChunkJob = { t: 'job', id, slot, count: batch.count, chunkSize: batch.chunkSize, chunks: batch.chunks };
    this.workers[w]!.postMessage(job);
    this.queue.push({ slot, batch, reply });
  }

  /** Waits for every batch given so far and hands its media bytes on. */
  async flush(): Promise<void> {
    while (this.queue.length > 0) await this.drainOne();
  }

  async close(): Promise<void> {
    const ws = this.workers.splice(0);
    for (const r of this.waiting.values()) r({ t: 'bad', id: -1, chunk: 0, reason: 'pool closed' });
    await Promise.all(ws.map((w) => w.terminate()));
  }

  private async drainOne(): Promise<void> {
    const head = this.queue.shift()!;
    const r = await Promise.race([head.reply, this.failure()]);
    if (this.failed) throw this.failed;
    const b = head.batch;
    if (r.t === 'bad') {
      const index = b.firstChunk + r.chunk;
      const start = index * b.chunkSize;
      throw new CustodyError('CHUNK_CORRUPT', `chunk ${index} of the image (media bytes ${start}–${start + b.chunkSize - 1}, in ${b.segment.name}) ${r.reason}`, {
        range: [start, start + b.chunkSize],
      });
    }
    await this.opts.onMedia(this.outViews[head.slot]!.subarray(0, r.length), b);
    this.free.push(head.slot);
  }

  private failWaiter: ((r: ChunkReply) => void) | undefined;
  private failure(): Promise<ChunkReply> {
    return new Promise((resolve) => {
      this.failWaiter = resolve;
    });
  }

  private fail(message: string): void {
    if (this.failed) return;
    this.failed = new CustodyError('INTERNAL', message);
    this.failWaiter?.({ t: 'bad', id: -1, chunk: 0, reason: message });
  }
}
