/**
 * The streaming multi-hash engine. The caller (main thread) does the I/O and
 * puts each chunk once into a ring of shared memory slots; worker threads hash
 * the slot in place (md5 on one core, sha1+sha256 on another, …), and a slot
 * is reused only when every worker is done with it. Memory stays flat
 * (slots × slotSize) whatever the input size, and a slow worker holds the
 * reader back (backpressure) instead of letting chunks pile up.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { ALGO_COST, type Algo } from './algorithms.js';
import { workerScript } from './worker-script.js';
import { CustodyError } from './errors.js';
import { merkleRootHex } from './merkle.js';
import type { EwfRingShared } from './ewf/ring.js';
import type { FromWorker, Job, ToWorker } from './hash-worker.js';
import type { HashDigest, Hasher, HasherSession, HashSpec } from './hasher.js';

// The contract the verification core sees (types only, no Node): defined in hasher.ts, re-exported here.
export type { HashDigest, HashSpec, PieceDigests } from './hasher.js';

/** The engine's session: the core's one plus zero-copy input. */
export interface HashSession extends HasherSession {
  /**
   * Zero-copy input: `read` fills `target` (a view of the engine's shared
   * memory) and returns the number of bytes written, 0 at the end. `onChunk`
   * sees the bytes before they are handed to the hashers; the view is valid
   * only until its promise resolves (copy it to keep it). Returns the count.
   */
  readInto(
    read: (target: Uint8Array) => Promise<number>,
    onChunk?: (chunk: Uint8Array) => Promise<void> | void,
  ): Promise<number>;
  /**
   * Hands the session's workers a ring of stored EWF chunks (ewf/ring.ts)
   * that they decode and hash themselves, so inflating runs on the same
   * threads as hashing. Returns how many workers hash every batch; the caller
   * counts the media bytes with `account` as the ring reports them.
   */
  shareEwf(ring: EwfRingShared): number;
  /** Adds bytes that reached the workers through a shared ring to the session's size. */
  account(bytes: number): void;
}

export interface EngineOptions {
  /** Worker threads (default: the number of cores, at most 4). */
  workers?: number;
  /** Bytes per shared slot (default 4 MiB) and number of slots (default 4). */
  slotSize?: number;
  slots?: number;
}

function workerPath(): string {
  return workerScript('hash-worker.js', 'hash worker');
}

/** Longest-processing-time-first: each job goes to the least loaded worker. */
export function assignJobs(jobs: Job[], workers: number): Job[][] {
  const cost = (j: Job) => (j === 'pieces' ? ALGO_COST.sha256 : ALGO_COST[j]);
  const bins: { load: number; jobs: Job[] }[] = Array.from({ length: Math.max(1, Math.min(workers, jobs.length)) }, () => ({
    load: 0,
    jobs: [],
  }));
  for (const j of [...jobs].sort((a, b) => cost(b) - cost(a))) {
    const bin = bins.reduce((m, b) => (b.load < m.load ? b : m));
    bin.jobs.push(j);
    bin.load += cost(j);
  }
  return bins.map((b) => b.jobs).filter((j) => j.length > 0);
}

interface WorkerState {
  worker: Worker;
  result?: (r: FromWorker & { t: 'result' }) => void;
}

export class HashEngine implements Hasher {
  private readonly maxWorkers: number;
  private readonly slotSize: number;
  private readonly buffers: SharedArrayBuffer[];
  private readonly views: Uint8Array[];
  private workers: WorkerState[] = [];
  /** How many workers still read each slot. */
  private pending: number[];
  private free: number[];
  private waiters: ((slot: number) => void)[] = [];
  private active: Session | undefined;
  private broken: CustodyError | undefined;
  private closed = false;

  constructor(opts: EngineOptions = {}) {
    this.maxWorkers = Math.max(1, opts.workers ?? Math.min(os.availableParallelism(), 4));
    this.slotSize = opts.slotSize ?? 4 << 20;
    const n = Math.max(2, opts.slots ?? 4);
    this.buffers = Array.from({ length: n }, () => new SharedArrayBuffer(this.slotSize));
    this.views = this.buffers.map((b) => new Uint8Array(b));
    this.pending = this.buffers.map(() => 0);
    this.free = this.buffers.map((_, i) => i);
  }

