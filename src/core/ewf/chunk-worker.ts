/**
 * Worker thread: turns a batch of stored EWF chunks (read by the main thread
 * into shared memory) into media bytes in another shared buffer. zlib chunks
 * are inflated (zlib checks their own Adler-32) with a cap of one chunk, so a
 * crafted chunk cannot balloon; stored chunks are checked against the
 * Adler-32 that follows them. Several of these run at once, which is what
 * lets custody decompress on one core while it hashes on another.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { inflateSync } from 'node:zlib';
import { createAdler32 } from 'hash-wasm';
import { u32 } from './format.js';

export interface ChunkJob {
  t: 'job';
  id: number;
  slot: number;
  count: number;
  chunkSize: number;
  /** 5 numbers per chunk, as in ChunkBatch. */
  chunks: Uint32Array;
}

export type ChunkReply = { t: 'ok'; id: number; length: number } | { t: 'bad'; id: number; chunk: number; reason: string };

const { inputs, outputs } = workerData as { inputs: SharedArrayBuffer[]; outputs: SharedArrayBuffer[] };
const inViews = inputs.map((b) => new Uint8Array(b));
// WebAssembly Adler-32: twice the speed of the JS loop, and stored chunks are every incompressible chunk.
const adler = await createAdler32();
function adler32(b: Uint8Array): number {
  adler.init();
  adler.update(b);
  return u32(adler.digest('binary').reverse(), 0);
}

/**
 * Inflating is deterministic, so a chunk whose stored bytes were inflated
 * before gives the same media bytes again. Disks are full of all-zero (and
 * other constant) chunks that compress to a few identical bytes; creating a
 * zlib stream for each costs five times the inflating. Only tiny stored
 * chunks are remembered, at most a few hundred bytes of key each.
 */
const MEMO_KEY_MAX = 256;
const memo = new Map<string, Uint8Array>();
function inflateChunk(stored: Uint8Array, most: number): Uint8Array {
  if (stored.length > MEMO_KEY_MAX) return inflateSync(stored, { maxOutputLength: most + 1, chunkSize: Math.max(64, most + 1) });
  const key = Buffer.from(stored.buffer, stored.byteOffset, stored.length).toString('latin1') + String.fromCharCode(most & 0xffff, most >>> 16);
  let plain = memo.get(key);
  if (!plain) {
    plain = new Uint8Array(inflateSync(stored, { maxOutputLength: most + 1, chunkSize: Math.max(64, most + 1) }));
    if (memo.size >= 64) memo.clear();
    memo.set(key, plain);
  }
  return plain;
}
const outViews = outputs.map((b) => new Uint8Array(b));

function decode(job: ChunkJob): ChunkReply {
  const input = inViews[job.slot]!;
  const output = outViews[job.slot]!;
  let length = 0;
  for (let j = 0; j < job.count; j++) {
    const [rel, size, compressed, least, most] = job.chunks.subarray(j * 5, j * 5 + 5) as unknown as number[];
    const stored = input.subarray(rel!, rel! + size!);
    let plain: Uint8Array;
    if (compressed) {
      try {
        plain = inflateChunk(stored, most!);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === 'ERR_BUFFER_TOO_LARGE' ? `inflates to more than ${most} bytes` : `does not decompress (${(e as Error).message})`;
        return { t: 'bad', id: job.id, chunk: j, reason: why };
      }
    } else {
      if (size! < 4) return { t: 'bad', id: job.id, chunk: j, reason: 'is shorter than its checksum' };
      plain = stored.subarray(0, size! - 4);
      if (adler32(plain) !== u32(stored, size! - 4)) return { t: 'bad', id: job.id, chunk: j, reason: 'fails its Adler-32 checksum' };
    }
    if (plain.length < least! || plain.length > most!) {
      return { t: 'bad', id: job.id, chunk: j, reason: `holds ${plain.length} bytes, expected ${least === most ? least : `${least}–${most}`}` };
    }
    if (j < job.count - 1 && plain.length !== job.chunkSize) return { t: 'bad', id: job.id, chunk: j, reason: 'is short before the end of the media' };
    output.set(plain, j * job.chunkSize);
    length = j * job.chunkSize + plain.length;
  }
  return { t: 'ok', id: job.id, length };
}

parentPort!.on('message', (job: ChunkJob) => {
  let reply: ChunkReply;
  try {
    reply = decode(job);
  } catch (e) {
    reply = { t: 'bad', id: job.id, chunk: 0, reason: `could not be decoded (${(e as Error).message})` };
  }
  parentPort!.postMessage(reply);
});
