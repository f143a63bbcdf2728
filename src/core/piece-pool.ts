/**
 * Piece SHA-256s of a seekable file on every core at once. The streaming
 * engine (engine.ts) feeds its workers from one sequential reader through a
 * ring of shared slots; a slot frees only when every worker is done with it,
 * so with pieces larger than the ring the workers take turns, and the reader
 * copies every byte twice on the main thread. Here each lane reads the pieces
 * it hashes itself (positioned reads, piece-read.ts): big ranges go out in
 * batches of whole pieces to whichever lane is free, small ranges (many small
 * files) gathered into one job. Results are put back in order, so they equal
 * the sequential hasher's.
 *
 * The main thread is one of the lanes (n lanes: the main thread and n - 1
 * worker threads): it has nothing else to do while the pieces are hashed, and
 * a worker thread costs a Node start-up of its own (~0.1 s of CPU on a busy
 * 2-core machine, as much as hashing 100 MB). It runs one job per turn of the
 * event loop, so the tar reader and the workers' replies are served between
 * its jobs.
 *
 * Threat guarded against: memory that grows with the evidence (a hostile or
 * just huge bundle). The bytes in flight are one read buffer per worker, and
 * at most MAX_IN_FLIGHT jobs wait per worker: queue() holds the caller back
 * until a worker is free (backpressure), whatever the size of the file.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerScript } from './worker-script.js';
import { CustodyError } from './errors.js';
import type { PieceDigests, RangeHasher } from './hasher.js';
import { merkleRootHex } from './merkle.js';
import { mark, timelineOn } from './timeline.js';
import { READ_BYTES, runPieceJob, type FromPieceWorker, type PieceJob } from './piece-read.js';

export interface PiecePoolOptions {
  /** An open file descriptor; it must stay open until settle() or close() has returned. */
  fd: number;
  /** Lanes, the main thread's included (default: defaultJobs()). */
  workers?: number;
  /** The main thread is one of the lanes (default true); false: every lane is a worker thread. */
  mainLane?: boolean;
  /** What the file is called in messages. */
  label?: string;
  /** Bytes per job (default 8 MiB): a big range goes out in jobs of whole pieces about this size; small ranges are gathered up to it. */
  batchBytes?: number;
}

