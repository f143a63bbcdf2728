/**
 * The work of one piece lane: read byte ranges of an open file with
 * positioned reads into the lane's own buffer and return the SHA-256 of every
 * piece. The same code runs in a piece worker (piece-worker.ts) and on the
 * main thread when it is one of the lanes (piece-pool.ts), so both give the
 * same digests and the same errors for the same bytes.
 *
 * Threat guarded against: a piece cut at another offset than a single
 * sequential hasher would cut it, or a short read taken for the end of a
 * piece, would give digests that differ from the sealer's for the same bytes
 * (a false alarm) or hide a truncated file. Cuts are counted from each range's
 * own start, and a range that ends early is an error, never a short piece.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { clock, timelineOn } from './timeline.js';

export interface PieceJob {
  t: 'job';
  id: number;
  fd: number;
  pieceSize: number;
  /** Pairs: offset, size. */
  ranges: number[];
}

export type FromPieceWorker =
  /** times: when the timeline is on (timeline.ts), the job's start and end (absolute ms). */
  | { t: 'done'; id: number; hashes: string[][]; times?: [number, number]; loaded?: number }
  /** short: the file ended at `at` inside a range (truncated); code: the system error's code. */
  | { t: 'error'; id: number; message: string; code?: string; short?: boolean; at?: number };

/** Bytes per read: large enough that system calls do not count, small enough to stay in the core's cache. */
export const READ_BYTES = 1 << 20;

class ShortRead extends Error {
  constructor(readonly at: number) {
    super(`the file ends at offset ${at}`);
  }
}

function hashRange(fd: number, buf: Buffer, offset: number, size: number, pieceSize: number): string[] {
  const out: string[] = [];
  const end = offset + size;
  for (let start = offset; start < end; start += pieceSize) {
    const stop = Math.min(end, start + pieceSize);
    const h = createHash('sha256');
    for (let pos = start; pos < stop; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, stop - pos), pos);
      if (n === 0) throw new ShortRead(pos);
      h.update(n === buf.length ? buf : buf.subarray(0, n));
      pos += n;
    }
    out.push(h.digest('hex'));
  }
  return out;
}

/** One job, read into `buf` (the lane's own, READ_BYTES long): the reply a worker posts back. */
export function runPieceJob(job: PieceJob, buf: Buffer): FromPieceWorker {
  try {
    const start = timelineOn ? clock() : 0;
    const hashes: string[][] = [];
    for (let i = 0; i < job.ranges.length; i += 2) hashes.push(hashRange(job.fd, buf, job.ranges[i]!, job.ranges[i + 1]!, job.pieceSize));
    return timelineOn ? { t: 'done', id: job.id, hashes, times: [start, clock()] } : { t: 'done', id: job.id, hashes };
  } catch (e) {
    return e instanceof ShortRead
      ? { t: 'error', id: job.id, message: e.message, short: true, at: e.at }
      : { t: 'error', id: job.id, message: e instanceof Error ? e.message : String(e), ...(typeof (e as { code?: unknown }).code === 'string' ? { code: (e as { code: string }).code } : {}) };
  }
}
