/**
 * Extract's small files, written on a worker thread (extract-worker.ts) in
 * batches: on an export of 50,000 small files the main thread spent about as
 * long creating files (mkdir, open, write, close, one after another) as it
 * did reading, hashing and checking the bundle; now both run at once, each on
 * its own core. The bytes are copied once, from the tar reader's chunk into
 * the batch buffer, which is then handed over (transferred, not copied).
 *
 * Threats: memory that grows with the bundle (at most MAX_IN_FLIGHT batches of
 * BATCH_BYTES are out at once; add() waits for the oldest beyond that); a
 * failure that goes unnoticed (the first error of any batch is thrown by the
 * next add() or by drain(), which extract awaits before it calls anything
 * verified); a file created after the temporary folder was removed (stop()
 * waits until the worker is between files and stops it, also from the
 * interrupt hook, synchronously).
 */
import { Worker } from 'node:worker_threads';
import { CustodyError } from '../core/errors.js';
import { workerScript } from '../core/worker-script.js';
import { onInterrupt } from './temp-files.js';
import { BUSY, IDLE, SEP, STOPPED, type WriteBatch, type WriteBatchDone, type WriteWorkerData } from './extract-worker.js';

/** Bytes per batch; a file larger than this is not for this writer. */
export const BATCH_BYTES = 1 << 20;
const BATCH_FILES = 1024;
const MAX_IN_FLIGHT = 3;

/**
 * The paths of a batch travel joined by NUL. safeJoin refuses a NUL in any
 * name (a control character), so none gets here; were one to, the worker would
 * split it into two paths, one of them relative to the working folder.
 */
function noSeparator(full: string, member: string): void {
  if (full.includes(SEP)) throw new CustodyError('INTERNAL', `${member}: a NUL in a path given to the small-file writer`);
}

export interface SmallFile {
  /** Copies the next bytes of the file into the batch. */
  write(chunk: Uint8Array): void;
  /** All `size` bytes are in: the file joins the batch. */
  end(): Promise<void>;
}

export class SmallFileWriter {
  private readonly worker: Worker;
  private readonly state = new Int32Array(new SharedArrayBuffer(4));
  private buf: Uint8Array<ArrayBuffer> = new Uint8Array(BATCH_BYTES);
  /** Batch buffers the worker gave back, reused (a fresh buffer per batch was garbage the heap held on to). */
  private readonly spare: Uint8Array<ArrayBuffer>[] = [];
  private fill = 0;
  /** The next batch's files: their paths, and [offset, length] of each in the batch buffer. */
  private paths: string[] = [];
  private spans: number[] = [];
  /** What each file of a batch is called in messages (its member name). */
  private names: string[] = [];
  /** File times for the next batch, set after its files (extract-worker.ts): paths, and seconds. */
  private timePaths: string[] = [];
  private seconds: number[] = [];
  /** Files begun and not yet ended: their bytes are going into this.buf, so it must not be sent yet. */
  private open = 0;
  private nextId = 0;
  private readonly inFlight = new Map<number, { names: string[] }>();
  private error: unknown;
  private slotFreed: (() => void) | undefined;
  private stopped = false;
  private readonly unhook: () => void;
  private readonly overwriting: (member: string) => unknown;
  private readonly memberAt: (full: string) => string;

  /**
   * `overwriting`: the error for a member whose file already exists (EEXIST);
   * `memberAt`: what the file at a path is called in messages (a time that
   * cannot be set: times are sent without their members' names, which held
   * until the batch was done were garbage that outlived the young generation).
   */
  constructor(overwriting: (member: string) => unknown, memberAt: (full: string) => string = (full) => full) {
    this.overwriting = overwriting;
    this.memberAt = memberAt;
    this.worker = new Worker(workerScript('../bundle/extract-worker.js', 'extract writer'), { workerData: { state: this.state.buffer } satisfies WriteWorkerData as WriteWorkerData, execArgv: [] });
    this.worker.unref();
    this.worker.on('message', (m: WriteBatchDone) => this.onDone(m));
    this.worker.on('error', (e) => this.failWith(new CustodyError('INTERNAL', `extract writer failed: ${e.message}`)));
    this.worker.on('exit', (code) => {
      if (!this.stopped) this.failWith(new CustodyError('INTERNAL', `extract writer exited (${code})`));
    });
    this.unhook = onInterrupt(() => {
      this.stopNow();
      return false;
    });
  }

