/**
 * Worker thread of the two-thread age encryptor (parallel-encrypt.ts): seals
 * the segments it is handed, in place in the shared slots, with the same
 * chunk code as the main thread (stream-chunks.ts). It holds no file and writes nothing: the main thread
 * reads, orders and writes.
 *
 * Threat guarded against: a segment sealed under the wrong counter or final
 * flag, or a reply taken for another segment's. Every job names its slot,
 * plaintext length, first counter and final flag, and the reply carries the
 * job's id back.
 *
 * Protocol: workerData {key, slots: SharedArrayBuffer[]};
 * posts {t:'ready'} once loaded; {id, slot, n, counter, last} →
 * {t:'done', id, length} | {t:'error', id, message}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { sealChunksInPlace } from './stream-chunks.js';

export interface SealJob {
  id: number;
  slot: number;
  /** Plaintext bytes in the slot (chunk i at i × SEALED_CHUNK). */
  n: number;
  /** The STREAM counter of the segment's first chunk. */
  counter: number;
  last: boolean;
}

export interface SealWorkerData {
  key: Uint8Array;
  slots: SharedArrayBuffer[];
}

export type FromSealWorker = { t: 'ready' } | { t: 'done'; id: number; length: number } | { t: 'error'; id: number; message: string };

const data = workerData as SealWorkerData;
const slots = data.slots.map((b) => new Uint8Array(b));
const port = parentPort!;

port.on('message', (job: SealJob) => {
  let reply: FromSealWorker;
  try {
    reply = { t: 'done', id: job.id, length: sealChunksInPlace(data.key, slots[job.slot]!, job.n, job.counter, job.last) };
  } catch (e) {
    reply = { t: 'error', id: job.id, message: (e as Error).message };
  }
  port.postMessage(reply);
});
port.postMessage({ t: 'ready' } satisfies FromSealWorker);
