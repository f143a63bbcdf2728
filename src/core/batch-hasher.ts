/**
 * Hashes many small files fast: the main thread reads whole files (a few
 * synchronous system calls each, no round trip through the libuv pool) into
 * shared slots, several files per slot, and hands each full slot to one
 * worker thread, which hashes every file in it with every algorithm and
 * answers once (see batch-worker.ts). Slots go to the threads in turn, so all
 * cores hash while the main thread reads the next files.
 *
 * Threat guarded against: a hash of other bytes than the ones read. The
 * bytes a caller writes elsewhere (seal's tar) are the very bytes in the slot
 * that is hashed, read once; a slot is reused only after its worker is done
 * and the caller has finished with it.
 *
 * Large files do not belong here (they would fill a slot alone and hold it
 * for a long time): callers stream those through the HashEngine.
 */
import fs from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Algo } from './algorithms.js';
import { workerScript } from './worker-script.js';
import { CustodyError, fromSystemError } from './errors.js';
import type { BatchFileResult, BatchJob, BatchWorkerData, FromBatchWorker } from './batch-worker.js';
import type { HashDigest, HashSpec } from './hasher.js';

export interface BatchHasherOptions {
  /** Worker threads (default: the number of cores, at most 4). */
  workers?: number;
  /** Bytes per slot (default 2 MiB); files up to a quarter of it are batched. */
  slotSize?: number;
  /** Files per slot at most (default 256): bounds the wait for the first result. */
  filesPerSlot?: number;
}

function workerPath(): string {
  return workerScript('batch-worker.js', 'hash worker');
}

interface Pending {
  size: number;
  resolve: (d: HashDigest) => void;
  reject: (e: unknown) => void;
}

function shown(p: string | Uint8Array): string {
  return typeof p === 'string' ? p : new TextDecoder().decode(p);
}

/** Largest file a batch hasher with the default slot size takes (callers deciding whether to start one). */
export const BATCH_FILE_MAX = (2 << 20) / 4;

export class BatchHasher {
  /** Files up to this size go into batches. */
  readonly maxFileSize: number;
  /** Callers may keep this many results outstanding before awaiting the oldest (it is then in a sent slot). */
  readonly window: number;
  private readonly slotSize: number;
  private readonly filesPerSlot: number;
  private readonly views: Uint8Array[];
  private readonly workers: Worker[] = [];
  private readonly busy: number[] = [];
  private readonly free: number[];
  private readonly waiters: ((slot: number) => void)[] = [];
  private readonly inSlot = new Map<number, Pending[]>();
  private slot = -1;
  private fill = 0;
  private spans: number[] = [];
  private files: Pending[] = [];
  private broken: CustodyError | undefined;
  private closed = false;

  constructor(
    private readonly spec: HashSpec,
    opts: BatchHasherOptions = {},
  ) {
    const n = Math.max(1, opts.workers ?? Math.min(os.availableParallelism(), 4));
    this.slotSize = opts.slotSize ?? 2 << 20;
    this.maxFileSize = Math.floor(this.slotSize / 4);
    this.filesPerSlot = opts.filesPerSlot ?? 256;
    this.window = this.filesPerSlot * 4;
    const buffers = Array.from({ length: n + 2 }, () => new SharedArrayBuffer(this.slotSize)); // one per worker being hashed, two being filled
    this.views = buffers.map((b) => new Uint8Array(b));
    this.free = buffers.map((_, i) => i);
    this.workers.push(...startBatchWorkers(n, spec, buffers, (i, m) => this.onMessage(i, m), (msg) => this.fail(msg), () => this.closed));
    this.busy.push(...this.workers.map(() => 0));
  }

  /**
   * Reads the file whole into a slot (at most `limit` bytes: a file that grew
   * past it is the caller's to refuse), lets `onBytes` see them, and queues
   * them for hashing. Resolves once the bytes are in; `digest` then gives
   * the digest. A file longer than maxFileSize on disk is read only up
   * to maxFileSize + 1 bytes: the caller compares the size.
   */
  async add(path: string | Uint8Array, expectedSize: number | undefined, onBytes?: (bytes: Uint8Array) => Promise<void> | void): Promise<{ digest: Promise<HashDigest> }> {
    if (this.broken) throw this.broken;
    if (this.closed) throw new CustodyError('INTERNAL', 'batch hasher used after close()');
    const p = typeof path === 'string' ? path : Buffer.from(path);
    let fd: number;
    try {
      fd = fs.openSync(p, 'r');
    } catch (e) {
      throw fromSystemError(e, shown(path));
    }
    let n = 0;
    let target: Uint8Array;
    try {
      const want = Math.min(this.maxFileSize, expectedSize ?? fs.fstatSync(fd).size) + 1;
      if (this.slot >= 0 && (this.slotSize - this.fill < want || this.spans.length / 2 >= this.filesPerSlot)) this.send();
      if (this.slot < 0) {
        this.slot = await this.acquire();
        this.fill = 0;
      }
      target = this.views[this.slot]!.subarray(this.fill, this.fill + want);
      for (;;) {
        const r = fs.readSync(fd, target, n, target.length - n, null);
        if (r === 0) break;
        n += r;
        if (n === target.length) break;
      }
    } catch (e) {
      throw fromSystemError(e, shown(path));
    } finally {
      fs.closeSync(fd);
    }
    if (n === target.length) {
      throw grewWhileRead(shown(path), n - 1);
    }
    const bytes = target.subarray(0, n);
    if (onBytes) await onBytes(bytes);
    const done = new Promise<HashDigest>((resolve, reject) => this.files.push({ size: n, resolve, reject }));
    done.catch(() => {}); // rejections reach whoever awaits it; none must go unhandled meanwhile
    this.spans.push(this.fill, n);
    this.fill += n;
    return { digest: done }; // wrapped: an async function would otherwise wait for the digest itself
  }