  begin(spec: HashSpec): HashSession {
    if (this.closed) throw new CustodyError('INTERNAL', 'hash engine used after close()');
    if (this.active) throw new CustodyError('INTERNAL', 'hash engine: one session at a time');
    const pieceSize = spec.pieceSize ?? 0;
    if (!Number.isSafeInteger(pieceSize) || pieceSize < 0) throw new CustodyError('USAGE', `bad piece size ${pieceSize}`);
    const jobs: Job[] = [...new Set(spec.algos)];
    const lanes = spec.pieceLanes === true && pieceSize > 0 ? this.maxWorkers : 0;
    if (pieceSize > 0 && lanes === 0) jobs.push('pieces');
    if (jobs.length === 0 && lanes === 0) throw new CustodyError('USAGE', 'no hash algorithm chosen');
    // With lanes every worker hashes its share of the pieces beside whatever flat algorithms it was given.
    const flat = assignJobs(jobs, lanes > 0 ? lanes : this.maxWorkers);
    const plan = lanes > 0 ? Array.from({ length: lanes }, (_, i): Job[] => [...(flat[i] ?? []), 'pieces']) : flat;
    this.spawn(plan.length);
    const used = this.workers.slice(0, plan.length);
    plan.forEach((jobsOf, i) =>
      this.send(used[i]!, lanes > 0 ? { t: 'begin', jobs: jobsOf, pieceSize, lane: { index: i, count: lanes } } : { t: 'begin', jobs: jobsOf, pieceSize }),
    );
    for (const w of used) w.worker.ref(); // keep the process alive only while hashing
    this.active = new Session(this, used, spec.algos, pieceSize, lanes);
    return this.active;
  }

  async close(): Promise<void> {
    this.closed = true;
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.worker.terminate()));
  }

  // ---- internals used by Session ----

  view(slot: number): Uint8Array {
    return this.views[slot]!;
  }

  /** How many workers a session may use (= the number of piece lanes). */
  get workerCount(): number {
    return this.maxWorkers;
  }

  get chunkSize(): number {
    return this.slotSize;
  }

  acquire(): Promise<number> {
    if (this.broken) return Promise.reject(this.broken);
    const s = this.free.pop();
    if (s !== undefined) return Promise.resolve(s);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  dispatch(slot: number, len: number, to: WorkerState[]): void {
    this.pending[slot] = to.length;
    for (const w of to) this.send(w, { t: 'chunk', slot, len });
  }

  release(slot: number): void {
    const next = this.waiters.shift();
    if (next) next(slot);
    else this.free.push(slot);
  }

  /** Workers beyond those a session hashes on, up to the engine's maximum (started now if need be). */
  spare(used: WorkerState[]): WorkerState[] {
    this.spawn(this.maxWorkers);
    return this.workers.filter((w) => !used.includes(w));
  }

  ended(session: Session, used: WorkerState[]): void {
    if (this.active === session) this.active = undefined;
    for (const w of used) w.worker.unref();
  }

  failure(): CustodyError | undefined {
    return this.broken;
  }

  send(w: WorkerState, msg: ToWorker): void {
    w.worker.postMessage(msg);
  }

  private spawn(count: number): void {
    if (this.broken) this.reset();
    while (this.workers.length < count) {
      const state: WorkerState = {
        // execArgv []: flags meant for the parent (--input-type, --eval …) would stop a worker from starting.
        worker: new Worker(workerPath(), { workerData: { slots: this.buffers }, execArgv: [] }),
      };
      state.worker.unref();
      state.worker.on('message', (m: FromWorker) => this.onMessage(state, m));
      state.worker.on('error', (e) => this.fail(`hash worker failed: ${e.message}`));
      state.worker.on('exit', (code) => {
        if (!this.closed && this.workers.includes(state)) this.fail(`hash worker exited (${code})`);
      });
      this.workers.push(state);
    }
  }

  private onMessage(w: WorkerState, m: FromWorker): void {
    if (m.t === 'done') {
      if (--this.pending[m.slot]! === 0) this.release(m.slot);
    } else if (m.t === 'result') {
      const r = w.result;
      w.result = undefined;
      r?.(m);
    } else {
      this.fail(`hash worker failed: ${m.message}`);
    }
  }

  /** A worker died or threw: fail everything in flight; the next begin() starts fresh workers. */
  private fail(message: string): void {
    if (this.broken) return;
    this.broken = new CustodyError('INTERNAL', message);
    for (const w of this.waiters.splice(0)) w(-1);
    this.active?.fail(this.broken);
  }

  private reset(): void {
    for (const w of this.workers) void w.worker.terminate();
    this.workers = [];
    this.broken = undefined;
    this.active = undefined;
    this.pending = this.buffers.map(() => 0);
    this.free = this.buffers.map((_, i) => i);
    this.waiters = [];
  }
}

/** Piece k is lane k mod n, at position floor(k / n) there; every lane must hold exactly its share. */
function mergeLanes(lanes: string[][], size: number, pieceSize: number): string[] {
  const n = lanes.length;
  const total = Math.ceil(size / pieceSize);
  const out: string[] = [];
  for (let k = 0; k < total; k++) {
    const h = lanes[k % n]![Math.floor(k / n)];
    if (h === undefined) throw new CustodyError('INTERNAL', `hash engine: piece ${k} missing from lane ${k % n}`);
    out.push(h);
  }
  if (lanes.reduce((m, l) => m + l.length, 0) !== total) throw new CustodyError('INTERNAL', 'hash engine: piece lanes hold more pieces than the input has');
  return out;
}

