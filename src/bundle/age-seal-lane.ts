/**
 * The work of one age sealing lane: read a run of whole chunks of a file with
 * positioned reads into the lane's own buffer, seal them (custody/age/stream.ts
 * sealChunks) and write them at their place in the .age file with a positioned
 * write. The same code runs in a sealing worker (age-seal-worker.ts) and on the
 * main thread when it is one of the lanes (age-seal-pool.ts), so a run sealed
 * on either gives the same bytes.
 *
 * Threat guarded against: a bundle that shrinks while it is encrypted (another
 * process rewriting it) taken for a shorter one: a run that ends early is an
 * error, never a short final chunk, and the output is never renamed into place.
 */
import fs from 'node:fs';
import { CustodyError } from '../core/errors.js';
import { CHUNK_SIZE, SEALED_CHUNK_SIZE, sealChunks } from '../custody/age/chunks.js';

/** Chunks per job: 1 MiB of plaintext, one read and one write each. */
export const JOB_CHUNKS = 16;

export interface SealJob {
  t: 'seal';
  id: number;
  /** The payload key (custody/age/stream.ts beginAge). */
  key: Uint8Array;
  inFd: number;
  outFd: number;
  /** Index of the run's first chunk. */
  first: number;
  /** Plaintext bytes of the run, read from first × CHUNK_SIZE. */
  bytes: number;
  /** The run ends with the payload's final chunk. */
  endsPayload: boolean;
  /** Where the payload's first chunk is written (header and nonce before it). */
  payloadAt: number;
}

export type FromSealWorker = { t: 'done'; id: number } | { t: 'error'; id: number; message: string; code?: string; short?: boolean };

/** Buffers a lane seals with: one run's plaintext and its sealed bytes. */
export interface LaneBuffers {
  plain: Uint8Array;
  sealed: Uint8Array;
}

export function laneBuffers(): LaneBuffers {
  return { plain: new Uint8Array(JOB_CHUNKS * CHUNK_SIZE), sealed: new Uint8Array(JOB_CHUNKS * SEALED_CHUNK_SIZE) };
}

class ShortRead extends Error {}

function readRun(fd: number, buf: Uint8Array, at: number, bytes: number): void {
  for (let got = 0; got < bytes; ) {
    const n = fs.readSync(fd, buf, got, bytes - got, at + got);
    if (n === 0) throw new ShortRead(`the file ends at offset ${at + got}`);
    got += n;
  }
}

/** Writes all `bytes` of `buf` at file position `at`. */
export function writeRun(fd: number, buf: Uint8Array, bytes: number, at: number): void {
  for (let put = 0; put < bytes; ) put += fs.writeSync(fd, buf, put, bytes - put, at + put);
}

/** Runs one job on `bufs`; a system error or a short read is the reply, not a throw (a worker must answer). */
export function runSealJob(job: SealJob, bufs: LaneBuffers): FromSealWorker {
  try {
    if (job.bytes > bufs.plain.length) throw new Error(`a run of ${job.bytes} bytes does not fit the lane's buffer`);
    const plain = bufs.plain.subarray(0, job.bytes);
    readRun(job.inFd, plain, job.first * CHUNK_SIZE, job.bytes);
    const n = sealChunks(job.key, plain, job.first, job.endsPayload, bufs.sealed);
    writeRun(job.outFd, bufs.sealed, n, job.payloadAt + job.first * SEALED_CHUNK_SIZE);
    return { t: 'done', id: job.id };
  } catch (e) {
    if (e instanceof ShortRead) return { t: 'error', id: job.id, message: e.message, short: true };
    const err = e as NodeJS.ErrnoException;
    return { t: 'error', id: job.id, message: err.message ?? String(e), ...(err.code ? { code: err.code } : {}) };
  }
}

/** The reply as the error a command reports: a short read is a file that changed; a failed write names the output. */
export function sealJobError(m: FromSealWorker & { t: 'error' }, input: string, output: string): CustodyError {
  if (m.short) return new CustodyError('IO_ERROR', `${input} changed while it was encrypted (${m.message}); nothing was written`);
  if (m.code === 'ENOSPC') return new CustodyError('IO_ERROR', `cannot write ${output}: disk full`);
  return new CustodyError('IO_ERROR', `cannot encrypt ${input} to ${output}: ${m.message}`);
}