  /** Sends the slot being filled (call before awaiting the last results). */
  flush(): void {
    if (this.slot >= 0 && this.spans.length > 0) this.send();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private send(): void {
    const slot = this.slot;
    const job: BatchJob = { t: 'batch', slot, spans: this.spans };
    this.inSlot.set(slot, this.files);
    this.slot = -1;
    this.spans = [];
    this.files = [];
    postToLeastBusy(this.workers, this.busy, job);
  }

  private acquire(): Promise<number> {
    const s = this.free.pop();
    if (s !== undefined) return Promise.resolve(s);
    return new Promise((resolve, reject) =>
      this.waiters.push((slot) => (slot < 0 ? reject(this.broken ?? new CustodyError('INTERNAL', 'batch hasher failed')) : resolve(slot))),
    );
  }

  private onMessage(w: number, m: FromBatchWorker): void {
    if (m.t === 'error') return this.fail(`hash worker failed: ${m.message}`);
    if (m.t !== 'batch') return;
    if (--this.busy[w]! === 0) this.workers[w]!.unref();
    const files = this.inSlot.get(m.slot) ?? [];
    this.inSlot.delete(m.slot);
    files.forEach((f, i) => f.resolve(batchDigest(f.size, this.spec, m.results[i]!)));
    const next = this.waiters.shift();
    if (next) next(m.slot);
    else this.free.push(m.slot);
  }

  private fail(message: string): void {
    if (this.broken) return;
    this.broken = new CustodyError('INTERNAL', message);
    for (const files of [...this.inSlot.values(), this.files]) for (const f of files) f.reject(this.broken);
    this.inSlot.clear();
    for (const w of this.waiters.splice(0)) w(-1);
  }
}

/** A worker's answer for one file as the digest callers get: the algorithms asked for, and the pieces when asked. */
export function batchDigest(size: number, spec: HashSpec, r: BatchFileResult): HashDigest {
  const digests: Partial<Record<Algo, string>> = {};
  for (const a of spec.algos) digests[a] = r.digests[a]!;
  const out: HashDigest = { size, digests };
  const pieceSize = spec.pieceSize ?? 0;
  if (pieceSize > 0 && r.pieces) out.pieces = { pieceSize, hashes: r.pieces.hashes, merkleRoot: r.pieces.merkleRoot };
  return out;
}

/** IO_ERROR: a file that had more bytes than it had when it was sized (evidence being written to). */
export function grewWhileRead(path: string, bytes: number): CustodyError {
  return new CustodyError('IO_ERROR', `${path} grew while being read (it has more than ${bytes} bytes)`, { hint: 'hash or seal evidence that is not being written to' });
}

/**
 * Starts `n` batch workers (batch-worker.ts) for `spec`, unref'd until given
 * work; a worker's error or unexpected exit goes to `fail`. Pieces of a file
 * no longer than a piece are the file's SHA-256, so the workers compute
 * SHA-256 whenever pieces are asked for, once.
 */
export function startBatchWorkers(
  n: number,
  spec: HashSpec,
  slots: SharedArrayBuffer[],
  onMessage: (worker: number, m: FromBatchWorker) => void,
  fail: (message: string) => void,
  closed: () => boolean,
): Worker[] {
  const algos = [...new Set(spec.algos)];
  const pieceSize = spec.pieceSize ?? 0;
  const workerAlgos: Algo[] = pieceSize > 0 && !algos.includes('sha256') ? [...algos, 'sha256'] : algos;
  const wd: BatchWorkerData = { slots, algos: workerAlgos, pieceSize };
  return Array.from({ length: n }, (_, i) => {
    const w = new Worker(workerPath(), { workerData: wd, execArgv: [] });
    w.unref();
    w.on('message', (m: FromBatchWorker) => onMessage(i, m));
    w.on('error', (e) => fail(`hash worker failed: ${e.message}`));
    w.on('exit', (code) => {
      if (!closed()) fail(`hash worker exited (${code})`);
    });
    return w;
  });
}

/** Posts `message` to the worker with the fewest jobs out (counted in `busy`), which stays ref'd while it has any. */
export function postToLeastBusy(workers: Worker[], busy: number[], message: unknown): void {
  let w = 0;
  for (let i = 1; i < workers.length; i++) if (busy[i]! < busy[w]!) w = i;
  busy[w]!++;
  workers[w]!.ref();
  workers[w]!.postMessage(message);
}