class Session implements HashSession {
  private slot = -1;
  private fill = 0;
  private size = 0;
  private done = false;
  private error: CustodyError | undefined;
  private rejectFinish: ((e: CustodyError) => void) | undefined;

  constructor(
    private readonly engine: HashEngine,
    private readonly used: WorkerState[],
    private readonly algos: Algo[],
    private readonly pieceSize: number,
    /** Number of piece lanes (one per used worker, in order), 0 = one worker hashes all pieces. */
    private readonly lanes = 0,
  ) {}

  async update(chunk: Uint8Array): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      await this.current();
      const take = Math.min(chunk.length - off, this.engine.chunkSize - this.fill);
      this.engine.view(this.slot).set(chunk.subarray(off, off + take), this.fill);
      this.advance(take);
      off += take;
    }
  }

  async readInto(
    read: (target: Uint8Array) => Promise<number>,
    onChunk?: (chunk: Uint8Array) => Promise<void> | void,
  ): Promise<number> {
    await this.current();
    const target = this.engine.view(this.slot).subarray(this.fill);
    const n = await read(target);
    this.check();
    if (n > 0) {
      if (onChunk) await onChunk(target.subarray(0, n));
      this.advance(n);
    }
    return n;
  }

  shareEwf(ring: EwfRingShared): number {
    this.check();
    if (this.slot >= 0) throw new CustodyError('INTERNAL', 'hash session: a shared ring after update()');
    for (const w of this.used) this.engine.send(w, { t: 'ewf', ring });
    // Cores the hashes leave free (md5 and sha1 on a 4-core machine) only decode; they leave the ring when it ends.
    for (const w of this.engine.spare(this.used)) this.engine.send(w, { t: 'ewf', ring, decodeOnly: true });
    return this.used.length;
  }

  account(bytes: number): void {
    this.size += bytes;
  }

  async finish(): Promise<HashDigest> {
    this.check();
    if (this.slot >= 0 && this.fill > 0) this.engine.dispatch(this.slot, this.fill, this.used);
    else if (this.slot >= 0) this.engine.release(this.slot);
    this.slot = -1;
    this.done = true;
    try {
      // Indexed by worker (= lane number), whatever order the replies come in.
      const results = await new Promise<(FromWorker & { t: 'result' })[]>((resolve, reject) => {
        this.rejectFinish = reject;
        const out: (FromWorker & { t: 'result' })[] = new Array(this.used.length);
        let got = 0;
        for (const [i, w] of this.used.entries()) {
          w.result = (r) => {
            out[i] = r;
            if (++got === this.used.length) resolve(out);
          };
          this.engine.send(w, { t: 'finish' });
        }
        const broken = this.engine.failure();
        if (broken) reject(broken);
      });
      const all: Partial<Record<Algo, string>> = {};
      let pieceHashes: string[] | undefined;
      for (const r of results) {
        Object.assign(all, r.digests);
        if (r.pieces && this.lanes === 0) pieceHashes = r.pieces;
      }
      if (this.lanes > 0) pieceHashes = mergeLanes(results.map((r) => r.pieces ?? []), this.size, this.pieceSize);
      // Report algorithms in the order asked for.
      const digests: Partial<Record<Algo, string>> = {};
      for (const a of this.algos) digests[a] = all[a]!;
      const out: HashDigest = { size: this.size, digests };
      if (this.pieceSize > 0) {
        const hashes = pieceHashes ?? [];
        out.pieces = { pieceSize: this.pieceSize, hashes, merkleRoot: merkleRootHex(hashes) };
      }
      return out;
    } finally {
      this.engine.ended(this, this.used);
    }
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    if (this.slot >= 0) this.engine.release(this.slot);
    this.slot = -1;
    for (const w of this.used) this.engine.send(w, { t: 'abort' });
    this.engine.ended(this, this.used);
  }

  fail(e: CustodyError): void {
    this.error = e;
    this.rejectFinish?.(e);
  }

  private check(): void {
    if (this.error) throw this.error;
    if (this.done) throw new CustodyError('INTERNAL', 'hash session already finished');
  }

  /** Makes sure a slot with free space is being filled. */
  private async current(): Promise<void> {
    this.check();
    if (this.slot < 0) {
      const s = await this.engine.acquire();
      this.check();
      this.slot = s;
      this.fill = 0;
    }
  }

  private advance(n: number): void {
    this.fill += n;
    this.size += n;
    if (this.fill === this.engine.chunkSize) {
      this.engine.dispatch(this.slot, this.fill, this.used);
      this.slot = -1;
    }
  }
}
