/**
 * Worker thread of the two-thread age encryptor (parallel-encrypt.ts): seals
 * the segments it is handed, from the shared plaintext slots into the shared
 * sealed slots, with the same chunk code as the main thread
 * (stream-chunks.ts). It holds no file and writes nothing: the main thread
 * reads, orders and writes.
 *
 * Threat guarded against: a segment sealed under the wrong counter or final
 * flag, or a reply taken for another segment's. Every job names its slot,
 * plaintext length, first counter and final flag, and the reply carries the
 * job's id back.
 *
 * Protocol: workerData {key, plain: SharedArrayBuffer[], sealed: SharedArrayBuffer[]};
 * posts {t:'ready'} once loaded; {id, slot, n, counter, last} →
 * {t:'done', id, length} | {t:'error', id, message}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { sealChunks } from './stream-chunks.js';

export interface SealJob {
  id: number;
  slot: number;
  /** Plaintext bytes in the slot. */
  n: number;
  /** The STREAM counter of the segment's first chunk. */
  counter: number;
  last: boolean;
}

export interface SealWorkerData {
  key: Uint8Array;
  plain: SharedArrayBuffer[];
  sealed: SharedArrayBuffer[];
}

export type FromSealWorker = { t: 'ready' } | { t: 'done'; id: number; length: number } | { t: 'error'; id: number; message: string };

const data = workerData as SealWorkerData;
const plain = data.plain.map((b) => new Uint8Array(b));
const sealed = data.sealed.map((b) => new Uint8Array(b));
const port = parentPort!;

port.on('message', (job: SealJob) => {
  let reply: FromSealWorker;
  try {
    reply = { t: 'done', id: job.id, length: sealChunks(data.key, plain[job.slot]!.subarray(0, job.n), sealed[job.slot]!, job.counter, job.last) };
  } catch (e) {
    reply = { t: 'error', id: job.id, message: (e as Error).message };
  }
  port.postMessage(reply);
});
port.postMessage({ t: 'ready' } satisfies FromSealWorker);
