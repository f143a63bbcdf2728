/**
 * Worker thread: hashes chunks that the engine places in shared memory slots.
 * Each worker runs only the jobs it was given (e.g. md5 on one, sha1+sha256
 * on the other), so every byte is read from disk once and hashed on all
 * cores without being copied per algorithm.
 *
 * Protocol (in order, one queue): begin → (chunk* | ewf) → finish | abort.
 * `ewf` hands the worker a shared ring of stored EWF chunks that it decodes
 * and hashes itself until the ring ends (see ewf/ring.ts).
 * Replies: {t:'done', slot} per chunk, {t:'result', …} per finish, {t:'error', message}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import type { IHasher } from 'hash-wasm';
import type { Algo } from './algorithms.js';
import type { EwfRingShared } from './ewf/ring.js';

export type Job = Algo | 'pieces';

export type ToWorker =
  | { t: 'begin'; jobs: Job[]; pieceSize: number; lane?: PieceLane }
  | { t: 'chunk'; slot: number; len: number }
  | { t: 'ewf'; ring: EwfRingShared; decodeOnly?: boolean }
  | { t: 'finish' }
  | { t: 'abort' };

/** Piece lanes: this worker hashes only the pieces k with k mod count === index (see HashSpec.pieceLanes). */
export interface PieceLane {
  index: number;
  count: number;
}

export type FromWorker =
  | { t: 'done'; slot: number }
  | { t: 'result'; digests: Partial<Record<Algo, string>>; pieces?: string[] }
  | { t: 'error'; message: string };

interface Hasher {
  update(b: Uint8Array): void;
  hex(): string;
}

function nodeHasher(name: string): Hasher {
  const h = createHash(name);
  return { update: (b) => h.update(b), hex: () => h.digest('hex') };
}

// hash-wasm instances are costly to create (WASM instantiation); keep one per algorithm and re-init it.
const wasmCache = new Map<string, IHasher>();
async function wasmHasher(name: 'blake3' | 'sha3-256'): Promise<Hasher> {
  let h = wasmCache.get(name);
  if (!h) {
    // Loaded on first use: most runs hash with node:crypto only, and every worker would pay hash-wasm's load time.
    const { createBLAKE3, createSHA3 } = await import('hash-wasm');
    h = name === 'blake3' ? await createBLAKE3() : await createSHA3(256);
    wasmCache.set(name, h);
  }
  h.init();
  const inst = h;
  return { update: (b) => void inst.update(b), hex: () => inst.digest('hex') };
}

async function makeHasher(algo: Algo): Promise<Hasher> {
  return algo === 'blake3' || algo === 'sha3-256' ? wasmHasher(algo) : nodeHasher(algo);
}

/**
 * SHA-256 of every `pieceSize` bytes of the logical stream, whatever the chunk
 * boundaries. In a lane it hashes only its own pieces (k mod count === index)
 * but counts the bytes of the others, so its cuts fall at the same offsets as
 * a single hasher's would; `finish` returns its own pieces in order.
 */
class PieceHasher {
  private current: ReturnType<typeof createHash> | undefined;
  private fill = 0;
  private index = 0; // number of the piece being filled
  readonly hashes: string[] = [];
  constructor(
    private readonly pieceSize: number,
    private readonly lane: PieceLane = { index: 0, count: 1 },
  ) {}
  update(b: Uint8Array): void {
    let off = 0;
    while (off < b.length) {
      const take = Math.min(b.length - off, this.pieceSize - this.fill);
      if (this.own()) (this.current ??= createHash('sha256')).update(b.subarray(off, off + take));
      this.fill += take;
      off += take;
      if (this.fill === this.pieceSize) this.cut();
    }
  }
  finish(): string[] {
    if (this.fill > 0) this.cut(); // the last piece may be short; an empty input has no piece
    return this.hashes;
  }
  private own(): boolean {
    return this.index % this.lane.count === this.lane.index;
  }
  private cut(): void {
    if (this.own()) this.hashes.push((this.current ?? createHash('sha256')).digest('hex'));
    this.current = undefined;
    this.fill = 0;
    this.index++;
  }
}

const slots = (workerData as { slots: SharedArrayBuffer[] }).slots.map((b) => new Uint8Array(b));
let hashers: [Algo, Hasher][] = [];
let pieces: PieceHasher | undefined;
let failed = false;

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.t) {
    case 'begin': {
      failed = false;
      pieces = msg.jobs.includes('pieces') ? new PieceHasher(msg.pieceSize, msg.lane) : undefined;
      hashers = [];
      for (const j of msg.jobs) if (j !== 'pieces') hashers.push([j, await makeHasher(j)]);
      return;
    }
    case 'chunk': {
      // Always answer 'done' so the engine can reuse the slot, even after a failure.
      if (!failed) {
        const view = slots[msg.slot]!.subarray(0, msg.len);
        for (const [, h] of hashers) h.update(view);
        pieces?.update(view);
      }
      parentPort!.postMessage({ t: 'done', slot: msg.slot } satisfies FromWorker);
      return;
    }
    case 'ewf': {
      // Loaded on first use: zlib and the Adler-32 WebAssembly are for EWF images only.
      const lane = await import('./ewf/lane-worker.js');
      await lane.decoderReady();
      lane.runLane(
        msg.ring,
        msg.decodeOnly
          ? undefined
          : (view) => {
              if (failed) return;
              for (const [, h] of hashers) h.update(view);
              pieces?.update(view);
            },
      );
      return;
    }
    case 'finish': {
      const digests: Partial<Record<Algo, string>> = {};
      for (const [a, h] of hashers) digests[a] = h.hex();
      const reply: FromWorker = pieces ? { t: 'result', digests, pieces: pieces.finish() } : { t: 'result', digests };
      hashers = [];
      pieces = undefined;
      parentPort!.postMessage(reply);
      return;
    }
    case 'abort':
      hashers = [];
      pieces = undefined;
      return;
  }
}

// Messages are handled strictly in order even though creating a WASM hasher is async.
let queue: Promise<void> = Promise.resolve();
parentPort!.on('message', (msg: ToWorker) => {
  queue = queue
    .then(() => handle(msg))
    .catch((e: unknown) => {
      failed = true;
      parentPort!.postMessage({ t: 'error', message: e instanceof Error ? e.message : String(e) } satisfies FromWorker);
    });
});
