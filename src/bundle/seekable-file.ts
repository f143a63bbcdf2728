/**
 * A bundle file read as a stream that can also jump forward: the strict tar
 * reader walks the headers and tag files through chunks(), and moves past a
 * payload member with skip() while the piece pool's workers read that member
 * themselves at its offset (positioned reads on every core). Chunks are two
 * recycled buffers, as in file-source.ts: a chunk is valid until the chunk
 * after the next one is requested.
 *
 * Threat guarded against: a skip that lands past the end of a truncated file
 * and is taken for a whole member. skip() says how far it really went (never
 * past the size the file had when opened), so the reader reports the
 * truncation at that member.
 */
import type { FileHandle } from 'node:fs/promises';
import { fromSystemError } from '../core/errors.js';
import { openForReading } from '../core/open-file.js';

export class SeekableFile {
  private pos = 0;
  private constructor(
    private readonly fh: FileHandle,
    /** Bytes when opened. */
    readonly size: number,
    private readonly path: string,
  ) {}

  static async open(path: string): Promise<SeekableFile> {
    const fh = await openForReading(path);
    try {
      return new SeekableFile(fh, (await fh.stat()).size, path);
    } catch (e) {
      await fh.close().catch(() => {});
      throw fromSystemError(e, path);
    }
  }

  /** The descriptor the piece workers read with (valid until close()). */
  get fd(): number {
    return this.fh.fd;
  }

  /** The bytes from the current position on, in chunks; skip() between two chunks moves where the next one starts. */
  async *chunks(chunkSize = 1 << 20): AsyncGenerator<Uint8Array> {
    const bufs = [new Uint8Array(chunkSize), new Uint8Array(chunkSize)];
    let k = 0;
    for (;;) {
      k ^= 1;
      const buf = bufs[k]!;
      let n: number;
      try {
        n = (await this.fh.read(buf, 0, chunkSize, this.pos)).bytesRead;
      } catch (e) {
        throw fromSystemError(e, this.path);
      }
      if (n === 0) return;
      this.pos += n;
      yield buf.subarray(0, n);
    }
  }

  /** Moves forward n bytes without reading them; returns how far it went (less at the end of the file). */
  async skip(n: number): Promise<number> {
    const k = Math.max(0, Math.min(n, this.size - this.pos));
    this.pos += k;
    return k;
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => {});
  }
}
