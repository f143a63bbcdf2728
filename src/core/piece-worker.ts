/**
 * Worker thread of the piece pool (piece-pool.ts): runs the jobs it is sent
 * with the lane code of piece-read.ts (positioned reads into this worker's own
 * buffer, SHA-256 per piece) and posts the digests back. Each worker reads
 * what it hashes, so no sequential reader stands between the disk and the
 * cores, and the bytes in flight are one buffer per worker whatever the size
 * of the evidence.
 *
 * Protocol: {t:'job', id, fd, pieceSize, ranges:[offset, size, …]} →
 * {t:'done', id, hashes: one list per range} | {t:'error', id, message, code?, short?}.
 */
import { parentPort } from 'node:worker_threads';
import { READ_BYTES, runPieceJob, type PieceJob } from './piece-read.js';
import { clock, timelineOn } from './timeline.js';

export type { FromPieceWorker, PieceJob } from './piece-read.js';

const buf = Buffer.allocUnsafe(READ_BYTES);

let loaded = timelineOn ? clock() : undefined;

parentPort!.on('message', (job: PieceJob) => {
  const reply = runPieceJob(job, buf);
  if (loaded !== undefined && reply.t === 'done') {
    reply.loaded = loaded;
    loaded = undefined;
  }
  parentPort!.postMessage(reply);
});
