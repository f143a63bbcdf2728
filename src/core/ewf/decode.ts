/**
 * Turns a batch of stored EWF chunks into media bytes, in a worker thread.
 * zlib chunks are inflated (zlib checks their own Adler-32) with a cap of one
 * chunk, so a crafted chunk cannot balloon; stored chunks are checked against
 * the Adler-32 that follows them. A chunk that fails says which one and why,
 * so the caller can name its media byte range: hashing past a rotten chunk
 * would give a plausible but wrong media hash.
 */
import { createRequire } from 'node:module';
import { constants, createInflate, inflateSync } from 'node:zlib';
import type { IHasher } from 'hash-wasm';
import { u32 } from './format.js';

// WebAssembly Adler-32: twice the speed of the JS loop, and stored chunks are every incompressible chunk.
let adler: IHasher | undefined;

/**
 * Loads the WebAssembly Adler-32 (once per thread); decodeBatch needs it.
 * From hash-wasm's one-algorithm bundle: its index bundle carries every
 * algorithm and costs each worker ~0.1 s of CPU to load, a tenth of this one.
 */
export async function decoderReady(): Promise<void> {
  if (adler) return;
  const load = createRequire(import.meta.url)('hash-wasm/dist/adler32.umd.min.js') as { createAdler32: () => Promise<IHasher> };
  adler = await load.createAdler32();
}

function adler32(b: Uint8Array): number {
  const a = adler!;
  a.init();
  a.update(b);
  return u32(a.digest('binary').reverse(), 0);
}

/**
 * One zlib inflater reused for every chunk, inflating straight into the
 * output buffer: creating a zlib stream per chunk (what inflateSync does) and
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
let inflater: Inflater | undefined;

/** A chunk of the batch that does not decode: its index in the batch and the reason, as "<chunk N of the image> …". */
export interface BadChunk {
  chunk: number;
  reason: string;
}

/**
 * Decodes `count` chunks (5 numbers each in `chunks`: offset in `input`,
 * stored size, 1 if zlib, least and most plain bytes) into `output`, chunk j
 * at j × chunkSize; `output` has one byte of slack past the last chunk to
 * catch an overlong one. A stored chunk, once its Adler-32 holds, is left
 * where it is: `direct[j]` is its offset in `input` (-1 for a chunk in
 * `output`), so its bytes are hashed from there instead of being copied.
 * Returns the media length or the first bad chunk.
 */
export function decodeBatch(
  input: Uint8Array,
  output: Uint8Array,
  direct: Int32Array,
  chunks: Uint32Array,
  count: number,
  chunkSize: number,
): number | BadChunk {
  inflater ??= new Inflater();
  let length = 0;
  for (let j = 0; j < count; j++) {
    const k = j * 5;
    const rel = chunks[k]!;
    const size = chunks[k + 1]!;
    const compressed = chunks[k + 2]!;
    const least = chunks[k + 3]!;
    const most = chunks[k + 4]!;
    const stored = input.subarray(rel, rel + size);
    const at = j * chunkSize;
    let got: number;
    direct[j] = -1;
    if (compressed) {
      try {
        got = inflater.into(stored, output, at, most);
      } catch (e) {
        inflater = new Inflater(); // a fresh one after any failure
        return { chunk: j, reason: `does not decompress (${(e as Error).message})` };
      }
      if (got > most) return { chunk: j, reason: `inflates to more than ${most} bytes` };
    } else {
      if (size < 4) return { chunk: j, reason: 'is shorter than its checksum' };
      const plain = stored.subarray(0, size - 4);
      if (adler32(plain) !== u32(stored, size - 4)) return { chunk: j, reason: 'fails its Adler-32 checksum' };
      got = plain.length;
      direct[j] = rel;
    }
    if (got < least || got > most) return { chunk: j, reason: `holds ${got} bytes, expected ${least === most ? least : `${least}–${most}`}` };
    if (j < count - 1 && got !== chunkSize) return { chunk: j, reason: 'is short before the end of the media' };
    length = at + got;
  }
  return length;
}

/** Hands the media bytes of a decoded batch to `hash` in order: runs of `output`, stored chunks from `input`. */
export function eachMediaRun(
  input: Uint8Array,
  output: Uint8Array,
  direct: Int32Array,
  count: number,
  chunkSize: number,
  length: number,
  hash: (bytes: Uint8Array) => void,
): void {
  let from = 0; // start of the run of output not yet handed on
  for (let j = 0; j < count; j++) {
    const rel = direct[j]!;
    if (rel < 0) continue;
    const at = j * chunkSize;
    if (at > from) hash(output.subarray(from, at));
    const n = Math.min(chunkSize, length - at);
    hash(input.subarray(rel, rel + n));
    from = at + n;
  }
  if (length > from) hash(output.subarray(from, length));
}
