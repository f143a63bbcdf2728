/**
 * A local file as the byte stream the verification core reads: slices of a
 * few MiB read with Blob.slice().arrayBuffer(), one slice read ahead while the
 * current one is hashed. The file is never read whole: a 4 TB image in a
 * browser tab costs two slices of memory.
 *
 * Threat guarded against: a verifier that runs the tab out of memory (and so
 * gives no verdict) on the evidence sizes it exists for.
 */

export interface ReadProgress {
  /** Bytes of the file read so far, and its size. */
  onRead?: (done: number, total: number) => void;
  /** Bytes per slice; default 4 MiB. */
  sliceSize?: number;
}

export async function* fileChunks(file: Blob, o: ReadProgress = {}): AsyncGenerator<Uint8Array> {
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
