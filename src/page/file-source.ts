/**
 * A local file as the byte stream the verification core reads, never read
 * whole: a 4 TB image in a browser tab costs two buffers of memory.
 *
 * Where the browser gives a file as a byte stream (Blob.stream() with a BYOB
 * reader: Chromium, Firefox), the file is read into two buffers used in turn —
 * no allocation per chunk, so no garbage waiting for the collector (slices
 * read with Blob.slice().arrayBuffer() left a few hundred MB of it in
 * Chromium and read several times slower). Elsewhere, slices of a few MiB.
 *
 * The contract with the reader: a chunk is used until the next one is asked
 * for (the tar reader hands each chunk on to the hasher, which copies it, and
 * copies what spans chunks). A buffer is refilled only once the chunk read
 * into it was followed by another request, and refilling it detaches the old
 * view: a chunk held too long reads as empty and fails loudly, never as other
 * bytes.
 *
 * While a file is read, its reader is held from a module-level set, a GC
 * root. Otherwise, between two chunks, the reader, its stream and the whole
 * chain of awaits waiting on the pending read are reachable only from that
 * read's promise, and Chromium collects the lot: the read never settles and
 * the page waits forever with the CPU idle (it happened within the first few
 * MiB, or not at all, as garbage collection happened to run; WebKit fixed the
 * same fault in its own blob streams).
 *
 * Threat guarded against: a verifier that runs the tab out of memory, or
 * stops reading without a word (and so gives no verdict), on the evidence
 * sizes it exists for.
 */

export interface ReadProgress {
  /** Bytes of the file read so far, and its size. */
  onRead?: (done: number, total: number) => void;
  /** Bytes per buffer or slice; default 4 MiB. */
  sliceSize?: number;
  /** Read in slices even where a byte stream is available (tests). */
  slices?: boolean;
}

export function fileChunks(file: Blob, o: ReadProgress = {}): AsyncGenerator<Uint8Array> {
  if (!o.slices && typeof file.stream === 'function') {
    let reader: ReadableStreamBYOBReader | undefined;
    try {
      reader = file.stream().getReader({ mode: 'byob' });
    } catch {
      reader = undefined; // not a byte stream here
    }
    if (reader) return byobChunks(reader, file.size, o);
  }
  return sliceChunks(file, o);
}

/** Readers with a read in flight or to come: reachable from here, never collected while a read is pending. */
const reading = new Set<ReadableStreamBYOBReader>();

/** How many files are being read now (tests: a finished or abandoned read lets go of its reader). */
export function readersHeld(): number {
  return reading.size;
}

async function* byobChunks(reader: ReadableStreamBYOBReader, total: number, o: ReadProgress): AsyncGenerator<Uint8Array> {
  const size = o.sliceSize ?? 4 << 20;
  const buffers = [new ArrayBuffer(size), new ArrayBuffer(size)];
  let k = 0;
  let done = 0;
  reading.add(reader);
  try {
    let pending = reader.read(new Uint8Array(buffers[0]!));
    for (;;) {
      const r = await pending;
      if (r.done || r.value === undefined) break;
      buffers[k] = r.value.buffer as ArrayBuffer;
      // The other buffer held the chunk before this one, which the reader is done with (it asked for this one).
      k ^= 1;
      pending = reader.read(new Uint8Array(buffers[k]!));
      done += r.value.length;
      o.onRead?.(done, total);
      if (r.value.length > 0) yield r.value;
    }
    if (done !== total) throw new Error(`the file changed while it was read (${done} of ${total} bytes)`);
  } finally {
    reading.delete(reader);
    reader.cancel().catch(() => undefined);
  }
}

async function* sliceChunks(file: Blob, o: ReadProgress): AsyncGenerator<Uint8Array> {
  const step = o.sliceSize ?? 4 << 20;
  const total = file.size;
  const read = (at: number): Promise<ArrayBuffer> => file.slice(at, Math.min(total, at + step)).arrayBuffer();
  let at = 0;
  let next = total > 0 ? read(0) : undefined;
  while (next) {
    const buf = await next;
    if (buf.byteLength === 0) throw new Error('the file became shorter while it was read');
    at += buf.byteLength;
    next = at < total ? read(at) : undefined;
    o.onRead?.(at, total);
    yield new Uint8Array(buf);
  }
}

/** Bytes per second over a sliding window, for the progress line. */
export class RateMeter {
  private readonly samples: { t: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 3000) {}

  add(t: number, bytes: number): number {
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (t - first.t) / 1000;
    return dt > 0 ? (bytes - first.bytes) / dt : 0;
  }
}
