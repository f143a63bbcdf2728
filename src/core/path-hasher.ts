/**
 * Hashes many small files by name on worker threads that read them
 * themselves: the main thread only walks the tree, hands out lists of names
 * and prints the results in order. For `custody hash -r`, where no other
 * consumer needs the bytes (seal writes them into the tar, so it reads on the
 * main thread: batch-hasher.ts), this spreads the open/read/close system
 * calls over every core as well as the hashing, as hashdeep's threads do.
 *
 * Threat guarded against: a hash list that silently leaves a file out or
 * pairs a name with another file's digest. Each name gets exactly one answer
 * (digests, "too large: stream it", or the error that stopped its read), in
 * the order given; a worker that dies fails every file still waiting.
 *
 * Memory: the caller bounds how many names wait (see `window`); each worker
 * holds one read buffer of at most maxFileSize + 1 bytes.
 */
import type { Worker } from 'node:worker_threads';
import { BATCH_FILE_MAX, batchDigest, grewWhileRead, postToLeastBusy, startBatchWorkers } from './batch-hasher.js';
import { CustodyError, fromSystemError } from './errors.js';
import type { FromBatchWorker, PathsJob } from './batch-worker.js';
import type { HashDigest, HashSpec } from './hasher.js';

export interface PathHasherOptions {
  /** Worker threads (at least 1). */
  workers: number;
  /** Names per worker message (default 64). */
  filesPerJob?: number;
  /** Files larger than this are answered `large` (default BATCH_FILE_MAX). */
  maxFileSize?: number;
}

/** A file's digest, or `large`: read it with the streaming engine instead. */
export type PathHashResult = { digest: HashDigest } | { large: true; size: number };

interface Waiting {
  path: string;
  resolve: (r: PathHashResult) => void;
  reject: (e: unknown) => void;
}

export class PathHasher {
  /** Names a caller may keep outstanding before awaiting the oldest: enough to keep every worker busy. */
  readonly window: number;
  private readonly filesPerJob: number;
  private readonly maxFileSize: number;
  private readonly workerCount: number;
  private workers: Worker[] = [];
  private busy: number[] = [];
  private current: Waiting[] = [];
  private readonly sent = new Map<number, Waiting[]>();
  private nextJob = 0;
  /** Tickets handed out so far, and the first ticket of the job being gathered. */
  private tickets = 0;
  private currentFirst = 0;
  private broken: CustodyError | undefined;
  private closed = false;

  constructor(
    private readonly spec: HashSpec,
    opts: PathHasherOptions,
  ) {
    this.workerCount = Math.max(1, Math.floor(opts.workers));
    this.filesPerJob = opts.filesPerJob ?? 64;
    this.maxFileSize = opts.maxFileSize ?? BATCH_FILE_MAX;
    this.window = this.workerCount * this.filesPerJob * 4;
  }

  /** Queues one file; `ticket` is for flushThrough(). */
  hash(path: string): { ticket: number; result: Promise<PathHashResult> } {
    if (this.broken) throw this.broken;
    if (this.closed) throw new CustodyError('INTERNAL', 'path hasher used after close()');
    const result = new Promise<PathHashResult>((resolve, reject) => this.current.push({ path, resolve, reject }));
    result.catch(() => {}); // the rejection reaches whoever awaits it; none must go unhandled meanwhile
    const ticket = this.tickets++;
    if (this.current.length >= this.filesPerJob) this.send();
    return { ticket, result };
  }

  /** Sends the names gathered so far if `ticket` is among them (call before awaiting its result). */
  flushThrough(ticket: number): void {
    if (ticket >= this.currentFirst && this.current.length > 0) this.send();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private start(): void {
    this.workers = startBatchWorkers(this.workerCount, this.spec, [], (i, m) => this.onMessage(i, m), (msg) => this.fail(msg), () => this.closed);
    this.busy = this.workers.map(() => 0);
  }

  private send(): void {
    if (this.workers.length === 0) this.start();
    const id = this.nextJob++;
    const files = this.current;
    this.current = [];
    this.currentFirst = this.tickets;
    this.sent.set(id, files);
    postToLeastBusy(this.workers, this.busy, { t: 'paths', id, paths: files.map((f) => f.path), maxFileSize: this.maxFileSize } satisfies PathsJob);
  }

  private onMessage(w: number, m: FromBatchWorker): void {
    if (m.t === 'error') return this.fail(`hash worker failed: ${m.message}`);
    if (m.t !== 'paths') return;
    if (--this.busy[w]! === 0) this.workers[w]!.unref();
    const files = this.sent.get(m.id) ?? [];
    this.sent.delete(m.id);
    files.forEach((f, i) => {
      const r = m.results[i]!;
      if ('error' in r) f.reject(readError(f.path, r.error));
      else if ('large' in r) f.resolve({ large: true, size: r.size });
      else f.resolve({ digest: batchDigest(r.size, this.spec, r) });
    });
  }

  private fail(message: string): void {
    if (this.broken) return;
    this.broken = new CustodyError('INTERNAL', message);
    for (const files of [...this.sent.values(), this.current]) for (const f of files) f.reject(this.broken);
    this.sent.clear();
    this.current = [];
  }
}

function readError(path: string, e: { code?: string; message: string; grew?: number }): CustodyError {
  if (e.grew !== undefined) return grewWhileRead(path, e.grew);
  return fromSystemError(Object.assign(new Error(e.message), e.code === undefined ? {} : { code: e.code }), path);
}
