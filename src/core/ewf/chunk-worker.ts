/**
 * Worker thread: turns a batch of stored EWF chunks (read by the main thread
 * into shared memory) into media bytes in another shared buffer. zlib chunks
 * are inflated (zlib checks their own Adler-32) with a cap of one chunk, so a
 * crafted chunk cannot balloon; stored chunks are checked against the
 * Adler-32 that follows them. Several of these run at once, which is what
 * lets custody decompress on one core while it hashes on another.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { constants, createInflate, inflateSync } from 'node:zlib';
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
const outViews = outputs.map((b) => new Uint8Array(b));
// WebAssembly Adler-32: twice the speed of the JS loop, and stored chunks are every incompressible chunk.
const adler = await createAdler32();
function adler32(b: Uint8Array): number {
  adler.init();
  adler.update(b);
  return u32(adler.digest('binary').reverse(), 0);
}

/**
 * One zlib inflater reused for every chunk, inflating straight into the
 * output slot: creating a zlib stream per chunk (what inflateSync does) and
 * copying its output cost two to four times the inflating itself, and a disk
 * image has millions of chunks. This drives the stream's own binding the way
 * Node's zlib.inflateSync does internally; where that binding is not there
 * (another runtime, another Node), inflateSync is used instead.
 */
interface ZlibBinding {
  reset(): void;
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  onerror: (message: string, errno: number, code: string) => void;
}
class Inflater {
  private handle: ZlibBinding | undefined;
  private state: Uint32Array | undefined;
  private stream: unknown;
  private error: string | undefined;
  constructor() {
    const stream = createInflate() as unknown as { _handle?: ZlibBinding; _writeState?: Uint32Array };
    const h = stream._handle;
    if (h && typeof h.writeSync === 'function' && typeof h.reset === 'function' && stream._writeState instanceof Uint32Array) {
      // Errors are taken here, synchronously, instead of destroying the stream (which would close the handle).
      h.onerror = (message, _errno, code) => {
        this.error = `${message} (${code})`;
      };
      this.handle = h;
      this.state = stream._writeState;
      this.stream = stream; // keeps the handle alive
    }
  }
  /** Inflates `input` into out[offset…]; returns the plain length, most + 1 when the stream holds more than `most`. */
  into(input: Uint8Array, out: Uint8Array, offset: number, most: number): number {
    const h = this.handle;
    if (!h) {
      const plain = inflateSync(input, { maxOutputLength: most + 1, chunkSize: Math.max(64, most + 1) });
      out.set(plain.subarray(0, Math.min(plain.length, most)), offset);
      return plain.length;
    }
    this.error = undefined;
    h.reset();
    h.writeSync(constants.Z_FINISH, input, 0, input.length, out, offset, most + 1);
    if (this.error !== undefined) throw new Error(this.error);
    return most + 1 - this.state![0]!;
  }
}
let inflater = new Inflater();

function decode(job: ChunkJob): ChunkReply {
  const input = inViews[job.slot]!;
  const output = outViews[job.slot]!;
  let length = 0;
  for (let j = 0; j < job.count; j++) {
    const [rel, size, compressed, least, most] = job.chunks.subarray(j * 5, j * 5 + 5) as unknown as number[];
    const stored = input.subarray(rel!, rel! + size!);
    const at = j * job.chunkSize;
    let got: number;
    if (compressed) {
      try {
        got = inflater.into(stored, output, at, most!);
      } catch (e) {
        inflater = new Inflater(); // a fresh one after any failure
        return { t: 'bad', id: job.id, chunk: j, reason: `does not decompress (${(e as Error).message})` };
      }
      if (got > most!) return { t: 'bad', id: job.id, chunk: j, reason: `inflates to more than ${most} bytes` };
    } else {
      if (size! < 4) return { t: 'bad', id: job.id, chunk: j, reason: 'is shorter than its checksum' };
      const plain = stored.subarray(0, size! - 4);
      if (adler32(plain) !== u32(stored, size! - 4)) return { t: 'bad', id: job.id, chunk: j, reason: 'fails its Adler-32 checksum' };
      got = plain.length;
      if (got <= most!) output.set(plain, at);
    }
    if (got < least! || got > most!) {
      return { t: 'bad', id: job.id, chunk: j, reason: `holds ${got} bytes, expected ${least === most ? least : `${least}–${most}`}` };
    }
    if (j < job.count - 1 && got !== job.chunkSize) return { t: 'bad', id: job.id, chunk: j, reason: 'is short before the end of the media' };
    length = at + got;
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
