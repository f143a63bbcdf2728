/**
 * Worker thread that creates extract's small files (extract-writer.ts): the
 * main thread reads, hashes and checks the bundle while this thread makes the
 * folders and files, a batch of files per message, so that on an export of
 * many small files the open/write/close of each file runs beside the reading
 * instead of after it.
 *
 * Threat: a write outside the destination or over a file already written.
 * Every path arrives already checked (safeJoin, the target-name check) on the
 * main thread; here each file is still created with O_EXCL | O_NOFOLLOW, so a
 * planted symlink is never followed and nothing is overwritten. Before each
 * file the worker claims the shared state word (idle → busy); once the main
 * thread has set it to stopped (an interrupt, a failed verify) no file is
 * created any more, so removing the temporary folder cannot race a write.
 *
 * Protocol: {id, buf, paths: 'full\0full…', spans: [start, length, …], timePaths: 'full\0…', seconds: [s, …]}
 * (buf, spans and seconds transferred) →
 * {id, buf (transferred back, for the next batch), error?: {index, code, message}}
 * (the batch stops at its first error; a time's error names its path).
 * A batch's times are set after its files are written: extract hands over
 * each payload file's time from custody/manifest.json while it reads the tag
 * files, when this thread has no more files to make, so that setting 100,000
 * file times (a syscall and a path walk each) is not left to the main
 * thread after the verdict.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

export interface WriteBatch {
  id: number;
  buf: ArrayBuffer;
  /** The absolute path of each file, joined by SEP. */
  paths: string;
  /** Offset in buf and length of each file. */
  spans: Uint32Array<ArrayBuffer>;
  /** The absolute path of each file whose access and modification times are set, joined by SEP. */
  timePaths: string;
  /** Each of those times, in seconds since the epoch. */
  seconds: Float64Array<ArrayBuffer>;
}

/** Joins the paths of a batch: NUL, the one byte no path can hold. */
export const SEP = '\u0000';

const split = (joined: string): string[] => (joined === '' ? [] : joined.split(SEP));

export interface WriteBatchDone {
  id: number;
  buf: ArrayBuffer;
  /** index: of the file (or of the time, after the files); path: given for a time. */
  error?: { index: number; code?: string; message: string; path?: string };
}

export interface WriteWorkerData {
  /** Int32Array over it: [0] = 0 idle, 1 busy creating a file, 2 stopped. */
  state: SharedArrayBuffer;
}

export const IDLE = 0;
export const BUSY = 1;
export const STOPPED = 2;

const CREATE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;

if (parentPort) {
  const state = new Int32Array((workerData as WriteWorkerData).state);
  const made = new Set<string>();
  const port = parentPort;

  const writeOne = (full: string, bytes: Uint8Array): void => {
    const dir = path.dirname(full);
    if (!made.has(dir)) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      // A copy: the path is a slice of its batch's joined paths, and a slice kept in this set would keep the
      // whole batch string alive (~40 MB of them at 200,000 files).
      made.add(Buffer.from(dir).toString());
    }
    const fd = fs.openSync(full, CREATE, 0o644);
    try {
      let done = 0;
      while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
    } finally {
      fs.closeSync(fd);
    }
  };

  /** Runs one file operation while holding the state word; its error (or the stop) as the batch's error at `index`. */
  const claimed = (index: number, op: () => void): WriteBatchDone['error'] => {
    if (Atomics.compareExchange(state, 0, IDLE, BUSY) !== IDLE) return { index, code: 'ESTOPPED', message: 'extraction stopped' };
    try {
      op();
      return undefined;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      return { index, ...(err.code === undefined ? {} : { code: err.code }), message: err.message };
    } finally {
      Atomics.store(state, 0, IDLE);
      Atomics.notify(state, 0);
    }
  };

  const run = (batch: WriteBatch): WriteBatchDone['error'] => {
    const all = new Uint8Array(batch.buf);
    const files = split(batch.paths);
    for (let i = 0; i < files.length; i++) {
      const start = batch.spans[2 * i]!;
      const error = claimed(i, () => writeOne(files[i]!, all.subarray(start, start + batch.spans[2 * i + 1]!)));
      if (error) return error;
    }
    const times = split(batch.timePaths);
    for (let j = 0; j < times.length; j++) {
      const full = times[j]!;
      const seconds = batch.seconds[j]!;
      const error = claimed(files.length + j, () => fs.utimesSync(full, seconds, seconds));
      if (error) return { ...error, path: full };
    }
    return undefined;
  };

  port.on('message', (batch: WriteBatch) => {
    const error = run(batch);
    port.postMessage({ id: batch.id, buf: batch.buf, ...(error === undefined ? {} : { error }) } satisfies WriteBatchDone, [batch.buf]);
  });
}
