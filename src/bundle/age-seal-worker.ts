/**
 * Worker thread of the age sealing pool (age-seal-pool.ts): runs the jobs it is
 * sent with the lane code of age-seal-lane.ts (positioned read, seal, positioned
 * write, in this worker's own buffers) and answers each. Each worker reads and
 * writes what it seals, so no single thread stands between the disk and the
 * cores, and the bytes in flight are one run per lane whatever the size of the
 * bundle.
 *
 * Protocol: SealJob → {t:'done', id} | {t:'error', id, message, code?, short?}.
 */
import { parentPort } from 'node:worker_threads';
import { laneBuffers, runSealJob, type SealJob } from './age-seal-lane.js';

const bufs = laneBuffers();

parentPort!.on('message', (job: SealJob) => {
  parentPort!.postMessage(runSealJob(job, bufs));
});