/** SHA-256 of the parts with node:crypto, for the Merkle roots (merkle.ts): the same bytes as @noble's, far less time. */
function sha256Parts(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * Jobs sent to one worker and not yet answered: one being hashed, one waiting, so a worker never idles between
 * jobs. The main thread's lane takes one at a time: it sees the workers' replies only between its own jobs, so a
 * second job waiting there would be taken from a worker that is already free (a 1 GiB verify on two lanes ended
 * with the worker idle for a whole 64 MiB piece while the main thread hashed its queued one).
 */
const MAX_IN_FLIGHT = 2;
/** Ranges gathered into one job at most (many tiny files). */
const MAX_RANGES = 4096;
/** Most workers by default: each costs a thread and a few MB; --jobs may ask for more. */
const DEFAULT_MAX = 16;

/** One worker per core the process may use (os.availableParallelism), at most 16. */
export function defaultJobs(): number {
  return Math.max(1, Math.min(os.availableParallelism(), DEFAULT_MAX));
}

function workerPath(): string {
  return workerScript('piece-worker.js', 'piece worker');
}

/** Workers started ahead of any pool (prewarmPieceWorkers); one that failed or exited before a pool took it is dropped. */
const prewarmed: { worker: Worker; dead: boolean }[] = [];

/**
 * Where bin/custody.js leaves the piece workers it starts for `custody verify`
 * before it even loads the program (a worker's own start-up, ~0.1 s, then runs
 * beside the program's): the same script, the same { worker, dead } entries.
 */
const EARLY_WORKERS = Symbol.for('custody.earlyPieceWorkers');

/** Moves the workers bin/custody.js started into `prewarmed` (once). */
function adoptEarlyWorkers(): void {
  const g = globalThis as { [EARLY_WORKERS]?: unknown };
  const early = g[EARLY_WORKERS];
  if (!Array.isArray(early)) return;
  delete g[EARLY_WORKERS];
  for (const w of early as { worker: Worker; dead: boolean }[]) if (w.worker instanceof Worker) prewarmed.push(w);
  mark(`adopted ${early.length} piece worker(s) started by bin/`);
}

/**
 * Starts `n` piece workers now, for the next pool to take: a worker thread
 * takes ~0.1 s to start, which custody verify spends loading the program
 * instead of waiting. Unused, they do not keep the process alive.
 */
export function prewarmPieceWorkers(n: number): void {
  adoptEarlyWorkers();
  for (let i = prewarmed.length; i < n; i++) {
    mark(`prewarm worker ${i} spawn`);
    const w = { worker: new Worker(workerPath(), { execArgv: [] }), dead: false };
    w.worker.unref();
    w.worker.once('error', () => (w.dead = true));
    w.worker.once('exit', () => (w.dead = true));
    prewarmed.push(w);
  }
}

function takeWorker(): Worker {
  adoptEarlyWorkers();
  for (let w = prewarmed.shift(); w; w = prewarmed.shift()) {
    if (!w.dead) {
      mark('pool takes a worker started ahead');
      return w.worker;
    }
    void w.worker.terminate();
  }
  // execArgv []: flags meant for the parent (--input-type, --eval …) would stop a worker from starting.
  return new Worker(workerPath(), { execArgv: [] });
}

interface Part {
  offset: number;
  size: number;
  resolve: (hashes: string[]) => void;
  reject: (e: CustodyError) => void;
  onBytes?: ((n: number) => void) | undefined;
}

interface Sent {
  parts: Part[];
  worker: WorkerState;
}

interface WorkerState {
  /** Undefined for the main thread's lane. */
  worker: Worker | undefined;
  inFlight: number;
}

export class PiecePool implements RangeHasher {
  readonly workerCount: number;
  private readonly fd: number;
  private readonly label: string;
  private readonly batchBytes: number;
  private workers: WorkerState[] = [];
  private readonly sent = new Map<number, Sent>();
  private nextId = 1;
  private gathered: Part[] = [];
  private gatheredBytes = 0;
  private gatheredPieceSize = 0;
  private waiters: (() => void)[] = [];
  private idle: (() => void)[] = [];
  private broken: CustodyError | undefined;
  private closed = false;
  readonly mainLane: boolean;
  /** Jobs for the main thread's lane, run one per turn of the event loop. */
  private local: PieceJob[] = [];
  private localScheduled = false;
  private localBuf: Buffer | undefined;
  private mainLaneHeld = false;
  /** Jobs on their way to a lane (waiting in pick()): release() must not end the lanes under them. */
  private picking = 0;
  /** The workers' termination, when release() started it. */
  private ending: Promise<void> = Promise.resolve();

  constructor(opts: PiecePoolOptions) {
    this.fd = opts.fd;
    this.workerCount = Math.max(1, Math.floor(opts.workers ?? defaultJobs()));
    this.label = opts.label ?? 'the input';
    this.batchBytes = Math.max(1, opts.batchBytes ?? 8 << 20);
    this.mainLane = opts.mainLane ?? true;
  }

  /**
   * While held, the main thread's lane takes no new job: the main thread has
   * other work first (custody verify loads the verifier while the workers
   * hash). A job on the main thread runs between two turns of the event loop,
   * so jobs there would hold that work back until every piece is hashed.
   */
  holdMainLane(held: boolean): void {
    this.mainLaneHeld = held;
    if (!held) this.wake();
  }

  /** Starts the workers now (they take a moment), so that they are ready when the first range comes. */
  start(): void {
    if (!this.closed && !this.broken) this.spawn();
  }

  async queue(offset: number, size: number, pieceSize: number, onBytes?: (n: number) => void): Promise<{ result: Promise<PieceDigests> }> {
    if (!Number.isSafeInteger(pieceSize) || pieceSize <= 0) throw new CustodyError('INTERNAL', `piece pool: bad piece size ${pieceSize}`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset < 0 || size < 0) throw new CustodyError('INTERNAL', `piece pool: bad range ${offset}+${size}`);
    this.check();
    const parts: Promise<string[]>[] = [];
    const part = (o: number, n: number): [Part, Promise<string[]>] => {
      let p!: Part;
      const done = new Promise<string[]>((resolve, reject) => (p = { offset: o, size: n, resolve, reject, onBytes }));
      done.catch(() => {}); // awaited through `result`; a failure must not also count as unhandled here
      return [p, done];
    };
    if (size > 0 && size < this.batchBytes) {
      // A small range travels with others: many small files cost one message per batch, not per file.
      if (this.gathered.length > 0 && this.gatheredPieceSize !== pieceSize) await this.sendGathered(true);
      const [p, done] = part(offset, size);
      this.gathered.push(p);
      this.gatheredBytes += size;
      this.gatheredPieceSize = pieceSize;
      parts.push(done);
      if (this.gatheredBytes >= this.batchBytes || this.gathered.length >= MAX_RANGES) await this.sendGathered(true);
    } else if (size > 0) {
      const step = Math.max(1, Math.floor(this.batchBytes / pieceSize)) * pieceSize;
      for (let o = 0; o < size; o += step) {
        const [p, done] = part(offset + o, Math.min(step, size - o));
        parts.push(done);
        await this.send([p], pieceSize, true);
      }
    }
    const result = Promise.all(parts).then((lists): PieceDigests => {
      const hashes = lists.flat();
      return { pieceSize, hashes, merkleRoot: merkleRootHex(hashes, sha256Parts) };
    });
    result.catch(() => {});
    return { result };
  }

  flush(): void {
    if (this.gathered.length === 0 || this.broken || this.closed) return;
    void this.sendGathered(false);
  }

  async settle(): Promise<void> {
    this.closed = true;
    const dropped = new CustodyError('INTERNAL', 'piece pool: work dropped after a failure');
    for (const p of this.gathered.splice(0)) p.reject(dropped);
    this.gatheredBytes = 0;
    for (const w of this.waiters.splice(0)) w();
    if (this.sent.size > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /**
   * No more ranges will come: when no job is out, the worker threads end now,
   * without waiting, so that their teardown (~10 ms each: a Node environment
   * and its heap) runs on their own cores while the caller goes on (verify
   * reads the tag files and checks the signatures), not in close() on the
   * caller's path. A pool released takes no more ranges.
   */
  release(): void {
    if (this.sent.size > 0 || this.gathered.length > 0 || this.picking > 0 || this.broken) return;
    this.closed = true;
    const ws = this.workers.filter((w) => w.worker !== undefined);
    // Out of `workers` first: their exit is then not taken for a failure.
    this.workers = this.workers.filter((w) => w.worker === undefined);
    this.ending = Promise.all(ws.map((w) => w.worker!.terminate())).then(() => {}, () => {});
    mark(`pool released: ${ws.length} worker(s) ending`);
  }

  async close(): Promise<void> {
    await this.settle();
    const ws = this.workers;
    this.workers = [];
    this.localBuf = undefined;
    await Promise.all([this.ending, ...ws.map((w) => w.worker?.terminate())]);
  }

  private check(): void {
    if (this.broken) throw this.broken;
    if (this.closed) throw new CustodyError('INTERNAL', 'piece pool used after settle() or close()');
  }

  private async sendGathered(wait: boolean): Promise<void> {
    const parts = this.gathered;
    this.gathered = [];
    this.gatheredBytes = 0;
    await this.send(parts, this.gatheredPieceSize, wait);
  }

  /**
   * The least busy lane, its job counted at once (so that callers that do
   * not wait for each other still respect the bound); with `wait`, the least
   * busy of the lanes with room (else it waits for a reply).
   */
  private async pick(wait: boolean): Promise<WorkerState> {
    this.spawn();
    for (;;) {
      this.check();
      const open = this.mainLaneHeld ? this.workers.filter((x) => x.worker !== undefined) : this.workers;
      const lanes = open.length > 0 || wait ? open : this.workers;
      const candidates = wait ? lanes.filter((x) => x.inFlight < (x.worker ? MAX_IN_FLIGHT : 1)) : lanes;
      const w = candidates.length > 0 ? candidates.reduce((m, x) => (x.inFlight < m.inFlight ? x : m)) : undefined;
      if (w) {
        if (w.inFlight++ === 0) w.worker?.ref();
        return w;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private async send(parts: Part[], pieceSize: number, wait: boolean): Promise<void> {
    let w: WorkerState;
    this.picking++;
    try {
      w = await this.pick(wait);
    } catch (e) {
      for (const p of parts) p.reject(e as CustodyError);
      throw e;
    } finally {
      this.picking--;
    }
    const id = this.nextId++;
    this.sent.set(id, { parts, worker: w });
    const ranges: number[] = [];
    for (const p of parts) ranges.push(p.offset, p.size);
    const job: PieceJob = { t: 'job', id, fd: this.fd, pieceSize, ranges };
    if (timelineOn) mark(`lane ${this.workers.indexOf(w)} job ${id} sent`);
    if (w.worker) w.worker.postMessage(job);
    else {
      this.local.push(job);
      this.runLocalSoon();
    }
  }

  /** The main thread's lane: its next job on the next turn of the event loop (a job dropped by a failure is skipped). */
  private runLocalSoon(): void {
    if (this.localScheduled || this.local.length === 0) return;
    this.localScheduled = true;
    setImmediate(() => {
      this.localScheduled = false;
      const job = this.local.shift();
      if (job && this.sent.has(job.id)) this.onMessage(runPieceJob(job, (this.localBuf ??= Buffer.allocUnsafe(READ_BYTES))));
      this.runLocalSoon();
    });
  }

  private spawn(): void {
    if (this.mainLane && this.workers.length === 0) this.workers.push({ worker: undefined, inFlight: 0 });
    while (this.workers.length < this.workerCount) {
      const worker = takeWorker();
      const state: WorkerState = { worker, inFlight: 0 };
      worker.unref();
      worker.on('message', (m: FromPieceWorker) => this.onMessage(m));
      worker.on('error', (e) => this.fail(new CustodyError('INTERNAL', `piece worker failed: ${e.message}`)));
      worker.on('exit', (code) => {
        if (this.workers.includes(state)) this.fail(new CustodyError('INTERNAL', `piece worker exited (${code})`));
      });
      this.workers.push(state);
    }
  }

  private onMessage(m: FromPieceWorker): void {
    const job = this.sent.get(m.id);
    if (!job) return;
    this.sent.delete(m.id);
    if (--job.worker.inFlight === 0) job.worker.worker?.unref();
    if (timelineOn) {
      const lane = this.workers.indexOf(job.worker);
      const bytes = job.parts.reduce((n, p) => n + p.size, 0);
      if (m.t === 'done' && m.loaded !== undefined) mark(`lane ${lane} worker module loaded`, m.loaded);
      if (m.t === 'done' && m.times) {
        mark(`lane ${lane} job ${m.id} start (${(bytes / 2 ** 20).toFixed(1)} MiB)`, m.times[0]);
        mark(`lane ${lane} job ${m.id} end`, m.times[1]);
      }
      mark(`lane ${lane} job ${m.id} reply seen`);
    }
    if (m.t === 'done') {
      job.parts.forEach((p, i) => {
        p.onBytes?.(p.size);
        p.resolve(m.hashes[i] ?? []);
      });
    } else {
      const e = m.short
        ? new CustodyError('MALFORMED_BUNDLE', `${this.label} ends at offset ${m.at} inside a payload member (truncated or shrunk while read)`)
        : new CustodyError('IO_ERROR', `cannot read ${this.label}: ${m.message}`);
      for (const p of job.parts) p.reject(e);
      // A file that ends inside a range is the reader's to name (it reaches the end itself, with the member and
      // the range, as a streamed verify does): the pool goes on, so the verdict does not depend on which of the
      // reader and a lane got there first. Any other failure ends the pool.
      if (!m.short) this.broken ??= e;
    }
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
    if (this.sent.size === 0) for (const r of this.idle.splice(0)) r();
  }

  private fail(e: CustodyError): void {
    this.broken ??= e;
    for (const job of this.sent.values()) for (const p of job.parts) p.reject(e);
    this.sent.clear();
    this.local = [];
    for (const w of this.workers) w.inFlight = 0;
    this.wake();
  }
}
