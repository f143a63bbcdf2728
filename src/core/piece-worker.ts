/**
 * Worker thread of the piece pool (piece-pool.ts): reads byte ranges of an
 * open file with positioned reads into its own buffer and returns the
 * SHA-256 of every piece. Each worker reads what it hashes, so no sequential
 * reader stands between the disk and the cores, and the bytes in flight are
 * one buffer per worker whatever the size of the evidence.
 *
 * Threat guarded against: a piece cut at another offset than a single
 * sequential hasher would cut it, or a short read taken for the end of a
 * piece, would give digests that differ from the sealer's for the same bytes
 * (a false alarm) or hide a truncated file. Cuts are counted from each range's
 * own start, and a range that ends early is an error, never a short piece.
 *
 * Protocol: {t:'job', id, fd, pieceSize, ranges:[offset, size, …]} →
 * {t:'done', id, hashes: one list per range} | {t:'error', id, message, code?, short?}.
 */
import { parentPort } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import fs from 'node:fs';

export interface PieceJob {
  t: 'job';
  id: number;
  fd: number;
  pieceSize: number;
  /** Pairs: offset, size. */
  ranges: number[];
}

export type FromPieceWorker =
  | { t: 'done'; id: number; hashes: string[][] }
  /** short: the file ended at `at` inside a range (truncated); code: the system error's code. */
  | { t: 'error'; id: number; message: string; code?: string; short?: boolean; at?: number };

/** Bytes per read: large enough that system calls do not count, small enough to stay in the core's cache. */
const READ = 1 << 20;
const buf = Buffer.allocUnsafe(READ);

class ShortRead extends Error {
  constructor(readonly at: number) {
    super(`the file ends at offset ${at}`);
  }
}

function hashRange(fd: number, offset: number, size: number, pieceSize: number): string[] {
  const out: string[] = [];
  const end = offset + size;
  for (let start = offset; start < end; start += pieceSize) {
    const stop = Math.min(end, start + pieceSize);
    const h = createHash('sha256');
    for (let pos = start; pos < stop; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(READ, stop - pos), pos);
      if (n === 0) throw new ShortRead(pos);
      h.update(buf.subarray(0, n));
      pos += n;
    }
    out.push(h.digest('hex'));
  }
  return out;
}

parentPort!.on('message', (job: PieceJob) => {
  try {
    const hashes: string[][] = [];
    for (let i = 0; i < job.ranges.length; i += 2) hashes.push(hashRange(job.fd, job.ranges[i]!, job.ranges[i + 1]!, job.pieceSize));
    parentPort!.postMessage({ t: 'done', id: job.id, hashes } satisfies FromPieceWorker);
  } catch (e) {
    const reply: FromPieceWorker =
      e instanceof ShortRead
        ? { t: 'error', id: job.id, message: e.message, short: true, at: e.at }
        : { t: 'error', id: job.id, message: e instanceof Error ? e.message : String(e), ...(typeof (e as { code?: unknown }).code === 'string' ? { code: (e as { code: string }).code } : {}) };
    parentPort!.postMessage(reply);
  }
});