  /** Reserves room for a file of `size` bytes (at most BATCH_BYTES) under `full`, named `member` in messages. */
  async begin(full: string, member: string, size: number): Promise<SmallFile> {
    this.check();
    if (size > BATCH_BYTES) throw new CustodyError('INTERNAL', `${member}: too large for the small-file writer`);
    noSeparator(full, member);
    if (this.fill + size > this.buf.length || this.paths.length >= BATCH_FILES) await this.send();
    const start = this.fill;
    this.fill += size;
    this.open++;
    let at = 0;
    return {
      write: (chunk) => {
        if (at + chunk.length > size) throw new CustodyError('INTERNAL', `${member}: more bytes than announced`);
        this.buf.set(chunk, start + at);
        at += chunk.length;
      },
      end: async () => {
        if (at !== size) throw new CustodyError('INTERNAL', `${member}: ${at} bytes of ${size}`);
        this.open--;
        this.paths.push(full);
        this.spans.push(start, size);
        this.names.push(member);
      },
    };
  }

  /**
   * Sets the access and modification times of the file at `full` to
   * `seconds`, after every file given before it is written: kept until
   * flushTimes, drain or the next batch.
   */
  setTime(full: string, seconds: number): void {
    this.check();
    noSeparator(full, full);
    this.timePaths.push(full);
    this.seconds.push(seconds);
  }

  /**
   * Sends the times kept so far (waiting while MAX_IN_FLIGHT batches are with
   * the worker), unless a file is still being filled into the batch (a small
   * custody/manifest.json, whose elements give the times): they then go with
   * that batch.
   */
  async flushTimes(): Promise<void> {
    if (this.timePaths.length > 0 && this.open === 0) await this.send();
  }

  /** Every file given so far is on disk and every time given is set (or the first failure is thrown). */
  async drain(): Promise<void> {
    if (this.paths.length > 0 || this.timePaths.length > 0) await this.send();
    while (this.inFlight.size > 0 && this.error === undefined) await new Promise<void>((resolve) => (this.slotFreed = resolve));
    this.check();
  }

  /** Stops the worker (between two files) and ends it; safe to call more than once. */
  async close(): Promise<void> {
    this.stopNow();
    this.unhook();
    await this.worker.terminate();
  }

  private stopNow(): void {
    if (this.stopped) return;
    this.stopped = true;
    // Wait while a file is being created: once the word reads stopped, the worker creates no more.
    while (Atomics.compareExchange(this.state, 0, IDLE, STOPPED) === BUSY) Atomics.wait(this.state, 0, BUSY, 50);
  }

  private check(): void {
    if (this.error !== undefined) throw this.error;
    if (this.stopped) throw new CustodyError('INTERNAL', 'extract writer used after close()');
  }

  private async send(): Promise<void> {
    while (this.inFlight.size >= MAX_IN_FLIGHT && this.error === undefined) await new Promise<void>((resolve) => (this.slotFreed = resolve));
    this.check();
    const id = this.nextId++;
    // Paths as one string and numbers as typed arrays: cloning an array per file (and per time) was a
    // tenth of the main thread's time on 200,000 small files.
    const batch: WriteBatch = {
      id,
      buf: this.buf.buffer,
      paths: this.paths.join(SEP),
      spans: new Uint32Array(this.spans),
      timePaths: this.timePaths.join(SEP),
      seconds: new Float64Array(this.seconds),
    };
    this.inFlight.set(id, { names: this.names });
    this.worker.ref();
    this.worker.postMessage(batch, [batch.buf, batch.spans.buffer, batch.seconds.buffer]);
    this.buf = this.spare.pop() ?? new Uint8Array(BATCH_BYTES);
    this.fill = 0;
    this.paths = [];
    this.spans = [];
    this.names = [];
    this.timePaths = [];
    this.seconds = [];
  }

  private onDone(m: WriteBatchDone): void {
    const batch = this.inFlight.get(m.id);
    this.inFlight.delete(m.id);
    if (this.inFlight.size === 0) this.worker.unref();
    if (m.buf.byteLength === BATCH_BYTES) this.spare.push(new Uint8Array(m.buf));
    if (m.error && this.error === undefined && m.error.code !== 'ESTOPPED') {
      const time = m.error.path !== undefined;
      const member = (time ? this.memberAt(m.error.path!) : batch?.names[m.error.index]) ?? 'a member';
      if (m.error.code === 'EEXIST' && !time) this.error = this.overwriting(member);
      else this.error = Object.assign(new Error(`${m.error.message} (${time ? 'setting the time of' : 'writing'} ${member})`), m.error.code === undefined ? {} : { code: m.error.code });
    }
    const wake = this.slotFreed;
    this.slotFreed = undefined;
    wake?.();
  }

  private failWith(e: unknown): void {
    this.error ??= e;
    const wake = this.slotFreed;
    this.slotFreed = undefined;
    wake?.();
  }
}
