/**
 * Worker thread for many small files: the main thread packs whole files into
 * one shared slot and sends the slot once; this worker hashes every file in
 * it with every algorithm (and its pieces), and answers once per slot.
 *
 * Why not the streaming engine's workers: they split algorithms across
 * threads, so each file costs a round trip to every worker and back (for
 * 10,000 small files the main thread sat 71% idle waiting on them). Here
 * files, not algorithms, are spread over the threads: one message per slot
 * of many files, and each thread does all the work for the files it got.
 *
 * Protocol: {t:'batch', slot, spans:[offset, length, …]} →
 * {t:'batch', slot, results:[{digests, pieces?}, …]} | {t:'error', message}.
 * For `hash -r`, where nothing but the digest needs the bytes, the worker
 * also reads the files itself (see path-hasher.ts): {t:'paths', id, paths,
 * maxFileSize} → {t:'paths', id, results:[PathFileResult, …]}, so reading is
 * spread over the threads too and the main thread only walks and prints.
 */
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import type { IHasher } from 'hash-wasm';
import type { Algo } from './algorithms.js';
import { merkleRootHex } from './merkle.js';
import { hashHex } from './small-hasher.js';

export interface BatchJob {
  t: 'batch';
  slot: number;
  /** offset, length of each file in the slot, in order. */
  spans: number[];
}

export interface BatchFileResult {
  digests: Partial<Record<Algo, string>>;
  /** Piece SHA-256s and their Merkle root, when pieces are asked for. */
  pieces?: { hashes: string[]; merkleRoot: string };
}

/** Files a worker reads itself, in order; a file longer than maxFileSize is left to the caller. */
export interface PathsJob {
  t: 'paths';
  id: number;
  paths: string[];
  maxFileSize: number;
}

/** One file of a PathsJob: its digests, or too large to batch, or the system error that stopped its read. */
export type PathFileResult =
  | (BatchFileResult & { size: number })
  | { large: true; size: number }
  | { error: { code?: string; message: string; grew?: number } };

export type FromBatchWorker =
  | { t: 'batch'; slot: number; results: BatchFileResult[] }
  | { t: 'paths'; id: number; results: PathFileResult[] }
  | { t: 'error'; message: string };

export interface BatchWorkerData {
  slots: SharedArrayBuffer[];
  algos: Algo[];
  pieceSize: number;
}

const data = workerData as BatchWorkerData;
const slots = data.slots.map((b) => new Uint8Array(b));
const wasm = new Map<string, IHasher>();

async function wasmHasher(name: 'blake3' | 'sha3-256'): Promise<IHasher> {
  let h = wasm.get(name);
  if (!h) {
    const { createBLAKE3, createSHA3 } = await import('hash-wasm');
    h = name === 'blake3' ? await createBLAKE3() : await createSHA3(256);
    wasm.set(name, h);
  }
  return h;
}

async function digestOf(algo: Algo, bytes: Uint8Array): Promise<string> {
  if (algo === 'blake3' || algo === 'sha3-256') {
    const h = await wasmHasher(algo);
    h.init();
    h.update(bytes);
    return h.digest('hex');
  }
  return hashHex(algo, bytes);
}

async function hashOne(bytes: Uint8Array): Promise<BatchFileResult> {
  const digests: Partial<Record<Algo, string>> = {};
  for (const a of data.algos) digests[a] = await digestOf(a, bytes);
  if (data.pieceSize <= 0) return { digests };
  const hashes: string[] = [];
  if (bytes.length > 0 && bytes.length <= data.pieceSize && digests.sha256 !== undefined) hashes.push(digests.sha256);
  else for (let at = 0; at < bytes.length; at += data.pieceSize) hashes.push(createHash('sha256').update(bytes.subarray(at, Math.min(bytes.length, at + data.pieceSize))).digest('hex'));
  return { digests, pieces: { hashes, merkleRoot: merkleRootHex(hashes) } };
}

async function handle(job: BatchJob): Promise<void> {
  const view = slots[job.slot]!;
  const results: BatchFileResult[] = [];
  for (let i = 0; i < job.spans.length; i += 2) results.push(await hashOne(view.subarray(job.spans[i]!, job.spans[i]! + job.spans[i + 1]!)));
  parentPort!.postMessage({ t: 'batch', slot: job.slot, results } satisfies FromBatchWorker);
}

let readBuffer = new Uint8Array(0);

/** Reads one whole file (at most maxFileSize + 1 bytes, to see one that grew) and hashes it. */
async function readAndHash(path: string, maxFileSize: number): Promise<PathFileResult> {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    return { error: { code: (e as NodeJS.ErrnoException).code, message: (e as Error).message } };
  }
  let n = 0;
  let size: number;
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { error: { message: 'not a regular file' } };
    size = st.size;
    if (size > maxFileSize) return { large: true, size };
    if (readBuffer.length < size + 1) readBuffer = new Uint8Array(Math.max(size + 1, 64 << 10));
    const want = size + 1;
    for (;;) {
      const r = fs.readSync(fd, readBuffer, n, want - n, null);
      if (r === 0) break;
      n += r;
      if (n === want) return { error: { message: 'grew while being read', grew: size } };
    }
  } catch (e) {
    return { error: { code: (e as NodeJS.ErrnoException).code, message: (e as Error).message } };
  } finally {
    fs.closeSync(fd);
  }
  return { size: n, ...(await hashOne(readBuffer.subarray(0, n))) };
}

async function handlePaths(job: PathsJob): Promise<void> {
  const results: PathFileResult[] = [];
  for (const p of job.paths) results.push(await readAndHash(p, job.maxFileSize));
  parentPort!.postMessage({ t: 'paths', id: job.id, results } satisfies FromBatchWorker);
}

let queue: Promise<void> = Promise.resolve();
parentPort!.on('message', (job: BatchJob | PathsJob) => {
  queue = queue
    .then(() => (job.t === 'paths' ? handlePaths(job) : handle(job)))
    .catch((e: unknown) => {
      parentPort!.postMessage({ t: 'error', message: e instanceof Error ? e.message : String(e) } satisfies FromBatchWorker);
    });
});
