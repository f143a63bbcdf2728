#!/usr/bin/env node
/**
 * The Node floor of pieces-mode verify (run by verify-cores.mjs): what Node
 * itself costs to move a file from the page cache into JS memory and to hash
 * it, in lanes like the piece workers (positioned 1 MiB reads into one buffer
 * per lane, SHA-256 per 64 MiB piece with node:crypto), with no tar, no
 * manifests, no messages. The lanes split the pieces in two halves; the main
 * thread runs the first lane itself and worker threads the others.
 *
 *   node verify-floor.mjs <file> read|hash|both [lanes=2]
 *
 * read: the reads alone; hash: the hashing alone (the same buffer hashed over
 * and over, no reads); both: what a lane does.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import fs from 'node:fs';
import crypto from 'node:crypto';

const PIECE = 64 << 20;
const READ = 1 << 20;

function lane({ file, mode, lo, hi }) {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(READ);
  for (let start = lo; start < hi; start += PIECE) {
    const stop = Math.min(hi, start + PIECE);
    const h = mode === 'read' ? undefined : crypto.createHash('sha256');
    for (let pos = start; pos < stop; ) {
      const want = Math.min(READ, stop - pos);
      const n = mode === 'hash' ? want : fs.readSync(fd, buf, 0, want, pos);
      if (n === 0) throw new Error(`${file} ends at ${pos}`);
      h?.update(n === READ ? buf : buf.subarray(0, n));
      pos += n;
    }
    h?.digest('hex');
  }
  fs.closeSync(fd);
  return hi - lo;
}

if (isMainThread) {
  const [file, mode = 'both', lanes = '2'] = process.argv.slice(2);
  if (!file || !['read', 'hash', 'both'].includes(mode)) throw new Error('usage: verify-floor.mjs <file> read|hash|both [lanes]');
  const size = fs.statSync(file).size;
  const n = Math.max(1, Number(lanes));
  const per = Math.ceil(size / PIECE / n) * PIECE;
  const jobs = Array.from({ length: n }, (_, i) => ({ file, mode, lo: Math.min(size, i * per), hi: Math.min(size, (i + 1) * per) }));
  const others = jobs.slice(1).map(
    (j) =>
      new Promise((resolve, reject) => {
        const w = new Worker(new URL(import.meta.url), { workerData: j });
        w.on('message', resolve);
        w.on('error', reject);
      }),
  );
  lane(jobs[0]);
  await Promise.all(others);
} else {
  parentPort.postMessage(lane(workerData));
}
