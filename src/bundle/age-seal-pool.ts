/**
 * An age payload sealed on every core at once. ChaCha20-Poly1305 is the whole
 * cost of encrypting a bundle (libsodium here seals ~1.4 GB/s on one core,
 * about what the disk's page cache gives), and STREAM chunks are independent:
 * chunk k is sealed under its own counter and lands at a place known from k
 * alone. So each lane reads a run of chunks of the bundle, seals it and writes
 * it at its place in the .age file (age-seal-lane.ts), and the runs go out to
 * whichever lane is free. The main thread is one of the lanes (it has nothing
 * else to do meanwhile; a worker costs a Node start-up of its own, ~0.1 s of
 * CPU, as much as sealing ~130 MB), and workers are started only for bundles
 * big enough to repay them.
 *
 * Threats guarded against: memory that grows with the bundle (the bytes in
 * flight are one run per lane, 2 MiB, whatever the size); a lane still writing
 * into a descriptor the caller has closed and the system has given to another
 * file (every worker has answered or has been terminated before this returns,
 * also on failure); a failure in one lane taken for a complete file (the first
 * error ends the run and is thrown; the caller never renames the output).
 */
import { Worker } from 'node:worker_threads';
import { CustodyError } from '../core/errors.js';
import { defaultJobs } from '../core/piece-pool.js';
import { workerScript } from '../core/worker-script.js';
import { CHUNK_SIZE, chunkCount } from '../custody/age/chunks.js';
import { JOB_CHUNKS, laneBuffers, runSealJob, sealJobError, type FromSealWorker, type LaneBuffers, type SealJob } from './age-seal-lane.js';

/** Plaintext bytes that repay one more worker's start-up. */
const BYTES_PER_WORKER = 128 << 20;
/** Jobs sent to one worker and not yet answered: one being sealed, one waiting, so a worker never idles between jobs. */
const MAX_IN_FLIGHT = 2;

export interface SealOnLanesOptions {
  /** The plaintext (read with positioned reads from 0 to size). */
  inFd: number;
  /** The .age file being written (the header and nonce are the caller's). */
  outFd: number;
  size: number;
  key: Uint8Array;
  /** Where the payload's first chunk goes: the header's and nonce's length. */
  payloadAt: number;
  /** Lanes, the main thread's included (default: one per core, at most 16). */
  lanes?: number;
  /** Names for messages. */
  input: string;
  output: string;
  /** Plaintext bytes that repay one worker (default 128 MiB); a test sets 1 to put small files on every lane. */
  bytesPerWorker?: number;
  /** The main thread is one of the lanes (default true); false: every lane is a worker. */
  mainLane?: boolean;
}

/** Workers worth starting for `size` bytes on `lanes` lanes. */
export function sealWorkersFor(size: number, lanes: number, bytesPerWorker = BYTES_PER_WORKER): number {
  return Math.max(0, Math.min(lanes - 1, Math.floor(size / bytesPerWorker)));
}

/**
 * Seals the payload of `opts.size` plaintext bytes into opts.outFd; resolves
 * when every chunk is written, with the runs each lane sealed (the main
 * thread's first when it is a lane).
 */
export async function sealOnLanes(opts: SealOnLanesOptions): Promise<number[]> {
  const runs = Math.ceil(chunkCount(opts.size) / JOB_CHUNKS);
  let next = 0;
  let done = 0;
  let failure: CustodyError | undefined;
  const workers: Worker[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const take = (): SealJob | undefined => {
    if (failure !== undefined || next >= runs) return undefined;
    const k = next++;
    const first = k * JOB_CHUNKS;
    const bytes = Math.min(JOB_CHUNKS * CHUNK_SIZE, opts.size - first * CHUNK_SIZE);
    return { t: 'seal', id: k, key: opts.key, inFd: opts.inFd, outFd: opts.outFd, first, bytes, endsPayload: k === runs - 1, payloadAt: opts.payloadAt };
  };
  const answered = (m: FromSealWorker, lane: number): void => {
    if (m.t === 'error') {
      failure ??= sealJobError(m, opts.input, opts.output);
    } else {
      done++;
      sealed[lane]!++;
    }
    if (failure !== undefined || done === runs) finish();
  };

  const mainLane = opts.mainLane ?? true;
  const lanes = Math.max(1, Math.floor(opts.lanes ?? defaultJobs()));
  const count = mainLane ? sealWorkersFor(opts.size, lanes, opts.bytesPerWorker) : lanes;
  const sealed = new Array<number>(count + (mainLane ? 1 : 0)).fill(0);
  const script = count > 0 ? workerScript('../bundle/age-seal-worker.js', 'age sealing worker') : '';
  for (let i = 0; i < count; i++) {
    // execArgv []: flags meant for the parent (--input-type, --eval …) would stop a worker from starting.
    const worker = new Worker(script, { execArgv: [] });
    workers.push(worker);
    const out = new Set<number>();
    const feed = () => {
      while (out.size < MAX_IN_FLIGHT) {
        const job = take();
        if (!job) return;
        out.add(job.id);
        worker.postMessage(job);
      }
    };
    const lane = i + (mainLane ? 1 : 0);
    worker.on('message', (m: FromSealWorker) => {
      out.delete(m.id);
      answered(m, lane);
      feed();
    });
    worker.once('error', (e) => {
      failure ??= new CustodyError('INTERNAL', `age sealing worker failed: ${e.message}`);
      finish();
    });
    worker.once('exit', () => {
      if (out.size > 0) {
        failure ??= new CustodyError('INTERNAL', 'age sealing worker stopped with work unfinished');
        finish();
      }
    });
    worker.once('online', feed);
  }

  // The main thread's lane: one run per turn of the event loop, so the workers' answers are served between runs.
  let bufs: LaneBuffers | undefined = mainLane ? laneBuffers() : undefined;
  const runMainLane = () => {
    const job = take();
    if (!job) {
      bufs = undefined;
      return;
    }
    answered(runSealJob(job, bufs!), 0);
    setImmediate(runMainLane);
  };
  if (mainLane) setImmediate(runMainLane);

  try {
    await finished;
  } finally {
    // Every worker ends before the caller may close the descriptors: one still writing must not write into another file.
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failure !== undefined) throw failure;
  return sealed;
}
